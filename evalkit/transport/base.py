"""The transport contract: what one attempt sends and measures, how it fails, and who sends it.

Owns `Request`, `Attempt` and `CallError` (with its error classes and the statuses never
retried), the stream helpers every transport shares (`absorb_delta`, `absorb_tool_calls`,
`check_complete`, `one_line`, `retry_after_from_headers`), the `Transport` protocol and the
table of registered transports. A transport module implements the protocol and registers
itself here when it is imported; `evalkit.transport` imports the built-in ones and
dispatches each call to the transport that handles its model. This module imports no
transport: every transport imports it, never the dispatch.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from evalkit.errors import EvalkitError

NEVER_RETRIED = {400, 401, 403, 404}
"""HTTP statuses that say the request itself is wrong: sending it again gives the same answer."""

UNFINISHED_THINKING = "unfinished_thinking"
"""Error class of a reply that is reasoning only: the model was still thinking when it
stopped (an unterminated ``<think>``, or reasoning deltas and no answer), most often
because max_tokens ran out. Classified, never scored as a wrong answer."""

BILLED_ERROR_CLASSES = frozenset({UNFINISHED_THINKING})
"""Failed calls the provider still bills: it generated every token (a reply that was all
thinking), so their tokens and cost are recorded as for a success."""

FINAL_ERROR_CLASSES = {"auth", "bad_request", "not_found", "permission", "config", UNFINISHED_THINKING}
"""Error classes a retry cannot fix (the same request thinks as long again)."""

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
"""How Qwen3 and DeepSeek-R1 distils served without a reasoning parser write their
reasoning into the content: before the answer, between these tags."""

Endpoint = tuple[str, str | None, str | None]
"""(model id, api_base, api key): what a transport warms up before the clock starts."""


@dataclass(frozen=True)
class Request:
    """What one attempt sends. The key is read from the environment by the caller."""

    model_id: str
    messages: tuple[dict[str, Any], ...]
    params: dict[str, Any]
    """Sampling parameters and extras: temperature, max_tokens, seed, ..."""
    timeout: float
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    on_accepted: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    """Called once the endpoint has accepted the call and begun its stream, before the
    answer: the runner's first call per model holds the others back only that long."""


@dataclass
class Attempt:
    """What one attempt measured. Times in seconds from the moment the request was sent."""

    text: str = ""
    """The answer: content without any ``<think>...</think>`` reasoning."""
    reasoning: str = ""
    """Reasoning, from ``reasoning_content``/``reasoning`` deltas or ``<think>`` content."""
    ttft_s: float | None = None
    """First answer token (reasoning does not count)."""
    reasoning_ttft_s: float | None = None
    """First reasoning token, where there was reasoning."""
    first_token_s: float | None = None
    """First token of any kind, reasoning included."""
    e2e_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_source: str | None = None
    finish_reason: str | None = None
    chunks: int = 0
    clock_lag_ms: float | None = None
    """Worst event-loop lag of the process that timed this attempt when that was not the
    caller's (a litellm worker reports its own); None: the caller's loop timed it."""
    think_phase: str = "start"
    """Where the content stream is with respect to ``<think>`` (see `absorb_delta`):
    ``start`` (nothing decided yet), ``thinking`` (inside the tags), ``after`` (just past
    ``</think>``, whitespace held), ``answer``."""
    held: str = ""
    """Content held back until it is known to be answer or reasoning: leading whitespace, or
    a piece that may be the start of a tag cut across two chunks."""
    held_since_s: float | None = None
    """When the reply's first held content arrived: the answer's (or the reasoning's) first
    token, should the held text turn out to begin it."""
    open_tag_in_prompt: bool = False
    """The content began without ``<think>`` and without reasoning deltas: a ``</think>``
    may still come and say that everything before it was reasoning (templates of
    DeepSeek-R1 distils put the opening tag in the prompt)."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """The function calls the reply made, in the order of their stream ``index``: each
    ``{"index", "id", "name", "arguments"}``, the arguments as the model wrote them (a JSON
    text, perhaps malformed: parsing them is the scorer's business, not the transport's)."""
    rate_limit_headers: dict[str, str] | None = None
    """The response's ``x-ratelimit-*`` headers (lower-cased names), where it sent any: what
    the account has left, which the runner's limiter paces by; None when it sent none."""


