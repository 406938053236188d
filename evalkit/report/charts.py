"""The report's charts, drawn with matplotlib as SVG (vector, text as outlines).

Every chart gives each model the same colour and marker (`ModelStyle`), so a reader can
follow a model from chart to chart, and in greyscale too: markers, hatches and direct
labels carry the distinction, not colour alone. Axes say their units. Text stays text
(`svg.fonttype: none`) in the document's CJK-capable font subset: the HTML declares that
font and the PDF maps it, so Chinese model and suite names render, chart text is
searchable, and the SVGs are small and quick to convert.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.report.content import ReportContent
from evalkit.report.fonts import FontSubset
from evalkit.report.styles import WIDTH_IN, ModelStyle, model_styles


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str
    svg: str
    section: str = "Charts"
    """Where the chart is drawn: the Charts section, or `selfhosting.CHART_SECTION`."""


def make_charts(content: ReportContent, font: FontSubset) -> list[Chart]:
    """All charts of the report, in order; none when no benchmark suite ran (a latency suite alone)."""
    if not content.models:
        return []
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    path = font.write(Path(tempfile.gettempdir()))
    font_manager.fontManager.addfont(str(path))
    styles = model_styles(content.models)
    rc: Any = {"font.family": [font.family, "DejaVu Sans"], "svg.fonttype": "none", "axes.titlesize": 11,
          "font.size": 9, "svg.hashsalt": "evalkit", "axes.unicode_minus": True}
    with plt.rc_context(rc):
        charts = _draw(content, styles)
        charts += _self_hosting_charts(content)
    return charts


def _draw(content: ReportContent, styles: dict[str, ModelStyle]) -> list[Chart]:
    """The five charts, in order; two of them drawn by a forked child where there is a
    second core (see `evalkit.report.forked`): each chart takes 0.3-0.8 s, whatever the
    run's size."""
    from evalkit.report.forked import Forked, can_fork

    makers = [_cost_chart, _latency_chart, _distribution_chart, _heatmap, _monthly_chart]
    # the two slowest (two axes each) against the other three
    theirs = [_latency_chart, _distribution_chart] if can_fork() else []
    child = Forked(lambda: [make(content, styles) for make in theirs]) if theirs else None
    try:
        drawn = {make: make(content, styles) for make in makers if make not in theirs}
    except BaseException:
        if child is not None:  # reap it; the parent's error is the one to tell
            with contextlib.suppress(Exception):
                child.wait()
        raise
    if child is not None:
        drawn.update(zip(theirs, child.wait()))
    return [chart for chart in (drawn[make] for make in makers) if chart is not None]


def _self_hosting_charts(content: ReportContent) -> list[Chart]:
    from evalkit.report import selfhosting

    out = []
    for i, item in enumerate(content.self_hosting):
        if item.capacity is None:
            continue
        out.append(Chart(f"self-hosting-{i}", f"Own hardware vs API: {item.model}",
                         f"Monthly cost against requests per month: the self-hosted model as a staircase (one step "
                         f"per replica, {item.utilisation:.0%} utilisation), each API as a dashed line; dots mark "
                         "the break-even volumes.", selfhosting.chart(item), selfhosting.CHART_SECTION))
    return out


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inlined in HTML


def _legend(fig: Any, ax: Any, models: list[str], styles: dict[str, ModelStyle], extra: list | None = None) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=styles[m].color, marker=styles[m].marker, linestyle="", markersize=7,
                      label=m) for m in models]
    handles += extra or []
    columns = 2 if max(map(len, models)) > 22 else 3
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=columns, frameon=False,
              fontsize=8)


def _scatter(ax: Any, frame: Any, x: str, styles: dict[str, ModelStyle], hollow: set[str]) -> None:
    for _, row in frame.iterrows():
        style = styles[row["model"]]
        acc, low, high = 100 * row["accuracy"], 100 * row["accuracy_low"], 100 * row["accuracy_high"]
        yerr = [[max(acc - low, 0)], [max(high - acc, 0)]] if not math.isnan(low) else None
        ax.errorbar([row[x]], [acc], yerr=yerr, fmt=style.marker, color=style.color, markersize=8, capsize=3,
                    markerfacecolor="white" if row["model"] in hollow else style.color, markeredgewidth=1.5)


def _frontier_line(ax: Any, frame: Any, x: str, frontier: list[str]) -> None:
    points = frame.set_index("model").loc[[m for m in frontier if m in set(frame["model"])]]
    if len(points) >= 1:
        ax.plot(points[x], 100 * points["accuracy"], color="black", linestyle="--", linewidth=1, zorder=0,
                drawstyle="steps-post" if len(points) > 1 else "default")


