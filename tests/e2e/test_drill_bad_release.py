"""A drill on a known-bad release fails, for its reason: the release's 500s break the steady state (zero_5xx), the
watch trips and the automatic rollback leaves the good colour live and healthy, every fault healed."""
import pytest

from harness.run.drills import Drill, FaultStep, run_drill

pytestmark = [pytest.mark.chaos, pytest.mark.replica, pytest.mark.badrelease, pytest.mark.nightly]


def test_drill_on_a_known_bad_release_fails_for_its_reason(gl_target, gl_options):
    drill = Drill(name="bad-release-lb-reload", release="bad-place-order-500", users=12, load_seconds=30, watch_s=8,
                  engine=["switched"], final_live="new",
                  must_hold=["zero_5xx", "zero_transport_errors", "sessions_intact", "orders_reconciled"],
                  faults=[FaultStep(kind="lb-reload", at="deploy", delay_s=1, hold_s=1)],
                  bounds={"min_crossings": 15})  # as the plans' 30-second drills: fewer cross than the default asks
    before = gl_target.live_colour()
    r = run_drill(gl_target, drill, gl_options["report_dir"] / "chaos" / drill.name)
    assert not r["passed"]
    assert any(x.startswith("steady state: zero_5xx failed") for x in r["reasons"]), r["reasons"]
    # The watch caught it and rolled back: the good colour is live and healthy, nothing left behind.
    assert r["engine"] == "rolled_back" and r["verdicts"]["post_switch_watch"]["passed"] is False
    assert r["final"]["live"] == before and r["final"]["live_healthy"]
    assert not r["final"]["faults_left"] and not r["final"]["load_left"]
    # The fault itself stayed inside its budget: the failure is the release's, not the drill's.
    assert [f["spent_errors"] for f in r["faults"]] == [0]
