"""The "Against what you run today" part of every report: each candidate judged against the
answers the model in production logged, on a replay of the user's own traffic
(`evalkit.analysis.incumbent`); the same in HTML, PDF and Markdown; no rows when the run
had no replay suite."""

from __future__ import annotations

import math

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.tables import Table, usd

TITLE = "Against what you run today"
HEADERS = ["Model", "Suite", "Wins", "Ties", "Losses", "Preference [95% CI]", "Decision", "$ / request",
           "Incumbent $ / request", "Cost share", "E2E p50", "TTFT p50"]


def incumbent_note(analysis: RunAnalysis) -> str:
    """How the comparison is made, with its margin (the same for every row)."""
    from evalkit.analysis.incumbent import EVEN

    margin = analysis.incumbent[0].margin if analysis.incumbent else 0.05
    return (f"Each replayed prompt was answered by the candidate and judged against the answer logged from the model "
            f"in production, once with each answer first: a win in both orders is a win (1), a loss in both a loss "
            f"(0), anything else a tie (0.5). A failed call of the candidate is a loss; an item the judge gave no "
            f"verdict on is left out. Preference is the mean score (0.50: as good) with the 95% interval of a "
            f"sign-flip test over items (clusters where given). Not worse: the interval's lower end is above "
            f"{EVEN - margin:.2f} (a margin of {100 * margin:.0f} points); worse: its upper end is below 0.50; "
            f"otherwise the two cannot be told apart with this many items. The candidate's cost per request is "
            f"measured on the replayed prompts; the incumbent's is its logged tokens at its price. The log holds no "
            f"latency of the incumbent. The judge's own cost is not in either.")


def incumbent_table(analysis: RunAnalysis) -> Table:
    """One row per candidate and replay suite."""
    rows = []
    for result in analysis.incumbent:
        interval = ("n/a" if math.isnan(result.mean)
                    else f"{result.mean:.2f} [{result.low:.2f}–{result.high:.2f}]")
        share = result.cost_share
        rows.append([
            result.model, result.suite, _count(result.wins, result.share(result.wins)),
            _count(result.ties, result.share(result.ties)), _count(result.losses, result.share(result.losses)),
            interval, result.decision, usd(result.cost_per_request), usd(result.incumbent_cost_per_request),
            "unknown" if share is None else f"{100 * share:.0f}%",
            _seconds(result.e2e_median_s), _seconds(result.ttft_median_s),
        ])
    return Table(list(HEADERS) if rows else [], rows)


def incumbent_lines(analysis: RunAnalysis) -> list[str]:
    """The verdict's sentences about the incumbent, then what was left out of them."""
    lines = [line.sentence for line in analysis.verdict.incumbent]
    for result in analysis.incumbent:
        if result.unjudged:
            lines.append(f"{result.model} on {result.suite}: {result.unjudged} item(s) left out, the judge gave no "
                         "verdict on them")
        if result.failed:
            lines.append(f"{result.model} on {result.suite}: {result.failed} failed call(s), counted as losses")
    return lines


def _count(count: int, share: float) -> str:
    return f"{count} ({100 * share:.0f}%)" if not math.isnan(share) else str(count)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"
