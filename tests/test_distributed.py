"""Distributed load on Locust's own master/worker mode, for real: a master and worker processes against the fake
store on loopback. Every worker's ledger reaches the master, is reconciled per worker against Locust's counts, and
a worker killed mid-run is named in the ledger_complete verdict."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from harness.ledger import records as ledger_mod
from harness.load.traffic import LoadRun, count_requests, free_port, read_workers, wait_until_requests
from harness.verdicts import ledger_complete, load_generator_headroom

FAST = {"GREENLIGHT_WAIT_MIN_S": "0.05", "GREENLIGHT_WAIT_MAX_S": "0.2", "GREENLIGHT_SESSION_ADD_SHARE": "0.3"}


def distributed(store, tmp_path, workers=3, users=9) -> LoadRun:
    return LoadRun(store.url, tmp_path / "ledger", users=users, spawn_rate=users, run_time_s=120, run_id="dist",
                   workers=workers, extra_env=FAST, stop_timeout_s=3).start()


def wait_for(condition, run: LoadRun, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = read_workers(run.ledger_dir) or {"workers": []}
        if condition(doc):
            return doc
        time.sleep(0.3)
    raise AssertionError(f"workers.json never met the condition: {read_workers(run.ledger_dir)}")


def judge(run: LoadRun):
    led = ledger_mod.load(run.ledger_dir)
    doc = read_workers(run.ledger_dir)
    return led, doc, ledger_complete(led, run.locust_total(), doc)


def test_a_worker_killed_mid_run_is_named_and_the_others_reconcile_exactly(store, tmp_path):
    run = distributed(store, tmp_path)
    try:
        wait_until_requests(run.ledger_dir, 150, timeout=60, run=run)
        # Kill it once Locust has counted some of its requests (workers report every 3 s).
        wait_for(lambda doc: len(doc["workers"]) == 3 and all(w["locust_requests"] for w in doc["workers"]), run)
        victim = run.worker_procs[1]
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.time()
        # Locust marks it missing after its heartbeats stop (~3 s) and moves its users to the others.
        wait_for(lambda doc: any(w["lost"] for w in doc["workers"]), run)
        before = count_requests(run.ledger_dir)
        time.sleep(2)
        assert count_requests(run.ledger_dir) > before, "the load stopped with the lost worker"
    finally:
        assert run.stop() == 0, run.log_path.read_text()[-3000:]
    led, doc, verdict = judge(run)
    lost = [w for w in doc["workers"] if w["lost"]]
    assert [w["name"] for w in lost] == [f"{os.uname().nodename}-{victim.pid}"]
    assert lost[0]["lost_at"] <= killed_at + 0.1
    # The lost worker's ledger matches Locust's count up to its last report; the survivors' match exactly.
    assert lost[0]["ledger_at_last_report"] == lost[0]["locust_requests"] > 0
    survivors = [w for w in doc["workers"] if not w["lost"]]
    assert len(survivors) == 2 and all(w["drained"] for w in survivors)
    for w in survivors:
        assert w["ledger_records"] == w["ledger_at_last_report"] == w["locust_requests"] == led.shard_rows[w["shard"]]
    assert sum(w["locust_requests"] for w in doc["workers"]) == run.locust_total()
    # The verdict fails and names the worker (and when), not just a mismatched total.
    assert not verdict.passed
    assert f"worker {lost[0]['name']} lost at" in verdict.detail
    assert {e["worker"] for e in verdict.evidence} == {w["name"] for w in doc["workers"]}


def test_a_clean_distributed_run_reconciles_per_worker_and_samples_cpu(store, tmp_path):
    run = distributed(store, tmp_path, workers=2, users=6)
    try:
        wait_until_requests(run.ledger_dir, 100, timeout=60, run=run)
        time.sleep(2)
    finally:
        assert run.stop() == 0, run.log_path.read_text()[-3000:]
    led, doc, verdict = judge(run)
    assert doc["mode"] == "distributed" and len(doc["workers"]) == 2
    assert verdict.passed, verdict.detail
    assert "reconciled per process" in verdict.detail
    assert len(led) == run.locust_total() == sum(w["locust_requests"] for w in doc["workers"])
    assert all(len(w["cpu"]) >= 2 for w in doc["workers"]) and doc["master"]["cpu"]
    headroom = load_generator_headroom(doc)
    assert headroom.passed and headroom.value < 90
    # Per-worker shards, written by the master under each worker's host-pid.
    assert sorted(led.shard_rows) == sorted(w["shard"] for w in doc["workers"])


def test_a_worker_refuses_a_target_outside_the_allow_list(tmp_path):
    """The allow-list is checked in every Locust process, not only by the harness before it starts Locust.
    `.invalid` never resolves (RFC 6761): even a broken guard could send nothing anywhere."""
    port = str(free_port())
    env = dict(os.environ, GREENLIGHT_LEDGER_DIR=str(tmp_path), GREENLIGHT_ALLOW_HOSTS="")
    locust = [sys.executable, "-m", "locust", "-f", "locustfiles/checkout.py", "--loglevel", "WARNING"]
    worker = subprocess.Popen(locust + ["--worker", "--master-port", port], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    master = subprocess.run(locust + ["--master", "--headless", "--expect-workers", "1", "--master-bind-port", port,
                                      "-H", "http://greenlight-lb.invalid", "-u", "2", "-r", "2", "-t", "8s"],
                            env=env, capture_output=True, text=True, timeout=60)
    try:
        out, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert "refusing load target 'greenlight-lb.invalid'" in out, out[-2000:]  # the worker's own check
    assert master.returncode != 0
    assert count_requests(tmp_path) == 0


def test_a_worker_joining_with_greenlight_worker_ships_its_ledger_to_the_master(store, tmp_path):
    """`greenlight worker --master HOST:PORT` (what another machine runs) joins the master, takes its options and
    writes nothing locally: its records reach the master's ledger and reconcile like a local worker's."""
    port = free_port()
    run = LoadRun(store.url, tmp_path / "ledger", users=6, spawn_rate=6, run_time_s=120, run_id="remote",
                  workers=1, remote_workers=1, master_port=port, extra_env=FAST, stop_timeout_s=3).start()
    elsewhere = tmp_path / "elsewhere"
    joined = subprocess.Popen([sys.executable, "-m", "harness.cli", "worker", "--master", f"127.0.0.1:{port}"],
                              env={**os.environ, **FAST, "GREENLIGHT_LEDGER_DIR": str(elsewhere)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda doc: len(doc["workers"]) == 2 and all(w["locust_requests"] for w in doc["workers"]), run,
                 timeout=60)
    finally:
        assert run.stop() == 0, run.log_path.read_text()[-3000:]
        try:
            out, _ = joined.communicate(timeout=30)
        finally:
            if joined.poll() is None:
                os.killpg(joined.pid, signal.SIGKILL)
    assert "joining the master at 127.0.0.1" in out
    _led, doc, verdict = judge(run)
    assert verdict.passed, verdict.detail
    assert len(doc["workers"]) == 2 and not elsewhere.exists()
    # Both workers used the master's run id (the joined one has none of its own): every account the load created
    # belongs to this run, so its orders are reconciled with this run's.
    assert store.customers and all(email.startswith("remote-") for email in store.customers), list(store.customers)


def test_master_addresses_parse_and_refuse_nonsense():
    from harness.load.traffic import parse_master

    assert parse_master("10.0.0.5:6000") == ("10.0.0.5", 6000)
    assert parse_master("greenlight-master")[0] == "greenlight-master"
    for bad in ("host:port", ":5557", ""):
        with pytest.raises(ValueError):
            parse_master(bad)
