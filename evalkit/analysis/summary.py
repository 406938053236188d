"""Analysis: per-model aggregates, accuracy intervals, paired tests, Pareto frontiers, verdict.

Input is a DataFrame of per-call records with the columns of `evalkit.store.records.CallRecord`;
output is plain data (DataFrames and dataclasses) that reports render. Definitions follow
the design notes:

- A failed call (``error_class`` set) counts in ``n``, scores 0 and appears in the error rate.
- Latency percentiles use successful calls only and carry their n.
- Output speed and ITL per call are derived from its TTFT, end-to-end time and completion
  tokens by `evalkit.store.records.output_speed_tps` / `inter_token_latency_s` (the stored
  ``output_speed_tps`` column is not read, so records of any age read by one definition);
  a one-token reply has neither, and their median counts only the calls that have them
  (``speed_n``).
- An unknown price is NaN, never $0: one record of a model with unknown cost makes that
  model's cost figures NaN.
- Accuracy intervals are 95%: Wilson for 0/1 scores, percentile bootstrap otherwise.
  Records that share a cluster id (or repeat a sample over epochs) are not independent, so
  the interval is widened: for 0/1 scores Wilson with the effective n = n / design effect
  (from the intraclass correlation); otherwise a bootstrap that resamples whole clusters.
- Paired differences: exact McNemar for independent 0/1 pairs; otherwise the sign-flip
  permutation test over units (clusters, or samples with their epochs), which stays exact
  with few clusters (`evalkit.analysis.sign_flip`).

Everything is deterministic: every bootstrap and random sign pattern starts from a fixed seed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.store.records import ESTIMATED_MARK, LAG_LIMIT_MS, inter_token_latency_s, output_speed_tps
from evalkit.analysis.sign_flip import sign_flip

Z95 = 1.959963984540054
"""Two-sided 95% standard-normal quantile."""
ALPHA = 0.05
"""Significance level of the paired tests behind the verdict."""
LAG_SHARE_OF_LATENCY = 0.02
"""The fast pick takes a model's median latency as its provider's only when its median call
was timed under at most max(`LAG_LIMIT_MS`, this share of the model's median end-to-end
latency) of evalkit's own client lag. A call's client lag bounds how much of its latency
is evalkit's queueing; beyond the bound the figure is partly evalkit's, and the verdict
does not name the model fast on it."""
BOOTSTRAP_B = 2000
"""Bootstrap replicates."""
SEED = 20_240_917
"""Seed of every bootstrap, so the same records always give the same numbers."""
FEW_UNITS = 20
"""Paired tests resting on fewer independent units (clusters) than this are flagged in the
verdict: the sign-flip test stays exact, but only large differences can be significant."""

# Bootstrap cost control. Resampling N units B times costs B*N draws; when the units take
# few distinct values (0/1 scores, partial credit in steps, equal clusters) drawing
# multinomial counts over the distinct values is the same distribution for B*K draws.
_MULTINOMIAL_MAX_K = 64
_RESAMPLE_MAX_CELLS = 20_000_000
_RESAMPLE_CHUNK_CELLS = 2_000_000

_REQUIRED = ("model", "suite", "sample_id", "score")
_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "cluster": None, "epoch": 0, "error_class": None, "ttft_s": np.nan, "e2e_s": np.nan,
    "prompt_tokens": np.nan, "completion_tokens": np.nan,
    "cost_usd": np.nan, "loop_lag_ms": np.nan, "usage_source": None,
}


# ---------------------------------------------------------------------------- data types


@dataclass
class Summary:
    """Aggregates per model, overall and per suite.

    Both frames have the columns ``n, accuracy, accuracy_low, accuracy_high, ttft_p50,
    ttft_p95, e2e_p50, e2e_p95, latency_n, speed_p50, speed_n, itl_p50, itl_p95, prompt_tokens,
    completion_tokens, cost_total, cost_per_1k_tasks, cost_per_correct, error_rate, errors`` plus
    ``accuracy_method`` (how the interval was made), ``ttft_n`` (calls with a TTFT),
    ``speed_n`` (calls with an output speed and ITL: two tokens or more; speed and ITL
    figures are NaN when it is 0) and
    ``cost_unknown`` (records without a price) and ``lagged_n`` (successful calls timed while
    evalkit's own event loop lagged over `LAG_LIMIT_MS`), ``usage_estimated`` (calls whose
    token counts evalkit estimated: the provider reported no usage) and ``cost_estimated``
    (those of them whose cost was computed from the estimate). Rows are sorted by model
    (then suite).
    """

    by_model: pd.DataFrame
    """One row per model across all its suites. Accuracy is the mean over all its records,
    so suites weigh by their size."""
    by_model_suite: pd.DataFrame
    """One row per model x suite, with a ``suite`` column after ``model``."""


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


@dataclass
class VerdictLine:
    """One line of the verdict: the pick, a sentence to print, the numbers behind it."""

    model: str | None
    """The model picked, or None when the data cannot decide (e.g. all prices unknown)."""
    sentence: str
    """Plain English with the numbers, ready to print."""
    numbers: dict[str, Any] = field(default_factory=dict)
    """The figures quoted in the sentence, unrounded, for reports that format their own."""


@dataclass
class Verdict:
    """Which model is good, fast, cheap and the best value, and the frontiers behind it."""

    good: VerdictLine
    """Highest accuracy."""
    fast: VerdictLine
    """Lowest median end-to-end latency among models not significantly less accurate than
    the best, leaving out (and naming) those timed under client lag beyond the bound of
    `LAG_SHARE_OF_LATENCY`."""
    cheap: VerdictLine
    """Lowest cost per 1,000 tasks among models not significantly less accurate than the
    best."""
    best_value: VerdictLine
    """Lowest cost per correct answer among models with a known price."""
    frontier_cost: list[str]
    """Pareto frontier of cost per 1,000 tasks vs accuracy, cheapest first."""
    frontier_latency: list[str]
    """Pareto frontier of median end-to-end latency vs accuracy, fastest first."""
    indistinguishable: dict[str, list[str]]
    """``{best model: [models whose accuracy is not significantly below it]}``."""
    comparisons: dict[str, PairedResult] = field(default_factory=dict)
    """Paired test of each other model against the best (other minus best)."""
    notes: list[str] = field(default_factory=list)
    """What a reader must know to weigh the picks (e.g. tests resting on few clusters)."""
    unanswered: dict[str, str] = field(default_factory=dict)
    """Models none of whose calls succeeded (a bad key, a wrong URL), each with how its
    calls failed. They are left out of every pick and frontier: failed calls cost $0 and
    take no time, which would make such a model look cheapest."""

    @property
    def nothing_answered(self) -> bool:
        """No model had a single successful call: there is nothing to judge."""
        return bool(self.unanswered) and self.good.model is None


# ---------------------------------------------------------------------------- preparation


def _prepare(records: pd.DataFrame) -> pd.DataFrame:
    """Normalise the columns analysis needs; enforce "a failed call scores 0"."""
    missing = [c for c in _REQUIRED if c not in records.columns]
    if missing:
        raise ValueError(
            f"records lack column(s) {', '.join(missing)}; pass a frame with the "
            "CallRecord columns (e.g. from the store)"
        )
    # Categorical keys: every later groupby then works on integer codes, not strings.
    out = pd.DataFrame({name: records[name].astype(str).astype("category")
                        for name in ("model", "suite", "sample_id")})
    for name, default in _OPTIONAL_DEFAULTS.items():
        out[name] = records[name].to_numpy() if name in records.columns else default
    out["is_error"] = out["error_class"].notna()
    out["usage_estimated"] = out["usage_source"].to_numpy() == "estimated"
    score = pd.to_numeric(records["score"], errors="coerce").fillna(0.0).to_numpy(float)
    # The contract says a failed call scores 0; enforce it so no scorer slip credits one.
    out["score"] = np.where(out["is_error"].to_numpy(), 0.0, score)
    for name in ("ttft_s", "e2e_s", "prompt_tokens",
                 "completion_tokens", "cost_usd", "loop_lag_ms"):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    out["epoch"] = pd.to_numeric(out["epoch"], errors="coerce").fillna(0).astype(np.int64)
    out["output_speed_tps"], out["itl_s"] = _decode_metrics(out)
    out["unit"] = _unit_codes(out)
    out["nonbinary"] = ~np.isin(out["score"].to_numpy(), (0.0, 1.0))
    return out


def _decode_metrics(prep: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each call's output speed and ITL, NaN where it has none (see `evalkit.store.records`)."""
    calls = list(zip(prep["completion_tokens"].tolist(), prep["ttft_s"].tolist(), prep["e2e_s"].tolist()))
    speed = [output_speed_tps(*call) for call in calls]
    itl = [inter_token_latency_s(*call) for call in calls]
    return np.array(speed, dtype=float), np.array(itl, dtype=float)  # None -> NaN


