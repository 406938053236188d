"""The table `evalkit estimate` and `compare --dry-run` print: tokens and cost before any call."""

from __future__ import annotations

from evalkit.console import fit
from evalkit.report.tables import usd
from evalkit.run.estimate import answer_lengths, estimate_model
from evalkit.run.judge_cost import estimate_judges


def estimate_table(plan) -> fit.Grid:
    run = plan.config.run
    samples = [s for items in plan.samples.values() for s in items]
    headers = ("Model", "Calls", "Prompt tokens", "Answer tokens low–expected–high", "Cost low", "Cost expected",
               "Cost high", "Note")
    table = fit.Grid(
        f"Estimate before any call: {len(samples)} items × {len(plan.config.models)} models "
        f"(answers up to {run.max_tokens} tokens)",
        [fit.Column(h, right=h not in ("Model", "Note"), wrap=fit.TEXT if h == "Note" else fit.FIGURE)
         for h in headers],
    )
    total: list[float | None] = [0.0, 0.0, 0.0]
    for model in plan.config.models:
        price = plan.prices[model.display]
        est = estimate_model(model, price, samples, run.max_tokens, run.timeout)
        note = ", ".join(filter(None, [est.note, "reasoning model: wide range" if est.reasoning else ""]))
        table.add_row(
            est.model, f"{est.calls:,}", f"{est.prompt_tokens:,}",
            f"{est.completion_low:,}–{est.completion_expected:,}–{est.completion_high:,}",
            usd(est.cost_low), usd(est.cost_expected), usd(est.cost_high), note,
        )
        for i, value in enumerate((est.cost_low, est.cost_expected, est.cost_high)):
            so_far = total[i]
            total[i] = so_far + value if value is not None and so_far is not None else None
    table.add_row("All models", "", "", "", *(usd(v) for v in total), "")
    judges = estimate_judges([answer_lengths(m, samples, run.max_tokens) for m in plan.config.models], samples)
    for judge in judges:
        high = "unbounded" if judge.completion_high is None else f"{judge.completion_high:,}"
        per_item = "2 calls per answer (both orders)" if judge.mode == "pairwise" else "1 call per answer"
        note = ", ".join(filter(None, [f"judge, {judge.mode}: {per_item}; apart from the models' cost",
                                       "" if judge.cost_expected is not None else "price unknown"]))
        table.add_row(
            f"Judge {judge.judge}", f"{judge.calls:,}", f"{judge.prompt_tokens:,}",
            f"{judge.completion_low:,}–{judge.completion_expected:,}–{high}",
            usd(judge.cost_low), usd(judge.cost_expected), usd(judge.cost_high), note,
        )
        for i, value in enumerate((judge.cost_low, judge.cost_expected, judge.cost_high)):
            so_far = total[i]
            total[i] = so_far + value if value is not None and so_far is not None else None
    if judges:
        table.add_row("All, judging included", "", "", "", *(usd(v) for v in total), "")
    return table
