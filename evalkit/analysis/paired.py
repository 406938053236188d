"""Paired tests: two models (or one model in two runs) on the very same items.

Pairs are joined on (suite, sample_id, epoch). With 0/1 scores and independent pairs (no
cluster ids, one epoch per sample) the test is exact McNemar with Newcombe's hybrid score
interval (`evalkit.analysis.stats`); otherwise the sign-flip permutation test over units
(clusters, or samples with their epochs), which stays exact with few clusters
(`evalkit.analysis.sign_flip`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.analysis.frame import prepare
from evalkit.analysis.sign_flip import sign_flip
from evalkit.analysis.stats import mcnemar_exact_p, newcombe_paired

FEW_UNITS = 20
"""Paired tests resting on fewer independent units (clusters) than this are flagged in the
verdict: the sign-flip test stays exact, but only large differences can be significant."""


@dataclass(frozen=True)
class PairedResult:
    """Model A minus model B on the samples both answered (same suite, sample id, epoch)."""

    n: int
    """Number of matched (suite, sample_id, epoch) pairs."""
    mean_diff: float
    """Mean score of A minus mean score of B over the pairs (0.015 = 1.5 points)."""
    low: float
    """Lower end of the 95% interval for ``mean_diff``."""
    high: float
    """Upper end of the 95% interval for ``mean_diff``."""
    p_value: float
    """Two-sided p-value for "no difference"; NaN when there are no pairs."""
    method: str
    """``mcnemar-exact`` (0/1 scores, independent pairs; interval: Newcombe's hybrid score),
    else the sign-flip test over units: ``sign-flip-exact`` (every sign pattern, up to 16
    units), ``sign-flip`` (random patterns) or ``sign-flip-normal`` (very many distinct units)."""
    units: int = 0
    """Independent units the test rests on: pairs for McNemar, else clusters (or samples
    with their epochs). Below `FEW_UNITS` only large differences can be significant."""


def paired_test(records: pd.DataFrame, model_a: str, model_b: str) -> PairedResult:
    """Compare two models on the very same samples: A minus B.

    Pairs are joined on (suite, sample_id, epoch). With 0/1 scores and independent pairs
    (no cluster ids, one epoch per sample): exact two-sided McNemar test with Newcombe's
    hybrid score interval. Otherwise the sign-flip permutation test on the per-unit sums
    of differences (units: clusters, or samples, which hold their epochs): exact over all
    2^k sign patterns up to 16 units, fixed-seed random patterns above; its interval is
    the set of shifts that test does not reject (see `evalkit.analysis.sign_flip`).
    """
    return paired_prepared(prepare(records), model_a, model_b)


def paired_prepared(prep: pd.DataFrame, model_a: str, model_b: str,
                    side_b: pd.DataFrame | None = None) -> PairedResult:
    """`paired_test` on prepared records (the verdict prepares them once for all pairs,
    and makes the best model's side, ``side_b``, once for all its comparisons)."""
    pairs = _paired_frame(prep, model_a, model_b, side_b)
    if pairs.empty:
        return PairedResult(0, math.nan, math.nan, math.nan, math.nan, "no shared samples")
    sa, sb = pairs["score_a"].to_numpy(float), pairs["score_b"].to_numpy(float)
    binary = bool(np.isin(sa, (0.0, 1.0)).all() and np.isin(sb, (0.0, 1.0)).all())
    independent = not pairs.duplicated(["suite", "unit_a"]).any()
    if binary and independent:
        return _mcnemar_result(sa, sb)
    return _sign_flip_paired(pairs)


def paired_runs(baseline: pd.DataFrame, candidate: pd.DataFrame, model: str,
                suite: str | None = None) -> PairedResult:
    """One model in two runs on the items both answered: candidate minus baseline.

    The same test as `paired_test` (exact McNemar for independent 0/1 pairs, else the
    sign-flip test over clusters or samples), with the two runs in place of two models. Items
    only one run answered are left out; ``n`` counts the pairs.
    """
    sides = []
    for name, frame in (("candidate", candidate), ("baseline", baseline)):
        rows = frame.loc[frame["model"].astype(str) == model]
        if suite is not None:
            rows = rows.loc[rows["suite"].astype(str) == suite]
        sides.append(rows.assign(model=name))
    return paired_test(pd.concat(sides, ignore_index=True), "candidate", "baseline")


def paired_units_test(sums: np.ndarray, sizes: np.ndarray) -> PairedResult:
    """The paired test on per-unit sums of differences (A minus B) and unit sizes.

    A unit is a cluster, or a sample with its epochs. The test is the sign-flip
    permutation test of `evalkit.analysis.sign_flip` (exact up to 16 units, so it holds with few
    clusters), with the interval that inverts it. This is the core of `paired_test` for
    non-0/1 scores or dependent pairs, exposed so that simulations can call it on arrays
    without building frames.
    """
    sizes = np.asarray(sizes, float)
    result = sign_flip(sums, sizes)
    return PairedResult(int(sizes.sum()), result.estimate, result.low, result.high, result.p_value,
                        result.method, units=result.units)


def side_of(prep: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's score and unit per (suite, sample_id, epoch): one side of a pairing."""
    # A repeated key (e.g. two runs merged) is averaged rather than multiplying pairs.
    rows = prep.loc[prep["model"] == model]
    return rows.groupby(["suite", "sample_id", "epoch"], sort=True, observed=True).agg(
        score=("score", "mean"), unit=("unit", "first"))


def _paired_frame(prep: pd.DataFrame, model_a: str, model_b: str,
                  side_b: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (suite, sample_id, epoch) both models answered: score_a, score_b, unit.

    ``side_b`` is `side_of` of ``model_b`` when the caller already has it.
    """
    side_b = side_of(prep, model_b) if side_b is None else side_b
    joined = side_of(prep, model_a).merge(side_b, how="inner", left_index=True,
                                          right_index=True, suffixes=("_a", "_b"))
    return joined.reset_index()


def _mcnemar_result(sa: np.ndarray, sb: np.ndarray) -> PairedResult:
    a = int(np.sum((sa == 1) & (sb == 1)))
    b = int(np.sum((sa == 1) & (sb == 0)))
    c = int(np.sum((sa == 0) & (sb == 1)))
    d = len(sa) - a - b - c
    low, high = newcombe_paired(a, b, c, d)
    p_value = mcnemar_exact_p(b, c)
    return PairedResult(len(sa), (b - c) / len(sa), low, high, p_value, "mcnemar-exact", units=len(sa))


def _sign_flip_paired(pairs: pd.DataFrame) -> PairedResult:
    """Sign-flip test of the mean difference over units (clusters, or samples with epochs)."""
    diff = pairs["score_a"] - pairs["score_b"]
    units = diff.groupby([pairs["suite"], pairs["unit_a"]], sort=False, observed=True)
    return paired_units_test(units.sum().to_numpy(float), units.size().to_numpy(float))
