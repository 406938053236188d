"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It owns the wire behaviour evalkit is measured against. Each request gets the `Reply` its
script chooses, sent the way OpenAI sends it (SSE over chunked HTTP/1.1 with keep-alive, or
one ``chat.completion`` object), with the delays slept on the server so that client-side
TTFT and end-to-end times can be checked to a few milliseconds, usage reported exactly as
scripted, function calls (`ToolCall`: id and name, then the arguments in fragments,
parallel calls by index, or arguments that are not valid JSON) and faults (see `FAULTS`)
injected on demand::

    with ScriptedServer({"2+2?": Reply("4"), "default": Reply(status=500)}) as server:
        client = OpenAI(base_url=server.base_url, api_key="test", max_retries=0)

A script is a `Reply` (every request gets it), a dict from the content of the last user
message to a `Reply` or to a list of them (attempt 1 gets ``[0]``, attempt 2 ``[1]``, ...;
the last repeats) with the key ``"default"`` for unmatched prompts, or a callable
``(ReceivedRequest) -> Reply`` (`conversation` plays a multi-turn task turn by turn).
Standard library only, so it runs wherever the tests run;
``python -m evalkit.testing.scripted_server`` runs it as its own process.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from evalkit.testing import anthropic_messages
from evalkit.testing.rate_limit import TokenBucket

FAULTS: dict[str, str] = {
    "hang": "accept the request and never answer, until the client hangs up or the server stops",
    "reset_after_chunks": "stream `fault_after` deltas, then close the socket with a TCP reset",
    "no_done": "end the stream cleanly but without the final `data: [DONE]`",
    "malformed_chunk": "after `fault_after` deltas send one SSE event that is not JSON "
    "(non-streaming: a truncated JSON body)",
    "html_200": "answer 200 with content-type text/html and an HTML page",
    "empty_choices": "every chunk (or the completion) carries `choices: []`",
    "null_content": "content deltas (or the message) carry `content: null`",
}
"""The fault switches of `Reply.fault`, each with what the client gets."""

USAGE_SHAPES: dict[str, str] = {
    "openai": "cached tokens in `usage.prompt_tokens_details.cached_tokens`",
    "zai": "as OpenAI: `usage.prompt_tokens_details.cached_tokens` (docs.z.ai context caching)",
    "deepseek": "`usage.prompt_cache_hit_tokens` and `prompt_cache_miss_tokens` (their sum is the prompt)",
    "moonshot": "`usage.cached_tokens` at the top level of usage (platform.kimi.ai chat API)",
}
"""The chat-completions usage shapes of `Reply.usage_shape`, each with where the cached tokens go."""

DEFAULT_KEY = "default"
"""Key of a dict script that answers prompts no other key matches."""

_STREAM_FAULTS = ("reset_after_chunks", "malformed_chunk")
"""Faults that strike mid-stream, after `Reply.fault_after` deltas."""

_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>"
    b"<body><h1>Welcome</h1><p>This is a web page, not an API.</p></body></html>\n"
)

_BAD_KEY_ERROR = {
    "message": "Incorrect API key provided. The scripted server expects 'Authorization: Bearer <api_key>'.",
    "type": "invalid_request_error",
    "param": None,
    "code": "invalid_api_key",
}

_WORD_CHUNK = re.compile(r"\s*\S+\s*")


def split_words(text: str) -> list[str]:
    """One chunk per word with its whitespace, so that ``"".join(split_words(t)) == t``."""
    return _WORD_CHUNK.findall(text) or ([text] if text else [])


