"""Latency: the switch must not make the store slower (p99 per phase, before / during / after)."""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, Verdict, inconclusive, no_evidence, verdict


def _pct(sorted_vals, p: float) -> float:
    if not len(sorted_vals):
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))  # noqa: RUF046 - numpy floats
    return round(float(sorted_vals[k]), 2)


# A stall that holds this share of the slow requests at one instant is one event, not a slower release.
STALL_SHARE = 0.8
GENERATOR_HOT = 90.0   # % of a core: Locust's own threshold for a starved process


def machine_stall(led: Ledger, slow: np.ndarray, old_nodes=(), new_nodes=(), workers: dict | None = None) -> str | None:
    """Why the slow requests (row mask `slow`) are the machine's, not the release's, or None. They must have been
    held at one instant (most of them in flight at once), and that instant must show the host, not the new colour:
    the load generator itself saturated then, or requests on the old colour's nodes held at the same instant too
    (a release cannot slow the code it replaced). A stall on the new colour alone stays the release's."""
    idx = np.flatnonzero(slow)
    if len(idx) < 2:
        return None
    start = led.np("ts")[idx]
    end = start + led.np("ms")[idx] / 1000.0
    # The instant most slow requests were in flight: the latest start before the earliest end of the densest set.
    order = np.argsort(end)
    best, at = 0, None
    for k in order[: max(1, len(order) // 2 + 1)]:
        t = end[k]
        held = int(((start <= t) & (end >= t)).sum())
        if held > best:
            best, at = held, t
    if at is None or best < STALL_SHARE * len(idx):
        return None
    node = led.strs("served_by")
    held_rows = idx[(start <= at) & (end >= at)]
    nodes = sorted({node[int(i)] or "?" for i in held_rows})
    old_hit = [n for n in nodes if n in set(old_nodes)]
    when = f"{best} of {len(idx)} slow requests were in flight at once"
    if old_hit and any(n in set(new_nodes) for n in nodes):
        return f"{when} on both colours ({', '.join(nodes)}): the host stalled, not the release"
    for w in (workers or {}).get("workers") or ():
        hot = [c for c in w.get("cpu") or () if abs(c[0] - at) <= 1.5 and c[1] >= GENERATOR_HOT]
        if hot:
            return (f"{when}, while the load generator {w.get('name') or w.get('id')} was at {max(c[1] for c in hot):.0f} % "
                    "of a core: the generator stalled, not the store")
    return None


def latency_by_phase(led: Ledger, ratio_bound: float, min_samples: int = 50, floor_ms: float = 250.0,
                     ctx: RunContext | None = None) -> Verdict:
    if len(led) == 0:
        return Verdict("latency_by_phase", False, None, ratio_bound, "the ledger is empty: no traffic was recorded")
    start, end = led.window()
    ts, ms, st = led.np("ts"), led.np("ms"), led.np("status")
    # Transport errors are judged elsewhere; their 'latency' is a timeout. Whole columns at once (numpy masks).
    ok = (st != 0) & ~np.isnan(ms)
    none = np.zeros(len(ts), dtype=bool)
    before = ok if start is None else ok & (ts < start)
    during = none if start is None else ok & (ts >= start) & (ts <= end if end is not None else True)
    after = none if start is None or end is None else ok & (ts > end)
    stats = {}
    for ph, mask in (("before", before), ("during", during), ("after", after)):
        vals = np.sort(ms[mask])
        stats[ph] = {"n": len(vals), "p50": _pct(vals, 50), "p95": _pct(vals, 95), "p99": _pct(vals, 99)}
    base = stats["before"]["p99"]
    judged = [ph for ph in ("during", "after") if stats[ph]["n"] >= min_samples]
    if stats["before"]["n"] < min_samples or not judged or base <= 0:
        return inconclusive("latency_by_phase", stats, ratio_bound,
                            f"fewer than {min_samples} requests before the switch or in both phases after it",
                            "min_phase_samples")
    worst = max(judged, key=lambda ph: stats[ph]["p99"])
    ratio = round(stats[worst]["p99"] / base, 2)
    stats["p99_ratio"] = ratio
    passed = ratio <= ratio_bound or stats[worst]["p99"] <= floor_ms
    detail = (f"p99 {stats[worst]['p99']} ms {worst} the switch vs {base} ms before (x{ratio}, bound x{ratio_bound}"
              f" above a {floor_ms:.0f} ms floor)")
    if not passed and ctx is not None:
        phase = during if worst == "during" else after
        slow = phase & (ms > max(floor_ms, ratio_bound * base))
        why = machine_stall(led, slow, ctx.old_nodes, ctx.new_nodes, ctx.workers)
        if why:
            stats["machine_stall"] = why
            return no_evidence("latency_by_phase", f"{detail}; {why}: run again on a quieter host", stats, ratio_bound)
    return Verdict("latency_by_phase", passed, stats, ratio_bound, detail)


@verdict("latency_by_phase", family="latency")
def _latency_by_phase(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """p99 during and after the switch within bounds.p99_ratio of p99 before it (above bounds.p99_floor_ms)."""
    return latency_by_phase(led, bounds.p99_ratio, bounds.min_phase_samples, bounds.p99_floor_ms, ctx)