def _unit_codes(prep: pd.DataFrame) -> np.ndarray:
    """Integer id of each record's independent unit (grouped with its suite later).

    The unit is the record's cluster when it has one, else its sample, which also holds
    the sample's epochs: repeated answers to one item are not independent evidence.
    """
    cluster_codes, clusters = pd.factorize(prep["cluster"], use_na_sentinel=True)
    sample_codes = prep["sample_id"].cat.codes.to_numpy(np.int64)
    # Sample units are numbered after all clusters so the two can never collide.
    return np.where(cluster_codes >= 0, cluster_codes, len(clusters) + sample_codes)


# ---------------------------------------------------------------------------- intervals


def _wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval; ``n`` may be fractional (an effective sample size)."""
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


def _design_effect(sizes: np.ndarray, sums: np.ndarray, sumsq: np.ndarray) -> float:
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


def _bootstrap_ratios(sums: np.ndarray, sizes: np.ndarray, seed: int = SEED) -> np.ndarray | None:
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


def _normal_ratio_interval(sums: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """Normal interval for a ratio mean with the cluster-robust (linearised) variance."""
    total, k = sizes.sum(), len(sizes)
    mean = sums.sum() / total
    if k < 2:
        return (math.nan, math.nan)
    var = k / (k - 1) * np.sum((sums - mean * sizes) ** 2) / total**2
    half = Z95 * math.sqrt(var)
    return (mean - half, mean + half)


def _bootstrap_interval(sums: np.ndarray, sizes: np.ndarray) -> tuple[float, float, str]:
    """Percentile bootstrap interval of a mean over units; ``normal`` when too large."""
    clustered = bool(np.any(sizes > 1))
    draws = _bootstrap_ratios(sums, sizes)
    if draws is None:
        return (*_normal_ratio_interval(sums, sizes), "normal")
    low, high = np.percentile(draws, [2.5, 97.5])
    return (float(low), float(high), "cluster-bootstrap" if clustered else "bootstrap")


def _accuracy_interval(units: pd.DataFrame) -> tuple[float, float, str]:
    """95% interval of mean score for one group, from its per-unit sums."""
    sizes = units["size"].to_numpy(float)
    sums = units["sum"].to_numpy(float)
    if sizes.sum() == 0:
        return (math.nan, math.nan, "none")
    if units["nonbinary"].sum() == 0:
        deff = _design_effect(sizes, sums, units["sumsq"].to_numpy(float))
        low, high = _wilson(sums.sum() / sizes.sum(), sizes.sum() / deff)
        return (low, high, "wilson" if np.all(sizes == 1) else "wilson-design-effect")
    return _bootstrap_interval(sums, sizes)


def _unit_table(prep: pd.DataFrame) -> pd.DataFrame:
    """Per (model, suite, unit): record count, score sum, sum of squares, non-0/1 count."""
    return (
        prep.assign(sq=prep["score"] ** 2)
        .groupby(["model", "suite", "unit"], sort=False, observed=True)
        .agg(size=("score", "size"), sum=("score", "sum"), sumsq=("sq", "sum"),
             nonbinary=("nonbinary", "sum"))
        .reset_index()
    )


def _intervals(units: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """accuracy_low / accuracy_high / accuracy_method per group of ``keys``."""
    rows = []
    for key, group in units.groupby(keys, sort=True, observed=True):
        low, high, method = _accuracy_interval(group)
        rows.append((*(key if isinstance(key, tuple) else (key,)), low, high, method))
    return pd.DataFrame(rows, columns=[*keys, "accuracy_low", "accuracy_high", "accuracy_method"])


# ---------------------------------------------------------------------------- summary


def _totals(prep: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts, accuracy, tokens, cost and errors per group."""
    frame = prep.assign(cost_unknown=prep["cost_usd"].isna())
    g = frame.groupby(keys, sort=True, observed=True)
    out = g.agg(
        n=("score", "size"), correct=("score", "sum"), errors=("is_error", "sum"),
        prompt_tokens=("prompt_tokens", "sum"), completion_tokens=("completion_tokens", "sum"),
        prompt_n=("prompt_tokens", "count"), completion_n=("completion_tokens", "count"),
        cost_known=("cost_usd", "sum"), cost_unknown=("cost_unknown", "sum"),
        usage_estimated=("usage_estimated", "sum"), cost_estimated=("cost_estimated", "sum"),
    ).reset_index()
    # A total over no reported usage is unknown, not 0 tokens.
    out["prompt_tokens"] = out["prompt_tokens"].where(out["prompt_n"] > 0)
    out["completion_tokens"] = out["completion_tokens"].where(out["completion_n"] > 0)
    out["accuracy"] = out["correct"] / out["n"]
    out["error_rate"] = out["errors"] / out["n"]
    # Unknown never reads as $0: any unpriced record makes the model's cost unknown.
    out["cost_total"] = out["cost_known"].where(out["cost_unknown"] == 0, np.nan)
    out["cost_per_1k_tasks"] = 1000.0 * out["cost_total"] / out["n"]
    out["cost_per_correct"] = out["cost_total"] / out["correct"].where(out["correct"] > 0)
    return out


