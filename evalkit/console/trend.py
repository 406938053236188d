"""The history view: a terminal table with sparklines (the chart is `evalkit.report.history_chart`)."""

from __future__ import annotations

import datetime as dt
import math

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
