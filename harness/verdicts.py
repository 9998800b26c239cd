"""Verdicts: pure functions of a loaded ledger (plus the DB's order ids, passed in) and bounds.

Each returns a Verdict with the value it measured, the bound it was held to, a one-line detail, and evidence —
the first offending requests — so a failed verdict explains itself."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from harness.ledger import Ledger

EVIDENCE_MAX = 10


@dataclass
class Verdict:
    name: str
    passed: bool
    value: object = None
    bound: object = None
    detail: str = ""
    evidence: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Bounds:
    converged_s: float = 30.0        # switch start → last response from the old release
    p99_ratio: float = 3.0           # p99 during/after the switch over p99 before it
    p99_floor_ms: float = 250.0      # below this a p99 is never a regression (ratios of small numbers are noise)
    min_phase_samples: int = 50      # fewer requests in a phase: its percentiles are not judged


def _evidence(led: Ledger, i: int) -> dict:
    c = led.cols
    return {"ts": c["ts"][i], "node": c["served_by"][i], "release": c["release"][i], "status": c["status"][i],
            "journey": c["journey"][i], "step": c["step"][i], "method": c["method"][i], "name": c["name"][i],
            "error": (c["error"][i] or "")[:200] if c["error"][i] else ""}


def zero_5xx(led: Ledger) -> Verdict:
    idx = [i for i, s in enumerate(led.cols["status"]) if s is not None and s >= 500]
    ev = [_evidence(led, i) for i in idx[:EVIDENCE_MAX]]
    names = sorted({f"{led.cols['method'][i]} {led.cols['name'][i]}" for i in idx})[:5]
    return Verdict("zero_5xx", not idx, len(idx), 0,
                   "no 5xx in %d requests" % len(led) if not idx else
                   f"{len(idx)} responses with 5xx: {', '.join(names)}", ev)


def zero_transport_errors(led: Ledger) -> Verdict:
    idx = [i for i, s in enumerate(led.cols["status"]) if s == 0]
    ev = [_evidence(led, i) for i in idx[:EVIDENCE_MAX]]
    return Verdict("zero_transport_errors", not idx, len(idx), 0,
                   "no dropped connections" if not idx else
                   f"{len(idx)} requests got no HTTP response (reset, refused or timed out)", ev)


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
        evidence.append({**_evidence(led, i), "user": u, "session": led.cols["session"][i],
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


def _last_ts(led: Ledger, release: str, start: float, end: float | None) -> float | None:
    ts, rel = led.cols["ts"], led.cols["release"]
    best = None
    for i in range(len(ts)):
        if rel[i] == release and ts[i] >= start and (end is None or ts[i] < end):
            if best is None or ts[i] > best:
                best = ts[i]
    return best


def _first_ts(led: Ledger, release: str, start: float, end: float | None) -> float | None:
    ts, rel = led.cols["ts"], led.cols["release"]
    best = None
    for i in range(len(ts)):
        if rel[i] == release and ts[i] >= start and (end is None or ts[i] < end):
            if best is None or ts[i] < best:
                best = ts[i]
    return best


def converged(led: Ledger, old_release: str, new_release: str, bound_s: float,
              start_event: str = "switch_start", end_event: str | None = "rollback_start",
              name: str = "converged") -> Verdict:
    """Seconds from the switch to the last response of the old release; the mixed window is the span in which
    both releases answered. Judged by the identity header (X-Release)."""
    start = led.event_ts(start_event)
    if start is None:
        return Verdict(name, False, None, bound_s, f"no {start_event} event: no switch happened")
    if not any(led.cols["release"]):
        return Verdict(name, False, None, bound_s,
                       "responses carry no release header: convergence cannot be observed (see README: response identity)")
    end = led.event_ts(end_event) if end_event else None
    last_old = _last_ts(led, old_release, start, end)
    first_new = _first_ts(led, new_release, start, end)
    if first_new is None:
        return Verdict(name, False, None, bound_s, f"{new_release} never answered after the switch")
    # The old release still answering in the last second of the window: not converged at all.
    window_end = end if end is not None else max(led.cols["ts"])
    value = round(max(0.0, (last_old or start) - start), 3)
    mixed = round(max(0.0, (last_old or first_new) - first_new), 3)
    ev = {"switch_start": start, "first_new": first_new, "last_old": last_old, "mixed_window_s": mixed}
    if last_old is not None and window_end - last_old < 1.0 and value > bound_s / 2:
        return Verdict(name, False, value, bound_s, f"{old_release} was still answering at the end", [ev])
    return Verdict(name, value <= bound_s, value, bound_s,
                   f"old release {old_release} last answered {value:.2f} s after the switch; mixed window {mixed:.2f} s",
                   [ev])


def orders_reconciled(led: Ledger, db_order_ids: list[int] | None) -> Verdict:
    """Orders in the DB for this run equal the successful place-order responses: none lost, none doubled."""
    if db_order_ids is None:
        return Verdict("orders_reconciled", False, None, 0, "no database access: orders could not be reconciled")
    ok_ids: list[int] = []
    for i, oid in led.sparse["order_id"].items():
        if led.cols["status"][i] == 200:
            ok_ids.append(int(oid))
    seen, dups = set(), set()
    for o in ok_ids:
        (dups if o in seen else seen).add(o)
    db = set(db_order_ids)
    missing = sorted(seen - db)
    unexpected = sorted(db - seen)
    value = {"orders_placed": len(seen), "orders_in_db": len(db), "missing": len(missing),
             "unexpected": len(unexpected), "duplicated": len(dups)}
    ev = [{"missing": missing[:EVIDENCE_MAX], "unexpected": unexpected[:EVIDENCE_MAX], "duplicated": sorted(dups)[:EVIDENCE_MAX]}]
    if not seen and not db:
        return Verdict("orders_reconciled", False, value, 0, "no order was placed: nothing was reconciled")
    passed = not missing and not unexpected and not dups
    return Verdict("orders_reconciled", passed, value, 0,
                   f"{len(seen)} orders placed, {len(db)} in the DB" if passed else
                   f"{len(missing)} confirmed orders missing from the DB, {len(unexpected)} orders in the DB without a "
                   f"successful response, {len(dups)} order ids confirmed twice", ev if not passed else [])


def _pct(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))
    return round(sorted_vals[k], 2)


def latency_by_phase(led: Ledger, ratio_bound: float, min_samples: int = 50, floor_ms: float = 250.0) -> Verdict:
    if len(led) == 0:
        return Verdict("latency_by_phase", False, None, ratio_bound, "the ledger is empty: no traffic was recorded")
    phases: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    start, end = led.window()
    ts, ms, st = led.cols["ts"], led.cols["ms"], led.cols["status"]
    for i in range(len(ts)):
        if st[i] == 0 or ms[i] is None:
            continue  # transport errors are judged elsewhere; their 'latency' is a timeout
        if start is None or ts[i] < start:
            phases["before"].append(ms[i])
        elif end is None or ts[i] <= end:
            phases["during"].append(ms[i])
        else:
            phases["after"].append(ms[i])
    stats = {}
    for ph, vals in phases.items():
        vals.sort()
        stats[ph] = {"n": len(vals), "p50": _pct(vals, 50), "p95": _pct(vals, 95), "p99": _pct(vals, 99)}
    base = stats["before"]["p99"]
    judged = [ph for ph in ("during", "after") if stats[ph]["n"] >= min_samples]
    if stats["before"]["n"] < min_samples or not judged or base <= 0:
        return Verdict("latency_by_phase", True, stats, ratio_bound,
                       "too few requests in the phases to compare percentiles; reported only")
    worst = max(judged, key=lambda ph: stats[ph]["p99"])
    ratio = round(stats[worst]["p99"] / base, 2)
    stats["p99_ratio"] = ratio
    passed = ratio <= ratio_bound or stats[worst]["p99"] <= floor_ms
    return Verdict("latency_by_phase", passed, stats, ratio_bound,
                   f"p99 {stats[worst]['p99']} ms {worst} the switch vs {base} ms before (x{ratio}, bound x{ratio_bound}"
                   f" above a {floor_ms:.0f} ms floor)")


def static_assets_consistent(led: Ledger) -> Verdict:
    """Every static asset a page referenced answered 200 with the content of that page's release."""
    checked, bad = 0, []
    for i, page_rel in led.sparse["page_release"].items():
        checked += 1
        asset_rel = led.sparse["asset_release"].get(i)
        if led.cols["status"][i] != 200 or (asset_rel is not None and page_rel and asset_rel != page_rel):
            bad.append(i)
    if not checked:
        return Verdict("static_assets_consistent", False, 0, 0, "no static assets were fetched: nothing was checked")
    ev = [{**_evidence(led, i), "page_release": led.sparse["page_release"][i],
           "asset_release": led.sparse["asset_release"].get(i)} for i in bad[:EVIDENCE_MAX]]
    return Verdict("static_assets_consistent", not bad, len(bad), 0,
                   f"{checked} assets consistent with their pages" if not bad else
                   f"{len(bad)} of {checked} assets failed or carried another release than their page", ev)