def _cost_chart(content: ReportContent, styles: dict[str, ModelStyle]) -> Chart | None:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    frame = content.analysis.summary.by_model.copy()
    frame["cost_per_task"] = frame["cost_per_1k_tasks"] / 1000
    known = frame.dropna(subset=["cost_per_task"])
    known = known[known["cost_per_task"] > 0]
    missing = sorted(set(frame["model"]) - set(known["model"]))
    frontier = content.analysis.verdict.frontier_cost
    caption = ("Accuracy (95% interval) against cost per task, log scale. The dashed line is the Pareto "
               "frontier (no model is both cheaper and more accurate); hollow markers are dominated models.")
    if missing:
        caption += f" Not shown, price unknown: {', '.join(missing)}."
    estimated = [str(m) for m, k in zip(known["model"], known.get("cost_estimated", [0] * len(known))) if k > 0]
    if estimated:
        caption += f" Cost from estimated token counts (no usage reported): {', '.join(estimated)}."
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.6))
    if known.empty:
        ax.text(0.5, 0.5, "No model has a known price", ha="center", va="center", transform=ax.transAxes)
    else:
        dominated = set(known["model"]) - set(frontier)
        _scatter(ax, known, "cost_per_task", styles, dominated)
        _frontier_line(ax, known, "cost_per_task", frontier)
        ax.set_xscale("log")
        _pad_log(ax, known["cost_per_task"])
        _plain_log_ticks(ax, money=True)
    ax.set_xlabel("Cost per task (USD, log scale)")
    ax.set_ylabel("Accuracy (%)")
    ax.set_title("Accuracy vs cost per task")
    ax.grid(True, which="both", alpha=0.3)
    extra = [Line2D([], [], color="black", linestyle="--", label="Pareto frontier"),
             Line2D([], [], color="black", marker="o", markerfacecolor="white", linestyle="", label="dominated")]
    _legend(fig, ax, list(known["model"]) or content.models, styles, extra)
    return Chart("cost", "Accuracy vs cost per task", caption, _svg(fig))


