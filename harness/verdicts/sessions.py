"""Sessions and everything else one colour hands out that the other must honour: storefront sessions (PHPSESSID
with their form_key), customer bearer tokens, guest cart ids, and the contents of carts.

Each kind is counted per credential (harness/verdicts/history.py): `checked` = honoured before the switch and used again on
the new colour, `lost` = refused after having been honoured (anywhere in the run: a deploy that flushes sessions
loses them before the switch). Carts are judged as histories: a read after a write must reflect it, nothing
acknowledged may vanish, nothing may appear twice. Too few crossings of any kind (bounds.min_crossings) is
INCONCLUSIVE. Live: any refused credential or broken cart read is a breach.
"""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.history import CART_CONTENT_CHECKS, REFUSAL_CHECKS, Switch, cart_histories, continuity
from harness.verdicts.registry import (
    EVIDENCE_MAX,
    Bounds,
    NotJudged,
    Verdict,
    evidence_row,
    inconclusive,
    verdict,
)

KINDS = ("session", "token", "guest_cart", "guest_session", "cart_contents")
BROKEN_CHECKS = set(REFUSAL_CHECKS.values()) | CART_CONTENT_CHECKS


def live_lost_session(rec: dict) -> str | None:
    probe = rec.get("probe")
    if isinstance(probe, dict) and probe.get("ok") is False:
        return f"session lost: {rec.get('user')} expected {probe.get('expected')} observed {probe.get('observed')}"
    for c in rec.get("failed_checks") or ():
        if isinstance(c, dict) and c.get("check") in BROKEN_CHECKS:
            return (f"{c['check']} failed: {rec.get('method')} {rec.get('name')} on {rec.get('served_by') or '?'} "
                    f"({rec.get('release') or '?'}): {c.get('reason')}")
    return None


def lost_probes(led: Ledger) -> tuple[dict, list[dict]]:
    """Storefront probes (section/load) that saw another customer or cart, per user, as before the kinds existed."""
    probes = led.sparse_col("probe")
    obj = probes.is_object()
    rows = probes.rows[obj]
    user = led.strs("user")
    users: dict[str, list[int]] = {user.values[c]: [] for c in dict.fromkeys(user.codes[rows].tolist())}
    ok = probes.sub("ok")
    failed = np.array([v is False for v in ok.values], dtype=bool)[ok.codes[obj]]
    for i in rows[failed].tolist():
        users[led.cols["user"][i]].append(i)
    evidence = []
    for user in sorted(u for u, failed in users.items() if failed)[:EVIDENCE_MAX]:
        i = users[user][0]
        p = led.sparse["probe"][i]
        evidence.append({**evidence_row(led, i), "user": user, "session": led.cols["session"][i],
                         "expected": p.get("expected"), "observed": p.get("observed"),
                         "phase": led.phase_of(led.cols["ts"][i])})
    return users, evidence


def sessions_intact(led: Ledger, ctx: RunContext | None = None, min_crossings: int = 0) -> Verdict:
    ctx = ctx or RunContext()
    name = "sessions_intact"
    switch = Switch(led.event_ts("switch_start"), ctx.old_release, ctx.new_release, led.event_ts("rollback_start"),
                    new_nodes=tuple(ctx.new_nodes), old_nodes=tuple(ctx.old_nodes))
    kinds = {k: c for k, c in continuity(led, switch).items()}
    carts = cart_histories(led, switch)
    probed, probe_evidence = lost_probes(led)
    lost_users = sum(1 for failed in probed.values() if failed)
    counts = {k: c.to_dict() for k, c in kinds.items()}
    counts["cart_contents"] = carts.to_dict()
    value = {"kinds": counts,
             "sessions_checked": counts["session"]["checked"],
             "sessions_lost": sum(c["lost"] for c in counts.values()) + lost_users,
             "sessions_probed": len(probed)}
    lost = {k: c["lost"] for k, c in counts.items() if c["lost"]}
    if lost or lost_users:
        evidence = [{"kind": "cart_contents", **a} for a in carts.anomalies[:EVIDENCE_MAX]]
        for c in kinds.values():
            evidence += c.evidence[:EVIDENCE_MAX]
        evidence += probe_evidence
        parts = [f"{n} {k.replace('_', ' ')}s" if k != "cart_contents" else f"{n} carts with a broken history"
                 for k, n in lost.items()]
        if lost_users:
            parts.append(f"{lost_users} shoppers whose session showed another customer or cart")
        return Verdict(name, False, value, 0, "lost: " + ", ".join(parts) + " (see evidence for each history)",
                       evidence)
    if switch.at is None:
        raise NotJudged("no switch happened: nothing crossed, and nothing was lost")
    # A kind no journey issued (its journey weighted 0) is not exercised: said so, never blamed on the release.
    idle = sorted(k for k, c in counts.items() if k != "cart_contents" and not c.get("issued"))
    value["not_exercised"] = idle
    short = {k: c["checked"] for k, c in counts.items() if c["checked"] < min_crossings and k not in idle}
    if short:
        return inconclusive(name, value, min_crossings,
                            "too few crossed the switch: " + ", ".join(f"{k} {n}" for k, n in short.items()),
                            "min_crossings")
    return Verdict(name, True, value, 0, "crossed the switch intact: " +
                   ", ".join(f"{c['checked']} {k.replace('_', ' ')}" for k, c in counts.items() if k not in idle) +
                   f" ({carts.reads} cart reads judged as histories)" +
                   (f"; not exercised: {', '.join(idle)}" if idle else ""))


def _facts(v: Verdict) -> dict:
    value = v.value or {}
    return {"totals": {"sessions_checked": value.get("sessions_checked", 0),
                       "sessions_lost": value.get("sessions_lost", 0),
                       "crossings": {k: c.get("checked", 0) for k, c in (value.get("kinds") or {}).items()}}}


@verdict("sessions_intact", family="sessions", live=live_lost_session, facts=_facts)
def _sessions_intact(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Sessions, tokens, guest carts and cart contents cross the switch honoured and whole; none lost anywhere."""
    return sessions_intact(led, ctx, bounds.min_crossings)
