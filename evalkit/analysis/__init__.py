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

The names below are the stage's API. Three of them are functions named like the module
that holds them (`frontier`, `regress`, `verdict`): here the name is the function, so
import a module's other names from the module (``from evalkit.analysis.verdict import
VerdictLine`` works either way).
"""

from evalkit.analysis.epochs import epoch_spread
from evalkit.analysis.frontier import frontier
from evalkit.analysis.gc_pause import gc_paused
from evalkit.analysis.history import ALL_SUITES, HISTORY_COLUMNS, history_frame
from evalkit.analysis.paired import (
    FEW_UNITS,
    PairedResult,
    paired_runs,
    paired_test,
    paired_units_test,
)
from evalkit.analysis.power import (
    POWER,
    PowerResult,
    items_needed,
    mcnemar_power,
    min_detectable_difference,
    power_analysis,
)
from evalkit.analysis.regress import (
    Check,
    RegressionReport,
    Thresholds,
    check_runs,
    regress,
    resolve_baseline,
)
from evalkit.analysis.run_analysis import RunAnalysis, analyse_run
from evalkit.analysis.stats import ALPHA, mcnemar_exact_p, wilson
from evalkit.analysis.summary import Summary, summarize
from evalkit.analysis.verdict import LAG_SHARE_OF_LATENCY, Verdict, VerdictLine, verdict

__all__ = [
    "ALL_SUITES", "ALPHA", "Check", "FEW_UNITS", "HISTORY_COLUMNS", "LAG_SHARE_OF_LATENCY", "POWER",
    "PairedResult", "PowerResult", "RegressionReport", "RunAnalysis", "Summary", "Thresholds",
    "Verdict", "VerdictLine", "analyse_run", "check_runs", "epoch_spread", "frontier", "gc_paused",
    "history_frame", "items_needed", "mcnemar_exact_p", "mcnemar_power", "min_detectable_difference",
    "paired_runs", "paired_test", "paired_units_test", "power_analysis", "regress", "resolve_baseline",
    "summarize", "verdict", "wilson",
]
