"""The live colour during the deploy: customers still on it must not be hurt by what the deploy does (a migration
holding a lock, a cache flush reaching sessions, a CPU-hungry static deploy on shared hosts).

Judged by the same rules as the switch (journeys.py: step failures, step latency) with the deploy window
[deploy_start, switch_start) against the baseline before it, plus frozen requests: bounds.freeze_count requests
slower than bounds.freeze_ms (a checkout waiting on a lock is harm even when it ends in a 200), that threshold
stretched by the store's overall drift in the window (a shared host under load slows everything alike). The pre-switch
check applies the same rules live and refuses the switch; the report names when, and the deploy step that was
running (the deploy's events bracket it).
"""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.journeys import failure_verdict, latency_rule, latency_verdict, offending
from harness.verdicts.registry import Bounds, LiveJudge, LiveScope, NotJudged, Verdict, verdict
from harness.verdicts.step_compare import LiveComparison, StepComparison, from_ledger

DEPLOY_END_EVENTS = ("switch_start", "gate_fail", "error", "load_stop")
NOT_DEPLOY_STEPS = {"deploy_start", "load_start", "gate_pass", "gate_fail", "switch_start", "error", "load_stop"}


def deploy_window(led: Ledger) -> tuple[float, float | None]:
    start = led.event_ts("deploy_start")
    if start is None:
        raise NotJudged("no deploy happened in this run")
    ends = [e["ts"] for e in led.events if e.get("event") in DEPLOY_END_EVENTS and e.get("ts", 0) >= start]
    return start, min(ends) if ends else None


def deploy_step_at(events: list[dict], ts: float) -> str:
    """The deploy step running at `ts`: between the last deploy event before it and the first one after it."""
    steps = [e for e in events if e.get("event") not in NOT_DEPLOY_STEPS]
    before = [e["event"] for e in steps if e["ts"] <= ts]
    after = [e["event"] for e in steps if e["ts"] > ts]
    return f"after {before[-1] if before else 'deploy_start'}, before {after[0] if after else 'the switch'}"


def freeze_threshold(comp: StepComparison, bounds: Bounds) -> float:
    """bounds.freeze_ms, stretched by the whole store's drift: on a host so loaded that every step is 5x slower,
    a 5x longer request is the load, not a lock."""
    return bounds.freeze_ms * comp.drift(latency_rule(bounds))


def frozen_rows(led: Ledger, start: float, end: float | None, threshold_ms: float) -> list[int]:
    if len(led) == 0:
        return []
    ts, ms = led.np("ts"), led.np("ms")
    window = (ts >= start) & (ts < (np.inf if end is None else end))
    return np.flatnonzero(window & (ms >= threshold_ms)).tolist()


class FreezeLive(LiveJudge):
    def __init__(self, scope: LiveScope):
        self.scope, self.slow = scope, []
        self.live = LiveComparison(scope.baseline_until, scope.judged_from)

    def observe(self, rec: dict) -> None:
        if self.live.observe(rec) and (rec.get("ms") or 0) >= self.scope.bounds.freeze_ms:
            self.slow.append(rec)

    def breach(self) -> str | None:
        if len(self.slow) < self.scope.bounds.freeze_count:
            return None
        threshold = freeze_threshold(self.live.comp, self.scope.bounds)
        frozen = [r for r in self.slow if r.get("ms", 0) >= threshold]
        if len(frozen) < self.scope.bounds.freeze_count:
            return None
        first = frozen[0]
        step = deploy_step_at(self.scope.deploy_steps, first["ts"]) if self.scope.deploy_steps else ""
        return (f"{len(frozen)} requests took over {threshold:.0f} ms {self.scope.phase}"
                + (f" ({step})" if step else "") + f"; first: {first.get('method')} {first.get('name')} "
                f"on {first.get('served_by') or '?'}, {first.get('ms'):.0f} ms")


@verdict("live_colour_unharmed", family="journeys", live_state=FreezeLive)
def _live_colour_unharmed(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """During the deploy, the live colour's steps fail no more, run no slower and never freeze."""
    start, end = deploy_window(led)
    comp = from_ledger(led, start, start, end)
    phase = "during the deploy"
    failures = failure_verdict("live_colour_unharmed", led, ctx, bounds, comp, phase,
                               bounds.min_latency_samples, "min_latency_samples")
    threshold = freeze_threshold(comp, bounds)
    frozen = frozen_rows(led, start, end, threshold)
    problems = []
    evidence = list(failures.evidence)
    if not failures.passed and not failures.inconclusive:
        problems.append(failures.detail)
    if len(frozen) >= bounds.freeze_count:
        problems.append(f"{len(frozen)} requests took over {threshold:.0f} ms {phase}")
        evidence = [{"breach": "frozen", **row} for row in offending(led, ctx, frozen[:10])] + evidence
    if failures.passed or failures.inconclusive:
        slow = latency_verdict("live_colour_unharmed", led, ctx, bounds, comp, phase)
        if not slow.passed and not slow.inconclusive:
            problems.append(slow.detail)
            evidence += slow.evidence
    value = {**(failures.value or {}), "frozen": len(frozen), "freeze_threshold_ms": round(threshold),
             "window": {"from": start, "to": end}}
    if problems:
        first_ts = min((e["ts"] for e in evidence if isinstance(e, dict) and "ts" in e), default=start)
        step = deploy_step_at(led.events, first_ts)
        value["first_harm"] = {"ts": first_ts, "seconds_into_deploy": round(first_ts - start, 2), "deploy_step": step}
        return Verdict("live_colour_unharmed", False, value, bounds.freeze_ms,
                       f"the live colour was hurt {phase}, {first_ts - start:.1f} s in ({step}): "
                       + "; ".join(problems), evidence[:20])
    if failures.inconclusive:
        return Verdict("live_colour_unharmed", False, value, failures.bound, failures.detail,
                       inconclusive=failures.inconclusive)
    return Verdict("live_colour_unharmed", True, value, bounds.freeze_ms,
                   f"{value.get('requests_judged', 0)} requests on the live colour {phase}: no step failed more or "
                   f"ran slower than before, none froze")
