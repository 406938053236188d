"""The verdict as lines of text: its sentences, its frontiers and notes, the epoch spread
and the code suites' pass@k.

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
    lines += [line.sentence for line in verdict.incumbent]
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


def code_lines(analysis: RunAnalysis) -> list[str]:
    """For code suites: pass@1 (and pass@k with --epochs) with 95% intervals over items, the
    time the tests ran (apart from the model's latency) and the sandbox they ran in."""
    import pandas as pd

    from evalkit.analysis.pass_at_k import code_suites, pass_at_k

    records = analysis.records
    suites = code_suites(records)
    if not suites:
        return []
    epochs = int(records["epoch"].max()) + 1 if "epoch" in records else 1
    table = pass_at_k(records, ks=[k for k in (1, 5, 10, epochs) if k <= epochs])
    lines = []
    for (model, suite), rows in table.groupby(["model", "suite"], sort=False):
        figures = "; ".join(f"pass@{row.k} {100 * row.pass_at_k:.1f}% [{100 * row.low:.1f}–{100 * row.high:.1f}]"
                            for row in rows.itertuples())
        mine = records[(records["model"].astype(str) == model) & (records["suite"].astype(str) == suite)]
        tests = pd.to_numeric(mine["tests_s"], errors="coerce").dropna()
        sandboxes = sorted(set(mine["sandbox"].dropna().astype(str)))
        lines.append(f"code: {model} on {suite} — {figures} ({int(rows['items'].iloc[0])} items, "
                     f"{_answers(int(rows['epochs'].iloc[0]))} each); tests ran {tests.median():.2f} s per answer "
                     f"(median, apart from the model's latency) in {' / '.join(sandboxes) or 'unknown'}")
    return lines


def _answers(count: int) -> str:
    return f"{count} answer" if count == 1 else f"{count} answers"
