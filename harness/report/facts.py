"""What the report shows, computed from the ledger itself (not from verdict values, so new verdicts need no change
here): the run's phases, time series per colour, per-step before/after, session crossings per kind, per node.

Everything returned is plain JSON (report.json keeps it, and `greenlight compare` reads it back)."""
from __future__ import annotations

from collections import defaultdict

from harness.ledger import Ledger

# Shaded spans of a run: (phase, start event, end events). The first end event that follows the start closes it.
PHASES = (
    ("baseline", "load_start", ("deploy_start",)),
    ("deploy", "deploy_start", ("deploy_done", "gate_fail", "error")),
    ("gate", "deploy_done", ("gate_pass", "gate_fail", "error")),
    ("switch", "switch_start", ("converged", "error")),
    ("watch", "converged", ("watch_done", "rollback_start", "error")),
    ("rollback", "rollback_start", ("rollback_converged", "error")),
)
FAULT_ON, FAULT_OFF = "fault_on", "fault_off"
# Events that get a label on the timeline; the others are ticks with a tooltip (and rows in the event list).
MAJOR_EVENTS = ("load_start", "deploy_start", "deploy_done", "gate_pass", "gate_fail", "switch_start", "converged",
                "watch_done", "rollback_start", "rollback_converged", "fault_on", "fault_off", "safety_switch",
                "safety_switch_impossible", "error", "load_stop")
NO_RESPONSE = "no response"
STEP_PERCENTILES = (50, 95, 99)


def is_failure(status, error) -> bool:
    """A request the customer would see fail: no HTTP response, a 5xx, or a failed check recorded by the journey."""
    return status == 0 or (status is not None and status >= 500) or bool(error)


def percentile(sorted_vals: list[float], p: float) -> float | None:
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, round(p / 100 * (len(sorted_vals) - 1))))
    return round(float(sorted_vals[k]), 1)


class ColourOf:
    """Which colour a response came from: the run's own node lists first, then the node's name, then its release."""

    def __init__(self, context: dict):
        self.by_node: dict[str, str] = {}
        self.by_release: dict[str, str] = {}
        for nodes_key, colour_key, rel_key in (("old_nodes", "from_colour", "old_release"),
                                               ("new_nodes", "to_colour", "new_release")):
            colour = context.get(colour_key)
            if colour:
                for n in context.get(nodes_key) or ():
                    self.by_node[n] = colour
                if context.get(rel_key):
                    self.by_release.setdefault(context[rel_key], colour)

    def __call__(self, node: str | None, release: str | None) -> str:
        if not node:
            return NO_RESPONSE
        if node in self.by_node:
            return self.by_node[node]
        for c in ("blue", "green"):
            if c in node:
                return c
        return self.by_release.get(release or "", "unknown")


def time_span(led: Ledger) -> tuple[float, float]:
    ts = led.cols.get("ts") or []
    stamps = [e["ts"] for e in led.events if isinstance(e.get("ts"), (int, float))]
    lo = min([*stamps, min(ts)] if ts else stamps or [0.0])
    hi = max([*stamps, max(ts)] if ts else stamps or [0.0])
    return lo, max(hi, lo + 1.0)


def phases(led: Ledger) -> list[dict]:
    """Spans (relative to nothing: absolute ts) of every phase the events show, faults included."""
    evs = led.events
    _, end_of_run = time_span(led)
    out = []
    for name, start_ev, end_evs in PHASES:
        for i, e in enumerate(evs):
            if e.get("event") != start_ev:
                continue
            end = next((x for x in evs[i + 1:] if x.get("event") in end_evs), None)
            out.append({"phase": name, "start": e["ts"], "end": end["ts"] if end else end_of_run,
                        "closed_by": end.get("event") if end else None})
            break
    open_faults: dict[str, dict] = {}
    for e in evs:
        key = str(e.get("fault") or e.get("name") or e.get("kind") or "fault")
        if e.get("event") == FAULT_ON:
            open_faults[key] = {"phase": "fault", "label": key, "start": e["ts"], "end": end_of_run, "closed_by": None}
            out.append(open_faults[key])
        elif e.get("event") == FAULT_OFF and key in open_faults:
            open_faults.pop(key).update(end=e["ts"], closed_by=FAULT_OFF)
    return out


