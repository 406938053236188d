"""What a run says about itself after the table: resume, budget and cache accounting."""

from __future__ import annotations

from evalkit.run.budget import exact_usd


def outcome_lines(outcome, options) -> list[str]:
    """Lines for the end of a run: what resume skipped and repeated, what the budget allowed."""
    lines = []
    if options.resume is not None:
        lines.append(f"Resumed: {outcome.already_done} calls were already done and not sent again; "
                     f"{outcome.repeated} were in flight when it stopped and were sent again.")
    if options.max_cost is not None:
        lines.append(f"Spent {exact_usd(outcome.spent)} of the {exact_usd(options.max_cost)} budget.")
    if outcome.unsent:
        lines.append(f"Stopped on the budget: {outcome.unsent} calls not sent; "
                     f"continue with: evalkit compare --resume {outcome.run_id} --max-cost <more>")
    if options.cache is not None:
        lines.append(f"Cache: {options.cache.hits} answers replayed (development only: their timings are old).")
    return lines
