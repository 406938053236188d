"""The terminal report: the scorecard table and the verdict, with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evalkit.report.formatting import SCORECARD, scorecard_rows
from evalkit.report.run_analysis import RunAnalysis


def render(analysis: RunAnalysis, console: Console, by_suite: bool = False) -> None:
    run = analysis.run
    if analysis.records.empty:
        console.print(f"Run {run.run_id} ({run.status}) has no records.")
        return
    table = Table(title=f"evalkit run {run.run_id} ({run.status})", title_justify="left")
    for header, _ in SCORECARD:
        table.add_column(header, justify="left" if header == "Model" else "right", no_wrap=header != "Model")
    for cells in scorecard_rows(analysis.summary.by_model):
        table.add_row(*cells)
    console.print(table)
    if by_suite:
        _render_suites(analysis, console)
    console.print()
    for line in verdict_lines(analysis):
        console.print(line, highlight=False)


def _render_suites(analysis: RunAnalysis, console: Console) -> None:
    frame = analysis.summary.by_model_suite
    table = Table(title="By suite", title_justify="left")
    table.add_column("Suite")
    for header, _ in SCORECARD:
        table.add_column(header, justify="left" if header == "Model" else "right")
    for (suite, cells) in zip(frame["suite"], scorecard_rows(frame)):
        table.add_row(str(suite), *cells)
    console.print(table)


def verdict_lines(analysis: RunAnalysis) -> list[str]:
    verdict = analysis.verdict
    return [line.sentence for line in (verdict.good, verdict.fast, verdict.cheap, verdict.best_value)]
