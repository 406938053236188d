"""The HTML report: one self-contained file (inline SVG charts, inline font, no network).

Every text that comes from a model, a prompt, a config or a suite goes through
`html.escape`, so a reply containing `<script>` shows as text. The only script is the
small inline filter of the disagreements table, written here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Sequence
from html import escape
from pathlib import Path
from typing import Any

from evalkit.report.arrow_text import column_text, either, html_escaped, join, joined_lists, mapped, utf8_bytes
from evalkit.report.charts import Chart
from evalkit.report.code import CODE_NOTE, CODE_TITLE
from evalkit.report.content import SECTIONS, ReportContent, Table
from evalkit.report.families import TITLE as FAMILIES_TITLE
from evalkit.report.fonts import FONT_LICENSE, FontSubset
from evalkit.report.formats import ReportFormat, ReportParts, register_format
from evalkit.report.incumbent import TITLE as INCUMBENT_TITLE
from evalkit.report.latency_tiers import LATENCY_TITLE
from evalkit.report.selfhosting import CHART_SECTION
from evalkit.report.selfhosting import TITLE as SELF_HOSTING_TITLE
from evalkit.report.tables import THINKING_TITLE
from evalkit.report.tasks import TASKS_NOTE, TASKS_TITLE
from evalkit.report.workload_bill import TITLE as WORKLOAD_TITLE

_CSS = """
@font-face { font-family: "EvalkitCJK"; font-weight: 400;
             src: url(data:font/ttf;base64,%(regular)s) format("truetype"); }
@font-face { font-family: "EvalkitCJK"; font-weight: 700;
             src: url(data:font/ttf;base64,%(bold)s) format("truetype"); }
