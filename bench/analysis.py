"""Benchmark: judging a large ledger. Aims: 1,000,000 records judged in < 1 s and < 300 MiB; 10,000,000 in < 1 GiB.

Generates a realistic ledger (4 shards, a switch in the middle, probes, orders, assets) in a temporary directory,
then measures, each in a fresh subprocess (so peak RSS is that step alone):
  read   the JSON lines' bytes, nothing else: what "the disk's speed" means on this machine right now
  index  the columnar index the harness builds WHILE the load runs (harness/columns.py): its rate must stay far
         above any request rate, since it runs beside the load
  judge  load (from the index) + every verdict: what happens after the run; the aimed figure
Prints each figure with its aim and as a ratio to it, and judge/read (how far from the disk's speed), from this run.

    .venv/bin/python bench/analysis.py [--records 1000000] [--big 10000000] [--no-big]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0
MIB = 1024 * 1024

LINE = (b'{"ts":%.4f,"user":"w%d-%d","journey":"%s","step":"add item","method":"POST",'
        b'"name":"/rest/V1/guest-carts/:cartId/items","status":200,"ms":%.1f,"bytes":180,"served_by":"%s-%d",'
        b'"release":"%s","session":"%032x","error":null%s}\n')
JOURNEYS = (b"guest", b"customer", b"session", b"browse")
PROBE = b',"probe":{"ok":true,"expected":{"fullname":"A B","cart":{"GL-0001":1}},"observed":{"fullname":"A B","cart":{"GL-0001":1}}}'


def generate(d: Path, n: int, shards: int = 4, dur: float = 600.0) -> None:
    switch = T0 + dur / 2
    files = [open(d / f"requests-bench-{k}.jsonl", "wb", buffering=1 << 20) for k in range(shards)]
    for i in range(n):
        ts = T0 + dur * i / n
        new = ts >= switch + 0.5
        rel = b"r2" if new else b"r1"
        extra = b""
        if i % 50 == 0:
            extra += b',"order_id":%d' % i
        if i % 40 == 2:
            extra += PROBE
        if i % 30 == 3:
            extra += b',"page_release":"%s","asset":{"url":"/static/version%s/a.css","sha256":"%s"}' % (
                rel, rel[1:], b"a" * 64)
        files[i % shards].write(LINE % (ts, i % shards, i % 400, JOURNEYS[i % 4], 3.0 + (i % 97) / 10,
                                        b"green" if new else b"blue", 1 + i % 2, rel, i % 4000, extra))
    for f in files:
        f.close()
    digests = [{"ts": T0, "event": "static_digests", "release": r, "version": r[1:], "assets": {"a.css": "a" * 64}}
               for r in ("r1", "r2")]
    (d / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in digests)
                                    + json.dumps({"ts": switch, "event": "switch_start"}) + "\n"
                                    + json.dumps({"ts": switch + 1, "event": "converged"}) + "\n")


STEP = r"""
import json, resource, sys, time
step, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
out = {}
if step == "read":
    from pathlib import Path
    total = 0
    for p in sorted(Path(d).glob("requests-*.jsonl")):
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 24):
                total += chunk.count(b"\n")
    out["records"] = total
elif step == "index":
    from harness.ledger import column_index
    out["records"] = column_index(d).update()
else:
    # Imports once per process (the harness has them loaded long before a run ends): timed apart.
    from harness.context import RunContext
    from harness.ledger import load
    from harness.verdicts import Bounds, evaluate
    out["import_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    led = load(d)
    t1 = time.perf_counter()
    vs = evaluate(led, Bounds(), RunContext(old_release="r1", new_release="r2", locust_total=len(led),
                                            db_order_ids=list(range(0, n, 50))))
    out.update(records=len(led), load_s=t1 - t0, failed=[v.name for v in vs if not v.passed])
out["seconds"] = time.perf_counter() - t0
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def step(name: str, d: Path, n: int) -> dict:
    done = subprocess.run([sys.executable, "-c", STEP, name, str(d), str(n)], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def measure(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="gl-analysis-") as tmp:
        d = Path(tmp)
        t = time.perf_counter()
        generate(d, n)
        gen_s = time.perf_counter() - t
        size = sum(p.stat().st_size for p in d.glob("requests-*.jsonl"))
        read = step("read", d, n)
        index = step("index", d, n)
        judge = step("judge", d, n)
        cols = sum(p.stat().st_size for p in (d / ".columns").rglob("*") if p.is_file())
    assert read["records"] == index["records"] == judge["records"] == n, (read, index, judge)
    return {"n": n, "gen_s": gen_s, "jsonl_mib": size / MIB, "columns_mib": cols / MIB, "read": read,
            "index": index, "judge": judge}


def ratio_line(label: str, value: float, aim: float, unit: str) -> str:
    r = value / aim
    return f"  {label:<34} {value:9.2f} {unit:<4} aim < {aim:g} {unit}: ratio {r:5.2f} ({'met' if r < 1 else 'MISSED'})"


def report(m: dict, time_aim: float | None, mem_aim: float) -> None:
    n, j = m["n"], m["judge"]
    print(f"{n:,} records: {m['jsonl_mib']:.0f} MiB of JSON lines, {m['columns_mib']:.0f} MiB of columns")
    print(f"  read the JSON lines (disk speed)   {m['read']['seconds']:9.2f} s")
    print(f"  index (while the load runs)        {m['index']['seconds']:9.2f} s = "
          f"{n / m['index']['seconds']:,.0f} records/s, peak {m['index']['peak_mib']:.0f} MiB")
    print(f"  judge = load {j['load_s']:.2f} s + verdicts {j['seconds'] - j['load_s']:.2f} s (imports, once per process: "
          f"{j['import_s']:.2f} s); failed verdicts: {j['failed']}")
    if time_aim is not None:
        print(ratio_line("judge time", j["seconds"], time_aim, "s"))
    print(ratio_line("judge peak memory", j["peak_mib"], mem_aim, "MiB"))
    print(f"  judge / reading the JSON lines     {j['seconds'] / m['read']['seconds']:9.2f} x (1 = the disk's speed)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--no-big", action="store_true", help="skip the 10M run (~3 GB of temporary JSON)")
    args = ap.parse_args()
    print("before (issue 14, JSON loaded in Python): 1,000,000 records judged in 5.71 s, 225 MiB peak")
    report(measure(args.records), 1.0, 300)
    if not args.no_big:
        report(measure(args.big), None, 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
