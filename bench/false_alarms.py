"""Benchmark: false alarms on good releases. N certifications in a row on the replica, alternating the good
releases and including re-certifications of the release already live (a config-only change, a nightly re-run),
at the default load and at a heavy one. A good release that does not pass is a false alarm.

Prints each run (release, live before, users, status, the verdicts that did not pass), then false alarms / runs
as a ratio, and which verdicts raised them. Aim: 0 in 20. `--runs`, `--heavy-users` to change the mix."""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def plan(runs: int, heavy_users: int) -> list[tuple[str, int]]:
    """(release choice, users): 'next' alternates r1 <-> r2, 'same' certifies the live release again; every
    fourth run is heavy."""
    out = []
    for k in range(runs):
        choice = "same" if k % 5 == 2 else "next"
        out.append((choice, heavy_users if k % 4 == 3 else 12))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--heavy-users", type=int, default=30)
    ap.add_argument("--load-seconds", type=float, default=45)
    args = ap.parse_args()

    from harness.run.certify import certify, default_release
    from harness.run.cutover import live_release
    from harness.targets.factory import open_target

    alarms, by_verdict = 0, collections.Counter()
    with open_target("local") as target:
        for k, (choice, users) in enumerate(plan(args.runs, args.heavy_users)):
            live = live_release(target)
            release = live if choice == "same" else default_release(target).id
            cert = certify(target, release=release, users=users, load_seconds=args.load_seconds,
                           report_dir=ROOT / "reports" / "bench-false-alarms" / f"run{k:02d}")
            bad = {n: v.get("detail", "")[:120] for n, v in cert.verdicts.items()
                   if not v.get("passed") and not v.get("skipped")}
            if cert.status != "passed":
                alarms += 1
                by_verdict.update(bad.keys())
            print(f"run {k:02d}: {live} -> {release} ({choice}), {users} users: {cert.status}"
                  + (f"  {bad}" if bad else ""), flush=True)
    print(f"false alarms: {alarms} / {args.runs} good certifications (ratio {alarms / args.runs:.2f}; aim 0)")
    for name, n in by_verdict.most_common():
        print(f"  {name}: {n}")
    return 1 if alarms else 0


if __name__ == "__main__":
    sys.exit(main())
