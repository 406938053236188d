"""Text scorers: `exact`, `regex` and `contains`, and the normalising they share.

A reply is compared as a person would read it: Unicode compatibility forms folded (NFKC),
a leading "Answer:"/"答案：" label, surrounding punctuation, quotes and markdown removed,
whitespace collapsed, case ignored. `choice`, `label` and `json_fields` use the same
normalising (`normalise_answer`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from evalkit.scoring.registry import FLAG, OptionSpec, Score, is_number, is_str_list, is_text, scorer

CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]")
"""One Chinese, Japanese or Korean character: such text has no spaces between words."""
ANSWER_PREFIX = re.compile(r"^(?:final\s+answer|answer|最终答案|答案)[\s*_]*[:：]\s*", re.IGNORECASE)


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


def normalise(text: str, prefix: re.Pattern[str]) -> str:
    """NFKC, no leading label matching `prefix`, no surrounding punctuation, quotes or
    markdown, whitespace collapsed, casefolded."""
    text = _strip_wrappers(unicodedata.normalize("NFKC", text))
    text = _strip_wrappers(prefix.sub("", text, count=1))
    return " ".join(text.split()).casefold()


def normalise_answer(text: str) -> str:
    """The `exact` normalisation: NFKC, no leading "Answer:"/"答案：" label, no surrounding
    punctuation, quotes or markdown, whitespace collapsed, casefolded."""
    return normalise(text, ANSWER_PREFIX)


def as_text(value: Any) -> str:
    """A reference as the text it is compared with (a number as written, other JSON as JSON)."""
    if isinstance(value, str):
        return value
    if is_number(value):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def fold(text: str, case_sensitive: bool) -> str:
    """NFKC and whitespace collapsed (and casefolded unless `case_sensitive`): how
    `contains` and the ``must_include`` constraints look for a string in a reply."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text if case_sensitive else text.casefold()


def text_reference(reference: Any, options: dict[str, Any]) -> str | None:
    ok = isinstance(reference, str) or is_number(reference)
    return None if ok else "must be a string"


# ---------------------------------------------------------------------------
# exact


@scorer("exact", reference=text_reference, compares_text=True,
        options={"aliases": OptionSpec("a list of strings", is_str_list)})
def exact(response: str, reference: Any, aliases: Sequence[str] = ()) -> Score:
    """1 when the normalised reply equals the normalised reference or one of `aliases`."""
    got = normalise_answer(response)
    accepted = {normalise_answer(as_text(reference)), *(normalise_answer(a) for a in aliases)}
    if got in accepted:
        return Score(1.0, got)
    return Score(0.0, got, f"expected {as_text(reference)!r}")


# ---------------------------------------------------------------------------
# regex


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


_PATTERN = OptionSpec("a regular expression with exactly one capture group", _is_one_group_regex, True, _regex_problem)


@scorer("regex", reference=text_reference, compares_text=True,
        options={"pattern": _PATTERN, "ignore_case": FLAG})
def regex(response: str, reference: Any, pattern: str, ignore_case: bool = False) -> Score:
    """Capture group 1 of the last match (multi-line mode: ^ and $ match at each line),
    compared to the reference with the `exact` normalisation."""
    flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
    matches = list(re.finditer(pattern, response, flags))
    if not matches:
        return Score(0.0, None, f"pattern {pattern!r} did not match the reply")
    captured = matches[-1].group(1) or ""
    if normalise_answer(captured) == normalise_answer(as_text(reference)):
        return Score(1.0, captured)
    return Score(0.0, captured, f"expected {as_text(reference)!r}")


# ---------------------------------------------------------------------------
# contains


def _contains_reference(reference: Any, options: dict[str, Any]) -> str | None:
    ok = is_text(reference) or (bool(reference) and is_str_list(reference) and all(map(is_text, reference)))
    return None if ok else "must be a non-blank string or a non-empty list of them"


@scorer("contains", reference=_contains_reference, compares_text=True, options={"case_sensitive": FLAG})
def contains(response: str, reference: str | list[str], case_sensitive: bool = False) -> Score:
    """Fraction of the reference strings present in the reply (all are required)."""
    needles = [reference] if isinstance(reference, str) else list(reference)
    if not needles:
        return Score(0.0, None, "reference lists no strings")
    haystack = fold(response, case_sensitive)
    missing = [n for n in needles if fold(n, case_sensitive) not in haystack]
    detail = f"missing: {', '.join(repr(m) for m in missing)}" if missing else ""
    return Score(1 - len(missing) / len(needles), None, detail)
