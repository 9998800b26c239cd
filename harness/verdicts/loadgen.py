"""The load generator is never the bottleneck: every Locust process had CPU to spare.

A Locust process above ~90 % of a core (Locust's own warning threshold) measures its own event loop: latencies
include its queueing and it offers less load than asked, so "p99 held" and "N users were served" would be judged
on the generator, not the store. A verdict rather than a warning: no evidence is not a pass, and the fix is one
flag (`--workers N`)."""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.ledger.workers import CPU_SATURATED, headroom
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, NotJudged, Verdict, no_evidence, verdict


def load_generator_headroom(workers: dict | None) -> Verdict:
    h = headroom(workers)
    if h["ok"] is None:
        return no_evidence("load_generator_headroom", "no CPU samples from the Locust processes (workers.json "
                           "missing): the load generator's headroom is unknown", None, CPU_SATURATED)
    worst = max(h["processes"], key=lambda p: p["max"])
    if not h["ok"]:
        return Verdict("load_generator_headroom", False, worst["max"], CPU_SATURATED,
                       f"Locust saturated its CPU (>= {CPU_SATURATED:.0f} % of a core) on {', '.join(h['saturated'])}:"
                       f" its latencies and load are its own; add workers (--workers N) or use fewer users",
                       h["processes"])
    return Verdict("load_generator_headroom", True, worst["max"], CPU_SATURATED,
                   f"busiest Locust process {worst['process']}: max {worst['max']:.0f} %, mean {worst['mean']:.0f} % "
                   f"of a core", h["processes"])


@verdict("load_generator_headroom", family="ledger")
def _load_generator_headroom(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """No Locust process spent more than 10 % of the run at >= 90 % of a core."""
    if ctx.workers is None and ctx.outcome is None:
        raise NotJudged("judged from a ledger alone: no account of the Locust processes")
    return load_generator_headroom(ctx.workers)
