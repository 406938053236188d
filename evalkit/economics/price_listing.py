"""A price's rules as lines a person reads, each with its source, its date and whether it
is stale: what `evalkit prices` prints and what the reports' price table shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from evalkit.economics.pricing import ModelPrice
from evalkit.economics.rates import PER_MILLION, PRICED_OPTIONS


@dataclass(frozen=True)
class RuleLine:
    rule: str
    """``standard``, ``cache read``, ``tier > 256,000 prompt tokens``, ``batch``, ..."""
    text: str
    """The rates, USD per 1M tokens."""
    source: str
    as_of: str
    stale: bool = False
    """Older than the price file's ``max_age_days``."""


def rule_lines(price: ModelPrice, today: dt.date | None = None, max_age_days: int | None = None) -> list[RuleLine]:
    """Every rule evalkit applies to this model's calls, in the order a call meets them."""
    from evalkit.economics.price_file import stale

    sources = price.rule_sources

    def line(rule: str, key: str, text: str) -> RuleLine:
        origin = sources.get(key) or {"source": price.source, "as_of": price.as_of}
        return RuleLine(rule, text, origin["source"], origin["as_of"],
                        stale(origin["as_of"], today, max_age_days))

    if price.hourly_cost is not None:
        return [line("machine time", "standard", f"${price.hourly_cost:.2f}/hour, "
                                                  f"{price.hourly_slots} request(s) at once")]
    if "self_hosted" in sources:
        return [line("machine time", "self_hosted", "self-hosted: no token price; set hourly_cost "
                                                      "(or price_from_capacity) for this model in the config")]
    if not price.known:
        return [RuleLine("standard", "unknown (calls are not costed)", price.source, price.as_of)]
    out = [line("standard", "standard", _rates({"input": price.input, "output": price.output}))]
    for name, label in (("cached_input", "cache read"), ("cache_write", "cache write (5 min)"),
                        ("cache_write_1h", "cache write (1 hour)")):
        if getattr(price, name) is not None:
            out.append(line(label, name, f"{_usd(getattr(price, name))} per 1M prompt tokens"))
    if price.reasoning_output is not None:
        applies = ("every output token of a call that thought" if price.reasoning_billing == "whole_output"
                   else "each reasoning token")
        out.append(line("reasoning", "reasoning_output",
                        f"{_usd(price.reasoning_output)} per 1M tokens, for {applies}"))
    for tier in price.tiers:
        options = "; ".join(f"{name}: {_rates(rates)}" for name, rates in sorted(tier.get("options", {}).items()))
        out.append(line(f"prompt > {int(tier['above_tokens']):,} tokens", "tiers",
                        _rates(tier) + (f"; {options}" if options else "")))
    for option in PRICED_OPTIONS:
        rates = price.options.get(option)
        out.append(line(option, option, _rates(rates)) if rates else
                   RuleLine(option, "unavailable (no price for this option)", "—", "—"))
    if price.off_peak:
        flat = price.off_peak.get("hours_utc")
        windows = "; ".join(([_window({"hours_utc": flat})] if flat else [])
                            + [_window(w) for w in price.off_peak.get("windows") or ()])
        out.append(line("off-peak", "off_peak", f"{_rates(price.off_peak)} in {windows} (UTC)"))
    return out


def _rates(rates: dict[str, Any]) -> str:
    parts = [f"{_usd(rates[k])} {label}" for k, label in
             (("input", "in"), ("output", "out"), ("cached_input", "cache read"), ("cache_write", "cache write"),
              ("reasoning_output", "reasoning")) if rates.get(k) is not None]
    return " / ".join(parts) + " per 1M tokens"


def _usd(per_token: float) -> str:
    return f"${per_token * PER_MILLION:.4g}"


def _window(window: dict[str, Any]) -> str:
    days = window.get("weekdays") or []
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    day_text = ",".join(names[d - 1] if isinstance(d, int) else str(d) for d in days) if days else "every day"
    hours = window.get("hours_utc")
    return f"{day_text} {', '.join(hours) if isinstance(hours, list) else hours}"


def price_for_listing(model: Any) -> ModelPrice:
    """The price evalkit would apply to a model (a `ModelConfig`), or a UsageError naming
    what to do when it has none: an unknown id is bad input, never a free model."""
    from evalkit import transport
    from evalkit.economics.price_file import load_price_file
    from evalkit.economics.pricing import resolve_price
    from evalkit.errors import UsageError

    load_price_file()  # a broken price file is named before any model
    price = resolve_price(model)
    if price.known or price.hourly_cost is not None or "self_hosted" in price.rule_sources:
        return price
    import difflib

    close = difflib.get_close_matches(model.id, transport.known_chat_models(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UsageError(f"{model.id}: no price in litellm's local map ({transport.price_map_version()}) nor in "
                     f"evalkit's price file{hint} (check the id, or give the model a price: in the config)")
