"""Decision report formats behind one registry, and `write_reports`, which writes them.

A format is one module of this package that registers a `ReportFormat` when imported:
its name (``-f NAME``), its file name, and ``write(parts, path)``, the one signature every
format renders through. The registry imports the modules of this package the first time
it is asked for a format, so a new format is one file and no list names it (the CLI's
choices come from here too).

`write_reports` makes the content, the font subset and the charts once (`ReportParts`),
then has each format asked for write its file.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import UsageError

if TYPE_CHECKING:
    from evalkit.analysis.run_analysis import RunAnalysis
    from evalkit.report.charts import Chart
    from evalkit.report.content import ReportContent
    from evalkit.report.fonts import FontSubset
    from evalkit.report.workload_bill import WorkloadBill


@dataclass(frozen=True)
class ReportParts:
    """What every format renders from, made once per `write_reports` call."""

    content: ReportContent
    """Every figure, table and sentence of the report, format-free."""
    charts: list[Chart]
    """The charts as SVG, drawn once for all formats."""
    fonts: dict[int, FontSubset]
    """The font subset (by weight: 400, 700) covering every character of the content."""


@dataclass(frozen=True)
class ReportFormat:
    """One registered report format."""

    name: str
    """As given to ``-f``/``--report`` (``html``, ``pdf``, ``md``)."""
    file_name: str
    """Its file in the run's results folder (``report.html``)."""
    write: Callable[[ReportParts, Path], None]
    """``write(parts, path)``: render the report into `path` (and any files it links to
    beside it)."""
    order: int
    """Where it comes in the CLI's choices and in messages (lower first)."""
    background: bool = False
    """Slow enough to be written by a forked child while the others are written (see
    `evalkit.report.forked`)."""


_FORMATS: dict[str, tuple[int, ReportFormat]] = {}
_counter = itertools.count()
_loaded = False


def register_format(fmt: ReportFormat) -> ReportFormat:
    """Add a format; a name registered twice is a programming error."""
    if fmt.name in _FORMATS:
        raise ValueError(f"report format {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = (next(_counter), fmt)
    return fmt


def unregister_format(name: str) -> None:
    """Remove a format (for tests that register their own)."""
    del _FORMATS[name]


def _load_formats() -> None:
    # Every module of this package registers its format on import.
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def report_formats() -> dict[str, ReportFormat]:
    """Every format by name, in order."""
    _load_formats()
    ranked = sorted(_FORMATS.values(), key=lambda entry: (entry[1].order, entry[0]))
    return {fmt.name: fmt for _, fmt in ranked}


def format_names() -> list[str]:
    return list(report_formats())


def write_reports(analysis: RunAnalysis, formats: list[str], directory: Path, volume: str | None = None,
                  output: Path | None = None, workload: WorkloadBill | None = None) -> list[Path]:
    """Write each format into ``directory`` under its file name (report.html, ...), or a
    single format to ``output``. Returns the files written. ``workload``: the bill for a
    workload profile (`evalkit.report.workload_bill`), shown as its own section."""
    from evalkit.economics.volume import parse_volume

    chosen = _chosen(formats, output)
    if analysis.records.empty and analysis.latency is None:  # a latency suite alone still has its tiers
        raise UsageError(f"run {analysis.run.run_id} has no records: nothing to report")
    parsed = parse_volume(volume)
    from evalkit.analysis.gc_pause import gc_paused
    from evalkit.report.charts import make_charts
    from evalkit.report.content import build_content
    from evalkit.report.fonts import subset_fonts

    # a row per answer shown, paragraphs, drawings: many live objects, see gc_pause
    with gc_paused():
        content = build_content(analysis, parsed, workload)
        fonts = subset_fonts(content.characters())
        parts = ReportParts(content, make_charts(content, fonts[400]), fonts)
        paths = {fmt.name: Path(output) if output is not None else Path(directory) / fmt.file_name
                 for fmt in chosen}
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        _write_all(chosen, parts, paths)
    return list(paths.values())


def _chosen(formats: list[str], output: Path | None) -> list[ReportFormat]:
    known = report_formats()
    names = list(dict.fromkeys(formats))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r}; choose from {', '.join(known)}")
    if output is not None and len(names) != 1:
        raise UsageError("-o names one file: give exactly one --format with it")
    return [known[name] for name in names]


def _write_all(chosen: list[ReportFormat], parts: ReportParts, paths: dict[str, Path]) -> None:
    from evalkit.report.forked import Forked, can_fork

    # A slow format is written by a forked child while the parent writes the others; alone,
    # it is written here (the child would only add the cost of forking).
    forking = can_fork() and any(not fmt.background for fmt in chosen)
    children = [Forked(_writer(fmt, parts, paths[fmt.name])) for fmt in chosen if forking and fmt.background]
    try:
        for fmt in chosen:
            if not (forking and fmt.background):
                fmt.write(parts, paths[fmt.name])
    except BaseException:
        for child in children:  # reap the children; the parent's error is the one to tell
            with contextlib.suppress(Exception):
                child.wait()
        raise
    for child in children:
        child.wait()


def _writer(fmt: ReportFormat, parts: ReportParts, path: Path) -> Callable[[], None]:
    return lambda: fmt.write(parts, path)
