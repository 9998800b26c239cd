"""Benchmark: load and judge a 1,000,000-record ledger. Aims: under 5 s and under 1 GiB peak.

Generates a realistic ledger (4 shards, a switch in the middle, probes, orders, assets) in a temporary directory,
then measures load + evaluate in a fresh subprocess (so peak RSS is the analysis alone), and the same for 100,000
records to show how it scales (the ratio should be close to 10)."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

T0 = 1_800_000_000.0


def generate(d: Path, n: int) -> None:
    dur = 600.0
    switch = T0 + dur / 2
    shards = [open(d / f"requests-bench-{k}.jsonl", "wb") for k in range(4)]
    for i in range(n):
        ts = T0 + dur * i / n
        new = ts >= switch + 0.5
        rec = {"ts": ts, "user": f"w{i % 4}-{i % 400}", "journey": ("guest", "customer", "session", "browse")[i % 4],
               "step": "add item", "method": "POST", "name": "/rest/V1/guest-carts/:cartId/items", "status": 200,
               "ms": 3.0 + (i % 97) / 10, "bytes": 180, "served_by": ("green-" if new else "blue-") + str(1 + i % 2),
               "release": "r2" if new else "r1", "session": f"{i % 4000:032x}", "error": None}
        if i % 50 == 0:
            rec["order_id"] = i
        if i % 40 == 2:
            rec["probe"] = {"ok": True, "expected": {"fullname": "A B", "cart": {"GL-0001": 1}},
                            "observed": {"fullname": "A B", "cart": {"GL-0001": 1}}}
        if i % 30 == 3:
            rec["page_release"] = rec["asset_release"] = rec["release"]
        shards[i % 4].write(orjson.dumps(rec) + b"\n")
    for s in shards:
        s.close()
    (d / "events.jsonl").write_bytes(orjson.dumps({"ts": switch, "event": "switch_start"}) + b"\n"
                                     + orjson.dumps({"ts": switch + 1, "event": "converged"}) + b"\n")


MEASURE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from harness.ledger import load
from harness.context import RunContext
from harness.verdicts import Bounds, evaluate
led = load(sys.argv[1])
t1 = time.perf_counter()
orders = [i for i in range(0, int(sys.argv[2]), 50)]
vs = evaluate(led, Bounds(), RunContext(old_release="r1", new_release="r2", db_order_ids=orders,
                                        locust_total=len(led)))
t2 = time.perf_counter()
print(json.dumps({"records": len(led), "load_s": t1 - t0, "evaluate_s": t2 - t1,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "failed": [v.name for v in vs if not v.passed]}))
"""


def measure(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), n)
        out = subprocess.run([sys.executable, "-c", MEASURE, tmp, str(n)], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent.parent)
        return json.loads(out.stdout)


def main() -> int:
    small, big = measure(100_000), measure(1_000_000)
    for r in (small, big):
        print(f"{r['records']:>9} records: load {r['load_s']:.2f} s + verdicts {r['evaluate_s']:.2f} s = "
              f"{r['load_s'] + r['evaluate_s']:.2f} s, peak {r['peak_mib']:.0f} MiB, failed verdicts: {r['failed']}")
    t_small = small["load_s"] + small["evaluate_s"]
    t_big = big["load_s"] + big["evaluate_s"]
    print(f"scaling 100k -> 1M: time x{t_big / t_small:.1f}, memory x{big['peak_mib'] / small['peak_mib']:.1f}; "
          f"aims: < 5 s ({'met' if t_big < 5 else 'MISSED'}), < 1024 MiB ({'met' if big['peak_mib'] < 1024 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
