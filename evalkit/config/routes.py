"""Which route each provider's calls take, where they go, and how their parameters are spelled.

A model id names its provider before the first "/" (``deepseek/deepseek-chat``). Every
provider whose API is OpenAI's chat-completions API takes the fast path
(`evalkit.transport.fast_path`); the others go through litellm, in a worker process per model
(`evalkit.transport.worker`). The facts behind that — endpoint, the variables that hold the
endpoint and the key, the provider's spelling of the parameters evalkit sends — are data,
`evalkit/data/routes.yaml`, each entry with its source and date, checked against litellm's
own resolution by tests/test_routes.py. Deciding a route imports neither litellm nor
anything heavy: a run whose models all take the fast path needs litellm for none of its calls.
"""

from __future__ import annotations

import fnmatch
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

FAST, LITELLM = "fast", "litellm"

TRANSPORT_ENV = "EVALKIT_TRANSPORT"
"""Set to `litellm` to send every call through litellm, fast-path providers included."""

STREAM_OPTIONS = {"include_usage": True}
"""Asked of every streamed call: usage in the last chunk."""

_RULE_KEYS = {"drop", "rename", "temperature_max", "temperature_only"}
_ROUTE_KEYS = {"route", "api_base", "api_base_env", "bare_origin", "v1_path", "key_env", "body", "params", "models",
               "model_names", "unsupported", "why", "source", "as_of"}
CHAT_PATH = "/chat/completions"


@dataclass(frozen=True)
class ParamRules:
    """How one provider (or some of its models) takes the parameters evalkit sends."""

    drop: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    temperature_max: float | None = None
    temperature_only: float | None = None
    """The one temperature the model accepts; any other is left out (the model's default)."""

    def apply(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = {self.rename.get(name, name): value for name, value in params.items() if name not in self.drop}
        temperature = out.get("temperature")
        if temperature is not None:
            if self.temperature_only is not None and temperature != self.temperature_only:
                del out["temperature"]
            elif self.temperature_max is not None and temperature > self.temperature_max:
                out["temperature"] = self.temperature_max
        return out


@dataclass(frozen=True)
class Route:
    """One provider's route, as `evalkit/data/routes.yaml` gives it."""

    provider: str
    transport: str = LITELLM
    api_base: str | None = None
    api_base_env: tuple[str, ...] = ()
    bare_origin: tuple[tuple[str, ...], str] | None = None
    """(host patterns, path): an endpoint on such a host given without a path gets the path."""
    v1_path: bool = False
    """An endpoint whose path does not end in /v1 gets /v1 (one ending in /chat/completions is
    taken as that endpoint), as litellm completes this provider's endpoints."""
    key_env: tuple[str, ...] = ()
    body: Mapping[str, Any] = field(default_factory=dict)
    params: ParamRules = ParamRules()
    models: tuple[tuple[tuple[str, ...], ParamRules], ...] = ()
    model_names: tuple[tuple[tuple[str, ...], str], ...] = ()
    """(patterns, prefix): the first entry one of whose patterns fits the model name puts its
    prefix before the name the request carries, as litellm resolves this provider's names."""
    unsupported: tuple[tuple[tuple[str, ...], str], ...] = ()
    """(patterns, why and what to write instead): model names this route cannot send as litellm would."""
    why: str | None = None
    source: str | None = None
    as_of: str | None = None

    @property
    def fast(self) -> bool:
        return self.transport == FAST

    def endpoint(self, api_base: str | None = None, env: Mapping[str, str] = os.environ) -> str | None:
        """Where calls go: the configured api_base, else the provider's variable, else its default."""
        base = api_base or next((env[name] for name in self.api_base_env if env.get(name)), None)
        if base is None:
            return self.api_base
        if self.v1_path:
            base = base.rstrip("/")
            return base.removesuffix(CHAT_PATH) if base.endswith(CHAT_PATH) else base.removesuffix("/v1") + "/v1"
        if self.bare_origin is not None:
            hosts, path = self.bare_origin
            parts = urllib.parse.urlsplit(base)
            host = (parts.hostname or "").lower()
            if parts.path in ("", "/") and any(fnmatch.fnmatchcase(host, pattern) for pattern in hosts):
                return base.rstrip("/") + path
        return base

    def key(self, env: Mapping[str, str] = os.environ) -> str | None:
        """The key litellm would read from the environment for this provider."""
        return next((env[name] for name in self.key_env if env.get(name)), None)

    def called_name(self, model_name: str) -> str:
        """The model name a request carries: the provider's resource name where it has one."""
        for patterns, prefix in self.model_names:
            if any(fnmatch.fnmatchcase(model_name, pattern) for pattern in patterns):
                return prefix + model_name
        return model_name

    def refusal(self, model_name: str) -> str | None:
        """Why this route cannot call the model as named (and what to write instead), or None."""
        return next((why for patterns, why in self.unsupported
                     if any(fnmatch.fnmatchcase(model_name, pattern) for pattern in patterns)), None)

    def rules_for(self, model_name: str) -> ParamRules:
        lowered = model_name.lower()
        for patterns, rules in self.models:
            if any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in patterns):
                return rules
        return self.params


