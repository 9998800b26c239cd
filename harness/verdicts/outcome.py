"""What the engine itself observed during the cutover: the gate's decision, the watch window, engine errors."""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, NotJudged, Verdict, not_switched, verdict


def _outcome(ctx: RunContext):
    if ctx.outcome is None:
        raise NotJudged("no cutover outcome: the ledger was judged on its own")
    return ctx.outcome


@verdict("gate", family="outcome")
def gate(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every pre-switch gate check passed (health, smoke checkouts, old code on the new schema, LB readiness)."""
    out = _outcome(ctx)
    failed = [g for g in out.gate if not g["ok"]]
    skipped = sorted({f"{g['check']}: {g['skipped']}" for g in out.gate if g.get("skipped")})
    detail = f"{len(out.gate) - len(skipped)} gate checks passed" + (
        f", {len(skipped)} skipped ({'; '.join(skipped)})" if skipped else "")
    return Verdict("gate", not out.refused, len(out.gate) - len(failed), len(out.gate),
                   f"refused: {out.refused}" if out.refused else detail, failed)


@verdict("post_switch_watch", family="outcome")
def post_switch_watch(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """No breach (5xx, dropped connection, lost session, unhealthy node) in the watch window after the switch.
    A rollback drill switches back on purpose: that is not a breach."""
    out = _outcome(ctx)
    if out.breach:
        auto = out.rolled_back and not out.drill
        return Verdict("post_switch_watch", False, out.breach, 0,
                       f"rolled back automatically: {out.breach}" if auto else f"breach in the watch window: {out.breach}")
    why = not_switched(ctx)
    if why:
        raise NotJudged(why)
    return Verdict("post_switch_watch", True, None, 0, "no breach in the watch window")


@verdict("engine", family="outcome")
def engine(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """The engine itself met no error (target unreachable, a step that gave up)."""
    out = _outcome(ctx)
    if not out.error:
        raise NotJudged("the engine met no error")
    return Verdict("engine", False, None, None, out.error)
