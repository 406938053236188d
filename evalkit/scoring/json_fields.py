"""The `json_fields` scorer: the JSON object in a reply, field by field against the reference.

The object is found where models put it (the whole reply, a ``` fenced block, or the
first balanced ``{...}`` in prose); numbers match within a tolerance, even when quoted or
formatted ("1,234.50"); strings match with the `exact` normalisation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evalkit.scoring.numeric import parse_number_text
from evalkit.scoring.registry import TOLERANCE, Score, is_number, scorer
from evalkit.scoring.text import as_text, normalise_answer

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
# strict=False lets through raw newlines inside strings, which models often emit.
_DECODER = json.JSONDecoder(strict=False)


def load_object(text: str) -> dict[str, Any] | None:
    """`text` as a JSON object, or None when it is not one."""
    try:
        value = _DECODER.decode(text.strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def extract_json_object(response: str) -> dict[str, Any] | None:
    """The JSON object in a reply: the whole reply, else a ``` fenced block, else the
    first balanced {...} in the prose that parses."""
    for candidate in (response, *_FENCE.findall(response)):
        if (found := load_object(candidate)) is not None:
            return found
    position = response.find("{")
    while position >= 0:
        try:
            value, _ = _DECODER.raw_decode(response, position)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        position = response.find("{", position + 1)
    return None


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _as_number(value: Any) -> float | None:
    if is_number(value):
        return float(value)
    # Models often quote numbers or format them ("1,234.50"); the value is what is checked.
    return parse_number_text(value) if isinstance(value, str) else None


def same_value(expected: Any, got: Any, tolerance: float) -> bool:
    if is_number(expected):
        number = _as_number(got)
        return number is not None and abs(number - expected) <= tolerance
    if isinstance(expected, str):
        return got is not None and normalise_answer(as_text(got)) == normalise_answer(expected)
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(same_value(e, g, tolerance) for e, g in zip(expected, got))
        )
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            key in got and same_value(value, got[key], tolerance) for key, value in expected.items()
        )
    return expected is got or (expected == got and type(expected) is type(got))


def _fields_reference(reference: Any, options: dict[str, Any]) -> str | None:
    return None if isinstance(reference, dict) and reference else "must be a non-empty object"


@scorer("json_fields", reference=_fields_reference, options={"tolerance": TOLERANCE})
def json_fields(response: str, reference: dict[str, Any], tolerance: float = 0.01) -> Score:
    """Fraction of the reference's fields that the reply's JSON object gets right."""
    parsed = extract_json_object(response)
    if parsed is None:
        return Score(0.0, None, "no JSON object found")
    if not reference:
        return Score(0.0, compact(parsed), "reference has no fields")
    wrong = field_mismatches(parsed, reference, tolerance)
    value = 1 - len(wrong) / len(reference)
    return Score(value, compact(parsed), "; ".join(wrong))


def field_mismatches(parsed: dict[str, Any], reference: dict[str, Any], tolerance: float) -> list[str]:
    """One line per reference field the parsed object misses or gets wrong."""
    return [
        f"{key} missing" if key not in parsed else f"{key}: expected {compact(value)}, got {compact(parsed[key])}"
        for key, value in reference.items()
        if key not in parsed or not same_value(value, parsed[key], tolerance)
    ]
