"""report/rollback_timing.py: how fast a caught release left service, from the run's ledger."""
from __future__ import annotations

from synthetic_run import T0, make_run

from harness.ledger.records import load
from harness.report.rollback_timing import rollback_timing


def test_a_rolled_back_run_is_timed_from_its_first_failed_request(tmp_path):
    make_run(tmp_path / "run", kind="rolled_back")   # green fails place order from the switch (T0+21) on
    led = load(tmp_path / "run" / "ledger")
    rb = rollback_timing(led, ["green-1", "green-2"])
    first = rb["first_failure"]
    assert T0 + 21 <= first < T0 + 24.01                       # a failure on the new colour, before the rollback
    assert rb["rollback_start_s"] == round(T0 + 24.01 - first, 3)
    assert rb["rollback_start_s"] <= rb["old_serving_s"] <= rb["converged_s"]
    assert rb["customers_hurt"] >= 1 and rb["requests_failed"] >= rb["customers_hurt"]


def test_no_rollback_no_timing_and_no_failure_no_figures(tmp_path):
    make_run(tmp_path / "a", kind="passed")
    assert rollback_timing(load(tmp_path / "a" / "ledger"), ["green-1", "green-2"]) is None
    make_run(tmp_path / "b", kind="rolled_back")
    rb = rollback_timing(load(tmp_path / "b" / "ledger"), ["nobody-1"])   # no failure on the nodes named new
    assert rb["first_failure"] is None and rb["customers_hurt"] == 0
