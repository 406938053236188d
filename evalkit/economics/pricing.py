"""Prices: how one call is costed, resolved for a model from the config, evalkit's own price
file and the litellm price map, and kept as a dated snapshot with the run.

A price is a set of rules (`ModelPrice`): the standard rates, cache read and cache write,
a reasoning-token rate, tiers by prompt length, purchase options (batch, flex, priority)
and off-peak windows. Each call is costed by the rules that apply to it: its prompt
length picks the tier, its cached and cache-written tokens and its reasoning tokens their
rates, its start time an off-peak window. Each rule keeps where it came from
(``rule_sources``). An unknown price is ``None`` and warned about, never $0: a missing
price must not make a model look free. The prices a run used are saved with it, so old
runs keep their costs when the price data changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from evalkit.config.models import ModelConfig
from evalkit.economics.rates import PER_MILLION, RATE_NAMES
from evalkit.transport.base import BILLED_ERROR_CLASSES


@dataclass(frozen=True)
class ModelPrice:
    """How one model's calls are costed. Token prices are USD per token."""

    model: str
    model_id: str
    input: float | None = None
    """Standard rate of an uncached prompt token (the lowest tier)."""
    output: float | None = None
    """Standard rate of a completion token (the lowest tier)."""
    cached_input: float | None = None
    """A prompt token read from the provider's cache; None: the input rate."""
    hourly_cost: float | None = None
    """Self-hosted: USD per hour of the machine serving the model."""
    hourly_slots: int = 1
    """Self-hosted: requests the machine serves at once; a call pays for its share."""
    source: str = "unknown"
    as_of: str = ""
    """When the price was resolved for the run (the date of each rule is in ``rule_sources``)."""
    cache_write: float | None = None
    """A prompt token written to the cache (Anthropic's 5-minute write); None: the input rate."""
    cache_write_1h: float | None = None
    """A prompt token written to the 1-hour cache, where the provider sells one."""
    reasoning_output: float | None = None
    """A separate rate for thinking: applied as ``reasoning_billing`` says; None: the output rate."""
    reasoning_billing: str = "reasoning_tokens"
    """``reasoning_tokens``: the reasoning tokens of a call cost ``reasoning_output``, its
    answer tokens the output rate (litellm's rule); ``whole_output``: every output token of
    a call that thought costs ``reasoning_output`` (Alibaba's thinking-mode price)."""
    tiers: tuple[dict[str, Any], ...] = ()
    """Rates by prompt length, lowest first: ``{"above_tokens": N, "input": ..., ...,
    "options": {"batch": {...}}}``; a call whose prompt has more than N tokens pays all its
    tokens at that tier's rates (a rate a tier leaves out is the base rate)."""
    options: dict[str, dict[str, float]] = field(default_factory=dict)
    """Purchase options other than standard, by name (``batch``, ``flex``, ``priority``):
    their rates at the lowest tier. An option not here is not offered."""
    off_peak: dict[str, Any] | None = None
    """Standard rates in the provider's off-peak windows (DeepSeek), with the map's
    ``windows`` (``[{"weekdays": [1..7, Monday 1], "hours_utc": ["10:00-00:00", ...]}]``),
    ``hours_utc`` (every day) and ``weekday_timezone``; see `is_off_peak`."""
    rule_sources: dict[str, dict[str, str]] = field(default_factory=dict)
    """Rule name (``standard``, ``cached_input``, ``tiers``, ``batch``, ...) -> its
    ``source`` and ``as_of``: where evalkit took that rule from."""

    @property
    def known(self) -> bool:
        return self.hourly_cost is not None or (self.input is not None and self.output is not None)

    def offers(self, purchase: str) -> bool:
        """Whether the model has a price for this purchase option."""
        return purchase == "standard" or purchase in self.options

    def tier_for(self, prompt_tokens: int) -> dict[str, Any] | None:
        """The tier a prompt of this length is billed at; None: the base rates."""
        chosen = None
        for tier in self.tiers:
            if prompt_tokens > int(tier["above_tokens"]):
                chosen = tier
        return chosen

    def rates(self, prompt_tokens: int, purchase: str = "standard", at: float | None = None) -> dict[str, Any] | None:
        """The rates one call pays, or None when the purchase option is not offered at its tier."""
        base = {name: getattr(self, name) for name in RATE_NAMES}
        tier = self.tier_for(prompt_tokens)
        if purchase != "standard":
            option = (tier or {}).get("options", {}).get(purchase) if tier else self.options.get(purchase)
            # An option's own rates only: the standard cache price is no batch price.
            return None if option is None else {**dict.fromkeys(RATE_NAMES), **option,
                                                "reasoning_output": option.get("reasoning_output")}
        if tier is not None:
            base.update({name: tier[name] for name in RATE_NAMES if tier.get(name) is not None})
        elif at is not None and self.off_peak and is_off_peak(at, self.off_peak):
            base.update({name: self.off_peak[name] for name in RATE_NAMES if self.off_peak.get(name) is not None})
        return base

    def cost(
        self,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        cached_tokens: int | None = None,
        e2e_s: float | None = None,
        *,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        purchase: str = "standard",
        at: float | None = None,
    ) -> float | None:
        """USD for one call, or None when the price (a needed measurement, or the purchase
        option) is unknown. ``at``: Unix time the call was sent (off-peak windows)."""
        if self.hourly_cost is not None:
            if e2e_s is None:
                return None
            return self.hourly_cost * e2e_s / 3600 / self.hourly_slots
        if not self.known or prompt_tokens is None or completion_tokens is None:
            return None
        rates = self.rates(prompt_tokens, purchase, at)
        if rates is None or rates["input"] is None or rates["output"] is None:
            return None
        cached = min(cached_tokens or 0, prompt_tokens)
        written = min(cache_write_tokens or 0, prompt_tokens - cached)
        prompt_cost = ((prompt_tokens - cached - written) * rates["input"]
                       + cached * _or(rates["cached_input"], rates["input"])
                       + written * _or(rates["cache_write"], rates["input"]))
        return prompt_cost + self._output_cost(completion_tokens, reasoning_tokens, rates)

    def _output_cost(self, completion: int, reasoning_tokens: int | None, rates: dict[str, Any]) -> float:
        reasoning = min(reasoning_tokens or 0, completion)
        thinking_rate = rates["reasoning_output"]
        if thinking_rate is None or reasoning == 0:
            return completion * rates["output"]
        if self.reasoning_billing == "whole_output":
            return completion * thinking_rate
        return reasoning * thinking_rate + (completion - reasoning) * rates["output"]

    def record_cost(self, row: Mapping[str, Any], purchase: str = "standard",
                    cache_hit_rate: float | None = None) -> float | None:
        """The cost of one stored call (a record's fields), as bought with ``purchase``; with
        ``cache_hit_rate``, that share of its prompt read from the cache instead of what the
        call measured (and nothing written)."""
        error = row.get("error_class")
        # pandas reads a missing class as NaN, not None; a reply that was all thinking is billed
        if isinstance(error, str) and error and error not in BILLED_ERROR_CLASSES:
            return self.cost(0, 0, 0, _num(row.get("e2e_s")) or 0.0) if self.known else None
        prompt, cached, written = _int(row.get("prompt_tokens")), _int(row.get("cached_tokens")), \
            _int(row.get("cache_write_tokens"))
        if cache_hit_rate is not None and prompt is not None:
            cached, written = round(prompt * cache_hit_rate), 0
        completion, reasoning = _int(row.get("completion_tokens")), _int(row.get("reasoning_tokens"))
        if reasoning is None and self.reasoning_billing == "whole_output" and _num(row.get("reasoning_ttft_s")):
            reasoning = completion  # it streamed thinking: a thinking call, whatever its count
        return self.cost(prompt, completion, cached, _num(row.get("e2e_s")), cache_write_tokens=written,
                         reasoning_tokens=reasoning, purchase=purchase, at=_num(row.get("started_at")))

    def describe(self) -> str:
        if self.hourly_cost is not None:
            return f"${self.hourly_cost:.2f}/hour self-hosted, {self.hourly_slots} request(s) at once"
        if self.input is None or self.output is None:
            return "unknown"
        return f"${self.input * PER_MILLION:.3f} in / ${self.output * PER_MILLION:.3f} out per 1M tokens"


