"""The names every price rule shares: the per-token rates, the purchase options, the unit.

Kept apart from `pricing` so that the price file, which `pricing` reads, can name them too.
"""

from __future__ import annotations

PER_MILLION = 1_000_000
"""Prices are written per 1M tokens and held per token."""

RATE_NAMES = ("input", "output", "cached_input", "cache_write", "cache_write_1h", "reasoning_output")
"""The per-token rates a tier, a purchase option or an off-peak window may set."""

PURCHASE_OPTIONS = ("standard", "batch", "flex", "priority")
"""How a workload can be bought: at the standard (real-time) price, or a provider's
batch, flex or priority option where the model has a price for it."""

PRICED_OPTIONS = PURCHASE_OPTIONS[1:]
"""The options that need a price of their own (standard is the model's rates)."""
