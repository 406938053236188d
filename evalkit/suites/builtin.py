"""The built-in generated suites: their registry, and the conventions every generator follows.

Built-in suites are generated from a seed instead of being stored, so their items cannot
have leaked into a model's training data and a suite can be made as large as a
comparison needs. The conventions shared by the generators live here:

- item ``i`` is drawn from its own random stream, so it does not depend on ``n``;
- with no difficulty asked for, levels 1..5 are spread evenly over the items;
- ids are ``<suite>-<i+1>`` zero-padded, e.g. ``arithmetic-0001``, ``arithmetic-zh-0001``.

The suite modules import these helpers; this module imports a suite module only when
its suite is generated, so listing the registry stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from evalkit.errors import UsageError
from evalkit.suites.base import Sample

LANGUAGES = ("en", "zh")
LEVELS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Item:
    """What a suite generator builds for one index; `generate_samples` makes it a `Sample`."""

    prompt: str
    """The single user message."""
    reference: Any
    scorer: str
    template: str
    """Template id; items sharing it are correlated, so it becomes the sample's cluster."""
    scorer_options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    """Suite-specific facts (the expression, the fields, ...); difficulty and language are added."""


ItemBuilder = Callable[[random.Random, int, str], Item]
"""``build(rng, level, language) -> Item``: one suite's item for one index."""


class SuiteGenerator(Protocol):
    """A suite's ``generate`` with the language already bound."""

    def __call__(self, n: int, seed: int, difficulty: int | None = None) -> list[Sample]: ...


def suite_name(base: str, language: str) -> str:
    """``arithmetic`` for English, ``arithmetic-zh`` for Chinese."""
    return base if language == "en" else f"{base}-{language}"


def level_for(index: int, difficulty: int | None) -> int:
    """The level of item ``index``: the asked one, or a cycle 1..5 so any n is spread evenly."""
    if difficulty is not None:
        return difficulty
    return LEVELS[index % len(LEVELS)]


def item_rng(suite: str, seed: int, index: int) -> random.Random:
    """The random stream of one item; string seeds are hashed stably across processes."""
    return random.Random(f"{suite}:{seed}:{index}")


def generate_samples(
    base: str,
    build: ItemBuilder,
    n: int,
    seed: int,
    language: str,
    difficulty: int | None,
) -> list[Sample]:
    """Build ``n`` samples of suite ``base`` in ``language``, deterministically from ``seed``."""
    _check_arguments(base, n, language, difficulty)
    suite = suite_name(base, language)
    samples = []
    for index in range(n):
        level = level_for(index, difficulty)
        item = build(item_rng(suite, seed, index), level, language)
        samples.append(_to_sample(suite, index, item, level, language))
    return samples


def _to_sample(suite: str, index: int, item: Item, level: int, language: str) -> Sample:
    return Sample(
        id=f"{suite}-{index + 1:04d}",
        suite=suite,
        messages=({"role": "user", "content": item.prompt},),
        reference=item.reference,
        scorer=item.scorer,
        scorer_options=item.scorer_options,
        cluster=f"{suite}:{item.template}",
        metadata={**item.metadata, "difficulty": level, "language": language, "template": item.template},
    )


def _check_arguments(base: str, n: int, language: str, difficulty: int | None) -> None:
    if not isinstance(n, int) or n < 0:
        raise UsageError(f"suite {base}: size must be a whole number >= 0, got {n!r}")
    if language not in LANGUAGES:
        raise UsageError(f"suite {base}: language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    if difficulty is not None and difficulty not in LEVELS:
        raise UsageError(f"suite {base}: difficulty must be 1 to 5 (or left out for a mix), got {difficulty!r}")


@dataclass(frozen=True)
class BuiltinSuite:
    """One entry of the registry: a generated suite in one language."""

    name: str
    """Registry key, also the ``suite`` of its samples (``arithmetic``, ``arithmetic-zh``, ...)."""
    description: str
    language: str
    generate: SuiteGenerator
    """``generate(n, seed, difficulty=None) -> list[Sample]`` with the language bound."""
    default_size: int
    """Items used when a run does not say how many; a multiple of 5 so levels stay balanced."""


def _bound(module: str, language: str) -> SuiteGenerator:
    # Imported on first use: the registry must be listable without building every generator.
    def generate(n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
        suite_module = importlib.import_module(f"evalkit.suites.{module}")
        return suite_module.generate(n, seed, language=language, difficulty=difficulty)

    return generate


_DESCRIPTIONS = {
    "arithmetic": ("Multi-step arithmetic word problems; exact numeric answer.", 50),
    "extraction": ("Invoices in varied layouts; extract named fields as JSON.", 50),
    "classification": ("Customer support tickets; pick one label of six.", 50),
    "instructions": ("Writing tasks with verifiable constraints (length, format, keywords).", 50),
}
_LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


def _registry() -> dict[str, BuiltinSuite]:
    suites = {}
    for module, (description, size) in _DESCRIPTIONS.items():
        for language in LANGUAGES:
            name = suite_name(module, language)
            suites[name] = BuiltinSuite(
                name=name,
                description=f"{description} ({_LANGUAGE_NAMES[language]})",
                language=language,
                generate=_bound(module, language),
                default_size=size,
            )
    return suites


BUILTIN_SUITES: dict[str, BuiltinSuite] = _registry()


def generate_builtin(name: str, n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
    """Generate ``n`` items of the built-in suite ``name`` (see `BUILTIN_SUITES`)."""
    suite = BUILTIN_SUITES.get(name)
    if suite is None:
        raise UsageError(_unknown_suite_message(name))
    return suite.generate(n, seed, difficulty=difficulty)


def _unknown_suite_message(name: str) -> str:
    close = difflib.get_close_matches(name, BUILTIN_SUITES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown built-in suite {name!r}.{hint} Known: {', '.join(BUILTIN_SUITES)}"