_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


def is_off_peak(at: float, off_peak: Mapping[str, Any]) -> bool:
    """Whether Unix time ``at`` is off-peak, read as litellm's map defines it: the flat
    ``hours_utc`` windows apply every day, each of ``windows`` only on its ``weekdays``
    (1 = Monday, or names; on the calendar of ``weekday_timezone``, default UTC). A window
    ``"HH:MM-HH:MM"`` (UTC) includes its start, excludes its end, may wrap past midnight,
    and covers the whole day when start equals end."""
    when = dt.datetime.fromtimestamp(at, dt.timezone.utc)
    if _in_spans(when, off_peak.get("hours_utc")):
        return True
    calendar: dt.tzinfo = dt.timezone.utc
    if isinstance(off_peak.get("weekday_timezone"), str):
        from zoneinfo import ZoneInfo

        calendar = ZoneInfo(off_peak["weekday_timezone"])
    weekday = when.astimezone(calendar).isoweekday()
    for window in off_peak.get("windows") or ():
        days = window.get("weekdays")
        allowed = None if days is None else {_WEEKDAYS.get(str(d).lower()[:3], d) for d in days}
        if (allowed is None or weekday in allowed) and _in_spans(when, window.get("hours_utc")):
            return True
    return False


def _in_spans(when: dt.datetime, spans: Any) -> bool:
    minute = when.hour * 60 + when.minute + when.second / 60
    for span in [spans] if isinstance(spans, str) else spans or ():
        try:
            start, end = (_minutes(part) for part in span.split("-"))
        except ValueError:
            continue  # a malformed window is no window (as litellm reads it)
        if (start <= minute < end) if start < end else (minute >= start or minute < end):
            return True
    return False


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":")
    return int(hours) * 60 + int(minutes)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN, pandas' missing value


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def resolve_price(model: ModelConfig, today: dt.date | None = None) -> ModelPrice:
    """Config override first, then self-hosted hourly cost, then evalkit's price file over
    the litellm price map (rule by rule: a rule the file gives replaces the map's)."""
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
            rule_sources={"standard": {"source": "config override", "as_of": as_of}},
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
    return _from_price_data(model, base)


