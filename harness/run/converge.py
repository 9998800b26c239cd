"""Wait until traffic through the load balancer is observed converged on one release (and colour)."""
from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from harness.targets import health
from harness.targets.base import Target
from harness.targets.retry import GaveUp


class Breached(Exception):
    """The watch saw a breach while traffic was converging: stop waiting, roll back."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def wait_converged(target: Target, release: str, *, quiet_s: float = 2.0, timeout: float = 60,
                   interval: float = 0.05, old_nodes: frozenset[str] | set[str] = frozenset(),
                   abort: Callable[[], str | None] | None = None) -> float:
    """Probe the LB until only `release` has answered for `quiet_s` seconds, and no node of `old_nodes` (the colour
    being left, by the served-by header): on a same-release cutover the release alone cannot tell the colours
    apart. A node name the run does not know (a header naming hosts otherwise) is not held against it. `abort()`
    is asked between probes: a reason raises Breached at once. Returns the wall-clock time of the first probe of that quiet
    streak (the moment traffic converged, as observed). GaveUp after `timeout`."""
    deadline = time.monotonic() + timeout
    streak_start: float | None = None
    streak_wall = 0.0
    last = ""
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            h = health.probe(target.lb_url, client=client, path=target.health_path)
            got, node = h.header(target.release_header), h.header(target.served_by_header)
            last = h.error if h.status is None else f"{got or '?'} from {node or '?'}"
            now = time.monotonic()
            if got == release and node not in old_nodes:
                if streak_start is None:
                    streak_start, streak_wall = now, time.time()
                elif now - streak_start >= quiet_s:
                    return streak_wall
            else:
                streak_start = None
            why = abort() if abort is not None else None
            if why:
                raise Breached(why)
            time.sleep(interval)
    raise GaveUp(f"traffic converging on {release}", f"last answer: {last}")
