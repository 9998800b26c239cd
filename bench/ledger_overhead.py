"""Cost of the request ledger: Locust requests/s with and without the ledger listener, same static URL.

Starts a private nginx on a free loopback port serving one small file, then runs the same headless Locust
load (users, duration, one process) plain and with locustfiles/gl_ledger attached, alternating, and
prints both rates and their ratio. Aim: overhead < 10 %.

    .venv/bin/python bench/ledger_overhead.py [--users 20] [--seconds 8] [--rounds 3]
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
from locust import FastHttpUser, constant, events, task
{ledger}

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
    env = dict(os.environ, PYTHONPATH=str(LOCUSTFILES), GREENLIGHT_LEDGER_DIR=str(ledger_dir))
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
    return {"requests": total, "failures": failures, "seconds": round(span, 2), "rps": total / span,
            "ledger_lines": lines}


def median_run(results: list[dict]) -> dict:
    return sorted(results, key=lambda r: r["rps"])[len(results) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("nginx") is None:
        print("nginx not installed: cannot run this benchmark")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="gl-ledger-bench-"))
    workdir.chmod(0o755)  # nginx workers run unprivileged and must read www/
    nginx, port = start_nginx(workdir)
    runs = {"plain": [], "ledger": []}
    try:
        # Alternate the two configurations so drift on a shared machine hits both alike; compare medians.
        for i in range(args.rounds):
            for name in ("plain", "ledger") if i % 2 == 0 else ("ledger", "plain"):
                result = run_locust(workdir, f"{name}{i}", name == "ledger", port, args.users, args.seconds)
                runs[name].append(result)
                print(f"  round {i + 1} {name:6s}: {result['rps']:8.0f} req/s", flush=True)
    finally:
        nginx.send_signal(signal.SIGQUIT)  # graceful stop of our private nginx only
        nginx.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    plain = median_run(runs["plain"])
    ledger = median_run(runs["ledger"])
    ratio = ledger["rps"] / plain["rps"]
    print(f"users={args.users} duration={args.seconds}s rounds={args.rounds} (medians), "
          f"target: private nginx on 127.0.0.1:{port}")
    print(f"without ledger: {plain['rps']:8.0f} req/s ({plain['requests']} requests, {plain['failures']} failed)")
    print(f"with ledger:    {ledger['rps']:8.0f} req/s ({ledger['requests']} requests, {ledger['failures']} failed, "
          f"{ledger['ledger_lines']} ledger lines)")
    print(f"ratio with/without: {ratio:.3f} (overhead {100 * (1 - ratio):.1f} %, aim < 10 %)")
    if any(r["failures"] for rs in runs.values() for r in rs):
        print("FAILED REQUESTS: the rates above do not measure the ledger")
        return 1
    if any(r["ledger_lines"] != r["requests"] for r in runs["ledger"]):
        print("LEDGER INCOMPLETE: ledger lines differ from Locust's total")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
