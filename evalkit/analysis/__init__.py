"""Analysis: from stored per-call records to the figures, tests and verdict every report shows.

Stage 8. Owns the statistics (`stats`, `sign_flip`: intervals, the exact McNemar test, the
bootstrap, the sign-flip test), the records frame as analysis reads it (`frame`), the
per-model summary (`summary`), the paired tests (`paired`), Pareto frontiers (`frontier`),
the verdict (`verdict`), epoch spread (`epochs`), power planning (`power`, and the
sentences of `evalkit power` in `power_lines`), one run analysed for reports
(`run_analysis`), trends across runs (`history`), the regression check (`regress`) and the
collector pause that keeps large analyses quick (`gc_pause`).

May import the foundation and the stages below it (config, transport, store, economics,
scoring, suites, run), never report or console; reports read a `RunAnalysis`, never the
store. Modules inside the package import each other by module, never this package. scipy
loads on first use (the exact tests and power).

The names below are the stage's API. The functions named like the module that holds them
(`frontier`, `regress`, `verdict`) are imported from their modules
(``from evalkit.analysis.verdict import verdict``).
"""

from __future__ import annotations

from evalkit.lazy import lazy_exports

_EXPORTS = {
    "ALL_SUITES": "evalkit.analysis.history",
    "ALPHA": "evalkit.analysis.stats",
    "Check": "evalkit.analysis.regress",
    "FEW_UNITS": "evalkit.analysis.paired",
    "HISTORY_COLUMNS": "evalkit.analysis.history",
    "LAG_SHARE_OF_LATENCY": "evalkit.analysis.verdict",
    "POWER": "evalkit.analysis.power",
    "PairedResult": "evalkit.analysis.paired",
    "PowerResult": "evalkit.analysis.power",
    "RegressionReport": "evalkit.analysis.regress",
    "RunAnalysis": "evalkit.analysis.run_analysis",
    "Summary": "evalkit.analysis.summary",
    "Thresholds": "evalkit.analysis.regress",
    "Verdict": "evalkit.analysis.verdict",
    "VerdictLine": "evalkit.analysis.verdict",
    "analyse_run": "evalkit.analysis.run_analysis",
    "check_runs": "evalkit.analysis.regress",
    "epoch_spread": "evalkit.analysis.epochs",
    "gc_paused": "evalkit.analysis.gc_pause",
    "history_frame": "evalkit.analysis.history",
    "items_needed": "evalkit.analysis.power",
    "mcnemar_exact_p": "evalkit.analysis.stats",
    "mcnemar_power": "evalkit.analysis.power",
    "min_detectable_difference": "evalkit.analysis.power",
    "paired_runs": "evalkit.analysis.paired",
    "paired_test": "evalkit.analysis.paired",
    "paired_units_test": "evalkit.analysis.paired",
    "power_analysis": "evalkit.analysis.power",
    "resolve_baseline": "evalkit.analysis.regress",
    "summarize": "evalkit.analysis.summary",
    "wilson": "evalkit.analysis.stats",
}
"""Each public name and the module it lives in: loaded on first use, so importing the
package costs nothing (no pandas, scipy or sqlalchemy until a name is used)."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
