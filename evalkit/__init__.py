"""evalkit: which language model should we buy? Accuracy, latency and cost on the same requests.

The Python API, for a notebook or a script (the `evalkit` command calls the same functions)::

    import evalkit

    result = evalkit.compare("benchmarks/quick.yaml", limit=10)     # or models=[...], suites=[...]
    print(result.verdict.good.sentence)
    calls = evalkit.records(result.run_id)                          # pandas DataFrame
    evalkit.write_report(result.run_id, ["html"])

`import evalkit` itself loads nothing heavy: each name below is imported from `evalkit.api`
on first use (pandas then; litellm only once a call goes through it).
"""

from __future__ import annotations

from evalkit.lazy import lazy_exports
from evalkit.version import __version__

__all__ = [
    "Comparison",
    "ModelConfig",
    "Plan",
    "PreparedComparison",
    "Regression",
    "RunAnalysis",
    "RunConfig",
    "SuiteConfig",
    "Thresholds",
    "UsageError",
    "__version__",
    "analyse",
    "compare",
    "estimate_plan",
    "history",
    "load_config",
    "prepare_comparison",
    "records",
    "regress",
    "run_comparison",
    "runs",
    "verdict",
    "workload_bill",
    "write_report",
]


# The API's names, imported from `evalkit.api` on first use so that `import evalkit` stays light.
__getattr__, __dir__ = lazy_exports(__name__, {name: "evalkit.api" for name in __all__ if name != "__version__"})
