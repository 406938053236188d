"""`evalkit prices`'s tables: every rule evalkit applies to a model, with its source and date."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.console import fit


def price_tables(models: Sequence[Any]) -> list[fit.Grid]:
    """One table per model (a `ModelConfig`); a stale rule is marked in its date column."""
    from evalkit.economics.price_file import load_price_file
    from evalkit.economics.price_listing import price_for_listing, rule_lines

    max_age = load_price_file().max_age_days
    prices = [price_for_listing(model) for model in models]  # every bad id fails before any output
    tables = []
    for model, price in zip(models, prices):
        columns = [fit.Column("Rule"), fit.Column("Rates (USD)", wrap=fit.TEXT),
                   fit.Column("Source", wrap=fit.TEXT), fit.Column("As of")]
        title = model.id if model.display == model.id else f"{model.display} ({model.id})"
        table = fit.Grid(title, columns)
        for line in rule_lines(price, max_age_days=max_age):
            date = f"{line.as_of} (stale: older than {max_age} days)" if line.stale else line.as_of
            table.add_row(line.rule, line.text, line.source, date)
        tables.append(table)
    return tables
