"""One run per target, on the real replica: a second certification started while one runs is refused at once
with the holder's name, and the first goes on untouched. The first certifies the release that is already live (a
re-run, a config-only change): it must get its green light (issue 25: judged by node, not by a shared release)."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.replica


def _gl(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args, "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def _lock_taken(ledger: Path, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        f = ledger / "events.jsonl"
        if f.exists():
            for line in f.read_text().splitlines():
                ev = json.loads(line)
                if ev.get("event") == "lock_taken":
                    return ev
        time.sleep(0.2)
    raise AssertionError(f"no lock_taken event in {ledger} within {timeout} s")


def test_a_second_run_is_refused_with_the_holder_and_a_same_release_run_passes(gl_target, tmp_path):
    from harness.run.cutover import live_release
    from harness.targets import lock

    live = live_release(gl_target)
    first = _gl("certify", "--release", live, "--report-dir", str(tmp_path / "first"))
    try:
        taken = _lock_taken(tmp_path / "first" / "ledger")
        run_id = lock.Holder.parse(taken["holder"]).run_id
        t0 = time.monotonic()
        second = _gl("certify", "--report-dir", str(tmp_path / "second"))
        out, err = second.communicate(timeout=120)
        refused_in = time.monotonic() - t0
        assert second.returncode == 2, (out, err)
        assert f"held by run {run_id}" in err and "one run per target" in err, err
        assert refused_in < 30, refused_in  # at once: nothing deployed, no load started
        assert not (tmp_path / "second" / "ledger").exists()
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    rep = json.loads((tmp_path / "first" / "report.json").read_text())
    failing = {k: v.get("detail") for k, v in rep["verdicts"].items() if not v.get("passed") and not v.get("skipped")}
    assert first.returncode == 0, (failing, err[-2000:])
    conv = rep["verdicts"]["converged"]
    assert conv["passed"] and f"{live} on " in conv["detail"], conv   # judged by node: both colours serve one release
    assert lock.holders(gl_target.locker) == []   # released at the end
