"""harness.verdicts.stats against reference values computed with SciPy 1.17 (fisher_exact / mannwhitneyu, one-sided)."""
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.verdicts.stats import exceedance_greater, fisher_greater, mann_whitney_greater, percentile


@pytest.mark.parametrize("table, expected", [
    ((3, 50, 0, 100), 0.035552330854344276),
    ((5, 40, 2, 200), 0.0016661383912746266),
    ((0, 10, 0, 10), 1.0),
    ((10, 100, 10, 100), 0.5928511035198102),
    ((1, 1000, 0, 5), 0.9950248756218906),
])
def test_fisher_matches_scipy(table, expected):
    assert fisher_greater(*table) == pytest.approx(expected, rel=1e-9)


def test_mann_whitney_matches_scipy_with_ties():
    u, p = mann_whitney_greater([1, 1, 2, 2, 2, 3], [1, 2, 2, 3, 3, 3, 4])
    assert u == 30.5 and p == pytest.approx(0.08845593659724332, rel=1e-9)


def test_mann_whitney_sees_a_shift_and_not_its_absence():
    before = [100.0 + (i % 17) for i in range(200)]
    assert mann_whitney_greater(before, [3 * v for v in before])[1] < 1e-10
    assert mann_whitney_greater(before, list(before))[1] > 0.4
    assert mann_whitney_greater(before, [v / 3 for v in before])[1] > 0.99  # faster is not worse


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_fisher_is_a_probability_and_more_failures_after_only_lower_it(a, b, c, d):
    n_after, n_before = a + b, c + d
    p = fisher_greater(a, n_after, c, n_before)
    assert 0.0 <= p <= 1.0
    if b > 0:  # one more failure after (same sample size) is never less suspicious
        assert fisher_greater(a + 1, n_after, c, n_before) <= p + 1e-12


def test_percentile_nearest_rank():
    vals = sorted(float(i) for i in range(1, 101))
    assert percentile(vals, 50) == 50.0 and percentile(vals, 99) == 99.0 and percentile(vals, 100) == 100.0
    assert percentile([], 95) == 0.0


def test_fisher_refuses_impossible_tables():
    with pytest.raises(ValueError):
        fisher_greater(5, 3, 0, 10)


@pytest.mark.parametrize("n_after, n_before", [(1, 1), (2, 5), (3, 4), (4, 6), (5, 3)])
def test_exceedance_test_matches_counting_every_order(n_after, n_before):
    """P(X >= x) against enumerating every equally likely ranking of the pooled samples (the null)."""
    n = n_after + n_before
    for m in range(n_before):
        counts = [0] * (n_after + 1)
        for after_ranks in itertools.combinations(range(n), n_after):  # ranks from the slowest down
            before_seen, x = 0, 0
            for r in range(n):
                if r in after_ranks:
                    x += before_seen <= m
                else:
                    before_seen += 1
            counts[x] += 1
        total = sum(counts)
        for x in range(1, n_after + 1):
            assert exceedance_greater(n_after, n_before, m, x) == pytest.approx(sum(counts[x:]) / total, rel=1e-9)


def test_exceedance_test_has_power_on_a_handful_and_none_on_nothing():
    assert exceedance_greater(17, 60, 3, 17) < 1e-10      # every one of 17 above the baseline's p95
    assert exceedance_greater(8, 60, 3, 8) < 1e-6
    assert exceedance_greater(8, 60, 3, 1) > 0.3         # one above it: what chance gives
    assert exceedance_greater(8, 60, 3, 0) == 1.0
