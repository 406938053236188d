"""The sign-flip permutation test on per-unit differences, and the interval that inverts it.

A paired comparison whose pairs are not independent (items that share a cluster id, or an
item asked over several epochs) is made on *units*: each unit contributes the sum of its
differences (A minus B) and a weight (its number of pairs). If the two sides do not
differ, they are exchangeable inside every unit, so each unit's sum is as likely to have
come out with the opposite sign. The test statistic is the total of the sums; its null
distribution is the total under every pattern of unit signs.

- Up to `EXACT_MAX_UNITS` units the 2^k patterns are all enumerated: the p-value is exact
  whatever the number of clusters, where a cluster bootstrap is badly anti-conservative
  with few (it resamples 8 clusters as if they were the population). With k units the
  smallest possible two-sided p-value is 2 / 2^k, so 5 or fewer units can never reach
  p < 0.05: the test says "not enough evidence" rather than inventing it.
- Above that, `DRAWS` random patterns from a fixed seed (p = (1 + hits) / (1 + draws),
  which keeps the test valid); over 128 units, units with the same (sum, weight) are
  flipped together as a binomial count, so 0/1 or partial-credit scores over many items
  stay quick.
- With over 400 distinct unit values, the normal limit of the same distribution (mean
  0, variance the sum of squared unit sums), which at that size is within a hair of it.

The 95% interval is the set of shifts ``d`` the same test does not reject when every
pair's difference is moved by ``d`` (unit sums minus ``d`` x weight): it agrees with the
p-value by construction (0 lies outside it exactly when p < 0.05, up to the search's
precision). With a ``weight`` of the baseline's per-unit totals the same routine tests a
ratio (candidate over baseline minus 1), which the regression check uses for cost.

Level and seed are those of every test (`evalkit.analysis.stats`). scipy's
``permutation_test`` gives the same exact p-values (a test checks it) but draws its
patterns anew per call and takes one data set at a time; inverting the test needs the
same patterns at dozens of shifts, which here reuse one set of flipped totals.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from evalkit.analysis.stats import ALPHA, SEED, Z95

EXACT_MAX_UNITS = 16
"""Up to this many units every one of the 2^k sign patterns is enumerated (65,536 at 16)."""
DRAWS = 10_000
"""Random sign patterns above `EXACT_MAX_UNITS` units (Monte Carlo SE of p at 0.05: 0.002)."""
_ONE_BY_ONE_MAX_UNITS = 128
"""Up to this many units each pattern flips every unit; above, units of equal value together."""
_MAX_CELLS = 4_000_000
"""Patterns x distinct unit values above which the normal limit is used instead of draws
(then there are over 128 units and 400 distinct values: the limit is within a hair)."""
_SEARCH_STEPS = 20
"""Bisection steps per interval end: found to 2^-20 of its bracket (0.0002 pts for a score difference)."""


@dataclass(frozen=True)
class SignFlip:
    """A sign-flip test of "no difference" and its 95% interval."""

    estimate: float
    """Sum of the unit sums over the sum of the weights: the mean difference (or ratio - 1)."""
    p_value: float
    """Two-sided: share of sign patterns whose total is at least as far from 0 as observed."""
    low: float
    high: float
    """Ends of the 95% interval (clipped to the bounds given)."""
    method: str
    """``sign-flip-exact`` (every pattern), ``sign-flip`` (random patterns) or ``sign-flip-normal``."""
    units: int
    """Independent units the test rests on."""


def sign_flip(sums: np.ndarray, weights: np.ndarray, bounds: tuple[float, float] = (-1.0, 1.0)) -> SignFlip:
    """Test that the per-unit ``sums`` (of differences) are centred on 0; see the module docstring.

    ``bounds`` are the values the estimate can take at all (a mean difference of scores in
    [0, 1] lies in [-1, 1]); an interval end the data cannot pin down is the bound.
    """
    sums, weights = np.asarray(sums, float), np.asarray(weights, float)
    total, weight = float(sums.sum()), float(weights.sum())
    estimate = total / weight
    flipped = _flipped_totals(sums, weights)
    if flipped is None:
        p, low, high = _normal_limit(sums, weights, bounds)
        return SignFlip(estimate, p, low, high, "sign-flip-normal", len(sums))
    null_sums, null_weights, exact = flipped
    scale = float(np.abs(sums).sum() + np.abs(weights).sum()) + 1.0

    def p_at(shift: float) -> float:
        observed = abs(total - shift * weight)
        null = np.abs(null_sums - shift * null_weights)
        # a pattern ties the observed total when equal up to rounding of the sums
        hits = int(np.count_nonzero(null >= observed - 1e-9 * scale * (1 + abs(shift))))
        return hits / len(null) if exact else (hits + 1) / (len(null) + 1)

    low = _interval_end(p_at, estimate, bounds[0])
    high = _interval_end(p_at, estimate, bounds[1])
    p = min(1.0, p_at(0.0))
    if p > ALPHA:  # p steps at the shifts where a unit's sum crosses 0, often at 0 itself:
        low, high = min(low, 0.0), max(high, 0.0)  # an end found a hair off 0 keeps 0 inside
    return SignFlip(estimate, p, low, high, "sign-flip-exact" if exact else "sign-flip", len(sums))


def _all_flips(values: np.ndarray) -> np.ndarray:
    """The total of ``values`` under every one of the 2^k sign patterns (any order).

    Built by doubling, one unit at a time (totals so far plus and minus the next value):
    2^(k+1) additions and no matrix product, whose threads only contend on a busy machine.
    """
    totals = np.zeros(1)
    for value in values:
        totals = np.concatenate([totals + value, totals - value])
    return totals


@functools.lru_cache(maxsize=2)
def _random_signs(k: int) -> np.ndarray:
    """`DRAWS` random patterns of k signs from the fixed seed (kept: they depend on k alone)."""
    rng = np.random.default_rng(SEED)
    bits = np.unpackbits(rng.integers(0, 256, size=(DRAWS, (k + 7) // 8), dtype=np.uint8), axis=1)[:, :k]
    return 1.0 - 2.0 * bits


def _flipped_totals(sums: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Totals of the sums and of the weights under each sign pattern; True when exact.

    None when random patterns would be too many draws to be quick (the normal limit then).
    """
    k = len(sums)
    if k <= EXACT_MAX_UNITS:
        return _all_flips(sums), _all_flips(weights), True
    if k <= _ONE_BY_ONE_MAX_UNITS:
        signs = _random_signs(k)
        # einsum's own loop, not a threaded matrix product (see `_all_flips`)
        return np.einsum("ij,j->i", signs, sums), np.einsum("ij,j->i", signs, weights), False
    rng = np.random.default_rng(SEED)
    values, counts = np.unique(np.column_stack([sums, weights]), axis=0, return_counts=True)
    if len(counts) * DRAWS > _MAX_CELLS:
        return None
    # c units of one value, each flipped at random, add up to (2 Binomial(c, 1/2) - c) of it
    net = 2.0 * rng.binomial(counts, 0.5, size=(DRAWS, len(counts))) - counts
    return net @ values[:, 0], net @ values[:, 1], False


