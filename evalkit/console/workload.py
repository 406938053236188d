"""What `evalkit workload import`, `list` and `show` print about a workload profile."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from evalkit.console import fit
from evalkit.store.database import Store, WorkloadRow
from evalkit.workload.profile import WorkloadProfile
from evalkit.workload.stats import distribution

BUSIEST_HOURS = 3
LIST_COLUMNS = [fit.Column("Name"), fit.Column("Imported"), fit.Column("Format"),
                fit.Column("Requests", right=True), fit.Column("Prompt p50", right=True),
                fit.Column("Answer p50", right=True), fit.Column("Cache hit", right=True),
                fit.Column("Per month", right=True), fit.Column("Text")]


def _tokens(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _distribution_line(label: str, values: list[int]) -> str:
    figures = distribution(values)
    return (f"{label}: p50 {_tokens(figures['p50'])}, p90 {_tokens(figures['p90'])}, "
            f"p99 {_tokens(figures['p99'])}, mean {_tokens(figures['mean'])}")


def _requests_line(profile: WorkloadProfile) -> str:
    logged = profile.requests_logged
    if logged is None or logged == profile.requests:
        return f"Requests: {profile.requests:,}"
    return f"Requests: {logged:,} in the log; token figures over a uniform sample of {profile.requests:,}"


def _rate_line(profile: WorkloadProfile) -> str:
    if profile.requests_per_month is None or profile.first_at is None or profile.last_at is None:
        return "Rate: unknown (the log has no timestamps, or all at one time)"
    return (f"Rate: {profile.requests_per_month:,.0f} requests per month (30 days), "
            f"from {_utc(profile.first_at)} to {_utc(profile.last_at)}")


def _hours_line(profile: WorkloadProfile) -> str:
    if not any(profile.requests_per_hour):
        return "Busiest hours (UTC): unknown (no timestamps)"
    ranked = sorted(range(len(profile.requests_per_hour)), key=lambda hour: -profile.requests_per_hour[hour])
    return "Busiest hours (UTC): " + ", ".join(
        f"{hour:02d}:00 {profile.requests_per_hour[hour]:.1%}" for hour in ranked[:BUSIEST_HOURS])


def _models_line(profile: WorkloadProfile) -> str:
    if not profile.logged_models:
        return "Incumbent model: unknown (the log names none)"
    total = sum(profile.logged_models.values())
    ranked = Counter(profile.logged_models).most_common()
    line = f"Incumbent model: {ranked[0][0]} ({ranked[0][1] / total:.1%} of requests)"
    others = ", ".join(f"{model} {count / total:.1%}" for model, count in ranked[1:4])
    return line + (f"; also {others}" if others else "")


def summary_lines(profile: WorkloadProfile) -> list[str]:
    """The profile in a few lines: sizes, cache, rate, hours, languages, model, provenance."""
    cache = (f"Cache-hit estimate: {_share(profile.cache_hit_estimate)} of prompt tokens ({profile.cache_hit_source})"
             if profile.cache_hit_estimate is not None else
             "Cache-hit estimate: n/a (no cached tokens logged and no text to compare)")
    languages = (", ".join(f"{lang} {share:.1%}" for lang, share in profile.languages.items())
                 or "unknown (no text logged)")
    text = ("kept" + (", redacted" if profile.redacted else ", not redacted")) if profile.has_text else "not kept"
    return [f"Workload profile {profile.name!r} ({profile.format}, from {profile.source})",
            _requests_line(profile),
            _distribution_line("Prompt tokens", profile.prompt_tokens),
            _distribution_line("Completion tokens", profile.completion_tokens),
            f"Token source: {profile.token_source}", cache, _rate_line(profile), _hours_line(profile),
            f"Languages: {languages}", _models_line(profile), f"Text sample: {text}"]


def stored_lines(row: WorkloadRow) -> list[str]:
    """`summary_lines` of a stored profile, and when it was imported."""
    return [*summary_lines(WorkloadProfile.from_dict(row.profile)), f"Imported: {_utc(row.imported_at)}"]


def workloads_table(store: Store) -> fit.Grid | str:
    rows = store.workloads()
    if not rows:
        return f"No workload profiles in {store.url} yet: `evalkit workload import FILE` makes one."
    table = fit.Grid(f"Workload profiles in {store.url}", LIST_COLUMNS)
    for row in rows:
        profile = WorkloadProfile.from_dict(row.profile)
        figures = distribution(profile.prompt_tokens)
        answers = distribution(profile.completion_tokens)
        per_month = "n/a" if profile.requests_per_month is None else f"{profile.requests_per_month:,.0f}"
        table.add_row(row.name, _utc(row.imported_at), row.format, f"{profile.requests_logged or profile.requests:,}",
                      _tokens(figures["p50"]), _tokens(answers["p50"]), _share(profile.cache_hit_estimate),
                      per_month, "kept" if profile.has_text else "")
    return table
