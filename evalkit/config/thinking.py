"""A model's `thinking` setting and what each provider is sent for it.

Thinking models reason before they answer; most providers let a request turn that on or
off, or set its effort, each in its own spelling (`enable_thinking`, `thinking: {type:
enabled}`, `reasoning_effort`, a token budget, a chat-template switch). A config says it
once per model, ``thinking: on | off | <effort>``; `request_params` gives the parameters
that setting means for the model's provider, from `evalkit/data/thinking.yaml` (each
entry with its source and date), and raises `ThinkingRefused` with the reason where the
provider has no such switch, so the setting is refused at validation, before any call.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ON, OFF = "on", "off"

LABEL_SUFFIX = ":thinking"
"""Appended to the default label of a model with thinking on (``qwen3-max:thinking``), so the
same model with thinking on and off are two candidates of one run."""

_MODE_KEYS = {"on", "off", "efforts"}
_ENTRY_KEYS = _MODE_KEYS | {"models", "none", "litellm_extra_body", "source", "as_of"}


class ThinkingRefused(ValueError):
    """The provider (or the model) has no switch for the setting asked."""


@dataclass(frozen=True)
class Switches:
    """One provider's (or some models') switches: parameters, or why there is none."""

    on: dict[str, Any] | str | None = None
    off: dict[str, Any] | str | None = None
    efforts: dict[str, dict[str, Any]] | None = None

    def merged(self, override: Switches) -> Switches:
        """These switches with those the override names replacing them."""
        return Switches(
            on=override.on if override.on is not None else self.on,
            off=override.off if override.off is not None else self.off,
            efforts=override.efforts if override.efforts is not None else self.efforts,
        )


@dataclass(frozen=True)
class ProviderThinking:
    """One provider's entry of `evalkit/data/thinking.yaml`."""

    provider: str
    switches: Switches
    models: tuple[tuple[tuple[str, ...], Switches], ...] = ()
    none: str | None = None
    litellm_extra_body: bool = False
    """Through litellm the parameters go in ``extra_body``, which litellm sends as is."""
    source: str = ""
    as_of: str = ""

    def switches_for(self, model_name: str) -> Switches:
        lowered = model_name.lower()
        for patterns, override in self.models:
            if any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns):
                return self.switches.merged(override)
        return self.switches


def normalise(setting: Any) -> str | None:
    """The setting as evalkit keeps it: ``on``, ``off``, an effort, or None (not set).

    YAML reads an unquoted ``on``/``off`` as true/false: both spellings mean the same.
    """
    if setting is None:
        return None
    if isinstance(setting, bool):
        return ON if setting else OFF
    if not isinstance(setting, str) or not setting.strip():
        raise ThinkingRefused("thinking is on, off or an effort level such as low, medium or high")
    return setting.strip().lower()


def label_suffix(setting: str | None) -> str:
    """What a model's default label gets for its setting: nothing for off or unset."""
    if setting in (None, OFF):
        return ""
    return LABEL_SUFFIX if setting == ON else f"{LABEL_SUFFIX}-{setting}"


def is_thinking(setting: str | None) -> bool:
    """Whether the setting asks the model to think (on or an effort)."""
    return setting not in (None, OFF)


def request_params(model_id: str, setting: str) -> dict[str, Any]:
    """The request parameters `setting` means for this model; `ThinkingRefused` when none do."""
    provider, _, name = model_id.partition("/")
    entry = table().get(provider)
    if entry is None:
        raise ThinkingRefused(
            f"evalkit knows no thinking switch for provider {provider or model_id!r} "
            f"(evalkit/data/thinking.yaml names: {', '.join(sorted(table()))}); remove thinking, "
            "or set the provider's own parameter in params")
    if entry.none:
        raise ThinkingRefused(f"{entry.none}; remove thinking for {model_id}")
    switches = entry.switches_for(name)
    if setting in (ON, OFF):
        chosen = switches.on if setting == ON else switches.off
    else:
        efforts = switches.efforts or {}
        if setting not in efforts:
            known = ", ".join(efforts) if efforts else "none (use on or off)"
            raise ThinkingRefused(f"{model_id} takes no thinking effort {setting!r}; its efforts: {known}")
        chosen = efforts[setting]
    if isinstance(chosen, str):
        raise ThinkingRefused(f"{model_id}: {chosen}")
    if chosen is None:
        raise ThinkingRefused(f"{model_id} has no switch for thinking {setting} in evalkit/data/thinking.yaml")
    return copy.deepcopy(chosen)


def for_litellm(model_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The thinking parameters as litellm must be given them to send them as written."""
    entry = table().get(model_id.partition("/")[0])
    return {"extra_body": params} if params and entry is not None and entry.litellm_extra_body else params


def budget_tokens(params: dict[str, Any]) -> int | None:
    """The thinking budget a request asks for (Anthropic's ``thinking.budget_tokens``), if any."""
    spec = params.get("thinking")
    budget = spec.get("budget_tokens") if isinstance(spec, dict) else None
    return budget if isinstance(budget, int) else None


# --- the data file -------------------------------------------------------------------


@lru_cache(maxsize=1)
def table() -> dict[str, ProviderThinking]:
    from evalkit import data

    return {provider: _entry(provider, spec) for provider, spec in data.load("thinking.yaml").items()}


def _modes(spec: dict[Any, Any]) -> dict[str, Any]:
    """The entry with YAML's true/false keys (an unquoted ``on:``/``off:``) read as on/off."""
    return {(ON if key is True else OFF if key is False else key): value for key, value in spec.items()}


def _entry(provider: str, spec: dict[str, Any]) -> ProviderThinking:
    where = f"evalkit/data/thinking.yaml: {provider}"
    spec = _modes(spec)
    unknown = set(spec) - _ENTRY_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_ENTRY_KEYS)}")
    if not spec.get("source") or not spec.get("as_of"):
        raise ValueError(f"{where}: every entry needs its source and as_of")
    models = []
    for i, model in enumerate(spec.get("models") or ()):
        if not model.get("match"):
            raise ValueError(f"{where}: models[{i}] needs match patterns")
        models.append((tuple(model["match"]), _switches(_modes(model), f"{where}: models[{i}]")))
    return ProviderThinking(provider=provider, switches=_switches(spec, where), models=tuple(models),
                            none=spec.get("none"), litellm_extra_body=bool(spec.get("litellm_extra_body")),
                            source=spec["source"], as_of=str(spec["as_of"]))


def _switches(spec: dict[str, Any], where: str) -> Switches:
    for key in ("on", "off"):
        if key in spec and not isinstance(spec[key], (dict, str)):
            raise ValueError(f"{where}: {key} must be parameters (a mapping) or the reason there are none")
    efforts = spec.get("efforts")
    if efforts is not None and not all(isinstance(v, dict) for v in efforts.values()):
        raise ValueError(f"{where}: efforts maps each level to its parameters")
    return Switches(on=spec.get("on"), off=spec.get("off"), efforts=efforts)
