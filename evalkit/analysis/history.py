"""History: accuracy, p95 latency and cost per task of each model and suite across stored runs."""

from __future__ import annotations

import pandas as pd

from evalkit.analysis.latency_tiers import split_latency
from evalkit.analysis.summary import summarize
from evalkit.economics.pricing import time_priced
from evalkit.store.database import Store

HISTORY_COLUMNS = [
    "run_id", "started_at", "tag", "status", "model", "suite", "n", "accuracy", "accuracy_low",
    "accuracy_high", "e2e_p95", "cost_per_1k_tasks", "cost_estimated",
]
_RECORD_COLUMNS = ["model", "suite", "sample_id", "cluster", "epoch", "score", "error_class",
                   "ttft_s", "e2e_s", "prompt_tokens", "completion_tokens", "cost_usd",
                   "usage_source"]
ALL_SUITES = "ALL"
"""The suite name of a model's figures over all its suites."""


def history_frame(store: Store, model: str | None = None, suite: str | None = None,
                  tag: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """One row per (run, model, suite), oldest run first, with the columns of HISTORY_COLUMNS.

    Figures are those of `summarize` for each run, so they match what `show` printed that
    day. Without ``suite``, each model also gets a row with suite ``ALL``.
    ``limit`` keeps the most recent runs.
    """
    rows = []
    for run in reversed(store.runs(limit, tag=tag)):
        if model is not None and model not in run.models:
            continue
        records = split_latency(store.records_frame(run.run_id, columns=_RECORD_COLUMNS))[0]
        if model is not None:
            records = records[records["model"] == model]
        if suite is not None:
            records = records[records["suite"] == suite]
        if records.empty:
            continue
        summary = summarize(records, time_priced(run.price_snapshot))
        frames = [summary.by_model_suite]
        if suite is None:
            frames.append(summary.by_model.assign(suite=ALL_SUITES))
        for frame in frames:
            rows.append(frame.assign(run_id=run.run_id, started_at=run.started_at, tag=run.tag,
                                     status=run.status))
    if not rows:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.concat(rows, ignore_index=True)[HISTORY_COLUMNS]
