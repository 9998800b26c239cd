"""A SIGKILLed harness leaves no load behind: the parent-death signal ends Locust at once, and the lease (which every
Locust process checks on its own) ends it even where the parent-death signal does not apply."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.load import lease
from harness.load.traffic import count_requests

ROOT = Path(__file__).resolve().parents[1]

HARNESS = textwrap.dedent("""
    import sys, threading, time
    from harness.load.traffic import LoadRun, wait_until_requests
    url, ledger, mode, workers = sys.argv[1:5]
    run = LoadRun(url, ledger, users=4, spawn_rate=4, run_time_s=600, run_id="kill", workers=int(workers),
                  extra_env={"GREENLIGHT_WAIT_MIN_S": "0.05", "GREENLIGHT_WAIT_MAX_S": "0.2"})
    if mode == "thread":   # started from a helper thread: no parent-death signal, only the lease
        t = threading.Thread(target=run.start); t.start(); t.join()
    else:
        run.start()
    wait_until_requests(ledger, 20, timeout=60, run=run)
    print("loading", flush=True)
    time.sleep(600)
""")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "Z"  # a zombie is gone
    except OSError:
        return True


# workers = 0: one Locust process; 2: Locust's master + two worker processes (distributed mode).
@pytest.mark.parametrize("mode,workers,within_s", [("main", 0, 8), ("thread", 0, 25), ("thread", 2, 25)])
def test_sigkilled_harness_leaves_no_load(mode, workers, within_s, store, tmp_path, monkeypatch):
    monkeypatch.setenv("GREENLIGHT_PROJECT", f"gl-test-{os.getpid()}")  # only this test's processes are listed
    ledger = tmp_path / "ledger"
    h = subprocess.Popen([sys.executable, "-c", HARNESS, store.url, str(ledger), mode, str(workers)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert h.stdout.readline().strip() == "loading", h.stderr.read()
        procs = lease.load_processes()
        assert len(procs) == 1 + workers and all(p["harness_pid"] == h.pid and p["harness_alive"] for p in procs), procs
        h.send_signal(signal.SIGKILL)
        h.wait(5)
        t0 = time.monotonic()
        while time.monotonic() - t0 < within_s and not all(_gone(p["pid"]) for p in procs):
            time.sleep(0.2)
        left = [p for p in procs if not _gone(p["pid"])]
        assert not left, f"load still running {within_s} s after the harness died: {left}"
        # …and the store gets no more traffic.
        n = count_requests(ledger)
        time.sleep(1.5)
        assert count_requests(ledger) == n
        assert lease.load_processes() == []
    finally:
        if h.poll() is None:
            h.kill()
        lease.end_orphans(grace_s=2)


def test_status_lists_orphaned_load_and_heal_ends_it(store, tmp_path, monkeypatch):
    """A load process whose harness is gone (here: a lease naming a dead process) is listed and ended."""
    monkeypatch.setenv("GREENLIGHT_PROJECT", f"gl-test-{os.getpid()}")
    dead = subprocess.Popen(["true"])
    dead.wait()
    env = {**os.environ, "GREENLIGHT_HARNESS_PID": str(dead.pid), "GREENLIGHT_HARNESS_START": "1",
           "GREENLIGHT_LEDGER_DIR": str(tmp_path)}
    # A stand-in "locust" that ignores the lease (an older locustfile): only heal can end it.
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "locust"], env=env)
    try:
        for _ in range(50):
            if lease.load_processes():
                break
            time.sleep(0.05)
        listed = lease.load_processes()
        assert [(x["pid"], x["harness_alive"]) for x in listed] == [(p.pid, False)]
        ended = lease.end_orphans(grace_s=5)
        assert [x["pid"] for x in ended] == [p.pid]
        assert p.wait(5) is not None
    finally:
        if p.poll() is None:
            p.kill()