@font-face { font-family: "%(chart_family)s"; src: url(data:font/ttf;base64,%(regular)s) format("truetype"); }
body { font-family: "EvalkitCJK", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #111;
       line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #333; margin-top: 2em; }
.run { color: #444; font-size: 0.9em; }
.summary p { margin: 0.5em 0; } .summary { border: 1px solid #999; padding: 0.5em 1em; background: #f7f7f7; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #e8e8e8; }
td.best { font-weight: 700; background: #dff0d8; outline: 2px solid #3c763d; }
td.best::after { content: " ▲"; font-size: 0.8em; }
figure { margin: 1.2em 0; } figure svg { max-width: 100%%; height: auto; }
figcaption { font-size: 0.85em; color: #333; }
.item { border: 1px solid #bbb; margin: 0.8em 0; padding: 0.4em 0.8em; }
.item pre { white-space: pre-wrap; word-break: break-word; background: #f4f4f4; padding: 0.3em; margin: 0.2em 0;
            font-family: "EvalkitCJK", monospace; }
.right { color: #1d5e1d; } .wrong { color: #8a1f1f; }
.filters { position: sticky; top: 0; background: white; padding: 0.5em 0; border-bottom: 1px solid #ccc; }
dl.defs dt { font-weight: 700; } dl.defs dd { margin: 0 0 0.4em 1.2em; }
"""

_FILTER_SCRIPT = """
(function () {
  var items = Array.prototype.slice.call(document.querySelectorAll('#disagreements .item'));
  var text = document.getElementById('filter-text'), suite = document.getElementById('filter-suite'),
      model = document.getElementById('filter-model'), outcome = document.getElementById('filter-outcome'),
      count = document.getElementById('filter-count');
  function apply() {
    var q = text.value.toLowerCase(), s = suite.value, m = model.value, o = outcome.value, shown = 0;
    items.forEach(function (el) {
      var ok = (!s || el.dataset.suite === s) && (!q || el.textContent.toLowerCase().indexOf(q) >= 0);
      if (ok && m) {
        var right = JSON.parse(el.dataset.right), wrong = JSON.parse(el.dataset.wrong);
        ok = o === 'right' ? right.indexOf(m) >= 0 : o === 'wrong' ? wrong.indexOf(m) >= 0
           : (right.indexOf(m) >= 0 || wrong.indexOf(m) >= 0);
      }
      el.style.display = ok ? '' : 'none';
      shown += ok ? 1 : 0;
    });
    count.textContent = shown + ' of ' + items.length + ' items shown';
  }
  [text, suite, model, outcome].forEach(function (el) { el.addEventListener('input', apply); });
  apply();
})();
"""


def write(parts: ReportParts, path: Path) -> None:
    # piece by piece: a million records' disagreements are hundreds of MB of text
    with open(path, "wb") as out:
        for piece in render_pieces(parts.content, parts.charts, parts.fonts):
            out.write(piece.encode("utf-8") if isinstance(piece, str) else piece)


register_format(ReportFormat("html", "report.html", write, order=1))


def render(content: ReportContent, charts: list[Chart], fonts: dict[int, FontSubset]) -> str:
    return "".join(p if isinstance(p, str) else bytes(p).decode("utf-8")
                   for p in render_pieces(content, charts, fonts))


def render_pieces(content: ReportContent, charts: list[Chart],
                  fonts: dict[int, FontSubset]) -> Iterator[str | memoryview]:
    """The page in pieces, in order: everything before the disagreements, them (UTF-8 bytes,
    many items a piece), the rest."""
    css = _CSS % {"regular": base64.b64encode(fonts[400].data).decode(),
                  "bold": base64.b64encode(fonts[700].data).decode(), "chart_family": fonts[400].family}
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(content.title)}</title><style>{css}</style></head><body>",
        f"<h1>{escape(content.title)}</h1>", f'<p class="run">{escape(content.run_line)}</p>',
        _section(0, '<div class="summary">' + "".join(f"<p>{escape(p)}</p>" for p in content.summary) + "</div>"),
        _section(1, "".join(_figure(c) for c in charts if c.section == "Charts")),
        _section(2, _table(content.scorecard, "scorecard") + "<p>▲ and bold: the best value of its column.</p>"
                 + (f'<p class="legend">{escape(content.cost_legend)}</p>' if content.cost_legend else "")
                 + _part(THINKING_TITLE, content.thinking, "thinking", content.thinking_notes)
                 + "<h3>By suite</h3>" + _table(content.suites, "suites")
                 + _part(TASKS_TITLE, content.tasks, "tasks", [TASKS_NOTE])
                 + _part(CODE_TITLE, content.code, "code", [CODE_NOTE])
                 + _part(LATENCY_TITLE, content.latency, "latency", content.latency_notes)),
        _families(content),
        _incumbent(content),
        _section(3, f"<p>{escape(content.monthly_note)}</p>" + _table(content.monthly, "monthly")),
        _self_hosting(content, charts),
        _workload_bill(content),
        _section(4, _table(content.facts_table, "facts") + "<p>Facts come from evalkit's facts file (each with its "
                 "source) or the run's config; prices are the ones this run used. Unknown means unknown.</p>"),
        _section(5, _methodology(content)),
    ]
    yield "\n".join(parts) + "\n"
    yield from _section_pieces(6, _disagreements(content))
    yield "\n".join(["", f'<p class="run">Generated by evalkit. Font: Noto Sans SC ({FONT_LICENSE}).</p>',
                     f"<script>{_FILTER_SCRIPT}</script></body></html>"])


def _section(index: int, body: str, title: str | None = None) -> str:
    return "".join(str(piece) for piece in _section_pieces(index, [body], title))


def _section_pieces(index: int, body: Iterable[str | memoryview],
                    title: str | None = None) -> Iterator[str | memoryview]:
    title = title or SECTIONS[index]
    anchor = title.lower().replace(" ", "-")
    yield f'<section id="{anchor}"><h2>{escape(title)}</h2>'
    yield from body
    yield "</section>"


def _part(title: str, table: Table, css: str, notes: Sequence[str]) -> str:
    """A titled table of the scorecard with its legend lines; nothing when it has no rows
    (no model thought or was cut, no agent tasks, no code suites, no latency suite)."""
    if not table.rows:
        return ""
    legend = "".join(f'<p class="legend">{escape(note)}</p>' for note in notes)
    return f"<h3>{escape(title)}</h3>" + _table(table, css) + legend


def _incumbent(content: ReportContent) -> str:
    """Each candidate against the answers logged in production; nothing without a replay suite."""
    if not content.incumbent.rows:
        return ""
    lines = "".join(f"<li>{escape(line)}</li>" for line in content.incumbent_lines)
    return _section(-1, f"<ul>{lines}</ul>" + _table(content.incumbent, "incumbent")
                    + f'<p class="legend">{escape(content.incumbent_note)}</p>', INCUMBENT_TITLE)


def _families(content: ReportContent) -> str:
    if not content.families:
        return ""
    body = ["<p>The same weights from different hosts, judged as models are: the same columns, paired tests "
            "and verdict, over these hosts' records alone.</p>"]
    for i, comparison in enumerate(content.families):
        family = comparison.family
        lines = "".join(f"<li>{escape(line)}</li>" for line in comparison.verdict)
        body.append(f"<h3>{escape(family.name)}</h3><p>Weights: {escape(family.weights)}</p>"
                    f"{_table(comparison.table, f'family-{i}')}<ul>{lines}</ul>")
    return _section(-1, "".join(body), FAMILIES_TITLE)


def _self_hosting(content: ReportContent, charts: list[Chart]) -> str:
    if not content.self_hosting:
        return ""
    figures = [c for c in charts if c.section == CHART_SECTION]
    body = []
    for i, item in enumerate(content.self_hosting):
        lines = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in item.assumptions)
        body.append(f"<h3>{escape(item.model)}</h3><table id=\"table-capacity-{i}\">{lines}</table>"
                    f"<p>{escape(item.note)}</p>")
        if item.table is not None:
            body.append(_table(item.table, f"self-hosting-{i}"))
        body += [_figure(c) for c in figures if c.key == f"self-hosting-{i}"]
    return _section(-1, "".join(body), SELF_HOSTING_TITLE)


def _workload_bill(content: ReportContent) -> str:
    """The bill for the ``--workload`` profile; nothing without one."""
    bill = content.workload_bill
    if bill is None:
        return ""
    lines = "".join(f"<p>{escape(line)}</p>" for line in bill.lines)
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in bill.assumptions)
    return _section(-1, f"<h3>Profile {escape(bill.name)}</h3>" + _table(bill.bill, "workload-bill") + lines
                    + "<h3>Token inflation</h3>" + _table(bill.inflation, "token-inflation")
                    + f'<h3>Assumptions</h3><table id="table-workload-assumptions">{rows}</table>', WORKLOAD_TITLE)


def _figure(chart: Chart) -> str:
    # matplotlib's own SVG, whose text it escapes itself: inlined as is.
    return (f'<figure class="chart" id="chart-{chart.key}">{chart.svg}'
            f"<figcaption><b>{escape(chart.title)}.</b> {escape(chart.caption)}</figcaption></figure>")


def _table(table: Table, css_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    rows = []
    for i, row in enumerate(table.rows):
        cells = "".join(f'<td class="best">{escape(c)}</td>' if (i, j) in table.best else f"<td>{escape(c)}</td>"
                        for j, c in enumerate(row))
        rows.append(f"<tr>{cells}</tr>")
    return f'<table id="table-{css_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _methodology(content: ReportContent) -> str:
    lines = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in content.methodology)
    defs = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in content.definitions)
    return (f'<table id="table-run">{lines}</table><h3>Suites</h3>{_table(content.suite_sizes, "suite-sizes")}'
            f'<h3>Prices used (snapshot stored with the run)</h3>{_table(content.prices, "prices")}'
            f'<h3>Metric definitions</h3><dl class="defs">{defs}</dl>')


def _disagreements(content: ReportContent) -> Iterator[str | memoryview]:
    """The section's body: its note and filters, then the items, many at a time."""
    models = "".join(f'<option value="{escape(m)}">{escape(m)}</option>' for m in content.models)
    options = "".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in content.disagreements.suites())
    filters = (
        '<div class="filters"><input id="filter-text" type="search" placeholder="Search prompts and answers">'
        f' <select id="filter-suite"><option value="">all suites</option>{options}</select>'
        f' <select id="filter-model"><option value="">any model</option>{models}</select>'
        ' <select id="filter-outcome"><option value="">right or wrong</option><option value="right">got it right'
        '</option><option value="wrong">got it wrong</option></select> <span id="filter-count"></span></div>')
    yield f'<p>{escape(content.disagreement_note)}</p>{filters}<div id="disagreements">'
    for items, answers, offsets in content.disagreements.chunks():
        yield utf8_bytes(_items_html(items, answers, offsets))
    yield "</div>"


def _items_html(items: Any, answers: Any, offsets: Any) -> Any:
    """Each item's ``<div>``, built a column at a time (see `evalkit.report.arrow_text`):
    what `html.escape` and an f-string per answer would write, byte for byte."""
    import pyarrow.compute as pc

    score = answers.column("score").combine_chunks()
    right = pc.greater_equal(score, 0.5)
    rows = join(either(right, '<tr class="right"><td>', '<tr class="wrong"><td>'),
                column_text(answers, "model", html_escaped), "</td><td>", mapped(score, lambda v: f"{v:.2f}"),
                "</td><td>", column_text(answers, "extracted", html_escaped), "</td><td><pre>",
                html_escaped(column_text(answers, "response")), "</pre></td></tr>")
    suite = html_escaped(column_text(items, "suite"))
    names = column_text(answers, "model", _json_strings)
    return join(
        '<div class="item" data-suite="', suite, '" data-right="', html_escaped(_models(names, offsets, right)),
        '" data-wrong="', html_escaped(_models(names, offsets, pc.invert(right))), '"><p><b>', suite, " · ",
        html_escaped(column_text(items, "sample_id")), "</b></p><p>Prompt:</p><pre>",
        html_escaped(column_text(items, "prompt")), "</pre><p>Reference: <code>",
        html_escaped(column_text(items, "reference")),
        "</code></p><table><thead><tr><th>Model</th><th>Score</th><th>Extracted</th><th>Answer</th></tr></thead>"
        "<tbody>", joined_lists(rows, offsets), "</tbody></table></div>")


def _models(names: Any, offsets: Any, chosen: Any) -> Any:
    """Each item's ``chosen`` answers' model ``names`` (JSON strings) as a JSON list."""
    import numpy as np

    kept = np.concatenate([[0], np.cumsum(chosen.to_numpy(zero_copy_only=False))])
    return join("[", joined_lists(names.filter(chosen), kept[offsets], ", "), "]")


def _json_strings(values: Any) -> Any:
    """`json.dumps` of each value, as the filter script reads it (ensure_ascii off)."""
    import json

    return mapped(values, lambda value: json.dumps(value, ensure_ascii=False))
