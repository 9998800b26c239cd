"""Runs the checkout traffic as separate Locust processes and reads back what they recorded.

Locust monkey-patches the process it runs in (gevent), so it never runs inside the harness: `LoadRun` starts
`locust --headless` as a subprocess (optionally forking workers with --processes), the locustfile writes the
ledger shards `requests-<host>-<pid>.jsonl`, and Locust's own total comes from its --json-file output.
This module must not import locust.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from harness import lease
from harness.ledger_schema import shards

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCUSTFILE = ROOT / "locustfiles" / "checkout.py"
STATS_PREFIX = "locust"  # -> <ledger_dir>/locust.json (locust appends .json)
LOG_NAME = "locust.log"
# Compose container names of this project (docker-compose.yml): greenlight-lb, greenlight-blue-1, ...
CONTAINER_HOST_RE = re.compile(r"^greenlight-[a-z0-9]+(-[0-9]+)?$")


class HostRefused(ValueError):
    """Load may only go to loopback or the project's own containers (or an explicit allow-list)."""


def check_host(host: str, allow_hosts: tuple[str, ...] = ()) -> str:
    """Return the host URL when load may be sent there; raise HostRefused with one clear line otherwise."""
    parts = urlsplit(host)
    name = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not name:
        raise HostRefused(f"refusing load target {host!r}: expected http(s)://<host>[:port]")
    if name == "localhost" or CONTAINER_HOST_RE.match(name) or name in allow_hosts:
        return host
    try:
        if ipaddress.ip_address(name).is_loopback:
            return host
    except ValueError:
        pass
    raise HostRefused(f"refusing load target {name!r}: only loopback (127.0.0.1, ::1, localhost) or the "
                      f"project's containers (greenlight-*) may receive load")


def ledger_shards(ledger_dir: str | Path) -> list[Path]:
    return shards(ledger_dir)


def count_requests(ledger_dir: str | Path) -> int:
    """Complete lines across all shards (a line being written right now is not counted)."""
    total = 0
    for shard in ledger_shards(ledger_dir):
        with open(shard, "rb") as fh:
            while chunk := fh.read(1 << 20):
                total += chunk.count(b"\n")
    return total


def wait_until_requests(ledger_dir: str | Path, n: int, timeout: float, poll_s: float = 0.2,
                        run: LoadRun | None = None) -> int:
    """Block until the ledger holds at least n records (warm traffic); return the count.
    Raises TimeoutError on timeout, RuntimeError if `run` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        count = count_requests(ledger_dir)
        if count >= n:
            return count
        if run is not None and not run.is_running:
            raise RuntimeError(f"locust exited (code {run.returncode}) with {count} of {n} requests; "
                               f"see {run.log_path}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"only {count} of {n} requests in {ledger_dir} after {timeout:.0f} s")
        time.sleep(poll_s)


class LoadRun:
    """One headless Locust run writing its ledger into ledger_dir."""

    def __init__(self, host: str, ledger_dir: str | Path, users: int, spawn_rate: float, run_time_s: float,
                 run_id: str, processes: int = 1, extra_env: dict | None = None,
                 locustfile: str | Path = DEFAULT_LOCUSTFILE, user_classes: tuple[str, ...] = (),
                 stop_timeout_s: float = 10, allow_hosts: tuple[str, ...] = ()):
        self.host = check_host(host, allow_hosts)
        self.ledger_dir = Path(ledger_dir)
        self.users, self.spawn_rate, self.run_time_s = users, spawn_rate, run_time_s
        self.run_id, self.processes = run_id, processes
        self.extra_env = dict(extra_env or {})
        self.locustfile = Path(locustfile)
        self.user_classes = tuple(user_classes)
        self.stop_timeout_s = stop_timeout_s
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def stats_path(self) -> Path:
        return self.ledger_dir / f"{STATS_PREFIX}.json"

    @property
    def log_path(self) -> Path:
        return self.ledger_dir / LOG_NAME

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "locust", "-f", str(self.locustfile), "--headless", "--only-summary",
               "-H", self.host, "-u", str(self.users), "-r", str(self.spawn_rate),
               "-t", f"{max(1, round(self.run_time_s))}s", "--stop-timeout", str(self.stop_timeout_s),
               "--json-file", str(self.ledger_dir / STATS_PREFIX), "--exit-code-on-error", "0",
               "--loglevel", "WARNING"]
        if self.processes > 1:
            cmd += ["--processes", str(self.processes)]
        return cmd + list(self.user_classes)

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update({"GREENLIGHT_LEDGER_DIR": str(self.ledger_dir), "GREENLIGHT_RUN_ID": self.run_id,
                    "PYTHONUNBUFFERED": "1", **lease.lease_env()})
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def start(self) -> LoadRun:
        if self.proc is not None:
            raise RuntimeError("this LoadRun was already started")
        self.ledger_dir.mkdir(parents=True, exist_ok=True)
        self.stats_path.unlink(missing_ok=True)  # never read a previous run's total
        self._log = open(self.log_path, "ab")
        # Own process group: a last-resort kill reaches forked workers and nothing else. The load dies with the
        # harness (parent-death signal, and the lease every Locust process checks): see harness/lease.py.
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.environment(), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lease.die_with_parent())
        return self

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the run to end by itself (its run time plus the stop timeout)."""
        if self.proc is None:
            raise RuntimeError("not started")
        if timeout is None:
            timeout = self.run_time_s + self.stop_timeout_s + 30
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.stop()
        finally:
            self._close_log()

    def stop(self, grace_s: float | None = None) -> int:
        """Graceful stop: SIGTERM (locust stops users, writes its stats, shards flush at exit), then wait."""
        if self.proc is None:
            raise RuntimeError("not started")
        if grace_s is None:
            grace_s = self.stop_timeout_s + 20
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # our own session only
                self.proc.wait(10)
        self._close_log()
        return self.proc.returncode

    def _close_log(self) -> None:
        if self._log is not None and self.proc is not None and self.proc.poll() is not None:
            self._log.close()
            self._log = None

    def locust_stats(self) -> list[dict]:
        if not self.stats_path.exists():
            raise FileNotFoundError(f"{self.stats_path} missing: locust did not finish cleanly (see {self.log_path})")
        return json.loads(self.stats_path.read_text())

    def locust_total(self) -> int:
        """Locust's own request count (successes and failures) from its final JSON stats."""
        return sum(int(entry["num_requests"]) for entry in self.locust_stats())

    def locust_failures(self) -> int:
        return sum(int(entry["num_failures"]) for entry in self.locust_stats())

    def ledger_total(self) -> int:
        return count_requests(self.ledger_dir)
