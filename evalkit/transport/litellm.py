"""litellm, the only module that imports it: one streamed attempt in this process, and its own rules.

A litellm worker process (`evalkit.transport.worker`) sends its calls with `complete`, so
litellm's CPU is spent outside the runner's event loop. The model facts only litellm's code
can give are here too (its provider resolution where `evalkit.transport.model_map` defers
to it, a tokenizer other than tiktoken's, the keys a litellm-routed provider needs); the
price map itself is read as data by `model_map`. litellm is imported on first use (it takes
seconds) and with its remote price-map fetch turned off.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

from evalkit import redaction
from evalkit.transport.base import (
    Attempt,
    CallError,
    Request,
    absorb_delta,
    absorb_tool_calls,
    check_complete,
    error_class_for_status,
    one_line,
    retry_after_from_headers,
)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@lru_cache(maxsize=1)
def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    # Without this litellm fills a missing usage report with its own unflagged estimate;
    # with it, unreported usage reads 0/0 and evalkit flags its own estimate instead.
    litellm.disable_token_counter = True
    litellm.drop_params = True  # a provider that lacks `seed` should not fail the call
    return litellm


async def complete(request: Request) -> Attempt:
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


async def warm_up(model_ids: set[str]) -> None:
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
            absorb_tool_calls(attempt, _tool_call_dicts(getattr(delta, "tool_calls", None)), elapsed)
        if getattr(choice, "finish_reason", None):
            attempt.finish_reason = choice.finish_reason


def _tool_call_dicts(calls: Any) -> list[dict[str, Any]] | None:
    """litellm's tool-call delta objects as the wire's plain fragments (`absorb_tool_calls`)."""
    if not calls:
        return None
    fragments = []
    for call in calls:
        function = getattr(call, "function", None)
        fragments.append({"index": getattr(call, "index", None), "id": getattr(call, "id", None),
                          "function": {"name": getattr(function, "name", None),
                                       "arguments": getattr(function, "arguments", None)}})
    return fragments


def _take_usage(attempt: Attempt, usage: Any) -> None:
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    if not prompt and not completion:
        return  # not reported (litellm's 0/0 stand-in)
    attempt.prompt_tokens = prompt
    attempt.completion_tokens = completion
    attempt.usage_source = "provider"
    details = getattr(usage, "prompt_tokens_details", None)
    # litellm 1.110 moves DeepSeek's prompt_cache_hit_tokens and Anthropic's cache reads into
    # prompt_tokens_details.cached_tokens, and Anthropic's cache writes into its
    # cache_write_tokens; Moonshot's top-level cached_tokens it drops (read here in case a
    # later litellm keeps it): such a call's cache use is not reported (None), never 0.
    attempt.cached_tokens = _first_count(getattr(details, "cached_tokens", None),
                                         getattr(usage, "cache_read_input_tokens", None),
                                         getattr(usage, "prompt_cache_hit_tokens", None),
                                         getattr(usage, "cached_tokens", None))
    attempt.cache_write_tokens = _first_count(getattr(details, "cache_write_tokens", None),
                                              getattr(details, "cache_creation_tokens", None),
                                              getattr(usage, "cache_creation_input_tokens", None))
    completion_details = getattr(usage, "completion_tokens_details", None)
    if completion_details is not None:
        attempt.reasoning_tokens = getattr(completion_details, "reasoning_tokens", None)


def _first_count(*values: Any) -> int | None:
    return next((v for v in values if isinstance(v, int) and not isinstance(v, bool)), None)


def classify(exc: BaseException, attempt: Attempt | None = None) -> CallError:
    """Map a litellm exception to an error class, status and Retry-After.

    The message is cut to one line and any trace of the key is masked: providers echo
    keys in their error texts, and these messages are stored.
    """
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    name = type(exc).__name__
    message = redaction.redact(one_line(str(exc)))
    by_status = error_class_for_status(status) if status is not None else None
    if name == "MidStreamFallbackError":
        # the stream broke after it started: a cut connection or a chunk that is not JSON
        cause = exc.__context__
        error_class = "malformed" if cause is not None and "JSON" in type(cause).__name__ else "stream_cut"
    elif by_status:
        error_class = by_status
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


_ERROR_CLASS_BY_NAME = {
    "AuthenticationError": "auth", "PermissionDeniedError": "permission", "NotFoundError": "not_found",
    "RateLimitError": "rate_limit", "BadRequestError": "bad_request", "ContextWindowExceededError": "bad_request",
    "UnsupportedParamsError": "bad_request",
}
"""litellm's exception names, for the errors it raises without an HTTP status."""


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, Retry-After seconds or HTTP date."""
    return retry_after_from_headers(_response_headers(exc))


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


def count_tokens(model_id: str, text: str) -> int:
    """litellm's tokenizer estimate (`evalkit.transport.tokens` counts OpenAI's models itself)."""
    litellm = _litellm()
    litellm.disable_token_counter = False  # sync code: no call can interleave while it is off
    try:
        return int(litellm.token_counter(model=model_id, text=text))
    except Exception:
        # Rough but never zero for non-empty text: ~4 characters per token.
        return max(1, len(text) // 4) if text else 0
    finally:
        litellm.disable_token_counter = True


def missing_keys(model_id: str) -> list[str]:
    """Environment variables litellm would need for this model and cannot find."""
    try:
        result = _litellm().validate_environment(model=model_id)
    except Exception:
        return []
    if result.get("keys_in_environment"):
        return []
    return list(result.get("missing_keys") or [])
