"""What a run needs of its target beyond healthy nodes, asked by `greenlight status` before a run would find out:
the shop DB answers with the credentials this machine holds, every node takes a command (SSH on droplets, the
container on the replica), and a replica is this checkout's own. Each need is one line: ok, or what is wrong and
the fix."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.targets.base import COLOURS, Target


@dataclass(frozen=True)
class Need:
    what: str
    ok: bool | None          # None: not needed by this target (said why)
    detail: str


def _db(target: Target) -> Need:
    if target.db is None:
        return Need("shop DB", None, "no DB access configured: orders and background work are not judged")
    try:
        conn = target.db.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM sales_order")
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - any driver error is the answer
        why = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return Need("shop DB", False, f"cannot read the shop DB with the credentials held here ({why}): fix the "
                                      "DB user/password the target names (the replica's: `greenlight down`, then "
                                      "`greenlight up`)")
    return Need("shop DB", True, "reads sales_order")


def _exec(target: Target) -> list[Need]:
    out = []
    for colour in COLOURS:
        for node in target.nodes(colour):
            try:
                r = target.exec(node, ["true"], timeout=15)
                ok, why = r.ok, (r.stderr or r.stdout or f"exit {r.rc}").strip().splitlines()[-1:]
            except Exception as exc:  # noqa: BLE001 - an unreachable node is the answer
                ok, why = False, [f"{type(exc).__name__}: {exc}"]
            out.append(Need(f"{node.name} commands", ok, "takes commands" if ok else
                            f"cannot run a command there ({(why or ['?'])[0][:160]}): check SSH (user, key, port) "
                            "to it from this machine"))
    return out


def run_needs(target: Target, owner_problem: Callable[[], str] | None = None) -> list[Need]:
    needs = [_db(target), *_exec(target)]
    if owner_problem is not None:
        why = owner_problem()
        needs.append(Need("replica owner", not why, why or "this checkout's"))
    return needs
