"""Distributed runs on Locust's own master/worker mode: every worker's ledger reaches the master, reconciled per
worker against Locust's own counts; each process's CPU is sampled; the load-target allow-list holds everywhere.

Workers ship their ledger lines to the master with Locust messages: every FLUSH_S ("gl_ledger", so the harness
can watch the run live) and, for the rest, inside the worker's own stats report (report_to_master). Lines and the
stats they were counted in therefore travel in ONE message: after each report the master's ledger for that worker
holds exactly the requests Locust has counted for it, even if the worker is killed a moment later. At the end the
master asks every worker to stop its users and report once more ("gl_drain") before Locust quits, so nothing
recorded is lost on the way. The master writes one shard per worker and `workers.json`:

    {"mode": "distributed", "master": {...}, "workers": [{"name", "shard", "state", "lost", "lost_at",
      "ledger_records", "ledger_at_last_report", "locust_requests", "locust_failures", "cpu": [[ts, %], ...]}]}

A stand-alone Locust process (no master) writes `workers.json` with itself as the only worker.
"""
from __future__ import annotations

import logging
import os
import socket
import time

import gevent
import orjson
import psutil
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

import gl_settings as cfg
from harness.ledger.schema import shard_name

log = logging.getLogger("greenlight")
WORKERS_FILE = "workers.json"
CPU_SAMPLE_S = 1.0
DRAIN_EXTRA_S = 10.0  # beyond the stop timeout, how long the master waits for workers' final reports


class CpuSampler:
    """This process's CPU use (% of one core) once a second; a saturated load generator is no evidence."""

    def __init__(self):
        self.proc = psutil.Process(os.getpid())
        self.proc.cpu_percent(None)
        self.samples: list[list[float]] = []
        gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            gevent.sleep(CPU_SAMPLE_S)
            self.samples.append([round(time.time(), 1), round(self.proc.cpu_percent(None), 1)])

    def take(self) -> list[list[float]]:
        out, self.samples = self.samples, []
        return out


def _write_json(directory: str, doc: dict) -> None:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WORKERS_FILE)
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)  # readers never see half a file


def guard(environment) -> str | None:
    """The allow-list, checked in every Locust process before its users start. A reason when refused."""
    from harness.load.hosts import HostRefused, check_host

    try:
        check_host(environment.host or "", cfg.ALLOW_HOSTS)
    except HostRefused as exc:
        return str(exc)
    return None


# -- worker ------------------------------------------------------------------------------------------------------
class Shipper:
    def __init__(self, environment, ledger):
        self.env, self.runner, self.ledger = environment, environment.runner, ledger
        self.ident = {"host": socket.gethostname(), "pid": os.getpid()}
        self.cpu = CpuSampler()
        ledger.ship = self.send
        environment.events.report_to_master.add_listener(self.on_report)
        self.runner.register_message("gl_drain", self.on_drain, concurrent=True)

    def payload(self, data: bytes, n: int) -> dict:
        return {**self.ident, "lines": data, "n": n, "cpu": self.cpu.take()}

    def send(self, data: bytes, n: int) -> None:
        self.runner.send_message("gl_ledger", self.payload(data, n))

    def on_report(self, client_id, data, **_kw) -> None:
        # No I/O here, so no other greenlet runs between taking the lines and Locust serialising its stats.
        data["gl_ledger"] = self.payload(*self.ledger.take())

    def on_drain(self, environment, msg, **_kw) -> None:
        self.runner.stop()  # users finish (within the stop timeout); their last requests are recorded
        send_stats = getattr(self.runner, "_send_stats", None)
        if send_stats is not None:
            send_stats()  # the final report: Locust's last counts and the last lines, together
        else:  # a future Locust without it: the next periodic report carries them
            gevent.sleep(3.5)
        self.runner.send_message("gl_drained", {"written": self.ledger.written})