def _plain_log_ticks(ax: Any, money: bool = False) -> None:
    """Log axes labelled 0.2, 0.5, 1, 2, 5 (or $0.0001 ...), not 2×10⁻¹; no crowded minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    def label(value: float, _pos: Any) -> str:
        text = f"{value:.10f}".rstrip("0").rstrip(".")
        return f"${text}" if money else text

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))
    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _pad_log(ax: Any, values: Any) -> None:
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low / 3, high * 3
    ax.set_xlim(low / 1.8, high * 1.8)


def _latency_chart(content: ReportContent, styles: dict[str, ModelStyle]) -> Chart | None:
    import matplotlib.pyplot as plt

    frame = content.analysis.summary.by_model
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 4.2), sharey=True)
    for ax, column, label in ((axes[0], "e2e_p50", "End-to-end latency p50 (s, log scale)"),
                              (axes[1], "ttft_p50", "Time to first token p50 (s, log scale)")):
        data = frame.dropna(subset=[column])
        data = data[data[column] > 0]
        if data.empty:
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        else:
            frontier = content.analysis.verdict.frontier_latency
            dominated = set(data["model"]) - set(frontier) if column == "e2e_p50" else set()
            _scatter(ax, data, column, styles, dominated)
            if column == "e2e_p50":
                _frontier_line(ax, data, column, content.analysis.verdict.frontier_latency)
            ax.set_xscale("log")
            _pad_log(ax, data[column])
            _plain_log_ticks(ax)
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("Accuracy (%)")
    fig.suptitle("Accuracy vs latency (upper left is fast and accurate)", fontsize=10)
    _legend(fig, axes[0], content.models, styles)
    axes[0].get_legend().set_bbox_to_anchor((1.1, -0.18))
    caption = ("Accuracy (95% interval) against median latency. Left: end-to-end, with the Pareto frontier "
               "dashed and dominated models hollow. Right: time to first token.")
    return Chart("latency", "Accuracy vs latency", caption, _svg(fig))


def _distribution_chart(content: ReportContent, styles: dict[str, ModelStyle]) -> Chart | None:
    import matplotlib.pyplot as plt

    records = content.analysis.records
    records = records[[c for c in ("model", "ttft_s", "e2e_s", "error_class") if c in records]]  # not the texts
    ok = records[records["error_class"].isna()] if "error_class" in records else records
    models = content.models
    height = 1.2 + 0.32 * len(models)
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, max(2.6, height)), sharey=True)
    groups = {m: g for m, g in ok.groupby("model")}
    for ax, column, label in ((axes[0], "ttft_s", "Time to first token (s, log scale)"),
                              (axes[1], "e2e_s", "End-to-end latency (s, log scale)")):
        data = []
        for m in models:
            values: Any = groups[m][column].dropna().to_numpy(float) if m in groups else []
            values = values[values > 0] if len(values) else values
            data.append(values if len(values) else [math.nan])
        # whiskers at p5/p95 and no outlier dots: a run of 100,000 calls would draw thousands
        boxes = ax.boxplot(data, orientation="horizontal", patch_artist=True, widths=0.6, whis=(5, 95),
                           showfliers=False)
        for patch, m in zip(boxes["boxes"], models):
            # no hatches: svglib cannot draw SVG patterns; the axis names each box instead
            patch.set(facecolor=styles[m].color, alpha=0.55, edgecolor="black")
        for median in boxes["medians"]:
            median.set(color="black", linewidth=1.5)
        ax.set_xscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel(label)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    axes[0].set_yticks(range(1, len(models) + 1), labels=models)
    axes[0].invert_yaxis()
    fig.suptitle("Latency distributions per model (successful calls)", fontsize=10)
    caption = ("Box: middle half of the calls (p25–p75), line: median, whiskers: p5–p95. "
               "Models listed most accurate first.")
    return Chart("distributions", "Latency distributions", caption, _svg(fig))


def _heatmap(content: ReportContent, styles: dict[str, ModelStyle]) -> Chart | None:
    import matplotlib.pyplot as plt
    import numpy as np

    frame = content.analysis.summary.by_model_suite
    suites = sorted(frame["suite"].unique())
    models = content.models
    if not suites:
        return None
    grid = np.full((len(models), len(suites)), np.nan)
    text = [["" for _ in suites] for _ in models]
    index = {(r["model"], r["suite"]): r for _, r in frame.iterrows()}
    for i, m in enumerate(models):
        for j, s in enumerate(suites):
            r = index.get((m, s))
            if r is not None:
                grid[i, j] = 100 * r["accuracy"]
                interval = f"[{100 * r['accuracy_low']:.0f}–{100 * r['accuracy_high']:.0f}]"
                text[i][j] = f"{100 * r['accuracy']:.0f}%\n{interval}"
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.3 + 0.42 * len(models)))
    image = ax.imshow(grid, cmap="cividis", vmin=0, vmax=100, aspect="auto")
    for i in range(len(models)):
        for j in range(len(suites)):
            value = grid[i, j]
            color = "black" if not math.isnan(value) and value > 55 else "white"
            ax.text(j, i, text[i][j] or "–", ha="center", va="center", fontsize=7 if len(suites) > 6 else 8,
                    color=color if text[i][j] else "black")
    crowded = len(suites) > 4
    ax.set_xticks(range(len(suites)), labels=suites, rotation=30 if crowded else 0, ha="right" if crowded else "center")
    ax.set_yticks(range(len(models)), labels=models)
    fig.colorbar(image, ax=ax, label="Accuracy (%)", fraction=0.04, pad=0.02)
    ax.set_title("Accuracy per suite (%, with 95% interval)")
    caption = "Each cell: accuracy on that suite and its 95% interval. Darker is lower; the numbers carry the value."
    return Chart("heatmap", "Per-suite accuracy", caption, _svg(fig))


def _monthly_chart(content: ReportContent, styles: dict[str, ModelStyle]) -> Chart | None:
    import matplotlib.pyplot as plt

    rows = [r for r in content.monthly_rows if not math.isnan(r["monthly"]) and r["monthly"] > 0]
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.3 + 0.36 * max(1, len(content.models))))
    if not rows:
        ax.text(0.5, 0.5, "No model has a known price", ha="center", va="center", transform=ax.transAxes)
    else:
        values = [r["monthly"] for r in rows]
        ax.barh(range(len(rows)), values, color=[styles[r["model"]].color for r in rows], alpha=0.75,
                       edgecolor="black")
        from evalkit.report.tables import usd
        from evalkit.store.records import ESTIMATED_MARK

        for i, (v, r) in enumerate(zip(values, rows)):
            ax.text(v, i, f"  {ESTIMATED_MARK if r.get('monthly_estimated') else ''}{usd(v)}", va="center",
                    fontsize=8)
        ax.set_yticks(range(len(rows)), labels=[r["model"] for r in rows])
        ax.invert_yaxis()
        if max(values) / min(values) > 50:
            ax.set_xscale("log")
            ax.set_xlim(min(values) / 2, max(values) * 8)
            ax.set_xlabel("Projected cost (USD per month, log scale)")
        else:
            ax.set_xlim(0, max(values) * 1.3)
            ax.set_xlabel("Projected cost (USD per month)")
        ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(f"Projected monthly cost at {content.volume.describe()}")
    missing = [r["model"] for r in content.monthly_rows
               if math.isnan(r["monthly"]) and not r["note"].startswith("unavailable")]
    caption = content.monthly_note + (f" Not shown, price unknown: {', '.join(missing)}." if missing else "")
    return Chart("monthly", "Projected monthly cost", caption, _svg(fig))
