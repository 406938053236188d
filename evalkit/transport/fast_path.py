"""The fast path: streamed chat completions straight from OpenAI-compatible endpoints.

OpenAI, DeepSeek, DashScope (Qwen), Moonshot (Kimi), Z.ai (GLM), OpenRouter, several hosts
of open models, and self-hosted vLLM or llama.cpp servers all speak OpenAI's wire format
(`evalkit/data/routes.yaml` names them, with each provider's endpoint, key variables and
parameter spelling), so a call needs one POST and a server-sent-event parser, nothing
more. Measured on 2 cores (benchmarks/perf/README.md), litellm's streaming wrapper costs
~35 ms of client CPU per streamed call and the openai SDK ~9 ms (pydantic models built
for every chunk); aiohttp with the small parser below costs under 1 ms. At dozens of
concurrent streams that difference is what decides whether the latencies evalkit records
are the server's or its own event loop's queueing.

What litellm would do for such a model is kept: the same endpoint, key and request body
for the parameters evalkit sends (tests/test_routes.py checks them against litellm), the
same `Attempt`, usage and its `estimated` flag, `finish_reason` checks, error classes,
Retry-After and key redaction. What is given up: litellm's translation of other
parameters (a model's own `params` go in the body as written) and its callbacks.
`EVALKIT_TRANSPORT=litellm` sends these models through litellm again.

Registered as the transport `fast`: it handles every model whose provider
`evalkit.config.routes` routes fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

from evalkit import redaction
from evalkit.config import routes
from evalkit.transport.base import (
    Attempt,
    CallError,
    Endpoint,
    Request,
    absorb_delta,
    absorb_tool_calls,
    check_complete,
    error_class_for_status,
    one_line,
    rate_limit_headers,
    register,
    retry_after_from_headers,
)

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
"""One shared aiohttp session per event loop: connections are reused across calls and
models, and a pool never outlives the loop its sockets belong to."""

ERROR_BODY_LIMIT = 4096
"""Bytes of an error response kept for its message: enough for any JSON error, and a
misconfigured endpoint answering with a whole web page does not fill the store."""


def session() -> Any:
    """This event loop's shared session, made on first use."""
    loop = asyncio.get_running_loop()
    shared = _sessions.get(loop)
    if shared is None or shared.closed:
        import aiohttp

        # No connection cap: the runner's semaphore is the concurrency limit, and a capped
        # pool would queue calls inside the client, where their wait counts as latency.
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        # Not trust_env: it looks up netrc and the proxy in a worker thread on every call,
        # two thread hops inside each call's latency. `proxy_for` reads the proxy once.
        shared = aiohttp.ClientSession(connector=connector)
        _sessions[loop] = shared
    return shared


async def close_sessions() -> None:
    """Close this event loop's shared session (its sockets belong to the loop)."""
    shared = _sessions.pop(asyncio.get_running_loop(), None)
    if shared is not None and not shared.closed:
        await shared.close()


