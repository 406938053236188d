"""Thinking and truncation per model: the second clock, thinking tokens, replies cut by max_tokens.

Definitions (those of the README's metric section), over a frame from
`evalkit.analysis.frame.prepare`:

- A *thinking candidate* is a model with any reasoning in its records (reasoning tokens,
  a thinking time, or a reply that was all thinking).
- ``first_token_p50``: median time to the first token of any kind, reasoning included, over
  successful calls; ``thinking_p50``: median thinking time (first reasoning token to first
  answer token) over the successful calls that reasoned. TTFT stays the first *answer* token.
- ``thinking_tokens``: reasoning tokens summed over every reply (the provider's count, else
  evalkit's estimate: ``thinking_estimated`` counts those); ``thinking_per_item`` divides
  them by the replies (successes and replies that were all thinking), and
  ``thinking_per_correct`` by the correct answers (the sum of scores).
- ``truncated``: replies stopped by max_tokens (``finish_reason: length``), answer or not;
  ``thinking_exhausted``: those of them that were still thinking, with no answer begun.

`suggest_max_tokens` proposes a max_tokens from the run's own thinking lengths.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evalkit.transport.base import UNFINISHED_THINKING

COLUMNS = ["thinking", "first_token_p50", "thinking_p50", "thinking_tokens", "thinking_per_item",
           "thinking_per_correct", "thinking_estimated", "truncated", "thinking_exhausted"]
"""What `thinking_columns` adds to each summary row."""

SUGGESTION_STEP = 256
HEADROOM = 1.25
"""Above the 95th percentile of the lengths of the replies that finished on their own."""


def thinking_columns(prep: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The thinking and truncation figures per group of ``keys`` (see the module docstring)."""
    unfinished = prep["error_class"].to_numpy() == UNFINISHED_THINKING
    length = prep["finish_reason"].to_numpy() == "length"
    replied = ~prep["is_error"].to_numpy() | unfinished
    frame = prep.assign(
        _first=prep["first_token_s"].fillna(prep["ttft_s"]).where(~prep["is_error"]),
        _thinking=prep["thinking_s"].where(~prep["is_error"]),
        _tokens=prep["reasoning_tokens"],
        _reasoned=(prep["reasoning_tokens"].fillna(0).to_numpy() > 0) | prep["thinking_s"].notna().to_numpy()
        | unfinished,
        _estimated=prep["reasoning_tokens_source"].to_numpy() == "estimated",
        _truncated=length, _exhausted=length & unfinished, _replied=replied,
    )
    g = frame.groupby(keys, sort=True, observed=True)
    out = g.agg(
        thinking=("_reasoned", "any"), first_token_p50=("_first", "median"), thinking_p50=("_thinking", "median"),
        thinking_tokens=("_tokens", "sum"), thinking_known=("_tokens", "count"),
        thinking_estimated=("_estimated", "sum"), truncated=("_truncated", "sum"),
        thinking_exhausted=("_exhausted", "sum"), replies=("_replied", "sum"), correct=("score", "sum"),
    ).reset_index()
    # no reasoning token count at all is unknown, not 0 tokens
    out["thinking_tokens"] = out["thinking_tokens"].where(out["thinking_known"] > 0)
    out["thinking_per_item"] = out["thinking_tokens"] / out["replies"].where(out["replies"] > 0)
    out["thinking_per_correct"] = out["thinking_tokens"] / out["correct"].where(out["correct"] > 0)
    for name in ("thinking_estimated", "truncated", "thinking_exhausted"):
        out[name] = out[name].astype(np.int64)
    out["thinking"] = out["thinking"].astype(bool)
    return out[[*keys, *COLUMNS]]


def suggest_max_tokens(records: pd.DataFrame, max_tokens: int) -> int | None:
    """A max_tokens that would fit this model's replies, from its own records; None when none was cut.

    A reply cut at max_tokens needed more, by how much the run cannot see: the suggestion
    is at least twice the max_tokens used, and at least `HEADROOM` times the 95th
    percentile of completion tokens (thinking and answer) of the replies that finished on
    their own, rounded up to a multiple of `SUGGESTION_STEP`.
    """
    if "finish_reason" not in records.columns:
        return None
    length = records["finish_reason"].to_numpy() == "length"
    if not length.any():
        return None
    finished = records.loc[~length & records["error_class"].isna(), "completion_tokens"]
    finished = pd.to_numeric(finished, errors="coerce").dropna()
    floor = float(2 * max_tokens)
    if not finished.empty:
        floor = max(floor, HEADROOM * float(np.percentile(finished.to_numpy(float), 95)))
    return int(math.ceil(floor / SUGGESTION_STEP) * SUGGESTION_STEP)


def truncation_lines(by_model: pd.DataFrame, records: pd.DataFrame, max_tokens: int | None) -> list[str]:
    """One sentence per model whose replies max_tokens cut: how many, how many before any
    answer began, and the max_tokens that would fit."""
    lines = []
    for row in by_model.itertuples():
        if not getattr(row, "truncated", 0):
            continue
        text = f"{row.model}: {row.truncated} of {row.n} replies stopped at max_tokens"
        if row.thinking_exhausted:
            text += f", {row.thinking_exhausted} of them while still thinking (no answer began)"
        suggestion = (suggest_max_tokens(records[records["model"].astype(str) == row.model], max_tokens)
                      if max_tokens else None)
        if suggestion is not None:
            text += f"; max_tokens {max_tokens} is too small for it: try at least {suggestion}"
        lines.append(text + ".")
    return lines
