"""Runs the checkout traffic as separate Locust processes and reads back what they recorded.

Locust monkey-patches the process it runs in (gevent), so it never runs inside the harness: `LoadRun` starts
`locust --headless` as a subprocess. With `workers=N` it runs Locust's own distributed mode instead: one
`locust --master` and N `locust --worker` processes (more workers, also from other machines, may join with
`greenlight worker --master HOST:PORT`). Either way the ledger shards `requests-<host>-<pid>.jsonl` land in
ledger_dir (a worker's are written by the master, see locustfiles/gl_distributed.py), `workers.json` holds each
process's Locust count, ledger count and CPU samples, and Locust's own total comes from its --json-file output.
This module must not import locust.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness import PROJECT_ROOT
from harness.ledger.schema import shards
from harness.load import lease
from harness.load.hosts import CONTAINER_HOST_RE, HostRefused, check_host  # noqa: F401 (re-exported)

ROOT = PROJECT_ROOT
DEFAULT_LOCUSTFILE = ROOT / "locustfiles" / "checkout.py"
STATS_PREFIX = "locust"  # -> <ledger_dir>/locust.json (locust appends .json)
LOG_NAME = "locust.log"
WORKERS_FILE = "workers.json"  # written by the Locust side (gl_distributed)
DEFAULT_MASTER_PORT = 5557     # Locust's own default; GREENLIGHT_MASTER_PORT overrides (scripts/lane.sh)


def master_port_default() -> int:
    return int(os.environ.get("GREENLIGHT_MASTER_PORT") or DEFAULT_MASTER_PORT)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def parse_master(spec: str) -> tuple[str, int]:
    """'HOST[:PORT]' -> (host, port); the port defaults to GREENLIGHT_MASTER_PORT or Locust's 5557."""
    host, sep, port = (spec or "").rpartition(":")
    if not sep:
        host, port = spec, ""
    if not host or (sep and not port.isdigit()) or not 0 < int(port or 1) < 65536:
        raise ValueError(f"--master {spec!r}: expected HOST or HOST:PORT")
    return host, int(port) if port else master_port_default()


