"""Scorers: small pure functions that turn a model's reply into a score in [0, 1].

This module owns the scorer registry ``SCORERS`` (its names are a contract with suites,
configs and reports), the options each scorer accepts, how answers are pulled out of
free-form replies, and the checks that reject a bad scorer name, option or reference
before any paid call is made.

Every scorer has the signature ``(response: str, reference, **options) -> Score``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from evalkit.errors import UsageError
from evalkit.suites.base import Sample


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


Scorer = Callable[..., Score]
"""``(response: str, reference, **options) -> Score``."""


@dataclass(frozen=True)
class Option:
    """One keyword option a scorer accepts, as checked by `check_scorer`."""

    expects: str
    """What a valid value looks like, in words, for error messages."""
    ok: Callable[[Any], bool]
    required: bool = False
    why: Callable[[Any], str] | None = None
    """Optional explanation of why a value was rejected (e.g. the regex compile error)."""


SCORERS: dict[str, Scorer] = {}
"""Scorer name -> function. Names are referenced by suites and stored configs."""

OPTIONS: dict[str, dict[str, Option]] = {}
"""Scorer name -> the options it accepts."""

_F = TypeVar("_F", bound=Scorer)


def _scorer(name: str, **options: Option) -> Callable[[_F], _F]:
    def register(func: _F) -> _F:
        SCORERS[name] = func
        OPTIONS[name] = options
        return func

    return register


# ---------------------------------------------------------------------------
# Option and reference value checks


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but `true` is never meant as a tolerance or a count.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_distinct_names(value: Any) -> bool:
    if not _is_str_list(value) or not value or not all(item.strip() for item in value):
        return False
    return len({item.casefold() for item in value}) == len(value)


def _regex_problem(value: Any) -> str:
    if not isinstance(value, str):
        return "it is not a string"
    try:
        groups = re.compile(value).groups
    except re.error as exc:
        return f"it does not compile: {exc}"
    return f"it has {groups} capture groups; wrap the answer in one (...) and use (?:...) elsewhere"


def _is_one_group_regex(value: Any) -> bool:
    try:
        return isinstance(value, str) and re.compile(value).groups == 1
    except re.error:
        return False


_TOLERANCE = Option("a number >= 0", lambda v: _is_number(v) and v >= 0)
_BOOL = Option("true or false", lambda v: isinstance(v, bool))
_NAMES = Option("a non-empty list of distinct, non-blank strings", _is_distinct_names)
_DEFAULT_CHOICES = ("A", "B", "C", "D")


# ---------------------------------------------------------------------------
# Normalisation shared by exact, regex, label and json_fields

_ANSWER_PREFIX = re.compile(r"^(?:final\s+answer|answer|最终答案|答案)[\s*_]*[:：]\s*", re.IGNORECASE)
_LABEL_PREFIX = re.compile(
    r"^(?:final\s+answer|answer|label|category|class|最终答案|答案|类别|标签|分类)[\s*_]*[:：]\s*",
    re.IGNORECASE,
)


def _is_wrapper(char: str) -> bool:
    # Unicode punctuation covers ASCII and Chinese marks alike (。！“”「」【】), and the
    # markdown a model wraps an answer in (** _ #); backticks are a symbol, not punctuation.
    return char.isspace() or char == "`" or unicodedata.category(char).startswith("P")


def _strip_wrappers(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_wrapper(text[start]):
        # A minus sign in front of a number is part of the answer, not decoration.
        if text[start] == "-" and start + 1 < end and text[start + 1].isdigit():
            break
        start += 1
    while end > start and _is_wrapper(text[end - 1]) and text[end - 1] != "%":
        end -= 1
    return text[start:end]


def _normalise(text: str, prefix: re.Pattern[str]) -> str:
    text = _strip_wrappers(unicodedata.normalize("NFKC", text))
    text = _strip_wrappers(prefix.sub("", text, count=1))
    return " ".join(text.split()).casefold()


def normalise_answer(text: str) -> str:
    """The `exact` normalisation: NFKC, no leading "Answer:"/"答案：" label, no surrounding
    punctuation, quotes or markdown, whitespace collapsed, casefolded."""
    return _normalise(text, _ANSWER_PREFIX)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if _is_number(value):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------
# exact


@_scorer("exact", aliases=Option("a list of strings", _is_str_list))
def exact(response: str, reference: Any, aliases: Sequence[str] = ()) -> Score:
    """1 when the normalised reply equals the normalised reference or one of `aliases`."""
    got = normalise_answer(response)
    accepted = {normalise_answer(_as_text(reference)), *(normalise_answer(a) for a in aliases)}
    if got in accepted:
        return Score(1.0, got)
    return Score(0.0, got, f"expected {_as_text(reference)!r}")


# ---------------------------------------------------------------------------
# numeric

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


def _parse_number_text(text: str) -> float | None:
    """A whole string as a number ("1,234.50", "$12", "3/4", "45%" -> 0.45), else None."""
    match = _NUMBER.fullmatch(_prepare_math(text).strip())
    number = _to_number(match) if match else None
    if number is None:
        return None
    return number.value / 100 if number.percent else number.value


def _reference_number(reference: Any) -> float:
    if _is_number(reference):
        return float(reference)
    value = _parse_number_text(reference) if isinstance(reference, str) else None
    if value is None:
        raise UsageError(f"numeric scorer: reference {reference!r} is not a number; write it as 42 or 3.5")
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


@_scorer("numeric", tolerance=_TOLERANCE, relative_tolerance=_TOLERANCE)
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


# ---------------------------------------------------------------------------
# regex

_PATTERN = Option("a regular expression with exactly one capture group", _is_one_group_regex, True, _regex_problem)


@_scorer("regex", pattern=_PATTERN, ignore_case=_BOOL)
def regex(response: str, reference: Any, pattern: str, ignore_case: bool = False) -> Score:
    """Capture group 1 of the last match (multi-line mode: ^ and $ match at each line),
    compared to the reference with the `exact` normalisation."""
    flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
    matches = list(re.finditer(pattern, response, flags))
    if not matches:
        return Score(0.0, None, f"pattern {pattern!r} did not match the reply")
    captured = matches[-1].group(1) or ""
    if normalise_answer(captured) == normalise_answer(_as_text(reference)):
        return Score(1.0, captured)
    return Score(0.0, captured, f"expected {_as_text(reference)!r}")


# ---------------------------------------------------------------------------
# choice

_NOT_WORD_AFTER = r"(?![A-Za-z0-9])"


def _alternation(names: list[str]) -> str:
    # Longest first, so a choice that is a prefix of another cannot shadow it.
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


def _stated_choice(text: str, alt: str) -> str | None:
    """The letter in the last explicit statement: "the answer is B", "Answer: (B)", "选B"."""
    stated = re.compile(
        r"(?i:answer|答案|选择|选)\s*(?i:is|would\s+be|should\s+be|是|为|应该是|应为)?\s*[:：]?\s*"
        rf"(?i:option\s*|choice\s*|选项\s*)?[(\[*「【\"']*\s*(?P<c>{alt}){_NOT_WORD_AFTER}"
    )
    found = list(stated.finditer(text))
    return found[-1]["c"] if found else None


def _mentioned_choice(text: str, alt: str) -> tuple[str | None, list[str]]:
    """The one choice a reply mentions as a standalone token, or (None, the candidates)."""
    tokens = re.compile(rf"(?<![A-Za-z0-9])(?P<c>{alt}){_NOT_WORD_AFTER}")
    mentions = [m for m in tokens.finditer(text) if not _is_article(text, m)]
    distinct = list(dict.fromkeys(m["c"] for m in mentions))
    if len(distinct) <= 1:
        return (distinct[0] if distinct else None), distinct
    marked = list(dict.fromkeys(m["c"] for m in mentions if _is_marked(text, m)))
    return (marked[0] if len(marked) == 1 else None), distinct


# Words that follow an option letter in prose ("A is wrong", "A or C"); any other lowercase
# word after a capital "A" makes it the English article ("A good answer is C").
_AFTER_OPTION = frozenset(
    "is was or and but seems looks would could should might must can cannot fits matches "
    "appears because since also has does doesn't isn't wasn't".split()
)


def _is_article(text: str, match: re.Match[str]) -> bool:
    following = re.match(r"\s+([a-z']+)", text[match.end() :])
    return match["c"] == "A" and following is not None and following[1] not in _AFTER_OPTION


def _is_marked(text: str, match: re.Match[str]) -> bool:
    # "(B)", "**B**", "B." and "B:" point at an option; a bare "B" in a sentence may not.
    before = text[match.start() - 1 : match.start()]
    after = text[match.end() : match.end() + 1]
    return (before != "" and before in "([*") or (after != "" and after in ").]*:")


def _extract_choice(response: str, choices: list[str]) -> tuple[str | None, str]:
    """(the chosen option as spelled in `choices`, or None; why nothing was chosen)."""
    text = unicodedata.normalize("NFKC", response)
    by_fold = {choice.casefold(): choice for choice in choices}
    whole = normalise_answer(text)
    if whole in by_fold:
        return by_fold[whole], ""
    alt = _alternation(choices)
    stated = _stated_choice(text, alt)
    if stated is not None:
        return stated, ""
    leading = re.match(rf"\s*[(\[*]*\s*(?P<c>{alt})\s*[).:\]*]", text)
    if leading:
        return leading["c"], ""
    chosen, candidates = _mentioned_choice(text, alt)
    if chosen is not None:
        return chosen, ""
    if candidates:
        return None, f"several choices mentioned ({', '.join(candidates)}) and none stated as the answer"
    return None, f"no choice among {', '.join(choices)} found"


@_scorer("choice", choices=_NAMES)
def choice(response: str, reference: Any, choices: Sequence[str] = _DEFAULT_CHOICES) -> Score:
    """1 when the option the reply picks (see `_extract_choice`) is the reference."""
    picked, why = _extract_choice(response, list(choices))
    if picked is None:
        return Score(0.0, None, why)
    if picked.casefold() == str(reference).strip().casefold():
        return Score(1.0, picked)
    return Score(0.0, picked, f"expected {reference}")


# ---------------------------------------------------------------------------
# json_fields

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
# strict=False lets through raw newlines inside strings, which models often emit.
_DECODER = json.JSONDecoder(strict=False)


def _load_object(text: str) -> dict[str, Any] | None:
    try:
        value = _DECODER.decode(text.strip())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _extract_json_object(response: str) -> dict[str, Any] | None:
    """The JSON object in a reply: the whole reply, else a ``` fenced block, else the
    first balanced {...} in the prose that parses."""
    for candidate in (response, *_FENCE.findall(response)):
        if (found := _load_object(candidate)) is not None:
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


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    # Models often quote numbers or format them ("1,234.50"); the value is what is checked.
    return _parse_number_text(value) if isinstance(value, str) else None


def _same_value(expected: Any, got: Any, tolerance: float) -> bool:
    if _is_number(expected):
        number = _as_number(got)
        return number is not None and abs(number - expected) <= tolerance
    if isinstance(expected, str):
        return got is not None and normalise_answer(_as_text(got)) == normalise_answer(expected)
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(_same_value(e, g, tolerance) for e, g in zip(expected, got))
        )
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            key in got and _same_value(value, got[key], tolerance) for key, value in expected.items()
        )
    return expected is got or expected == got and type(expected) is type(got)


@_scorer("json_fields", tolerance=_TOLERANCE)
def json_fields(response: str, reference: dict[str, Any], tolerance: float = 0.01) -> Score:
    """Fraction of the reference's fields that the reply's JSON object gets right."""
    parsed = _extract_json_object(response)
    if parsed is None:
        return Score(0.0, None, "no JSON object found")
    if not reference:
        return Score(0.0, _compact(parsed), "reference has no fields")
    wrong = [
        f"{key} missing" if key not in parsed else f"{key}: expected {_compact(value)}, got {_compact(parsed[key])}"
        for key, value in reference.items()
        if key not in parsed or not _same_value(value, parsed[key], tolerance)
    ]
    value = 1 - len(wrong) / len(reference)
    return Score(value, _compact(parsed), "; ".join(wrong))


# ---------------------------------------------------------------------------
# contains


def _fold(text: str, case_sensitive: bool) -> str:
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text if case_sensitive else text.casefold()


@_scorer("contains", case_sensitive=_BOOL)
def contains(response: str, reference: str | list[str], case_sensitive: bool = False) -> Score:
    """Fraction of the reference strings present in the reply (all are required)."""
    needles = [reference] if isinstance(reference, str) else list(reference)
    if not needles:
        return Score(0.0, None, "reference lists no strings")
    haystack = _fold(response, case_sensitive)
    missing = [n for n in needles if _fold(n, case_sensitive) not in haystack]
    detail = f"missing: {', '.join(repr(m) for m in missing)}" if missing else ""
    return Score(1 - len(missing) / len(needles), None, detail)


# ---------------------------------------------------------------------------
# label

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]")
_LABEL_MARKER = re.compile(r"(?:label|category|answer|类别|标签|分类|答案)[\s*_]*[:：]", re.IGNORECASE)


def _label_mentions(text: str, labels: list[str]) -> list[str]:
    """Labels named in `text`, in order of first mention; a label found only inside a
    longer one ("spam" inside "not spam") does not count."""
    spans: list[tuple[int, int, str]] = []
    for label in labels:
        needle = re.escape(unicodedata.normalize("NFKC", label))
        # Chinese has no spaces between words, so a CJK label is matched as a substring.
        pattern = needle if _CJK.search(label) else rf"(?<![A-Za-z0-9_]){needle}(?![A-Za-z0-9_])"
        spans += [(m.start(), m.end(), label) for m in re.finditer(pattern, text, re.IGNORECASE)]
    kept = [
        (start, label)
        for start, end, label in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    ]
    return list(dict.fromkeys(label for _, label in sorted(kept)))


def _marked_line(text: str) -> str | None:
    """The text after the last "Label:"/"类别："/"Answer:" marker, up to the end of its line
    (or the next non-blank line when the marker ends its line)."""
    markers = list(_LABEL_MARKER.finditer(text))
    if not markers:
        return None
    lines = text[markers[-1].end() :].split("\n")
    return next((line for line in lines if line.strip()), "")


def _extract_label(response: str, labels: list[str]) -> tuple[str | None, str]:
    """(the label the reply names, as spelled in `labels`, or None; why none was found)."""
    text = unicodedata.normalize("NFKC", response)
    whole = _normalise(text, _LABEL_PREFIX)
    for label in labels:
        if _normalise(label, _LABEL_PREFIX) == whole:
            return label, ""
    mentioned = _label_mentions(text, labels)
    if not mentioned:
        return None, f"no label among {', '.join(labels)} found"
    if len(mentioned) > 1 and (line := _marked_line(text)) is not None:
        on_line = _label_mentions(line, labels)
        if on_line:
            return on_line[0], ""
    return mentioned[0], ""


@_scorer("label", labels=Option("a non-empty list of distinct, non-blank strings", _is_distinct_names, True))
def label(response: str, reference: str, labels: list[str]) -> Score:
    """1 when the label the reply names (see `_extract_label`) is the reference."""
    found, why = _extract_label(response, list(labels))
    if found is None:
        return Score(0.0, None, why)
    if normalise_answer(found) == normalise_answer(str(reference)):
        return Score(1.0, found)
    return Score(0.0, found, f"expected {reference}")


# ---------------------------------------------------------------------------
# constraints

_BULLET = re.compile(r"^[-*] ")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def _is_json_object_reply(text: str) -> bool:
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text.strip(), re.DOTALL | re.IGNORECASE)
    return _load_object(fenced.group(1) if fenced else text) is not None


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
    missing = [n for n in needles if _fold(n, False) not in _fold(text, False)]
    return f"missing {', '.join(repr(m) for m in missing)}" if missing else None


def _check_excludes(text: str, needles: list[str]) -> str | None:
    present = [n for n in needles if _fold(n, False) in _fold(text, False)]
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


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


_COUNT = "a whole number >= 0"
_TEXTS = "a list of strings"
CONSTRAINTS: dict[str, _Constraint] = {
    "min_words": _Constraint(_COUNT, _is_count, _check_bound(_words, "words", True)),
    "max_words": _Constraint(_COUNT, _is_count, _check_bound(_words, "words", False)),
    "min_chars": _Constraint(_COUNT, _is_count, _check_bound(_cjk_count, "CJK characters", True)),
    "max_chars": _Constraint(_COUNT, _is_count, _check_bound(_cjk_count, "CJK characters", False)),
    "must_include": _Constraint(_TEXTS, _is_str_list, _check_includes),
    "must_not_include": _Constraint(_TEXTS, _is_str_list, _check_excludes),
    "format": _Constraint(
        f"one of {', '.join(_FORMATS)}",
        lambda v: v in _FORMATS,
        lambda text, fmt: None if _FORMATS[fmt](text) else f"not {fmt}",
    ),
    "num_bullets": _Constraint(_COUNT, _is_count, _check_count(_bullets, "bullet lines")),
    "starts_with": _Constraint("a non-blank string", _is_text, lambda t, s: _check_end(t, s, at_start=True)),
    "ends_with": _Constraint("a non-blank string", _is_text, lambda t, s: _check_end(t, s, at_start=False)),
    "num_paragraphs": _Constraint(_COUNT, _is_count, _check_count(_paragraphs, "paragraphs")),
}
"""Constraint key -> how its value is checked and how a reply is checked against it.
Word counts split on whitespace; char counts count CJK characters only (for Chinese)."""


@_scorer("constraints")
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


# ---------------------------------------------------------------------------
# Validation and the entry point used by the runner


def _did_you_mean(word: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    listing = ", ".join(sorted(known)) or "none"
    if close:
        return f"; did you mean {close[0]!r}? {what}: {listing}"
    return f"; {what.lower()}: {listing}"


ASYNC_SCORERS = {"judge"}
"""Scorers that need a network call (a judge model): the runner awaits them (see
`evalkit.scoring.judge`); `score_sample` refuses them."""


EXTERNAL_REFERENCES: set[str] = {"lm_eval"}
"""Scorers whose reference is shown in reports only; their own code decides the score."""


@_scorer(
    "lm_eval",
    task=Option("an lm-eval task name", lambda v: isinstance(v, str) and bool(v), required=True),
    doc_id=Option("a document index >= 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                  required=True),
    include=Option("a list of task folders", _is_str_list),
    filter=Option("the name of one of the task's filters", lambda v: isinstance(v, str)),
    metric=Option("the name of one of the task's metrics", lambda v: isinstance(v, str)),
)
def lm_eval(response: str, reference: Any, task: str, doc_id: int, include: Sequence[str] = (),
            filter: str | None = None, metric: str | None = None) -> Score:
    """An lm-eval task's own answer filters and metric (`evalkit.suites.lm_eval`)."""
    from evalkit.suites.lm_eval import score_reply

    value, extracted, detail = score_reply(response, task, doc_id, list(include), filter, metric)
    return Score(value, extracted, "" if value >= 1 else f"lm-eval: {detail}")


def _is_price(value: Any) -> bool:
    return isinstance(value, dict) and set(value) <= {"input", "output"} and all(map(_is_number, value.values()))


_TEXT_OPTION = Option("a string", lambda v: isinstance(v, str))


@_scorer(
    "judge",
    judge_model=Option("a litellm model id such as openai/gpt-4o-mini", lambda v: isinstance(v, str) and bool(v.strip()), required=True),
    rubric=_TEXT_OPTION,
    mode=Option("'score' or 'pairwise'", lambda v: v in ("score", "pairwise")),
    scale=Option("an integer from 2 to 100", lambda v: isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 100),
    api_base=_TEXT_OPTION,
    api_key_env=_TEXT_OPTION,
    price=Option("an object {input: USD per 1M tokens, output: USD per 1M tokens}", _is_price),
    params=Option("an object of request parameters", lambda v: isinstance(v, dict)),
)
def judge(response: str, reference: Any, **options: Any) -> Score:
    """LLM-as-judge; it needs a call to the judge model, so the runner awaits
    `evalkit.scoring.judge.judge_reply` instead of calling this."""
    raise UsageError("the 'judge' scorer calls a model: it runs inside `evalkit compare`, not as a pure scorer")


def check_scorer(name: str, options: dict[str, Any]) -> None:
    """Raise `UsageError` for an unknown scorer, or unknown, missing or ill-typed options."""
    if name not in SCORERS:
        raise UsageError(f"unknown scorer {name!r}" + _did_you_mean(str(name), list(SCORERS), "Known"))
    if not isinstance(options, dict):
        raise UsageError(f"scorer_options for scorer {name!r} must be an object such as {{}}, got {options!r}")
    accepted = OPTIONS[name]
    for key, value in options.items():
        if key not in accepted:
            raise UsageError(f"scorer {name!r} has no option {key!r}" + _did_you_mean(key, list(accepted), "Options"))
        option = accepted[key]
        if not option.ok(value):
            reason = f" ({option.why(value)})" if option.why else ""
            raise UsageError(f"option {key!r} of scorer {name!r} must be {option.expects}, got {value!r}{reason}")
    for key, option in accepted.items():
        if option.required and key not in options:
            raise UsageError(f"scorer {name!r} needs option {key!r}: {option.expects}")


def _choices_of(name: str, options: dict[str, Any]) -> list[str]:
    return list(options.get("choices", _DEFAULT_CHOICES) if name == "choice" else options.get("labels", []))


def _reference_problem(name: str, reference: Any, options: dict[str, Any]) -> str | None:
    """What `reference` should have been for scorer `name`, or None when it is fine."""
    if name in ("exact", "regex"):
        ok = isinstance(reference, str) or _is_number(reference)
        return None if ok else "must be a string"
    if name == "numeric":
        ok = _is_number(reference) or isinstance(reference, str) and _parse_number_text(reference) is not None
        return None if ok else "must be a number such as 42 or 3.5"
    if name in ("choice", "label"):
        allowed = _choices_of(name, options)
        ok = isinstance(reference, str) and reference.casefold() in {a.casefold() for a in allowed}
        return None if ok else f"must be one of {', '.join(allowed)}"
    if name == "contains":
        ok = _is_text(reference) or bool(reference) and _is_str_list(reference) and all(map(_is_text, reference))
        return None if ok else "must be a non-blank string or a non-empty list of them"
    if name == "judge":
        if options.get("mode") == "pairwise":
            return None if _is_text(reference) else "must be the baseline answer (a non-blank string) in pairwise mode"
        return None
    if name in EXTERNAL_REFERENCES:
        return None
    if not isinstance(reference, dict) or not reference:
        return "must be a non-empty object"
    return _constraints_problem(reference) if name == "constraints" else None


def _constraints_problem(reference: dict[str, Any]) -> str | None:
    for key, value in reference.items():
        if key not in CONSTRAINTS:
            return f"has unknown constraint {key!r}" + _did_you_mean(key, list(CONSTRAINTS), "Known")
        if not CONSTRAINTS[key].ok(value):
            return f"constraint {key!r} must be {CONSTRAINTS[key].expects}, got {value!r}"
    return None


def check_reference(name: str, reference: Any, options: dict[str, Any] | None = None) -> None:
    """Raise `UsageError` when `reference` is not what scorer `name` expects, given its
    `options` (a `choice` or `label` reference must be one of the choices or labels)."""
    check_scorer(name, options or {})
    problem = _reference_problem(name, reference, options or {})
    if problem is None:
        return
    got = "" if problem.startswith(("has ", "constraint ")) else f", got {reference!r}"
    raise UsageError(f"reference for scorer {name!r} {problem}{got}")


def score_sample(response: str | None, sample: Sample) -> Score:
    """Score one reply to `sample`; a missing reply (failed call) scores 0."""
    if response is None:
        return Score(0.0, None, "no response")
    if sample.scorer not in SCORERS:
        check_scorer(sample.scorer, sample.scorer_options)  # raises, with a suggestion
    if sample.scorer in ASYNC_SCORERS:
        raise UsageError(f"scorer {sample.scorer!r} calls a model; the runner awaits it (evalkit.scoring.judge)")
    return SCORERS[sample.scorer](response, sample.reference, **sample.scorer_options)
