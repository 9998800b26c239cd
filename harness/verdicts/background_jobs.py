"""Cron and queue consumers: exactly one colour runs them, the live one, from the switch on (harness/checks/background_jobs.py
reads who did the work from the shop DB)."""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, NotJudged, Verdict, no_evidence, verdict


def background_jobs_one_colour(led: Ledger, activity: list[dict] | None, from_colour: str, to_colour: str,
                               switched: bool) -> Verdict:
    """Cron runs and consumed queue messages from the switch on (or the whole run, when nothing switched) came
    from exactly one colour: the live one. Evidence: the shop DB's cron_schedule and queue_message rows."""
    name = "background_jobs_one_colour"
    if activity is None:
        raise NotJudged("no read access to the shop DB: who ran cron and consumers (cron_schedule, queue "
                        "messages) could not be read; give the target a database section to judge it")
    marks = [e for e in led.events if e.get("event") in ("switch_done", "rollback_done")] if switched else []
    since = marks[-1]["ts"] if marks else (led.events[0]["ts"] if led.events else 0.0)
    live = (marks[-1].get("to") if marks else from_colour) or from_colour
    # Cron follows traffic once it has converged on the colour (harness/run/switch.py): until that hand-over the
    # colour being left still runs it, alone, as it should.
    handed = [e for e in led.events if e.get("event") == "background_jobs_handover" and e["ts"] >= since
              and e.get("started") == live]
    if handed:
        since = handed[0]["ts"]
    rows = [r for r in activity if r["ts"] >= since]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["colour"]] = counts.get(r["colour"], 0) + 1
    others = [r for r in rows if r["colour"] != live]
    value = {"live": live, "runs_by_colour": counts}
    where = "from the switch on" if marks else "during the run"
    if others:
        ev = others[:EVIDENCE_MAX]
        return Verdict(name, False, value, 1,
                       f"{len(others)} cron runs/consumed messages {where} came from {', '.join(sorted({r['colour'] for r in others}))} "
                       f"while {live} was live (e.g. {others[0]['kind']} on {others[0]['node']}, release "
                       f"{others[0]['release']})", ev)
    if not rows:
        return no_evidence(name, f"no cron run or consumed message {where}: nothing was checked", value, 1)
    return Verdict(name, True, value, 1, f"only {live} ran cron and consumers {where} ({len(rows)} runs/messages)")


@verdict("background_jobs_one_colour", family="background_jobs")
def _background_jobs_one_colour(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Only the live colour ran cron and consumed queue messages, from the switch on (the whole run without one)."""
    if ctx.outcome is None and ctx.background_activity is None:
        raise NotJudged("a ledger judged on its own: the shop DB's cron and queue records were not read")
    switched = bool(ctx.outcome is not None and ctx.outcome.switched)
    return background_jobs_one_colour(led, ctx.background_activity, ctx.from_colour, ctx.to_colour, switched)