# -- master ------------------------------------------------------------------------------------------------------
class Collector:
    def __init__(self, environment, directory: str):
        self.env, self.runner, self.dir = environment, environment.runner, directory
        self.workers: dict[str, dict] = {}
        self.files: dict[str, object] = {}
        self.started = time.time()
        self.cpu = CpuSampler()
        self.master_cpu: list[list[float]] = []
        self.runner.register_message("gl_ledger", self.on_lines)
        self.runner.register_message("gl_drained", self.on_drained)
        self.runner.register_message("gl_refused", self.on_refused)
        ev = environment.events
        ev.worker_report.add_listener(self.on_report)
        ev.test_stopping.add_listener(self.on_stopping)
        ev.quit.add_listener(lambda **_kw: self.close())
        gevent.spawn(self._monitor)

    def worker(self, client_id: str) -> dict:
        w = self.workers.get(client_id)
        if w is None:
            w = self.workers[client_id] = {
                "id": client_id, "name": None, "shard": None, "state": "init", "first_seen": time.time(),
                "last_heard": time.time(), "missing_since": None, "lost": False, "lost_at": None, "drained": False,
                "refused": None, "ledger_records": 0, "ledger_at_last_report": 0, "locust_requests": 0,
                "locust_failures": 0, "reports": 0, "cpu": []}
        return w

    def _append(self, client_id: str, part: dict | None) -> dict:
        w = self.worker(client_id)
        w["last_heard"] = time.time()
        if not part:
            return w
        if w["name"] is None:
            w["name"] = f"{part['host']}-{part['pid']}"
            w["shard"] = shard_name(part["host"], part["pid"])
        w["cpu"].extend(part.get("cpu") or ())
        if part.get("n"):
            fh = self.files.get(client_id)
            if fh is None:
                os.makedirs(self.dir, exist_ok=True)
                fh = self.files[client_id] = open(os.path.join(self.dir, w["shard"]), "ab")
            fh.write(part["lines"])
            fh.flush()
            w["ledger_records"] += part["n"]
        return w

    def on_lines(self, environment, msg, **_kw) -> None:
        self._append(msg.node_id, msg.data)

    def on_report(self, client_id, data, **_kw) -> None:
        w = self._append(client_id, data.pop("gl_ledger", None))
        total = data.get("stats_total") or {}
        w["locust_requests"] += int(total.get("num_requests", 0))
        w["locust_failures"] += int(total.get("num_failures", 0))
        w["ledger_at_last_report"] = w["ledger_records"]
        w["reports"] += 1

    def on_drained(self, environment, msg, **_kw) -> None:
        self.worker(msg.node_id)["drained"] = True

    def on_refused(self, environment, msg, **_kw) -> None:
        w = self.worker(msg.node_id)
        w["refused"] = msg.data.get("reason")
        log.error("worker %s refused the load target: %s", msg.node_id, w["refused"])

    def on_stopping(self, **_kw) -> None:
        """Before Locust sends `quit` (and gives workers only half a second to report), drain every live worker."""
        pending = [cid for cid, c in self.runner.clients.items() if c.state != STATE_MISSING]
        for cid in pending:
            self.runner.send_message("gl_drain", None, client_id=cid)
        deadline = time.time() + (self.env.stop_timeout or 0) + DRAIN_EXTRA_S
        while time.time() < deadline:
            alive = [cid for cid in pending if cid in self.runner.clients
                     and self.runner.clients[cid].state != STATE_MISSING]
            if all(self.workers.get(cid, {}).get("drained") for cid in alive):
                break
            gevent.sleep(0.1)
        self.write()

    def _monitor(self) -> None:
        while True:
            gevent.sleep(CPU_SAMPLE_S)
            self.observe()
            self.write()

    def observe(self) -> None:
        now = time.time()
        self.master_cpu.extend(self.cpu.take())
        for cid, node in list(self.runner.clients.items()):
            w = self.worker(cid)
            w["state"] = node.state
            if node.state == STATE_MISSING:
                w["missing_since"] = w["missing_since"] or now
            else:
                w["missing_since"] = None
        for cid, w in self.workers.items():
            if cid not in self.runner.clients and w["state"] not in ("gone", STATE_MISSING):
                w["state"] = "gone"  # quit, or removed by Locust after being missing too long
            # Lost: stopped answering and never drained. last_heard is its last ledger message or report.
            w["lost"] = bool(w["missing_since"] or w["state"] == STATE_MISSING) and not w["drained"]
            w["lost_at"] = round(w["last_heard"], 3) if w["lost"] else None

    def document(self) -> dict:
        return {"mode": "distributed", "started": self.started,
                "master": {"host": socket.gethostname(), "pid": os.getpid(), "cpu": self.master_cpu},
                "workers": sorted(self.workers.values(), key=lambda w: w["first_seen"])}

    def write(self) -> None:
        _write_json(self.dir, self.document())

    def close(self) -> None:
        self.observe()
        self.write()
        for fh in self.files.values():
            fh.close()
        self.files.clear()


# -- stand-alone -------------------------------------------------------------------------------------------------
class LocalCensus:
    """One process, no master: itself as the only worker, so the same reconciliation and CPU check apply."""

    def __init__(self, environment, ledger):
        self.env, self.ledger = environment, ledger
        self.cpu = CpuSampler()
        self.samples: list[list[float]] = []
        environment.events.quit.add_listener(lambda **_kw: self.write())
        gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            gevent.sleep(5)
            self.write()

    def write(self) -> None:
        self.samples.extend(self.cpu.take())
        total = self.env.stats.total
        host, pid = socket.gethostname(), os.getpid()
        _write_json(self.ledger.directory, {"mode": "local", "started": total.start_time, "master": None, "workers": [{
            "id": f"{host}-{pid}", "name": f"{host}-{pid}", "shard": shard_name(host, pid), "state": "local",
            "lost": False, "lost_at": None, "drained": True, "refused": None,
            "ledger_records": self.ledger.written, "ledger_at_last_report": self.ledger.written,
            "locust_requests": total.num_requests, "locust_failures": total.num_failures, "cpu": self.samples}]})


# -- wiring ------------------------------------------------------------------------------------------------------
def install(events, ledger) -> None:
    events.init_command_line_parser.add_listener(lambda parser, **_kw: cfg.add_arguments(parser))

    def on_init(environment, **_kw):
        cfg.apply(environment.parsed_options, ledger)
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            Collector(environment, ledger.directory)
        elif isinstance(runner, WorkerRunner):
            Shipper(environment, ledger)
        elif runner is not None:
            LocalCensus(environment, ledger)

    def on_test_start(environment, **_kw):
        # On a worker the master's options arrive with the first spawn (run id, headers, allowed hosts).
        cfg.apply(environment.parsed_options, ledger)
        why = guard(environment)
        if why is None:
            return
        log.error("%s", why)
        environment.process_exit_code = 2
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            runner.send_message("gl_refused", {"reason": why})
        gevent.spawn_later(0.2, runner.quit)

    events.init.add_listener(on_init)
    events.test_start.add_listener(on_test_start)
