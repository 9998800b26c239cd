"""Cron and queue consumers: exactly one colour runs them, the live one, from the hand-over on — and it keeps doing
the work (harness/checks/background_jobs.py gathers the evidence a stock store has).

Who runs them is seen on the nodes (crontab and consumer processes, sampled through the run: the
`background_jobs_sample` events); that the work is done is seen in the shop DB (cron_schedule runs, queue messages
completed and waiting), which never says by whom. Each half is judged where its evidence exists and not judged,
with why, where it does not."""
from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, NotJudged, Verdict, no_evidence, verdict

NAME = "background_jobs_one_colour"
# A message still waiting this long, with no consumer having completed one since, means the live colour's
# consumers are not draining the queue: a running consumer takes a message within a second or two, and cron spawns
# a missing one at its next run (so the grace is at least two cron intervals: two minutes on a stock store).
DRAIN_GRACE_S = 8.0


@dataclass
class Period:
    """A span in which one colour was meant to run the background work: from a hand-over to it until the next
    hand-over or rollback (the run's start and the colour live then, before the first)."""
    colour: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def periods(led: Ledger, switched: bool, from_colour: str, end: float) -> list[Period]:
    first = led.events[0]["ts"] if led.events else 0.0
    out = [Period(from_colour, first, end)]
    if not switched:
        return out
    for e in led.events:
        name = e.get("event")
        if name == "load_stop":
            break  # the clean-up after the load re-asserts the hand-over; nothing runs under watch after it
        if name == "rollback_start":
            out[-1].end = min(out[-1].end, e["ts"])
        if name == "background_jobs_handover" and e.get("started"):
            out[-1].end = min(out[-1].end, e["ts"])
            out.append(Period(e["started"], e["ts"], end))
    return out


# A look at the nodes takes a moment, and so does a hand-over: a sample this close to one may catch it half done.
HANDOVER_SLACK_S = 3.0


def _who_runs(samples: list[dict], spans: list[Period]) -> tuple[list[dict], int]:
    """Samples in which a node of another colour than the one handed the work ran cron or consumers."""
    wrong, looked = [], 0
    turns = [p.start for p in spans[1:]]
    for s in samples:
        if any(abs(s["ts"] - t) <= HANDOVER_SLACK_S for t in turns):
            continue
        live = next(p.colour for p in reversed(spans) if p.start <= s["ts"] or p is spans[0])
        looked += 1
        for node, st in (s.get("nodes") or {}).items():
            if st.get("colour") != live and (st.get("cron") or st.get("consumers")):
                wrong.append({"ts": s["ts"], "node": node, "colour": st.get("colour"), "cron": st.get("cron"),
                              "consumers": st.get("consumers"), "live": live})
    return wrong, looked


def _work_done(act: dict, spans: list[Period], end: float) -> tuple[str | None, dict]:
    """Why a colour handed the work did not do it (None: every one did), and the numbers. The first span (before
    any hand-over) is the baseline: how often cron ran and how fast messages were completed."""
    cron, done = act.get("cron_runs") or [], act.get("completed") or []
    base = spans[0]
    base_cron = [t for t in cron if base.start <= t < base.end]
    gaps = [b - a for a, b in itertools.pairwise(base_cron) if b > a]
    interval = statistics.median(gaps) if gaps else None
    base_done = [t for t in done if base.start <= t < base.end]
    rate = len(base_done) / base.seconds if base.seconds > 0 else 0.0
    grace = max(DRAIN_GRACE_S, 2 * interval) if interval else DRAIN_GRACE_S
    last = spans[-1]
    value = {"cron_runs_before": len(base_cron), "cron_runs_after": len([t for t in cron if t >= last.start]),
             "cron_interval_s": round(interval, 1) if interval else None,
             "messages_completed_before": len(base_done),
             "messages_completed_after": len([t for t in done if t >= last.start]),
             "messages_waiting": act.get("waiting", 0), "drain_grace_s": round(grace, 1),
             "periods": [{"colour": p.colour, "seconds": round(p.seconds, 1),
                          "cron_runs": len([t for t in cron if p.start <= t < p.end]),
                          "messages_completed": len([t for t in done if p.start <= t < p.end])} for p in spans]}
    for p, row in zip(spans[1:], value["periods"][1:], strict=True):
        if interval and not row["cron_runs"] and p.seconds > 3 * interval:
            return (f"cron ran every {interval:.0f} s before the hand-over and not once in the {p.seconds:.0f} s "
                    f"{p.colour} was handed it: the live colour does not run Magento's cron"), value
        expected = rate * (p.seconds - grace)
        if expected >= 3 and not row["messages_completed"]:
            return (f"{p.colour}'s consumers completed no queue message in the {p.seconds:.0f} s it was handed them "
                    f"(before, {rate * 60:.0f} a minute were completed): they do not drain the queue"), value
    oldest = act.get("oldest_waiting_ts")
    if act.get("waiting") and oldest is not None and oldest < end - grace \
            and not [t for t in done if t > oldest]:
        return (f"{act['waiting']} queue messages waiting, the oldest for {end - oldest:.0f} s, and none completed "
                "since: the live colour's consumers do not drain the queue"), value
    return None, value


def background_jobs_one_colour(led: Ledger, activity: dict | None, from_colour: str, to_colour: str,
                               switched: bool, end: float | None = None) -> Verdict:
    samples = [e for e in led.events if e.get("event") == "background_jobs_sample"]
    if activity is None and not samples:
        raise NotJudged("neither the nodes (crontab, consumer processes) nor the shop DB (cron_schedule, "
                        "queue_message_status) could be read: give the target exec/SSH access or a database section")
    if end is None:
        stop = next((e["ts"] for e in led.events if e.get("event") == "load_stop"), None)
        end = stop or (activity or {}).get("read_at") or (led.events[-1]["ts"] if led.events else 0.0)
    spans = periods(led, switched, from_colour, end)
    live = spans[-1].colour
    where = "from the hand-over on" if len(spans) > 1 else "during the run"
    value: dict = {"live": live, "since": spans[-1].start}
    wrong, looked = _who_runs(samples, spans)
    value["samples"] = looked
    if wrong:
        w = wrong[0]
        what = "Magento's cron" if w["cron"] else f"{w['consumers']} queue consumer(s)"
        return Verdict(NAME, False, value, 1, f"{w['node']} ({w['colour']}) ran {what} while {w['live']} was "
                       f"handed the work ({len(wrong)} such sightings): two colours run every job, old code keeps "
                       "consuming", wrong[:EVIDENCE_MAX])
    why, work = _work_done(activity, spans, (activity or {}).get("read_at") or end) if activity is not None \
        else (None, {})
    value.update(work)
    if why:
        return Verdict(NAME, False, value, 1, why)
    parts = []
    if looked:
        parts.append(f"only the colour handed the work ran cron and consumers ({looked} looks at every node)")
    else:
        parts.append("who ran them not judged: no node could be read")
    if activity is not None:
        parts.append(f"{work['cron_runs_after']} cron runs and {work['messages_completed_after']} messages completed "
                     f"{where}, {work['messages_waiting']} waiting")
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
