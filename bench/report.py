"""Benchmark: the report of a large run. Aim: report.json + report.html for 1,000,000 records in < 2 s (after the
ledger is loaded and judged), and the report never more than 3x the verdicts' own time.

Uses bench/analysis.py's realistic ledger (4 shards, a switch in the middle, probes, orders, assets). Measures,
in one process and one run: load (columnar index), verdicts, the report's facts (series per colour, steps
before/after, crossings per kind, per node), and the page; prints each with its aim and as a ratio.

    .venv/bin/python bench/report.py [--records 1000000]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

AIM_S, AIM_RATIO = 2.0, 3.0


def main() -> int:
    sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]
    from analysis import generate, index_shards

    from harness.ledger.records import load
    from harness.report import build_report, write_files
    from harness.targets.stored_orders import StoredOrders
    from harness.verdicts import Bounds, evaluate
    from harness.verdicts.context import RunContext

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    n = ap.parse_args().records
    with tempfile.TemporaryDirectory(prefix="gl-report-bench-") as tmp:
        d = Path(tmp)
        generate(d, n)
        index_shards(d, n)  # as after a real run: the index was kept current while the load ran
        db = StoredOrders.from_orders(kv for p in sorted(d.glob("bench-orders-*.json"))
                                      for kv in json.loads(p.read_text()).items())
        t0 = time.perf_counter()
        led = load(d)
        t1 = time.perf_counter()
        ctx = RunContext(old_release="r1", new_release="r2", from_colour="blue", to_colour="green",
                         locust_total=len(led), db_order_ids=sorted(db), db_orders=db)
        verdicts = evaluate(led, Bounds(), ctx)
        t2 = time.perf_counter()
        rep = build_report(verdicts, led, ctx)
        t3 = time.perf_counter()
        paths = write_files(d / "out", rep)
        t4 = time.perf_counter()
        size = Path(paths["html"]).stat().st_size
    report_s, verdict_s = t4 - t2, t2 - t1
    print(f"{n:,} records: load {t1 - t0:.2f} s, verdicts {verdict_s:.2f} s, report facts {t3 - t2:.2f} s, "
          f"page + json {t4 - t3:.2f} s; report.html {size / 1024:.0f} KiB; peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for label, value, aim, unit in (("report time", report_s, AIM_S, "s"),
                                    ("report / verdicts", report_s / verdict_s, AIM_RATIO, "x")):
        r = value / aim
        print(f"  {label:<20} {value:7.2f} {unit:<2} aim < {aim:g} {unit}: ratio {r:5.2f} ({'met' if r < 1 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
