"""Benchmark: the local replica's cold start, image build and memory at rest.

- cold `greenlight up` with images built: seconds until all seven services are healthy (aim < 20 s);
- with --build: first-time build of the node image without cache (the other images build the same way);
- total memory of the stack at rest (aim < 1.5 GiB).
It takes the replica down and up again: it refuses to run while the replica is up unless --force."""
from __future__ import annotations

import subprocess
import sys
import time


def _mem_mib() -> float:
    from harness.targets.replica import stack

    ids = subprocess.run([*stack.compose_cmd(), "ps", "-q"], env=stack.env(), capture_output=True, text=True,
                         check=True).stdout.split()  # this replica's containers (its lane's project), no other
    if not ids:
        return 0.0
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *ids],
                         capture_output=True, text=True, check=True).stdout
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
    total = 0.0
    for line in out.splitlines():
        _name, usage = line.split(" ", 1)
        amount = usage.split("/")[0].strip()
        for u in sorted(units, key=len, reverse=True):
            if amount.endswith(u):
                total += float(amount[: -len(u)]) * units[u]
                break
    return total


def main() -> int:
    from harness.targets.replica import stack

    if stack.is_up() and "--force" not in sys.argv:
        print("replica_up: the replica is running; this benchmark takes it down: rerun with --force")
        return 2
    build_s = None
    if "--build" in sys.argv:  # two minutes of package downloads: measured on request, not by every `make bench`
        t0 = time.monotonic()
        subprocess.run([*stack.compose_cmd(), "build", "--no-cache", "blue-1"], env=stack.env(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        build_s = time.monotonic() - t0
    stack.down()
    up_s = stack.up()
    time.sleep(10)  # at rest
    mem = _mem_mib()
    if build_s is not None:
        print(f"node image build (no cache): {build_s:.1f} s")
    print(f"cold up with images built: {up_s:.1f} s until all services healthy (aim < 20 s; ratio {up_s / 20:.2f})")
    print(f"memory at rest: {mem:.0f} MiB for the whole stack (aim < 1536 MiB; ratio {mem / 1536:.2f} of the aim)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
