"""Journey steps: after the switch, no step fails more often or runs slower than before the deploy began.

A failure is anything a customer would call one: no answer, an unexpected status (4xx included), or a failed
content check (an error page or payload, a cart without its item, totals that do not add up, ...). Each
(journey, step) is compared with its own baseline (its requests before the switch):
- failures: Fisher's exact test (bounds.step_alpha), plus an absolute rule — a step that never failed before and
  fails bounds.step_absolute_after times after is a breach, however few requests it had;
- latency: an effect size — the median at least bounds.latency_ratio times the baseline's and the p95 at least
  bounds.latency_floor_ms higher (small numbers are never a regression) — and a one-sided test at
  bounds.latency_alpha: Mann-Whitney U from bounds.min_latency_samples a side; a rarer step (a checkout step is
  taken once per checkout) from bounds.min_latency_rare samples a side: its median bounds.latency_floor_ms above the
  baseline's and an exact test of how many samples exceed the baseline's p75. A step several journeys take is
  judged over all of them too
  ("any journey/place order"). Steps with fewer samples are listed as not judged.
Everything before the switch is the baseline; its failures are reported, never hidden. The watch window applies the same rules
live, so a breach rolls the switch back.
"""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import (
    EVIDENCE_MAX,
    Bounds,
    LiveJudge,
    LiveScope,
    NotJudged,
    Verdict,
    evidence_row,
    inconclusive,
    no_evidence,
    verdict,
)
from harness.verdicts.step_compare import LatencyRule, LiveComparison, StepComparison, StepRule, from_ledger


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def step_rule(b: Bounds) -> StepRule:
    return StepRule(alpha=b.step_alpha, absolute_after=b.step_absolute_after)


def latency_rule(b: Bounds) -> LatencyRule:
    return LatencyRule(alpha=b.latency_alpha, ratio=b.latency_ratio, floor_ms=b.latency_floor_ms,
                       min_samples=b.min_latency_samples, min_few=b.min_latency_rare)


def after_switch(led: Ledger) -> StepComparison:
    """Everything before the switch is the baseline (the deploy window included: it is judged on its own by
    live_colour_unharmed, and it gives the rarer steps enough samples); the switch up to a rollback is judged."""
    switch = led.event_ts("switch_start")
    if switch is None:
        raise NotJudged("no switch happened; the live colour during the deploy is judged by live_colour_unharmed")
    return from_ledger(led, switch, switch, led.event_ts("rollback_start"))


def colour_of(node: str | None, ctx: RunContext) -> str:
    if node in ctx.new_nodes:
        return ctx.to_colour
    if node in ctx.old_nodes:
        return ctx.from_colour
    return "?"


def offending(led: Ledger, ctx: RunContext, rows: list[int]) -> list[dict]:
    out = []
    for i in rows:
        row = evidence_row(led, i)
        row["colour"] = colour_of(row["node"], ctx)
        checks = led.sparse["failed_checks"].get(i)
        if checks:
            row["failed_checks"] = checks
        out.append(row)
    return out


def failure_verdict(name: str, led: Ledger, ctx: RunContext, bounds: Bounds, comp: StepComparison,
                    phase: str, min_requests: int, minimum_name: str) -> Verdict:
    table = comp.table()
    baseline_failed = sum(s[0].failed for s in comp.steps.values())
    judged = comp.total(after=True)
    value = {"steps": table, "baseline_failures": baseline_failed, "requests_judged": judged}
    baseline_note = (f"; {baseline_failed} failures already in the baseline (reported, not blamed on the change)"
                     if baseline_failed else "")
    breaches = comp.failure_breaches(step_rule(bounds))  # failures found are evidence, however few requests
    if not breaches and judged < min_requests:
        return inconclusive(name, value, min_requests, f"only {judged} requests {phase}", minimum_name)
    broken = comp.never_worked()
    if not breaches and broken:
        value["never_worked"] = [{k: v for k, v in b.items() if k != "first"} for b in broken]
        b = broken[0]
        first = offending(led, ctx, b["first"][:1])
        where = _where({**first[0], "served_by": first[0]["node"]}) if first else "?"
        return no_evidence(name, (f"{_steps(len(broken))} never succeeded, before or {phase} "
                                  f"({', '.join(x['journey'] + '/' + x['step'] for x in broken[:5])}): "
                                  f"{b['journey']}/{b['step']} failed all {b['before']} baseline requests (first: "
                                  f"{where}), so the journey proves nothing past it. Set the store up for it (a "
                                  "salable product in [catalogue], guest checkout, a payment and shipping method for "
                                  "the journey's address, e-mail confirmation and CAPTCHA off for test customers) "
                                  "and run again"), value, bounds.step_alpha, first)
    if not breaches:
        return Verdict(name, True, value, bounds.step_alpha,
                       f"{len(table)} steps, {judged} requests {phase}: none failed more than before{baseline_note}")
    value["breaches"] = [{k: v for k, v in b.items() if k != "first"} for b in breaches]
    evidence = []
    for b in breaches:
        for row in offending(led, ctx, b["first"]):
            evidence.append({"breach": f"{b['journey']}/{b['step']}", **row})
    first = breaches[0]
    names = ", ".join(f"{b['journey']}/{b['step']}" for b in breaches[:5])
    return Verdict(name, False, value, bounds.step_alpha,
                   f"{_steps(len(breaches))} failed more {phase} than before ({names}); "
                   f"{first['journey']}/{first['step']}: {first['why']}{baseline_note}", evidence[:EVIDENCE_MAX * 2])


