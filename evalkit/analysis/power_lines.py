"""`evalkit power`: what a planned suite size can detect, in sentences (the figures are
`evalkit.analysis.power`'s)."""

from __future__ import annotations

from evalkit.analysis.power import POWER, default_discordance, power_analysis
from evalkit.analysis.stats import ALPHA
from evalkit.errors import UsageError


def suite_sizes(config_path: str) -> dict[str, int]:
    """Items per suite of a benchmark file, as a run would load them (after ``limit``)."""
    from evalkit.config.models import load_config
    from evalkit.run.prepare import default_suites
    from evalkit.suites import load_samples

    config = load_config(config_path)
    return {suite.name: len(load_samples(suite, config.run)) for suite in (config.suites or default_suites())}


def power_lines(items: int | None, config_path: str | None, accuracy: float, discordance: float | None,
                target_diff: float | None, design_effect: float) -> list[str]:
    """What a planned suite (``items``) or a benchmark file's suites can detect, one line
    each, and a last line saying what the figures assume."""
    _check_options(items, config_path, accuracy, discordance, design_effect)
    sizes = suite_sizes(config_path) if config_path else {}
    groups = {"planned suite": items} if items is not None else {**sizes, "all suites together": sum(sizes.values())}
    disc = default_discordance(accuracy) if discordance is None else discordance
    lines = []
    for name, n in groups.items():
        try:
            result = power_analysis(n, accuracy, discordance, target_diff, design_effect)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if result.min_detectable_diff != result.min_detectable_diff:  # NaN
            line = f"{name} ({n:,} items): too small to detect any difference up to {100 * disc:.0f} points"
        else:
            line = (f"{name} ({n:,} items): detects an accuracy difference of "
                    f"{100 * result.min_detectable_diff:.1f} points or more")
        if result.target_diff is not None and result.items_for_target is not None:
            line += f"; {100 * result.target_diff:.1f} points needs {result.items_for_target:,} items"
        lines.append(line)
    how = ("two sides with unrelated errors at " f"{100 * accuracy:.0f}% accuracy" if discordance is None
           else "as given")
    lines.append(
        f"(paired exact McNemar test, {100 * (1 - ALPHA):.0f}% confidence, {100 * POWER:.0f}% power; "
        f"assumed discordance {100 * disc:.1f}% of items, {how}; design effect {design_effect:g}. "
        "Two runs of the same model usually disagree on far fewer items, so they detect smaller changes.)")
    return lines


def _check_options(items: int | None, config_path: str | None, accuracy: float, discordance: float | None,
                   design_effect: float) -> None:
    if not 0 < accuracy < 1:
        raise UsageError("--accuracy must be between 0 and 1 (e.g. 0.7)")
    if discordance is not None and not 0 < discordance <= 1:
        raise UsageError("--discordance must be in (0, 1] (e.g. 0.1 for 10% of items answered differently)")
    if design_effect < 1:
        raise UsageError("--design-effect must be at least 1")
    if items is None and config_path is None:
        raise UsageError("give --items N or -c BENCHMARK.yaml")
