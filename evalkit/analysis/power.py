"""Power of the exact McNemar test: what a suite of a given size can detect, and how many
items a difference needs.

Two sets of 0/1 answers on the same items (two models, or one model on two nights) differ
on a share of the items, the *discordance*; the exact McNemar test looks only at those.
Power is summed exactly over the number of discordant items, so the discreteness of the
exact test is priced in, with scipy's binomial distribution (imported on first use: only
`evalkit power` and simulations need it). Above `EXACT_POWER_MAX_ITEMS` items Connor's
(1987) normal approximation takes over.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from evalkit.analysis.stats import ALPHA

POWER = 0.80
"""Power the sample-size figures aim for: a real difference is found 80% of the time."""


@dataclass(frozen=True)
class PowerResult:
    """What a planned suite size can detect, for two sets of 0/1 answers on the same items."""

    items: int
    """Items in the planned suite (each asked ``epochs`` times)."""
    discordance: float
    """Assumed share of items the two sides answer differently (one right, one wrong)."""
    design_effect: float
    """Variance inflation from clustered items; the suite counts as ``items / design_effect``."""
    alpha: float
    power: float
    min_detectable_diff: float
    """Smallest accuracy difference (0.05 = 5 points) found with probability ``power`` by
    the exact McNemar test at level ``alpha``; NaN when no difference up to the
    discordance can be."""
    target_diff: float | None = None
    items_for_target: int | None = None
    """Items needed to detect ``target_diff`` with probability ``power``."""


EXACT_POWER_MAX_ITEMS = 5000
"""Above this many (effective) items power uses Connor's normal approximation, which is
then within a fraction of a percent of the exact figure and far quicker."""
_NEGLIGIBLE = 1e-12
"""Counts of discordant items less likely than this are left out of the power sum."""


@functools.lru_cache(maxsize=64)
def _discordant_counts(items: int, discordance: float, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every likely count m >= 1 of discordant items, its probability, and the exact test's
    critical count at m: it rejects when the smaller side has at most that many."""
    from scipy.stats import binom

    counts = np.arange(1, items + 1)
    chance = binom.pmf(counts, items, discordance)
    likely = chance > _NEGLIGIBLE
    counts, chance = counts[likely], chance[likely]
    # the largest k with 2 P(X <= k) < alpha for X ~ Binomial(m, 1/2); -1 when none
    critical = binom.ppf(alpha / 2, counts, 0.5) - 1
    return counts, chance, critical


def mcnemar_power(items: int, discordance: float, diff: float, alpha: float = ALPHA) -> float:
    """Probability that the two-sided exact McNemar test at ``alpha`` finds ``diff``.

    Model: each of ``items`` pairs is discordant with probability ``discordance``; a
    discordant pair favours the better side with probability (discordance + diff) /
    (2 * discordance). Summed exactly over the number of discordant pairs (counts less
    likely than 1e-12 left out), so the discreteness of the exact test is priced in; above
    `EXACT_POWER_MAX_ITEMS` items, Connor's (1987) normal approximation.
    """
    from scipy.stats import binom, norm

    if abs(diff) > discordance:
        return math.nan
    if items <= 0 or discordance <= 0:
        return 0.0
    if items > EXACT_POWER_MAX_ITEMS:
        spread = math.sqrt(max(discordance - diff**2, 1e-300))
        z = (abs(diff) * math.sqrt(items) - norm.ppf(1 - alpha / 2) * math.sqrt(discordance)) / spread
        return float(norm.cdf(z))
    counts, chance, critical = _discordant_counts(int(items), float(discordance), float(alpha))
    if len(counts) == 0:
        return 0.0
    q = min((discordance + abs(diff)) / (2 * discordance), 1 - 1e-12)
    # the smaller side is at most k on either side: k or fewer wins, or k or fewer losses
    reject = binom.cdf(critical, counts, q) + binom.sf(counts - critical - 1, counts, q)
    return float(min(np.sum(chance * reject), 1.0))


def min_detectable_difference(items: float, discordance: float, alpha: float = ALPHA,
                              power: float = POWER) -> float:
    """Smallest accuracy difference found with probability ``power`` (exact McNemar).

    Rounded up to a tenth of a point (0.001), so that the difference promised is one the
    test really finds at least that often. ``items`` may be an effective size (items /
    design effect). NaN when even a difference as large as the discordance is found less
    often than ``power``.
    """
    n = math.floor(items)
    if n < 1 or mcnemar_power(n, discordance, discordance, alpha) < power:
        return math.nan
    low, high = 0.0, discordance
    for _ in range(40):  # bisection to ~1e-12 of the discordance
        mid = (low + high) / 2
        if mcnemar_power(n, discordance, mid, alpha) >= power:
            high = mid
        else:
            low = mid
    return min(math.ceil(high * 1000 - 1e-9) / 1000, discordance)


def items_needed(diff: float, discordance: float, alpha: float = ALPHA, power: float = POWER,
                 design_effect: float = 1.0) -> int:
    """Items a suite needs so that a true difference ``diff`` is found with ``power``."""
    if not 0 < abs(diff) <= discordance:
        raise ValueError("the difference must be above 0 and at most the discordance")
    from scipy.stats import norm

    # Connor (1987) normal approximation as a starting bracket, then exact bisection.
    z_a, z_b = norm.ppf(1 - alpha / 2), norm.ppf(power)
    approx = (z_a * math.sqrt(discordance) + z_b * math.sqrt(discordance - diff**2)) ** 2 / diff**2
    low, high = 1, max(2, int(approx * 2) + 10)
    while mcnemar_power(high, discordance, diff, alpha) < power:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if mcnemar_power(mid, discordance, diff, alpha) >= power:
            high = mid
        else:
            low = mid
    return math.ceil(high * design_effect)


def default_discordance(accuracy: float) -> float:
    """Discordance of two sides of this accuracy whose errors are unrelated: 2p(1 - p).

    Real pairs agree more than that (two nightly runs of one model often differ on only a
    few percent of items), so this errs towards asking for more items.
    """
    return 2 * accuracy * (1 - accuracy)


def power_analysis(items: int, accuracy: float = 0.7, discordance: float | None = None,
                   target_diff: float | None = None, design_effect: float = 1.0,
                   alpha: float = ALPHA, power: float = POWER) -> PowerResult:
    """What a suite of ``items`` can detect at level ``alpha`` with ``power``; see `PowerResult`."""
    disc = default_discordance(accuracy) if discordance is None else discordance
    if not 0 < disc <= 1:
        raise ValueError("discordance must be in (0, 1]")
    mde = min_detectable_difference(items / design_effect, disc, alpha, power)
    needed = None
    if target_diff is not None:
        needed = items_needed(target_diff, disc, alpha, power, design_effect)
    return PowerResult(items=items, discordance=disc, design_effect=design_effect, alpha=alpha,
                       power=power, min_detectable_diff=mde, target_diff=target_diff,
                       items_for_target=needed)