def provider_prefix(model_id: str) -> str:
    return model_id.split("/", 1)[0] if "/" in model_id else ""


def route_for(model_id: str) -> Route:
    """The route of a model id's provider; a provider the data does not name goes through litellm."""
    prefix = provider_prefix(model_id)
    return routes().get(prefix) or Route(provider=prefix)


def takes_fast_path(model_id: str) -> bool:
    """Whether calls to this model go out on the fast path (`EVALKIT_TRANSPORT=litellm`: none do)."""
    return route_for(model_id).fast and os.environ.get(TRANSPORT_ENV, "auto").lower() != LITELLM


@lru_cache(maxsize=256)
def _rules(model_id: str) -> tuple[str, ParamRules, tuple[tuple[str, Any], ...]]:
    route = route_for(model_id)
    name = model_id.split("/", 1)[1] if "/" in model_id else model_id
    return route.called_name(name), route.rules_for(name), tuple(route.body.items())


def request_body(model_id: str, messages: list[dict[str, str]], params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of one streamed call, in the provider's spelling."""
    name, rules, extra = _rules(model_id)
    return {
        "model": name,
        "messages": messages,
        "stream": True,
        **dict(extra),
        **rules.apply({"stream_options": STREAM_OPTIONS, **params}),
    }


# --- the data file -------------------------------------------------------------------


@lru_cache(maxsize=1)
def routes() -> dict[str, Route]:
    from evalkit import data

    return {provider: _route(provider, entry) for provider, entry in data.load("routes.yaml").items()}


def _route(provider: str, entry: dict[str, Any]) -> Route:
    where = f"evalkit/data/routes.yaml: {provider}"
    unknown = set(entry) - _ROUTE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_ROUTE_KEYS)}")
    if entry.get("route") not in (FAST, LITELLM):
        raise ValueError(f"{where}: route must be {FAST} or {LITELLM}, not {entry.get('route')!r}")
    if not entry.get("source") or not entry.get("as_of"):
        raise ValueError(f"{where}: every entry needs its source and as_of")
    models = tuple((tuple(m["match"]), _rules_of(m.get("params") or {}, f"{where}: models"))
                   for m in entry.get("models") or ())
    model_names = tuple((tuple(m["match"]), m["prefix"])
                        for m in _entries(entry, "model_names", {"match", "prefix"}, where))
    unsupported = tuple((tuple(m["match"]), m["why"]) for m in _entries(entry, "unsupported", {"match", "why"}, where))
    return Route(
        provider=provider, transport=entry["route"], api_base=entry.get("api_base"),
        api_base_env=tuple(entry.get("api_base_env") or ()), bare_origin=_bare_origin(entry.get("bare_origin"), where),
        v1_path=bool(entry.get("v1_path")), key_env=tuple(entry.get("key_env") or ()),
        body=dict(entry.get("body") or {}),
        params=_rules_of(entry.get("params") or {}, where), models=models, model_names=model_names,
        unsupported=unsupported,
        why=entry.get("why"), source=entry["source"], as_of=str(entry["as_of"]),
    )


def _rules_of(spec: dict[str, Any], where: str) -> ParamRules:
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown parameter rule(s) {sorted(unknown)}; known: {sorted(_RULE_KEYS)}")
    return ParamRules(drop=tuple(spec.get("drop") or ()), rename=dict(spec.get("rename") or {}),
                      temperature_max=spec.get("temperature_max"), temperature_only=spec.get("temperature_only"))


def _entries(entry: dict[str, Any], key: str, fields: set[str], where: str) -> list[dict[str, Any]]:
    items = entry.get(key) or []
    for item in items:
        if set(item) != fields:
            raise ValueError(f"{where}: each entry of {key} needs exactly {', '.join(sorted(fields))}")
    return items


def _bare_origin(spec: dict[str, Any] | None, where: str) -> tuple[tuple[str, ...], str] | None:
    if spec is None:
        return None
    if set(spec) != {"hosts", "path"}:
        raise ValueError(f"{where}: bare_origin needs exactly hosts and path")
    return tuple(spec["hosts"]), spec["path"]
