"""Sessions: every logged-in customer keeps their customer and cart across the switch."""
from __future__ import annotations

from harness.context import RunContext
from harness.ledger import Ledger
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, Verdict, evidence_row, verdict


def live_lost_session(rec: dict) -> str | None:
    probe = rec.get("probe")
    if isinstance(probe, dict) and probe.get("ok") is False:
        return f"session lost: {rec.get('user')} expected {probe.get('expected')} observed {probe.get('observed')}"
    return None


def sessions_intact(led: Ledger) -> Verdict:
    """Every storefront session probe (section/load) saw its own customer and cart. A session 'crossed' the
    switch when it was probed before and after switch_start; a failed probe anywhere in the run is a lost session
    (a deploy that flushes sessions breaks them before the switch)."""
    switch = led.event_ts("switch_start")
    probes = sorted(led.sparse["probe"].items())
    users: dict[str, dict] = {}
    for i, probe in probes:
        if not isinstance(probe, dict):
            continue
        u = users.setdefault(led.cols["user"][i], {"before": False, "after": False, "failed": []})
        ts = led.cols["ts"][i]
        if switch is None or ts < switch:
            u["before"] = True
        else:
            u["after"] = True
        if probe.get("ok") is False:
            u["failed"].append(i)
    crossed = [u for u, s in users.items() if s["before"] and s["after"]]
    lost = sorted(u for u, s in users.items() if s["failed"])
    evidence = []
    for u in lost[:EVIDENCE_MAX]:
        i = users[u]["failed"][0]
        p = led.sparse["probe"][i]
        evidence.append({**evidence_row(led, i), "user": u, "session": led.cols["session"][i],
                         "expected": p.get("expected"), "observed": p.get("observed"),
                         "phase": led.phase_of(led.cols["ts"][i])})
    value = {"sessions_checked": len(crossed), "sessions_lost": len(lost), "sessions_probed": len(users)}
    if lost:
        before = sum(1 for u in lost if led.phase_of(led.cols["ts"][users[u]["failed"][0]]) == "before")
        return Verdict("sessions_intact", False, value, 0,
                       f"{len(lost)} of {len(users)} sessions lost their customer or cart"
                       + (f" ({before} already before the switch)" if before else ""), evidence)
    if not users:
        return Verdict("sessions_intact", False, value, 0, "no session probes in the ledger: nothing was checked")
    if switch is not None and not crossed:
        return Verdict("sessions_intact", False, value, 0, "no session probes crossed the switch: nothing was checked")
    return Verdict("sessions_intact", True, value, 0,
                   f"{len(crossed)} sessions crossed the switch intact ({len(users)} probed)")


def _facts(v: Verdict) -> dict:
    value = v.value or {}
    return {"totals": {"sessions_checked": value.get("sessions_checked", 0),
                       "sessions_lost": value.get("sessions_lost", 0)}}


@verdict("sessions_intact", family="sessions", live=live_lost_session, facts=_facts)
def _sessions_intact(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every session probe saw its own customer and cart, and some sessions crossed the switch."""
    return sessions_intact(led)
