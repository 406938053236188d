"""litellm's price-map entry for a model, read as evalkit's price rules.

One job: turn the map's flat keys into the rule fields of `ModelPrice` — the standard
rates, cache read and cache write (5-minute and 1-hour), a reasoning-token rate, the
rates above a prompt-length threshold (``*_above_200k_tokens``, ``*_above_272k_tokens``,
...), ``tiered_pricing`` (Qwen's tiers by input length), the batch, flex and priority
purchase options (``*_batches``, ``*_flex``, ``*_priority``) and DeepSeek's off-peak
windows (``off_peak_pricing``). Rates stay USD per token, as the map gives them.
"""

from __future__ import annotations

import re
from typing import Any

RATE_KEYS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cached_input": "cache_read_input_token_cost",
    "cache_write": "cache_creation_input_token_cost",
}
"""evalkit's name of a rate -> the map's key for it (standard option, base tier)."""

OPTION_SUFFIXES = {"batch": "batches", "flex": "flex", "priority": "priority"}
"""Purchase option -> the suffix the map gives its rates."""

_ABOVE = re.compile(r"^(?P<rate>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|"
                    r"cache_creation_input_token_cost)_above_(?P<k>\d+)k_tokens(?:_(?P<option>batches|flex|priority))?$")
_MAP_NAME = {key: name for name, key in RATE_KEYS.items()}
_OPTION_BY_SUFFIX = {suffix: option for option, suffix in OPTION_SUFFIXES.items()}


def rules_from_map(entry: dict[str, Any]) -> dict[str, Any]:
    """The `ModelPrice` rule fields this map entry carries; fields it lacks are left out."""
    rules: dict[str, Any] = {name: entry[key] for name, key in RATE_KEYS.items() if entry.get(key) is not None}
    if rules.get("cache_write") == 0:
        # The map's 0 says "no separate write price" (DeepSeek, Z.ai bill a cache miss as
        # input): a written token is no free token.
        del rules["cache_write"]
    if "cached_input" not in rules and entry.get("input_cost_per_token_cache_hit") is not None:
        rules["cached_input"] = entry["input_cost_per_token_cache_hit"]  # DeepSeek's older spelling
    if entry.get("cache_creation_input_token_cost_above_1hr") is not None:
        rules["cache_write_1h"] = entry["cache_creation_input_token_cost_above_1hr"]
    if entry.get("output_cost_per_reasoning_token") is not None:
        rules["reasoning_output"] = entry["output_cost_per_reasoning_token"]
    options = _options(entry)
    if options:
        rules["options"] = options
    tiers = _threshold_tiers(entry) + _tiered_pricing(entry, rules)
    if tiers:
        rules["tiers"] = tuple(sorted(tiers, key=lambda tier: tier["above_tokens"]))
    off_peak = entry.get("off_peak_pricing")
    if isinstance(off_peak, dict) and (off_peak.get("windows") or off_peak.get("hours_utc")):
        rates = {name: off_peak[key] for name, key in RATE_KEYS.items() if off_peak.get(key) is not None}
        when = {key: off_peak[key] for key in ("windows", "hours_utc", "weekday_timezone") if key in off_peak}
        rules["off_peak"] = {**rates, **when}
    return rules


def _options(entry: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Batch, flex and priority rates of the base tier; an option needs input and output."""
    options = {}
    for option, suffix in OPTION_SUFFIXES.items():
        rates = {name: entry[f"{key}_{suffix}"] for name, key in RATE_KEYS.items()
                 if entry.get(f"{key}_{suffix}") is not None}
        if "input" in rates and "output" in rates:
            options[option] = rates
    return options


def _threshold_tiers(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """``*_above_Nk_tokens`` keys: from N×1000 prompt tokens on, the call's every token costs
    the higher rate (as the providers bill it: the whole call, not the tokens past N)."""
    tiers: dict[int, dict[str, Any]] = {}
    for key, value in entry.items():
        match = _ABOVE.match(key)
        if not match or value is None:
            continue
        tier = tiers.setdefault(int(match["k"]) * 1000, {"above_tokens": int(match["k"]) * 1000})
        name = _MAP_NAME[match["rate"]]
        if match["option"]:
            tier.setdefault("options", {}).setdefault(_OPTION_BY_SUFFIX[match["option"]], {})[name] = value
        else:
            tier[name] = value
    for tier in tiers.values():  # an option a tier gives only part of is not offered there
        tier["options"] = {o: r for o, r in tier.get("options", {}).items() if "input" in r and "output" in r}
    return [t for t in tiers.values() if "input" in t and "output" in t]


def _tiered_pricing(entry: dict[str, Any], rules: dict[str, Any]) -> list[dict[str, Any]]:
    """``tiered_pricing`` (ranges of prompt tokens): the first range is the base rate
    where the entry has none of its own, each later range a tier from its lower bound."""
    tiers = []
    for band in entry.get("tiered_pricing") or ():
        if not isinstance(band, dict) or not band.get("range"):
            continue
        rates = {name: band[key] for name, key in RATE_KEYS.items() if band.get(key) is not None}
        if band.get("output_cost_per_reasoning_token") is not None:
            rates["reasoning_output"] = band["output_cost_per_reasoning_token"]
        low = int(band["range"][0])
        if low == 0:
            for name, value in rates.items():
                rules.setdefault(name, value)
        elif "input" in rates and "output" in rates:
            tiers.append({"above_tokens": low, **rates})
    return tiers
