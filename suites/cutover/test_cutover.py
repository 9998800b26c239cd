"""The cutover certification: one real switch under checkout load, one test per registered verdict so the JUnit
output names exactly what failed (a verdict added to harness/verdicts is tested here without editing this file)."""
import pytest

from harness.pytest_plugin import assert_verdict
from harness.verdicts import names

pytestmark = pytest.mark.cutover


@pytest.mark.parametrize("name", names())
def test_verdict(certification, name):
    assert_verdict(certification, name)


def test_new_release_is_live(certification, gl_target):
    out = certification.outcome
    assert out.switched and not out.rolled_back, out.rolled_back or out.refused or out.error
    assert gl_target.live_colour() == out.to_colour
