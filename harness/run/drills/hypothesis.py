"""Judging a drill: the steady state (verdicts that must hold), the verdicts that must trip, each fault's error
budget against what it spent, "then zero" outside the faults, the engine's reaction, and what was left behind."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from harness.run.drills.plan import Drill
from harness.run.drills.scheduler import Applied

# How a verdict that needs a switch says there was none (sessions_intact judges losses first, crossings after).
NO_SWITCH = "no switch happened"


def detection_s() -> float:
    """How long the LB takes to take a failed server out and put a healed one back (HAProxy's checks, the DO LB's
    on DigitalOcean): fall + rise checks at `inter`, plus one check timeout."""
    inter = float(os.environ.get("GREENLIGHT_HC_INTERVAL_MS", "1000")) / 1000
    fall = int(os.environ.get("GREENLIGHT_HC_FALL", "2"))
    rise = int(os.environ.get("GREENLIGHT_HC_RISE", "2"))
    timeout = float(os.environ.get("GREENLIGHT_HC_TIMEOUT_MS", "1000")) / 1000
    return (fall + rise) * inter + timeout


@dataclass
class FaultSpend:
    label: str
    description: str
    budget_errors: int
    spent_errors: int | None         # None: never injected
    window: tuple[float, float] | None
    held_s: float | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.spent_errors is not None and self.spent_errors <= self.budget_errors and not self.error


@dataclass
class Judgement:
    passed: bool
    reasons: list[str] = field(default_factory=list)     # every clause that failed
    faults: list[FaultSpend] = field(default_factory=list)
    errors_outside: int = 0
    engine: str = ""


def _errors(led) -> list[tuple[float, float, str]]:
    """(start, end, node that answered or "") of every 5xx and transport error. A request belongs to a fault when
    it was in flight while the fault was in effect: one started a moment before a node was killed fails BY it."""
    n = len(led.cols["ts"])
    served = led.cols.get("served_by") or [None] * n
    ms = led.cols.get("ms") or [0.0] * n
    return [(t, t + (d or 0.0) / 1000, by or "")
            for s, t, d, by in zip(led.cols["status"], led.cols["ts"], ms, served, strict=True)
            if s is not None and (s == 0 or s >= 500)]


def _in(err: tuple[float, float, str], w: tuple[float, float]) -> bool:
    return err[0] <= w[1] and err[1] >= w[0]


def _charged(charges: str, node: str | None, served_by: str) -> bool:
    """Is this error the fault's doing? An error the LB made (no node answered) is charged to every fault in
    effect; one a node answered, to shared faults and to the faults on that node, never to an LB fault."""
    if not served_by:
        return True
    if charges == "lb":
        return False
    return charges == "all" or not node or served_by == node


def judge(drill: Drill, applied: list[Applied], verdicts: dict, outcome, led, final: dict,  # noqa: C901 - one clause per hypothesis part
          detect_s: float | None = None) -> Judgement:
    detect = drill.detect_s if drill.detect_s is not None else (detect_s if detect_s is not None else detection_s())
    errs = _errors(led)
    j = Judgement(passed=True)
    windows = []
    for a in applied:
        if a.injected_at is None:
            why = a.error or f"never injected: its phase ({a.step.at}) never came"
            j.faults.append(FaultSpend(a.step.label(), a.description, a.step.budget_errors, None, None, None, why))
            continue
        end = (a.healed_at or max(led.cols["ts"] or [a.injected_at])) + detect
        w = (a.injected_at, end)
        windows.append(w)
        fault = a.injection.fault if a.injection is not None else None
        node = fault.params.get("node") if fault is not None else None
        charges = fault.charges if fault is not None else "all"
        spent = sum(1 for e in errs if _in(e, w) and _charged(charges, node, e[2]))
        held = round((a.healed_at or end) - a.injected_at, 2)
        j.faults.append(FaultSpend(a.step.label(), a.description, a.step.budget_errors, spent, w, held,
                                   a.error if a.healed_at is None or a.error else ""))
    for f in j.faults:
        if f.spent_errors is None or f.error:
            j.reasons.append(f"{f.label}: {f.error}")
        elif f.spent_errors > f.budget_errors:
            j.reasons.append(f"{f.label}: spent {f.spent_errors} errors, budget {f.budget_errors}")
    j.errors_outside = sum(1 for e in errs if not any(_in(e, w) for w in windows))
    if j.errors_outside > drill.errors_outside_faults:
        j.reasons.append(f"{j.errors_outside} errors while no fault was in effect (allowed {drill.errors_outside_faults})")
    for name in drill.must_hold:
        v = verdicts.get(name)
        if v is None:
            j.reasons.append(f"steady state: verdict {name} was not evaluated")
        elif v.get("skipped") and outcome.refused and NO_SWITCH in v["skipped"]:
            continue  # refused: what only a switch can show (crossings) holds trivially; losses were still judged
        elif not v["passed"] or v.get("skipped"):
            j.reasons.append(f"steady state: {name} failed: {v['detail']}")
    for name in drill.must_trip:
        v = verdicts.get(name)
        if v is None or v["passed"]:
            j.reasons.append(f"must trip: {name} did not fail" + (f" ({v['detail']})" if v else ""))
    j.engine = ("error" if outcome.error else "refused" if outcome.refused else
                "rolled_back" if outcome.rolled_back else "switched" if outcome.switched else "error")
    if j.engine not in drill.engine:
        detail = outcome.error or outcome.refused or outcome.rolled_back or ""
        j.reasons.append(f"engine: {j.engine} ({detail[:160]}), expected {' or '.join(drill.engine)}")
    expect_colour = {"old": outcome.from_colour, "new": outcome.to_colour}.get(drill.final_live)
    if not final["live_healthy"]:
        j.reasons.append(f"end: live colour {final['live'] or '?'} is not healthy")
    if expect_colour and final["live"] != expect_colour:
        j.reasons.append(f"end: {final['live']} is live, expected {drill.final_live} ({expect_colour})")
    if final["faults_left"]:
        j.reasons.append(f"end: faults left in the journal: {final['faults_left']}")
    if final["load_left"]:
        j.reasons.append(f"end: load processes left: {final['load_left']}")
    j.passed = not j.reasons
    return j
