"""What the report shows, computed from the ledger itself (not from verdict values, so new verdicts need no change
here): the run's phases, time series per colour, per-step before/after, session crossings per kind, per node.

Whole-column numpy over the columnar ledger (a million records in well under a second): rows are grouped by
integer keys (bincount for counts, one lexsort for percentiles), never visited one by one in Python.
Everything returned is plain JSON (report.json keeps it, and `greenlight compare` reads it back)."""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger

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
NO_NODE = "no node"   # a response no node signed (the LB's own error, no identity header) or none at all
STEP_PERCENTILES = (50, 95, 99)


class Columns:
    """The ledger's columns this module needs, as numpy arrays, computed once."""

    def __init__(self, led: Ledger):
        self.n = len(led)
        self.colour: tuple[np.ndarray, list[str]] | None = None  # per row, set by ColourOf.codes
        if not self.n:
            return
        self.ts = led.np("ts")
        status = led.np("status")
        self.status = status
        err = led.strs("error")
        falsy = np.array([not v for v in err.values], dtype=bool)  # null and "" are not errors
        self.http_5xx = status >= 500                   # a missing status is INT_NULL: never >= 500, never 0
        self.failed = (status == 0) | self.http_5xx | ~falsy[err.codes]   # schema.customer_error, per column
        self.no_response = status == 0
        ms = led.np("ms")
        self.timed = (status > 0) & ~np.isnan(ms)       # transport errors' "latency" is a timeout, not a latency
        self.ms = ms
        self.node = led.strs("served_by")
        self.release = led.strs("release")
        self.journey = led.strs("journey")
        self.step = led.strs("step")
        self.name = led.strs("name")
        self.session = led.strs("session")
        self.probe_failed = np.zeros(self.n, dtype=bool)
        probes = led.sparse_col("probe")  # over arrays: a night's ledger holds probes by the hundred thousand
        ok = probes.sub("ok")
        false = np.array([v is False for v in ok.values], dtype=bool)
        self.probe_failed[probes.rows[probes.is_object() & false[ok.codes]]] = True
        self._by_latency: np.ndarray | None = None

    def by_latency(self) -> np.ndarray:
        """Row numbers in latency order (computed once)."""
        if self._by_latency is None:
            self._by_latency = np.argsort(self.ms)
        return self._by_latency


def _percentiles(cols: Columns, rows: np.ndarray, keys: np.ndarray, nkeys: int) -> dict[int, np.ndarray]:
    """Per key 0..nkeys-1 (`keys`: one per ledger row): the p-th latency percentile of the `rows` (a mask) with
    that key (nearest rank, as the verdicts compute it); NaN where a key has none.

    The rows are sorted by latency once per report; each grouping is then one stable sort of small integers
    (a radix sort), many times faster than sorting on (key, latency) every time."""
    out = {p: np.full(nkeys, np.nan) for p in STEP_PERCENTILES}
    order = cols.by_latency()
    order = order[(rows & cols.timed)[order]]
    if not len(order):
        return out
    small = keys[order].astype(np.uint16 if nkeys <= 1 << 16 else np.int64)
    order = order[np.argsort(small, kind="stable")]
    k, v = keys[order], cols.ms[order]
    start = np.concatenate(([0], np.flatnonzero(k[1:] != k[:-1]) + 1))  # k is sorted: groups are runs
    count = np.diff(np.append(start, len(k)))
    uniq = k[start]
    for p in STEP_PERCENTILES:
        out[p][uniq] = v[start + np.rint(p / 100 * (count - 1)).astype(np.int64)]
    return out


def _compact(keys: np.ndarray, space: int) -> tuple[np.ndarray, int]:
    """Keys from a small space renumbered 0..g-1 (g = how many occur), without sorting."""
    present = np.bincount(keys, minlength=space) > 0
    return (np.cumsum(present) - 1)[keys], int(present.sum())


