"""Read-only steps on the LIVE colour (its release's status, its smoke checkout on a rehearsal DB, its static
digests) run on the nodes that answer: a live node that is frozen, dead or too slow — a chaos drill, or a real
incident the cutover is meant to ride through — is skipped and reported (event `live_node_skipped`), never a failed
deploy. Only when no live node answers is it an error."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from harness.targets import health
from harness.targets.base import ExecResult, Node, Target, TargetError

PROBE_S = 2
T = TypeVar("T")


class NodeUnusable(RuntimeError):
    """The node did not answer in time (frozen, overloaded): another node of the colour may."""


def answered(r: ExecResult, node: Node, what: str) -> ExecResult:
    """The result, or NodeUnusable when the command timed out or never reached the node (its result says
    nothing about what is deployed there)."""
    if r.timed_out or r.unreachable:
        last = r.stderr.strip().splitlines()[-1][:160] if r.stderr.strip() else ""
        raise NodeUnusable(f"{what} {'timed out on' if r.timed_out else 'could not reach'} {node.name}: {last}")
    return r


def in_order(target: Target, nodes: list[Node]) -> list[Node]:
    """The nodes, those answering their health path first (one short probe each)."""
    healthy = [n for n in nodes if health.probe(n.url, timeout=PROBE_S, path=target.health_path).ok]
    return healthy + [n for n in nodes if n not in healthy]


def first_answering(nodes: list[Node], what: str, fn: Callable[[Node], T], event) -> T:
    """fn(node) on the first node that can run it; each one that cannot (TargetError: unreachable, paused, stopped;
    NodeUnusable: timed out) is reported and the next is tried. TargetError naming every node's problem when none
    can."""
    problems = []
    for node in nodes:
        try:
            return fn(node)
        except (TargetError, NodeUnusable) as exc:
            problems.append(f"{node.name}: {str(exc)[:160]}")
            event("live_node_skipped", node=node.name, step=what, reason=str(exc)[:200])
    raise TargetError(f"no live node could run the {what}: " + "; ".join(problems))


def each_answering(nodes: list[Node], what: str, fn: Callable[[Node], T], event) -> dict[str, T]:
    """fn(node) on every node that can run it (the others reported as above); TargetError when none can."""
    out: dict[str, T] = {}
    problems = []
    for node in nodes:
        try:
            out[node.name] = fn(node)
        except (TargetError, NodeUnusable) as exc:
            problems.append(f"{node.name}: {str(exc)[:160]}")
            event("live_node_skipped", node=node.name, step=what, reason=str(exc)[:200])
    if not out and nodes:
        raise TargetError(f"no live node could run the {what}: " + "; ".join(problems))
    return out
