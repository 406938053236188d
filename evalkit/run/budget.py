"""A hard spending limit for a run: reserve a call's worst case before it is sent.

A call is only sent if what has been spent, plus the worst case of every call in flight,
plus its own worst case stays within the limit; so the limit holds even if every call in
flight comes back as long as it may. Settling replaces a reservation by the real cost.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Budget:
    limit: float
    """USD the run may spend, in all (a resumed run counts what it spent before)."""
    spent: float = 0.0
    reserved: float = 0.0
    refused: bool = False
    """True once a call was held back: the run stopped on its budget."""

    def try_reserve(self, worst_case: float) -> bool:
        if self.refused or self.spent + self.reserved + worst_case > self.limit:
            self.refused = True  # later calls stop too, so the run ends cleanly, not piecemeal
            return False
        self.reserved += worst_case
        return True

    def settle(self, reserved: float, actual: float | None) -> None:
        self.reserved -= reserved
        self.spent += actual or 0.0


def exact_usd(amount: float) -> str:
    """Dollars with as many decimals as the amount has (2 to 8): a budget of $0.002 reads
    $0.002, never a rounded $0.00."""
    whole, _, decimals = f"{amount:,.8f}".rstrip("0").partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"
