"""Procurement facts per model: the shipped facts file, the price map, the run's prices, the config.

Precedence, field by field: the model's `facts:` in the run's config, then the shipped
`evalkit/data/model_facts.yaml` (model entry and API-host entry), then litellm's local
price map for the context window. Prices are the ones the run used (its price snapshot),
with their date and source. Whatever none of them knows reads "unknown".
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from typing import Any

from evalkit import data

UNKNOWN = "unknown"
PER_MILLION = 1_000_000


@dataclass(frozen=True)
class FactsRow:
    """What a buyer needs to know about one model besides its measured results."""

    model: str
    model_id: str
    developer: str
    open_weights: str
    """"yes", "no" or "unknown"."""
    licence: str
    api_host: str
    jurisdiction: str
    context_window: str
    price_in: str
    """USD per 1M input tokens as used by the run (or the hourly price of a self-hosted machine)."""
    price_out: str
    price_date: str
    price_source: str
    source: str
    """Where the non-price facts come from."""


FIELDS = [
    ("Model", "model"), ("Developer", "developer"), ("Open weights", "open_weights"),
    ("Licence", "licence"), ("API host", "api_host"), ("Jurisdiction", "jurisdiction"),
    ("Context", "context_window"), ("$ / 1M in", "price_in"), ("$ / 1M out", "price_out"),
    ("Price date", "price_date"), ("Price source", "price_source"), ("Facts source", "source"),
]
"""(header, attribute) of the facts table, in order."""


@functools.lru_cache(maxsize=1)
def shipped_facts() -> dict[str, Any]:
    return data.load("model_facts.yaml")


def model_name(model_id: str) -> str:
    """The model part of a litellm id: `openrouter/qwen/qwen3-8b` -> `qwen3-8b`."""
    return model_id.rsplit("/", 1)[-1].lower()


def provider_prefix(model_id: str) -> str:
    return model_id.split("/", 1)[0].lower() if "/" in model_id else ""


def lookup_model(model_id: str) -> dict[str, Any]:
    """The first shipped model entry whose patterns match, or {}."""
    name, full = model_name(model_id), model_id.lower().split("/", 1)[-1]
    for entry in shipped_facts()["models"]:
        if any(fnmatch.fnmatchcase(name, p.lower()) or fnmatch.fnmatchcase(full, p.lower()) for p in entry["match"]):
            return entry
    return {}


def facts_rows(run: Any) -> list[FactsRow]:
    """One row per model of a stored run (`RunRow`), in the config's order."""
    rows = []
    for model in run.config.get("models", []):
        label = model.get("label") or model["id"]
        rows.append(_row(model, label, run.price_snapshot.get(label, {})))
    return rows


def _row(model: dict[str, Any], label: str, price: dict[str, Any]) -> FactsRow:
    model_id = model["id"]
    override = {k: v for k, v in (model.get("facts") or {}).items() if v is not None}
    entry = lookup_model(model_id)
    host = _host(model_id, model.get("api_base"))
    merged = {**{k: v for k, v in host.items() if k != "source"},
              **{k: v for k, v in entry.items() if v is not None}, **override}
    sources = [override.get("source") or entry.get("source"),
               host.get("source") if "api_host" not in override else None]
    context = merged.get("context_window") or _price_map_context(model_id)
    price_in, price_out = _prices(price)
    return FactsRow(
        model=label,
        model_id=model_id,
        developer=merged.get("developer") or UNKNOWN,
        open_weights=_yes_no(merged.get("open_weights")),
        licence=merged.get("licence") or UNKNOWN,
        api_host=merged.get("api_host") or UNKNOWN,
        jurisdiction=merged.get("jurisdiction") or UNKNOWN,
        context_window=f"{int(context):,} tokens" if context else UNKNOWN,
        price_in=price_in,
        price_out=price_out,
        price_date=price.get("as_of") or UNKNOWN,
        price_source=price.get("source") or UNKNOWN,
        source=" ; ".join(s for s in sources if s) or UNKNOWN,
    )


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else UNKNOWN


SELF_HOSTED_PREFIXES = {"", "openai", "hosted_vllm"}
"""Providers whose id, given an endpoint of its own, names a server you run: any
OpenAI-compatible server is called as `openai/` or `hosted_vllm/`."""


def _host(model_id: str, api_base: str | None) -> dict[str, Any]:
    """The model's `hosts` entry; a router's entry names the provider an id picks after its
    name (`huggingface/Qwen/Qwen3-8B:together`) where the entry says how (`*_named`)."""
    host = dict(shipped_facts()["hosts"].get(_host_key(model_id, api_base), {}))
    named = model_id.rsplit("/", 1)[-1].partition(":")[2]
    for field in ("api_host", "jurisdiction"):
        template = host.pop(f"{field}_named", None)
        if named and template:
            host[field] = template.format(provider=named)
    return host


def _host_key(model_id: str, api_base: str | None) -> str:
    """The `hosts` entry of a model: its provider's, or self-hosted where the endpoint is
    your own server (a named host's own endpoint, a region say, is still that host)."""
    prefix = provider_prefix(model_id)
    if api_base and prefix != "local" and (prefix in SELF_HOSTED_PREFIXES or prefix not in shipped_facts()["hosts"]):
        return "hosted_vllm"
    return prefix


def _price_map_context(model_id: str) -> int | None:
    """Max input tokens from litellm's local price map, read as data (importing litellm
    takes seconds, and a report must not)."""
    if provider_prefix(model_id) == "local":
        return None
    cost_map = _price_map()
    entry = cost_map.get(model_id)
    if entry is None and "/" in model_id:
        bare = cost_map.get(model_id.split("/", 1)[1])
        if bare and bare.get("litellm_provider") == provider_prefix(model_id):
            entry = bare
    entry = entry or {}
    return entry.get("max_input_tokens") or entry.get("max_tokens")


def _price_map() -> dict[str, Any]:
    from evalkit.transport import model_map

    return model_map.cost_map()


def _prices(price: dict[str, Any]) -> tuple[str, str]:
    if price.get("hourly_cost") is not None:
        return f"${price['hourly_cost']:.2f}/hour (machine)", "—"
    if price.get("input") is None or price.get("output") is None:
        return UNKNOWN, UNKNOWN
    return f"${price['input'] * PER_MILLION:.3f}", f"${price['output'] * PER_MILLION:.3f}"
