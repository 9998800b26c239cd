"""Per-worker reconciliation and CPU headroom over workers.json: each check fails on the fault it names."""
from __future__ import annotations

import copy

from harness.ledger.workers import headroom, reconcile


def worker(name, n, cpu=(10.0,) * 20, **kw):
    return {"id": name, "name": name, "shard": f"requests-{name}.jsonl", "state": "gone", "lost": False,
            "lost_at": None, "drained": True, "refused": None, "ledger_records": n, "ledger_at_last_report": n,
            "locust_requests": n, "locust_failures": 0, "cpu": [[1000.0 + i, c] for i, c in enumerate(cpu)], **kw}


DOC = {"mode": "distributed", "started": 1000.0, "master": {"host": "m", "pid": 1, "cpu": [[1000.0, 2.0]]},
       "workers": [worker("h-1", 100), worker("h-2", 80)]}
SHARDS = {"requests-h-1.jsonl": 100, "requests-h-2.jsonl": 80}


def test_a_clean_run_reconciles():
    rec = reconcile(DOC, SHARDS, 180)
    assert rec["ok"] and not rec["problems"] and len(rec["workers"]) == 2


def test_a_record_lost_between_worker_and_disk_fails():
    rec = reconcile(DOC, {**SHARDS, "requests-h-2.jsonl": 79}, 180)
    assert rec["ok"] is False and "h-2: 79 records in requests-h-2.jsonl, the master received 80" in rec["problems"][0]


def test_a_request_locust_counted_but_the_ledger_missed_fails():
    doc = copy.deepcopy(DOC)
    doc["workers"][0]["locust_requests"] = 101
    rec = reconcile(doc, SHARDS, 181)
    assert rec["ok"] is False and "h-1: 100 records up to its last report, Locust counted 101" in rec["problems"][0]


def test_a_lost_worker_is_named_with_when():
    doc = copy.deepcopy(DOC)
    doc["workers"][1].update(lost=True, lost_at=1012.5, drained=False, ledger_records=90, ledger_at_last_report=80)
    rec = reconcile(doc, {**SHARDS, "requests-h-2.jsonl": 90}, 180)
    assert rec["ok"] is False and rec["lost"] == ["h-2"]
    assert "worker h-2 lost at" in rec["problems"][0] and "12.5 s into the load" in rec["problems"][0]
    assert "10 later records" in rec["problems"][0]


def test_totals_that_disagree_and_stray_shards_fail():
    assert "add up to 180, its total says 200" in reconcile(DOC, SHARDS, 200)["problems"][0]
    stray = reconcile(DOC, {**SHARDS, "requests-x-9.jsonl": 5}, 180)
    assert stray["ok"] is False and "from a process Locust does not know" in stray["problems"][0]


def test_no_document_is_unknown_not_a_pass():
    assert reconcile(None, SHARDS, 180)["ok"] is None
    assert headroom(None)["ok"] is None


def test_a_saturated_worker_is_named_and_a_busy_second_is_not():
    assert headroom(DOC)["ok"]
    start_up = copy.deepcopy(DOC)
    start_up["workers"][0]["cpu"][0][1] = 99.0  # one busy second (imports, spawning)
    assert headroom(start_up)["ok"]
    hot = copy.deepcopy(DOC)
    for c in hot["workers"][1]["cpu"][:6]:
        c[1] = 97.0
    h = headroom(hot)
    assert h["ok"] is False and h["saturated"] == ["h-2"]
