"""A small, deterministic certification run written to disk the way a real one is (ledger shards, events.jsonl),
judged by the real verdicts and rendered by the real report — for report, JUnit, compare and browser tests."""
from __future__ import annotations

import random
from pathlib import Path

import orjson

from harness.config.bounds import Bounds
from harness.ledger.records import load
from harness.report import build_report, write_files
from harness.verdicts import evaluate
from harness.verdicts.context import Outcome, RunContext

T0 = 1_800_000_000.0
STEPS = {"guest": ["create cart", "add item", "totals", "place order"],
         "customer": ["my account", "add item", "my cart", "place order"],
         "session": ["product page", "add to cart", "session check"],
         "browse": ["home page", "product page", "static asset"]}


# What the deploy learnt from each release's nodes (same files, new version number).
STATIC = {"version": "7", "assets": {"frontend/Greenlight/luma/en_US/css/styles.css": "5" * 64}}


def _asset(release: str) -> dict:
    return {"url": "/static/version7/frontend/Greenlight/luma/en_US/css/styles.css", "sha256": "5" * 64}


def _cron(kind: str) -> dict:
    """Background work as a stock shop DB records it (no node, no colour): cron every 3 s, one order export
    completed a second after each order, nothing waiting."""
    cron = [T0 + 1 + 3 * k for k in range(20)]
    return {"cron_runs": cron, "completed": [T0 + 2 + 5 * k for k in range(11)], "waiting": 0,
            "oldest_waiting_ts": None, "read_at": T0 + 61}


def _live_colour(kind: str, t: float) -> str:
    green = kind != "refused" and t >= T0 + 23.2 and not (kind == "rolled_back" and t >= T0 + 24.1)
    return "green" if green else "blue"


def _samples(kind: str) -> list[tuple]:
    """Who ran cron and consumers, looked at every 2 s: the live colour's nodes only."""
    out = []
    for k in range(30):
        t = 0.5 + 2 * k
        live = _live_colour(kind, T0 + t)
        nodes = {f"{c}-{i}": {"colour": c, "cron": c == live, "consumers": int(c == live)}
                 for c in ("blue", "green") for i in (1, 2)}
        out.append((t, "background_jobs_sample", {"nodes": nodes}))
    return out


def _events(kind: str, fault: bool) -> list[dict]:
    ev = [(0, "load_start", {"users": 12, "run_id": "glsynth"}),
          (12, "deploy_start", {"release": "r2", "colour": "green", "nodes": ["green-1", "green-2"]}),
          (14, "deploy_shipped", {"release": "r2"}), (15, "rehearsal", {"tables": 8, "live_smoke_ok": True, "node": "blue-1"}), (15.3, "migrated", {}),
          (19.01, "deploy_done", {"release": "r2", "colour": "green"}),
          *((19.5, "static_digests", {"release": r, "colour": c, **STATIC}) for r, c in (("r1", "blue"), ("r2", "green")))]
    if kind == "refused":
        ev += [(21, "gate_fail", {"reasons": ["smoke_checkout on green-1: HTTP 500"]})]
    else:
        ev += [(21, "gate_pass", {"checks": 9}), (21.01, "switch_start", {"to": "green", "release": "r2"}),
               (21.1, "switch_done", {"to": "green"}), (23, "converged", {"at": 21.6, "release": "r2"}),
               (23.1, "background_jobs_handover", {"stopped": "blue", "started": "green"})]
        if kind == "rolled_back":
            ev += [(24, "watch_done", {"breach": "HTTP 500: POST place order on green-1"}),
                   (24.01, "rollback_start", {"to": "blue", "release": "r1"}), (24.1, "rollback_done", {"to": "blue"}),
                   (24.1, "background_jobs_handover", {"stopped": "green", "started": "blue"}),
                   (26, "rollback_converged", {"at": 24.5, "release": "r1"})]
        else:
            ev += [(33, "watch_done", {"window_s": 10, "breach": ""})]
    if fault:
        ev += [(36, "fault_on", {"fault": "redis-latency"}), (44, "fault_off", {"fault": "redis-latency"})]
    ev += [(60, "load_stop", {})] + _samples(kind)
    out = []
    for t, name, fields in ev:
        rec = {"ts": T0 + t, "event": name, **fields}
        if "at" in rec:
            rec["at"] += T0
        out.append(rec)
    return sorted(out, key=lambda e: e["ts"])


