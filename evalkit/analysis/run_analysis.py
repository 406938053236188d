"""`RunAnalysis`: one stored run with its records, summary and verdict, ready for any report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalkit.report.gc_pause import gc_paused
from evalkit.store.database import RunRow, Store


@dataclass
class RunAnalysis:
    run: RunRow
    records: Any
    """pandas DataFrame of the run's per-call records."""
    summary: Any
    """`evalkit.analysis.Summary`."""
    verdict: Any
    """`evalkit.analysis.Verdict`."""


def analyse_run(store: Store, ref: str) -> RunAnalysis:
    from evalkit.analysis import summary as analysis
    from evalkit.economics.pricing import time_priced

    run = store.run(ref)
    with gc_paused():  # the records are many long-lived objects: see gc_pause
        records = store.records_frame(run.run_id)
        summary = analysis.summarize(records, time_priced(run.price_snapshot))
        # reports list the most accurate first
        summary.by_model = summary.by_model.sort_values(["accuracy", "model"], ascending=[False, True])
        summary.by_model_suite = summary.by_model_suite.sort_values(
            ["suite", "accuracy", "model"], ascending=[True, False, True]
        )
        return RunAnalysis(run=run, records=records, summary=summary, verdict=analysis.verdict(records, summary))
