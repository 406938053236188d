"""The `numeric` scorer: the final number of a reply, within a tolerance of the reference.

Models write numbers in many ways ("1,234", "$12.50", "45%", "3/4", "\\frac{3}{4}",
"\\boxed{42}", "答案是42"); `_extract_number` finds the one a reply gives as its answer and
`parse_number_text` reads a whole string as a number (used by `json_fields` too).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UsageError
from evalkit.scoring.registry import TOLERANCE, Score, is_number, scorer

_UNSIGNED = r"(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
# Not preceded by a letter, digit, "_" or ".", so "H2O" and "v3" yield no number; the class
# is ASCII only, because Python's \w also matches Chinese and "答案是42" must yield 42.
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<sign>[-+]?)[$€£¥]?"
    rf"(?P<num>{_UNSIGNED})(?:\s*/\s*(?P<den>{_UNSIGNED}))?(?P<pct>\s?%)?"
)
_NUMERIC_LABEL = re.compile(
    r"(?:final\s+answer(?:\s+is\b)?|answer\s*[:：]|\banswer\s+is\b|最终答案|答案\s*(?:[:：]|是|为))",
    re.IGNORECASE,
)
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")


@dataclass(frozen=True)
class _Number:
    text: str
    value: float
    percent: bool


def _to_number(match: re.Match[str]) -> _Number | None:
    value = float(match["num"].replace(",", ""))
    if match["den"] is not None:
        den = float(match["den"].replace(",", ""))
        if den == 0:
            return None
        value /= den
    if match["sign"] == "-":
        value = -value
    return _Number(match.group(0).strip(), value, match["pct"] is not None)


def _numbers(text: str) -> list[_Number]:
    found = (_to_number(m) for m in _NUMBER.finditer(text))
    return [n for n in found if n is not None]


def _prepare_math(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    text = _LATEX_FRAC.sub(r"\1/\2", text)
    return text.replace("{,}", ",").replace("\\%", "%").replace("\\$", "$").replace("\\!", "")


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, begin = 0, start + len("\\boxed{")
    for index in range(begin, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            if depth == 0:
                return text[begin:index]
            depth -= 1
    return text[begin:]


def _extract_number(response: str) -> _Number | None:
    """The reply's final answer as a number: the first number in the last \\boxed{}, else
    the first after the last "Answer:"/"答案："/"Final answer", else the last in the reply."""
    text = _prepare_math(response)
    boxed = _last_boxed(text)
    if boxed is not None and (inside := _numbers(boxed)):
        return inside[0]
    labels = list(_NUMERIC_LABEL.finditer(text))
    if labels and (after := _numbers(text[labels[-1].end() :])):
        return after[0]
    everywhere = _numbers(text)
    return everywhere[-1] if everywhere else None


def parse_number_text(text: str) -> float | None:
    """A whole string as a number ("1,234.50", "$12", "3/4", "45%" -> 0.45), else None."""
    match = _NUMBER.fullmatch(_prepare_math(text).strip())
    number = _to_number(match) if match else None
    if number is None:
        return None
    return number.value / 100 if number.percent else number.value


def _reference_number(reference: Any) -> float:
    if is_number(reference):
        return float(reference)
    value = parse_number_text(reference) if isinstance(reference, str) else None
    if value is None:
        raise UsageError(f"numeric scorer: reference {reference!r} is not a number; write it as 42 or 3.5")
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _numeric_reference(reference: Any, options: dict[str, Any]) -> str | None:
    ok = is_number(reference) or (isinstance(reference, str) and parse_number_text(reference) is not None)
    return None if ok else "must be a number such as 42 or 3.5"


@scorer("numeric", reference=_numeric_reference,
        options={"tolerance": TOLERANCE, "relative_tolerance": TOLERANCE})
def numeric(response: str, reference: Any, tolerance: float = 1e-6, relative_tolerance: float = 0.0) -> Score:
    """1 when the reply's final number is within `tolerance` (absolute) or
    `relative_tolerance` (fraction of the reference) of the reference."""
    expected = _reference_number(reference)
    number = _extract_number(response)
    if number is None:
        return Score(0.0, None, "no number found in the reply")
    # "45%" answers both "45" and "0.45": the reply does not say which the question meant.
    candidates = [number.value, number.value / 100] if number.percent else [number.value]
    allowed = max(tolerance, relative_tolerance * abs(expected))
    if any(abs(candidate - expected) <= allowed for candidate in candidates):
        return Score(1.0, number.text)
    return Score(0.0, number.text, f"expected {_fmt(expected)}, got {_fmt(number.value)}")
