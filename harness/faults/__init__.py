"""Faults for chaos drills: one module per family, one registry line per fault (kind → class).

    from harness.faults import make_fault, injected
    with injected(make_fault("node-pause", node="green-1"), event=events.event):
        ...
Every fault is journaled before injection (harness.faults.journal) and healed on the way out, or later by
`greenlight heal`."""
from __future__ import annotations

from harness.faults.base import Fault, FaultError, Injection, heal_journal, injected
from harness.faults.doapi import ApiStorm, DropletOff
from harness.faults.journal import Entry, Journal
from harness.faults.network import CutDb, CutRedis, NetLatency, NetLoss
from harness.faults.node import DiskFill, NodeKill, NodePause, PhpFpmStop
from harness.faults.services import DbRestart, LbReload, LbRestart, RedisRestart

FAULTS: dict[str, type[Fault]] = {cls.kind: cls for cls in (
    NodeKill, NodePause, PhpFpmStop, DiskFill,
    NetLatency, NetLoss, CutRedis, CutDb,
    RedisRestart, DbRestart, LbRestart, LbReload,
    ApiStorm, DropletOff,
)}


def make_fault(kind: str, **params) -> Fault:
    cls = FAULTS.get(kind)
    if cls is None:
        raise FaultError(f"unknown fault {kind!r}: one of {', '.join(sorted(FAULTS))}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise FaultError(f"fault {kind}: bad parameters {params}: {exc}") from None


def catalogue() -> list[dict]:
    return [{"kind": k, "family": c.family, "needs": c.needs, "summary": c.summary} for k, c in FAULTS.items()]


__all__ = ["FAULTS", "Entry", "Fault", "FaultError", "Injection", "Journal", "catalogue", "heal_journal",
           "injected", "make_fault"]