@dataclass(frozen=True)
class ToolCall:
    """One function call a `Reply` makes, streamed as OpenAI streams it: a first fragment
    with the call's id and name, then its arguments in `pieces` fragments."""

    name: str
    arguments: str = "{}"
    """The arguments as the model writes them: a JSON text, or a malformed one on purpose
    (`malformed_arguments`)."""
    id: str | None = None
    """Default: ``call_<index>``."""
    pieces: int = 3
    """How many fragments the argument text is cut into (at least one)."""

    def fragments(self) -> list[str]:
        size = max(1, -(-len(self.arguments) // max(1, self.pieces)))
        return [self.arguments[i:i + size] for i in range(0, len(self.arguments), size)] or [""]


def malformed_arguments(name: str, arguments: str = '{"city": "Par') -> ToolCall:
    """A call whose argument JSON is cut off, as a model that loses the thread writes it."""
    return ToolCall(name, arguments)


@dataclass
class Reply:
    """What the server answers to one request.

    Delays are slept on the server and measured from the moment the request line arrived;
    whatever the client spends before sending comes on top of them.
    """

    text: str = "ok"
    """The answer content."""
    ttft: float = 0.0
    """Seconds from arrival to the first streamed delta (reasoning or content); for a
    non-streaming, error or HTML reply, the delay before the response."""
    token_delay: float = 0.0
    """Seconds between consecutive streamed deltas, reasoning and content alike."""
    chunks: list[str] | None = None
    """How `text` is streamed, one content delta per item; default `split_words(text)`."""
    prompt_tokens: int | None = 10
    """Reported ``usage.prompt_tokens``; None leaves the field out."""
    completion_tokens: int | None = None
    """Reported ``usage.completion_tokens``; default: number of deltas, reasoning included."""
    cached_tokens: int | None = None
    """Prompt tokens read from the cache (part of `prompt_tokens`), reported where
    `usage_shape`'s provider reports them; None leaves them out."""
    cache_write_tokens: int | None = None
    """Prompt tokens written to the cache (part of `prompt_tokens`): OpenAI's
    ``prompt_tokens_details.cache_write_tokens``, Anthropic's ``cache_creation_input_tokens``."""
    usage_shape: str = "openai"
    """Whose usage report to send, one of `USAGE_SHAPES`; ``/v1/messages`` always answers
    in Anthropic's."""
    reasoning_tokens: int | None = None
    """Reported as ``usage.completion_tokens_details.reasoning_tokens``; default: number of
    reasoning deltas when `reasoning` is set, else left out."""
    include_usage: bool = True
    """False: no usage at all, even when the request asks for it."""
    status: int = 200
    """HTTP status; anything but 200 sends `error_body` instead of a completion."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers, e.g. ``{"Retry-After": "2"}``."""
    error_body: dict[str, Any] | str | None = None
    """Body of a non-200 reply; default an OpenAI-style ``{"error": {...}}``. A str goes
    out as text/plain."""
    reasoning: str | None = None
    """Streamed before the content as ``delta.<reasoning_field>`` (word chunks), or sent as
    ``message.<reasoning_field>`` when not streaming."""
    reasoning_field: str = "reasoning_content"
    """The field reasoning travels in: ``reasoning_content`` (DeepSeek, DashScope, Z.ai,
    Moonshot, vLLM before 0.10) or ``reasoning`` (OpenRouter, newer vLLM)."""
    answer_delay: float = 0.0
    """Extra seconds between the last reasoning delta and the first content delta: the
    thinking time a test can tell apart from the spacing of the tokens."""
    finish_reason: str = "stop"
    fault: str | None = None
    """None, or one of `FAULTS`."""
    fault_after: int = 1
    """For ``reset_after_chunks`` and ``malformed_chunk``: deltas (reasoning and content)
    sent before the fault, which strikes when the next delta would have been due."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """Function calls streamed after the content (``delta.tool_calls``, or ``tool_use``
    blocks on ``/v1/messages``); give ``finish_reason="tool_calls"`` as a provider would."""
    interleave_tool_calls: bool = False
    """Stream parallel calls' fragments in turn (call 0, call 1, call 0, ...) rather than
    one call after the other: the client must merge them by ``index``."""

    def __post_init__(self) -> None:
        if self.usage_shape not in USAGE_SHAPES:
            raise ValueError(f"Reply.usage_shape={self.usage_shape!r} is unknown; use one of {sorted(USAGE_SHAPES)}")
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"Reply.fault={self.fault!r} is unknown; use one of {sorted(FAULTS)}")
        if min(self.ttft, self.token_delay, self.fault_after, self.answer_delay) < 0:
            raise ValueError("Reply.ttft, token_delay, answer_delay and fault_after must be >= 0")
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError(
                "Reply.chunks must concatenate to Reply.text; "
                "pass text=''.join(chunks) or leave chunks=None"
            )

    def content_chunks(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_words(self.text)

    def reasoning_chunks(self) -> list[str]:
        return split_words(self.reasoning) if self.reasoning else []

    def tool_call_deltas(self) -> list[dict[str, Any]]:
        """The ``delta.tool_calls`` fragments in the order they are streamed."""
        per_call = []
        for index, call in enumerate(self.tool_calls):
            first = {"index": index, "id": call.id or f"call_{index}", "type": "function",
                     "function": {"name": call.name, "arguments": ""}}
            per_call.append([first] + [{"index": index, "function": {"arguments": piece}}
                                       for piece in call.fragments()])
        if not self.interleave_tool_calls:
            return [fragment for fragments in per_call for fragment in fragments]
        longest = max((len(fragments) for fragments in per_call), default=0)
        return [fragments[i] for i in range(longest) for fragments in per_call if i < len(fragments)]

    def completion_count(self) -> int:
        """Completion tokens reported: as scripted, else one per delta, reasoning and tool calls included."""
        if self.completion_tokens is not None:
            return self.completion_tokens
        return len(self.content_chunks()) + len(self.reasoning_chunks()) + len(self.tool_call_deltas())

    def _cache_usage(self) -> dict[str, Any]:
        """The cache fields of a chat-completions usage, in `usage_shape`'s spelling."""
        cached, written = self.cached_tokens, self.cache_write_tokens
        if self.usage_shape == "deepseek":
            if cached is None:
                return {}
            return {"prompt_cache_hit_tokens": cached,
                    "prompt_cache_miss_tokens": (self.prompt_tokens or 0) - cached}
        if self.usage_shape == "moonshot":
            return {} if cached is None else {"cached_tokens": cached}
        details = {k: v for k, v in (("cached_tokens", cached), ("cache_write_tokens", written)) if v is not None}
        return {"prompt_tokens_details": details} if details else {}

    def anthropic_usage(self) -> dict[str, int]:
        """Anthropic's usage: ``input_tokens`` counts only the prompt tokens neither read
        from nor written to the cache."""
        cached, written = self.cached_tokens or 0, self.cache_write_tokens or 0
        return {"input_tokens": (self.prompt_tokens or 0) - cached - written,
                "cache_creation_input_tokens": written, "cache_read_input_tokens": cached}

    def usage(self) -> dict[str, Any] | None:
        """The ``usage`` object as it goes on the wire, or None when there is none."""
        if not self.include_usage:
            return None
        reasoning_count = len(self.reasoning_chunks())
        completion = self.completion_tokens
        if completion is None:
            completion = self.completion_count()
        usage: dict[str, Any] = {}
        if self.prompt_tokens is not None:
            usage["prompt_tokens"] = self.prompt_tokens
        usage["completion_tokens"] = completion
        usage["total_tokens"] = (self.prompt_tokens or 0) + completion
        usage.update(self._cache_usage())
        reasoning_tokens = self.reasoning_tokens
        if reasoning_tokens is None and self.reasoning:
            reasoning_tokens = reasoning_count
        if reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
        return usage


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased; repeated headers joined with ``", "``."""
    body: Any
    """Parsed JSON body; None when there was no body or it was not JSON."""
    raw_body: bytes
    arrived_perf: float
    """``time.perf_counter()`` when the request line arrived; delays count from here."""
    arrived_unix: float
    """``time.time()`` at the same moment."""
    prompt: str
    """Content of the last user message (text parts joined); "" when there is none."""
    attempt: int
    """1 for the first chat request with this prompt, 2 for the next, ...; 0 for requests
    that are not chat completions or were refused for a bad key."""
    client_port: int
    """The client's source port: equal ports mean a kept-alive connection was reused."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of the request body ([] when it has none)."""
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    @property
    def turn(self) -> int:
        """Which turn of a multi-turn task this request is: 1 + the assistant replies it carries."""
        return 1 + sum(1 for message in self.messages if message.get("role") == "assistant")

    @property
    def tool_results(self) -> list[str]:
        """The ``content`` of every ``tool`` message the request carries, in order."""
        return [str(m.get("content")) for m in self.messages if m.get("role") == "tool"]


Script = Reply | Mapping[str, Reply | Sequence[Reply]] | Callable[[ReceivedRequest], Reply]


def last_user_text(body: Any) -> str:
    """The content of the last user message of a chat request body."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
            return content if isinstance(content, str) else ""
    return ""


def choose_reply(script: Script, request: ReceivedRequest) -> Reply:
    """The reply `script` gives to `request`."""
    if isinstance(script, Reply):
        return script
    if isinstance(script, Mapping):
        entry = script.get(request.prompt, script.get(DEFAULT_KEY, Reply()))
        if isinstance(entry, Reply):
            return entry
        return entry[min(max(request.attempt, 1), len(entry)) - 1]
    reply = script(request)
    if not isinstance(reply, Reply):
        raise TypeError(f"script returned {type(reply).__name__}, expected Reply")
    return reply


def conversation(*turns: Reply) -> Callable[[ReceivedRequest], Reply]:
    """A script that plays a multi-turn task: turn k of any prompt gets ``turns[k-1]`` (the
    last repeats), a turn being 1 + the assistant messages the request carries."""

    def play(request: ReceivedRequest) -> Reply:
        return turns[min(request.turn, len(turns)) - 1]

    return play


def check_script(script: Script) -> None:
    """Fail at construction, not mid-test, on a script that cannot answer."""
    if isinstance(script, Reply) or (callable(script) and not isinstance(script, Mapping)):
        return
    if not isinstance(script, Mapping):
        raise TypeError("script must be a Reply, a dict of prompt -> Reply, or a callable")
    for prompt, entry in script.items():
        replies = [entry] if isinstance(entry, Reply) else list(entry)
        if not replies or not all(isinstance(reply, Reply) for reply in replies):
            raise TypeError(f"script[{prompt!r}] must be a Reply or a non-empty list of Reply")


def default_error_body(status: int) -> dict[str, Any]:
    """An OpenAI-style error object for `status`."""
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("permission_error", None),
        404: ("invalid_request_error", "model_not_found"),
        429: ("requests", "rate_limit_exceeded"),
    }
    kind, code = kinds.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    message = f"Scripted {status} {phrase}"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _read_chunked(rfile: Any) -> bytes:
    """A request body sent with chunked transfer encoding, trailers skipped."""
    body = bytearray()
    while size := int(rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
        body += rfile.read(size)
        rfile.readline()  # the CRLF closing the chunk
    while rfile.readline().strip():
        pass
    return bytes(body)


def _sleep_until(deadline: float, stop: threading.Event) -> None:
    # Event.wait rather than time.sleep, so stop() never waits for a long scripted delay.
    remaining = deadline - time.perf_counter()
    if remaining > 0:
        stop.wait(remaining)


def _hang(connection: socket.socket, stop: threading.Event) -> None:
    """Hold the request unanswered until the client hangs up or the server stops."""
    while not stop.is_set():
        readable, _, _ = select.select([connection], [], [], 0.05)
        if not readable:
            continue
        try:
            if not connection.recv(1, socket.MSG_PEEK):
                return  # orderly close from the client
        except OSError:
            return
        stop.wait(0.05)  # unread bytes keep the socket readable; do not spin on them


def _reset(connection: socket.socket) -> None:
    # A zero linger makes close() send RST instead of FIN: the client sees a crash, not an end.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class _SSEWriter:
    """Writes server-sent events as HTTP/1.1 chunks, each sent the moment it is written."""

    def __init__(self, wfile: Any) -> None:
        self._wfile = wfile

    def event(self, data: str) -> None:
        self.raw(f"data: {data}\n\n".encode())

    def raw(self, payload: bytes) -> None:
        # One write per chunk (size line, data, CRLF) so it leaves as one segment.
        self._wfile.write(b"%X\r\n%s\r\n" % (len(payload), payload))
        self._wfile.flush()

    def end(self) -> None:
        self._wfile.write(b"0\r\n\r\n")
        self._wfile.flush()


@dataclass
class _Exchange:
    """One chat request being answered: the pieces every response shape needs."""

    request: ReceivedRequest
    reply: Reply
    stop: threading.Event
    completion_id: str = field(default_factory=lambda: f"chatcmpl-scripted-{uuid.uuid4().hex[:12]}")
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def body(self) -> dict[str, Any]:
        return self.request.body if isinstance(self.request.body, dict) else {}

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "scripted")

    @property
    def wants_usage(self) -> bool:
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True

    def due(self, index: int) -> float:
        """perf_counter time at which delta number `index` is due."""
        reply = self.reply
        thought = reply.answer_delay if reply.reasoning and index >= len(reply.reasoning_chunks()) else 0.0
        return self.request.arrived_perf + reply.ttft + index * reply.token_delay + thought

    def deltas(self) -> list[dict[str, Any]]:
        """The streamed deltas in order: reasoning, then content; the first carries the role."""
        deltas: list[dict[str, Any]] = [
            {self.reply.reasoning_field: piece} for piece in self.reply.reasoning_chunks()
        ]
        null = self.reply.fault == "null_content"
        deltas += [{"content": None if null else piece} for piece in self.reply.content_chunks()]
        deltas += [{"tool_calls": [fragment]} for fragment in self.reply.tool_call_deltas()]
        if not deltas:
            deltas = [{"content": None if null else ""}]
        deltas[0] = {"role": "assistant", **deltas[0]}
        return deltas

    def chunk(self, delta: dict[str, Any] | None, finish_reason: str | None = None) -> str:
        choices: list[dict[str, Any]] = []
        if self.reply.fault != "empty_choices" and delta is not None:
            choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.wants_usage and self.reply.include_usage:
            chunk["usage"] = None  # as OpenAI does: null on every chunk but the last
        return json.dumps(chunk)

    def completion(self) -> dict[str, Any]:
        reply = self.reply
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if reply.fault == "null_content" else reply.text,
        }
        if reply.reasoning is not None:
            message[reply.reasoning_field] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [{"id": call.id or f"call_{index}", "type": "function",
                                      "function": {"name": call.name, "arguments": call.arguments}}
                                     for index, call in enumerate(reply.tool_calls)]
        choices = [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}]
        completion: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [] if reply.fault == "empty_choices" else choices,
        }
        usage = reply.usage()
        if usage is not None:
            completion["usage"] = usage
        return completion


class _Handler(BaseHTTPRequestHandler):
    """Routes requests and writes responses; the script and records live on the server."""

    protocol_version = "HTTP/1.1"  # keep-alive, and chunked transfer for streams
    disable_nagle_algorithm = True  # Nagle plus delayed ACK would hold small chunks ~40 ms
    server: _HTTPServer

    def parse_request(self) -> bool:
        # Stamp arrival as soon as the request line is in: every scripted delay counts from here.
        self.arrived_perf = time.perf_counter()
        self.arrived_unix = time.time()
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read server.requests; a line per request on stderr is noise

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self._route()
        except OSError:
            # The client hung up (timeout, cancelled stream) or a fault closed the socket.
            self.close_connection = True

    def _route(self) -> None:
        app = self.server.app
        path = self.path.split("?", 1)[0].rstrip("/")
        headers = self._header_dict()
        authorized = path == "/health" or app.authorized(headers)
        is_messages = self.command == "POST" and path == "/v1/messages"
        is_chat = (self.command == "POST" and path == "/v1/chat/completions") or is_messages
        request = app.record(
            method=self.command,
            path=self.path,
            headers=headers,
            raw_body=self._read_body(),
            arrived=(self.arrived_perf, self.arrived_unix),
            counts_as_attempt=is_chat and authorized,
            client_port=int(self.client_address[1]),
        )
        if not authorized:
            self.send_json(401, {"error": _BAD_KEY_ERROR})
        elif path == "/health" and self.command == "GET":
            self.send_json(200, {"status": "ok"})
        elif path == "/v1/models" and self.command == "GET":
            self.send_json(200, app.models_payload())
        elif is_messages:
            self._answer_messages(_Exchange(request, choose_reply(app.script, request), app.stop_event))
        elif is_chat:
            reply = app.limited(choose_reply(app.script, request))
            self._answer_chat(_Exchange(request, reply, app.stop_event))
        else:
            error = {"message": f"No route for {self.command} {path}", "type": "invalid_request_error"}
            self.send_json(404, {"error": error | {"param": None, "code": None}})

    def _header_dict(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def _read_body(self) -> bytes:
        # The whole body must be consumed, or a kept-alive connection reads it as the next request.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_body(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] = {}) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: Mapping[str, str] = {}) -> None:
        self.send_body(status, json.dumps(payload).encode(), "application/json", headers)

    def _answer_chat(self, exchange: _Exchange) -> None:
        reply = exchange.reply
        if reply.fault == "hang":
            _hang(self.connection, exchange.stop)
            self.close_connection = True
            return
        if reply.status == 200 and reply.fault != "html_200" and exchange.body.get("stream") is True:
            self._stream(exchange)
            return
        _sleep_until(exchange.due(0), exchange.stop)
        if reply.status != 200:
            self._send_error_reply(reply)
        elif reply.fault == "html_200":
            self.send_body(200, _HTML_PAGE, "text/html; charset=utf-8", reply.headers)
        elif reply.fault == "reset_after_chunks":
            self._reset()
        elif reply.fault == "malformed_chunk":
            self.send_body(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json", reply.headers)
        else:
            self.send_json(200, exchange.completion(), reply.headers)

    def _answer_messages(self, exchange: _Exchange) -> None:
        """Anthropic's Messages API: its event stream, or one message object (see
        `evalkit.testing.anthropic_messages`); errors and the hang fault as for chat."""
        reply = exchange.reply
        if reply.fault == "hang":
            _hang(self.connection, exchange.stop)
            self.close_connection = True
            return
        if reply.status != 200:
            _sleep_until(exchange.due(0), exchange.stop)
            self._send_error_reply(reply)
            return
        if exchange.body.get("stream") is not True:
            _sleep_until(exchange.due(0), exchange.stop)
            self.send_json(200, anthropic_messages.message(reply, exchange.model), reply.headers)
            return
        writer = self._start_event_stream(reply)
        deltas = 0
        for is_delta, name, payload in anthropic_messages.stream_events(reply, exchange.model):
            if is_delta:
                _sleep_until(exchange.due(deltas), exchange.stop)
                deltas += 1
            writer.raw(anthropic_messages.sse(name, payload))
        writer.end()

    def _start_event_stream(self, reply: Reply) -> _SSEWriter:
        # Headers go out at once, as real providers do; the first delta waits for ttft.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        return _SSEWriter(self.wfile)

    def _send_error_reply(self, reply: Reply) -> None:
        body = reply.error_body if reply.error_body is not None else default_error_body(reply.status)
        if isinstance(body, str):
            self.send_body(reply.status, body.encode(), "text/plain; charset=utf-8", reply.headers)
        else:
            self.send_json(reply.status, body, reply.headers)

    def _stream(self, exchange: _Exchange) -> None:
        reply = exchange.reply
        writer = self._start_event_stream(reply)
        deltas = exchange.deltas()
        strike = min(reply.fault_after, len(deltas)) if reply.fault in _STREAM_FAULTS else -1
        for index in range(len(deltas) + 1):
            if index < len(deltas) or index == strike:
                _sleep_until(exchange.due(index), exchange.stop)
            if index == strike and reply.fault == "reset_after_chunks":
                self._reset()
                return
            if index == strike:
                writer.event('{"id": "chatcmpl-broken", "choices": [{"delta": {"content": ')
            if index < len(deltas):
                writer.event(exchange.chunk(deltas[index]))
        self._finish_stream(exchange, writer)

    def _finish_stream(self, exchange: _Exchange, writer: _SSEWriter) -> None:
        reply = exchange.reply
        writer.event(exchange.chunk({}, reply.finish_reason))
        usage = reply.usage()
        if exchange.wants_usage and usage is not None:
            last = json.loads(exchange.chunk(None))
            writer.event(json.dumps(last | {"choices": [], "usage": usage}))
        if reply.fault != "no_done":
            writer.event("[DONE]")
        writer.end()

    def _reset(self) -> None:
        self.close_connection = True
        _reset(self.connection)


class _HTTPServer(ThreadingHTTPServer):
    """A thread per connection, with the open connections tracked so stop() can end them."""

    daemon_threads = True
    # Many clients connecting at once must not overflow the listen backlog (default 5):
    # a dropped SYN is retried after a full second and would ruin every timing.
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, port: int, app: ScriptedServer) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Handler threads blocked reading a keep-alive connection wake up on the shutdown.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that hangs up mid-reply is routine here, not worth a traceback
        super().handle_error(request, client_address)


class ScriptedServer:
    """An OpenAI-compatible server on 127.0.0.1 answering as `script` says; a context manager.

    ``script`` may be replaced while the server runs. With ``api_key`` set, requests to
    ``/v1/*`` without ``Authorization: Bearer <api_key>`` get 401. ``port=0`` picks a free port.
    With ``rate_limit`` (a `TokenBucket`), chat requests beyond the account's limit get 429,
    and every chat answer carries the ``x-ratelimit-*`` headers OpenAI sends.
    """

    def __init__(self, script: Script | None = None, *, api_key: str | None = None, port: int = 0,
                 rate_limit: TokenBucket | None = None) -> None:
        self.rate_limit = rate_limit
        self.script: Script = script if script is not None else Reply()
        check_script(self.script)
        self.api_key = api_key
        self.stop_event = threading.Event()
        self._port = port
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._attempts: dict[str, int] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ScriptedServer:
        if self._httpd is not None:
            return self
        self.stop_event.clear()
        self._httpd = _HTTPServer(self._port, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and end open connections and hanging requests; idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stop_event.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedServer is not running; use it as a context manager or call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (``/health`` lives here)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What OpenAI-compatible clients take as base URL: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def chat_requests(self, prompt: str | None = None) -> list[ReceivedRequest]:
        """The chat-completion requests answered by the script, optionally for one prompt."""
        return [r for r in self.requests if r.attempt > 0 and (prompt is None or r.prompt == prompt)]

    def authorized(self, headers: Mapping[str, str]) -> bool:
        """OpenAI's ``Authorization: Bearer`` or Anthropic's ``x-api-key`` header."""
        return (self.api_key is None or headers.get("authorization") == f"Bearer {self.api_key}"
                or headers.get("x-api-key") == self.api_key)

    def record(
        self,
        *,
        method: str,
        path: str,
        headers: dict[str, str],
        raw_body: bytes,
        arrived: tuple[float, float],
        counts_as_attempt: bool,
        client_port: int = 0,
    ) -> ReceivedRequest:
        """Store one request, numbering it among the attempts at the same prompt."""
        body = _parse_json(raw_body)
        prompt = last_user_text(body)
        with self._lock:
            attempt = 0
            if counts_as_attempt:
                attempt = self._attempts.get(prompt, 0) + 1
                self._attempts[prompt] = attempt
            request = ReceivedRequest(
                method, path, headers, body, raw_body, arrived[0], arrived[1], prompt, attempt, client_port
            )
            self._requests.append(request)
        return request

    def limited(self, reply: Reply) -> Reply:
        """The reply as the rate limit lets it out: with its headers, or a 429 instead."""
        if self.rate_limit is None or reply.status != 200:
            return reply
        admitted, headers = self.rate_limit.admit((reply.prompt_tokens or 0) + reply.completion_count())
        if admitted:
            return dataclasses.replace(reply, headers={**reply.headers, **headers})
        return Reply(status=429, headers=headers)

    def models_payload(self) -> dict[str, Any]:
        """``GET /v1/models``: ``scripted`` plus every model id requested so far."""
        ids = ["scripted"]
        for request in self.requests:
            model = request.body.get("model") if isinstance(request.body, dict) else None
            if isinstance(model, str) and model not in ids:
                ids.append(model)
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "evalkit"} for i in ids]
        return {"object": "list", "data": data}


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m evalkit.testing.scripted_server",
        description="Run a scripted OpenAI-compatible server on 127.0.0.1 that gives every "
        "request the same reply; prints its base URL, serves until interrupted.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--text", default="ok", help="answer content, streamed one word per chunk")
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds before the first chunk")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--prompt-tokens", type=int, default=10, help="reported prompt tokens")
    parser.add_argument("--reasoning", default=None, help="reasoning content streamed before the answer")
    parser.add_argument("--cached-tokens", type=int, default=None, help="reported cached prompt tokens")
    parser.add_argument("--usage-shape", default="openai", choices=sorted(USAGE_SHAPES),
                        help="whose usage report to send (cached tokens under that provider's name)")
    parser.add_argument("--no-usage", action="store_true", help="never report usage")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    reply = Reply(
        text=args.text,
        ttft=args.ttft,
        token_delay=args.token_delay,
        prompt_tokens=args.prompt_tokens,
        reasoning=args.reasoning,
        cached_tokens=args.cached_tokens,
        usage_shape=args.usage_shape,
        include_usage=not args.no_usage,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with ScriptedServer(reply, api_key=args.api_key, port=args.port) as server:
        print(server.base_url, flush=True)
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