def _records(kind: str, seed: int) -> tuple[list[dict], list[int]]:
    rnd = random.Random(seed)
    switch, back = (None, None) if kind == "refused" else (T0 + 21.01, T0 + 24.01 if kind == "rolled_back" else None)
    recs, orders, order_id = [], [], 1000
    for u in range(12):
        journey = ("guest", "customer", "session", "browse")[u % 4]
        t = T0 + 0.5 + rnd.random()
        sess, k = f"{journey}-s{u}-0", 0
        while t < T0 + 59.5:
            green = switch is not None and t >= switch and (back is None or t < back)
            colour = "green" if green else "blue"
            step = STEPS[journey][k % len(STEPS[journey])]
            rec = {"ts": t, "user": f"u{u}", "journey": journey, "step": step, "method": "GET", "name": f"/{step}",
                   "status": 200, "ms": round(rnd.lognormvariate(3.2, 0.5) * (1.6 if green else 1.0), 2),
                   "bytes": 512, "served_by": f"{colour}-{1 + u % 2}", "release": "r2" if green else "r1",
                   "session": sess, "error": None}
            if step == "place order":
                rec["method"] = "POST"
                if green and kind == "rolled_back":
                    rec.update(status=500, error="place order: HTTP 500")
                else:
                    order_id += 1
                    rec["order_id"] = order_id
                    orders.append(order_id)
                if journey == "guest":
                    sess = f"{journey}-s{u}-{k}"  # a new guest cart after each order
            cred = {"guest": "guest_cart", "customer": "token", "session": "session"}.get(journey)
            if cred:  # the credential the request presented (a fingerprint, as the journeys write it)
                rec["creds"] = {cred: f"{cred}:{sess}"}
            if step == "session check":
                rec["probe"] = {"ok": True, "expected": {"customer": f"u{u}"}, "observed": {"customer": f"u{u}"}}
            if step == "static asset":
                rec["page_release"] = rec["release"]
                rec["asset"] = _asset(rec["release"])
            recs.append(rec)
            k += 1
            t += 0.25 + rnd.random() * 0.5
    return recs, orders


def make_run(run_dir: Path, kind: str = "passed", fault: bool = False, seed: int = 7, extra_verdicts=()) -> dict:
    """kind: passed | rolled_back | refused. Returns the report dict (report.json/html are written too)."""
    ledger_dir = Path(run_dir) / "ledger"
    ledger_dir.mkdir(parents=True, exist_ok=True)
    recs, orders = _records(kind, seed)
    half = len(recs) // 2  # two Locust worker processes, with their own account of the run (workers.json)
    workers = {"started": T0, "workers": []}
    for name, part in (("requests-w-1.jsonl", recs[:half]), ("requests-w-2.jsonl", recs[half:])):
        (ledger_dir / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in part))
        workers["workers"].append({"name": name[9:-6], "shard": name, "ledger_records": len(part),
                                   "ledger_at_last_report": len(part), "locust_requests": len(part),
                                   "cpu": [[T0 + k, 35.0 + k % 7] for k in range(60)]})
    (ledger_dir / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in _events(kind, fault)))
    led = load(ledger_dir)
    gate = [{"check": "health", "node": "green-1", "ok": kind != "refused",
             "detail": "ok" if kind != "refused" else "HTTP 500"}]
    out = Outcome(run_id="glsynth", ledger_dir=ledger_dir, from_colour="blue", to_colour="green", from_release="r1",
                  to_release="r2", switched=kind != "refused", gate=gate, locust_total=len(recs),
                  refused="smoke_checkout on green-1: HTTP 500" if kind == "refused" else "",
                  rolled_back="HTTP 500: POST place order on green-1" if kind == "rolled_back" else "",
                  breach="HTTP 500: POST place order on green-1" if kind == "rolled_back" else "",
                  final_colour="green" if kind == "passed" else "blue")
    context = RunContext(run_id="glsynth", old_release="r1", new_release="r2", from_colour="blue", to_colour="green",
                         old_nodes=["blue-1", "blue-2"], new_nodes=["green-1", "green-2"], db_order_ids=orders,
                         locust_total=len(recs), outcome=out, target={"kind": "compose", "project": "synthetic"},
                         workers=workers, background_activity=_cron(kind))
    # Twelve users cannot carry 30 crossings of each kind: the minimum is lowered explicitly, as a user would.
    bounds = Bounds(min_crossings=0)
    verdicts = evaluate(led, bounds, context) + list(extra_verdicts)
    rep = build_report(verdicts, led, context, bounds)
    write_files(run_dir, rep)
    return rep
