"""The verdict registry: every verdict Greenlight knows, how it judges a finished run, and (where it can) how it
spots a breach live, in one record or a window of records, for the post-switch watch.

Adding a verdict is one module (or a function in a family module) plus one registration:

    @verdict("no_redirect_loops", family="status", live=lambda rec: "redirect loop" if ... else None)
    def _judge(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
        ...
        return Verdict("no_redirect_loops", passed, value, bound, detail, evidence)

and, for a new module, one line in harness/verdicts/__init__.py importing it (the import registers it).

Three outcomes, kept apart on purpose:
- passed / failed: the verdict was judged on this run's evidence.
- inconclusive: the verdict applies to this run but the evidence it should have is missing or too thin (no
  release header, no Locust total, no static asset fetched, fewer samples than the bound's minimum). Missing
  evidence never passes a run and never fails it: the run is inconclusive (exit 3) unless another verdict failed,
  with `inconclusive` saying what was short (and, for a sample minimum, which bound the user may lower:
  [bounds] in greenlight.toml, --bound / --gl-bound NAME=VALUE). `inconclusive()` / `no_evidence()` build it.
- not judged (skipped): the verdict does not apply to this run, or this target cannot give its evidence at all
  (no rollback happened; the switch was refused; a target without DB access for cron records). The judge raises
  NotJudged(reason), saying how to enable it where it can be; the verdict is reported with `skipped=reason` and
  `passed=True` so it never fails a run, and is shown as SKIP, never as a pass.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from harness.config.bounds import Bounds
from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext

__all__ = ["Bounds", "LiveJudge", "LiveScope", "NotJudged", "Verdict", "VerdictSpec", "evaluate", "inconclusive",
           "live_breach", "live_judges", "no_evidence", "not_switched", "verdict"]

EVIDENCE_MAX = 10


@dataclass
class Verdict:
    name: str
    passed: bool
    value: object = None
    bound: object = None
    detail: str = ""
    evidence: list = field(default_factory=list)
    skipped: str = ""                 # why the verdict was not judged in this run ("" = it was judged)
    inconclusive: str = ""            # what evidence was short, and the bound that sets the minimum

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def status(self) -> str:
        if self.skipped:
            return "skip"
        if self.inconclusive:
            return "inconclusive"
        return "pass" if self.passed else "fail"


def inconclusive(name: str, value, bound, why: str, minimum: str) -> Verdict:
    """Too little evidence to judge: fails, saying what was short and which bound (`minimum`) the user may lower."""
    return Verdict(name, False, value, bound, f"INCONCLUSIVE: {why} (minimum set by bound {minimum})",
                   inconclusive=f"{why}; lower bound {minimum} to judge on less")


def no_evidence(name: str, why: str, value=None, bound=None, evidence: list | None = None) -> Verdict:
    """The verdict applies, but the evidence this run should hold for it is missing: never a pass, and not a
    failure of the release either — the run is inconclusive, saying what was missing."""
    return Verdict(name, False, value, bound, f"INCONCLUSIVE: {why}", list(evidence or []), inconclusive=why)


def not_switched(ctx: RunContext) -> str | None:
    """Why no switch happened in this run (refused, an engine error), or None when one did or the run is a ledger
    judged on its own: verdicts about the switch are then not judged, never failed."""
    o = ctx.outcome
    if o is None or o.switched:
        return None
    if o.refused:
        return f"the switch was refused: {o.refused[:200]}"
    return f"no switch happened: {o.error[:200]}" if o.error else "no switch happened"


class NotJudged(Exception):
    """Raised by a judge when its verdict does not apply to this run; the message says why."""


Judge = Callable[[Ledger, RunContext, Bounds], Verdict]
LiveRule = Callable[[dict], "str | None"]
WindowRule = Callable[[list], "str | None"]


@dataclass
class LiveScope:
    """What a stateful live rule compares: records before `baseline_until` are the baseline, records from
    `judged_from` on are judged (the deploy window before a switch, or the watch window after it)."""
    baseline_until: float
    judged_from: float
    bounds: Bounds
    phase: str = "after the switch"   # how breaches name the judged window
    deploy_steps: list = field(default_factory=list)  # (ts, event) of the deploy, to name the step at a breach
    orders: Callable[[list[int]], dict] | None = None  # order id -> stored order, from the shop's DB


class LiveJudge:
    """A live rule that needs state (a baseline, counts): sees every record, says when there is a breach."""

    def observe(self, rec: dict) -> None:
        raise NotImplementedError

    def breach(self) -> str | None:
        raise NotImplementedError


LiveState = Callable[[LiveScope], "LiveJudge | None"]


@dataclass(frozen=True)
class VerdictSpec:
    name: str
    family: str
    judge: Judge
    live: LiveRule | None = None          # one ledger record → why it is a breach, or None
    live_window: WindowRule | None = None  # the records seen since the switch → why they are a breach, or None
    facts: Callable[[Verdict], dict] | None = None  # report facts: {"totals": {...}, "switch": {...}}
    doc: str = ""
    live_state: LiveState | None = None   # a stateful live rule (baseline vs judged window), built per watch


REGISTRY: dict[str, VerdictSpec] = {}
# Report order: families in this order, then any other family, each in registration order.
FAMILY_ORDER = ("outcome", "status", "journeys", "sessions", "convergence", "orders", "latency", "static", "identity",
                "ledger")


def verdict(name: str, *, family: str, live: LiveRule | None = None, live_window: WindowRule | None = None,
            facts: Callable[[Verdict], dict] | None = None,
            live_state: LiveState | None = None) -> Callable[[Judge], Judge]:
    """Register `judge(led, ctx, bounds) -> Verdict` under `name` (order of registration = order in reports)."""
    def register(judge: Judge) -> Judge:
        if name in REGISTRY:
            raise ValueError(f"verdict {name!r} is registered twice ({REGISTRY[name].family} and {family})")
        REGISTRY[name] = VerdictSpec(name, family, judge, live, live_window, facts, (judge.__doc__ or "").strip(),
                                     live_state)
        return judge
    return register


def specs() -> Iterator[VerdictSpec]:
    rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
    yield from sorted(REGISTRY.values(), key=lambda s: rank.get(s.family, len(rank)))


def names() -> list[str]:
    return [s.name for s in specs()]


def judge_one(spec: VerdictSpec, led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    try:
        v = spec.judge(led, ctx, bounds)
    except NotJudged as why:
        return Verdict(spec.name, True, None, None, f"not judged: {why}", skipped=str(why))
    if v.name != spec.name:
        raise ValueError(f"verdict {spec.name!r} returned a verdict named {v.name!r}")
    return v


def evaluate(led: Ledger, bounds: Bounds, ctx: RunContext) -> list[Verdict]:
    """Every registered verdict over one finished run (skipped ones included, with their reason)."""
    return [judge_one(spec, led, ctx, bounds) for spec in specs()]


def live_breach(record: dict) -> str | None:
    """The first registered live rule this record breaks, or None."""
    for spec in specs():
        if spec.live is not None:
            why = spec.live(record)
            if why:
                return why
    return None


def window_breach(records: list) -> str | None:
    """The first registered window rule the records since the switch break, or None."""
    for spec in specs():
        if spec.live_window is not None:
            why = spec.live_window(records)
            if why:
                return why
    return None


def live_judges(scope: LiveScope) -> list[LiveJudge]:
    """One fresh stateful judge per registered verdict that has one (and applies to this scope)."""
    out = []
    for spec in specs():
        if spec.live_state is not None:
            judge = spec.live_state(scope)
            if judge is not None:
                out.append(judge)
    return out


def has_window_rules() -> bool:
    return any(spec.live_window is not None for spec in specs())


def evidence_row(led: Ledger, i: int) -> dict:
    """One offending request as evidence (the first EVIDENCE_MAX of them go into a verdict)."""
    c = led.cols
    return {"ts": c["ts"][i], "node": c["served_by"][i], "release": c["release"][i], "status": c["status"][i],
            "journey": c["journey"][i], "step": c["step"][i], "method": c["method"][i], "name": c["name"][i],
            "error": (c["error"][i] or "")[:200] if c["error"][i] else ""}
