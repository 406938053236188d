"""evalkit's own dated price file (`evalkit/data/prices.yaml`), read and checked.

One job: the price rules evalkit carries where litellm's map is missing or stale for the
providers this tool exists for, each entry with its source URL and ``as_of`` date, and the
age past which a price is flagged as stale. Rates in the file are USD per 1M tokens; the
rules it hands out are USD per token, as `ModelPrice` keeps them. ``EVALKIT_PRICES`` names
another file to read instead (a team's negotiated prices); ``EVALKIT_MAX_PRICE_AGE_DAYS``
overrides the file's age limit. A bad entry is refused with its file, line and field.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from evalkit.config.models import Origins, Strict, describe_validation_error, read_yaml
from evalkit.economics.rates import PER_MILLION, PRICED_OPTIONS, RATE_NAMES
from evalkit.errors import UsageError

PRICES_ENV = "EVALKIT_PRICES"
MAX_AGE_ENV = "EVALKIT_MAX_PRICE_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 180


class Rates(Strict):
    """Rates of one tier or purchase option, USD per 1M tokens."""

    input: float = Field(ge=0, description="An uncached prompt token.")
    output: float = Field(ge=0, description="A completion token.")
    cached_input: float | None = Field(default=None, ge=0, description="A prompt token read from the cache.")
    cache_write: float | None = Field(default=None, ge=0, description="A prompt token written to the cache.")
    reasoning_output: float | None = Field(default=None, ge=0, description="A thinking rate (see reasoning_billing).")


class Tier(Rates):
    """Rates of a call whose prompt has more than ``above_tokens`` tokens."""

    above_tokens: int = Field(ge=1, description="Prompt tokens above which the whole call pays these rates.")
    batch: Rates | None = None
    flex: Rates | None = None
    priority: Rates | None = None


class PriceEntry(Strict):
    """One model's rules (or, with ``self_hosted``, the note that it is priced by machine time)."""

    source: str = Field(min_length=1, description="The provider's published price page (a URL).")
    as_of: dt.date = Field(description="When the figures were read from the source (YYYY-MM-DD).")
    note: str | None = None
    self_hosted: bool = False
    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_write_1h: float | None = Field(default=None, ge=0)
    reasoning_output: float | None = Field(default=None, ge=0)
    reasoning_billing: Literal["reasoning_tokens", "whole_output"] | None = None
    tiers: list[Tier] | None = None
    batch: Rates | None = None
    flex: Rates | None = None
    priority: Rates | None = None

    @model_validator(mode="after")
    def _sense(self) -> PriceEntry:
        if not self.self_hosted and not self.source.startswith(("https://", "http://")):
            raise ValueError(f"source {self.source!r} is not a URL: name the page the prices were read from")
        if (self.input is None) != (self.output is None):
            raise ValueError("give input and output together (USD per 1M tokens), or neither")
        if self.self_hosted and self.input is not None:
            raise ValueError("a self_hosted entry carries no token price: the config's hourly_cost prices it")
        if not self.self_hosted and not self.model_fields_set - {"source", "as_of", "note"}:
            raise ValueError("the entry sets no price rule: add input/output, tiers, cached_input, ...")
        bounds = [tier.above_tokens for tier in self.tiers or ()]
        if bounds != sorted(set(bounds)):
            raise ValueError("tiers must be listed by above_tokens, lowest first, each bound once")
        return self


class PriceFile(Strict):
    max_age_days: int = Field(default=DEFAULT_MAX_AGE_DAYS, ge=1,
                              description="A price older than this is flagged as stale in reports.")
    models: dict[str, PriceEntry] = Field(default_factory=dict)
    """Model id (or a shell-style pattern such as ``hosted_vllm/*``) -> its rules."""


@dataclass(frozen=True)
class OwnPrice:
    """One entry of the price file, as rules `ModelPrice` takes."""

    key: str
    entry: PriceEntry

    @property
    def source(self) -> str:
        return self.entry.source

    @property
    def as_of(self) -> str:
        return self.entry.as_of.isoformat()

    def rules(self) -> dict[str, Any]:
        entry, out = self.entry, {}
        for name in RATE_NAMES:
            value = getattr(entry, name)
            if value is not None:
                out[name] = value / PER_MILLION
        if entry.reasoning_billing:
            out["reasoning_billing"] = entry.reasoning_billing
        if entry.tiers:
            out["tiers"] = tuple(_tier(tier) for tier in entry.tiers)
        options = _options(entry)
        if options:
            out["options"] = options
        return out


def _rates(rates: Rates) -> dict[str, float]:
    return {k: v / PER_MILLION for k, v in rates.model_dump(exclude_none=True).items()
            if k != "above_tokens" and k not in PRICED_OPTIONS}


def _options(rules: PriceEntry | Tier) -> dict[str, dict[str, float]]:
    """The purchase options an entry or tier prices, each with its own rates."""
    return {name: _rates(getattr(rules, name)) for name in PRICED_OPTIONS if getattr(rules, name) is not None}


def _tier(tier: Tier) -> dict[str, Any]:
    return {"above_tokens": tier.above_tokens, **_rates(tier), "options": _options(tier)}


@dataclass(frozen=True)
class LoadedPrices:
    path: str
    data: PriceFile

    @property
    def max_age_days(self) -> int:
        override = os.environ.get(MAX_AGE_ENV)
        if override is None:
            return self.data.max_age_days
        try:
            days = int(override)
        except ValueError:
            days = 0
        if days < 1:
            raise UsageError(f"{MAX_AGE_ENV}={override!r}: expected a whole number of days, at least 1")
        return days

    def entry_for(self, model_id: str) -> OwnPrice | None:
        """The entry for this id: an exact key first, then the first pattern that matches."""
        if model_id in self.data.models:
            return OwnPrice(model_id, self.data.models[model_id])
        for key, entry in self.data.models.items():
            if any(c in key for c in "*?[") and fnmatch.fnmatchcase(model_id.lower(), key.lower()):
                return OwnPrice(key, entry)
        return None


def load_price_file() -> LoadedPrices:
    """The price file in use: ``EVALKIT_PRICES`` if set, else the shipped one."""
    return _load(os.environ.get(PRICES_ENV) or "")


@lru_cache(maxsize=4)
def _load(override: str) -> LoadedPrices:
    if override:
        path = Path(override)
        if not path.is_file():
            raise UsageError(f"{PRICES_ENV}={override}: no such price file; point it at a prices.yaml or unset it")
    else:
        path = Path(str(resources.files("evalkit.data") / "prices.yaml"))
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with max_age_days and models at the top level")
    try:
        return LoadedPrices(str(path), PriceFile.model_validate(data))
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, Origins(str(path), lines))) from None


def stale(as_of: str, today: dt.date | None = None, max_age_days: int | None = None) -> bool:
    """Whether a dated price (YYYY-MM-DD) is older than the age limit; an undated one is not
    judged here (its source says it is undated)."""
    try:
        when = dt.date.fromisoformat(as_of)
    except ValueError:
        return False
    limit = max_age_days if max_age_days is not None else load_price_file().max_age_days
    return ((today or dt.date.today()) - when).days > limit
