"""Reader of OpenAI-format chat logs: one request and its response per JSONL line.

The nestings gateways and proxies write, all read by `read`:

- ``{"request": {...}, "response": {...}, "timestamp": ...}``: the request body (``model``,
  ``messages``) and the chat completion (``choices[0].message.content``, ``usage``, ``created``);
  ``request_body`` / ``response_body`` are read as the same;
- the OpenAI Batch API's output, where the completion is ``response.body``;
- flat ``{"messages", "model", "usage", "created", "choices" or "response"}``.

The time is the first of ``timestamp``, ``created_at``, ``created``, ``time`` or
``start_time`` on the line, else the response's ``created``.
"""

from __future__ import annotations

from typing import Any

from evalkit.workload import entry as fields
from evalkit.workload.entry import LineProblem, LogEntry

NAME = "openai-jsonl"
TIME_KEYS = ("timestamp", "created_at", "created", "time", "start_time")
SHAPE = "JSON lines with messages/usage, or request and response objects"


def looks_like(record: dict) -> bool:
    return any(key in record for key in ("messages", "request", "request_body", "choices")) or \
        isinstance(record.get("usage"), dict) or isinstance(_response(record)[0], dict)


def _part(record: dict, *keys: str) -> tuple[Any, str]:
    for key in keys:
        if key in record:
            return record[key], key
    return None, keys[0]


def _response(record: dict) -> tuple[Any, str]:
    response, where = _part(record, "response", "response_body")
    if isinstance(response, dict) and isinstance(response.get("body"), dict):  # the Batch API's output
        return response["body"], f"{where}.body"
    return response, where


def _time(record: dict, response: Any, response_field: str) -> float | None:
    for key in TIME_KEYS:
        if record.get(key) not in (None, ""):
            return fields.timestamp(record[key], key)
    if isinstance(response, dict) and response.get("created") is not None:
        return fields.timestamp(response["created"], f"{response_field}.created")
    return None


def read(record: dict) -> LogEntry:
    request, request_field = _part(record, "request", "request_body")
    if request is None:
        request, request_field = record, ""
    elif not isinstance(request, dict):
        raise LineProblem(request_field, "not an object", "give the request body as a JSON object")
    response, response_field = _response(record)
    if response is None and "choices" in record:
        response, response_field = record, ""
    prefix = f"{request_field}." if request_field else ""
    usage_holder = response if isinstance(response, dict) and "usage" in response else record
    usage_field = f"{response_field}.usage" if usage_holder is response and response_field else "usage"
    prompt, completion, cached = fields.usage_counts(usage_holder.get("usage"), usage_field)
    model = request.get("model") or record.get("model") or \
        (response.get("model") if isinstance(response, dict) else None)
    entry = LogEntry(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached,
                     timestamp=_time(record, response, response_field),
                     model=model if isinstance(model, str) else None,
                     messages=fields.messages(request.get("messages"), f"{prefix}messages"),
                     response=fields.first_choice_text(response) or fields.answer_text(response))
    return fields.checked(entry, usage_field)
