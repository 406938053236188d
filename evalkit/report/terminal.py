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
    for line in epoch_lines(analysis):
        console.print(line, highlight=False)
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
    """The verdict sentences, then the frontiers they come from."""
    verdict = analysis.verdict
    if verdict.nothing_answered:
        return [verdict.good.sentence]
    lines = [line.sentence for line in (verdict.good, verdict.fast, verdict.cheap, verdict.best_value)]
    models = [m for m in analysis.summary.by_model["model"] if m not in verdict.unanswered]
    if len(models) > 1:
        lines.append(_frontier("quality vs cost", verdict.frontier_cost, "cheapest first", models))
        lines.append(_frontier("quality vs latency", verdict.frontier_latency, "fastest first", models))
    lines += [f"left out of the verdict: {model} — {reason}" for model, reason in verdict.unanswered.items()]
    return lines


def _frontier(name: str, frontier: list[str], order: str, models: list[str]) -> str:
    if not frontier:
        return f"frontier, {name}: not known (missing prices or latencies)"
    dominated = [m for m in models if m not in frontier]
    tail = f"; dominated: {', '.join(dominated)}" if dominated else ""
    return f"frontier, {name} ({order}): {' → '.join(frontier)}{tail}"


def epoch_lines(analysis: RunAnalysis) -> list[str]:
    """With --epochs K: how much one pass wanders, per model."""
    records = analysis.records
    if "epoch" not in records or records["epoch"].max() < 1:
        return []
    from evalkit.analysis import epoch_spread

    return [f"epochs: {row['model']} — {int(row['epochs'])} answers per item; one pass's accuracy "
            f"varies by ±{100 * row['accuracy_sd']:.1f} pts (SD); {100 * row['inconsistent']:.0f}% of "
            f"items answered differently across epochs"
            for _, row in epoch_spread(records).iterrows()]
