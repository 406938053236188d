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

from typing import Any

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
    "write_report",
]


def __getattr__(name: str) -> Any:
    """The API's names, imported on first use so that `import evalkit` stays light."""
    if name not in __all__:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    from evalkit import api

    value = getattr(api, name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
