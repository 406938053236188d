"""Reader of OpenRouter generation records: one per JSONL line, as ``GET /api/v1/generation``
returns them (the ``data`` object, or the whole ``{"data": {...}}``).

Fields read (OpenRouter's API reference, GenerationResponseData, read 2026-12-01):
``model``, ``created_at`` (ISO 8601), ``native_tokens_prompt`` and
``native_tokens_completion`` (the serving provider's own counts, which it bills; when
absent, ``tokens_prompt`` and ``tokens_completion``, OpenRouter's normalised counts), and
``native_tokens_cached``. The SDKs' camelCase spellings (``nativeTokensPrompt``,
``createdAt``, ...) are read too. A record carries no text.
"""

from __future__ import annotations

from evalkit.workload import entry as fields
from evalkit.workload.entry import LineProblem, LogEntry

NAME = "openrouter"
SHAPE = "JSON lines of OpenRouter generation records (tokens_prompt, native_tokens_prompt, created_at)"
MARKERS = ("tokens_prompt", "native_tokens_prompt", "tokensPrompt", "nativeTokensPrompt")


def _record(record: dict) -> dict:
    data = record.get("data")
    return data if isinstance(data, dict) else record


def looks_like(record: dict) -> bool:
    return any(key in _record(record) for key in MARKERS)


def _field(record: dict, snake: str) -> tuple[object, str]:
    camel = "".join(part if i == 0 else part.title() for i, part in enumerate(snake.split("_")))
    for key in (snake, camel):
        if record.get(key) is not None:
            return record[key], key
    return None, snake


def _tokens(record: dict, kind: str) -> int | None:
    value, key = _field(record, f"native_tokens_{kind}")
    if value is None:
        value, key = _field(record, f"tokens_{kind}")
    return fields.count(value, key)


def read(record: dict) -> LogEntry:
    record = _record(record)
    prompt, completion = _tokens(record, "prompt"), _tokens(record, "completion")
    if prompt is None or completion is None:
        missing = "native_tokens_prompt" if prompt is None else "native_tokens_completion"
        raise LineProblem(missing, "missing", "export the generation records with their token counts")
    created, created_key = _field(record, "created_at")
    cached, cached_key = _field(record, "native_tokens_cached")
    model = _field(record, "model")[0]
    entry = LogEntry(prompt_tokens=prompt, completion_tokens=completion,
                     cached_tokens=fields.count(cached, cached_key),
                     timestamp=fields.timestamp(created, created_key),
                     model=model if isinstance(model, str) else None)
    return fields.checked(entry, "native_tokens_cached")
