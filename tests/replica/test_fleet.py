"""The replica's fleet role against real containers: exec's timeout kills a hung command where it runs."""
import time

import pytest

pytestmark = pytest.mark.replica


def test_exec_timeout_kills_the_command_in_the_container(gl_target):
    node = gl_target.nodes("blue")[0]
    t0 = time.monotonic()
    r = gl_target.exec(node, ["sh", "-c", "echo started; exec sleep 300"], timeout=1)
    took = time.monotonic() - t0
    assert r.timed_out and not r.ok and r.stdout.strip() == "started", r
    assert took < 10, f"exec returned {took:.1f} s after a 1 s timeout"
    assert not gl_target.exec(node, ["pgrep", "-f", "slee[p] 300"]).ok, "the hung command still runs in the container"
    quick = gl_target.exec(node, ["true"], timeout=5)
    assert quick.ok and not quick.timed_out
