"""The terminal report: the scorecard table and the verdict, with rich."""

from __future__ import annotations

from rich.console import Console

from evalkit.console import fit
from evalkit.report.tables import SCORECARD, estimated_legend, scorecard_rows
from evalkit.analysis.run_analysis import RunAnalysis


def render(analysis: RunAnalysis, console: Console, by_suite: bool = False) -> None:
    run = analysis.run
    if analysis.records.empty:
        fit.print_lines(console, [f"Run {run.run_id} ({run.status}) has no records."])
        return
    console.print(scorecard(analysis.summary.by_model, f"evalkit run {run.run_id} ({run.status})"), crop=False)
    legend = estimated_legend(analysis.summary.by_model)
    if legend:
        fit.print_lines(console, [legend])
    if by_suite:
        console.print(suite_scorecard(analysis.summary.by_model_suite), crop=False)
    names = tuple(str(m) for m in analysis.summary.by_model["model"])
    fit.print_lines(console, epoch_lines(analysis), names)
    console.print()
    fit.print_lines(console, verdict_lines(analysis), names)


def scorecard(frame, title: str) -> fit.Grid:
    """The scorecard, one row per model: a table as wide as the terminal allows, split
    into parts that repeat the model when it is narrower (see `evalkit.console.fit`)."""
    columns = [fit.Column(header, right=header != "Model") for header, _ in SCORECARD]
    return fit.Grid(title, columns, scorecard_rows(frame))


def suite_scorecard(frame) -> fit.Grid:
    """The scorecard per model and suite; narrower than the terminal, one table per suite."""
    columns = [fit.Column("Suite")] + [fit.Column(header, right=header != "Model") for header, _ in SCORECARD]
    rows = [[str(suite), *cells] for suite, cells in zip(frame["suite"], scorecard_rows(frame))]
    return fit.Grid("By suite", columns, rows, keys=(0, 1), group=0)


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
    return lines + verdict.notes


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
    from evalkit.analysis.epochs import epoch_spread

    return [f"epochs: {row['model']} — {int(row['epochs'])} answers per item; one pass's accuracy "
            f"varies by ±{100 * row['accuracy_sd']:.1f} pts (SD); {100 * row['inconsistent']:.0f}% of "
            f"items answered differently across epochs"
            for _, row in epoch_spread(records).iterrows()]
