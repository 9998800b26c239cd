"""Latency: the switch must not make the store slower (p99 per phase, before / during / after)."""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, Verdict, inconclusive, verdict


def _pct(sorted_vals, p: float) -> float:
    if not len(sorted_vals):
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))  # noqa: RUF046 - numpy floats
    return round(float(sorted_vals[k]), 2)


def latency_by_phase(led: Ledger, ratio_bound: float, min_samples: int = 50, floor_ms: float = 250.0) -> Verdict:
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
    return Verdict("latency_by_phase", passed, stats, ratio_bound,
                   f"p99 {stats[worst]['p99']} ms {worst} the switch vs {base} ms before (x{ratio}, bound x{ratio_bound}"
                   f" above a {floor_ms:.0f} ms floor)")


@verdict("latency_by_phase", family="latency")
def _latency_by_phase(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """p99 during and after the switch within bounds.p99_ratio of p99 before it (above bounds.p99_floor_ms)."""
    return latency_by_phase(led, bounds.p99_ratio, bounds.min_phase_samples, bounds.p99_floor_ms)
