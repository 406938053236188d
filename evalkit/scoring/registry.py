"""The scorer registry: what a scorer is, what it declares, and the checks made with it.

A scorer family is one module of this package that registers its scorers when imported:
the `scorer` decorator for a pure function, `register` for an entry made by hand (an
async scorer). Every entry carries its own reference check, so no scorer falls back on
a check written for another. The registry imports the modules of this package the first
time it is asked for a scorer, so a new family is one file and no list names it.

Scorer names are a contract with suites, stored configs and reports: a name, once
shipped, keeps its meaning.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from evalkit.errors import EvalkitError, UsageError


@dataclass(frozen=True)
class Score:
    """The verdict on one reply."""

    value: float
    """In [0, 1]: 1 is fully correct; fractions are partial credit (fields, constraints)."""
    extracted: str | None
    """What the scorer pulled out of the reply (number, letter, label, JSON), so a report
    can show why an item was marked wrong; None when nothing could be extracted."""
    detail: str = ""
    """Short human reason when the reply is not fully correct."""
    run_s: float | None = None
    """Wall seconds the scorer spent running the reply's code (the `code` scorer's tests);
    None for a scorer that runs nothing."""
    sandbox: str | None = None
    """The isolation that code ran under; None for a scorer that runs nothing."""


Scorer = Callable[..., Score]
"""``(response: str, reference, **options) -> Score``: a pure scorer."""

ReferenceCheck = Callable[[Any, dict[str, Any]], "str | None"]
"""``(reference, options) -> problem or None``: what the reference should have been, as
the end of "reference for scorer X ..." ("must be a string"); None when it is fine."""


@dataclass(frozen=True)
class OptionSpec:
    """What one keyword option of a scorer accepts (an entry of ``scorer_options``)."""

    expects: str
    """What a valid value looks like, in words, for error messages."""
    ok: Callable[[Any], bool]
    required: bool = False
    why: Callable[[Any], str] | None = None
    """Optional explanation of why a value was rejected (e.g. the regex compile error)."""


@dataclass
class Judgement:
    """What the model an async scorer asked said about one reply, and what asking it cost.

    The runner stores it in the record's ``judge_*`` fields, never in the tested model's
    tokens or cost."""

    score: Score
    model: str
    rubric: str
    verdict: str
    """The model's raw reply (an async scorer that asks twice may store both as JSON)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None


class JudgeError(EvalkitError):
    """An async scorer's model could not be asked or gave no usable verdict; the item
    becomes an error of class ``judge``, not a wrong answer."""


class AsyncScorer(Protocol):
    """A scorer that asks a model, set up for one item from its scorer options."""

    @property
    def model(self) -> str:
        """The model asked (stored as ``judge_model``)."""
        ...

    @property
    def rubric(self) -> str:
        """What the model grades against ('' for none; stored as ``judge_rubric``)."""
        ...

    async def grade(self, question: str, response: str, reference: Any, timeout: float) -> Judgement:
        """Ask the model about one reply; raise `JudgeError` when it gives no usable verdict."""
        ...


@dataclass(frozen=True)
class ScorerEntry:
    """One registered scorer and everything the rest of evalkit needs to know about it."""

    name: str
    check_reference: ReferenceCheck
    """Checks a sample's reference before any call; every scorer has its own."""
    score: Scorer | None = None
    """The pure scorer; None for an async one."""
    options: Mapping[str, OptionSpec] = field(default_factory=dict)
    """The keyword options it accepts; any other is refused before any call."""
    compares_text: bool = False
    """It compares text, so a reference a CSV cell writes as "1.50" or "007" stays a string."""
    async_scorer: Callable[[dict[str, Any]], AsyncScorer] | None = None
    """For a scorer that asks a model: builds it from the item's options. The runner
    awaits it right after the call under test succeeds."""
    response_format: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
    """For a scorer that checks a structure: the request's `response_format` (OpenAI's
    structured-output mode) built from the item's options, sent when a model's
    `structured_output` is `schema`; None: the scorer has no such mode."""
    reads_tool_calls: bool = False
    """It checks the function calls a reply made, not only its text: it is handed the reply
    as a JSON object (`reply_json`) instead of the text alone."""
    runs_code: bool = False
    """It runs the reply as a program, which takes seconds: the runner scores it in a
    worker thread, off the event loop, and stores the time as the record's `tests_s`."""

    @property
    def is_async(self) -> bool:
        return self.async_scorer is not None


class ScoredItem(Protocol):
    """What scoring needs of an item (a suite's `Sample` is one)."""

    @property
    def scorer(self) -> str: ...

    @property
    def reference(self) -> Any: ...

    @property
    def scorer_options(self) -> dict[str, Any]: ...


_ENTRIES: dict[str, ScorerEntry] = {}
_loaded = False


