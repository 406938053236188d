"""The multi-turn part of every report: one table of the agent tasks per model and suite,
the same in HTML, PDF and Markdown; no rows when the run had no multi-turn task."""

from __future__ import annotations

from typing import Any

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.tables import Table, seconds, usd

TASKS_TITLE = "Multi-turn tasks"
TASKS_NOTE = ("A task is one item: the model calls tools, evalkit sends each result back, until the model "
              "answers or reaches the item's turn limit. A task's time, tokens and cost are the sums of its "
              "turns; per turn is one call's end-to-end time.")

TASK_COLUMNS = [
    ("Model", lambda r: str(r["model"])),
    ("Suite", lambda r: str(r["suite"])),
    ("Tasks", lambda r: f"{int(r['tasks']):,}"),
    ("Turns mean (max)", lambda r: f"{r['turns_mean']:.1f} ({int(r['turns_max'])})"),
    ("At turn limit", lambda r: f"{int(r['at_limit'])} of {int(r['tasks'])}"),
    ("E2E p50 / task", lambda r: seconds(r["task_e2e_p50"])),
    ("E2E p50 / turn", lambda r: seconds(r["turn_e2e_p50"])),
    ("Tokens / task", lambda r: f"{r['tokens_per_task']:,.0f}"),
    ("$ / task", lambda r: usd(r["cost_per_task"])),
]


def tasks_table(analysis: RunAnalysis) -> Table:
    from evalkit.analysis.tasks import task_table  # pandas: not for `evalkit --help`

    frame = task_table(analysis.records)
    rows: list[list[str]] = [[cell(row) for _, cell in TASK_COLUMNS] for row in _rows(frame)]
    return Table([h for h, _ in TASK_COLUMNS], rows)


def _rows(frame: Any) -> list[dict[str, Any]]:
    return frame.to_dict("records")