@lru_cache(maxsize=64)
def proxy_for(url: str) -> str | None:
    """The HTTP(S)_PROXY that applies to this endpoint under NO_PROXY, as the openai SDK and
    litellm would use it; read once per endpoint, as the environment does not change mid-run."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname is None or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _body(request: Request) -> bytes:
    return json.dumps(routes.request_body(request.model_id, list(request.messages), request.params)).encode()


def _endpoint(request: Request) -> tuple[str, str | None]:
    """The chat-completions URL and the key: the request's own, else the provider's (the
    variables litellm would read), so a model needs no api_base to be timed here."""
    route = routes.route_for(request.model_id)
    base = route.endpoint(request.api_base)
    if base is None:
        where = " or ".join(route.api_base_env) or "its api_base"
        raise CallError("config", f"{request.model_id} has no endpoint: set api_base for it in the config "
                                  f"(or {where})")
    return base.rstrip("/") + "/chat/completions", request.api_key or route.key()


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": "evalkit"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def complete(request: Request) -> Attempt:
    """One streamed attempt, timed from just before the request goes out (a new connection
    included: a user of the endpoint waits for it too)."""
    import aiohttp

    url, api_key = _endpoint(request)
    # Per-operation limits like the openai SDK's: connecting, and silence between bytes.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=request.timeout, sock_read=request.timeout)
    body, headers = _body(request), _headers(api_key)
    attempt = Attempt()
    sent = time.perf_counter()
    try:
        async with _posted(url, body, headers, timeout) as (response, sent):
            attempt.rate_limit_headers = rate_limit_headers(response.headers)
            if response.status != 200:
                raise await _status_error(response, attempt)
            content_type = response.headers.get("Content-Type", "")
            if request.on_accepted is not None and "event-stream" in content_type:
                request.on_accepted()
            await _read_events(response, attempt, sent)
    except CallError as error:
        attempt.e2e_s = time.perf_counter() - sent
        redaction.remember(api_key)
        error.attempt = attempt
        raise
    except Exception as exc:  # aiohttp and asyncio raise many types; classify them in one place
        attempt.e2e_s = time.perf_counter() - sent
        redaction.remember(api_key)
        raise _transport_error(exc, attempt) from None
    attempt.e2e_s = time.perf_counter() - sent
    if attempt.chunks == 0 and "event-stream" not in content_type:
        raise CallError("empty", f"the response carried no content (content-type {content_type or '?'})",
                        attempt=attempt)
    check_complete(attempt)
    return attempt


@contextlib.asynccontextmanager
async def _posted(url: str, body: bytes, headers: dict[str, str], timeout: Any) -> AsyncIterator[tuple[Any, float]]:
    """The response (its status and headers read) and the moment its request went out.

    A server may close a keep-alive connection just after a streamed reply (llama.cpp's
    server does, while advertising keep-alive), and the pool can hand that connection to
    the next call before the close arrives. A disconnect before any response byte on such
    a connection means the request was never read, so it goes once more at once, on a
    connection of its own (the pool may hold more dead ones), with the clock restarted: the
    stale socket is the client's, not the endpoint's latency, and not an attempt the runner
    should count or back off for.
    """
    import aiohttp

    options = {"data": body, "headers": headers, "timeout": timeout, "proxy": proxy_for(url)}
    sent = time.perf_counter()
    try:
        response = await session().post(url, **options)
    except aiohttp.ClientConnectorError:
        raise  # a new connection that failed: the endpoint's problem, not a stale socket
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
            sent = time.perf_counter()
            async with await fresh.post(url, **options) as response:
                yield response, sent
        return
    async with response:
        yield response, sent


async def _read_events(response: Any, attempt: Attempt, sent: float) -> None:
    """Parse the event stream as it arrives: `data:` lines, events ended by a blank line."""
    pending = b""
    data: list[bytes] = []
    done = False
    # Read to the end of the body even after `[DONE]`: a body left unread closes the
    # connection instead of returning it to the pool, and the next call pays a new one.
    async for received in response.content.iter_any():
        if done:
            continue
        lines = (pending + received).split(b"\n")
        pending = lines.pop()  # an incomplete line waits for the rest of it
        for line in lines:
            line = line.rstrip(b"\r")
            if line:
                if line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" "))
                continue  # comments, `event:` and `id:` fields carry nothing evalkit uses
            if data:
                done = _dispatch(b"\n".join(data), attempt, time.perf_counter() - sent)
                data = []
                if done:
                    break
    if not done and pending.rstrip(b"\r").startswith(b"data:"):
        data.append(pending.rstrip(b"\r")[5:].lstrip(b" "))
    if data and not done:  # a last event the server did not close with a blank line
        _dispatch(b"\n".join(data), attempt, time.perf_counter() - sent)


def _dispatch(data: bytes, attempt: Attempt, elapsed: float) -> bool:
    """Take one event into the attempt; True when it was the closing `[DONE]`."""
    if data == b"[DONE]":
        return True
    try:
        chunk = json.loads(data)
    except ValueError:
        raise CallError("malformed", f"an event of the stream is not JSON: {_excerpt(data)}") from None
    if not isinstance(chunk, dict):
        raise CallError("malformed", f"an event of the stream is not a JSON object: {_excerpt(data)}")
    if "error" in chunk:  # OpenAI-compatible servers report failures mid-stream this way
        raise CallError("server", f"the server reported an error mid-stream: {_error_text(chunk)}")
    attempt.chunks += 1
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        _take_usage(attempt, usage)
    for choice in chunk.get("choices") or ():
        if isinstance(choice.get("usage"), dict) and attempt.usage_source is None:
            _take_usage(attempt, choice["usage"])  # some servers put it in the last choice
        delta = choice.get("delta") or {}
        absorb_delta(attempt, delta.get("content"),
                     delta.get("reasoning_content") or delta.get("reasoning"), elapsed)
        absorb_tool_calls(attempt, delta.get("tool_calls"), elapsed)
        if choice.get("finish_reason"):
            attempt.finish_reason = choice["finish_reason"]
    return False


def _take_usage(attempt: Attempt, usage: dict[str, Any]) -> None:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not prompt and not completion:
        return  # not reported: evalkit estimates and flags it
    attempt.prompt_tokens, attempt.completion_tokens = prompt, completion
    attempt.usage_source = "provider"
    attempt.cached_tokens = _cached_tokens(usage)
    attempt.cache_write_tokens = _cache_write_tokens(usage)
    attempt.reasoning_tokens = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")


def _cached_tokens(usage: dict[str, Any]) -> int | None:
    """Prompt tokens read from the provider's cache, under each provider's name for them:
    DeepSeek's `prompt_cache_hit_tokens` (with `prompt_cache_miss_tokens` the rest of the
    prompt), OpenAI's and Z.ai's `prompt_tokens_details.cached_tokens`, Moonshot's top-level
    `cached_tokens`, and `cache_read_input_tokens` where an OpenAI-compatible gateway passes
    Anthropic's through. None when the usage names none of them."""
    details = usage.get("prompt_tokens_details") or {}
    for value in (usage.get("prompt_cache_hit_tokens"), details.get("cached_tokens"),
                  usage.get("cached_tokens"), usage.get("cache_read_input_tokens")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _cache_write_tokens(usage: dict[str, Any]) -> int | None:
    """Prompt tokens written to the cache, where the usage reports them (OpenAI's
    `prompt_tokens_details.cache_write_tokens`, Anthropic's `cache_creation_input_tokens`)."""
    details = usage.get("prompt_tokens_details") or {}
    for value in (details.get("cache_write_tokens"), usage.get("cache_creation_input_tokens")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


async def _status_error(response: Any, attempt: Attempt) -> CallError:
    """A refused request: classified by its status, with the server's own message."""
    try:
        text = (await response.content.read(ERROR_BODY_LIMIT)).decode("utf-8", "replace")
    except Exception:  # the message is a courtesy: a broken error body still has its status
        text = ""
    try:
        message = _error_text(json.loads(text))
    except ValueError:
        message = text
    status = response.status
    return CallError(error_class_for_status(status) or "unknown",
                     f"HTTP {status} {response.reason or ''}: {redaction.redact(one_line(message))}".strip(),
                     status=status, retry_after=retry_after_from_headers(response.headers), attempt=attempt)


def _transport_error(exc: BaseException, attempt: Attempt) -> CallError:
    """A call that failed on the wire: timed out, refused, or cut mid-stream."""
    import aiohttp

    name = type(exc).__name__
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        error_class = "timeout"
    elif isinstance(exc, aiohttp.ClientPayloadError) or (attempt.chunks and isinstance(exc, aiohttp.ClientError)):
        error_class = "stream_cut"  # the connection broke after the answer began
    elif isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError, OSError)):
        error_class = "connection"
    else:
        error_class = "unknown"
    detail = redaction.redact(one_line(str(exc))) or "no detail"
    return CallError(error_class, f"{name}: {detail}", attempt=attempt)


def _error_text(payload: Any) -> str:
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def _excerpt(data: bytes) -> str:
    return redaction.redact(one_line(data.decode("utf-8", "replace"), 120))


class FastPath:
    """The fast path as a `Transport`: one shared aiohttp session per event loop."""

    name = routes.FAST
    litellm_ids = True

    def handles(self, model_id: str) -> bool:
        return routes.takes_fast_path(model_id)

    async def complete(self, request: Request) -> Attempt:
        return await complete(request)

    async def warm_up(self, endpoints: set[Endpoint]) -> None:
        session()  # the session is shared by every endpoint: made once, before the clock

    async def close(self) -> None:
        await close_sessions()


TRANSPORT = register(FastPath())
