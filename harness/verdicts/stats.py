"""Small exact/non-parametric tests the verdicts use (no SciPy needed; each checked against SciPy's values in
tests/test_stats.py): Fisher's exact test for failure rates, Mann-Whitney U for latency distributions."""
from __future__ import annotations

import math


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(fail_after: int, n_after: int, fail_before: int, n_before: int) -> float:
    """One-sided Fisher's exact p-value that the failure rate after is greater than before.

    Conditioning on the total failures, the failures after follow a hypergeometric law; p = P(X >= fail_after)."""
    if not (0 <= fail_after <= n_after and 0 <= fail_before <= n_before):
        raise ValueError("failures must lie between 0 and their sample size")
    total, fails = n_after + n_before, fail_after + fail_before
    if n_after == 0 or fails == 0:
        return 1.0
    lo, hi = max(0, fails - n_before), min(fails, n_after)
    denom = _log_comb(total, n_after)
    p = 0.0
    for x in range(max(fail_after, lo), hi + 1):
        p += math.exp(_log_comb(fails, x) + _log_comb(total - fails, n_after - x) - denom)
    return min(1.0, p)


def mann_whitney_greater(before: list[float], after: list[float]) -> tuple[float, float]:
    """One-sided Mann-Whitney U test that `after` tends to be larger than `before`.

    Returns (U of `after`, p-value) with the normal approximation, tie correction and continuity correction
    (the samples judged here are tens to thousands of requests)."""
    n1, n2 = len(after), len(before)
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = sorted([(v, 1) for v in after] + [(v, 0) for v in before])
    rank_sum_after, tie_term, i, n = 0.0, 0.0, 0, n1 + n2
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        avg_rank = (i + j) / 2 + 1
        t = j - i + 1
        if t > 1:
            tie_term += t ** 3 - t
        rank_sum_after += avg_rank * sum(1 for k in range(i, j + 1) if pooled[k][1])
        i = j + 1
    u = rank_sum_after - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if var <= 0:
        return u, 1.0
    z = (u - mean - 0.5) / math.sqrt(var)
    return u, 0.5 * math.erfc(z / math.sqrt(2))


def exceedance_greater(n_after: int, n_before: int, m: int, x: int) -> float:
    """Exact one-sided p-value of a precedence (exceedance) test: P(X >= x), where X is how many of `n_after`
    samples lie above the (m+1)-th largest of `n_before` baseline samples, when both come from one distribution.

    Under that null every order of the pooled samples is equally likely; X = k means the pooled ranking, read from
    the top, holds k after-samples before the (m+1)-th baseline sample: C(k+m, k) * C(n_after-k + n_before-m-1,
    n_after-k) of the C(n_after+n_before, n_after) orders. Exact for any sample size (Mann-Whitney's normal
    approximation is not, on a handful of samples), and robust to a few slow baseline outliers (m of them)."""
    if not (0 <= m < n_before) or n_after <= 0 or x <= 0:
        return 1.0
    denom = _log_comb(n_after + n_before, n_after)
    p = 0.0
    for k in range(x, n_after + 1):
        p += math.exp(_log_comb(k + m, k) + _log_comb(n_after - k + n_before - m - 1, n_after - k) - denom)
    return min(1.0, p)


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, math.ceil(p / 100 * len(sorted_vals)) - 1))
    return sorted_vals[k]
