"""The one lookup of a model's API key: which variable holds it, and its value.

Keys stay in the environment: a model records only the *name* of the variable that holds
its key, and every key read here is remembered for redaction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from evalkit import redaction
from evalkit.config.lineup import provider_defaults
from evalkit.config.models import ModelConfig
from evalkit.errors import UsageError

NO_KEY_PLACEHOLDER = "no-key"
"""Sent to self-hosted endpoints that need no key, so no real key ever leaks to them."""


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
