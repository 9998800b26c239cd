"""The rollback drill: cut over to the idle colour, then back again under the same traffic."""
import pytest

from harness.pytest_plugin import assert_verdict

pytestmark = pytest.mark.rollback


@pytest.mark.parametrize("name", ["zero_5xx", "zero_transport_errors", "sessions_intact", "orders_reconciled",
                                  "rollback_converged"])
def test_rollback_verdict(rollback_drill, name):
    assert_verdict(rollback_drill, name, required=True)


def test_old_release_serves_again(rollback_drill, gl_target):
    from harness.run.cutover import live_release

    out = rollback_drill.outcome
    assert out.switched and out.rolled_back == "rollback drill", out.refused or out.error or out.rolled_back
    assert out.drill and not out.breach, out.breach
    assert gl_target.live_colour() == out.from_colour
    assert live_release(gl_target) == out.from_release