def register(entry: ScorerEntry) -> ScorerEntry:
    """Add a scorer; a name registered twice is a programming error, not a replacement."""
    if entry.name in _ENTRIES:
        raise ValueError(f"scorer {entry.name!r} is already registered")
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a scorer (for tests that register their own)."""
    del _ENTRIES[name]


_F = TypeVar("_F", bound=Scorer)


def scorer(name: str, *, reference: ReferenceCheck, options: Mapping[str, OptionSpec] | None = None,
           compares_text: bool = False,
           response_format: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
           reads_tool_calls: bool = False) -> Callable[[_F], _F]:
    """Register the decorated function as the pure scorer `name`."""

    def decorate(func: _F) -> _F:
        register(ScorerEntry(name, reference, func, dict(options or {}), compares_text,
                             response_format=response_format, reads_tool_calls=reads_tool_calls))
        return func

    return decorate


def _load_families() -> None:
    # Every module of this package is a family that registers itself on import.
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"{__package__}.{module.name}")


def scorers() -> dict[str, ScorerEntry]:
    """Every registered scorer by name."""
    _load_families()
    return dict(_ENTRIES)


def find_scorer(name: str) -> ScorerEntry | None:
    _load_families()
    return _ENTRIES.get(name)


def get_scorer(name: str) -> ScorerEntry:
    """The scorer `name`; `UsageError` with a suggestion when there is none."""
    entry = find_scorer(name)
    if entry is None:
        raise UsageError(f"unknown scorer {name!r}" + did_you_mean(str(name), list(_ENTRIES), "Known"))
    return entry


# ---------------------------------------------------------------------------
# Checks made before any paid call


def did_you_mean(word: str, known: list[str], what: str) -> str:
    """"; did you mean 'x'? Known: a, b" (or "; known: a, b" when nothing is close)."""
    close = difflib.get_close_matches(word, known, n=1)
    listing = ", ".join(sorted(known)) or "none"
    if close:
        return f"; did you mean {close[0]!r}? {what}: {listing}"
    return f"; {what.lower()}: {listing}"


def check_scorer(name: str, options: dict[str, Any]) -> None:
    """Raise `UsageError` for an unknown scorer, or unknown, missing or ill-typed options."""
    entry = get_scorer(name)
    if not isinstance(options, dict):
        raise UsageError(f"scorer_options for scorer {name!r} must be an object such as {{}}, got {options!r}")
    accepted = entry.options
    for key, value in options.items():
        if key not in accepted:
            raise UsageError(f"scorer {name!r} has no option {key!r}" + did_you_mean(key, list(accepted), "Options"))
        option = accepted[key]
        if not option.ok(value):
            reason = f" ({option.why(value)})" if option.why else ""
            raise UsageError(f"option {key!r} of scorer {name!r} must be {option.expects}, got {value!r}{reason}")
    for key, option in accepted.items():
        if option.required and key not in options:
            raise UsageError(f"scorer {name!r} needs option {key!r}: {option.expects}")


def check_reference(name: str, reference: Any, options: dict[str, Any] | None = None) -> None:
    """Raise `UsageError` when `reference` is not what scorer `name` expects, given its
    `options` (a `choice` or `label` reference must be one of the choices or labels)."""
    options = options or {}
    check_scorer(name, options)
    problem = get_scorer(name).check_reference(reference, options)
    if problem is None:
        return
    # "must be ..." is about the whole reference, so it is shown; a problem with one part
    # of it ("has unknown constraint 'x'") names that part itself.
    got = f", got {reference!r}" if problem.startswith("must") else ""
    raise UsageError(f"reference for scorer {name!r} {problem}{got}")


def reply_json(text: str, tool_calls: list[dict[str, Any]] | None, tools: Any = None) -> str:
    """What a scorer that `reads_tool_calls` is handed: the reply's text, the calls it made
    (``{"id", "name", "arguments"}``, arguments as the model wrote them) and the tools the
    request offered (None when it offered none), as one JSON object."""
    return json.dumps({"text": text, "tool_calls": tool_calls or [], "tools": tools}, ensure_ascii=False)


def scorer_input(text: str, tool_calls: list[dict[str, Any]] | None, item: ScoredItem, tools: Any = None) -> str:
    """The response `score_item` is given for this item's scorer: the text, or for a scorer
    that reads tool calls the whole reply (`reply_json`)."""
    return reply_json(text, tool_calls, tools) if get_scorer(item.scorer).reads_tool_calls else text


def score_item(response: str | None, item: ScoredItem) -> Score:
    """Score one reply to `item` with a pure scorer; a missing reply (failed call) scores 0."""
    if response is None:
        return Score(0.0, None, "no response")
    entry = get_scorer(item.scorer)
    if entry.score is None:
        raise UsageError(f"scorer {item.scorer!r} calls a model; the runner awaits it")
    return entry.score(response, item.reference, **item.scorer_options)


# ---------------------------------------------------------------------------
# Value checks the families share


def is_number(value: Any) -> bool:
    # bool is an int subclass, but `true` is never meant as a tolerance or a count.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def is_text(value: Any) -> bool:
    """A string with something other than whitespace in it."""
    return isinstance(value, str) and bool(value.strip())


def any_reference(reference: Any, options: dict[str, Any]) -> str | None:
    """The reference check of a scorer whose reference is only shown in reports."""
    return None


TOLERANCE = OptionSpec("a number >= 0", lambda v: is_number(v) and v >= 0)
FLAG = OptionSpec("true or false", lambda v: isinstance(v, bool))
