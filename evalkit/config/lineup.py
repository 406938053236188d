"""Which models a run compares: the default lineup from the environment, and key checks.

With no models named, evalkit runs one sensible model per provider whose API key is set,
plus the embedded local models. Keys stay in the environment: a model records only the
*name* of the variable that holds its key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from collections.abc import Mapping

import yaml

from evalkit.config.models import LOCAL_PREFIX, ModelConfig
from evalkit import redaction
from evalkit.errors import UsageError

DEFAULT_LOCAL_VARIANTS = ("smollm2-135m-q4_1", "smollm2-135m-q4_0")

NO_KEY_PLACEHOLDER = "no-key"
"""Sent to self-hosted endpoints that need no key, so no real key ever leaks to them."""


@dataclass(frozen=True)
class ProviderDefault:
    provider: str
    env: tuple[str, ...]
    model: str
    label: str

    @property
    def prefix(self) -> str:
        return self.model.split("/", 1)[0]


@lru_cache(maxsize=1)
def provider_defaults() -> tuple[ProviderDefault, ...]:
    text = resources.files("evalkit.data").joinpath("providers.yaml").read_text(encoding="utf-8")
    return tuple(
        ProviderDefault(provider=e["provider"], env=tuple(e["env"]), model=e["model"], label=e["label"])
        for e in yaml.safe_load(text)
    )


def local_models(variants: tuple[str, ...] = DEFAULT_LOCAL_VARIANTS) -> list[ModelConfig]:
    return [ModelConfig(id=f"{LOCAL_PREFIX}{variant}", label=variant) for variant in variants]


def default_models(env: Mapping[str, str] = os.environ) -> tuple[list[ModelConfig], list[str]]:
    """One model per provider with a key set, plus the local models; and what was found."""
    models, found = [], []
    for default in provider_defaults():
        key_env = next((name for name in default.env if env.get(name)), None)
        if key_env:
            models.append(ModelConfig(id=default.model, label=default.label, api_key_env=key_env))
            found.append(f"{default.provider} ({key_env})")
    return models + local_models(), found


def all_key_names() -> list[str]:
    return [name for default in provider_defaults() for name in default.env]


def key_env_for(model: ModelConfig, env: Mapping[str, str] = os.environ) -> str | None:
    """The environment variable that holds this model's key, or None if it needs none."""
    if model.api_key_env:
        return model.api_key_env
    if model.is_local or model.api_base:
        return None
    from evalkit.config.routes import route_for

    prefix = model.id.split("/", 1)[0]
    candidates = [name for d in provider_defaults() if d.prefix == prefix for name in d.env]
    # then the variables litellm reads for the provider: the fast path reads the same ones
    candidates += [name for name in route_for(model.id).key_env if name not in candidates]
    return next((name for name in candidates if env.get(name)), candidates[0] if candidates else None)


def resolve_api_key(model: ModelConfig, env: Mapping[str, str] = os.environ) -> str | None:
    """The key to send, or a UsageError naming the variable to set."""
    name = key_env_for(model, env)
    if name is None:
        return NO_KEY_PLACEHOLDER if model.api_base else None
    value = env.get(name)
    redaction.remember(value)
    if not value:
        raise UsageError(
            f"model {model.id} needs an API key: set the {name} environment variable "
            f"(or name another one with api_key_env in the config)"
        )
    return value
