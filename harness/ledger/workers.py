"""The load generator's own account of a run (`workers.json`, written by locustfiles/gl_distributed.py):
per-worker reconciliation of the ledger against Locust's counts, lost workers, and CPU headroom.

Pure functions of that document and the ledger's per-shard record counts; the verdicts wrap them."""
from __future__ import annotations

import time

CPU_SATURATED = 90.0      # % of one core: Locust's own warning threshold
SATURATED_SHARE = 0.10    # a worker saturated in more than this share of its samples makes the run unreliable
MIN_SATURATED_SAMPLES = 3  # ...and for at least this many samples (one busy second is start-up, not saturation)


def _when(ts: float | None, started: float | None) -> str:
    if ts is None:
        return "?"
    clock = time.strftime("%H:%M:%S", time.gmtime(ts))
    return f"{clock} UTC ({ts - started:.1f} s into the load)" if started else f"{clock} UTC"


def reconcile(doc: dict | None, shard_rows: dict[str, int], locust_total: int | None) -> dict:
    """Per worker: the records on disk equal what the master received; what the master received up to the
    worker's last report equals Locust's count for it; nothing after it unless the worker was lost.
    Returns {ok, problems[], lost[], workers[]} (workers: one row of evidence each)."""
    problems, lost, rows = [], [], []
    if not doc or not doc.get("workers"):
        return {"ok": None, "problems": ["no workers.json: Locust's per-process counts are unknown"], "lost": [],
                "workers": []}
    started = doc.get("started")
    known = set()
    for w in doc["workers"]:
        name = w.get("name") or w.get("id")
        shard = w.get("shard")
        known.add(shard)
        on_disk = shard_rows.get(shard, 0)
        row = {"worker": name, "shard": shard, "ledger": on_disk, "received": w.get("ledger_records", 0),
               "at_last_report": w.get("ledger_at_last_report", 0), "locust": w.get("locust_requests", 0),
               "lost": bool(w.get("lost")), "state": w.get("state")}
        rows.append(row)
        if w.get("refused"):
            problems.append(f"worker {name} refused the load target: {w['refused']}")
        if on_disk != row["received"]:
            problems.append(f"worker {name}: {on_disk} records in {shard}, the master received {row['received']}")
        if row["at_last_report"] != row["locust"]:
            problems.append(f"worker {name}: {row['at_last_report']} records up to its last report, "
                            f"Locust counted {row['locust']}")
        after = row["received"] - row["at_last_report"]
        if w.get("lost"):
            lost.append(name)
            problems.append(f"worker {name} lost at {_when(w.get('lost_at'), started)}: {row['at_last_report']} "
                            f"records reconciled with Locust up to its last report, {after} later records Locust "
                            f"never counted, requests in flight when it died are unknown")
        elif after:
            problems.append(f"worker {name}: {after} records after its last report (it never reported them)")
    strays = sorted(s for s in shard_rows if s not in known and shard_rows[s])
    for s in strays:
        problems.append(f"{s}: {shard_rows[s]} records from a process Locust does not know")
    locust_sum = sum(r["locust"] for r in rows)
    if locust_total is not None and locust_sum != locust_total:
        problems.append(f"Locust's per-worker counts add up to {locust_sum}, its total says {locust_total}")
    return {"ok": not problems, "problems": problems, "lost": lost, "workers": rows}


def headroom(doc: dict | None, threshold: float = CPU_SATURATED) -> dict:
    """CPU of every Locust process. A worker above `threshold` % of a core for more than SATURATED_SHARE of the
    run measures itself: its latencies include its own queueing and it offers less load than asked."""
    if not doc or not doc.get("workers"):
        return {"ok": None, "saturated": [], "processes": []}
    procs = []
    for w in doc["workers"]:
        procs.append((w.get("name") or w.get("id"), [c[1] for c in w.get("cpu") or ()]))
    master = doc.get("master")
    if master:
        procs.append((f"master {master.get('host')}-{master.get('pid')}", [c[1] for c in master.get("cpu") or ()]))
    rows, saturated = [], []
    for name, cpu in procs:
        hot = sum(1 for c in cpu if c >= threshold)
        share = hot / len(cpu) if cpu else 0.0
        row = {"process": name, "samples": len(cpu), "max": max(cpu, default=0.0),
               "mean": round(sum(cpu) / len(cpu), 1) if cpu else 0.0, "saturated_share": round(share, 3)}
        rows.append(row)
        if hot >= MIN_SATURATED_SAMPLES and share > SATURATED_SHARE:
            saturated.append(name)
    return {"ok": not saturated, "saturated": saturated, "processes": rows}
