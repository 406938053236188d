"""`evalkit breakeven`'s table: the monthly cost of each way to serve a volume."""

from __future__ import annotations

from typing import Any

from evalkit.console import fit
from evalkit.economics import selfhost


def projection_grid(projection: Any) -> Any:
    """`evalkit breakeven`'s table: each option's month and request, and its break-even."""
    columns = [fit.Column("Option"), fit.Column("$/month", right=True), fit.Column("$/request", right=True),
               fit.Column("Break-even (requests/month)", wrap=fit.TEXT)]
    rows: list[list[fit.Cell]] = [list(row) for row in selfhost.projection_rows(projection)]
    return fit.Grid(None, columns, rows)
