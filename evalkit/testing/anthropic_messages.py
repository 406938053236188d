"""Anthropic's Messages API (`POST /v1/messages`) as the scripted server speaks it.

One job: the event stream and the message object a `Reply` becomes in Anthropic's
dialect, so litellm's ``anthropic/`` route is measured at HTTP like every other route.
The stream is ``message_start`` (with the usage known up front: input tokens, cache read
and cache creation tokens), then one content block per kind — ``thinking`` (its
``thinking_delta`` events, then a ``signature_delta``) before ``text`` (``text_delta``
events) — each opened by ``content_block_start`` and closed by ``content_block_stop``,
then one ``tool_use`` block per function call (its ``input_json_delta`` events carry
the argument text in fragments), then ``message_delta`` (stop reason and output tokens)
and ``message_stop``. Anthropic's ``input_tokens`` leaves out the cached and
cache-written tokens; the Reply's ``prompt_tokens`` is their sum. Source: https://docs.anthropic.com/en/api/messages-streaming
(2026-12-01).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
"""A Reply's finish_reason -> Anthropic's stop_reason."""


def stop_reason(finish_reason: str) -> str:
    return STOP_REASONS.get(finish_reason, finish_reason)


def stream_events(reply: Any, model: str) -> list[tuple[bool, str, dict[str, Any]]]:
    """The events of one streamed reply, in order, each as (is a delta, name, payload):
    a delta is due after the reply's ttft and token delays, the rest go out at once."""
    message_id = f"msg_scripted_{uuid.uuid4().hex[:12]}"
    usage = reply.anthropic_usage() | {"output_tokens": 1}
    start = {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage}}
    events: list[tuple[bool, str, dict[str, Any]]] = [(False, "message_start", start)]
    index = 0
    if reply.reasoning_chunks():
        events += _block(index, {"type": "thinking", "thinking": "", "signature": ""},
                         [{"type": "thinking_delta", "thinking": piece} for piece in reply.reasoning_chunks()],
                         {"type": "signature_delta", "signature": "scripted-signature"})
        index += 1
    if reply.content_chunks() or not reply.tool_calls:
        events += _block(index, {"type": "text", "text": ""},
                         [{"type": "text_delta", "text": piece} for piece in reply.content_chunks()], None)
        index += 1
    for number, call in enumerate(reply.tool_calls):
        block = _block(index + number, {"type": "tool_use", "id": call.id or f"toolu_{number}",
                                        "name": call.name, "input": {}},
                       [{"type": "input_json_delta", "partial_json": piece} for piece in call.fragments()], None)
        # the block's start carries the call's name: the reply's first token when it opens with a call
        events += [(True, *block[0][1:]), *block[1:]]
    events.append((False, "message_delta", {
        "type": "message_delta", "delta": {"stop_reason": stop_reason(reply.finish_reason), "stop_sequence": None},
        "usage": {"output_tokens": reply.completion_count()}}))
    events.append((False, "message_stop", {"type": "message_stop"}))
    return events


def _block(index: int, opening: dict[str, Any], deltas: list[dict[str, Any]],
           closing_delta: dict[str, Any] | None) -> list[tuple[bool, str, dict[str, Any]]]:
    events: list[tuple[bool, str, dict[str, Any]]] = [
        (False, "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening})]
    events += [(True, "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
               for delta in deltas]
    if closing_delta is not None:
        events.append((False, "content_block_delta",
                       {"type": "content_block_delta", "index": index, "delta": closing_delta}))
    events.append((False, "content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def message(reply: Any, model: str) -> dict[str, Any]:
    """The non-streamed answer: one message object with its content blocks and usage."""
    content: list[dict[str, Any]] = []
    if reply.reasoning:
        content.append({"type": "thinking", "thinking": reply.reasoning, "signature": "scripted-signature"})
    if reply.text or not reply.tool_calls:
        content.append({"type": "text", "text": reply.text})
    for number, call in enumerate(reply.tool_calls):
        content.append({"type": "tool_use", "id": call.id or f"toolu_{number}", "name": call.name,
                        "input": _input_object(call.arguments)})
    return {"id": f"msg_scripted_{uuid.uuid4().hex[:12]}", "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop_reason(reply.finish_reason),
            "stop_sequence": None, "usage": reply.anthropic_usage() | {"output_tokens": reply.completion_count()}}


def _input_object(arguments: str) -> dict[str, Any]:
    """A call's input as the message object holds it: parsed, since Anthropic sends an
    object there; malformed arguments, which only a stream can carry, become ``{}``."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def sse(name: str, payload: dict[str, Any]) -> bytes:
    """One named server-sent event."""
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()
