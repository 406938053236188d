"""Decision reports on disk: `write_reports` makes the content, the font subset and the
charts once, then writes each format asked for (html, pdf, md)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from evalkit.errors import UsageError
from evalkit.report.forked import Forked, can_fork
from evalkit.analysis.gc_pause import gc_paused
from evalkit.analysis.run_analysis import RunAnalysis

FORMATS = ("html", "pdf", "md")
DEFAULT_NAMES = {"html": "report.html", "pdf": "report.pdf", "md": "report.md"}


def write_reports(analysis: RunAnalysis, formats: list[str], directory: Path, volume: str | None = None,
                  output: Path | None = None) -> list[Path]:
    """Write each format into ``directory`` (as report.html, report.pdf, report.md), or a
    single format to ``output``. Returns the files written."""
    from evalkit.economics.volume import parse_volume

    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    if output is not None and len(formats) != 1:
        raise UsageError("-o names one file: give exactly one --format with it")
    if analysis.records.empty:
        raise UsageError(f"run {analysis.run.run_id} has no records: nothing to report")
    parsed = parse_volume(volume)
    from evalkit.report.charts import make_charts
    from evalkit.report.content import build_content
    from evalkit.report.fonts import subset_fonts

    # a row per answer shown, paragraphs, drawings: many live objects, see gc_pause
    with gc_paused():
        content = build_content(analysis, parsed)
        fonts = subset_fonts(content.all_text())
        charts = make_charts(content, fonts[400])
        paths = {fmt: Path(output) if output is not None else Path(directory) / DEFAULT_NAMES[fmt]
                 for fmt in formats}
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        # The PDF, the slowest, is written by a forked child alongside the others (see forked).
        background = None
        if "pdf" in paths and len(paths) > 1 and can_fork():
            background = Forked(lambda: _write("pdf", paths["pdf"], content, charts, fonts))
        try:
            for fmt, path in paths.items():
                if background is None or fmt != "pdf":
                    _write(fmt, path, content, charts, fonts)
        except BaseException:
            if background is not None:  # reap the child; the parent's error is the one to tell
                with contextlib.suppress(Exception):
                    background.wait()
            raise
        if background is not None:
            background.wait()
    return list(paths.values())


def _write(fmt: str, path: Path, content, charts, fonts) -> None:
    if fmt == "html":
        from evalkit.report import html

        path.write_text(html.render(content, charts, fonts), encoding="utf-8")
    elif fmt == "pdf":
        from evalkit.report import pdf

        path.write_bytes(pdf.render(content, charts, fonts))
    else:
        from evalkit.report import markdown

        chart_dir = path.with_name(f"{path.stem}-charts")
        chart_dir.mkdir(exist_ok=True)
        for chart in charts:
            (chart_dir / f"{chart.key}.svg").write_text(chart.svg, encoding="utf-8")
        path.write_text(markdown.render_report(content, charts, chart_dir.name), encoding="utf-8")
