"""The only module that imports litellm: one streamed attempt, timed, and the price map.

Everything provider-specific lives here so that the transport can be tuned or bypassed
without touching the runner. Which way a call goes is decided by its provider, from data
(`evalkit.config.routes`): providers whose API is OpenAI's chat completions take the fast path in
`evalkit.transport.fast_path` (litellm's streaming wrapper costs tens of times its client CPU per
call, see benchmarks/perf/README.md); the others go through litellm in a worker process
per model (`evalkit.transport.worker`), so that its CPU is not queueing in another model's
clock. litellm is imported lazily (it takes seconds) and with its remote price-map fetch
turned off.
"""

from __future__ import annotations

from evalkit.errors import EvalkitError

import email.utils
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from evalkit import redaction
from evalkit.config import routes

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

NEVER_RETRIED = {400, 401, 403, 404}

TRANSPORT_ENV = routes.TRANSPORT_ENV
"""Set to `litellm` to send every call through litellm, fast-path providers included."""


@dataclass(frozen=True)
class Request:
    """What one attempt sends. The key is read from the environment by the caller."""

    model_id: str
    messages: tuple[dict[str, str], ...]
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
    reasoning: str = ""
    ttft_s: float | None = None
    reasoning_ttft_s: float | None = None
    e2e_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_source: str | None = None
    finish_reason: str | None = None
    chunks: int = 0
    clock_lag_ms: float | None = None
    """Worst event-loop lag of the process that timed this attempt when that was not the
    caller's (a litellm worker reports its own); None: the caller's loop timed it."""


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
        return self.error_class not in {"auth", "bad_request", "not_found", "permission", "config"}


@lru_cache(maxsize=1)
def _litellm():
    import litellm

    litellm.suppress_debug_info = True
    # Without this litellm fills a missing usage report with its own unflagged estimate;
    # with it, unreported usage reads 0/0 and evalkit flags its own estimate instead.
    litellm.disable_token_counter = True
    litellm.drop_params = True  # a provider that lacks `seed` should not fail the call
    return litellm


def uses_fast_path(model_id: str) -> bool:
    """Whether calls to this model take the fast path: decided by its provider, not by
    whether an api_base is set (`evalkit/data/routes.yaml`)."""
    return routes.takes_fast_path(model_id)


async def complete(request: Request) -> Attempt:
    """Send one streamed chat completion and time it; raise `CallError` on any failure."""
    if uses_fast_path(request.model_id):
        from evalkit.transport import fast_path

        return await fast_path.complete(request)
    from evalkit.transport import worker as litellm_worker

    return await litellm_worker.complete(request)


async def complete_with_litellm(request: Request) -> Attempt:
    """One attempt through litellm in this process (a litellm worker's own calls)."""
    litellm = _litellm()
    attempt = Attempt()
    sent = time.perf_counter()
    try:
        stream = await litellm.acompletion(
            model=request.model_id,
            messages=list(request.messages),
            stream=True,
            stream_options={"include_usage": True},
            api_base=request.api_base,
            api_key=request.api_key,
            timeout=request.timeout,
            # evalkit owns the retry loop: the clients' own retries would stack under it
            # and ignore Retry-After.
            num_retries=0,
            max_retries=0,
            **request.params,
        )
        if request.on_accepted is not None:
            request.on_accepted()
        async for chunk in stream:
            _absorb_chunk(attempt, chunk, time.perf_counter() - sent)
    except CallError:
        raise
    except Exception as exc:  # litellm raises many types; classify them in one place
        attempt.e2e_s = time.perf_counter() - sent
        redaction.remember(request.api_key)
        raise classify(exc, attempt) from None
    attempt.e2e_s = time.perf_counter() - sent
    check_complete(attempt)
    return attempt


async def close_clients() -> None:
    """Close this event loop's fast-path connections and litellm workers (both belong to the loop)."""
    if "evalkit.transport.fast_path" in sys.modules:
        await sys.modules["evalkit.transport.fast_path"].close_sessions()
    if "evalkit.transport.worker" in sys.modules:
        await sys.modules["evalkit.transport.worker"].close_all()


