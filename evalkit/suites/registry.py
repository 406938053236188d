"""The built-in suite registry: what a built-in suite is, and where each is found by name.

A built-in suite is one module of `evalkit.suites.builtin` that registers itself when
imported (most through `evalkit.suites.builtin.register_generated`). The registry imports
the modules of that package the first time it is asked for a suite, so a new suite is
one file and no list names it. Listing stays cheap: generating items is left to each
suite's `generate`.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
import pkgutil
from pathlib import Path
from typing import Protocol

from evalkit.errors import UsageError
from evalkit.suites.base import Sample


class Suite(Protocol):
    """A built-in suite: items generated from a seed, in one language."""

    @property
    def name(self) -> str:
        """How it is asked for (``-s NAME``), and the ``suite`` of its samples."""
        ...

    @property
    def description(self) -> str:
        """One line for `evalkit suites`."""
        ...

    @property
    def language(self) -> str:
        """``en`` or ``zh``: the language its items are written in."""
        ...

    @property
    def default_size(self) -> int:
        """Items used when a run does not say how many."""
        ...

    @property
    def typical_answer_tokens(self) -> int:
        """How long a capable model's answer usually is: the middle of `evalkit estimate`'s range."""
        ...

    @property
    def order(self) -> int:
        """Where it comes in listings and in a run of the default suites (lower first)."""
        ...

    @property
    def in_default_run(self) -> bool:
        """Whether a run that names no suite includes it."""
        ...

    def generate(self, n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
        """``n`` items; the same arguments always give the same items."""
        ...


_SUITES: dict[str, tuple[int, Suite]] = {}
"""Name -> (registration number, suite): suites of equal `order` keep registration order."""
_counter = itertools.count()
_loaded = False


def register_suite(suite: Suite) -> Suite:
    """Add a built-in suite; a name registered twice is a programming error."""
    if suite.name in _SUITES:
        raise ValueError(f"built-in suite {suite.name!r} is already registered")
    _SUITES[suite.name] = (next(_counter), suite)
    return suite


def unregister_suite(name: str) -> None:
    """Remove a suite (for tests that register their own)."""
    del _SUITES[name]


def _load_builtins() -> None:
    # Every module of evalkit.suites.builtin registers its suites on import.
    global _loaded
    if _loaded:
        return
    _loaded = True
    package = "evalkit.suites.builtin"
    for module in pkgutil.iter_modules([str(Path(__file__).parent / "builtin")]):
        importlib.import_module(f"{package}.{module.name}")


def builtin_suites() -> dict[str, Suite]:
    """Every built-in suite by name, in listing order."""
    _load_builtins()
    ranked = sorted(_SUITES.values(), key=lambda entry: (entry[1].order, entry[0]))
    return {suite.name: suite for _, suite in ranked}


def get_builtin(name: str) -> Suite:
    """The built-in suite `name`; `UsageError` with a suggestion when there is none."""
    suites = builtin_suites()
    if name not in suites:
        close = difflib.get_close_matches(name, suites, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UsageError(f"unknown built-in suite {name!r}.{hint} Known: {', '.join(suites)}")
    return suites[name]


def typical_answer_tokens(suite_name: str) -> int | None:
    """The typical answer length of a built-in suite's items; None for any other suite."""
    _load_builtins()
    entry = _SUITES.get(suite_name)
    return entry[1].typical_answer_tokens if entry else None
