"""The rollback drill: cut over to the idle colour, then back again under the same traffic."""
import pytest

pytestmark = pytest.mark.rollback


def _assert_verdict(cert, name):
    v = cert.verdict(name)
    assert v["passed"], f"{name}: {v['detail']} (value={v['value']}, bound={v['bound']}) evidence={v.get('evidence', [])[:5]}"


@pytest.mark.parametrize("name", ["zero_5xx", "zero_transport_errors", "sessions_intact", "orders_reconciled",
                                  "rollback_converged"])
def test_rollback_verdict(rollback_drill, name):
    _assert_verdict(rollback_drill, name)


def test_old_release_serves_again(rollback_drill, gl_target):
    from harness.cutover import live_release

    out = rollback_drill.outcome
    assert out.switched and out.rolled_back == "rollback drill", out.refused or out.error or out.rolled_back
    assert gl_target.live_colour() == out.from_colour
    assert live_release(gl_target) == out.from_release
