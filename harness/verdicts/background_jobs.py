"""Cron and queue consumers: exactly one colour runs them, the live one, from the hand-over on — and it keeps doing
the work (harness/checks/background_jobs.py gathers the evidence a stock store has).

Who runs them is seen on the nodes (crontab and consumer processes, sampled through the run: the
`background_jobs_sample` events); that the work is done is seen in the shop DB (cron_schedule runs, queue messages
completed and waiting), which never says by whom. Each half is judged where its evidence exists and not judged,
with why, where it does not."""
from __future__ import annotations

import itertools
import statistics

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, NotJudged, Verdict, no_evidence, verdict

NAME = "background_jobs_one_colour"
# A message still waiting this long, with no consumer having completed one since, means the live colour's
# consumers are not draining the queue: a running consumer takes a message within a second or two, and cron spawns
# a missing one at its next run (so the grace is at least two cron intervals: two minutes on a stock store).
DRAIN_GRACE_S = 8.0


def handed_over(led: Ledger, switched: bool, from_colour: str) -> tuple[float, str]:
    """(since when, which colour) runs background work: the last hand-over of the run, else its start and the
    colour that was live."""
    since = led.events[0]["ts"] if led.events else 0.0
    live = from_colour
    if switched:
        for e in led.events:
            if e.get("event") == "load_stop":
                break  # the clean-up after the load re-asserts the hand-over; nothing runs under watch after it
            if e.get("event") == "background_jobs_handover" and e.get("started"):
                since, live = e["ts"], e["started"]
    return since, live


def _who_runs(samples: list[dict], since: float, live: str) -> tuple[list[dict], int]:
    """Samples at or after `since` in which a node of another colour than `live` ran cron or consumers."""
    wrong, looked = [], 0
    for s in samples:
        if s["ts"] < since:
            continue
        looked += 1
        for node, st in (s.get("nodes") or {}).items():
            if st.get("colour") != live and (st.get("cron") or st.get("consumers")):
                wrong.append({"ts": s["ts"], "node": node, "colour": st.get("colour"), "cron": st.get("cron"),
                              "consumers": st.get("consumers")})
    return wrong, looked


def _work_done(act: dict, since: float, end: float) -> tuple[str | None, dict]:
    """Why the live colour is not doing the work (None: it is), and the numbers."""
    cron = act.get("cron_runs") or []
    before, after = [t for t in cron if t < since], [t for t in cron if t >= since]
    gaps = [b - a for a, b in itertools.pairwise(before) if b > a]
    interval = statistics.median(gaps) if gaps else None
    done_after = [t for t in act.get("completed") or () if t >= since]
    value = {"cron_runs_before": len(before), "cron_runs_after": len(after),
             "cron_interval_s": round(interval, 1) if interval else None, "messages_completed_after": len(done_after),
             "messages_waiting": act.get("waiting", 0)}
    window = end - since
    if interval and not after and window > 3 * interval:
        return (f"cron ran every {interval:.0f} s before the hand-over and not once in the {window:.0f} s after it: "
                "the live colour does not run Magento's cron"), value
    oldest = act.get("oldest_waiting_ts")
    grace = max(DRAIN_GRACE_S, 2 * interval) if interval else DRAIN_GRACE_S
    value["drain_grace_s"] = round(grace, 1)
    if act.get("waiting") and oldest is not None and oldest < end - grace \
            and not [t for t in done_after if t > oldest]:
        return (f"{act['waiting']} queue messages waiting, the oldest for {end - oldest:.0f} s, and none completed "
                "since: the live colour's consumers do not drain the queue"), value
    return None, value


def background_jobs_one_colour(led: Ledger, activity: dict | None, from_colour: str, to_colour: str,
                               switched: bool, end: float | None = None) -> Verdict:
    samples = [e for e in led.events if e.get("event") == "background_jobs_sample"]
    if activity is None and not samples:
        raise NotJudged("neither the nodes (crontab, consumer processes) nor the shop DB (cron_schedule, "
                        "queue_message_status) could be read: give the target exec/SSH access or a database section")
    since, live = handed_over(led, switched, from_colour)
    if end is None:
        end = (activity or {}).get("read_at") or (led.events[-1]["ts"] if led.events else since)
    where = "from the hand-over on" if switched else "during the run"
    value: dict = {"live": live, "since": since}
    wrong, looked = _who_runs(samples, since, live)
    value["samples"] = looked
    if wrong:
        w = wrong[0]
        what = "Magento's cron" if w["cron"] else f"{w['consumers']} queue consumer(s)"
        return Verdict(NAME, False, value, 1, f"{w['node']} ({w['colour']}) ran {what} {where} while {live} was "
                       f"live ({len(wrong)} such sightings): two colours run every job, old code keeps consuming",
                       wrong[:EVIDENCE_MAX])
    why, work = _work_done(activity, since, end) if activity is not None else (None, {})
    value.update(work)
    if why:
        return Verdict(NAME, False, value, 1, why)
    parts = []
    if looked:
        parts.append(f"only {live} ran cron and consumers {where} ({looked} looks at every node)")
    else:
        parts.append("who ran them not judged: no node could be read")
    if activity is not None:
        parts.append(f"{work['cron_runs_after']} cron runs and {work['messages_completed_after']} messages completed "
                     f"after it, {work['messages_waiting']} waiting")
    else:
        parts.append("the work itself not judged: no read access to the shop DB")
    if not looked and activity is not None and not work["cron_runs_before"] and not work["cron_runs_after"]:
        return no_evidence(NAME, "no node could be read and the shop DB shows no cron run in the run: nothing was "
                           "checked", value, 1)
    return Verdict(NAME, True, value, 1, "; ".join(parts))


@verdict(NAME, family="background_jobs")
def _background_jobs_one_colour(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Only the live colour ran cron and consumers from the hand-over on (the whole run without one), and it kept
    doing the work: cron runs and the queue drains."""
    if ctx.outcome is None and ctx.background_activity is None:
        raise NotJudged("a ledger judged on its own: the shop DB's cron and queue records were not read")
    switched = bool(ctx.outcome is not None and ctx.outcome.switched)
    return background_jobs_one_colour(led, ctx.background_activity, ctx.from_colour, ctx.to_colour, switched)
