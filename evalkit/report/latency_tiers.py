"""The latency part of every report: per model, the benchmark suites' latency, then TTFT,
output speed, ITL and E2E at each tier of the latency suite, one at a time and at the
stated concurrency; and how each model's prompts were built. The same in the terminal,
HTML, PDF and Markdown; no rows when the run had no latency suite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.tables import Table, inter_token, seconds, speed

if TYPE_CHECKING:  # pandas behind it: not for `evalkit --help`
    from evalkit.analysis.latency_tiers import LatencyTiers, TierRow

LATENCY_TITLE = "Latency at your prompt sizes"
LATENCY_NOTE = (
    "Each tier asks for a long answer with max_tokens at the tier's answer size; a model may end its answer "
    "sooner, so the answer tokens actually received are shown (output speed and ITL are per-token figures and "
    "are measured by a shorter answer too). Every prompt starts with a nonce of the run, so no provider's "
    "prefix cache or speculative decoder has seen it. Concurrency 1: one request at a time per model, after "
    "every other suite of the run; then each tier with that many requests in flight. These items are timed, "
    "not graded: they take no part in accuracy or the verdict. Medians over the tier's successful calls (n).")
HEADERS = ["Model", "Tier (prompt/answer)", "At once", "n", "TTFT p50", "Speed p50", "ITL p50", "E2E p50",
           "Answer tokens", "Prompt tokens billed"]
BENCHMARK_TIER = "benchmark suites"


def latency_table(analysis: RunAnalysis) -> Table:
    """Per model its benchmark latency, then one row per tier and concurrency."""
    tiers = analysis.latency
    if tiers is None:
        return Table([], [])
    rows: list[list[str]] = []
    for model in _models(tiers):
        bench = tiers.benchmark.get(model)
        if bench is not None:
            rows.append([model, BENCHMARK_TIER, "–", "–", seconds(bench["ttft_p50"]), speed(bench["speed_p50"]),
                         inter_token(bench["itl_p50"]), seconds(bench["e2e_p50"]), "–", "–"])
        rows += [_row(row) for row in tiers.rows if row.model == model]
    return Table(list(HEADERS), rows)


def latency_notes(analysis: RunAnalysis) -> list[str]:
    """How each model's prompts were built, then what the figures mean."""
    tiers = analysis.latency
    if tiers is None:
        return []
    lines = [f"{model}: prompts built to {how}." for model, how in sorted(tiers.prompts.items())]
    return lines + [LATENCY_NOTE]


def _models(tiers: LatencyTiers) -> list[str]:
    seen: dict[str, None] = {}
    for row in tiers.rows:
        seen.setdefault(row.model, None)
    return list(seen)


def _row(row: TierRow) -> list[str]:
    tier = f"{row.tier} ({row.prompt_tokens:,}/{row.answer_tokens:,})"
    if row.skipped:
        reason = row.skipped.removeprefix("not sent: ").split(" (", 1)[0]
        return [row.model, tier, str(row.concurrency), f"skipped: {reason}", "–", "–", "–", "–", "–", "–"]
    n = f"{row.n}" + (f" ({row.errors} failed)" if row.errors else "")
    received = "–" if row.received_p50 is None else f"{row.received_p50:,.0f} of {row.answer_tokens:,}"
    billed = "–" if row.billed_prompt_p50 is None else f"{row.billed_prompt_p50:,.0f}"
    return [row.model, tier, str(row.concurrency), n, seconds(row.ttft_p50), speed(row.speed_p50),
            inter_token(row.itl_p50), seconds(row.e2e_p50), received, billed]
