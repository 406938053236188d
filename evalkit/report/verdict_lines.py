"""The verdict as lines of text: its sentences, its frontiers and notes, and the epoch spread.

Shared by the terminal (`evalkit.console.scorecard`) and the Markdown report, so both say
the very same words.
"""

from __future__ import annotations

from evalkit.analysis.run_analysis import RunAnalysis


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
    from evalkit.analysis.summary import epoch_spread

    return [f"epochs: {row['model']} — {int(row['epochs'])} answers per item; one pass's accuracy "
            f"varies by ±{100 * row['accuracy_sd']:.1f} pts (SD); {100 * row['inconsistent']:.0f}% of "
            f"items answered differently across epochs"
            for _, row in epoch_spread(records).iterrows()]
