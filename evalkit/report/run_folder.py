"""The run folder `results/<run-id>/`: records.jsonl, summary.csv and report.md, from a `RunAnalysis`.

It is the one writer of a run's report.md: the run summary (verdict, scorecard, per-suite
table, prices used, metric definitions and, for a tagged series, its history chart), or,
when the run asks for a decision report in Markdown, that report in its place. Decision
reports in other formats go beside it. It reads an analysis, never the store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.formats import markdown, report_formats, write_reports

SUMMARY_FILE = "report.md"
"""The run summary's file, unless a decision report asked for takes that name (the md one)."""
HISTORY_RUNS = 30
"""Runs of the same tag the report's history chart covers."""


def write_run_folder(analysis: RunAnalysis, run_dir: Path, *, history=None, reports: Sequence[str] = (),
                     volume: str | None = None, workload=None) -> list[Path]:
    """Write the run's records, summary and report.md into ``run_dir``, and the decision
    reports named in ``reports`` (html, pdf, md) for the workload ``volume``.

    ``history``: the tagged series' figures (`evalkit.analysis.history.history_frame`) when
    the run belongs to a series of two runs or more; report.md then ends with its chart.
    ``workload``: the bill for a workload profile (`evalkit.report.workload_bill.WorkloadBill`)
    the decision reports show. Returns the decision reports written.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    timed = analysis.latency.records.to_dict(orient="records") if analysis.latency is not None else []
    with open(run_dir / "records.jsonl", "w", encoding="utf-8") as out:
        for row in analysis.records.to_dict(orient="records") + timed:  # the latency suites' too
            out.write(json.dumps(_clean(row), ensure_ascii=False) + "\n")
    if analysis.records.empty and analysis.latency is None:
        return []
    overall = analysis.summary.by_model.assign(suite="ALL")
    _concat(analysis.summary.by_model_suite, overall).to_csv(run_dir / "summary.csv", index=False)
    formats = report_formats()
    if SUMMARY_FILE not in {formats[name].file_name for name in reports if name in formats}:
        summary = markdown.render(analysis) + _history_section(analysis.run.tag, history, run_dir)
        (run_dir / SUMMARY_FILE).write_text(summary, encoding="utf-8")
    return write_reports(analysis, list(reports), run_dir, volume, workload=workload) if reports else []


def _history_section(tag: str | None, history, run_dir: Path) -> str:
    """A tagged run's summary ends with the trend of its series (history.png)."""
    if not tag or history is None:
        return ""
    from evalkit.report.history_chart import chart

    chart(history, run_dir / "history.png")
    return (f"\n## History of `{tag}`\n\nAccuracy, E2E p95 and $ / 1k tasks over the last "
            f"{history['run_id'].nunique()} runs tagged `{tag}`:\n\n![history](history.png)\n")


def _concat(by_suite, overall):
    import pandas as pd

    columns = ["model", "suite", *[c for c in by_suite.columns if c not in ("model", "suite")]]
    return pd.concat([by_suite, overall], ignore_index=True)[columns]


def _clean(row: dict) -> dict:
    """NaN is not JSON: write null."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
