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
    lines += concurrency_lines(getattr(outcome, "concurrency", {}), getattr(outcome, "workers", []))
    return lines


def concurrency_lines(concurrency: dict, workers: list) -> list[str]:
    """One line with the concurrency each model ran at (mean/max in flight of its
    max_concurrency, and what its rate limit did to an adaptive one), one with the workers."""
    parts = []
    for label, report in concurrency.items():
        if not report.calls or report.mean_in_flight is None:
            continue
        part = f"{label} {report.mean_in_flight:.1f}/{report.max_in_flight} of {report.max_concurrency}"
        if report.rate_limited:
            part += (f" ({report.rate_limited} of {report.calls} calls rate-limited; "
                     f"came down to {report.lowest_window} at once)")
        parts.append(part)
    lines = [f"Concurrency (mean/max in flight): {'; '.join(parts)}."] if parts else []
    if len(workers) > 1:
        lags = ", ".join(f"{w.lag_p99_ms:.1f}" if w.lag_p99_ms is not None else "n/a" for w in workers)
        lines.append(f"Workers: {len(workers)} processes; event-loop lag p99 per worker (ms): {lags}.")
    return lines
