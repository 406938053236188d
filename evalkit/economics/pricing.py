"""Prices: the litellm price map, config overrides and self-hosted $/hour, as a dated snapshot.

An unknown price is ``None`` and warned about, never $0: a missing price must not make a
model look free. The prices a run used are saved with it, so old runs keep their costs
when the price map changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from evalkit.config.models import ModelConfig

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    """How one model's calls are costed. Token prices are USD per token."""

    model: str
    model_id: str
    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    hourly_cost: float | None = None
    """Self-hosted: USD per hour of the machine serving the model."""
    hourly_slots: int = 1
    """Self-hosted: requests the machine serves at once; a call pays for its share."""
    source: str = "unknown"
    as_of: str = ""

    @property
    def known(self) -> bool:
        return self.hourly_cost is not None or (self.input is not None and self.output is not None)

    def cost(
        self,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cached_tokens: int | None = None,
        e2e_s: float | None = None,
    ) -> float | None:
        """USD for one call, or None when the price (or a needed measurement) is unknown."""
        if self.hourly_cost is not None:
            if e2e_s is None:
                return None
            return self.hourly_cost * e2e_s / 3600 / self.hourly_slots
        if self.input is None or self.output is None or prompt_tokens is None or completion_tokens is None:
            return None
        cached = min(cached_tokens or 0, prompt_tokens)
        cached_price = self.cached_input if self.cached_input is not None else self.input
        return (prompt_tokens - cached) * self.input + cached * cached_price + completion_tokens * self.output

    def describe(self) -> str:
        if self.hourly_cost is not None:
            return f"${self.hourly_cost:.2f}/hour self-hosted, {self.hourly_slots} request(s) at once"
        if self.input is None or self.output is None:
            return "unknown"
        return f"${self.input * PER_MILLION:.3f} in / ${self.output * PER_MILLION:.3f} out per 1M tokens"


def resolve_price(model: ModelConfig, today: dt.date | None = None) -> ModelPrice:
    """Config override first, then self-hosted hourly cost, then the litellm price map."""
    as_of = (today or dt.date.today()).isoformat()
    base: dict[str, Any] = {"model": model.display, "model_id": model.id, "as_of": as_of}
    if model.price is not None:
        cached = model.price.cached_input
        return ModelPrice(
            **base,
            input=model.price.input / PER_MILLION,
            output=model.price.output / PER_MILLION,
            cached_input=None if cached is None else cached / PER_MILLION,
            source="config override",
        )
    if model.price_from_capacity is not None:
        from evalkit.economics.capacity import load_capacity

        result = load_capacity(model.price_from_capacity)
        if result.price is None:
            return ModelPrice(**base, source=f"capacity run {result.id}: {result.assumptions()}")
        return ModelPrice(**base, input=result.price.input, output=result.price.output,
                          source=f"self-hosted: {result.assumptions()}")
    if model.hourly_cost is not None:
        return ModelPrice(
            **base, hourly_cost=model.hourly_cost, hourly_slots=model.max_concurrency, source="config hourly_cost"
        )
    from evalkit import transport

    entry = transport.price_map_entry(model.id) if not model.is_local else None
    if not entry or entry.get("input_cost_per_token") is None or entry.get("output_cost_per_token") is None:
        return ModelPrice(**base, source="unknown")
    return ModelPrice(
        **base,
        input=entry["input_cost_per_token"],
        output=entry["output_cost_per_token"],
        cached_input=entry.get("cache_read_input_token_cost"),
        source=transport.price_map_version(),
    )


def snapshot(prices: list[ModelPrice]) -> dict[str, dict]:
    """The prices a run used, keyed by model label, as stored with the run."""
    return {price.model: asdict(price) for price in prices}


def from_snapshot(data: dict[str, dict]) -> dict[str, ModelPrice]:
    return {label: ModelPrice(**fields) for label, fields in data.items()}


def time_priced(data: dict[str, dict]) -> set[str]:
    """Models of a price snapshot costed by machine time ($/hour), not by tokens: an
    estimated token count does not make their cost an estimate."""
    return {label for label, fields in data.items() if fields.get("hourly_cost") is not None}
