"""History: accuracy, p95 latency and cost per task of each model and suite across stored runs.

The figures come from each run's stored summary (`evalkit.analysis.run_summary`), not its
records: one row per run is read, and a run without a current summary gets one computed
from its records and stored on the way.
"""

from __future__ import annotations

import pandas as pd

from evalkit.analysis.run_summary import ALL_SUITES, FIGURES, summaries
from evalkit.store.database import Store

HISTORY_COLUMNS = [
    "run_id", "started_at", "tag", "status", "model", "suite", "n", "accuracy", "accuracy_low",
    "accuracy_high", "e2e_p95", "cost_per_1k_tasks", "cost_estimated",
]
_INTEGER_COLUMNS = ("n", "cost_estimated")
_FLOAT_COLUMNS = ("started_at", *(name for name in FIGURES if name not in _INTEGER_COLUMNS))

__all__ = ["ALL_SUITES", "HISTORY_COLUMNS", "history_frame"]


def history_frame(store: Store, model: str | None = None, suite: str | None = None,
                  tag: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """One row per (run, model, suite), oldest run first, with the columns of HISTORY_COLUMNS.

    Figures are those of `summarize` for each run, so they match what `show` printed that
    day. Without ``suite``, each model also gets a row with suite ``ALL``.
    ``limit`` keeps the most recent runs.
    """
    runs = list(reversed(store.runs(limit, tag=tag)))
    if model is not None:
        runs = [run for run in runs if model in run.models]
    documents = summaries(store, runs)
    rows = []
    for run in runs:
        for row in documents[run.run_id]["rows"]:
            if model is not None and row["model"] != model:
                continue
            if suite is not None and (row["suite"] != suite or row["suite"] == ALL_SUITES):
                continue
            rows.append({"run_id": run.run_id, "started_at": run.started_at, "tag": run.tag,
                         "status": run.status, **row})
    if not rows:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    frame = pd.DataFrame.from_records(rows, columns=HISTORY_COLUMNS)
    # None (unknown) becomes NaN; counts stay integers
    return frame.astype({**{name: float for name in _FLOAT_COLUMNS},
                         **{name: "int64" for name in _INTEGER_COLUMNS}})
