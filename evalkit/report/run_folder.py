"""The run folder `results/<run-id>/`: records.jsonl, summary.csv and report.md."""

from __future__ import annotations

import json
from pathlib import Path

from evalkit.report import markdown
from evalkit.report.run_analysis import analyse_run
from evalkit.store import Store


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
        (run_dir / "report.md").write_text(markdown.render(analysis), encoding="utf-8")
    return run_dir


def _concat(by_suite, overall):
    import pandas as pd

    columns = ["model", "suite", *[c for c in by_suite.columns if c not in ("model", "suite")]]
    return pd.concat([by_suite, overall], ignore_index=True)[columns]


def _clean(row: dict) -> dict:
    """NaN is not JSON: write null."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