def pivot(led: Ledger) -> tuple[str, float | None, float | None]:
    """The moment a run is judged around: the switch (until a rollback), or, with no switch, the deploy."""
    switch = led.event_ts("switch_start")
    if switch is not None:
        return "switch", switch, led.event_ts("rollback_start")
    return "deploy", led.event_ts("deploy_start"), None


def series(led: Ledger, colour_of: ColourOf, max_buckets: int = 150) -> dict:
    """Per time bucket and colour: requests/s, failed requests, latency percentiles."""
    t0, t1 = time_span(led)
    dur = t1 - t0
    step = 1.0
    while dur / step > max_buckets:
        step = {1.0: 2.0, 2.0: 5.0, 5.0: 10.0, 10.0: 15.0, 15.0: 30.0}.get(step, step * 2)
    n = int(dur // step) + 1
    c = led.cols
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    fails: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    lat: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in range(n)])
    for i, t in enumerate(c.get("ts") or ()):
        b = min(n - 1, int((t - t0) // step))
        col = colour_of(c["served_by"][i], c["release"][i])
        counts[col][b] += 1
        if is_failure(c["status"][i], c["error"][i]):
            fails[col][b] += 1
        if c["status"][i] and c["ms"][i] is not None:
            lat[col][b].append(c["ms"][i])
    out_lat: dict[str, dict[str, list]] = {}
    for col, buckets in lat.items():
        per = {f"p{p}": [] for p in STEP_PERCENTILES}
        for vals in buckets:
            vals.sort()
            for p in STEP_PERCENTILES:
                per[f"p{p}"].append(percentile(vals, p))
        out_lat[col] = per
    return {"t0": t0, "t1": t1, "bucket_s": step, "buckets": n,
            "rps": {col: [round(v / step, 2) for v in vals] for col, vals in counts.items()},
            "failed": {col: vals for col, vals in fails.items()},
            "latency_ms": out_lat}


def _stats(acc: dict) -> dict:
    ms, n, failed = sorted(acc["ms"]), acc["n"], acc["failed"]
    return {"n": n, "failed": failed, "failure_rate": round(failed / n, 4) if n else None,
            **{f"p{p}": percentile(ms, p) for p in STEP_PERCENTILES}}


def steps(led: Ledger) -> dict:
    """Each journey step before and after the pivot (failure rate, percentiles), worst change first."""
    kind, start, end = pivot(led)
    c = led.cols
    acc: dict[tuple, dict] = defaultdict(lambda: {ph: {"n": 0, "failed": 0, "ms": []} for ph in ("before", "after")})
    for i, t in enumerate(c.get("ts") or ()):
        if start is None or t < start:
            ph = "before"
        elif end is None or t < end:
            ph = "after"
        else:
            continue  # after a rollback: the old release again, neither side of the comparison
        a = acc[(c["journey"][i] or "?", c["step"][i] or c["name"][i] or "?")][ph]
        a["n"] += 1
        a["failed"] += is_failure(c["status"][i], c["error"][i])
        if c["status"][i] and c["ms"][i] is not None:
            a["ms"].append(c["ms"][i])
    rows = []
    for (journey, step), ph in acc.items():
        rows.append({"journey": journey, "step": step, "before": _stats(ph["before"]), "after": _stats(ph["after"])})
    rows.sort(key=lambda r: (-((r["after"]["failure_rate"] or 0) - (r["before"]["failure_rate"] or 0)),
                             r["journey"], r["step"]))
    return {"pivot": kind, "pivot_ts": start, "until_ts": end, "rows": rows}


def crossings(led: Ledger, colour_of: ColourOf) -> dict:
    """Per kind of session (the journey that holds it: storefront cookie, customer token, guest cart, browser):
    how many were used before and after the pivot, how many were served by both colours, how many of those that
    crossed then failed (a failed request or a failed session probe after the pivot)."""
    kind, start, end = pivot(led)
    c = led.cols
    probes = led.sparse.get("probe") or {}
    sess: dict[tuple, dict] = {}
    for i, t in enumerate(c.get("ts") or ()):
        sid = c["session"][i]
        if not sid:
            continue
        s = sess.setdefault((c["journey"][i] or "?", sid),
                            {"before": False, "after": False, "colours": set(), "failed_after": False})
        s["colours"].add(colour_of(c["served_by"][i], c["release"][i]))
        after = start is not None and t >= start and (end is None or t < end)
        if start is None or t < start:
            s["before"] = True
        elif after:
            s["after"] = True
            probe = probes.get(i)
            if is_failure(c["status"][i], c["error"][i]) or (isinstance(probe, dict) and probe.get("ok") is False):
                s["failed_after"] = True
    per: dict[str, dict] = defaultdict(lambda: {"sessions": 0, "crossed": 0, "both_colours": 0, "failed_after": 0})
    for (journey, _), s in sess.items():
        row = per[journey]
        row["sessions"] += 1
        crossed = s["before"] and s["after"]
        row["crossed"] += crossed
        real = s["colours"] - {NO_RESPONSE}
        row["both_colours"] += crossed and len(real) > 1
        row["failed_after"] += crossed and s["failed_after"]
    return {"pivot": kind, "kinds": {k: per[k] for k in sorted(per)}}


def nodes(led: Ledger, colour_of: ColourOf) -> list[dict]:
    t0, _ = time_span(led)
    c = led.cols
    acc: dict[str, dict] = {}
    for i, t in enumerate(c.get("ts") or ()):
        node = c["served_by"][i] or NO_RESPONSE
        a = acc.setdefault(node, {"node": node, "colour": colour_of(c["served_by"][i], c["release"][i]),
                                  "releases": set(), "n": 0, "failed": 0, "http_5xx": 0, "no_response": 0,
                                  "ms": [], "first": t, "last": t})
        a["n"] += 1
        st = c["status"][i]
        a["failed"] += is_failure(st, c["error"][i])
        a["http_5xx"] += st is not None and st >= 500
        a["no_response"] += st == 0
        if c["release"][i]:
            a["releases"].add(c["release"][i])
        if st and c["ms"][i] is not None:
            a["ms"].append(c["ms"][i])
        a["first"], a["last"] = min(a["first"], t), max(a["last"], t)
    out = []
    for a in sorted(acc.values(), key=lambda a: (a["node"] == NO_RESPONSE, a["colour"], a["node"])):
        ms = sorted(a.pop("ms"))
        out.append({**a, "releases": sorted(a["releases"]), "first_s": round(a.pop("first") - t0, 1),
                    "last_s": round(a.pop("last") - t0, 1), **{f"p{p}": percentile(ms, p) for p in STEP_PERCENTILES}})
    return out


def all_facts(led: Ledger, context: dict) -> dict:
    colour_of = ColourOf(context)
    return {"phases": phases(led), "series": series(led, colour_of), "steps": steps(led),
            "crossings": crossings(led, colour_of), "nodes": nodes(led, colour_of),
            "convergence": convergence(led, context)}


def convergence(led: Ledger, context: dict) -> dict:
    """Seconds from the switch to the engine's observed convergence, and to the old release's last answer
    (the mixed window: both releases answering)."""
    sw = led.event("switch_start")
    if sw is None:
        return {}
    start = sw["ts"]
    end = led.event_ts("rollback_start")
    conv = led.event("converged")
    old, new = context.get("old_release"), context.get("new_release")
    c = led.cols
    last_old = first_new = None
    for i, t in enumerate(c.get("ts") or ()):
        if t < start or (end is not None and t >= end):
            continue
        if c["release"][i] == old and (last_old is None or t > last_old):
            last_old = t
        if c["release"][i] == new and (first_new is None or t < first_new):
            first_new = t
    out = {"converged_s": round(conv.get("at", conv["ts"]) - start, 3) if conv else None,
           "last_old_answer_s": round(last_old - start, 3) if last_old is not None else 0.0,
           "mixed_window_s": round(max(0.0, last_old - first_new), 3) if last_old and first_new else 0.0}
    rb, rbc = led.event("rollback_start"), led.event("rollback_converged")
    if rb and rbc:
        out["rollback_converged_s"] = round(rbc.get("at", rbc["ts"]) - rb["ts"], 3)
    return out
