"""The history chart: accuracy (with its 95% interval), E2E p95 and $ per 1k tasks over
runs, one line per model, drawn with matplotlib into a PNG or an SVG file.

`evalkit history` writes it beside its table; a tagged run's folder embeds it in report.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path


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
