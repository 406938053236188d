"""pass@k of code suites: the chance that at least one of k answers to an item passes its tests.

With ``--epochs n`` each item has n answers, c of them passing. The unbiased estimator of
Chen et al. 2021 ("Evaluating Large Language Models Trained on Code", eq. 1) is, per item,
``1 - C(n - c, k) / C(n, k)``, averaged over items; pass@1 is then the mean pass rate. The
interval treats items as the units, so an item's n answers count as one piece of evidence,
not n: a percentile bootstrap over items (`evalkit.analysis.stats.bootstrap_interval`), or
the Wilson interval over items when every item's value is 0 or 1.

A code suite is one whose records ran tests (``tests_s`` set); a failed call is a failed
answer, as everywhere in evalkit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.analysis.frame import prepare
from evalkit.analysis.stats import bootstrap_interval, wilson

COLUMNS = ["model", "suite", "k", "epochs", "items", "pass_at_k", "low", "high", "method"]


def pass_at_k_estimate(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one item with `c` passing answers out of `n` (k <= n),
    computed as the product ``prod_{i=n-c+1}^{n} (1 - k / i)`` to avoid huge binomials."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 < k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def code_suites(records: pd.DataFrame) -> list[str]:
    """The suites whose records ran tests."""
    if "tests_s" not in records.columns:
        return []
    ran = pd.to_numeric(records["tests_s"], errors="coerce").notna()
    return sorted(records.loc[ran, "suite"].astype(str).unique())


def pass_at_k(records: pd.DataFrame, ks: Sequence[int] = (1,)) -> pd.DataFrame:
    """pass@k per model and code suite for each k in `ks` no larger than the fewest
    answers any item of that group has (`COLUMNS`; ``epochs`` is that fewest)."""
    suites = code_suites(records)
    if not suites:
        return pd.DataFrame(columns=COLUMNS)
    prep = prepare(records[records["suite"].astype(str).isin(suites)])
    prep["passed"] = prep["score"] >= 1.0
    per_item = prep.groupby(["model", "suite", "sample_id"], observed=True)["passed"].agg(["size", "sum"])
    rows = []
    for (model, suite), items in per_item.groupby(level=["model", "suite"], observed=True):
        fewest = int(items["size"].min())
        for k in sorted(set(ks)):
            if k > fewest:
                continue
            values = np.array([pass_at_k_estimate(int(n), int(c), k) for n, c in zip(items["size"], items["sum"],
                                                                                      strict=True)])
            low, high, method = _interval(values)
            rows.append([str(model), str(suite), k, fewest, len(values), float(values.mean()), low, high, method])
    return pd.DataFrame(rows, columns=COLUMNS)


def _interval(values: np.ndarray) -> tuple[float, float, str]:
    """95% interval of the mean of per-item values: Wilson when every item is 0 or 1 (one
    epoch, or k = n), where a bootstrap of all-equal values would claim no uncertainty;
    else a percentile bootstrap over items."""
    if np.isin(values, (0.0, 1.0)).all():
        return (*wilson(float(values.mean()), len(values)), "wilson")
    return bootstrap_interval(values, np.ones(len(values)))