def identity_headers(led: Ledger) -> Verdict:
    missing = sum(1 for i in range(len(led)) if not led.cols["served_by"][i] or not led.cols["release"][i])
    ok = missing == 0 and len(led) > 0
    return Verdict("identity_headers_present", ok, missing, 0,
                   "every response said who served it" if ok else
                   f"{missing} of {len(led)} responses lacked X-Served-By/X-Release: identity-based verdicts are limited")


def ledger_complete(led: Ledger, locust_total: int | None) -> Verdict:
    if locust_total is None:
        return Verdict("ledger_complete", False, len(led), None, "Locust's own total is unknown (no locust.json)")
    ok = len(led) == locust_total and led.skipped_lines == 0
    return Verdict("ledger_complete", ok, len(led), locust_total,
                   f"{len(led)} ledger records, Locust counted {locust_total}, {led.skipped_lines} unreadable lines")


def evaluate(led: Ledger, bounds: Bounds, context: dict) -> list[Verdict]:
    """All verdicts that apply to this run. `context` carries old/new release, DB order ids, Locust's total."""
    old, new = context.get("old_release", ""), context.get("new_release", "")
    out = [
        zero_5xx(led),
        zero_transport_errors(led),
        sessions_intact(led),
        converged(led, old, new, bounds.converged_s),
        orders_reconciled(led, context.get("db_order_ids")),
        latency_by_phase(led, bounds.p99_ratio, bounds.min_phase_samples, bounds.p99_floor_ms),
        static_assets_consistent(led),
        identity_headers(led),
        ledger_complete(led, context.get("locust_total")),
    ]
    if led.event_ts("rollback_start") is not None:
        out.append(converged(led, new, old, bounds.converged_s, start_event="rollback_start", end_event=None,
                             name="rollback_converged"))
    return out
