"""The terminal report: the scorecard table and the verdict, with rich."""

from __future__ import annotations

from rich.console import Console

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.console import fit
from evalkit.report.tables import SCORECARD, THINKING_TITLE, estimated_legend, scorecard_rows
from evalkit.report.thinking import thinking_notes, thinking_table
from evalkit.report.verdict_lines import code_lines, epoch_lines, verdict_lines


def render(analysis: RunAnalysis, console: Console, by_suite: bool = False) -> None:
    run = analysis.run
    if analysis.records.empty:
        if analysis.latency is not None:  # a run of the latency suite alone
            latency_view(analysis, console)
            return
        fit.print_lines(console, [f"Run {run.run_id} ({run.status}) has no records."])
        return
    console.print(scorecard(analysis.summary.by_model, f"evalkit run {run.run_id} ({run.status})"), crop=False)
    legend = estimated_legend(analysis.summary.by_model)
    if legend:
        fit.print_lines(console, [legend])
    table = thinking_table(analysis)
    if table.rows:
        rows: list[list[str | tuple]] = [list(row) for row in table.rows]
        console.print(fit.Grid(THINKING_TITLE, [fit.Column(h, right=h != "Model") for h in table.headers], rows),
                      crop=False)
        fit.print_lines(console, thinking_notes(analysis))
    if by_suite:
        console.print(suite_scorecard(analysis.summary.by_model_suite), crop=False)
    names = tuple(str(m) for m in analysis.summary.by_model["model"])
    fit.print_lines(console, epoch_lines(analysis), names)
    fit.print_lines(console, code_lines(analysis), names)
    latency_view(analysis, console)
    console.print()
    fit.print_lines(console, verdict_lines(analysis), names)
    host_comparisons_view(analysis, console, names)


def latency_view(analysis: RunAnalysis, console: Console) -> None:
    """Latency per tier beside the benchmark's, under the scorecard; nothing without a latency suite."""
    from evalkit.report.latency_tiers import LATENCY_TITLE, latency_notes, latency_table

    table = latency_table(analysis)
    if not table.rows:
        return
    rows: list[list[fit.Cell]] = [list(row) for row in table.rows]
    columns = [fit.Column(h, right=h not in ("Model", "Tier (prompt/answer)")) for h in table.headers]
    console.print(fit.Grid(LATENCY_TITLE, columns, rows, keys=(0, 1)), crop=False)
    fit.print_lines(console, latency_notes(analysis))


def host_comparisons_view(analysis: RunAnalysis, console: Console, names: tuple[str, ...]) -> None:
    """Each family with two or more hosts in the run: its hosts' scorecard and their verdict."""
    from evalkit.report.families import TITLE, host_comparisons

    for comparison in host_comparisons(analysis):
        console.print()
        # the model id is in the reports; here the host and the label say which row is which
        headers = [h for i, h in enumerate(comparison.table.headers) if i != 1]
        rows: list[list[fit.Cell]] = [[c for i, c in enumerate(row) if i != 1] for row in comparison.table.rows]
        columns = [fit.Column(header, right=header not in ("Host", "Model")) for header in headers]
        title = f"{TITLE}: {comparison.family.name}"
        console.print(fit.Grid(title, columns, rows, keys=(0, 1)), crop=False)
        fit.print_lines(console, comparison.verdict, names)


def scorecard(frame, title: str) -> fit.Grid:
    """The scorecard, one row per model: a table as wide as the terminal allows, split
    into parts that repeat the model when it is narrower (see `evalkit.console.fit`)."""
    columns = [fit.Column(header, right=header != "Model") for header, _ in SCORECARD]
    rows: list[list[fit.Cell]] = [list(row) for row in scorecard_rows(frame)]
    return fit.Grid(title, columns, rows)


def suite_scorecard(frame) -> fit.Grid:
    """The scorecard per model and suite; narrower than the terminal, one table per suite."""
    columns = [fit.Column("Suite")] + [fit.Column(header, right=header != "Model") for header, _ in SCORECARD]
    rows: list[list[fit.Cell]] = [[str(suite), *cells] for suite, cells in zip(frame["suite"], scorecard_rows(frame))]
    return fit.Grid("By suite", columns, rows, keys=(0, 1), group=0)
