"""Benchmark: how fast a caught release leaves service, over the known-bad corpus releases that switch (the ones
the gate refuses never reach customers). One certification per release on the replica, at the test corpus's load.

Prints per release, from its first request the new colour failed: rollback start, old colour serving (the last
request the load balancer still sent to the new colour began), traffic converged back, and customers hurt; then
the medians, as ratios to the aims in one run (aim on the replica: rollback start < 0.3 s, old colour serving
< 1 s). `--releases a,b` picks others."""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The corpus releases that pass the gate and hurt customers after the switch (tests/e2e/test_bad_releases.py).
SWITCHING = ("bad-place-order-500", "bad-flush-sessions", "bad-qty-not-salable", "bad-order-total",
             "bad-guest-cart-drops-lines", "bad-product-page-error", "bad-cron-deletes-carts")
AIM_START_S, AIM_SERVING_S = 0.3, 1.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--releases", default=",".join(SWITCHING))
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--load-seconds", type=float, default=25)
    args = ap.parse_args()

    from harness.run.certify import certify
    from harness.targets.factory import open_target

    rows = []
    with open_target("local") as target:
        for rel in args.releases.split(","):
            cert = certify(target, release=rel, users=args.users, load_seconds=args.load_seconds, watch_s=8,
                           report_dir=ROOT / "reports" / "bench-rollback" / rel)
            rb = cert.report["switch"].get("rollback_timing")
            how = ("refused at the gate" if not cert.outcome.switched else
                   "NOT ROLLED BACK" if not cert.outcome.rolled_back else "rolled back")
            rows.append((rel, how, rb))
            if rb and rb.get("rollback_start_s") is not None:
                print(f"{rel:28} {how}: rollback start {rb['rollback_start_s']:.3f} s, old colour serving "
                      f"{rb['old_serving_s']:.3f} s, converged back {rb['converged_s'] or float('nan'):.3f} s, "
                      f"{rb['customers_hurt']} customers hurt ({rb['requests_failed']} requests)")
            else:
                print(f"{rel:28} {how}: {'no failed request on the new colour' if rb else 'no rollback timing'}")
    timed = [rb for _, how, rb in rows if how == "rolled back" and rb and rb.get("rollback_start_s") is not None]
    if not timed:
        print("no rolled-back release to time")
        return 1
    start = statistics.median(rb["rollback_start_s"] for rb in timed)
    serving = statistics.median(rb["old_serving_s"] for rb in timed)
    hurt = statistics.median(rb["customers_hurt"] for rb in timed)
    print(f"median over {len(timed)} rolled back: first failure -> rollback start {start:.3f} s "
          f"(ratio to the {AIM_START_S} s aim {start / AIM_START_S:.2f}), -> old colour serving {serving:.3f} s "
          f"(ratio to the {AIM_SERVING_S} s aim {serving / AIM_SERVING_S:.2f}); customers hurt per breach {hurt:g}")
    left_live = [rel for rel, how, _ in rows if how == "NOT ROLLED BACK"]
    if left_live:
        print(f"caught but left live: {', '.join(left_live)}")
    return 1 if left_live else 0


if __name__ == "__main__":
    sys.exit(main())
