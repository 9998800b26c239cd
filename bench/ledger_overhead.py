"""Cost of the request ledger: Locust requests/s with and without the ledger listener, same static URL.

Starts a private nginx on a free loopback port serving one small file, then runs the same headless Locust
load (users, duration, one process) plain and with locustfiles/gl_ledger attached, alternating within this one
run: each round a plain and a ledger run back to back (drift on a shared machine hits both alike). The figure is
the median over the rounds of each pair's overhead, printed with the pairs' spread. Aim: overhead < 5 %.
Then the same load with the ledger on Locust's distributed mode (a master and --workers worker processes, the
ledger shipped to the master): requests/s per worker process.

    .venv/bin/python bench/ledger_overhead.py [--users 20] [--seconds 8] [--rounds 9] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILES = ROOT / "locustfiles"

USER_CODE = """
import os, time
from locust import FastHttpUser, constant, events, task
{ledger}

# CPU seconds this process spent while the load ran: per request, the cost that decides requests/s when Locust is
# CPU-bound, and (unlike requests/s) not diluted by other processes competing for the same cores.
_cpu = {{}}

@events.test_start.add_listener
def _cpu_start(**_kw):
    _cpu["t0"] = time.process_time()

@events.test_stop.add_listener
def _cpu_stop(**_kw):
    if "GL_BENCH_CPU" in os.environ and "t0" in _cpu:
        with open(os.environ["GL_BENCH_CPU"], "w") as fh:
            fh.write(str(time.process_time() - _cpu["t0"]))

class Static(FastHttpUser):
    wait_time = constant(0)

    @task
    def small(self):
        self.client.get("/small.txt", context={{"step": "static"}})