def _latencies(prep: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Latency percentiles, median output speed and ITL over successful calls."""
    ok = prep.loc[~prep["is_error"], [*keys, "ttft_s", "e2e_s", "output_speed_tps", "itl_s", "loop_lag_ms"]]
    ok = ok.assign(lagged=ok["loop_lag_ms"].to_numpy() > LAG_LIMIT_MS)
    g = ok.groupby(keys, sort=True, observed=True)
    parts = {
        f"{name}_p{round(100 * q)}": g[column].quantile(q)
        for column, name in (("ttft_s", "ttft"), ("e2e_s", "e2e")) for q in (0.5, 0.95)
    }
    parts["speed_p50"] = g["output_speed_tps"].median()
    parts["speed_n"] = g["output_speed_tps"].count()
    parts["itl_p50"], parts["itl_p95"] = g["itl_s"].quantile(0.5), g["itl_s"].quantile(0.95)
    parts["latency_n"] = g["e2e_s"].count()
    parts["ttft_n"] = g["ttft_s"].count()
    # Calls timed while evalkit's own event loop lagged: their latency is partly ours.
    parts["lagged_n"] = g["lagged"].sum()
    return pd.DataFrame(parts).reset_index()


_COLUMNS = [
    "n", "accuracy", "accuracy_low", "accuracy_high", "ttft_p50", "ttft_p95", "e2e_p50",
    "e2e_p95", "latency_n", "speed_p50", "speed_n", "itl_p50", "itl_p95", "prompt_tokens",
    "completion_tokens", "cost_total", "cost_per_1k_tasks", "cost_per_correct", "error_rate", "errors",
    "accuracy_method", "ttft_n", "cost_unknown", "lagged_n", "usage_estimated", "cost_estimated",
]


def _summarize_level(prep: pd.DataFrame, units: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = _totals(prep, keys).merge(_intervals(units, keys), on=keys, how="left")
    out = out.merge(_latencies(prep, keys), on=keys, how="left")
    for name in ("latency_n", "ttft_n", "lagged_n", "speed_n", "usage_estimated", "cost_estimated"):
        out[name] = out[name].fillna(0).astype(np.int64)
    for name in ("ttft_p50", "ttft_p95", "e2e_p50", "e2e_p95", "speed_p50", "itl_p50", "itl_p95"):
        out[name] = out[name].astype(float)
    return out[[*keys, *_COLUMNS]].reset_index(drop=True)


def summarize(records: pd.DataFrame, time_priced: Collection[str] = ()) -> Summary:
    """Aggregate per-call records per model and per model x suite.

    ``time_priced``: models priced by machine time (self-hosted $/hour), whose cost does
    not rest on token counts; every other model's calls with estimated usage count in
    ``cost_estimated`` (and all models' in ``usage_estimated``).

    Accuracy is the mean score over all records (failed calls score 0), so overall accuracy
    weighs suites by their size. Its 95% interval:

    - 0/1 scores: Wilson score interval. When records share a cluster id, or a sample is
      asked over several epochs, the n in Wilson is the effective n = n / design effect,
      with design effect 1 + (m - 1) * ICC (ICC: one-way ANOVA estimator over clusters,
      clipped to [0, 1]; m: size-weighted mean cluster size). Records without a cluster
      id are their own cluster (one per sample, holding its epochs).
    - other scores: percentile bootstrap (B=2000, fixed seed) resampling records, or whole
      clusters when there are clusters. With tens of thousands of distinct values it
      falls back to the normal interval with a cluster-robust variance (method ``normal``).

    Latency percentiles (linear interpolation) cover successful calls only; ``latency_n``
    counts those with an end-to-end time, ``ttft_n`` those with a TTFT, ``speed_n`` those
    with an output speed and ITL (not one-token replies).
    """
    prep = _prepare(records)
    prep["cost_estimated"] = (prep["usage_estimated"].to_numpy() & prep["cost_usd"].notna().to_numpy()
                              & ~prep["model"].isin(list(time_priced)).to_numpy())
    units = _unit_table(prep)
    by_model = _summarize_level(prep, units, ["model"])
    by_model_suite = _summarize_level(prep, units, ["model", "suite"])
    for frame in (by_model, by_model_suite):  # plain strings out, categories stay inside
        for key in ("model", "suite"):
            if key in frame:
                frame[key] = frame[key].astype(str)
    return Summary(by_model=by_model, by_model_suite=by_model_suite)


# ---------------------------------------------------------------------------- paired test


def _side(prep: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's score and unit per (suite, sample_id, epoch): one side of a pairing."""
    # A repeated key (e.g. two runs merged) is averaged rather than multiplying pairs.
    rows = prep.loc[prep["model"] == model]
    return rows.groupby(["suite", "sample_id", "epoch"], sort=True, observed=True).agg(
        score=("score", "mean"), unit=("unit", "first"))


def _paired_frame(prep: pd.DataFrame, model_a: str, model_b: str,
                  side_b: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (suite, sample_id, epoch) both models answered: score_a, score_b, unit.

    ``side_b`` is `_side` of ``model_b`` when the caller already has it.
    """
    side_b = _side(prep, model_b) if side_b is None else side_b
    joined = _side(prep, model_a).merge(side_b, how="inner", left_index=True,
                                        right_index=True, suffixes=("_a", "_b"))
    return joined.reset_index()


def _binom_cdf_half(k: int, m: int) -> float:
    """P(X <= k) for X ~ Binomial(m, 1/2), summed in log space so large m cannot overflow."""
    if k < 0:
        return 0.0
    if k >= m:
        return 1.0
    i = np.arange(1, k + 1, dtype=float)
    log_terms = np.concatenate([[0.0], np.cumsum(np.log(m - i + 1) - np.log(i))]) - m * math.log(2)
    top = log_terms.max()
    return float(min(1.0, math.exp(top) * np.exp(log_terms - top).sum()))


def mcnemar_exact_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: binomial test of b vs c discordant pairs at 1/2."""
    if b + c == 0:
        return 1.0
    return min(1.0, 2.0 * _binom_cdf_half(min(b, c), b + c))


def _newcombe_paired(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Newcombe (1998) method 10 interval for p1 - p2 from a paired 2x2 table.

    ``a``: both right, ``b``: only A right, ``c``: only B right, ``d``: both wrong.
    Combines the Wilson intervals of both margins with their correlation phi ("square and
    add"), so the interval stays inside [-1, 1] and agrees with McNemar far better than
    Wald does.
    """
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = _wilson(p1, n)
    l2, u2 = _wilson(p2, n)
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


def _mcnemar_result(sa: np.ndarray, sb: np.ndarray) -> PairedResult:
    a = int(np.sum((sa == 1) & (sb == 1)))
    b = int(np.sum((sa == 1) & (sb == 0)))
    c = int(np.sum((sa == 0) & (sb == 1)))
    d = len(sa) - a - b - c
    low, high = _newcombe_paired(a, b, c, d)
    p_value = mcnemar_exact_p(b, c)
    return PairedResult(len(sa), (b - c) / len(sa), low, high, p_value, "mcnemar-exact", units=len(sa))


def _sign_flip_paired(pairs: pd.DataFrame) -> PairedResult:
    """Sign-flip test of the mean difference over units (clusters, or samples with epochs)."""
    diff = pairs["score_a"] - pairs["score_b"]
    units = diff.groupby([pairs["suite"], pairs["unit_a"]], sort=False, observed=True)
    return paired_units_test(units.sum().to_numpy(float), units.size().to_numpy(float))


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


def paired_test(records: pd.DataFrame, model_a: str, model_b: str) -> PairedResult:
    """Compare two models on the very same samples: A minus B.

    Pairs are joined on (suite, sample_id, epoch). With 0/1 scores and independent pairs
    (no cluster ids, one epoch per sample): exact two-sided McNemar test with Newcombe's
    hybrid score interval. Otherwise the sign-flip permutation test on the per-unit sums
    of differences (units: clusters, or samples, which hold their epochs): exact over all
    2^k sign patterns up to 16 units, fixed-seed random patterns above; its interval is
    the set of shifts that test does not reject (see `evalkit.analysis.sign_flip`).
    """
    return _paired(_prepare(records), model_a, model_b)


def _paired(prep: pd.DataFrame, model_a: str, model_b: str,
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


# ---------------------------------------------------------------------------- frontier


def frontier(by_model: pd.DataFrame, x: str, y: str = "accuracy",
             lower_x_is_better: bool = True) -> list[str]:
    """Models on the Pareto frontier of ``x`` against ``y`` (higher ``y`` is better).

    A model is on it when no other model is at least as good on both and strictly better
    on one. Models with NaN ``x`` or ``y`` are left out. Ordered best ``x`` first.
    """
    data = by_model[["model", x, y]].dropna()
    xs = data[x].to_numpy(float) * (1.0 if lower_x_is_better else -1.0)
    ys = data[y].to_numpy(float)
    # Pairwise: dominated[i] if some j is <= on x, >= on y and strictly better on one.
    no_worse = (xs[None, :] <= xs[:, None]) & (ys[None, :] >= ys[:, None])
    better = (xs[None, :] < xs[:, None]) | (ys[None, :] > ys[:, None])
    dominated = (no_worse & better).any(axis=1)
    keep = data.loc[~dominated].assign(_x=xs[~dominated], _y=-ys[~dominated])
    return keep.sort_values(["_x", "_y", "model"])["model"].astype(str).tolist()


# ---------------------------------------------------------------------------- verdict


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _pts(diff: float) -> str:
    """Signed percentage points with a true minus sign."""
    text = f"{abs(100 * diff):.1f}"
    if text == "0.0":
        return "±0.0 pts"
    return f"{'−' if diff < 0 else '+'}{text} pts"


def _p(p: float) -> str:
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.2f}" if p >= 0.1 else f"p={p:.2g}"


def _money(v: float) -> str:
    """Dollars with cents, or three significant digits below a cent."""
    if v == 0 or abs(v) >= 0.01:
        return f"${v:,.2f}"
    decimals = -math.floor(math.log10(abs(v))) + 2
    return f"${v:.{decimals}f}"


def _seconds(v: float) -> str:
    return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"


def _rank_best(by_model: pd.DataFrame) -> str:
    """Highest accuracy; ties go to the cheaper, then the alphabetically first model."""
    order = by_model.sort_values(
        ["accuracy", "cost_per_1k_tasks", "model"], ascending=[False, True, True],
        na_position="last")
    return str(order.iloc[0]["model"])


def _tied_with_best(prep: pd.DataFrame, by_model: pd.DataFrame, best: str
                    ) -> tuple[list[str], dict[str, PairedResult]]:
    """Models whose accuracy is not significantly below the best's (paired test)."""
    best_acc = float(by_model.loc[by_model["model"] == best, "accuracy"].iloc[0])
    tied, tests = [], {}
    best_side = _side(prep, best)
    for other in by_model["model"]:
        if other == best:
            continue
        result = _paired(prep, other, best, best_side)
        tests[other] = result
        acc = float(by_model.loc[by_model["model"] == other, "accuracy"].iloc[0])
        if acc >= best_acc or result.p_value >= ALPHA or result.mean_diff >= 0:
            tied.append(other)
    return tied, tests


def _good_line(row: pd.Series) -> VerdictLine:
    numbers = {k: row[k] for k in ("accuracy", "accuracy_low", "accuracy_high", "n")}
    sentence = (f"good: {row['model']} — {_pct(row['accuracy'])} accuracy "
                f"(95% CI {100 * row['accuracy_low']:.1f}–{_pct(row['accuracy_high'])}, "
                f"n={int(row['n']):,})")
    return VerdictLine(str(row["model"]), sentence, numbers)


def _versus_best(model: str, best: str, tests: dict[str, PairedResult], single: bool) -> str:
    """The significance clause of a cheap/fast line."""
    if single:
        return "the only model compared"
    if model == best:
        return "the most accurate model"
    t = tests[model]
    return f"accuracy not significantly below {best} ({_pts(t.mean_diff)}, {_p(t.p_value)})"


def _pick_lowest(by_model: pd.DataFrame, models: Sequence[str], column: str) -> pd.Series | None:
    rows = by_model[by_model["model"].isin(models)].dropna(subset=[column])
    if rows.empty:
        return None
    return rows.sort_values([column, "accuracy", "model"], ascending=[True, False, True]).iloc[0]


def _cheap_line(by_model: pd.DataFrame, pool: list[str], best: str,
                tests: dict[str, PairedResult]) -> VerdictLine:
    row = _pick_lowest(by_model, pool, "cost_per_1k_tasks")
    if row is None:
        if by_model["cost_per_1k_tasks"].isna().all():
            return VerdictLine(None, "cheap: undecided — prices are unknown for every model, "
                                     "so cost cannot be compared")
        return VerdictLine(None, "cheap: undecided — prices are unknown for every model as "
                                 f"accurate as {best} ({', '.join(pool)})")
    model = str(row["model"])
    clause = _versus_best(model, best, tests, single=len(by_model) == 1)
    numbers = {"cost_per_1k_tasks": row["cost_per_1k_tasks"], "accuracy": row["accuracy"]}
    if model in tests:
        numbers.update(diff_vs_best=tests[model].mean_diff, p_value=tests[model].p_value)
    sentence = (f"cheap: {model} — {_cost(row, 'cost_per_1k_tasks')} per 1,000 tasks, {clause}"
                f"{_estimate_clause(by_model, pool, model)}")
    return VerdictLine(model, sentence, numbers)


def _cost(row: pd.Series, column: str) -> str:
    """Dollars, marked when they rest on estimated token counts."""
    mark = ESTIMATED_MARK if row.get("cost_estimated", 0) > 0 else ""
    return f"{mark}{_money(row[column])}"


def _estimate_clause(by_model: pd.DataFrame, compared: Sequence[str], pick: str) -> str:
    """Says when a cost pick rests on estimated token counts: the pick's own, or a rival's."""
    if "cost_estimated" not in by_model:
        return ""
    rows = by_model[by_model["model"].isin(compared) & by_model["cost_total"].notna()]
    estimated = [str(m) for m, k in zip(rows["model"], rows["cost_estimated"]) if k > 0]
    if not estimated:
        return ""
    if estimated == [pick]:
        return " (cost from estimated token counts: the provider reported no usage)"
    return (f" (the comparison rests on estimated token counts for {', '.join(estimated)}: "
            "no usage reported)")


def _lag_distorted(prep: pd.DataFrame, by_model: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Models whose median latency is partly evalkit's own client lag (`LAG_SHARE_OF_LATENCY`):
    model -> (share of its successful calls over the bound, the bound in ms)."""
    ok = prep.loc[~prep["is_error"] & prep["loop_lag_ms"].notna(), ["model", "loop_lag_ms"]]
    p50 = dict(zip(by_model["model"].astype(str), by_model["e2e_p50"]))
    out = {}
    for model, lags in ok.groupby("model", observed=True)["loop_lag_ms"]:
        latency_ms = 1000 * p50.get(str(model), np.nan)
        bound = max(LAG_LIMIT_MS, LAG_SHARE_OF_LATENCY * latency_ms) if latency_ms == latency_ms else LAG_LIMIT_MS
        over = float((lags.to_numpy() > bound).mean())
        if over > 0.5:  # the median call itself was timed under more lag than the bound
            out[str(model)] = (over, bound)
    return out


def _lag_clause(distorted: dict[str, tuple[float, float]]) -> str:
    parts = ", ".join(f"{model} ({over:.0%} of calls over {bound:.0f} ms)"
                      for model, (over, bound) in distorted.items())
    return (f"not named on latency timed under evalkit's own client lag: {parts}; their median "
            "latency is partly evalkit's queueing (re-run them with fewer in flight, or on a quieter machine)")


def _fast_line(by_model: pd.DataFrame, pool: list[str], best: str,
               tests: dict[str, PairedResult], distorted: dict[str, tuple[float, float]] | None = None
               ) -> VerdictLine:
    distorted = {m: v for m, v in (distorted or {}).items() if m in pool}
    row = _pick_lowest(by_model, [m for m in pool if m not in distorted], "e2e_p50")
    if row is None:
        if distorted:
            return VerdictLine(None, f"fast: undecided — {_lag_clause(distorted)}",
                               {"lag_distorted": sorted(distorted)})
        return VerdictLine(None, "fast: undecided — no successful call measured an "
                                 "end-to-end latency")
    model = str(row["model"])
    clause = _versus_best(model, best, tests, single=len(by_model) == 1)
    numbers = {k: row[k] for k in ("e2e_p50", "e2e_p95", "latency_n", "accuracy")}
    if model in tests:
        numbers.update(diff_vs_best=tests[model].mean_diff, p_value=tests[model].p_value)
    sentence = (f"fast: {model} — {_seconds(row['e2e_p50'])} median end-to-end "
                f"(p95 {_seconds(row['e2e_p95'])}, n={int(row['latency_n']):,}), {clause}")
    if distorted:
        numbers["lag_distorted"] = sorted(distorted)
        sentence += f"; {_lag_clause(distorted)}"
    return VerdictLine(model, sentence, numbers)


def _value_line(by_model: pd.DataFrame) -> VerdictLine:
    if by_model["cost_total"].isna().all():
        return VerdictLine(None, "best value: undecided — prices are unknown for every model, "
                                 "so cost per correct answer cannot be compared")
    row = _pick_lowest(by_model, list(by_model["model"]), "cost_per_correct")
    if row is None:
        return VerdictLine(None, "best value: undecided — no priced model answered correctly")
    numbers = {k: row[k] for k in ("cost_per_correct", "accuracy", "cost_per_1k_tasks")}
    sentence = (f"best value: {row['model']} — {_cost(row, 'cost_per_correct')} per correct "
                f"answer ({_pct(row['accuracy'])} accuracy, "
                f"{_cost(row, 'cost_per_1k_tasks')} per 1,000 tasks)"
                f"{_estimate_clause(by_model, list(by_model['model']), str(row['model']))}")
    return VerdictLine(str(row["model"]), sentence, numbers)


def verdict(records: pd.DataFrame, summary: Summary) -> Verdict:
    """Name the good, fast, cheap and best-value models, with the evidence.

    good: highest accuracy. cheap / fast: lowest cost per 1,000 tasks / lowest median
    end-to-end latency among the best model and those whose accuracy is not significantly
    below it (paired test against the best, p >= 0.05, or not lower); fast leaves out, and
    names, models whose latency was timed under client lag beyond `LAG_SHARE_OF_LATENCY`.
    best value: lowest cost per correct answer among models with a known price, whatever
    their accuracy. A model with no successful call takes part in none of these
    (`Verdict.unanswered`); when no model has one, every line says there is no verdict and why.
    """
    by_model = summary.by_model
    if by_model.empty:
        empty = VerdictLine(None, "no records to judge")
        return Verdict(empty, empty, empty, empty, [], [], {})
    prep = _prepare(records)
    unanswered = _unanswered(prep, by_model)
    # cheap and fast pick from the pool of answering models, but say "the only model
    # compared" only when it was
    everyone, by_model = by_model, by_model[~by_model["model"].isin(list(unanswered))]
    if by_model.empty:
        reasons = "; ".join(f"{model}: {reason}" for model, reason in unanswered.items())
        none = VerdictLine(None, f"no verdict — no model had a successful call, so there is nothing to "
                                 f"judge ({reasons})")
        return Verdict(none, none, none, none, [], [], {}, unanswered=unanswered)
    best = _rank_best(by_model)
    tied, tests = _tied_with_best(prep, by_model, best)
    pool = [best, *tied]
    return Verdict(
        good=_good_line(by_model.loc[by_model["model"] == best].iloc[0]),
        fast=_fast_line(everyone, pool, best, tests, _lag_distorted(prep, by_model)),
        cheap=_cheap_line(everyone, pool, best, tests),
        best_value=_value_line(by_model),
        frontier_cost=frontier(by_model, "cost_per_1k_tasks"),
        frontier_latency=frontier(by_model, "e2e_p50"),
        indistinguishable={best: tied},
        comparisons=tests,
        notes=few_units_notes(prep, tests, best),
        unanswered=unanswered,
    )


def records_have_clusters(records: pd.DataFrame) -> bool:
    """Whether any record carries a cluster id."""
    return "cluster" in records.columns and bool(records["cluster"].notna().any())


def few_units_notes(prep: pd.DataFrame, tests: dict[str, PairedResult], best: str) -> list[str]:
    """A warning when the verdict rests on fewer than `FEW_UNITS` independent units: the
    sign-flip tests stay exact there, but have little power, and intervals are rough."""
    clustered = records_have_clusters(prep)
    if not tests:  # one model: no test, but its interval rests on its clusters
        units = len(prep.loc[prep["model"] == best, ["suite", "unit"]].drop_duplicates())
        if not clustered or units >= FEW_UNITS:
            return []
        return [f"few clusters: the accuracy of {best} rests on {units} independent clusters of items, "
                f"fewer than {FEW_UNITS}, so its interval is rough; more clusters, not more items per "
                "cluster, would make it surer"]
    counts = sorted({t.units for t in tests.values() if t.method.startswith("sign-flip") and t.units < FEW_UNITS})
    if not counts:
        return []
    k = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    label, what, more = (("few clusters", "clusters of items", "more clusters, not more items per cluster")
                         if clustered else ("few items", "items", "more items, not more epochs"))
    hopeless = ""
    if counts[0] <= 5:  # 2^k sign patterns: the smallest two-sided p is 2 / 2^k
        hopeless = f" (with {counts[0]}, none can: the smallest possible p is {2 / 2 ** counts[0]:.2g})"
    return [f"{label}: the paired tests against {best} rest on {k} independent {what}, fewer than "
            f"{FEW_UNITS}; the sign-flip test stays exact, but only large differences can be significant"
            f"{hopeless} and accuracy intervals are rough; {more}, would make the picks surer"]


def _unanswered(prep: pd.DataFrame, by_model: pd.DataFrame) -> dict[str, str]:
    """Models whose every call failed, with their error classes: ``10 of 10 calls failed (auth 1, skipped 9)``."""
    failed = by_model.loc[by_model["errors"] >= by_model["n"], ["model", "n"]]
    out = {}
    for model, n in zip(failed["model"], failed["n"]):
        classes = prep.loc[prep["model"] == model, "error_class"].astype(str).value_counts().sort_index()
        detail = ", ".join(f"{name} {count}" for name, count in classes.items())
        out[str(model)] = f"{int(n):,} of {int(n):,} calls failed ({detail})"
    return out


# ---------------------------------------------------------------------------- runs and epochs


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


def epoch_spread(records: pd.DataFrame, keys: Sequence[str] = ("model",)) -> pd.DataFrame:
    """How much answers vary when each item is asked several times (``--epochs K``).

    Columns per group of ``keys``: ``epochs`` (most epochs of any item), ``items``,
    ``accuracy_sd`` (standard deviation of the accuracy of each epoch taken alone: how
    much a single run would have moved), ``item_sd`` (mean over items of the standard
    deviation of its scores across epochs) and ``inconsistent`` (share of items whose
    epochs did not all score the same). Intervals in `summarize` and the paired tests
    already treat an item's epochs as one unit; these figures say how noisy one pass is.
    """
    prep = _prepare(records)
    keys = list(keys)
    per_item = prep.groupby([*keys, "suite", "sample_id"], observed=True)["score"].agg(
        ["size", "std", "min", "max"]).reset_index()
    per_item["std"] = per_item["std"].fillna(0.0)
    per_epoch = prep.groupby([*keys, "epoch"], observed=True)["score"].mean().reset_index()
    items = per_item.groupby(keys, observed=True).agg(
        epochs=("size", "max"), items=("size", "size"), item_sd=("std", "mean"),
        inconsistent=("max", "size"))
    flips = (per_item["max"] > per_item["min"]).groupby(
        [per_item[k] for k in keys], observed=True).mean()
    items["inconsistent"] = flips
    items["accuracy_sd"] = per_epoch.groupby(keys, observed=True)["score"].std(ddof=1)
    out = items.reset_index()
    for key in keys:
        out[key] = out[key].astype(str)
    return out[[*keys, "epochs", "items", "accuracy_sd", "item_sd", "inconsistent"]]


# ---------------------------------------------------------------------------- power


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


def _log_factorials(m: int) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, m + 1, dtype=float)))])


@functools.lru_cache(maxsize=64)
def _mcnemar_tables(items: int, discordance: float, alpha: float):
    """For every likely count m of discordant pairs: P(M = m), the exact test's critical
    count k (reject when the smaller side is <= k) and log C(m, j) for j <= k."""
    lf = _log_factorials(items)
    m = np.arange(items + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pm = (lf[items] - lf[m] - lf[items - m] + m * np.log(discordance)
                  + (items - m) * np.log1p(-discordance))
    log_pm = np.nan_to_num(log_pm, nan=-np.inf)
    keep = m[log_pm > math.log(1e-12)]
    keep = keep[keep > 0]
    if len(keep) == 0:
        return keep, keep.astype(float), keep, np.empty((0, 0))
    rows, cols = keep[:, None], np.arange(keep.max() // 2 + 1)[None, :]
    lower_half = 2 * cols < rows  # p-value 1 from the middle on: never a rejection
    log_choose = np.where(lower_half, lf[rows] - lf[cols] - lf[np.maximum(rows - cols, 0)], -np.inf)
    p_two_sided = 2 * np.cumsum(np.exp(log_choose - rows * math.log(2)), axis=1)
    k_crit = np.sum(lower_half & (p_two_sided < alpha), axis=1) - 1
    return keep, np.exp(log_pm[keep]), k_crit, log_choose


def mcnemar_power(items: int, discordance: float, diff: float, alpha: float = ALPHA) -> float:
    """Probability that the two-sided exact McNemar test at ``alpha`` finds ``diff``.

    Model: each of ``items`` pairs is discordant with probability ``discordance``; a
    discordant pair favours the better side with probability (discordance + diff) /
    (2 * discordance). Summed exactly over the number of discordant pairs (terms below
    1e-12 left out), so the discreteness of the exact test is priced in; above
    `EXACT_POWER_MAX_ITEMS` items, Connor's (1987) normal approximation.
    """
    if abs(diff) > discordance:
        return math.nan
    if items <= 0 or discordance <= 0:
        return 0.0
    if items > EXACT_POWER_MAX_ITEMS:
        z_a = _z(1 - alpha / 2)
        spread = math.sqrt(max(discordance - diff**2, 1e-300))
        z = (abs(diff) * math.sqrt(items) - z_a * math.sqrt(discordance)) / spread
        return 0.5 * math.erfc(-z / math.sqrt(2))
    keep, p_m, k_crit, log_choose = _mcnemar_tables(int(items), float(discordance), float(alpha))
    if len(keep) == 0:
        return 0.0
    q = min((discordance + abs(diff)) / (2 * discordance), 1 - 1e-12)
    rows, cols = keep[:, None], np.arange(log_choose.shape[1])[None, :]
    in_tail = cols <= k_crit[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # the smaller count is <= k on either side: j successes or j failures, j <= k
        low = np.where(in_tail, log_choose + cols * np.log(q) + (rows - cols) * np.log1p(-q), -np.inf)
        high = np.where(in_tail, log_choose + (rows - cols) * np.log(q) + cols * np.log1p(-q), -np.inf)
    reject = np.nan_to_num(np.exp(low), nan=0.0).sum(axis=1) + np.nan_to_num(np.exp(high), nan=0.0).sum(axis=1)
    return float(min(np.sum(p_m * reject), 1.0))


def min_detectable_difference(items: float, discordance: float, alpha: float = ALPHA,
                              power: float = POWER) -> float:
    """Smallest accuracy difference found with probability ``power`` (exact McNemar).

    Rounded up to a tenth of a point (0.001), so that the difference promised is one the
    test really finds at least that often. ``items`` may be an effective size (items /
    design effect). NaN when even a difference as large as the discordance is found less
    often than ``power``.
    """
    n = int(math.floor(items))
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
    # Connor (1987) normal approximation as a starting bracket, then exact bisection.
    z_a, z_b = _z(1 - alpha / 2), _z(power)
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
    return int(math.ceil(high * design_effect))


def _z(p: float) -> float:
    """Standard-normal quantile by bisection on erfc (no scipy needed)."""
    low, high = -10.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        if 0.5 * math.erfc(-mid / math.sqrt(2)) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


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
