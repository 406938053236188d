"""The Markdown report written into every run folder."""

from __future__ import annotations

import datetime as dt

from evalkit.report.definitions import METRIC_DEFINITIONS
from evalkit.report.formatting import SCORECARD, scorecard_rows
from evalkit.report.run_analysis import RunAnalysis
from evalkit.report.terminal import verdict_lines


def render(analysis: RunAnalysis) -> str:
    run = analysis.run
    started = dt.datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M:%S")
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
        "## By suite",
        "",
        *_suite_table(analysis),
        "",
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


def _suite_table(analysis: RunAnalysis) -> list[str]:
    frame = analysis.summary.by_model_suite
    rows = [[str(suite), *cells] for suite, cells in zip(frame["suite"], scorecard_rows(frame))]
    return _table(["Suite", *(h for h, _ in SCORECARD)], rows)


def _prices(snapshot: dict) -> list[str]:
    rows = []
    for label, price in snapshot.items():
        if price.get("hourly_cost") is not None:
            text = f"${price['hourly_cost']:.2f}/hour, {price['hourly_slots']} request(s) at once"
        elif price.get("input") is not None and price.get("output") is not None:
            text = f"${price['input'] * 1e6:.3f} in / ${price['output'] * 1e6:.3f} out per 1M tokens"
        else:
            text = "unknown"
        rows.append([label, price["model_id"], text, price["source"], price["as_of"]])
    return _table(["Model", "Id", "Price", "Source", "As of"], rows)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    escape = lambda cell: cell.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return lines
