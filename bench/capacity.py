"""Benchmark: what a drill on the local replica can prove on this machine.

1. Sustainable requests/s: the checkout traffic (no think time) against the replica's load balancer at a ladder of
   user counts, each step on its own for --step-seconds; the capacity is the highest rate of a step with zero
   failed requests (5xx, dropped connections, failed checks). Steps stop at the first one with errors.
2. The largest certification that still passes: full certifications (deploy, gate, switch, verdicts) with a ladder
   of users (default think time), until one fails; the last passing count is what a drill here can vouch for.

Prints each figure with its aim as a ratio: the default certification's request rate against the capacity
(aim < 0.5: a default drill leaves the replica headroom, so its failures are the release's, not the machine's).

    .venv/bin/python bench/capacity.py [--users 4,8,16,32,64] [--cert-users 12,24,48,96] [--step-seconds 20]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NO_THINK = {"GREENLIGHT_WAIT_MIN_S": "0", "GREENLIGHT_WAIT_MAX_S": "0.05"}
DEFAULT_USERS = 12  # greenlight certify's default


def step(lb_url: str, users: int, seconds: float, workers: int) -> dict:
    from harness.load.traffic import LoadRun

    with tempfile.TemporaryDirectory(prefix="gl-capacity-") as tmp:
        run = LoadRun(lb_url, Path(tmp) / "ledger", users=users, spawn_rate=users, run_time_s=seconds,
                      run_id=f"cap{users}", workers=workers, extra_env=NO_THINK, stop_timeout_s=5).start()
        run.wait()
        stats = run.locust_stats()
        span = max(e["last_request_timestamp"] for e in stats) - min(e["start_time"] for e in stats)
        total, failures = run.locust_total(), run.locust_failures()
        doc = run.workers_info() or {"workers": []}
        cpu = max((c[1] for w in doc["workers"] for c in w.get("cpu") or ()), default=0.0)
    return {"users": users, "rps": total / max(span, 1e-9), "requests": total, "failures": failures, "cpu_max": cpu}


def certification(target, users: int, load_seconds: float) -> dict:
    from harness.run.certify import certify, default_release

    with tempfile.TemporaryDirectory(prefix="gl-capacity-cert-") as tmp:
        t0 = time.monotonic()
        cert = certify(target, release=default_release(target), users=users, load_seconds=load_seconds,
                       report_dir=Path(tmp) / "report")
        failed = [f"{n}: {v['detail']}" for n, v in cert.verdicts.items() if not v["passed"]]
        totals = cert.report.get("totals", {})
        return {"users": users, "passed": cert.passed, "failed": failed, "requests": totals.get("requests", 0),
                "rps": totals.get("requests", 0) / max(load_seconds, 1), "wall_s": time.monotonic() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="4,8,16,32,64")
    ap.add_argument("--cert-users", default="12,24,48,96")
    ap.add_argument("--step-seconds", type=float, default=20)
    ap.add_argument("--load-seconds", type=float, default=40)
    ap.add_argument("--workers", type=int, default=0, help="Locust worker processes for the rate steps")
    args = ap.parse_args()
    from harness.targets.replica import stack
    from harness.targets.replica.target import replica_target

    stack.up()
    target = replica_target()
    print(f"replica at {target.lb_url}; rate steps of {args.step_seconds:.0f} s without think time")
    best = None
    for users in [int(u) for u in args.users.split(",")]:
        r = step(target.lb_url, users, args.step_seconds, args.workers)
        print(f"  {users:4d} users: {r['rps']:7.1f} req/s, {r['failures']} failed of {r['requests']}, "
              f"Locust CPU max {r['cpu_max']:.0f} %", flush=True)
        if r["failures"]:
            break
        if best is None or r["rps"] > best["rps"]:
            best = r
    if best is None:
        print("capacity: no step ran without errors")
        return 1
    print(f"sustainable: {best['rps']:.0f} req/s with zero errors (at {best['users']} users)")
    last_pass, default = None, None
    for users in [int(u) for u in args.cert_users.split(",")]:
        c = certification(target, users, args.load_seconds)
        print(f"  certification with {users:3d} users: {'PASSED' if c['passed'] else 'FAILED'}, "
              f"{c['rps']:.1f} req/s, {c['wall_s']:.0f} s wall" + ("" if c["passed"] else f" — {c['failed'][:2]}"),
              flush=True)
        if users == DEFAULT_USERS:
            default = c
        if not c["passed"]:
            break
        last_pass = c
    print(f"largest passing certification: {last_pass['users'] if last_pass else 'none'} users"
          + (f" ({last_pass['rps']:.0f} req/s)" if last_pass else ""))
    if default is not None:
        ratio = default["rps"] / best["rps"]
        print(f"default certification ({DEFAULT_USERS} users) {default['rps']:.0f} req/s / capacity "
              f"{best['rps']:.0f} req/s: ratio {ratio:.2f}, aim < 0.5 ({'met' if ratio < 0.5 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