def _from_price_data(model: ModelConfig, base: dict[str, Any]) -> ModelPrice:
    from evalkit import transport
    from evalkit.economics.price_file import load_price_file
    from evalkit.economics.price_map import rules_from_map

    rules: dict[str, Any] = {}
    sources: dict[str, dict[str, str]] = {}
    entry = transport.price_map_entry(model.id) if not model.is_local else None
    if entry:
        rules = rules_from_map(entry)
        cited = f" (citing {entry['source']})" if isinstance(entry.get("source"), str) else ""
        undated = {"source": transport.price_map_version() + cited,
                   "as_of": "undated (the map gives no date per price)"}
        sources = {name: undated for name in rule_names(rules)}
    own = load_price_file().entry_for(model.id)
    if own is not None and own.entry.self_hosted:
        note = {"source": own.source, "as_of": own.as_of}
        return ModelPrice(**base, source="self-hosted: set hourly_cost (or price_from_capacity) in the config",
                          rule_sources={"self_hosted": note})
    if own is not None:
        options = {**rules.get("options", {}), **own.rules().get("options", {})}
        rules.update(own.rules())
        if options:
            rules["options"] = options
        sources.update({name: {"source": own.source, "as_of": own.as_of} for name in rule_names(own.rules())})
    if rules.get("input") is None or rules.get("output") is None:
        return ModelPrice(**base, source="unknown", rule_sources=sources)
    source = "; ".join(sorted({s["source"] for s in sources.values()}))
    return ModelPrice(**base, **rules, source=source, rule_sources=sources)


def rule_names(rules: Mapping[str, Any]) -> list[str]:
    """The rules a set of `ModelPrice` fields sets, by the names ``rule_sources`` uses."""
    names = ["standard"] if "input" in rules or "output" in rules else []
    names += [n for n in ("cached_input", "cache_write", "cache_write_1h", "reasoning_output", "tiers", "off_peak")
              if rules.get(n) not in (None, (), [])]
    return names + sorted(rules.get("options") or {})


def snapshot(prices: list[ModelPrice]) -> dict[str, dict]:
    """The prices a run used, keyed by model label, as stored with the run."""
    return {price.model: asdict(price) for price in prices}


_FIELDS = {f.name for f in fields(ModelPrice)}


def from_snapshot(data: dict[str, dict]) -> dict[str, ModelPrice]:
    """A stored snapshot back as prices; a snapshot stored before a rule existed lacks it."""
    out = {}
    for label, stored in data.items():
        kept = {k: v for k, v in stored.items() if k in _FIELDS}
        kept["tiers"] = tuple(kept.get("tiers") or ())
        out[label] = ModelPrice(**kept)
    return out


def time_priced(data: dict[str, dict]) -> set[str]:
    """Models of a price snapshot costed by machine time ($/hour), not by tokens: an
    estimated token count does not make their cost an estimate."""
    return {label for label, fields in data.items() if fields.get("hourly_cost") is not None}
