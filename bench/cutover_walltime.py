"""Benchmark: wall time of `pytest -m cutover` with images built and 60 s of load, against the load time itself.

Prints the wall time and its ratio to the load duration (the overhead of deploy, gate, convergence, analysis).
Aim: under 3 minutes in all."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD_S = 60


def main() -> int:
    from harness.targets.replica import stack

    stack.up()  # images built and the replica running: measure the cutover, not the build
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "pytest", "-m", "cutover", "-q", "-p", "no:cacheprovider",
                        f"--load-seconds={LOAD_S}", "--report-dir=reports/bench-cutover", "suites/cutover"],
                       cwd=ROOT)
    wall = time.monotonic() - t0
    print(f"pytest -m cutover: {wall:.1f} s wall for {LOAD_S} s of load "
          f"(ratio {wall / LOAD_S:.2f}; aim < 180 s) exit={p.returncode}")
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