"""

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
        location / {{ add_header X-Served-By bench-nginx always; add_header X-Release bench always; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    (workdir / "www").mkdir()
    (workdir / "tmp").mkdir()
    (workdir / "www" / "small.txt").write_text("/* greenlight-release: bench */\n" + "x" * 200 + "\n")
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=workdir, port=port))
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir)], stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("private nginx did not start")


def run_locust(workdir: Path, name: str, with_ledger: bool, port: int, users: int, seconds: int) -> dict:
    locustfile = workdir / f"{name}.py"
    ledger_line = "import gl_ledger\ngl_ledger.attach(events)" if with_ledger else ""
    locustfile.write_text(USER_CODE.format(ledger=ledger_line))
    ledger_dir = workdir / f"ledger-{name}"
    cpu_file = workdir / f"{name}.cpu"
    env = dict(os.environ, PYTHONPATH=str(LOCUSTFILES), GREENLIGHT_LEDGER_DIR=str(ledger_dir),
               GL_BENCH_CPU=str(cpu_file))
    cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
           "-H", f"http://127.0.0.1:{port}", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
           "--json-file", str(workdir / name), "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    done = subprocess.run(cmd, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"locust ({name}) failed: {done.stderr[-2000:]}")
    stats = json.loads((workdir / f"{name}.json").read_text())
    total = sum(e["num_requests"] for e in stats)
    failures = sum(e["num_failures"] for e in stats)
    span = max(e["last_request_timestamp"] for e in stats) - min(e["start_time"] for e in stats)
    lines = sum(p.read_bytes().count(b"\n") for p in ledger_dir.glob("requests-*.jsonl")) if with_ledger else None
    cpu = float(cpu_file.read_text())
    return {"requests": total, "failures": failures, "seconds": round(span, 2), "rps": total / span,
            "ledger_lines": lines, "cpu_us": cpu / max(total, 1) * 1e6}


def run_distributed(workdir: Path, port: int, users: int, seconds: int, workers: int) -> dict:
    """The ledger locustfile on master + workers (harness.load.traffic.LoadRun): total and per-worker requests/s."""
    sys.path.insert(0, str(ROOT))
    from harness.load.traffic import LoadRun

    locustfile = workdir / "distributed.py"
    locustfile.write_text(USER_CODE.format(ledger="import gl_ledger\ngl_ledger.attach(events)"))
    run = LoadRun(f"http://127.0.0.1:{port}", workdir / "ledger-distributed", users=users, spawn_rate=users,
                  run_time_s=seconds, run_id="bench", workers=workers, locustfile=locustfile, stop_timeout_s=2,
                  extra_env={"PYTHONPATH": str(LOCUSTFILES)}).start()
    run.wait()
    stats = run.locust_stats()
    span = max(e["last_request_timestamp"] for e in stats) - min(e["start_time"] for e in stats)
    doc = run.workers_info() or {"workers": []}
    per = [w["locust_requests"] / span for w in doc["workers"]]
    return {"rps": run.locust_total() / span, "per_worker": per, "ledger": run.ledger_total(),
            "requests": run.locust_total(), "failures": run.locust_failures()}


def listener_cost_us(workdir: Path, calls: int = 200_000) -> float:
    """CPU microseconds of the ledger listener per request, called in-process on a response like nginx's (buffer
    flushes to disk included): the ledger's own cost, which 8-second Locust runs on a shared machine measure only
    within +-15 %."""
    sys.path.insert(0, str(LOCUSTFILES))
    import gl_ledger

    class Response:
        status_code = 200
        headers = {"X-Served-By": "bench-nginx", "X-Release": "bench"}

    ledger = gl_ledger.RequestLedger(str(workdir / "ledger-listener"))
    resp, ctx = Response(), {"step": "static"}
    t0 = time.process_time()
    for _ in range(calls):
        ledger.on_request("GET", "/small.txt", 1.234, 210, response=resp, context=ctx, start_time=time.time())
    ledger.flush()
    cost = (time.process_time() - t0) / calls * 1e6
    ledger.close()
    return cost


def median(values: list[float]) -> float:
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def paired(runs: dict, key: str) -> list[float]:
    """Per round, the overhead in % of the ledger run against the plain run next to it: the two ran back to back,
    so what else loaded the machine then hit both; the median of these pairs is the figure, their spread its
    noise."""
    return [100 * (1 - led[key] / plain[key]) if key == "rps" else 100 * (led[key] / plain[key] - 1)
            for plain, led in zip(runs["plain"], runs["ledger"], strict=True)]


def spread(values: list[float]) -> str:
    v = sorted(values)
    q1, q3 = v[len(v) // 4], v[(3 * len(v)) // 4]
    return f"pairs {', '.join(f'{x:.1f}' for x in values)}; middle half {q1:.1f}..{q3:.1f}, all {v[0]:.1f}..{v[-1]:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if shutil.which("nginx") is None:
        print("nginx not installed: cannot run this benchmark")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="gl-ledger-bench-"))
    workdir.chmod(0o755)  # nginx workers run unprivileged and must read www/
    nginx, port = start_nginx(workdir)
    runs = {"plain": [], "ledger": []}
    try:
        # Alternate the two configurations (which one goes first too), so drift on a shared machine hits both alike.
        for i in range(args.rounds):
            for name in ("plain", "ledger") if i % 2 == 0 else ("ledger", "plain"):
                result = run_locust(workdir, f"{name}{i}", name == "ledger", port, args.users, args.seconds)
                runs[name].append(result)
                print(f"  round {i + 1} {name:6s}: {result['rps']:8.0f} req/s, {result['cpu_us']:6.1f} us CPU per request",
                      flush=True)
        dist = run_distributed(workdir, port, args.users, args.seconds, args.workers) if args.workers else None
        listener_us = listener_cost_us(workdir)
    finally:
        nginx.send_signal(signal.SIGQUIT)  # graceful stop of our private nginx only
        nginx.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    rps_plain, rps_ledger = (median([r["rps"] for r in runs[k]]) for k in ("plain", "ledger"))
    print(f"users={args.users} duration={args.seconds}s rounds={args.rounds} (each a plain and a ledger run back to "
          f"back), target: private nginx on 127.0.0.1:{port}")
    print(f"without ledger: {rps_plain:8.0f} req/s (median; {sum(r['requests'] for r in runs['plain'])} requests, "
          f"{sum(r['failures'] for r in runs['plain'])} failed)")
    print(f"with ledger:    {rps_ledger:8.0f} req/s (median; {sum(r['requests'] for r in runs['ledger'])} requests, "
          f"{sum(r['failures'] for r in runs['ledger'])} failed, {sum(r['ledger_lines'] for r in runs['ledger'])} "
          f"ledger lines)")
    pairs = paired(runs, "rps")
    overhead = median(pairs)
    print(f"ledger overhead in requests/s: {overhead:.1f} % (median of {len(pairs)} pairs), aim < 5 %: ratio "
          f"{overhead / 5:.2f} ({'met' if overhead < 5 else 'MISSED'}); {spread(pairs)}")
    cpu_pairs = paired(runs, "cpu_us")
    cpu_over = median(cpu_pairs)
    cpu_plain = median([r["cpu_us"] for r in runs["plain"]])
    print(f"ledger overhead in CPU per request: {cpu_over:.1f} % (median of pairs; {cpu_plain:.1f} us a request "
          f"without), aim < 5 %: ratio {cpu_over / 5:.2f} ({'met' if cpu_over < 5 else 'MISSED'}); {spread(cpu_pairs)}"
          f" — the same cost in CPU, robust to other load on the machine")
    share = 100 * listener_us / cpu_plain
    print(f"ledger listener alone: {listener_us:.1f} us CPU per request = {share:.1f} % of a request's CPU without the "
          f"ledger ({cpu_plain:.1f} us), aim < 5 %: ratio {share / 5:.2f} ({'met' if share < 5 else 'MISSED'}) — the "
          f"ledger's own cost, free of the run-to-run noise above")
    print(f"requests/s per Locust process (stand-alone, with ledger): {rps_ledger:.0f}")
    if dist:
        per = ", ".join(f"{r:.0f}" for r in dist["per_worker"])
        print(f"distributed, master + {args.workers} workers, with ledger: {dist['rps']:.0f} req/s in all, per worker "
              f"process: {per} (ledger {dist['ledger']} = Locust {dist['requests']}: "
              f"{'complete' if dist['ledger'] == dist['requests'] else 'INCOMPLETE'}); on {os.cpu_count()} cores "
              f"shared with nginx, so this shows the mode works, not more cores")
    if any(r["failures"] for rs in runs.values() for r in rs):
        print("FAILED REQUESTS: the rates above do not measure the ledger")
        return 1
    if any(r["ledger_lines"] != r["requests"] for r in runs["ledger"]):
        print("LEDGER INCOMPLETE: ledger lines differ from Locust's total")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
