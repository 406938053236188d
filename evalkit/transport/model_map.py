"""litellm's model map read as data: prices, context windows, model lists, providers, aliases.

litellm ships its price map as a JSON file (`model_prices_and_context_window_backup.json`)
and its provider names as an enum; importing litellm to read them takes seconds and
hundreds of MB, more than `evalkit models` or a whole fast-path run needs. This module
finds the package with `importlib.util.find_spec` (nothing of litellm runs), reads the file
as litellm finalises it (alias rows expanded, the fallback rules taken out) and answers the
lookups the rest of evalkit asks of the map. Where litellm's own resolution has a special
case this module does not repeat (Azure, Cohere, bare ids, an unknown prefix; a tokenizer
other than tiktoken's), it asks litellm (`evalkit.transport.litellm`), which is then imported.
tests/test_model_map.py checks every answer here against litellm's own.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from importlib import util
from pathlib import Path
from typing import Any

PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"
FALLBACK_KEY = "fallback_generalizations"
"""The map's block of regex rules for unknown models: litellm takes it out of the map."""

ASKED_OF_LITELLM = frozenset({"azure", "cohere", "github_copilot", "chatgpt"})
"""Prefixes litellm resolves by rules of its own: Azure's non-OpenAI models go to `openai`,
Cohere's chat models to `cohere_chat`, and GitHub Copilot's and ChatGPT's ids only once it
has signed in to them."""

ANTHROPIC_TEXT_MODELS = frozenset({"claude-2", "claude-instant-1"})
"""`anthropic/` names litellm sends to `anthropic_text` (litellm 1.110.2,
llms/anthropic/completion/transformation.py `_is_anthropic_text_model`): asked of litellm."""

_ENUM_MEMBER = re.compile(r'^\s+[A-Z0-9_]+\s*=\s*"([^"]+)"', re.MULTILINE)
_CLASS_END = re.compile(r"\n\S")
"""The enum's body ends at the next unindented line."""


@lru_cache(maxsize=1)
def package_dir() -> Path | None:
    """litellm's installed package folder, found without importing it (None if not installed)."""
    spec = util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def cost_map() -> dict[str, dict[str, Any]]:
    """litellm's local price map as `litellm.model_cost` holds it (never fetched remotely)."""
    return _loaded()[0]


def _alias_names() -> dict[str, tuple[str, ...]]:
    """Every name of an alias group -> the group's names, the model it stands for first."""
    return _loaded()[1]


@lru_cache(maxsize=1)
def _loaded() -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    folder = package_dir()
    if folder is None:
        return {}, {}
    raw: dict[str, Any] = json.loads((folder / PRICE_MAP_FILE).read_bytes())
    raw.pop(FALLBACK_KEY, None)
    return raw, _expand_aliases(raw)


