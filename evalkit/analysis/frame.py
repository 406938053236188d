"""The records frame as analysis reads it: columns normalised, failed calls at 0, units named.

Input is a DataFrame of per-call records with the columns of `evalkit.store.records.CallRecord`
(from the store, or built by hand with at least model, suite, sample_id and score); every
other stage of analysis works on what `prepare` makes of it:

- A failed call (``error_class`` set) scores 0, whatever its stored score.
- Output speed and ITL per call are derived from its TTFT, end-to-end time and completion
  tokens by `evalkit.store.records.output_speed_tps` / `inter_token_latency_s` (the stored
  ``output_speed_tps`` column is not read, so records of any age read by one definition);
  a one-token reply has neither. A multi-turn task's times are sums over its ``turns``
  (each turn's first token inside its own TTFT). Decoding starts at the first token of any kind
  (``first_token_s``; a thinking reply's completion tokens count its reasoning), or at
  the TTFT for records that lack it.
- Each record's *unit* is what makes it independent evidence: its cluster when it has
  one, else its sample, which also holds the sample's epochs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

REQUIRED = ("model", "suite", "sample_id", "score")
"""Columns a records frame must have; the others default as in `OPTIONAL_DEFAULTS`."""
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "cluster": None, "epoch": 0, "error_class": None, "ttft_s": np.nan, "e2e_s": np.nan,
    "prompt_tokens": np.nan, "completion_tokens": np.nan,
    "cost_usd": np.nan, "loop_lag_ms": np.nan, "usage_source": None,
    "first_token_s": np.nan, "thinking_s": np.nan, "reasoning_tokens": np.nan,
    "reasoning_tokens_source": None, "finish_reason": None, "turns": np.nan,
}

_TEXT_COLUMNS = ("cluster", "error_class", "usage_source", "reasoning_tokens_source", "finish_reason")


def prepare(records: pd.DataFrame) -> pd.DataFrame:
    """Normalise the columns analysis needs; enforce "a failed call scores 0"."""
    missing = [c for c in REQUIRED if c not in records.columns]
    if missing:
        raise ValueError(
            f"records lack column(s) {', '.join(missing)}; pass a frame with the "
            "CallRecord columns (e.g. from the store)"
        )
    # Categorical keys: every later groupby then works on integer codes, not strings.
    out = pd.DataFrame({name: _category(records[name]) for name in ("model", "suite", "sample_id")})
    for name, default in OPTIONAL_DEFAULTS.items():
        if name not in records.columns:
            out[name] = default
        else:  # text keeps its own array (Arrow strings, not a Python object per cell)
            out[name] = records[name].array if name in _TEXT_COLUMNS else records[name].to_numpy()
    out["is_error"] = out["error_class"].notna()
    out["usage_estimated"] = (out["usage_source"] == "estimated").to_numpy(bool)
    score = pd.to_numeric(records["score"], errors="coerce").fillna(0.0).to_numpy(float)
    # The contract says a failed call scores 0; enforce it so no scorer slip credits one.
    out["score"] = np.where(out["is_error"].to_numpy(), 0.0, score)
    for name in ("ttft_s", "e2e_s", "prompt_tokens", "completion_tokens", "cost_usd", "loop_lag_ms",
                 "first_token_s", "thinking_s", "reasoning_tokens", "turns"):
        out[name] = _floats(out[name])
    out["epoch"] = pd.to_numeric(out["epoch"], errors="coerce").fillna(0).astype(np.int64)
    out["output_speed_tps"], out["itl_s"] = _decode_metrics(out)
    out["unit"] = _unit_codes(out)
    out["nonbinary"] = ~np.isin(out["score"].to_numpy(), (0.0, 1.0))
    return out


def _category(column: pd.Series) -> pd.Series:
    """``column.astype(str).astype("category")``, with only the distinct values converted (a
    million records hold a few distinct names): codes first, then the names of the codes."""
    codes, uniques = pd.factorize(column)
    names = pd.Index(uniques).astype(str)
    if names.has_duplicates or names.hasnans:  # e.g. 1 and "1": distinct values that print alike
        return column.astype(str).astype("category")
    order = np.argsort(np.asarray(names, dtype=object), kind="stable")  # sorted, as astype("category") has them
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # a missing value stays missing
    return pd.Series(pd.Categorical.from_codes(rank[codes], names[order]), index=column.index, name=column.name)


def _floats(column: Any) -> Any:
    """A numeric column as floats, NaN where a value is missing or not a number; a column of
    nothing but None (a figure no record has) without asking of each cell."""
    if column.dtype == object and column.isna().all():
        return np.full(len(column), np.nan)
    return pd.to_numeric(column, errors="coerce").astype(float)


def records_have_clusters(records: pd.DataFrame) -> bool:
    """Whether any record carries a cluster id."""
    return "cluster" in records.columns and bool(records["cluster"].notna().any())


def _decode_metrics(prep: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each call's output speed and ITL, NaN where it has none: `decode_start_s`,
    `output_speed_tps` and `inter_token_latency_s` of `evalkit.store.records` on whole
    columns at once (the same float operations, so the same figures; a test holds them to
    the per-call functions)."""
    first, ttft = prep["first_token_s"].to_numpy(float), prep["ttft_s"].to_numpy(float)
    start = np.where(np.isnan(first), ttft, first)
    turns = prep["turns"].to_numpy(float)
    with np.errstate(invalid="ignore"):  # NaN compares False: no figure, as for None
        replies = np.where(np.isnan(turns) | (turns < 1), 1.0, turns)
        gaps = prep["completion_tokens"].to_numpy(float) - replies
        seconds = prep["e2e_s"].to_numpy(float) - start
        timed = (gaps >= 1) & (seconds > 0)
    gaps, seconds = np.where(timed, gaps, np.nan), np.where(timed, seconds, np.nan)
    return gaps / seconds, seconds / gaps


def _unit_codes(prep: pd.DataFrame) -> np.ndarray:
    """Integer id of each record's independent unit (grouped with its suite later).

    The unit is the record's cluster when it has one, else its sample, which also holds
    the sample's epochs: repeated answers to one item are not independent evidence.
    """
    cluster_codes, clusters = pd.factorize(prep["cluster"], use_na_sentinel=True)
    sample_codes = prep["sample_id"].cat.codes.to_numpy(np.int64)
    # Sample units are numbered after all clusters so the two can never collide.
    return np.where(cluster_codes >= 0, cluster_codes, len(clusters) + sample_codes)
