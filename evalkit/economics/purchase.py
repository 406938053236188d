"""How the workload would be bought: a purchase option and a cache-hit rate, and the run's
calls costed that way for the monthly projection and the verdict.

``--purchase standard|batch|flex|priority`` costs every call at that option's rates where
the model has them; a model without the option is *unavailable* (its cost is left
unknown), never costed at the standard price. ``--cache-hit-rate R`` (0.6 or 60%) assumes
that share of every call's prompt tokens is read from the provider's cache (at the model's
cache-read rate, the input rate where it has none) instead of what the run measured.
Without either, calls keep the costs they were measured at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evalkit.economics.pricing import from_snapshot
from evalkit.economics.rates import PURCHASE_OPTIONS
from evalkit.errors import UsageError


@dataclass(frozen=True)
class Purchase:
    """What the projected costs assume."""

    option: str = "standard"
    cache_hit_rate: float | None = None
    """Share of prompt tokens read from the cache; None: as each call measured it."""

    @property
    def as_measured(self) -> bool:
        return self.option == "standard" and self.cache_hit_rate is None

    def describe(self) -> str:
        """E.g. ``batch price, 60% of prompt tokens from the cache``."""
        cache = ("cache use as measured" if self.cache_hit_rate is None
                 else f"{self.cache_hit_rate:.0%} of prompt tokens from the cache")
        return f"{self.option} price, {cache}"


def parse_purchase(option: str | None = None, cache_hit_rate: str | float | None = None) -> Purchase:
    """``--purchase`` and ``--cache-hit-rate`` as given; a UsageError that shows the forms otherwise."""
    option = option or "standard"
    if option not in PURCHASE_OPTIONS:
        raise UsageError(f"--purchase {option!r}: expected one of {', '.join(PURCHASE_OPTIONS)}")
    return Purchase(option, None if cache_hit_rate is None else _rate(cache_hit_rate))


def _rate(value: str | float) -> float:
    text = str(value).strip()
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        rate = math.nan
    if not 0 <= rate <= 1:
        raise UsageError(f"--cache-hit-rate {value!r}: expected a share of the prompt tokens between 0 and 1 "
                         "(0.6) or a percentage (60%)")
    return rate


def unavailable(snapshot: dict[str, dict], purchase: Purchase) -> list[str]:
    """Models of a price snapshot that cannot be bought with the purchase option (a model
    priced by machine time is bought by the hour, whatever the option)."""
    prices = from_snapshot(snapshot)
    return sorted(label for label, price in prices.items()
                  if price.hourly_cost is None and price.known and not price.offers(purchase.option))


def reprice(records: Any, snapshot: dict[str, dict], purchase: Purchase) -> Any:
    """The records (a DataFrame) with ``cost_usd`` as bought with ``purchase``: NaN for a
    model that does not offer the option, or whose price is unknown."""
    if purchase.as_measured or records.empty:
        return records
    prices = from_snapshot(snapshot)
    out = records.copy()
    costs = []
    for row in out.to_dict("records"):
        price = prices.get(str(row["model"]))
        if price is None or (price.hourly_cost is None and not price.offers(purchase.option)):
            cost = None  # not offered: even a failed call is no known cost of this option
        else:
            cost = price.record_cost(row, purchase.option, purchase.cache_hit_rate)
        costs.append(math.nan if cost is None else cost)
    out["cost_usd"] = costs
    return out
