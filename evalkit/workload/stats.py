"""Summary figures of a profile's per-request token counts.

Percentiles are linear-interpolated between the sorted values (numpy's default): the q-th
percentile of n values is at rank (n - 1) * q / 100, counted from 0. The one definition:
capacity sweeps and latency suites use it too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (50, 90, 99)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated q-th percentile (0-100); None for no values."""
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def distribution(values: Sequence[float]) -> dict[str, float | None]:
    """``p50``, ``p90``, ``p99`` and ``mean`` of ``values`` (None for no values)."""
    figures: dict[str, float | None] = {f"p{q}": percentile(values, q) for q in PERCENTILES}
    figures["mean"] = sum(values) / len(values) if values else None
    return figures