class CallError(EvalkitError):
    """A failed attempt, classified so the runner can decide whether to retry."""

    def __init__(
        self,
        error_class: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        attempt: Attempt | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.status = status
        self.retry_after = retry_after
        self.attempt = attempt

    @property
    def retryable(self) -> bool:
        if self.status in NEVER_RETRIED:
            return False
        return self.error_class not in FINAL_ERROR_CLASSES


class Transport(Protocol):
    """One way calls go out. A transport module makes one and passes it to `register`."""

    name: str
    """Short and unique, e.g. `fast` or `litellm`."""
    litellm_ids: bool
    """Whether its model ids are litellm's (`provider/model`): then evalkit checks them, and
    their keys and prices, against litellm's model map; a transport with ids of its own
    answers for them itself (a config gives such a model its `price`)."""

    def handles(self, model_id: str) -> bool:
        """Whether calls to this model go out this way (asked without any network or heavy import)."""
        ...

    async def complete(self, request: Request) -> Attempt:
        """Send one streamed chat completion and time it; raise `CallError` on any failure."""
        ...

    async def warm_up(self, endpoints: set[Endpoint]) -> None:
        """Make what the first calls to these endpoints need, before the clock starts."""
        ...

    async def close(self) -> None:
        """Release what this event loop's calls opened (connections, processes)."""
        ...


_registered: dict[str, Transport] = {}
"""Registered transports by name, oldest first."""


def register(transport: Transport) -> Transport:
    """Add a transport (or replace the one of that name); it is asked before those registered earlier."""
    _registered.pop(transport.name, None)
    _registered[transport.name] = transport
    return transport


def unregister(name: str) -> None:
    """Remove a registered transport; its models go the way they would have gone without it."""
    _registered.pop(name, None)


def registered() -> list[Transport]:
    """Every registered transport, the one asked first first."""
    return list(reversed(_registered.values()))


def transport_for(model_id: str) -> Transport:
    """The transport that sends this model's calls: the last registered that handles it."""
    for transport in registered():
        if transport.handles(model_id):
            return transport
    raise CallError("config", f"no transport handles {model_id} (registered: {', '.join(_registered) or 'none'})")


# --- what every transport's stream handling shares -----------------------------------


def absorb_delta(attempt: Attempt, content: str | None, reasoning: str | None, elapsed: float) -> None:
    """Append one delta's answer and reasoning text, timing the first token of each kind.

    Reasoning comes as its own field, or in the content between ``<think>`` and
    ``</think>`` at the start of the reply; a tag may be cut across chunks, so text that
    could still be one is held until the next chunk (or the end) decides.
    """
    if (reasoning or content) and attempt.first_token_s is None:
        attempt.first_token_s = elapsed
    if reasoning:
        _add_reasoning(attempt, reasoning, elapsed)
    if content:
        _split_content(attempt, attempt.held + content, elapsed)


def absorb_tool_calls(attempt: Attempt, deltas: Any, elapsed: float) -> None:
    """Merge one delta's ``tool_calls`` fragments into the attempt's calls.

    OpenAI streams each call as fragments keyed by ``index``: the first carries its ``id``
    and ``function.name``, the next ones pieces of ``function.arguments`` to concatenate;
    parallel calls have their own index and may interleave. A reply that opens with a call
    has its first token here, so the first fragment starts the TTFT clock.
    """
    if not isinstance(deltas, list) or not deltas:
        return
    if attempt.first_token_s is None:
        attempt.first_token_s = elapsed
    if attempt.ttft_s is None:
        attempt.ttft_s = elapsed
    for delta in deltas:
        if not isinstance(delta, dict):
            continue
        index = _call_index(attempt, delta)
        call = next((c for c in attempt.tool_calls if c["index"] == index), None)
        if call is None:
            call = {"index": index, "id": None, "name": "", "arguments": ""}
            attempt.tool_calls.append(call)
            attempt.tool_calls.sort(key=lambda c: c["index"])
        if delta.get("id"):
            call["id"] = delta["id"]
        function = delta.get("function") or {}
        if function.get("name"):
            call["name"] += function["name"]
        if isinstance(function.get("arguments"), str):
            call["arguments"] += function["arguments"]


def _call_index(attempt: Attempt, delta: dict[str, Any]) -> int:
    """Which call a fragment belongs to: its ``index``; a server that sends none (some
    OpenAI-compatible gateways send each call whole) is read by the call's id: a new id is
    a new call, no id continues the latest one."""
    index = delta.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        return index
    known = {call["id"]: call["index"] for call in attempt.tool_calls}
    if delta.get("id") in known:
        return known[delta["id"]]
    latest = max(known.values(), default=-1)
    return latest + 1 if delta.get("id") or latest < 0 else latest


def _add_reasoning(attempt: Attempt, text: str, elapsed: float) -> None:
    attempt.reasoning += text
    if attempt.reasoning_ttft_s is None:
        attempt.reasoning_ttft_s = elapsed


def _add_answer(attempt: Attempt, text: str, elapsed: float) -> None:
    attempt.text += text
    if text and attempt.ttft_s is None:
        attempt.ttft_s = elapsed


def _split_content(attempt: Attempt, text: str, elapsed: float) -> None:
    """Route content (held text first) to the answer or the reasoning, by ``think_phase``."""
    attempt.held = ""
    phase = attempt.think_phase
    if phase == "answer":
        if attempt.open_tag_in_prompt and _closes_prompted_thought(attempt, text, elapsed):
            return
        _add_answer(attempt, text, elapsed)
    elif phase == "start":
        began = attempt.held_since_s if attempt.held_since_s is not None else elapsed
        opening = text.lstrip()
        if not opening or (len(opening) < len(THINK_OPEN) and THINK_OPEN.startswith(opening)):
            attempt.held, attempt.held_since_s = text, began  # whitespace, or perhaps the first letters of <think>
        elif opening.startswith(THINK_OPEN):
            attempt.think_phase = "thinking"
            if attempt.reasoning_ttft_s is None:
                # the tag (or blank before it) began with the held text, perhaps a chunk or two ago
                attempt.reasoning_ttft_s = began
            _split_content(attempt, opening[len(THINK_OPEN):], elapsed)
        else:
            attempt.think_phase = "answer"
            attempt.open_tag_in_prompt = not attempt.reasoning
            if not _closes_prompted_thought(attempt, text, began):
                _add_answer(attempt, text, began)
    elif phase == "thinking":
        end = text.find(THINK_CLOSE)
        if end < 0:
            keep = _partial_tag(text, THINK_CLOSE)
            _add_reasoning(attempt, text[: len(text) - keep], elapsed)
            attempt.held = text[len(text) - keep:]
            return
        _add_reasoning(attempt, text[:end], elapsed)
        attempt.think_phase = "after"
        _split_content(attempt, text[end + len(THINK_CLOSE):], elapsed)
    else:  # after: the blank lines between </think> and the answer are neither
        answer = text.lstrip()
        if answer:
            attempt.think_phase = "answer"
            _add_answer(attempt, answer, elapsed)


def _closes_prompted_thought(attempt: Attempt, text: str, elapsed: float) -> bool:
    """With ``text`` the reply so far reads "reasoning</think>answer" and no ``<think>``: the
    text before the tag was reasoning after all. Moves it there and goes on past the tag;
    False (nothing changed) when there is no such closing tag."""
    carried = attempt.text[-(len(THINK_CLOSE) - 1):]  # a tag may be cut across chunks
    if THINK_CLOSE not in carried + text:  # the common case: looked at without copying the answer
        return False
    joined = attempt.text + text
    end = joined.find(THINK_CLOSE, len(attempt.text) - len(carried))
    if THINK_OPEN in joined[:end]:
        return False
    attempt.open_tag_in_prompt = False
    attempt.reasoning, attempt.text = joined[:end], ""
    began = attempt.ttft_s if attempt.ttft_s is not None else elapsed
    attempt.reasoning_ttft_s = began if attempt.reasoning.strip() else None  # a bare "</think>": no thought
    attempt.ttft_s = None  # the answer's first token is yet to come
    attempt.think_phase = "after"
    _split_content(attempt, joined[end + len(THINK_CLOSE):], elapsed)
    return True


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a beginning of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def _flush_held(attempt: Attempt) -> None:
    """At the end of the stream, held text is what it would have become."""
    held, attempt.held = attempt.held, ""
    if attempt.think_phase == "thinking":
        attempt.reasoning += held  # the first letters of a </think> that never came
    elif attempt.think_phase == "start" and held:
        # whitespace or "<thi": not the start of reasoning after all, but the answer
        _add_answer(attempt, held, attempt.held_since_s if attempt.held_since_s is not None else 0.0)


def check_complete(attempt: Attempt) -> None:
    """A stream that carried no answer is an error, not an empty answer scored as wrong."""
    _flush_held(attempt)
    if attempt.chunks == 0:
        raise CallError("malformed", "the response stream carried no chunks", attempt=attempt)
    if attempt.finish_reason is None:
        # A stream that stops without saying why was cut: its answer may be truncated, or
        # (no content yet) it was cut before the answer began.
        raise CallError("stream_cut", "the stream ended without a finish_reason", attempt=attempt)
    if attempt.tool_calls:
        return  # a reply that calls a function is complete without any text
    if not attempt.text and not attempt.reasoning and attempt.finish_reason != "length":
        raise CallError("empty", "the response carried no content", attempt=attempt)
    if not attempt.text.strip() and attempt.reasoning:
        if attempt.finish_reason == "length":
            why = "max_tokens ran out while it was still thinking"
        elif attempt.think_phase == "after":
            why = "it ended its thinking and gave no answer"
        else:
            why = f"it stopped ({attempt.finish_reason}) while still thinking"
        tag = " (an unterminated <think>)" if attempt.think_phase == "thinking" else ""
        raise CallError(UNFINISHED_THINKING, f"the reply is reasoning only{tag}, no answer: {why}", attempt=attempt)


_ERROR_CLASS_BY_STATUS = {400: "bad_request", 401: "auth", 403: "permission", 404: "not_found",
                          408: "timeout", 429: "rate_limit"}


def error_class_for_status(status: int) -> str | None:
    """The error class an HTTP status means, or None when the status alone does not say."""
    if status >= 500:
        return "server"
    return _ERROR_CLASS_BY_STATUS.get(status)


def one_line(text: str, limit: int = 300) -> str:
    """The text on one line, cut to `limit` characters: error messages are stored and printed."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rate_limit_headers(headers: Any) -> dict[str, str] | None:
    """The ``x-ratelimit-*`` headers of a response, names lower-cased; None when there are none."""
    if not headers:
        return None
    found = {str(k).lower(): str(v) for k, v in headers.items() if str(k).lower().startswith("x-ratelimit-")}
    return found or None


def retry_after_from_headers(headers: Any) -> float | None:
    """The wait a response's headers ask for, in seconds (retry-after-ms, Retry-After
    seconds or HTTP date), or None when they ask for none."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
