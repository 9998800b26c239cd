"""Journey steps compared across a change: failure rates (exact test + absolute rule) and latency distributions
(Mann-Whitney U + effect size above an absolute floor), one comparison per (journey, step).

The same accumulators serve the finished ledger (verdicts) and the growing one (the watch window and the
pre-switch check of the live colour), so a breach is the same thing whenever it is judged. A request failed when it
got no answer, an unexpected status (4xx included) or failed a content check (`failed_checks` on its ledger line).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from harness.ledger.schema import step_failed
from harness.verdicts.stats import exceedance_greater, fisher_greater, mann_whitney_greater, percentile

SAMPLE_CAP = 5000  # latencies kept per step and side: plenty for the tests, bounded memory on a night's ledger
DRIFT_MIN_SAMPLES = 5  # a step's median counts towards the store's overall drift from this many samples a side
ANY_JOURNEY = "any journey"  # latency of a step several journeys take, judged over all of them too
# The exceedance rule counts judged samples above the baseline's upper quartile (its p75): a p95 of a rare step is
# its one or two slowest samples, often a busy second of the host, which would take all power from the test.
TAIL_SHARE = 0.25


@dataclass
class StepRule:
    alpha: float = 0.01          # exact test: P(this many failures after | same rate as before)
    absolute_after: int = 3      # a step that never failed before and fails this often after is a breach


@dataclass
class LatencyRule:
    alpha: float = 0.01          # Mann-Whitney U, one-sided: after slower than before
    ratio: float = 2.0           # and its median at least this many times the baseline's
    floor_ms: float = 250.0      # and its p95 at least this much higher: small numbers are never a regression
    min_samples: int = 20        # per step and side, for the distributions to be compared (Mann-Whitney U)
    min_few: int = 8             # fewer than min_samples on a side but this many on both: the exceedance rule

    def judged_by(self, n_before: int, n_after: int) -> str | None:
        """Which rule can judge a step with these sample counts (None: too few to judge). A test that could not
        reach `alpha` even if every sample after were slower than every one before is no judge at all: with 5
        samples a side Mann-Whitney's smallest p is 1/C(10,5) = 0.004, so at alpha 0.001 the step goes to the
        exceedance rule, or is reported as too rare, instead of being "compared" and passed whatever happened."""
        if n_before >= self.min_samples and n_after >= self.min_samples and \
                1 / math.comb(n_before + n_after, n_before) < self.alpha:
            return "mann-whitney"
        if min(n_before, n_after) >= min(self.min_few, self.min_samples) and \
                exceedance_greater(n_after, n_before, int(TAIL_SHARE * n_before), n_after) < self.alpha:
            return "exceedance"
        return None


# Baseline requests of a step, all failed, from which the step is taken to have never worked (see never_worked).
NEVER_WORKED_MIN = 5


@dataclass
class Side:
    n: int = 0
    failed: int = 0
    first_failures: list = field(default_factory=list)  # row indices or records, in arrival order
    ms: list = field(default_factory=list)
    _seen: int = 0

    def add(self, failed: bool, ms: float | None, ref, keep: int) -> None:
        self.n += 1
        if failed:
            self.failed += 1
            if len(self.first_failures) < keep:
                self.first_failures.append(ref)
        elif ms is not None:
            self._seen += 1
            if self._seen <= SAMPLE_CAP:
                self.ms.append(ms)
            elif self._seen % (self._seen // SAMPLE_CAP + 1) == 0:
                # Past the cap, a deterministic thinning (every k-th, k growing) keeps the distribution's shape.
                self.ms[self._seen % SAMPLE_CAP] = ms


@dataclass
class StepComparison:
    """Per (journey, step): the baseline side and the judged side."""
    keep: int = 5
    steps: dict = field(default_factory=dict)  # (journey, step) -> [Side before, Side after]

    def add(self, journey, step, after: bool, failed: bool, ms: float | None, ref) -> None:
        sides = self.steps.get((journey, step))
        if sides is None:
            sides = self.steps[(journey, step)] = [Side(), Side()]
        sides[1 if after else 0].add(failed, ms, ref, self.keep)

    def total(self, after: bool) -> int:
        return sum(s[1 if after else 0].n for s in self.steps.values())

    def failure_breaches(self, rule: StepRule) -> list[dict]:
        out = []
        for (journey, step), (before, after) in sorted(self.steps.items(), key=lambda kv: str(kv[0])):
            if after.failed == 0:
                continue
            p = fisher_greater(after.failed, after.n, before.failed, before.n)
            why = None
            if before.failed == 0 and after.failed >= rule.absolute_after:
                why = f"never failed before, failed {after.failed} times after"
            elif p < rule.alpha:  # exact, so valid on small baselines too
                why = f"failure rate {after.failed}/{after.n} vs {before.failed}/{before.n} before (p={p:.2g})"
            if why:
                out.append({"journey": journey, "step": step, "why": why, "p": p,
                            "before": {"n": before.n, "failed": before.failed},
                            "after": {"n": after.n, "failed": after.failed}, "first": after.first_failures})
        return out

    def drift(self, rule: LatencyRule) -> float:
        """How much slower the whole store got (median over steps of median after / median before, at least 1):
        a shared host under load slows every step alike; a regression slows some steps more than the rest."""
        ratios = []
        for before, after in self.steps.values():
            if len(before.ms) >= DRIFT_MIN_SAMPLES and len(after.ms) >= DRIFT_MIN_SAMPLES:
                b = percentile(sorted_ms(before.ms), 50)
                if b > 0:
                    ratios.append(percentile(sorted_ms(after.ms), 50) / b)
        if len(ratios) < 3:
            return 1.0
        return max(1.0, percentile(sorted(ratios), 50))

    def latency_groups(self) -> dict:
        """What latency is judged over: each (journey, step), and a step several journeys take (place order,
        estimate shipping, ...) over all of them as well (journey ANY_JOURNEY) — the same operation of the store,
        so a slow-down of it is seen from fewer seconds of traffic. Values: (ms before, ms after)."""
        groups = {k: (b.ms, a.ms) for k, (b, a) in self.steps.items()}
        by_step: dict = {}
        for (_journey, step), (b, a) in self.steps.items():
            by_step.setdefault(step, []).append((b.ms, a.ms))
        for step, sides in by_step.items():
            if len(sides) > 1:
                groups[(ANY_JOURNEY, step)] = ([v for b, _ in sides for v in b], [v for _, a in sides for v in a])
        return groups

    def latency_breaches(self, rule: LatencyRule) -> list[dict]:
        """Steps slower after than before beyond the store's overall drift g, by an effect size AND a one-sided
        test at rule.alpha. With rule.min_samples a side: the median x rule.ratio and the p95 rule.floor_ms higher,
        and Mann-Whitney U. A checkout step is taken once per checkout, so a few seconds after a switch hold only a
        handful of each; such a rare step (from rule.min_few a side) is judged too: the median x rule.ratio and
        rule.floor_ms above the baseline's median (the typical request, not one outlier, is slow), and an exact
        exceedance test of how many judged samples lie above the baseline's p75."""
        out = []
        g = self.drift(rule)
        breached = set()
        for (journey, step), (before, after) in sorted(self.latency_groups().items(),
                                                       key=lambda kv: (kv[0][0] == ANY_JOURNEY, str(kv[0]))):
            how = rule.judged_by(len(before), len(after))
            if how is None or (journey == ANY_JOURNEY and step in breached):
                continue
            stats = latency_stats(before, after)
            b50, b95, a50, a95 = (stats["before"]["p50"], stats["before"]["p95"], stats["after"]["p50"],
                                  stats["after"]["p95"])
            if a50 < rule.ratio * g * b50:
                continue
            if how == "mann-whitney":
                if a95 - g * b95 < rule.floor_ms:
                    continue
                _u, p = mann_whitney_greater([v * g for v in before], after)
                test = f"Mann-Whitney p={p:.2g}"
            else:
                if a50 - g * b50 < rule.floor_ms:
                    continue
                base = sorted_ms(before)[::-1]
                m = int(TAIL_SHARE * len(base))  # the (m+1)-th slowest baseline sample: its p75
                above = sum(1 for v in after if v > g * base[m])
                p = exceedance_greater(len(after), len(base), m, above)
                test = f"{above} of {len(after)} above the baseline's p75, exact p={p:.2g}"
            if p < rule.alpha:
                breached.add(step)
                out.append({"journey": journey, "step": step, "p": p, "drift": round(g, 2), "rule": how,
                            "n": {"before": len(before), "after": len(after)}, **stats,
                            "why": f"p50 {a50:.0f} ms vs {b50:.0f} ms, p95 {a95:.0f} ms vs {b95:.0f} ms ({test}"
                                   + (f", the whole store x{g:.1f}" if g > 1 else "") + ")"})
        return out

    def never_worked(self, min_n: int = NEVER_WORKED_MIN) -> list[dict]:
        """Steps that failed every one of at least `min_n` baseline requests and never succeeded after: a journey
        that never worked proves nothing past that step (it is not 'unchanged'), whatever the release does."""
        out = []
        for (journey, step), (before, after) in self.steps.items():
            if before.n >= min_n and before.failed == before.n and after.failed == after.n:
                out.append({"journey": journey, "step": step, "before": before.n, "after": after.n,
                            "first": before.first_failures})
        return out

    def table(self) -> dict:
        """Per step: before/after counts, failures and latency percentiles (for the report)."""
        out = {}
        for (journey, step), (before, after) in sorted(self.steps.items(), key=lambda kv: str(kv[0])):
            st = latency_stats(before.ms, after.ms)
            out[f"{journey}/{step}"] = {
                "before": {"n": before.n, "failed": before.failed, **st["before"]},
                "after": {"n": after.n, "failed": after.failed, **st["after"]}}
        return out


