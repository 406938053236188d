"""evalkit's statistics agree with scipy's on a grid of inputs.

The verdict's numbers come from a few primitives: the Wilson interval, the exact McNemar
p-value, the 95% normal quantile and the power of the exact McNemar test. Each is checked
here against scipy computing the same thing its own way (the power by brute force over
every outcome, with scipy's binomial test deciding each), so a slip in either shows.
"""

from __future__ import annotations

import functools
import itertools

import pytest
from scipy import stats

from evalkit.analysis import mcnemar_exact_p, mcnemar_power, wilson
from evalkit.analysis.stats import Z95

COUNTS = [1, 2, 3, 5, 8, 13, 20, 37, 60, 100, 250, 1000]


def test_z95_is_the_normal_quantile():
    assert pytest.approx(stats.norm.ppf(0.975), rel=1e-15) == Z95


@pytest.mark.parametrize("n", COUNTS)
def test_wilson_is_scipys_wilson_interval(n):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n} & set(range(n + 1))):
        expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = wilson(k / n, n)
        assert low == pytest.approx(expected.low, abs=1e-12), (k, n)
        assert high == pytest.approx(expected.high, abs=1e-12), (k, n)


def test_wilson_at_a_fractional_n_lies_between_its_integer_neighbours():
    """The design-effect interval takes n / design effect, which scipy cannot: at 40.5 its
    width must fall between those at 40 and 41 for the same proportion."""
    widths = [wilson(0.3, n)[1] - wilson(0.3, n)[0] for n in (40, 40.5, 41)]
    assert widths[0] > widths[1] > widths[2]


@pytest.mark.parametrize("b, c", [*itertools.product([0, 1, 2, 5, 9, 17, 30], [0, 1, 3, 6, 12, 25, 40]),
                                  (480, 500), (1000, 1100), (2000, 2100), (4, 4000)])
def test_mcnemar_exact_p_is_scipys_binomial_test(b, c):
    expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact_p(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@functools.cache
def _rejects(j: int, m: int, alpha: float) -> bool:
    return stats.binomtest(j, m, 0.5).pvalue < alpha


def _brute_force_power(items: int, discordance: float, diff: float, alpha: float = 0.05) -> float:
    """Every outcome: m discordant items of which j favour the better side, weighed by
    their binomial probabilities and counted when scipy's exact test rejects."""
    q = (discordance + diff) / (2 * discordance)
    total = 0.0
    for m in range(1, items + 1):
        p_m = stats.binom.pmf(m, items, discordance)
        for j in range(m + 1):
            if _rejects(j, m, alpha):
                total += p_m * stats.binom.pmf(j, m, q)
    return total


@pytest.mark.parametrize("items", [12, 30, 60])
@pytest.mark.parametrize("discordance", [0.1, 0.3])
@pytest.mark.parametrize("diff", [0.0, 0.05, 0.1])
def test_mcnemar_power_is_the_brute_force_sum_over_outcomes(items, discordance, diff):
    assert mcnemar_power(items, discordance, diff) == pytest.approx(
        _brute_force_power(items, discordance, diff), abs=1e-9)