def latency_verdict(name: str, led: Ledger, ctx: RunContext, bounds: Bounds, comp: StepComparison,
                    phase: str) -> Verdict:
    rule = latency_rule(bounds)
    judged_by = {f"{j}/{s}": rule.judged_by(len(b), len(a)) for (j, s), (b, a) in comp.latency_groups().items()}
    comparable = [k for k, how in judged_by.items() if how]
    value = {"steps": comp.table(), "steps_compared": len(comparable),
             "not_judged": sorted(k for k, how in judged_by.items() if not how)}
    if not comparable:
        return inconclusive(name, value, rule.ratio,
                            f"no step had {min(rule.min_few, rule.min_samples)} answered requests both before and "
                            f"{phase}", "min_latency_rare")
    breaches = comp.latency_breaches(rule)
    if not breaches:
        rare = sum(1 for how in judged_by.values() if how == "exceedance")
        return Verdict(name, True, value, rule.ratio,
                       f"{len(comparable)} steps compared {phase} ({rare} rare ones by exceedances of their baseline "
                       f"p75; {len(value['not_judged'])} too rare to judge): none slower than x{rule.ratio} (median) "
                       f"and +{rule.floor_ms:.0f} ms (p95) with p<{rule.alpha}")
    value["breaches"] = breaches
    names = ", ".join(f"{b['journey']}/{b['step']}" for b in breaches[:5])
    first = breaches[0]
    return Verdict(name, False, value, rule.ratio,
                   f"{_steps(len(breaches))} slower {phase} ({names}); {first['journey']}/{first['step']}: {first['why']}",
                   [{k: v for k, v in b.items()} for b in breaches[:EVIDENCE_MAX]])


def _where(rec: dict) -> str:
    checks = "; ".join(f"{c.get('check')}: {c.get('reason')}" for c in rec.get("failed_checks") or ()
                       if isinstance(c, dict))
    return (f"{rec.get('method', '')} {rec.get('name', '')} on {rec.get('served_by') or '?'} "
            f"({rec.get('release') or '?'}) HTTP {rec.get('status')}" + (f": {checks}" if checks else ""))


class StepsLive(LiveJudge):
    """The failure rule over the growing ledger."""

    def __init__(self, scope: LiveScope):
        self.scope, self.live = scope, LiveComparison(scope.baseline_until, scope.judged_from)
        self.rule = step_rule(scope.bounds)
        self.dirty = False

    def observe(self, rec: dict) -> None:
        if self.live.observe(rec) and rec.get("ts"):
            self.dirty = True

    def breach(self) -> str | None:
        if not self.dirty:
            return None
        self.dirty = False
        found = self.live.comp.failure_breaches(self.rule)
        if not found:
            return None
        b = found[0]
        return f"step {b['journey']}/{b['step']} {self.scope.phase}: {b['why']}; first: {_where(b['first'][0])}"


class LatencyLive(LiveJudge):
    def __init__(self, scope: LiveScope):
        self.scope, self.live = scope, LiveComparison(scope.baseline_until, scope.judged_from)
        self.rule = latency_rule(scope.bounds)
        self.judged = 0

    def observe(self, rec: dict) -> None:
        if self.live.observe(rec):
            self.judged += 1

    def breach(self) -> str | None:
        if self.judged < self.rule.min_samples:
            return None
        found = self.live.comp.latency_breaches(self.rule)
        if not found:
            return None
        b = found[0]
        return f"step {b['journey']}/{b['step']} slower {self.scope.phase}: {b['why']}"


@verdict("journey_steps", family="journeys", live_state=StepsLive)
def _journey_steps(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """No journey step fails more often after the switch than before the deploy (exact test + absolute rule)."""
    return failure_verdict("journey_steps", led, ctx, bounds, after_switch(led), "after the switch",
                           bounds.min_step_requests, "min_step_requests")


@verdict("latency_by_step", family="journeys", live_state=LatencyLive)
def _latency_by_step(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """No journey step is slower after the switch (Mann-Whitney U, median ratio and p95 floor)."""
    return latency_verdict("latency_by_step", led, ctx, bounds, after_switch(led), "after the switch")