def sorted_ms(values: list) -> list:
    """sorted(values): through numpy for a long list of floats (a step's thousands of latency samples, sorted again
    by each statistic: several times faster than Python's sort, the same floats in the same order)."""
    if len(values) > 64 and all(type(v) is float and v == v for v in values):
        return np.sort(np.array(values, dtype=np.float64)).tolist()
    return sorted(values)


def latency_stats(before: list[float], after: list[float]) -> dict:
    b, a = sorted_ms(before), sorted_ms(after)
    return {"before": {"p50": round(percentile(b, 50), 1), "p95": round(percentile(b, 95), 1)},
            "after": {"p50": round(percentile(a, 50), 1), "p95": round(percentile(a, 95), 1)}}


def from_ledger(led, baseline_until: float, judged_from: float, judged_until: float | None = None,
                keep: int = 5) -> StepComparison:
    """Split a finished ledger: the baseline before `baseline_until`, the judged side in [judged_from, judged_until);
    what lies between (e.g. the deploy, when judging after the switch) is neither. Columnar (numpy): a night's
    ledger is split in a few passes over its arrays, not a Python loop per record."""
    cache = led.__dict__.setdefault("_step_comparisons", {})  # several verdicts split the same ledger the same way
    key = (baseline_until, judged_from, judged_until, keep)
    if key in cache:
        return cache[key]
    comp = StepComparison(keep=keep)
    n = len(led)
    if n == 0:
        cache[key] = comp
        return comp
    # Memory: the columns are read as stored (no float copies of status and latency), groups and row numbers are
    # int32 where they fit: a 10M-record ledger is judged within 1 GiB.
    ts = led.np("ts")
    ms = led.np("ms")
    failed = led.step_failed_rows()
    until = np.inf if judged_until is None else judged_until
    sides = {0: ts < baseline_until, 1: (ts >= judged_from) & (ts < until)}
    journey, step = led.strs("journey"), led.strs("step")
    width = len(step.values) + 1
    top = (len(journey.values) + 1) * width
    # uint16 when the (journey, step) pairs fit, as they always do: numpy's stable sort of 16-bit keys is a radix
    # sort (linear), several times faster than the merge sort it uses for wider keys.
    gtype = np.uint16 if top <= 1 << 16 else np.int32 if top < 1 << 31 else np.int64
    group = journey.codes.astype(gtype) * gtype(width) + step.codes.astype(gtype)
    row_type = np.int32 if n < 1 << 31 else np.int64
    for side, mask in sides.items():
        idx = np.flatnonzero(mask).astype(row_type, copy=False)
        if not len(idx):
            continue
        # One stable sort by step: each step's rows stay in ledger order (first failures, latency samples).
        idx = idx[np.argsort(group[idx], kind="stable")]
        g_sorted = group[idx]
        bounds = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1], True])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            g = int(g_sorted[a])
            sel = idx[a:b]
            name = (journey.values[g // width], step.values[g % width])
            pair = comp.steps.get(name)
            if pair is None:
                pair = comp.steps[name] = [Side(), Side()]
            target = pair[side]
            bad = failed[sel]
            target.n = len(sel)
            target.failed = int(bad.sum())
            target.first_failures = sel[bad][:keep].tolist()
            good = ms[sel[~bad]].astype("f8", copy=False)
            good = good[~np.isnan(good)]
            if len(good) > SAMPLE_CAP:  # evenly spaced through the window: the distribution's shape, bounded
                good = good[np.linspace(0, len(good) - 1, SAMPLE_CAP).astype(np.int64)]
            target.ms = good.tolist()
    cache[key] = comp
    return comp


class LiveComparison:
    """The same split over records as they arrive (the watch window, the deploy window)."""

    def __init__(self, baseline_until: float, judged_from: float, keep: int = 5):
        self.baseline_until, self.judged_from = baseline_until, judged_from
        self.comp = StepComparison(keep=keep)

    def observe(self, rec: dict) -> bool | None:
        """Adds the record; True if it was judged, False if baseline, None if neither."""
        t = rec.get("ts") or 0
        if t < self.baseline_until:
            after = False
        elif t >= self.judged_from:
            after = True
        else:
            return None
        failed = step_failed(rec.get("status"), rec.get("failed_checks"))
        self.comp.add(rec.get("journey"), rec.get("step"), after, failed, None if failed else rec.get("ms"), rec)
        return after