def _interval_end(p_at, estimate: float, bound: float) -> float:
    """The end of {shift : p(shift) > ALPHA} between the estimate and ``bound``.

    p is 1 at the estimate and falls towards the bound, in steps and not always
    monotonically (the patterns are discrete): the end is where the bisection finds p
    crossing ALPHA. An infinite bound is bracketed first, by doubling.
    """
    if math.isinf(bound):
        step = max(1.0, abs(estimate))
        outer = estimate + math.copysign(step, bound)
        while p_at(outer) > ALPHA:
            step *= 2
            if step > 1e9:
                return bound
            outer = estimate + math.copysign(step, bound)
    elif p_at(bound) > ALPHA:
        return bound
    else:
        outer = bound
    inner = estimate
    for _ in range(_SEARCH_STEPS):
        middle = (inner + outer) / 2
        if p_at(middle) > ALPHA:
            inner = middle
        else:
            outer = middle
    return inner  # the farthest shift found that the test does not reject


def _normal_limit(sums: np.ndarray, weights: np.ndarray, bounds: tuple[float, float]) -> tuple[float, float, float]:
    """p-value and interval from the normal limit of the sign-flip distribution.

    Under "no difference" the total has mean 0 and variance sum(sums^2); the interval is
    {d : (S - d W)^2 <= z^2 sum((s - d w)^2)}, a quadratic in d.
    """
    total, weight = float(sums.sum()), float(weights.sum())
    var = float(np.sum(sums**2))
    p = 1.0 if var == 0 else math.erfc(abs(total) / math.sqrt(var) / math.sqrt(2))
    z2 = Z95**2
    a = weight**2 - z2 * float(np.sum(weights**2))
    b = -2 * (total * weight - z2 * float(np.sum(sums * weights)))
    c = total**2 - z2 * var
    if a <= 0:  # too few units for the interval to close
        return p, bounds[0], bounds[1]
    root = math.sqrt(max(b * b - 4 * a * c, 0.0))
    low, high = (-b - root) / (2 * a), (-b + root) / (2 * a)
    return p, max(bounds[0], low), min(bounds[1], high)