async def warm_up(endpoints: set[tuple[str, str | None, str | None]]) -> None:
    """Load what the first calls need before the clock starts: (model id, api_base, key) each.

    The first real call otherwise pays seconds of imports inside its TTFT. Fast-path
    endpoints get their shared session made here; every litellm-routed model gets its
    worker started, ready once it has imported litellm and walked through a mocked call.
    """
    slow = {(model_id, api_base) for model_id, api_base, _key in endpoints if not uses_fast_path(model_id)}
    if len(slow) < len(endpoints):
        from evalkit.transport import fast_path

        fast_path.session()
    if slow:
        from evalkit.transport import worker as litellm_worker

        await litellm_worker.warm_up(slow)


async def warm_up_litellm(model_ids: set[str]) -> None:
    """Import litellm and walk each model through a mocked streaming call (in a worker)."""
    litellm = _litellm()
    for model_id in sorted(model_ids):
        try:
            stream = await litellm.acompletion(
                model=model_id,
                messages=[{"role": "user", "content": "warm-up"}],
                mock_response="ok",
                stream=True,
                stream_options={"include_usage": True},
            )
            async for _ in stream:
                pass
        except Exception:  # warming is best effort; the real call reports real errors
            pass


def _absorb_chunk(attempt: Attempt, chunk: Any, elapsed: float) -> None:
    """One chunk of litellm's stream (objects; the fast path reads plain JSON instead)."""
    attempt.chunks += 1
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        _take_usage(attempt, usage)
    for choice in getattr(chunk, "choices", None) or []:
        delta = getattr(choice, "delta", None)
        if delta is not None:
            absorb_delta(attempt, getattr(delta, "content", None), getattr(delta, "reasoning_content", None), elapsed)
        if getattr(choice, "finish_reason", None):
            attempt.finish_reason = choice.finish_reason


def absorb_delta(attempt: Attempt, content: str | None, reasoning: str | None, elapsed: float) -> None:
    """Append one delta's answer and reasoning text, timing the first of each."""
    if reasoning:
        attempt.reasoning += reasoning
        if attempt.reasoning_ttft_s is None:
            attempt.reasoning_ttft_s = elapsed
    if content:
        attempt.text += content
        if attempt.ttft_s is None:
            attempt.ttft_s = elapsed


def _take_usage(attempt: Attempt, usage: Any) -> None:
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if not prompt and not completion:
        return  # not reported (litellm's 0/0 stand-in)
    attempt.prompt_tokens = prompt
    attempt.completion_tokens = completion
    attempt.usage_source = "provider"
    details = getattr(usage, "prompt_tokens_details", None)
    attempt.cached_tokens = getattr(details, "cached_tokens", None) if details else None
    completion_details = getattr(usage, "completion_tokens_details", None)
    if completion_details is not None:
        attempt.reasoning_tokens = getattr(completion_details, "reasoning_tokens", None)


def check_complete(attempt: Attempt) -> None:
    """A stream that carried no answer is an error, not an empty answer scored as wrong."""
    if attempt.chunks == 0:
        raise CallError("malformed", "the response stream carried no chunks", attempt=attempt)
    if attempt.finish_reason is None:
        # A stream that stops without saying why was cut: its answer may be truncated, or
        # (no content yet) it was cut before the answer began.
        raise CallError("stream_cut", "the stream ended without a finish_reason", attempt=attempt)
    if not attempt.text and not attempt.reasoning and attempt.finish_reason != "length":
        raise CallError("empty", "the response carried no content", attempt=attempt)


def classify(exc: BaseException, attempt: Attempt | None = None) -> CallError:
    """Map a litellm exception to an error class, status and Retry-After.

    The message is cut to one line and any trace of the key is masked: providers echo
    keys in their error texts, and these messages are stored.
    """
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    name = type(exc).__name__
    message = redaction.redact(one_line(str(exc)))
    if name == "MidStreamFallbackError":
        # the stream broke after it started: a cut connection or a chunk that is not JSON
        cause = exc.__context__
        error_class = "malformed" if cause is not None and "JSON" in type(cause).__name__ else "stream_cut"
    elif status is not None and error_class_for_status(status):
        error_class = error_class_for_status(status)
    elif name in _ERROR_CLASS_BY_NAME:
        error_class = _ERROR_CLASS_BY_NAME[name]
    elif "Timeout" in name:
        error_class = "timeout"
    elif "Connection" in name or "connection" in message.lower():
        error_class = "connection"
    elif "JSON" in name or "json" in message.lower() or "decode" in message.lower():
        error_class = "malformed"
    else:
        error_class = "unknown"
    return CallError(
        error_class, f"{name}: {message}", status=status, retry_after=retry_after_seconds(exc), attempt=attempt
    )


