"""Closed-set scorers: `choice` (a multiple-choice letter) and `label` (one of a list of
labels). Both find the one option a free-form reply commits to, and say why when a reply
names none or several without stating one as its answer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from evalkit.scoring.registry import OptionSpec, Score, is_str_list, scorer
from evalkit.scoring.text import CJK, normalise, normalise_answer

DEFAULT_CHOICES = ("A", "B", "C", "D")


def _is_distinct_names(value: Any) -> bool:
    if not is_str_list(value) or not value or not all(item.strip() for item in value):
        return False
    return len({item.casefold() for item in value}) == len(value)


_NAMES = "a non-empty list of distinct, non-blank strings"


def _one_of(allowed: Sequence[str], reference: Any) -> str | None:
    ok = isinstance(reference, str) and reference.casefold() in {a.casefold() for a in allowed}
    return None if ok else f"must be one of {', '.join(allowed)}"


def _choice_reference(reference: Any, options: dict[str, Any]) -> str | None:
    return _one_of(options.get("choices", DEFAULT_CHOICES), reference)


def _label_reference(reference: Any, options: dict[str, Any]) -> str | None:
    return _one_of(options.get("labels", []), reference)


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
    ["is", "was", "or", "and", "but", "seems", "looks", "would", "could", "should", "might", "must", "can",
     "cannot", "fits", "matches", "appears", "because", "since", "also", "has", "does", "doesn't", "isn't", "wasn't"]
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


@scorer("choice", reference=_choice_reference, compares_text=True,
        options={"choices": OptionSpec(_NAMES, _is_distinct_names)})
def choice(response: str, reference: Any, choices: Sequence[str] = DEFAULT_CHOICES) -> Score:
    """1 when the option the reply picks (see `_extract_choice`) is the reference."""
    picked, why = _extract_choice(response, list(choices))
    if picked is None:
        return Score(0.0, None, why)
    if picked.casefold() == str(reference).strip().casefold():
        return Score(1.0, picked)
    return Score(0.0, picked, f"expected {reference}")


# ---------------------------------------------------------------------------
# label

_LABEL_PREFIX = re.compile(
    r"^(?:final\s+answer|answer|label|category|class|最终答案|答案|类别|标签|分类)[\s*_]*[:：]\s*",
    re.IGNORECASE,
)
_LABEL_MARKER = re.compile(r"(?:label|category|answer|类别|标签|分类|答案)[\s*_]*[:：]", re.IGNORECASE)


def _label_mentions(text: str, labels: list[str]) -> list[str]:
    """Labels named in `text`, in order of first mention; a label found only inside a
    longer one ("spam" inside "not spam") does not count."""
    spans: list[tuple[int, int, str]] = []
    for label in labels:
        needle = re.escape(unicodedata.normalize("NFKC", label))
        # Chinese has no spaces between words, so a CJK label is matched as a substring.
        pattern = needle if CJK.search(label) else rf"(?<![A-Za-z0-9_]){needle}(?![A-Za-z0-9_])"
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
    whole = normalise(text, _LABEL_PREFIX)
    for label in labels:
        if normalise(label, _LABEL_PREFIX) == whole:
            return label, ""
    mentioned = _label_mentions(text, labels)
    if not mentioned:
        return None, f"no label among {', '.join(labels)} found"
    if len(mentioned) > 1 and (line := _marked_line(text)) is not None:
        on_line = _label_mentions(line, labels)
        if on_line:
            return on_line[0], ""
    return mentioned[0], ""


@scorer("label", reference=_label_reference, compares_text=True,
        options={"labels": OptionSpec(_NAMES, _is_distinct_names, True)})
def label(response: str, reference: str, labels: list[str]) -> Score:
    """1 when the label the reply names (see `_extract_label`) is the reference."""
    found, why = _extract_label(response, list(labels))
    if found is None:
        return Score(0.0, None, why)
    if normalise_answer(found) == normalise_answer(str(reference)):
        return Score(1.0, found)
    return Score(0.0, found, f"expected {reference}")

