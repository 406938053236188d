"""The history report: a terminal table with sparklines, and a chart (PNG or SVG)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from evalkit.console import fit
from evalkit.report.tables import ESTIMATED_LEGEND, accuracy_with_interval, cost_cell, seconds

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    """Eight-level bars of a series, scaled to its own range; a gap for a missing value."""
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low
    out = []
    for v in values:
        if v is None or math.isnan(v):
            out.append(" ")
        else:
            out.append(_BARS[0 if span == 0 else round((v - low) / span * (len(_BARS) - 1))])
    return "".join(out)


def trend_table(history) -> fit.Grid | str:
    """Per model and suite: the latest figures and a sparkline of each across runs."""
    if history.empty:
        return "No runs match: `evalkit runs` lists what the store holds."
    headers = ("Model", "Suite", "Runs", "Accuracy (latest) [95% CI]", "trend",
               "E2E p95 (latest)", "trend", "$ / 1k tasks (latest)", "trend")
    # a trend stays beside its figure when the table is split to fit the width
    columns = [fit.Column(h, right=h not in ("Model", "Suite", "trend"), with_previous=h == "trend")
               for h in headers]
    table = fit.Grid(f"History over {history['run_id'].nunique()} run(s), oldest → newest", columns, keys=(0, 1),
                     caption=_legend(history))
    for (model, suite), group in history.groupby(["model", "suite"], sort=True):
        group = group.sort_values("started_at")
        last = group.iloc[-1]
        table.add_row(model, suite, str(len(group)), accuracy_with_interval(last),
                      sparkline(group["accuracy"].tolist()), seconds(last["e2e_p95"]),
                      sparkline(group["e2e_p95"].tolist()), cost_cell(last, "cost_per_1k_tasks"),
                      sparkline(group["cost_per_1k_tasks"].tolist()))
    return table


def _legend(history) -> str | None:
    marked = "cost_estimated" in history and bool((history["cost_estimated"] > 0).any())
    return ESTIMATED_LEGEND if marked else None


def runs_detail(history) -> fit.Grid:
    """Every (run, model, suite) row, for a closer look; narrower than the terminal, one table per run."""
    headers = ("Started", "Run", "Model", "Suite", "n", "Accuracy [95% CI]", "E2E p95", "$ / 1k tasks")
    columns = [fit.Column(h, right=h in ("n", "E2E p95", "$ / 1k tasks")) for h in headers]
    table = fit.Grid("By run", columns, keys=(1, 2, 3), group=1, caption=_legend(history))
    for _, row in history.sort_values(["started_at", "model", "suite"]).iterrows():
        started = dt.datetime.fromtimestamp(row["started_at"]).strftime("%Y-%m-%d %H:%M")
        table.add_row(started, row["run_id"], row["model"], row["suite"], str(int(row["n"])),
                      accuracy_with_interval(row), seconds(row["e2e_p95"]), cost_cell(row, "cost_per_1k_tasks"))
    return table


def chart(history, path: str | Path, suite: str = "ALL") -> Path:
    """Accuracy (with its 95% interval), E2E p95 and $ per 1k tasks over time, one line per
    model, for one suite (``ALL``: over all suites). PNG or SVG by the file's extension."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    path = Path(path)
    data = history[history["suite"] == suite].sort_values("started_at")
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    for model, group in data.groupby("model", sort=True):
        when = [dt.datetime.fromtimestamp(t) for t in group["started_at"]]
        acc = 100 * group["accuracy"]
        axes[0].plot(when, acc, marker="o", label=model)
        axes[0].fill_between(when, 100 * group["accuracy_low"], 100 * group["accuracy_high"], alpha=0.15)
        axes[1].plot(when, group["e2e_p95"], marker="o", label=model)
        axes[2].plot(when, group["cost_per_1k_tasks"], marker="o", label=model)
    axes[0].set_ylabel("accuracy % (95% CI)")
    axes[1].set_ylabel("E2E p95 (s)")
    axes[2].set_ylabel("$ per 1k tasks")
    axes[0].set_title(f"evalkit history — suite {suite}")
    axes[0].legend(loc="best", fontsize="small")
    axes[2].xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
