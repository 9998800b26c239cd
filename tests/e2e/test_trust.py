"""No false alarms: the good releases certify again and again."""
import os

import pytest

from harness.config.bounds import Bounds
from harness.run.certify import certify, default_release

pytestmark = [pytest.mark.replica, pytest.mark.trust]

RUNS = int(os.environ.get("GREENLIGHT_TRUST_RUNS", "10"))


def test_good_release_certifies_every_time(gl_target, gl_options):
    failures = []
    for i in range(RUNS):
        rel = default_release(gl_target)
        # A 15-second run carries few crossings of each kind: that minimum is lowered explicitly for it.
        cert = certify(gl_target, release=rel, users=10, load_seconds=15, watch_s=4, baseline_s=4,
                       bounds=Bounds(min_crossings=3),
                       report_dir=gl_options["report_dir"] / "trust" / f"run{i:02d}")
        if not cert.passed:
            failures.append((i, rel.id, {k: v["detail"] for k, v in cert.verdicts.items() if not v["passed"]}))
    assert not failures, f"{len(failures)}/{RUNS} good certifications failed: {failures}"
