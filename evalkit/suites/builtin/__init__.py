"""The built-in generated suites: one module each, and the conventions every generator follows.

Built-in suites are generated from a seed instead of being stored, so their items cannot
have leaked into a model's training data and a suite can be made as large as a
comparison needs. The conventions shared by the generators live here:

- item ``i`` is drawn from its own random stream, so it does not depend on ``n``;
- with no difficulty asked for, levels 1..5 are spread evenly over the items;
- ids are ``<suite>-<i+1>`` zero-padded, e.g. ``arithmetic-0001``, ``arithmetic-zh-0001``.

A suite module writes ``build(rng, level, language) -> Item`` and registers it with
`register_generated` (its description, languages, sizes); `evalkit.suites.registry`
imports every module of this package when a suite is first asked for.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from evalkit.errors import UsageError
from evalkit.suites.base import Sample
from evalkit.suites.environment import ToolEnvironment
from evalkit.suites.registry import get_builtin, register_suite

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
    params: dict[str, Any] = field(default_factory=dict)
    """Request parameters of the item (the ``tools`` it offers and its ``tool_choice``)."""
    environment: ToolEnvironment | None = None
    """The tools evalkit runs for a multi-turn task (`evalkit.suites.environment`)."""


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
        params=item.params,
        environment=item.environment,
    )


def _check_arguments(base: str, n: int, language: str, difficulty: int | None) -> None:
    if not isinstance(n, int) or n < 0:
        raise UsageError(f"suite {base}: size must be a whole number >= 0, got {n!r}")
    if language not in LANGUAGES:
        raise UsageError(f"suite {base}: language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    if difficulty is not None and difficulty not in LEVELS:
        raise UsageError(f"suite {base}: difficulty must be 1 to 5 (or left out for a mix), got {difficulty!r}")


@dataclass(frozen=True)
class GeneratedSuite:
    """A built-in suite in one language, generated item by item (an `evalkit.suites.registry.Suite`)."""

    name: str
    """Registry key, also the ``suite`` of its samples (``arithmetic``, ``arithmetic-zh``, ...)."""
    description: str
    language: str
    generate: SuiteGenerator
    """``generate(n, seed, difficulty=None) -> list[Sample]`` with the language bound."""
    default_size: int
    """Items used when a run does not say how many; a multiple of 5 so levels stay balanced."""
    typical_answer_tokens: int
    """How long a capable model's answer usually is, for `evalkit estimate`."""
    order: int
    """Where it comes in listings and in a run of the default suites (lower first)."""
    by_default: bool = True
    """A run that names no suites runs it; False for a suite that runs code (``coding``)."""


_LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


def register_generated(base: str, build: ItemBuilder, *, description: str, typical_answer_tokens: int,
                       default_size: int = 50, languages: tuple[str, ...] = LANGUAGES,
                       order: int = 100, by_default: bool = True) -> list[GeneratedSuite]:
    """Register suite `base` in each of `languages` (``base``, ``base-zh``), its items made by
    `build`; `description` is one line, to which the language is added."""
    suites = []
    for language in languages:
        name = suite_name(base, language)
        suite = GeneratedSuite(
            name=name,
            description=f"{description} ({_LANGUAGE_NAMES[language]})",
            language=language,
            generate=_bound(base, build, language),
            default_size=default_size,
            typical_answer_tokens=typical_answer_tokens,
            order=order,
            by_default=by_default,
        )
        register_suite(suite)
        suites.append(suite)
    return suites


def _bound(base: str, build: ItemBuilder, language: str) -> SuiteGenerator:
    def generate(n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
        return generate_samples(base, build, n, seed, language, difficulty)

    return generate


def generate_builtin(name: str, n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
    """Generate ``n`` items of the built-in suite ``name``."""
    return get_builtin(name).generate(n, seed, difficulty=difficulty)
