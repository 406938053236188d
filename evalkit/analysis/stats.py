"""The statistics under every figure: accuracy intervals, the exact McNemar test, the bootstrap.

Functions of plain numbers and arrays, no frames: `evalkit.analysis.summary` and
`evalkit.analysis.paired` apply them to records. Where a library has the method it is
called (scipy, imported on first use); what stays written out here is closed-form and
says why:

- `wilson`: the Wilson score interval is closed-form, and the design-effect interval
  needs it at a fractional n (n / design effect), which scipy's
  ``binomtest(...).proportion_ci(method="wilson")`` (integer counts only) cannot take; a
  test pins the two together on integer counts.
- `newcombe_paired`: Newcombe's (1998) method 10, which no installed library has.
- `design_effect`, the bootstrap: evalkit's own estimator choices (ICC clipped to [0, 1],
  a multinomial shortcut for few distinct values), each documented where it is made.

The tail of the exact McNemar test is scipy's binomial distribution function
(``scipy.special.bdtr``, which loads in a quarter of the time `scipy.stats` takes: every
verdict needs it); a test pins it to ``scipy.stats.binomtest`` on a grid.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

ALPHA = 0.05
"""Significance level of every paired test, and 1 - the level of every interval (95%)."""
Z95 = 1.959963984540054
"""Two-sided 95% standard-normal quantile, ``scipy.stats.norm.ppf(0.975)`` (a test checks it)."""
BOOTSTRAP_B = 2000
"""Bootstrap replicates."""
SEED = 20_240_917
"""Seed of every bootstrap and random sign pattern, so the same records always give the
same numbers."""

# Bootstrap cost control. Resampling N units B times costs B*N draws; when the units take
# few distinct values (0/1 scores, partial credit in steps, equal clusters) drawing
# multinomial counts over the distinct values is the same distribution for B*K draws.
_MULTINOMIAL_MAX_K = 64
_RESAMPLE_MAX_CELLS = 20_000_000
_RESAMPLE_CHUNK_CELLS = 2_000_000


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` of ``n``; ``n`` may be fractional (an
    effective sample size). NaN for n <= 0."""
    if n <= 0:
        return (math.nan, math.nan)
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denom
    # At p = 0 or 1 the bound is exactly 0 or 1; say so rather than print 5e-17.
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return (low, high)


def design_effect(sizes: np.ndarray, sums: np.ndarray, sumsq: np.ndarray) -> float:
    """Kish design effect 1 + (m - 1) * ICC for a mean over clusters.

    ICC is the one-way ANOVA estimator (unequal cluster sizes handled through n0);
    m = sum(size^2) / N is the size-weighted mean cluster size. ICC is clipped to
    [0, 1]: a negative estimate would narrow the interval below the independent one,
    which clustering cannot justify. A single cluster gives no between-cluster
    information, so it counts as one observation.
    """
    total, k = float(sizes.sum()), len(sizes)
    if k == total:  # every unit is a single record: nothing to correct
        return 1.0
    if k < 2:
        return total
    grand = sums.sum() / total
    between = float(np.sum(sums**2 / sizes) - total * grand**2)
    within = float(np.sum(sumsq - sums**2 / sizes))
    msb, msw = between / (k - 1), within / (total - k)
    n0 = (total - np.sum(sizes**2) / total) / (k - 1)
    denom = msb + (n0 - 1) * msw
    icc = 0.0 if denom <= 0 else min(max((msb - msw) / denom, 0.0), 1.0)
    m = float(np.sum(sizes**2) / total)
    return 1.0 + (m - 1.0) * icc


def bootstrap_ratios(sums: np.ndarray, sizes: np.ndarray, seed: int = SEED) -> np.ndarray | None:
    """B bootstrap replicates of sum(sums) / sum(sizes), resampling units with replacement.

    Returns None when the resampling would be too large to be quick (many thousands of
    distinct units); the caller then uses the normal approximation, which the bootstrap
    matches closely at that size.
    """
    rng = np.random.default_rng(seed)
    # Hash-based distinct (sum, size) pairs; np.unique(axis=0) sorts and is far slower.
    tally = pd.DataFrame({"sum": sums, "size": sizes}).value_counts(sort=False)
    distinct = tally.index.to_frame().to_numpy(float)
    counts = tally.to_numpy(float)
    n_units = len(sums)
    if len(distinct) <= _MULTINOMIAL_MAX_K:
        draws = rng.multinomial(n_units, counts / n_units, size=BOOTSTRAP_B).astype(float)
        return (draws @ distinct[:, 0]) / (draws @ distinct[:, 1])
    if n_units * BOOTSTRAP_B > _RESAMPLE_MAX_CELLS:
        return None
    rows = max(1, _RESAMPLE_CHUNK_CELLS // n_units)
    out = np.empty(BOOTSTRAP_B)
    for start in range(0, BOOTSTRAP_B, rows):
        stop = min(start + rows, BOOTSTRAP_B)
        idx = rng.integers(0, n_units, size=(stop - start, n_units))
        out[start:stop] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    return out


def normal_ratio_interval(sums: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """Normal interval for a ratio mean with the cluster-robust (linearised) variance."""
    total, k = sizes.sum(), len(sizes)
    mean = sums.sum() / total
    if k < 2:
        return (math.nan, math.nan)
    var = k / (k - 1) * np.sum((sums - mean * sizes) ** 2) / total**2
    half = Z95 * math.sqrt(var)
    return (mean - half, mean + half)


def bootstrap_interval(sums: np.ndarray, sizes: np.ndarray) -> tuple[float, float, str]:
    """Percentile bootstrap interval of a mean over units, with its method: ``bootstrap``,
    ``cluster-bootstrap`` (units of several records), or ``normal`` when too large."""
    clustered = bool(np.any(sizes > 1))
    draws = bootstrap_ratios(sums, sizes)
    if draws is None:
        return (*normal_ratio_interval(sums, sizes), "normal")
    low, high = np.percentile(draws, [2.5, 97.5])
    return (float(low), float(high), "cluster-bootstrap" if clustered else "bootstrap")


def mcnemar_exact_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: the binomial test of b against c discordant pairs
    at 1/2, 2 P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), at most 1."""
    from scipy.special import bdtr

    if b + c == 0:
        return 1.0
    return min(1.0, 2.0 * float(bdtr(min(b, c), b + c, 0.5)))


def newcombe_paired(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Newcombe (1998) method 10 interval for p1 - p2 from a paired 2x2 table.

    ``a``: both right, ``b``: only A right, ``c``: only B right, ``d``: both wrong.
    Combines the Wilson intervals of both margins with their correlation phi ("square and
    add"), so the interval stays inside [-1, 1] and agrees with McNemar far better than
    Wald does.
    """
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(p1, n)
    l2, u2 = wilson(p2, n)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    # Newcombe's phi: a positive cross-product difference is shrunk by n/2 (a continuity
    # correction that keeps the interval from being too narrow in small tables).
    cross = a * d - b * c
    if margins == 0 or 0 <= cross <= n / 2:
        phi = 0.0
    else:
        phi = (cross - n / 2 if cross > 0 else cross) / math.sqrt(margins)
    delta = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    eps = math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    diff = p1 - p2
    return (max(-1.0, diff - delta), min(1.0, diff + eps))
