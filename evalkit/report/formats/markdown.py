"""Markdown: the decision report (``-f md``, charts as SVG files beside it), and the short
report written into every run folder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.arrow_text import column_text, either, join, joined_lists, mapped, replaced, utf8_bytes
from evalkit.report.code import CODE_NOTE, CODE_TITLE
from evalkit.report.definitions import METRIC_DEFINITIONS
from evalkit.report.families import TITLE as FAMILIES_TITLE
from evalkit.report.families import host_comparisons
from evalkit.report.formats import ReportFormat, ReportParts, register_format
from evalkit.report.incumbent import TITLE as INCUMBENT_TITLE
from evalkit.report.latency_tiers import LATENCY_TITLE, latency_notes, latency_table
from evalkit.report.tables import SCORECARD, THINKING_TITLE, estimated_legend, scorecard_rows
from evalkit.report.tasks import TASKS_NOTE, TASKS_TITLE, tasks_table
from evalkit.report.thinking import thinking_notes, thinking_table
from evalkit.report.verdict_lines import code_lines, verdict_lines


def render(analysis: RunAnalysis) -> str:
    run = analysis.run
    started = dt.datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M:%S")
    legend = estimated_legend(analysis.summary.by_model)
    parts = [
        f"# evalkit run {run.run_id}",
        "",
        f"Started {started} · status {run.status} · config {run.config_hash} · evalkit {run.evalkit_version}",
        "",
        "## Verdict",
        "",
        *(f"- {line}" for line in verdict_lines(analysis)),
        "",
        "## Scorecard",
        "",
        *_table([h for h, _ in SCORECARD], scorecard_rows(analysis.summary.by_model)),
        "",
        *([legend, ""] if legend else []),
        *_run_thinking(analysis),
        *_families(host_comparisons(analysis), lambda table: _table(table.headers, table.rows)),
        "## By suite",
        "",
        *_suite_table(analysis),
        "",
        *_run_tasks(analysis),
        *_run_code(analysis),
        *_run_latency(analysis),
        "## Prices used",
        "",
        *_prices(run.price_snapshot),
        "",
        "## Metric definitions",
        "",
        *(f"- **{name}**: {text}" for name, text in METRIC_DEFINITIONS),
        "",
    ]
    return "\n".join(parts)


def _run_code(analysis: RunAnalysis) -> list[str]:
    lines = code_lines(analysis)
    return ["## Code suites", "", *(f"- {line}" for line in lines), ""] if lines else []


def _run_latency(analysis: RunAnalysis) -> list[str]:
    table = latency_table(analysis)
    if not table.rows:
        return []
    return [f"## {LATENCY_TITLE}", "", *_table(table.headers, table.rows), "",
            *(f"- {_md_text(note)}" for note in latency_notes(analysis)), ""]


def _run_thinking(analysis: RunAnalysis) -> list[str]:
    table = thinking_table(analysis)
    if not table.rows:
        return []
    return [f"## {THINKING_TITLE}", "", *_table(table.headers, table.rows), "",
            *(f"- {note}" for note in thinking_notes(analysis)), ""]


def _families(comparisons: list, table_lines: Callable[[Any], list[str]],
              escape: Callable[[str], str] = lambda text: text) -> list[str]:
    """The hosts of each family compared: its table, then its verdict ("" when the run has none)."""
    if not comparisons:
        return []
    parts = [f"## {FAMILIES_TITLE}", "",
             "The same weights from different hosts, judged as models are: the same columns, paired tests "
             "and verdict, over these hosts' records alone.", ""]
    for comparison in comparisons:
        family = comparison.family
        parts += [f"### {escape(family.name)}", "", f"Weights: {family.weights}", "",
                  *table_lines(comparison.table), "", *(f"- {escape(line)}" for line in comparison.verdict), ""]
    return parts


def _suite_table(analysis: RunAnalysis) -> list[str]:
    frame = analysis.summary.by_model_suite
    rows = [[str(suite), *cells] for suite, cells in zip(frame["suite"], scorecard_rows(frame))]
    return _table(["Suite", *(h for h, _ in SCORECARD)], rows)


def _prices(snapshot: dict) -> list[str]:
    from evalkit.report.content import price_table

    table = price_table(snapshot)
    return _table(table.headers, table.rows)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------------------- decision report


def write(parts: ReportParts, path: Path) -> None:
    """The report in `path`, its charts as SVG files in ``<stem>-charts/`` beside it."""
    chart_dir = path.with_name(f"{path.stem}-charts")
    chart_dir.mkdir(exist_ok=True)
    for chart in parts.charts:
        (chart_dir / f"{chart.key}.svg").write_text(chart.svg, encoding="utf-8")
    # piece by piece: a million records' disagreements are tens of MB of text
    with open(path, "wb") as out:
        for piece in report_pieces(parts.content, parts.charts, chart_dir.name):
            out.write(piece.encode("utf-8") if isinstance(piece, str) else piece)


register_format(ReportFormat("md", "report.md", write, order=3))


def render_report(content, charts: list, chart_dir_name: str) -> str:
    """The full decision report (`evalkit report --format md`): the same sections as the HTML
    and PDF; charts are SVG files in ``chart_dir_name`` beside the Markdown file."""
    return "".join(p if isinstance(p, str) else bytes(p).decode("utf-8")
                   for p in report_pieces(content, charts, chart_dir_name))


def report_pieces(content, charts: list, chart_dir_name: str) -> Iterator[str | memoryview]:
    """`render_report` in pieces: the sections before the disagreements, then they (UTF-8
    bytes, many items a piece)."""
    from evalkit.report.content import SECTIONS

    parts = [f"# {content.title}", "", content.run_line, "", f"## {SECTIONS[0]}", ""]
    parts += [f"- {_md_text(p)}" for p in content.summary]
    parts += ["", f"## {SECTIONS[1]}", ""]
    for chart in (c for c in charts if c.section == "Charts"):
        image = f"![{chart.title}]({chart_dir_name}/{chart.key}.svg)"
        parts += [image, "", f"*{chart.title}.* {_md_text(chart.caption)}", ""]
    parts += [f"## {SECTIONS[2]}", "", *_content_table(content.scorecard), "",
              "**Bold ▲**: the best value of its column.", "",
              *([_md_text(content.cost_legend), ""] if content.cost_legend else []),
              *_thinking(content),
              "### By suite", "", *_content_table(content.suites), "", *_tasks(content),
              *_code_part(content), *_latency_part(content)]
    parts += _families(content.families, _content_table, escape=_md_text)
    parts += _incumbent(content)
    parts += [f"## {SECTIONS[3]}", "", _md_text(content.monthly_note), "", *_content_table(content.monthly), ""]
    parts += _self_hosting(content, charts, chart_dir_name)
    parts += _workload_bill(content)
    parts += [f"## {SECTIONS[4]}", "", *_content_table(content.facts_table), "",
              "Unknown means evalkit does not know; override or extend facts per model in the config (`facts:`).", ""]
    parts += [f"## {SECTIONS[5]}", "", *(f"- **{k}**: {_md_text(v)}" for k, v in content.methodology), "",
              "### Suites", "", *_content_table(content.suite_sizes), "",
              "### Prices used (snapshot stored with the run)", "", *_content_table(content.prices), "",
              "### Metric definitions", "", *(f"- **{k}**: {v}" for k, v in content.definitions), ""]
    parts += [f"## {SECTIONS[6]}", "", _md_text(content.disagreement_note), ""]
    yield "\n".join(parts)
    for items, answers, offsets in content.disagreements.chunks():
        yield utf8_bytes(_items_markdown(items, answers, offsets))


def _items_markdown(items: Any, answers: Any, offsets: Any) -> Any:
    """Each item's heading, prompt, reference and answers table, built a column at a time
    (see `evalkit.report.arrow_text`): what `_md_text` and `_table` would write for it,
    byte for byte; the prompt fenced with four tildes when it holds three."""
    import pyarrow.compute as pc

    score = answers.column("score").combine_chunks()
    rows = join("| ", column_text(answers, "model", _md_cells), " | ", mapped(score, lambda v: f"{v:.2f}"),
                " | ", column_text(answers, "extracted", _md_cells), " | ", _md_cells(column_text(answers, "response")),
                " |\n")
    prompt = column_text(items, "prompt")
    fence = either(pc.match_substring(prompt, "~~~"), "~~~~", "~~~")
    return join("\n### ", replaced(column_text(items, "suite"), _MD_ESCAPES), " · ",
                replaced(column_text(items, "sample_id"), _MD_ESCAPES), "\n\nPrompt:\n\n", fence, "text\n", prompt,
                "\n", fence, "\n\nReference: `", replaced(column_text(items, "reference"), (("`", "ˋ"),)),
                "`\n\n| Model | Score | Extracted | Answer |\n|---|---|---|---|\n", joined_lists(rows, offsets))


def _md_cells(values: Any) -> Any:
    """`_md_cell` of each value, its pipes escaped as `_table` does."""
    return replaced(values, (*_MD_ESCAPES, ("\n", "<br>"), ("|", "\\|")))



def _incumbent(content) -> list[str]:
    """Each candidate against the answers logged in production; nothing without a replay suite."""
    if not content.incumbent.rows:
        return []
    return [f"## {INCUMBENT_TITLE}", "", *(f"- {_md_text(line)}" for line in content.incumbent_lines), "",
            *_content_table(content.incumbent), "", _md_text(content.incumbent_note), ""]


def _thinking(content) -> list[str]:
    from evalkit.report.tables import THINKING_TITLE

    if not content.thinking.rows:
        return []
    return [f"### {THINKING_TITLE}", "", *_content_table(content.thinking), "",
            *(f"- {_md_text(note)}" for note in content.thinking_notes), ""]


def _tasks(content) -> list[str]:
    if not content.tasks.rows:
        return []
    return [f"### {TASKS_TITLE}", "", *_content_table(content.tasks), "", _md_text(TASKS_NOTE), ""]


def _code_part(content) -> list[str]:
    if not content.code.rows:
        return []
    return [f"### {CODE_TITLE}", "", *_content_table(content.code), "", _md_text(CODE_NOTE), ""]


def _latency_part(content) -> list[str]:
    if not content.latency.rows:
        return []
    return [f"### {LATENCY_TITLE}", "", *_content_table(content.latency), "",
            *(f"- {_md_text(note)}" for note in content.latency_notes), ""]


def _run_tasks(analysis: RunAnalysis) -> list[str]:
    table = tasks_table(analysis)
    if not table.rows:
        return []
    return [f"## {TASKS_TITLE}", "", *_table(table.headers, table.rows), "", TASKS_NOTE, ""]


def _self_hosting(content, charts: list, chart_dir_name: str) -> list[str]:
    from evalkit.report.selfhosting import TITLE

    if not content.self_hosting:
        return []
    parts = [f"## {TITLE}", ""]
    for i, item in enumerate(content.self_hosting):
        parts += [f"### {_md_text(item.model)}", "", *(f"- **{k}**: {_md_text(v)}" for k, v in item.assumptions), "",
                  _md_text(item.note), ""]
        if item.table is not None:
            parts += [*_content_table(item.table), ""]
        for chart in charts:
            if chart.key == f"self-hosting-{i}":
                parts += [f"![{chart.title}]({chart_dir_name}/{chart.key}.svg)", "",
                          f"*{_md_text(chart.title)}.* {_md_text(chart.caption)}", ""]
    return parts


def _workload_bill(content) -> list[str]:
    from evalkit.report.workload_bill import TITLE

    bill = content.workload_bill
    if bill is None:
        return []
    return [f"## {TITLE}", "", f"### Profile {_md_text(bill.name)}", "", *_content_table(bill.bill), "",
            *(f"- {_md_text(line)}" for line in bill.lines), "", "### Token inflation", "",
            *_content_table(bill.inflation), "", "### Assumptions", "",
            *(f"- **{k}**: {_md_text(v)}" for k, v in bill.assumptions), ""]


def _content_table(table) -> list[str]:
    rows = [[f"**{_md_cell(c)} ▲**" if (i, j) in table.best else _md_cell(c) for j, c in enumerate(row)]
            for i, row in enumerate(table.rows)]
    return _table([_md_cell(h) for h in table.headers], rows)


_MD_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
"""What `_md_text` replaces, in order."""


def _md_text(text: str) -> str:
    """Model output and prompts must not become markup: escape what Markdown and HTML read."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md_cell(text: str) -> str:
    return _md_text(text).replace("\n", "<br>")
