"""`Summary`: accuracy, latency, tokens, cost and errors per model, and per model x suite.

Definitions (those of the README's metric section):

- A failed call (``error_class`` set) counts in ``n``, scores 0 and appears in the error rate.
- Latency percentiles use successful calls only and carry their n.
- Output speed and ITL medians count only the calls that have them (``speed_n``): a
  one-token reply has neither (see `evalkit.analysis.frame`).
- An unknown price is NaN, never $0: one record of a model with unknown cost makes that
  model's cost figures NaN.
- Accuracy intervals are 95%: Wilson for 0/1 scores, percentile bootstrap otherwise.
  Records that share a cluster id (or repeat a sample over epochs) are not independent, so
  the interval is widened: for 0/1 scores Wilson with the effective n = n / design effect
  (from the intraclass correlation); otherwise a bootstrap that resamples whole clusters.

Everything is deterministic: every bootstrap starts from a fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.analysis.frame import prepare
from evalkit.analysis.stats import bootstrap_interval, design_effect, wilson
from evalkit.analysis.thinking import COLUMNS as THINKING_COLUMNS
from evalkit.analysis.thinking import thinking_columns
from evalkit.store.records import LAG_LIMIT_MS


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
    (those of them whose cost was computed from the estimate), and the thinking and
    truncation columns of `evalkit.analysis.thinking` (``thinking``, ``first_token_p50``,
    ``thinking_p50``, ``thinking_tokens``, ``thinking_per_item``, ``thinking_per_correct``,
    ``thinking_estimated``, ``truncated``, ``thinking_exhausted``). Rows are sorted by model
    (then suite).
    """

    by_model: pd.DataFrame
    """One row per model across all its suites. Accuracy is the mean over all its records,
    so suites weigh by their size."""
    by_model_suite: pd.DataFrame
    """One row per model x suite, with a ``suite`` column after ``model``."""


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
    prep = prepare(records)
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


def _accuracy_interval(units: pd.DataFrame) -> tuple[float, float, str]:
    """95% interval of mean score for one group, from its per-unit sums."""
    sizes = units["size"].to_numpy(float)
    sums = units["sum"].to_numpy(float)
    if sizes.sum() == 0:
        return (math.nan, math.nan, "none")
    if units["nonbinary"].sum() == 0:
        deff = design_effect(sizes, sums, units["sumsq"].to_numpy(float))
        low, high = wilson(sums.sum() / sizes.sum(), sizes.sum() / deff)
        return (low, high, "wilson" if np.all(sizes == 1) else "wilson-design-effect")
    return bootstrap_interval(sums, sizes)


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
    out = out.merge(thinking_columns(prep, keys), on=keys, how="left")
    for name in ("latency_n", "ttft_n", "lagged_n", "speed_n", "usage_estimated", "cost_estimated"):
        out[name] = out[name].fillna(0).astype(np.int64)
    for name in ("ttft_p50", "ttft_p95", "e2e_p50", "e2e_p95", "speed_p50", "itl_p50", "itl_p95"):
        out[name] = out[name].astype(float)
    return out[[*keys, *_COLUMNS, *THINKING_COLUMNS]].reset_index(drop=True)