def _num(x) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 1)


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
            return NO_NODE
        if node in self.by_node:
            return self.by_node[node]
        for c in ("blue", "green"):
            if c in str(node):
                return c
        return self.by_release.get(release or "", "unknown")

    def codes(self, cols: Columns) -> tuple[np.ndarray, list[str]]:
        """A colour index per row, and the colour names: decided once per (node, release) pair that occurs (a
        handful), then looked up for every row."""
        if cols.colour is None:
            nrel = len(cols.release.values)
            pair = cols.node.codes.astype(np.int64) * nrel + cols.release.codes
            names: list[str] = []
            lut = np.zeros(len(cols.node.values) * nrel, dtype=np.int64)
            for p in np.nonzero(np.bincount(pair, minlength=len(lut)))[0].tolist():
                colour = self(cols.node.values[p // nrel], cols.release.values[p % nrel])
                if colour not in names:
                    names.append(colour)
                lut[p] = names.index(colour)
            cols.colour = (lut[pair], names)
        return cols.colour


def time_span(led: Ledger, cols: Columns | None = None) -> tuple[float, float]:
    stamps = [e["ts"] for e in led.events if isinstance(e.get("ts"), (int, float))]
    if cols is not None and cols.n:
        stamps += [float(cols.ts.min()), float(cols.ts.max())]
    elif len(led):
        ts = led.np("ts")
        stamps += [float(ts.min()), float(ts.max())]
    lo, hi = (min(stamps), max(stamps)) if stamps else (0.0, 0.0)
    return lo, max(hi, lo + 1.0)


def phases(led: Ledger, end_of_run: float | None = None) -> list[dict]:
    """Spans (absolute ts) of every phase the events show, faults included."""
    evs = led.events
    if end_of_run is None:
        end_of_run = time_span(led)[1]
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


def _sides(led: Ledger, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Row masks: before the pivot, after it (until a rollback: after that the old release answers again)."""
    _, start, end = pivot(led)
    if start is None:
        return np.ones(cols.n, dtype=bool), np.zeros(cols.n, dtype=bool)
    before = cols.ts < start
    after = ~before if end is None else (~before & (cols.ts < end))
    return before, after


def _bucket_step(dur: float, max_buckets: int) -> float:
    step = 1.0
    while dur / step > max_buckets:
        step = {1.0: 2.0, 2.0: 5.0, 5.0: 10.0, 10.0: 15.0, 15.0: 30.0}.get(step, step * 2)
    return step


def series(led: Ledger, cols: Columns, colour_of: ColourOf, max_buckets: int = 150) -> dict:
    """Per time bucket and colour: requests/s, failed requests, latency percentiles."""
    t0, t1 = time_span(led, cols)
    step = _bucket_step(t1 - t0, max_buckets)
    n = int((t1 - t0) // step) + 1
    out = {"t0": t0, "t1": t1, "bucket_s": step, "buckets": n, "rps": {}, "failed": {}, "latency_ms": {}}
    if not cols.n:
        return out
    bucket = np.minimum(((cols.ts - t0) // step).astype(np.int64), n - 1)
    colour, names = colour_of.codes(cols)
    key = colour * n + bucket
    counts = np.bincount(key, minlength=len(names) * n).reshape(len(names), n)
    fails = np.bincount(key[cols.failed], minlength=len(names) * n).reshape(len(names), n)
    pct = _percentiles(cols, np.ones(cols.n, dtype=bool), key, len(names) * n)
    for c, name in enumerate(names):
        out["rps"][name] = np.round(counts[c] / step, 2).tolist()
        out["failed"][name] = fails[c].tolist()
        if name != NO_NODE:
            out["latency_ms"][name] = {f"p{p}": [_num(x) for x in pct[p][c * n:(c + 1) * n].tolist()]
                                       for p in STEP_PERCENTILES}
    return out


def _stats(n: int, failed: int, pct: dict, k: int) -> dict:
    return {"n": n, "failed": failed, "failure_rate": round(failed / n, 4) if n else None,
            **{f"p{p}": _num(pct[p][k]) for p in STEP_PERCENTILES}}


def steps(led: Ledger, cols: Columns) -> dict:
    """Each journey step before and after the pivot (failure rate, percentiles), worst change first."""
    kind, start, end = pivot(led)
    out = {"pivot": kind, "pivot_ts": start, "until_ts": end, "rows": []}
    if not cols.n:
        return out
    # A record without a step is named by its route.
    label = np.where(cols.step.codes != 0, cols.step.codes.astype(np.int64),
                     len(cols.step.values) + cols.name.codes.astype(np.int64))
    pair = cols.journey.codes.astype(np.int64) * (len(cols.step.values) + len(cols.name.values) + 1) + label
    group, g = _compact(pair, int(pair.max()) + 1)
    before, after = _sides(led, cols)
    # One grouping for both sides: key = group * 2 + side (0 before, 1 after); rows on neither side are left out.
    key = group * 2 + after
    both = before | after
    n = np.bincount(key[both], minlength=2 * g).reshape(g, 2)
    failed = np.bincount(key[both & cols.failed], minlength=2 * g).reshape(g, 2)
    pct = _percentiles(cols, both, key, 2 * g)
    side = {s: (n[:, j], failed[:, j], {p: v[j::2] for p, v in pct.items()}) for j, s in enumerate(("before", "after"))}
    first = np.full(g, -1, dtype=np.int64)
    first[group[::-1]] = np.arange(cols.n)[::-1]  # a row of each group, to name it
    for k in range(g):
        i = int(first[k])
        step = cols.step[i] if cols.step.codes[i] else cols.name[i]
        out["rows"].append({"journey": cols.journey[i] or "?", "step": step or "?",
                            **{s: _stats(int(side[s][0][k]), int(side[s][1][k]), side[s][2], k) for s in side}})
    out["rows"].sort(key=lambda r: (-((r["after"]["failure_rate"] or 0) - (r["before"]["failure_rate"] or 0)),
                                    r["journey"], r["step"]))
    return out


def crossings(led: Ledger, cols: Columns, colour_of: ColourOf) -> dict:
    """Per kind of session (the journey that holds it: storefront cookie, customer token, guest cart, browser):
    how many were used before and after the pivot, how many were served by both colours, how many of those that
    crossed then failed (a failed request or a failed session probe after the pivot)."""
    kind, _, _ = pivot(led)
    out = {"pivot": kind, "kinds": {}}
    if not cols.n:
        return out
    has = cols.session.codes != 0
    pair = (cols.journey.codes.astype(np.int64) * (len(cols.session.values) + 1) + cols.session.codes)[has]
    uniq, sess = np.unique(pair, return_inverse=True)
    sess = sess.ravel()
    s = len(uniq)
    before, after = (m[has] for m in _sides(led, cols))
    used_before = np.bincount(sess[before], minlength=s) > 0
    used_after = np.bincount(sess[after], minlength=s) > 0
    bad_after = np.bincount(sess[after & (cols.failed | cols.probe_failed)[has]], minlength=s) > 0
    colour, names = colour_of.codes(cols)
    colour = colour[has]
    served = np.zeros(s, dtype=np.int64)
    for c, name in enumerate(names):
        if name != NO_NODE:
            served += np.bincount(sess[colour == c], minlength=s) > 0
    crossed = used_before & used_after
    journey = (uniq // (len(cols.session.values) + 1)).astype(np.int64)
    for j in np.unique(journey).tolist():
        m = journey == j
        out["kinds"][cols.journey.values[j] or "?"] = {
            "sessions": int(m.sum()), "crossed": int((m & crossed).sum()),
            "both_colours": int((m & crossed & (served > 1)).sum()),
            "failed_after": int((m & crossed & bad_after).sum())}
    out["kinds"] = dict(sorted(out["kinds"].items()))
    return out


def nodes(led: Ledger, cols: Columns, colour_of: ColourOf) -> list[dict]:
    if not cols.n:
        return []
    t0, _ = time_span(led, cols)
    code = cols.node.codes.astype(np.int64)
    k = len(cols.node.values)
    n = np.bincount(code, minlength=k)
    failed = np.bincount(code[cols.failed], minlength=k)
    http_5xx = np.bincount(code[cols.http_5xx], minlength=k)
    no_resp = np.bincount(code[cols.no_response], minlength=k)
    pct = _percentiles(cols, np.ones(cols.n, dtype=bool), code, k)
    nrel = len(cols.release.values)
    rel_seen = np.bincount(code * nrel + cols.release.codes, minlength=k * nrel).reshape(k, nrel) > 0
    colour, names = colour_of.codes(cols)
    out = []
    for c in np.nonzero(n)[0].tolist():  # a handful of nodes: one pass over the rows each
        rows = np.nonzero(code == c)[0]
        ts = cols.ts[rows]
        rels = sorted(str(cols.release.values[r]) for r in np.nonzero(rel_seen[c])[0].tolist() if r)
        out.append({"node": cols.node.values[c] or NO_NODE, "colour": names[int(colour[rows[0]])], "releases": rels,
                    "n": int(n[c]), "failed": int(failed[c]), "http_5xx": int(http_5xx[c]),
                    "no_response": int(no_resp[c]), "first_s": round(float(ts.min()) - t0, 1),
                    "last_s": round(float(ts.max()) - t0, 1), **{f"p{p}": _num(pct[p][c]) for p in STEP_PERCENTILES}})
    out.sort(key=lambda r: (r["node"] == NO_NODE, r["colour"], r["node"]))
    return out


def convergence(led: Ledger, cols: Columns, context: dict) -> dict:
    """Seconds from the switch to the engine's observed convergence, and to the old release's last answer
    (the mixed window: both releases answering)."""
    sw = led.event("switch_start")
    if sw is None:
        return {}
    start, end = sw["ts"], led.event_ts("rollback_start")
    conv = led.event("converged")
    last_old = first_new = None
    if cols.n:
        window = (cols.ts >= start) & (cols.ts < end if end is not None else True)
        old = window & cols.release.eq(context.get("old_release"))
        new = window & cols.release.eq(context.get("new_release"))
        last_old = float(cols.ts[old].max()) if old.any() else None
        first_new = float(cols.ts[new].min()) if new.any() else None
    out = {"converged_s": round(conv.get("at", conv["ts"]) - start, 3) if conv else None,
           "last_old_answer_s": round(last_old - start, 3) if last_old is not None else 0.0,
           "mixed_window_s": round(max(0.0, last_old - first_new), 3) if last_old and first_new else 0.0}
    rb, rbc = led.event("rollback_start"), led.event("rollback_converged")
    if rb and rbc:
        out["rollback_converged_s"] = round(rbc.get("at", rbc["ts"]) - rb["ts"], 3)
    return out


def totals(cols: Columns) -> dict:
    if not cols.n:
        return {"requests": 0, "failed": 0, "errors_5xx": 0, "transport_errors": 0}
    return {"requests": cols.n, "failed": int(cols.failed.sum()), "errors_5xx": int(cols.http_5xx.sum()),
            "transport_errors": int(cols.no_response.sum())}


def all_facts(led: Ledger, context: dict) -> dict:
    cols = Columns(led)
    colour_of = ColourOf(context)
    span = time_span(led, cols)
    return {"phases": phases(led, span[1]), "series": series(led, cols, colour_of), "steps": steps(led, cols),
            "crossings": crossings(led, cols, colour_of), "nodes": nodes(led, cols, colour_of),
            "convergence": convergence(led, cols, context), "totals": totals(cols)}
