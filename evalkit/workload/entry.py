"""`LogEntry`, one request as any log format reads it, and the checks every reader shares.

A reader turns one line (a JSON object or a CSV row) into a `LogEntry`, or raises
`LineProblem` naming the field, what is wrong with it and how to fix it; the importer adds
the file and line. Not logged is ``None``, never 0: a line with no usage has
``prompt_tokens is None`` and is counted from its text, if it has text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

MILLISECONDS_FROM = 1e11
"""A numeric timestamp above this is read as milliseconds: in seconds it would be after the year 5000."""


class LineProblem(Exception):
    """One field of one line is wrong: ``field``, what is wrong, and how to fix it."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem} ({fix})")
        self.field = field


@dataclass(frozen=True)
class LogEntry:
    """One logged request."""

    prompt_tokens: int | None = None
    """Prompt tokens from the log's usage; None when the line reported none."""
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    """Cached prompt tokens from the log's usage; None when the log does not report them."""
    timestamp: float | None = None
    """Unix seconds (UTC) when the request was made, where logged."""
    model: str | None = None
    messages: list[dict] | None = None
    """The chat messages sent, where logged."""
    response: str | None = None
    """The answer's text, where logged."""
    skip: str | None = None
    """Why this line is not a request to count (a logged failure), else None."""

    @property
    def has_text(self) -> bool:
        return bool(self.messages)


def count(value: Any, field: str, *, required: bool = False) -> int | None:
    """A token count: a whole number >= 0 (``12``, ``12.0`` or ``"12"``), None when absent."""
    if value is None or value == "":
        if required:
            raise LineProblem(field, "missing", "every request needs its token counts")
        return None
    if isinstance(value, bool):
        raise LineProblem(field, f"{value!r} is not a token count", "give a whole number of tokens")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LineProblem(field, f"{value!r} is not a token count", "give a whole number of tokens") from None
    if not math.isfinite(number) or number != int(number):
        raise LineProblem(field, f"{value!r} is not a whole number", "give a whole number of tokens")
    if number < 0:
        raise LineProblem(field, f"negative count {value!r}", "token counts are 0 or more")
    return int(number)


def timestamp(value: Any, field: str) -> float | None:
    """Unix seconds (or milliseconds, see `MILLISECONDS_FROM`), as a number or a numeric
    string, or an ISO-8601 time; a time without an offset is read as UTC. None when absent."""
    if value is None or value == "":
        return None
    bad = LineProblem(field, f"{value!r} is not a time", "give unix seconds or ISO 8601, e.g. 2026-11-02T14:05:00Z")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return _iso_time(value.strip(), bad)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise bad
    return float(value) / (1000 if value > MILLISECONDS_FROM else 1)


def _iso_time(text: str, bad: LineProblem) -> float:
    try:
        parsed = datetime.fromisoformat(text.replace(" UTC", "+00:00"))
    except ValueError:
        raise bad from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def messages(value: Any, field: str) -> list[dict] | None:
    """Chat messages: a list of objects with a ``role``; None when absent."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in value):
        raise LineProblem(field, "not a list of chat messages",
                          'give [{"role": "user", "content": "..."}, ...] as the API received it')
    return value or None


def answer_text(value: Any) -> str | None:
    """The text of an answer: a string, or the ``content`` of an assistant message."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


def first_choice_text(response: Any) -> str | None:
    """``choices[0].message.content`` of a chat completion, where it is there."""
    if not isinstance(response, dict):
        return None
    choices = response.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return answer_text(choices[0].get("message"))
    return None


def usage_counts(usage: Any, field: str) -> tuple[int | None, int | None, int | None]:
    """(prompt, completion, cached) tokens of an OpenAI ``usage`` object. Cached tokens are
    ``prompt_tokens_details.cached_tokens``, or Anthropic's ``cache_read_input_tokens``,
    which litellm copies into the usage it logs."""
    if usage is None:
        return None, None, None
    if not isinstance(usage, dict):
        raise LineProblem(field, "not an object", 'give {"prompt_tokens": N, "completion_tokens": N}')
    prompt = count(usage.get("prompt_tokens"), f"{field}.prompt_tokens")
    completion = count(usage.get("completion_tokens"), f"{field}.completion_tokens")
    if (prompt is None) != (completion is None):
        missing = "prompt_tokens" if prompt is None else "completion_tokens"
        raise LineProblem(f"{field}.{missing}", "missing", "a usage needs both prompt and completion tokens")
    details = usage.get("prompt_tokens_details")
    cached = count(details.get("cached_tokens"), f"{field}.prompt_tokens_details.cached_tokens") \
        if isinstance(details, dict) else None
    if cached is None:
        cached = count(usage.get("cache_read_input_tokens"), f"{field}.cache_read_input_tokens")
    return prompt, completion, cached


def checked(entry: LogEntry, field: str) -> LogEntry:
    """The entry, if it can be counted: usage, or text to count; cached within the prompt."""
    if entry.skip is None and entry.prompt_tokens is None and not entry.has_text:
        raise LineProblem(field, "no usage and no messages",
                          "log the response's usage (prompt_tokens, completion_tokens) or the request's messages")
    cached, prompt = entry.cached_tokens, entry.prompt_tokens
    if cached is not None and prompt is not None and cached > prompt:
        raise LineProblem(field, f"{entry.cached_tokens} cached tokens is more than the {entry.prompt_tokens} "
                          "prompt tokens", "cached tokens are part of the prompt tokens")
    return entry