_ERROR_CLASS_BY_STATUS = {400: "bad_request", 401: "auth", 403: "permission", 404: "not_found",
                          408: "timeout", 429: "rate_limit"}
_ERROR_CLASS_BY_NAME = {
    "AuthenticationError": "auth", "PermissionDeniedError": "permission", "NotFoundError": "not_found",
    "RateLimitError": "rate_limit", "BadRequestError": "bad_request", "ContextWindowExceededError": "bad_request",
    "UnsupportedParamsError": "bad_request",
}
"""litellm's exception names, for the errors it raises without an HTTP status."""


def error_class_for_status(status: int) -> str | None:
    """The error class an HTTP status means, or None when the status alone does not say."""
    if status >= 500:
        return "server"
    return _ERROR_CLASS_BY_STATUS.get(status)


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, Retry-After seconds or HTTP date."""
    return retry_after_from_headers(_response_headers(exc))


def retry_after_from_headers(headers: Any) -> float | None:
    """The wait a response's headers ask for, in seconds, or None when they ask for none."""
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


def _response_headers(exc: BaseException) -> Any:
    for candidate in (exc, getattr(exc, "__cause__", None), getattr(exc, "__context__", None)):
        if candidate is None:
            continue
        response = getattr(candidate, "response", None)
        headers = getattr(response, "headers", None)
        if headers:
            return headers
        headers = getattr(candidate, "litellm_response_headers", None) or getattr(candidate, "headers", None)
        if headers:
            return headers
    return None


# --- model facts ---------------------------------------------------------------------


def provider_of(model_id: str) -> str | None:
    """The litellm provider name for a model id, or None if litellm cannot route it."""
    try:
        return _litellm().get_llm_provider(model_id)[1]
    except Exception:
        return None


def model_called(model_id: str) -> str:
    """The model id litellm would call for this one: an alias of litellm's price map
    (`openai/gpt-mini-latest`) is resolved to the model it names (`openai/gpt-5.4-mini`),
    whose price the alias carries. Other ids come back as they are."""
    prefix = model_id.split("/", 1)[0]
    try:
        name, provider, _key, _base = _litellm().get_llm_provider(model_id)
    except Exception:
        return model_id
    return f"{prefix}/{name}" if provider == prefix and "/" in model_id else model_id


def price_map_entry(model_id: str) -> dict[str, Any] | None:
    """The litellm price-map entry for a model id (local copy, no network)."""
    cost = _litellm().model_cost
    if model_id in cost:
        return cost[model_id]
    bare = model_id.split("/", 1)[1] if "/" in model_id else None
    if bare and bare in cost and provider_of(model_id) == cost[bare].get("litellm_provider"):
        return cost[bare]
    return None


def known_chat_models() -> list[str]:
    return sorted(k for k, v in _litellm().model_cost.items() if v.get("mode") == "chat")


def count_tokens(model_id: str, text: str) -> int:
    """A tokenizer estimate, used only when the provider reported no usage."""
    litellm = _litellm()
    litellm.disable_token_counter = False  # sync code: no call can interleave while it is off
    try:
        return int(litellm.token_counter(model=model_id, text=text))
    except Exception:
        # Rough but never zero for non-empty text: ~4 characters per token.
        return max(1, len(text) // 4) if text else 0
    finally:
        litellm.disable_token_counter = True


def price_map_version() -> str:
    litellm = _litellm()
    try:
        from importlib.metadata import version

        return f"litellm {version('litellm')} local price map"
    except Exception:
        return f"litellm {getattr(litellm, '__version__', '?')} local price map"


def missing_keys(model_id: str) -> list[str]:
    """Environment variables litellm would need for this model and cannot find."""
    try:
        result = _litellm().validate_environment(model=model_id)
    except Exception:
        return []
    if result.get("keys_in_environment"):
        return []
    return list(result.get("missing_keys") or [])
