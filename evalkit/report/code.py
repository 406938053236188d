"""The code part of every report: pass@k per model and code suite with its interval, the
time the tests ran and the sandbox they ran in; the same in HTML, PDF and Markdown; no
rows when the run had no code suite."""

from __future__ import annotations

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.tables import Table

CODE_TITLE = "Code suites"
CODE_NOTE = ("An answer passes when its code passes the item's tests in the sandbox. pass@k is the mean over "
             "items of Chen et al.'s unbiased estimator 1 − C(n−c, k) / C(n, k) for n answers with c passing "
             "(--epochs n); its 95% interval takes items as units. Tests time is the median time the tests ran "
             "per answer, apart from the model's latency.")


def code_table(analysis: RunAnalysis) -> Table:
    """One row per model, code suite and k."""
    from evalkit.analysis.pass_at_k import code_suites, pass_at_k  # pandas: not for `evalkit --help`

    records = analysis.records
    if not code_suites(records):
        return Table([], [])
    epochs = int(records["epoch"].max()) + 1 if "epoch" in records else 1
    table = pass_at_k(records, ks=[k for k in (1, 5, 10, epochs) if k <= epochs])
    rows = []
    for row in table.to_dict("records"):
        mine = records[(records["model"].astype(str) == row["model"]) & (records["suite"].astype(str) == row["suite"])]
        tests = mine["tests_s"].dropna().astype(float)
        sandbox = " / ".join(sorted(set(mine["sandbox"].dropna().astype(str)))) or "unknown"
        rows.append([row["model"], row["suite"], f"pass@{row['k']}",
                     f"{100 * row['pass_at_k']:.1f}% [{100 * row['low']:.0f}–{100 * row['high']:.0f}]",
                     f"{row['items']:,} × {row['epochs']}", f"{tests.median():.2f} s" if len(tests) else "n/a",
                     sandbox])
    return Table(["Model", "Suite", "k", "pass@k [95% CI]", "Items × answers", "Tests p50", "Sandbox"], rows)