def _expand_aliases(model_cost: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """litellm's expansion, in place: a row with `alias_of` is served as the row it names, and
    a row's `aliases` list adds names for it; a name that collides with a model or another
    alias, or points at nothing, is skipped (litellm logs a warning and does the same).
    Returns each name of an alias group -> the group's names, the model first."""
    pointers = {name: info["alias_of"] for name, info in model_cost.items()
                if isinstance(info, dict) and isinstance(info.get("alias_of"), str)}
    owners: dict[str, str] = {}
    listing = [name for name, info in model_cost.items()
               if isinstance(info, dict) and info.get("aliases") is not None and name not in pointers]
    for name in listing:
        aliases = model_cost[name]["aliases"]
        for alias in aliases if isinstance(aliases, list) else ():
            if (alias in model_cost and alias not in pointers) or alias in owners:
                continue
            owners[alias] = name
    for alias, target in pointers.items():
        if target in model_cost and target not in pointers and alias not in owners:
            owners[alias] = target
    for name in listing:
        model_cost[name].pop("aliases", None)
    for alias in pointers.keys() - owners.keys():
        model_cost.pop(alias)
    groups: dict[str, tuple[str, ...]] = {}
    for owner in dict.fromkeys(owners.values()):
        names = (owner, *(alias for alias, its_owner in owners.items() if its_owner == owner))
        shared = dict(model_cost[owner])
        for name in names:
            model_cost[name] = shared
            groups[name] = names
    return groups


@lru_cache(maxsize=1)
def provider_names() -> frozenset[str]:
    """litellm's `provider_list` (the values of its `LlmProviders` enum), read from its source."""
    folder = package_dir()
    if folder is None:
        return frozenset()
    source = (folder / "types" / "utils.py").read_text(encoding="utf-8")
    start = source.index("class LlmProviders(")
    end = _CLASS_END.search(source, start + 1)
    body = source[start:end.start() if end else None].split("\n", 1)[1]
    return frozenset(_ENUM_MEMBER.findall(body))


@lru_cache(maxsize=1)
def json_provider_names() -> frozenset[str]:
    """The OpenAI-compatible providers litellm configures from JSON (`llms/openai_like/providers.json`)."""
    folder = package_dir()
    path = folder / "llms" / "openai_like" / "providers.json" if folder else None
    if path is None or not path.exists():
        return frozenset()
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


def fast_provider_of(model_id: str) -> str | None:
    """The provider litellm routes `provider/model` to, where that is simply the prefix; None
    where only litellm can tell (a bare id, an unknown or rewritten prefix)."""
    prefix, slash, rest = model_id.partition("/")
    if not slash or not rest or prefix in ASKED_OF_LITELLM or (prefix == "anthropic" and rest in ANTHROPIC_TEXT_MODELS):
        return None
    return prefix if prefix in json_provider_names() or prefix in provider_names() else None


def provider_of(model_id: str) -> str | None:
    """The litellm provider name for a model id, or None if litellm cannot route it."""
    provider = fast_provider_of(model_id)
    if provider is not None:
        return provider
    from evalkit.transport import litellm

    return litellm.provider_of(model_id)


def model_called(model_id: str) -> str:
    """The model id litellm would call for this one: an alias of litellm's price map
    (`openai/gpt-mini-latest`) is resolved to the model it names (`openai/gpt-5.4-mini`),
    whose price the alias carries. Other ids come back as they are."""
    from evalkit.config import routes

    # litellm rewrites some other providers' names further (a Bedrock region dropped)
    provider = fast_provider_of(model_id) if routes.route_for(model_id).fast else None
    if provider is None:
        from evalkit.transport import litellm

        return litellm.model_called(model_id)
    name = model_id.split("/", 1)[1]
    return f"{provider}/{resolve_alias(name, provider)}"


def resolve_alias(name: str, provider: str) -> str:
    """litellm's `resolve_model_latest_alias`: the model an alias row names, else `name`."""
    return _alias_target(f"{provider}/{name}", provider) or _alias_target(name, provider) or name


def _alias_target(key: str, provider: str) -> str | None:
    names = _alias_names().get(key)
    if not names or names[0] == key:
        return None  # not an alias, or the model itself
    prefix, slash, _ = key.partition("/")
    alias_provider = prefix if slash and prefix in provider_names() else cost_map()[key].get("litellm_provider")
    if alias_provider != provider:
        return None
    return names[0].removeprefix(f"{provider}/")


def price_map_entry(model_id: str) -> dict[str, Any] | None:
    """The litellm price-map entry for a model id (local copy, no network)."""
    cost = cost_map()
    if model_id in cost:
        return cost[model_id]
    bare = model_id.split("/", 1)[1] if "/" in model_id else None
    if bare and bare in cost and provider_of(model_id) == cost[bare].get("litellm_provider"):
        return cost[bare]
    return None


def known_chat_models() -> list[str]:
    """Every chat model of litellm's price map, sorted."""
    return sorted(k for k, v in cost_map().items() if isinstance(v, dict) and v.get("mode") == "chat")


def price_map_version() -> str:
    """Which price map the prices come from, as stored with a run's prices."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"litellm {version('litellm')} local price map"
    except PackageNotFoundError:
        return "litellm ? local price map"


def context_window(model_id: str) -> int | None:
    """Max input tokens the price map gives a model (None where it gives none)."""
    entry = price_map_entry(model_id) or {}
    return entry.get("max_input_tokens") or entry.get("max_tokens")


def tokenizer_dir() -> str | None:
    """Where litellm keeps tiktoken's encoding files, as it points TIKTOKEN_CACHE_DIR there."""
    custom = os.environ.get("CUSTOM_TIKTOKEN_CACHE_DIR")
    if custom:
        return custom
    folder = package_dir()
    return str(folder / "litellm_core_utils" / "tokenizers") if folder else None
