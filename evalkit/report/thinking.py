"""The thinking and truncation part of every report: one table and its notes, the same in
the terminal, HTML, PDF and Markdown."""

from __future__ import annotations

import math

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.tables import THINKING, THINKING_TITLE, Table, seconds, thinking_legend, thinking_rows

DEFAULT_MAX_TOKENS = 512
"""`RunOptions.max_tokens`'s default: what a stored config that leaves it out ran with."""


def thinking_table(analysis: RunAnalysis) -> Table:
    """Thinking candidates and truncated models, one row each; no rows when there are none."""
    return Table([h for h, _ in THINKING], thinking_rows(analysis.summary.by_model))


def thinking_notes(analysis: RunAnalysis) -> list[str]:
    """The estimate legend, then per truncated model what was cut and the max_tokens that would fit."""
    from evalkit.analysis.thinking import truncation_lines  # pandas: not for `evalkit --help`

    by_model = analysis.summary.by_model
    if "thinking" not in by_model:
        return []
    max_tokens = int((analysis.run.config.get("run") or {}).get("max_tokens") or DEFAULT_MAX_TOKENS)
    legend = thinking_legend(by_model)
    return [*([legend] if legend else []), *truncation_lines(by_model, analysis.records, max_tokens)]


def thinking_sentences(analysis: RunAnalysis) -> list[str]:
    """For the executive summary: how long and how much each thinking candidate thought, and
    how many replies max_tokens cut, each model in one sentence."""
    by_model = analysis.summary.by_model
    if "thinking" not in by_model:
        return []
    sentences = []
    for row in by_model.itertuples():
        parts = []
        if row.thinking:
            when = (f"its first token came after {seconds(row.first_token_p50)} and its answer after "
                    f"{seconds(row.ttft_p50)} (medians)")
            per_correct = float(row.thinking_per_correct)
            tokens = "" if math.isnan(per_correct) else f", {per_correct:,.0f} thinking tokens per correct answer"
            parts.append(f"{row.model} thinks before it answers: {when}{tokens}")
        if row.truncated:
            parts.append(f"{row.truncated} of its {row.n} replies were cut by max_tokens")
        if parts:
            sentences.append("; ".join(parts) + f" (see {THINKING_TITLE}).")
    return sentences
