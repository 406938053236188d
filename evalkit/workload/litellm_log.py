"""Reader of litellm's logged payloads: one ``StandardLoggingPayload`` per JSONL line.

The fields read, as litellm 1.110 defines them (``litellm/types/utils.py``, class
``StandardLoggingPayload``): ``status`` (a ``failure`` is skipped: no tokens were
billed for an answer), ``model``, ``startTime`` (unix seconds; the proxy's spend logs
write it as an ISO time, read too), ``prompt_tokens`` and ``completion_tokens``,
``messages`` (a list of chat messages, or a string for a text prompt), ``response``
(the chat completion, whose ``choices[0].message.content`` is the answer), and the cached
prompt tokens from the usage litellm logs: ``metadata.usage_object``,
``hidden_params.usage_object`` or ``response.usage`` (``prompt_tokens_details.cached_tokens``
or ``cache_read_input_tokens``). ``cache_hit`` is litellm's own response cache, not the
provider's prompt cache, and is not read.
"""

from __future__ import annotations

from typing import Any

from evalkit.workload import entry as fields
from evalkit.workload.entry import LineProblem, LogEntry

NAME = "litellm"
SHAPE = "JSON lines of litellm StandardLoggingPayload (startTime, prompt_tokens, ...)"


def looks_like(record: dict) -> bool:
    return "startTime" in record and ("prompt_tokens" in record or "call_type" in record)


def _messages(value: Any) -> list[dict] | None:
    if isinstance(value, str):
        return [{"role": "user", "content": value}] if value else None
    return fields.messages(value, "messages") if isinstance(value, list) else None


def _cached(record: dict) -> int | None:
    response = record.get("response")
    holders = [("metadata.usage_object", (record.get("metadata") or {}).get("usage_object")),
               ("hidden_params.usage_object", (record.get("hidden_params") or {}).get("usage_object")),
               ("response.usage", response.get("usage") if isinstance(response, dict) else None)]
    for field, usage in holders:
        if isinstance(usage, dict) and usage.get("prompt_tokens") is not None:
            cached = fields.usage_counts(usage, field)[2]
            if cached is not None:
                return cached
    return None


def read(record: dict) -> LogEntry:
    status = record.get("status")
    if status not in (None, "success"):
        return LogEntry(skip=f"status {status!r}")
    if not isinstance(record.get("metadata") or {}, dict):
        raise LineProblem("metadata", "not an object", "give the payload as litellm logged it")
    response = record.get("response")
    entry = LogEntry(prompt_tokens=fields.count(record.get("prompt_tokens"), "prompt_tokens"),
                     completion_tokens=fields.count(record.get("completion_tokens"), "completion_tokens"),
                     cached_tokens=_cached(record),
                     timestamp=fields.timestamp(record.get("startTime"), "startTime"),
                     model=record.get("model") if isinstance(record.get("model"), str) else None,
                     messages=_messages(record.get("messages")),
                     response=fields.first_choice_text(response) or fields.answer_text(response))
    if (entry.prompt_tokens is None) != (entry.completion_tokens is None):
        missing = "prompt_tokens" if entry.prompt_tokens is None else "completion_tokens"
        raise LineProblem(missing, "missing", "a payload needs both prompt_tokens and completion_tokens")
    return fields.checked(entry, "prompt_tokens")