def read_workers(ledger_dir: str | Path) -> dict | None:
    """What the Locust side wrote about its processes (None when nothing was written, e.g. locust never ran)."""
    path = Path(ledger_dir) / WORKERS_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


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
                 run_id: str, workers: int = 0, extra_env: dict | None = None,
                 locustfile: str | Path = DEFAULT_LOCUSTFILE, user_classes: tuple[str, ...] = (),
                 stop_timeout_s: float = 10, allow_hosts: tuple[str, ...] = (), remote_workers: int = 0,
                 master_bind: str = "127.0.0.1", master_port: int | None = None):
        self.host = check_host(host, allow_hosts)
        self.allow_hosts = tuple(allow_hosts)
        self.ledger_dir = Path(ledger_dir)
        self.users, self.spawn_rate, self.run_time_s = users, spawn_rate, run_time_s
        self.run_id = run_id
        # workers: local worker processes; remote_workers: more the master waits for (greenlight worker ...).
        self.workers, self.remote_workers = int(workers), int(remote_workers)
        if self.workers < 0 or self.remote_workers < 0:
            raise ValueError("workers and remote_workers must be >= 0")
        self.master_bind = master_bind
        self.master_port = master_port
        self.extra_env = dict(extra_env or {})
        self.locustfile = Path(locustfile)
        self.user_classes = tuple(user_classes)
        self.stop_timeout_s = stop_timeout_s
        self.proc: subprocess.Popen | None = None
        self.worker_procs: list[subprocess.Popen] = []
        self._log = None

    @property
    def distributed(self) -> bool:
        return self.workers + self.remote_workers > 0

    @property
    def stats_path(self) -> Path:
        return self.ledger_dir / f"{STATS_PREFIX}.json"

    @property
    def log_path(self) -> Path:
        return self.ledger_dir / LOG_NAME

    def _locust(self) -> list[str]:
        return [sys.executable, "-m", "locust", "-f", str(self.locustfile), "--loglevel", os.environ.get("GREENLIGHT_LOCUST_LOGLEVEL", "WARNING")]

    def command(self) -> list[str]:
        """The headless run: stand-alone, or the master of a distributed run (which runs no users itself)."""
        cmd = self._locust() + [
            "--headless", "--only-summary", "-H", self.host, "-u", str(self.users), "-r", str(self.spawn_rate),
            "-t", f"{max(1, round(self.run_time_s))}s", "--stop-timeout", str(self.stop_timeout_s),
            "--json-file", str(self.ledger_dir / STATS_PREFIX), "--exit-code-on-error", "0",
            # Forwarded by Locust to every worker, also those on other machines.
            "--gl-run-id", self.run_id, "--gl-allow-hosts", ",".join(self.allow_hosts)]
        for opt, env in (("--gl-served-by-header", "GREENLIGHT_SERVED_BY_HEADER"),
                         ("--gl-release-header", "GREENLIGHT_RELEASE_HEADER")):
            if self.extra_env.get(env):
                cmd += [opt, str(self.extra_env[env])]
        if self.distributed:
            cmd += ["--master", "--expect-workers", str(self.workers + self.remote_workers),
                    "--expect-workers-max-wait", "120", "--master-bind-host", self.master_bind,
                    "--master-bind-port", str(self.master_port),
                    # A lost worker's users move to the others: the load stays at the requested user count.
                    "--enable-rebalancing"]
        return cmd + list(self.user_classes)

    def worker_command(self) -> list[str]:
        connect = "127.0.0.1" if self.master_bind in ("0.0.0.0", "", "*") else self.master_bind
        return self._locust() + ["--worker", "--master-host", connect, "--master-port", str(self.master_port)]

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update({"GREENLIGHT_LEDGER_DIR": str(self.ledger_dir), "GREENLIGHT_RUN_ID": self.run_id,
                    "GREENLIGHT_ALLOW_HOSTS": ",".join(self.allow_hosts), "PYTHONUNBUFFERED": "1",
                    **lease.lease_env()})
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def start(self) -> LoadRun:
        if self.proc is not None:
            raise RuntimeError("this LoadRun was already started")
        self.ledger_dir.mkdir(parents=True, exist_ok=True)
        self.stats_path.unlink(missing_ok=True)  # never read a previous run's total
        (self.ledger_dir / WORKERS_FILE).unlink(missing_ok=True)
        if self.distributed and self.master_port is None:
            # Local workers only: any free port (no clash with other runs); remote workers need a known one.
            self.master_port = master_port_default() if self.remote_workers else free_port()
        self._log = open(self.log_path, "ab")
        env = self.environment()
        # Own sessions: a last-resort kill reaches Locust's processes and nothing else. The load dies with the
        # harness (parent-death signal, and the lease every Locust process checks): see harness/load/lease.py.
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lease.die_with_parent())  # noqa: PLW1509 - prctl must run in the child
        try:
            for _ in range(self.workers):
                self.worker_procs.append(subprocess.Popen(
                    self.worker_command(), cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=lease.die_with_parent()))  # noqa: PLW1509
        except OSError:
            self._kill_group()  # never leave a master waiting for workers that will not come
            raise
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
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.stop()
        self._reap_workers()
        self._close_log()
        return code

    def stop(self, grace_s: float | None = None) -> int:
        """Graceful stop: SIGTERM to the stand-alone process or the master (which drains its workers: they stop
        their users and report once more, then quit; shards flush at exit), then wait."""
        if self.proc is None:
            raise RuntimeError("not started")
        if grace_s is None:
            grace_s = self.stop_timeout_s + 20
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.proc.wait(10)
        self._reap_workers()
        self._close_log()
        return self.proc.returncode

    def _reap_workers(self, grace_s: float = 15) -> None:
        """Workers quit when their master does; any that does not is killed with the group."""
        deadline = time.monotonic() + grace_s
        for w in self.worker_procs:
            try:
                w.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill_group()
                w.wait(10)

    def _kill_group(self) -> None:
        for p in [self.proc, *self.worker_procs]:  # each started in its own session: ours only
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

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

    def workers_info(self) -> dict | None:
        return read_workers(self.ledger_dir)
