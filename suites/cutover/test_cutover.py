"""The cutover certification: one real switch under checkout load, each verdict its own test so the JUnit
output names exactly what failed."""
import pytest

pytestmark = pytest.mark.cutover


def _assert_verdict(cert, name):
    v = cert.verdict(name)
    assert v["passed"], f"{name}: {v['detail']} (value={v['value']}, bound={v['bound']}) evidence={v.get('evidence', [])[:5]}"


def test_gate_let_the_release_through(certification):
    _assert_verdict(certification, "gate")


def test_zero_5xx(certification):
    _assert_verdict(certification, "zero_5xx")


def test_zero_transport_errors(certification):
    _assert_verdict(certification, "zero_transport_errors")


def test_sessions_intact(certification):
    _assert_verdict(certification, "sessions_intact")


def test_converged(certification):
    _assert_verdict(certification, "converged")


def test_orders_reconciled(certification):
    _assert_verdict(certification, "orders_reconciled")


def test_latency_by_phase(certification):
    _assert_verdict(certification, "latency_by_phase")


def test_static_assets_consistent(certification):
    _assert_verdict(certification, "static_assets_consistent")


def test_ledger_matches_locust_total(certification):
    _assert_verdict(certification, "ledger_complete")


def test_new_release_is_live(certification, gl_target):
    out = certification.outcome
    assert out.switched and not out.rolled_back, out.rolled_back or out.refused or out.error
    assert gl_target.live_colour() == out.to_colour
