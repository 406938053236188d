"""`--volume`: the workload a monthly cost is projected at, and the projection.

Two spellings: requests (`50000/day`, `1.5M/month`) or tokens (`2M-tokens/month`,
`300k-tokens/day`). Suffixes k, M, B multiply by a thousand, million, billion; a month
is 30 days. Requests are costed at each model's measured cost per task; tokens at its
measured cost per token (prompt plus completion), so each model keeps the token mix the
run gave it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UsageError

DAYS_PER_MONTH = 30
HOURS_PER_MONTH = 730
DEFAULT_VOLUME = "10000/day"

_PATTERN = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kmb])?\s*(-?\s*tokens?)?\s*/\s*(day|month)\s*$", re.I)
_SCALE = {None: 1, "k": 1e3, "m": 1e6, "b": 1e9}


@dataclass(frozen=True)
class Volume:
    amount: float
    """Requests or tokens per month."""
    unit: str
    """``requests`` or ``tokens``."""
    text: str
    """As the user wrote it."""

    def describe(self) -> str:
        per_day = self.amount / DAYS_PER_MONTH
        return f"{_count(per_day)} {self.unit}/day ({_count(self.amount)} {self.unit}/month, 30-day month)"


def parse_volume(text: str | None) -> Volume:
    """Parse `50000/day`, `2M-tokens/month`, ...; a UsageError that shows the forms otherwise."""
    text = text or DEFAULT_VOLUME
    match = _PATTERN.match(text)
    if not match:
        raise UsageError(
            f"--volume {text!r}: expected requests or tokens per day or month, "
            "e.g. 50000/day, 1.5M/month, 2M-tokens/month"
        )
    number, suffix, tokens, period = match.groups()
    amount = float(number.replace(",", "").replace("_", "")) * _SCALE[suffix.lower() if suffix else None]
    if amount <= 0 or not math.isfinite(amount):
        raise UsageError(f"--volume {text!r}: the amount must be positive")
    if period.lower() == "day":
        amount *= DAYS_PER_MONTH
    return Volume(amount=amount, unit="tokens" if tokens else "requests", text=text)


def monthly_costs(by_model: Any, volume: Volume, hourly: dict[str, float]) -> list[dict[str, Any]]:
    """Per model: projected USD per month at ``volume`` (NaN when the price is unknown), and
    whether the unit cost (``estimated``) and the projection (``monthly_estimated``; not
    when a machine's month is the floor) rest on estimated token counts.

    ``hourly``: USD/hour of self-hosted models; such a machine is paid all month, so its
    projection is never below one machine running 730 hours.
    """
    rows = []
    for _, row in by_model.iterrows():
        n, cost = float(row["n"]), float(row["cost_total"])
        if volume.unit == "requests":
            unit_cost = cost / n if n else math.nan
        else:
            tokens = _nz(row["prompt_tokens"]) + _nz(row["completion_tokens"])
            unit_cost = cost / tokens if tokens else math.nan
        monthly = unit_cost * volume.amount
        floor = hourly.get(str(row["model"]))
        note, estimated = "", _rests_on_estimate(row, volume)
        if floor is not None and not math.isnan(monthly) and monthly < floor * HOURS_PER_MONTH:
            monthly, note = floor * HOURS_PER_MONTH, "one machine all month"
        rows.append({"model": str(row["model"]), "monthly": monthly, "unit_cost": unit_cost, "note": note,
                     "estimated": estimated, "monthly_estimated": estimated and not note})
    return rows


def _rests_on_estimate(row: Any, volume: Volume) -> bool:
    """A projection rests on estimated token counts when the cost did, or, per token, when
    the tokens it divides by were estimated (whatever the model is priced by)."""
    column = "cost_estimated" if volume.unit == "requests" else "usage_estimated"
    return bool(row.get(column, 0) > 0 or row.get("cost_estimated", 0) > 0)


def _nz(value: Any) -> float:
    return 0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _count(value: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:,.3g}{suffix}".replace(".0" + suffix, suffix)
    return f"{value:,.0f}"
