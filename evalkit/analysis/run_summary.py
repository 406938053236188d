"""The per-run summaries `evalkit history` reads: a run's history figures, kept in the store.

A summary holds, for every model x suite of one run and every model over all its suites
(suite ``ALL``), exactly the figures `evalkit.analysis.history.HISTORY_COLUMNS` shows,
as `evalkit.analysis.summary.summarize` computed them from the run's records. It is
stored as JSON (`Store.save_run_summary`) once the run has ended, so history over years of
nightly runs reads one row per run instead of every run's records.

A stored summary is used only while it still describes the run:

- ``format`` is `SUMMARY_FORMAT`. It is raised whenever a figure's definition changes
  (what counts in ``n``, how the interval is made, how a cost is priced), so summaries
  made under the old definition are recomputed from the records on the next history
  call. A new evalkit version alone does not invalidate them: the figures of one set
  of records do not depend on which release stored them.
- ``state`` is the run's status and end time when the summary was made. Resuming a run
  reopens it (`Store.reopen_run` also deletes its summary) and finishes it again later,
  and the last shard of a sharded run flips its status: either changes the state, so the
  summary is recomputed.
- A run still running (or a sharded run whose shards have not all reported) gets no
  stored summary: its figures are computed from its records on each call.

Runs stored before summaries existed get theirs computed and saved the first time
history needs them: the store is migrated in place, one run at a time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from evalkit.version import __version__

if TYPE_CHECKING:
    from evalkit.analysis.summary import Summary
    from evalkit.store.database import RunRow, Store

SUMMARY_FORMAT = 1
"""Version of the figures' definitions in a stored summary; raise it when one changes."""

ALL_SUITES = "ALL"
"""The suite name of a model's figures over all its suites."""

FIGURES = ["n", "accuracy", "accuracy_low", "accuracy_high", "e2e_p95", "cost_per_1k_tasks", "cost_estimated"]
"""The figures a summary keeps per (model, suite): those history shows."""
_INTEGERS = ("n", "cost_estimated")

RECORD_COLUMNS = ["model", "suite", "sample_id", "cluster", "epoch", "score", "error_class",
                  "ttft_s", "e2e_s", "prompt_tokens", "completion_tokens", "cost_usd", "usage_source"]
"""The record columns these figures rest on: history need not read response texts."""


def summary_document(run: RunRow, summary: Summary) -> dict[str, Any]:
    """What is stored for ``run``: its figures from ``summary`` (of all its records, priced
    as measured), the format and the run's state."""
    rows = []
    # by model (then suite), whatever order a report sorted the frames in
    for frame, suite in ((summary.by_model_suite.sort_values(["model", "suite"]), None),
                         (summary.by_model.sort_values("model"), ALL_SUITES)):
        for row in frame[["model", *([] if suite else ["suite"]), *FIGURES]].to_dict("records"):
            rows.append({"model": str(row["model"]), "suite": suite or str(row["suite"]),
                         **{name: _plain(name, row[name]) for name in FIGURES}})
    return {"format": SUMMARY_FORMAT, "state": run_state(run), "rows": rows}


def run_state(run: RunRow) -> dict[str, Any]:
    """What changes when the run's records may have: its status and end time."""
    return {"status": run.status, "finished_at": run.finished_at}


def is_current(document: dict | None, run: RunRow) -> bool:
    """Whether a stored summary still describes ``run``."""
    return (document is not None and document.get("format") == SUMMARY_FORMAT
            and document.get("state") == run_state(run))


def storable(run: RunRow) -> bool:
    """A run that has ended; one still running keeps changing."""
    return run.status != "running"


def compute(store: Store, run: RunRow) -> dict[str, Any]:
    """A run's summary from its records (the columns `RECORD_COLUMNS`)."""
    from evalkit.analysis.latency_tiers import split_latency
    from evalkit.analysis.summary import summarize
    from evalkit.economics.pricing import time_priced

    # latency-suite records are timed, not graded: never in accuracy, as in `analyse_run`
    records = split_latency(store.records_frame(run.run_id, columns=RECORD_COLUMNS))[0]
    if records.empty:
        return {"format": SUMMARY_FORMAT, "state": run_state(run), "rows": []}
    return summary_document(run, summarize(records, time_priced(run.price_snapshot)))


def keep(store: Store, run: RunRow, document: dict[str, Any]) -> None:
    """Store ``document`` as ``run``'s summary if the run has ended."""
    if storable(run):
        store.save_run_summary(run.run_id, __version__, document)


def summaries(store: Store, runs: list[RunRow]) -> dict[str, dict[str, Any]]:
    """run_id -> current summary of each run: the stored one, or one computed from the
    records now (and stored, once the run has ended)."""
    stored = store.run_summaries([run.run_id for run in runs]) if runs else {}
    out = {}
    for run in runs:
        document = stored.get(run.run_id)
        if document is None or not is_current(document, run):
            document = compute(store, run)
            keep(store, run, document)
        out[run.run_id] = document
    return out


def _plain(name: str, value: Any) -> int | float | None:
    """A JSON value: NaN (unknown) as null, counts as int; floats keep every digit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if name in _INTEGERS else float(value)
