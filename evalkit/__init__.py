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
    "__version__",
    # run a comparison
    "compare", "prepare_comparison", "run_comparison", "estimate_plan",
    # read what is stored
    "runs", "records", "analyse", "verdict", "history",
    # write
    "write_report", "regress",
    # the types they take and give
    "load_config", "RunConfig", "ModelConfig", "SuiteConfig", "Plan", "Comparison", "PreparedComparison",
    "RunAnalysis", "Regression", "Thresholds", "UsageError",
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
