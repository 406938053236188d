"""The `constraints` scorer: the fraction of a reference's verifiable instructions a reply
satisfies (length, keywords, format, bullets, paragraphs, opening and closing phrase).

`CONSTRAINTS` is the list of keys a reference may use; the built-in ``instructions``
suites draw theirs from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UsageError
from evalkit.scoring.json_fields import load_object
from evalkit.scoring.registry import Score, did_you_mean, is_str_list, is_text, scorer
from evalkit.scoring.text import CJK, fold

_BULLET = re.compile(r"^[-*] ")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _cjk_count(text: str) -> int:
    return len(CJK.findall(text))


def _is_json_object_reply(text: str) -> bool:
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text.strip(), re.DOTALL | re.IGNORECASE)
    return load_object(fenced.group(1) if fenced else text) is not None


def _cased_letters(text: str) -> list[str]:
    return [c for c in text if c.upper() != c.lower()]


_FORMATS: dict[str, Callable[[str], bool]] = {
    "json_object": _is_json_object_reply,
    "bullets": lambda t: bool(_lines(t)) and all(_BULLET.match(line) for line in _lines(t)),
    "numbered": lambda t: bool(_lines(t))
    and all(line.startswith(f"{i}.") for i, line in enumerate(_lines(t), start=1)),
    "uppercase": lambda t: bool(_cased_letters(t)) and all(c.isupper() for c in _cased_letters(t)),
    "lowercase": lambda t: bool(_cased_letters(t)) and all(c.islower() for c in _cased_letters(t)),
}


def _check_bound(measure: Callable[[str], int], unit: str, at_least: bool) -> Callable[[str, Any], str | None]:
    def check(text: str, limit: int) -> str | None:
        count = measure(text)
        if (count >= limit) if at_least else (count <= limit):
            return None
        return f"{count} {unit}, {'minimum' if at_least else 'maximum'} {limit}"

    return check


def _check_includes(text: str, needles: list[str]) -> str | None:
    missing = [n for n in needles if fold(n, False) not in fold(text, False)]
    return f"missing {', '.join(repr(m) for m in missing)}" if missing else None


def _check_excludes(text: str, needles: list[str]) -> str | None:
    present = [n for n in needles if fold(n, False) in fold(text, False)]
    return f"contains {', '.join(repr(p) for p in present)}" if present else None


def _check_count(measure: Callable[[str], int], unit: str) -> Callable[[str, Any], str | None]:
    def check(text: str, wanted: int) -> str | None:
        count = measure(text)
        return None if count == wanted else f"{count} {unit}, wanted {wanted}"

    return check


def _check_end(text: str, wanted: str, at_start: bool) -> str | None:
    # Case-sensitive on purpose: a required sign-off or opening is verified as written.
    text, wanted = text.strip(), wanted.strip()
    actual = text[: len(wanted)] if at_start else text[max(0, len(text) - len(wanted)) :]
    return None if actual == wanted else f"{'starts' if at_start else 'ends'} with {actual!r}"


def _words(text: str) -> int:
    return len(text.split())


def _bullets(text: str) -> int:
    return sum(1 for line in _lines(text) if _BULLET.match(line))


def _paragraphs(text: str) -> int:
    return sum(1 for part in re.split(r"\n\s*\n", text) if part.strip())


@dataclass(frozen=True)
class _Constraint:
    expects: str
    ok: Callable[[Any], bool]
    check: Callable[[str, Any], str | None]
    """Returns None when satisfied, else what was found instead."""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_COUNT = "a whole number >= 0"
_TEXTS = "a list of strings"
CONSTRAINTS: dict[str, _Constraint] = {
    "min_words": _Constraint(_COUNT, _is_count, _check_bound(_words, "words", True)),
    "max_words": _Constraint(_COUNT, _is_count, _check_bound(_words, "words", False)),
    "min_chars": _Constraint(_COUNT, _is_count, _check_bound(_cjk_count, "CJK characters", True)),
    "max_chars": _Constraint(_COUNT, _is_count, _check_bound(_cjk_count, "CJK characters", False)),
    "must_include": _Constraint(_TEXTS, is_str_list, _check_includes),
    "must_not_include": _Constraint(_TEXTS, is_str_list, _check_excludes),
    "format": _Constraint(
        f"one of {', '.join(_FORMATS)}",
        lambda v: v in _FORMATS,
        lambda text, fmt: None if _FORMATS[fmt](text) else f"not {fmt}",
    ),
    "num_bullets": _Constraint(_COUNT, _is_count, _check_count(_bullets, "bullet lines")),
    "starts_with": _Constraint("a non-blank string", is_text, lambda t, s: _check_end(t, s, at_start=True)),
    "ends_with": _Constraint("a non-blank string", is_text, lambda t, s: _check_end(t, s, at_start=False)),
    "num_paragraphs": _Constraint(_COUNT, _is_count, _check_count(_paragraphs, "paragraphs")),
}
"""Constraint key -> how its value is checked and how a reply is checked against it.
Word counts split on whitespace; char counts count CJK characters only (for Chinese)."""


def _constraints_problem(reference: dict[str, Any]) -> str | None:
    for key, value in reference.items():
        if key not in CONSTRAINTS:
            return f"has unknown constraint {key!r}" + did_you_mean(key, list(CONSTRAINTS), "Known")
        if not CONSTRAINTS[key].ok(value):
            return f"constraint {key!r} must be {CONSTRAINTS[key].expects}, got {value!r}"
    return None


def _constraints_reference(reference: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(reference, dict) or not reference:
        return "must be a non-empty object"
    return _constraints_problem(reference)


@scorer("constraints", reference=_constraints_reference)
def constraints(response: str, reference: dict[str, Any]) -> Score:
    """Fraction of the reference's constraints (one per key) the reply satisfies."""
    if not reference:
        return Score(0.0, None, "reference has no constraints")
    if (problem := _constraints_problem(reference)) is not None:
        raise UsageError(f"constraints scorer: reference {problem}")
    failed = []
    for key, wanted in reference.items():
        problem = CONSTRAINTS[key].check(response, wanted)
        if problem is not None:
            failed.append(f"{key} ({problem})")
    detail = f"failed: {'; '.join(failed)}" if failed else ""
    return Score(1 - len(failed) / len(reference), None, detail)
