"""The run folder `results/<run-id>/`: records.jsonl, summary.csv and report.md."""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.report.formats import markdown
from evalkit.analysis.run_analysis import analyse_run
from evalkit.store.database import Store


def write_run_folder(store: Store, run_id: str, run_dir: Path) -> Path:
    analysis = analyse_run(store, run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "records.jsonl", "w", encoding="utf-8") as out:
        for row in analysis.records.to_dict(orient="records"):
            out.write(json.dumps(_clean(row), ensure_ascii=False) + "\n")
    if not analysis.records.empty:
        overall = analysis.summary.by_model.assign(suite="ALL")
        summary = _concat(analysis.summary.by_model_suite, overall)
        summary.to_csv(run_dir / "summary.csv", index=False)
        report = markdown.render(analysis) + _history_section(store, analysis.run, run_dir)
        (run_dir / "report.md").write_text(report, encoding="utf-8")
    return run_dir


HISTORY_RUNS = 30
"""Runs of the same tag the report's history chart covers."""


def _history_section(store: Store, run, run_dir: Path) -> str:
    """A tagged run's report ends with the trend of its series (history.png), if any."""
    if not run.tag or len(store.runs(2, tag=run.tag)) < 2:
        return ""
    from evalkit.analysis.history import history_frame
    from evalkit.console.trend import chart

    frame = history_frame(store, tag=run.tag, limit=HISTORY_RUNS)
    chart(frame, run_dir / "history.png")
    return (f"\n## History of `{run.tag}`\n\nAccuracy, E2E p95 and $ / 1k tasks over the last "
            f"{frame['run_id'].nunique()} runs tagged `{run.tag}`:\n\n![history](history.png)\n")


def _concat(by_suite, overall):
    import pandas as pd

    columns = ["model", "suite", *[c for c in by_suite.columns if c not in ("model", "suite")]]
    return pd.concat([by_suite, overall], ignore_index=True)[columns]


def _clean(row: dict) -> dict:
    """NaN is not JSON: write null."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
