"""Which models a run compares when none are named: the default lineup.

With no models named, evalkit runs one sensible model per provider whose API key is set
(`evalkit/data/providers.yaml`), plus the embedded local models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from evalkit import data
from evalkit.config.models import LOCAL_PREFIX, ModelConfig

DEFAULT_LOCAL_VARIANTS = ("smollm2-135m-q4_1", "smollm2-135m-q4_0")

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
    return tuple(
        ProviderDefault(provider=e["provider"], env=tuple(e["env"]), model=e["model"], label=e["label"])
        for e in data.load("providers.yaml")
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
