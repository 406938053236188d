"""Validate a config into a `Plan`: every check that can fail before a paid call.

Suites and their items, scorers, model ids (litellm must know the provider, a fast-path
provider needs its endpoint), keys and prices; a shard keeps its share of the items.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from evalkit import redaction, transport
from evalkit.config import routes, thinking
from evalkit.config.keys import resolve_api_key
from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig
from evalkit.economics.pricing import resolve_price
from evalkit.errors import UsageError
from evalkit.run.plan import Plan
from evalkit.run.shards import Shard
from evalkit.suites import default_builtin_names, load_samples
from evalkit.suites.base import Sample


def default_suites() -> list[SuiteConfig]:
    """The built-in suites a config without suites runs: all but those run only when named."""
    return [SuiteConfig(name=name) for name in default_builtin_names()]


def prepare(config: RunConfig, require_keys: bool = True, shard: Shard | None = None,
            store: str | None = None) -> Plan:
    """Validate everything that could fail before a paid call; raise UsageError on bad input.

    An estimate needs no keys: `require_keys=False` skips that check (nothing is sent).
    A shard keeps only its deterministic share of the items. ``store`` (a URL or path)
    holds the workload profiles replay suites draw from.
    """
    if not config.models:
        raise UsageError("no models to compare; pass -m MODEL or a config with models")
    suites = config.suites or default_suites()
    config = config.model_copy(update={"suites": suites})
    samples = _load_suites(config, store)
    warnings: list[str] = []
    prices, keys = {}, {}
    for i, model in enumerate(config.models):
        redaction.remember_url(model.api_base)
        locate = functools.partial(config.where, "models", i)
        _check_model_id(model, require_keys, locate)
        _check_thinking_budget(model, config.run.max_tokens, locate)
        keys[model.display] = _api_key(model, locate) if require_keys else None
        price = resolve_price(model)
        if not price.known:
            warnings.append(
                f"price of {model.id} is unknown: its cost is reported as unknown, not $0 "
                "(add price: {input: ..., output: ...} per 1M tokens to the model in the config)"
            )
        prices[model.display] = price
    if shard is not None:
        samples = shard.select(samples)
    return Plan(config=config, samples=samples, prices=prices, keys=keys, warnings=warnings, shard=shard)


def _load_suites(config: RunConfig, store: str | None = None) -> dict[str, list[Sample]]:
    """Every suite's samples; a missing file or an unknown suite names the config field."""
    samples = {}
    for i, suite in enumerate(config.suites):
        items = load_samples(suite, config.run, locate=functools.partial(config.where, "suites", i), store=store)
        if not items:
            raise UsageError(f"{config.where('suites', i)}: suite {suite.name} has no items")
        samples[suite.name] = items
    return samples


def _check_model_id(model: ModelConfig, require_keys: bool = True,
                    locate: Callable[..., str] | None = None) -> None:
    """Refuse an id litellm cannot route, or a provider whose key is not set; ``locate(field)``
    names the config field (or the flag) the model came from."""
    where = f"{locate('id')}: " if locate else ""
    if model.is_local:
        from evalkit.transport.local.server import LOCAL_VARIANTS

        variant = model.id.removeprefix("local/")
        if variant not in LOCAL_VARIANTS:
            raise UsageError(f"{where}unknown local model {model.id}; "
                             f"known: {', '.join('local/' + v for v in LOCAL_VARIANTS)}")
        return
    if not transport.transport_for(model.id).litellm_ids:
        return  # an added transport with ids of its own: litellm's model map does not know them
    if transport.provider_of(model.id) is None:
        import difflib

        close = difflib.get_close_matches(model.id, transport.known_chat_models(), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UsageError(
            f"{where}unknown model id '{model.id}': litellm cannot tell its provider; write it as "
            f"provider/model (e.g. deepseek/deepseek-chat, openai/gpt-4.1-mini).{hint} "
            "`evalkit models` lists known models"
        )
    route = routes.route_for(model.id)
    refusal = route.refusal(model.id.split("/", 1)[1]) if route.fast else None
    if refusal:
        raise UsageError(f"{where}model {model.id} {refusal}")
    if route.fast and route.endpoint(model.api_base) is None:
        where = " or ".join(route.api_base_env)
        raise UsageError(f"model {model.id} needs an endpoint: set api_base for it in the config"
                         + (f" (or {where} in the environment)" if where else ""))
    if require_keys and model.api_base is None and model.api_key_env is None:
        # a fast route reads the variables litellm's call reads (litellm's own check names
        # fewer for some providers: only HUGGINGFACE_API_KEY, where its call reads HF_TOKEN first)
        missing = ([" or ".join(route.key_env)] if route.key() is None else []) if route.fast and route.key_env \
            else transport.missing_keys(model.id)
        if missing:
            raise UsageError(f"{where}model {model.id} needs {', '.join(missing)} set in the environment")


def _check_thinking_budget(model: ModelConfig, max_tokens: int, locate: Callable[..., str]) -> None:
    """A thinking budget must leave room for the answer: the provider refuses the call
    (Anthropic: max_tokens must exceed budget_tokens), so evalkit refuses the config first."""
    budget = thinking.budget_tokens(model.thinking_params)
    if budget is not None and budget >= max_tokens:
        raise UsageError(f"{locate('thinking')}: thinking {model.thinking} gives {model.id} a thinking budget of "
                         f"{budget} tokens, and max_tokens ({max_tokens}) must be larger: raise run.max_tokens "
                         f"(--max-tokens) above {budget}, or choose a lower thinking effort")


def _api_key(model: ModelConfig, locate: Callable[..., str]) -> str | None:
    try:
        return resolve_api_key(model)
    except UsageError as error:
        field = ("api_key_env",) if model.api_key_env else ()
        raise UsageError(f"{locate(*field)}: {error}") from None
