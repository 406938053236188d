"""`RunAnalysis`: one stored run with its records, summary and verdict, ready for any report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from evalkit.analysis.gc_pause import gc_paused

if TYPE_CHECKING:  # a report module importing this type must not pay for pandas and the store
    import pandas as pd

    from evalkit.analysis.incumbent import IncumbentComparison
    from evalkit.analysis.latency_tiers import LatencyTiers
    from evalkit.analysis.summary import Summary
    from evalkit.analysis.verdict import Verdict
    from evalkit.economics.purchase import Purchase
    from evalkit.store.database import RunRow, Store


UNREPORTED_COLUMNS = ("run_id", "model_id", "request_hash", "attempts", "from_cache", "finished_at",
                      "judge_model", "judge_rubric", "judge_verdict", "judge_prompt_tokens",
                      "judge_completion_tokens", "judge_cost_usd", "reasoning_text")
"""Record columns no figure, chart or report section reads (the run row holds its id): a
report's analysis leaves them in the store (see `report_columns`)."""


def report_columns() -> list[str]:
    """The record columns a decision report needs: all but `UNREPORTED_COLUMNS`."""
    from evalkit.store.records import CallRecord

    return [name for name in CallRecord.field_names() if name not in UNREPORTED_COLUMNS]


@dataclass
class RunAnalysis:
    """Everything a report shows of one run, worked out once."""

    run: RunRow
    records: pd.DataFrame
    """The run's per-call records (the columns of `evalkit.store.records.CallRecord`), in commit order;
    the latency suites' are in `latency` instead (they are timed, not graded)."""
    summary: Summary
    """Per model, most accurate first; per model x suite, by suite and then most accurate first."""
    verdict: Verdict
    purchase: Purchase = field(default_factory=lambda: _standard())
    """What the costs assume (purchase option, cache-hit rate); standard: as measured."""
    unavailable: list[str] = field(default_factory=list)
    """Models without a price for ``purchase.option``: their costs are unknown, not standard."""
    latency: LatencyTiers | None = None
    """The latency suites' figures per model, tier and concurrency; None when the run had none."""
    incumbent: list[IncumbentComparison] = field(default_factory=list)
    """Each candidate against the model run today, per replay suite (none without one)."""
    store_url: str | None = None
    """The store the run was read from (password included): its workload profiles are
    what the run's replay and latency suites were drawn from."""


def _standard() -> Purchase:
    from evalkit.economics.purchase import Purchase

    return Purchase()


def analyse_run(store: Store, ref: str, purchase: Purchase | None = None,
                columns: list[str] | None = None) -> RunAnalysis:
    """Read run ``ref`` (an id, a prefix, ``last`` or ``last:TAG``) and analyse it, its
    calls costed as bought with ``purchase`` (default: as measured); only the record
    ``columns`` given (e.g. `report_columns()`), or all."""
    from evalkit.analysis.latency_tiers import latency_tiers, split_latency
    from evalkit.analysis.summary import summarize
    from evalkit.analysis.verdict import verdict
    from evalkit.economics.pricing import time_priced
    from evalkit.economics.purchase import Purchase, reprice, unavailable

    purchase = purchase or Purchase()
    run = store.run(ref)
    with gc_paused():  # the records are many long-lived objects: see gc_pause
        records = reprice(store.records_frame(run.run_id, columns), run.price_snapshot, purchase)
        records, timed = split_latency(records)  # timed, not graded: never in accuracy or "good"
        summary = summarize(records, time_priced(run.price_snapshot))
        # reports list the most accurate first
        summary.by_model = summary.by_model.sort_values(["accuracy", "model"], ascending=[False, True])
        summary.by_model_suite = summary.by_model_suite.sort_values(
            ["suite", "accuracy", "model"], ascending=[True, False, True]
        )
        analysis = RunAnalysis(run=run, records=records, summary=summary, verdict=verdict(records, summary),
                               purchase=purchase, unavailable=unavailable(run.price_snapshot, purchase),
                               latency=latency_tiers(timed, summary.by_model), store_url=store.connect_url())
    _add_incumbent(analysis, store)
    return analysis


def _add_incumbent(analysis: RunAnalysis, store: Store) -> None:
    """Judge each candidate against the logged answers of the run's replay suites, if any."""
    from evalkit.analysis.incumbent import compare_incumbent, incumbent_sentence, replay_sources
    from evalkit.analysis.verdict import VerdictLine

    sources = replay_sources(analysis.run.config, store.workload)
    if not sources:
        return
    analysis.incumbent = compare_incumbent(analysis.records, sources)
    analysis.verdict.incumbent = [
        VerdictLine(result.model, incumbent_sentence(result),
                    {"decision": result.decision, "mean": result.mean, "low": result.low, "high": result.high,
                     "cost_share": result.cost_share, "items": result.items})
        for result in analysis.incumbent]
