"""The scripted server answers exactly as scripted, seen through the openai SDK, raw httpx and litellm."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from evalkit.testing.scripted_server import (
    ReceivedRequest,
    Reply,
    ScriptedServer,
    split_words,
)

MESSAGES = [{"role": "user", "content": "hi"}]
TOLERANCE_S = 0.015


def client(server: ScriptedServer, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, **options)


def chat_body(prompt: str = "hi", **fields: Any) -> dict[str, Any]:
    return {"model": "scripted", "messages": [{"role": "user", "content": prompt}], **fields}


def stream_lines(server: ScriptedServer, body: dict[str, Any]) -> list[str]:
    """The non-empty SSE lines of one streamed response, read raw."""
    with httpx.Client(timeout=5) as http, http.stream("POST", f"{server.base_url}/chat/completions",
                                                      json=body) as response:
        assert response.status_code == 200
        return [line for line in response.iter_lines() if line]


def data_events(lines: list[str]) -> list[Any]:
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


# --- content and usage -------------------------------------------------------------------


def test_split_words_keeps_every_character() -> None:
    for text in ["one two  three", " lead\nand trail ", "", "   ", "single"]:
        assert "".join(split_words(text)) == text
    assert split_words("a b c") == ["a ", "b ", "c"]


def test_streamed_text_equals_script() -> None:
    text = "The answer is\n42, of course."
    with ScriptedServer(Reply(text)) as server:
        stream = client(server).chat.completions.create(model="any-model", messages=MESSAGES, stream=True)
        chunks = list(stream)
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(contents) == text
    assert len(contents) == len(split_words(text))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.model for c in chunks} == {"any-model"}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}


def test_custom_chunks_are_streamed_as_given() -> None:
    with ScriptedServer(Reply("abc", chunks=["a", "", "bc"])) as server:
        events = data_events(stream_lines(server, chat_body(stream=True)))
    assert [e["choices"][0]["delta"].get("content") for e in events[:3]] == ["a", "", "bc"]


@pytest.mark.parametrize(
    ("ask", "include", "expect_usage"),
    [(True, True, True), (False, True, False), (True, False, False), (False, False, False)],
)
def test_stream_usage_present_iff_requested_and_included(ask: bool, include: bool, expect_usage: bool) -> None:
    reply = Reply("one two three", prompt_tokens=7, include_usage=include)
    extra = {"stream_options": {"include_usage": True}} if ask else {}
    with ScriptedServer(reply) as server:
        chunks = list(client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True, **extra))
    usages = [c.usage for c in chunks if c.usage is not None]
    if expect_usage:
        assert len(usages) == 1 and chunks[-1].choices == []
        assert (usages[0].prompt_tokens, usages[0].completion_tokens, usages[0].total_tokens) == (7, 3, 10)
    else:
        assert usages == []


def test_usage_details_cached_and_reasoning_tokens() -> None:
    reply = Reply("x", prompt_tokens=100, completion_tokens=40, cached_tokens=64, reasoning_tokens=30)
    with ScriptedServer(reply) as server:
        events = data_events(stream_lines(server, chat_body(stream=True, stream_options={"include_usage": True})))
    assert events[-1]["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 64},
        "completion_tokens_details": {"reasoning_tokens": 30},
    }


def test_reasoning_streams_first_as_reasoning_content() -> None:
    with ScriptedServer(Reply("42", reasoning="think hard")) as server:
        events = data_events(stream_lines(server, chat_body(stream=True)))
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert deltas[:3] == [
        {"role": "assistant", "reasoning_content": "think "},
        {"reasoning_content": "hard"},
        {"content": "42"},
    ]


def test_non_streaming_completion_has_message_and_usage() -> None:
    reply = Reply("four", prompt_tokens=5, completion_tokens=1, reasoning="2+2", finish_reason="length")
    with ScriptedServer(reply) as server:
        completion = client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "four"
    assert completion.choices[0].message.model_extra["reasoning_content"] == "2+2"
    assert completion.choices[0].finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 1)


# --- timing --------------------------------------------------------------------------------


def timed_stream(api: openai.OpenAI) -> tuple[float, float]:
    """Client-side (TTFT, end-to-end) of one streamed request, from just before the call."""
    started = time.perf_counter()
    first = None
    for chunk in api.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - started
    assert first is not None
    return first, time.perf_counter() - started


def test_client_measured_ttft_and_e2e_match_script() -> None:
    reply = Reply("a b c d e", ttft=0.2, token_delay=0.03)
    with ScriptedServer(reply) as server:
        api = client(server)
        timed_stream(api)  # the SDK's first call pays for lazy imports and a connection
        runs = [timed_stream(api) for _ in range(3)]
    ttfts, e2es = [r[0] for r in runs], [r[1] for r in runs]
    # Client overhead (the SDK building the request, a few ms) only ever adds time, so
    # the server is held to: never early, and the best run within the tolerance.
    assert all(ttft >= 0.2 for ttft in ttfts) and min(ttfts) - 0.2 < TOLERANCE_S
    assert all(e2e >= 0.32 for e2e in e2es) and min(e2es) - 0.32 < TOLERANCE_S


def test_non_streaming_delay_is_ttft() -> None:
    with ScriptedServer(Reply("x", ttft=0.1)) as server:
        api = client(server)
        api.chat.completions.create(model="m", messages=MESSAGES)
        elapsed = []
        for _ in range(3):
            started = time.perf_counter()
            api.chat.completions.create(model="m", messages=MESSAGES)
            elapsed.append(time.perf_counter() - started)
    assert all(e >= 0.1 for e in elapsed) and min(elapsed) - 0.1 < TOLERANCE_S


def test_concurrent_requests_run_in_parallel() -> None:
    async def fifty(server: ScriptedServer) -> list[str]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as api:
            async def one(i: int) -> str:
                answer = await api.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"q{i}"}]
                )
                return answer.choices[0].message.content or ""

            return await asyncio.gather(*(one(i) for i in range(50)))

    with ScriptedServer(Reply("done", ttft=0.2)) as server:
        started = time.perf_counter()
        answers = asyncio.run(fifty(server))
        elapsed = time.perf_counter() - started
    assert answers == ["done"] * 50
    assert elapsed < 1.5  # serially this would take 10 s


def test_keep_alive_reuses_the_connection() -> None:
    with ScriptedServer(Reply("a b")) as server, httpx.Client() as http:
        for stream in (True, False, True):
            response = http.post(f"{server.base_url}/chat/completions", json=chat_body(stream=stream))
            assert response.status_code == 200
        # A chunked request body must be read whole, or it would poison the next request.
        chunked = http.post(f"{server.base_url}/chat/completions", content=iter([json.dumps(chat_body("c")).encode()]))
        after = http.post(f"{server.base_url}/chat/completions", json=chat_body("after"))
        ports = {r.client_port for r in server.requests}
    assert chunked.json()["choices"][0]["message"]["content"] == "a b"
    assert server.requests[-2].headers["transfer-encoding"] == "chunked"
    assert after.status_code == 200 and server.requests[-2].prompt == "c"
    assert len(ports) == 1


# --- scripts -------------------------------------------------------------------------------


def test_dict_script_with_per_attempt_list_and_default() -> None:
    script = {
        "flaky": [Reply(status=500), Reply(status=429), Reply("finally")],
        "default": Reply("fallback"),
    }
    with ScriptedServer(script) as server:
        api = client(server)
        outcomes = []
        for _ in range(4):
            try:
                answer = api.chat.completions.create(model="m", messages=[{"role": "user", "content": "flaky"}])
                outcomes.append(answer.choices[0].message.content)
            except openai.APIStatusError as error:
                outcomes.append(error.status_code)
        other = api.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
        attempts = [r.attempt for r in server.chat_requests("flaky")]
    assert outcomes == [500, 429, "finally", "finally"]
    assert other == "fallback"
    assert attempts == [1, 2, 3, 4]


def test_callable_script_sees_the_request() -> None:
    seen: list[ReceivedRequest] = []

    def script(request: ReceivedRequest) -> Reply:
        seen.append(request)
        return Reply(f"echo {request.prompt} #{request.attempt}")

    with ScriptedServer(script) as server:
        api = client(server)
        messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "ping"}]
        replies = [api.chat.completions.create(model="m", messages=messages) for _ in range(2)]
        answers = [reply.choices[0].message.content for reply in replies]
    assert answers == ["echo ping #1", "echo ping #2"]
    assert seen[0].body["messages"] == messages
    assert seen[0].headers["authorization"] == "Bearer test"
    assert seen[0].path == "/v1/chat/completions"
    assert seen[0].arrived_unix == pytest.approx(time.time(), abs=5)


def test_reply_rejects_unknown_fault_and_mismatched_chunks() -> None:
    with pytest.raises(ValueError, match="fault"):
        Reply(fault="explode")
    with pytest.raises(ValueError, match="chunks"):
        Reply("abc", chunks=["a", "b"])
    with pytest.raises(TypeError):
        ScriptedServer({"q": []})


# --- errors --------------------------------------------------------------------------------


def test_api_key_required_when_set() -> None:
    with ScriptedServer(Reply("ok"), api_key="secret") as server:
        for key in ("wrong", ""):
            api = openai.OpenAI(base_url=server.base_url, api_key=key or "none", max_retries=0)
            with pytest.raises(openai.AuthenticationError) as caught:
                api.chat.completions.create(model="m", messages=MESSAGES)
            assert caught.value.status_code == 401
            assert caught.value.code == "invalid_api_key"
        missing = httpx.post(f"{server.base_url}/chat/completions", json=chat_body())
        right = openai.OpenAI(base_url=server.base_url, api_key="secret", max_retries=0)
        answer = right.chat.completions.create(model="m", messages=MESSAGES)
        health = httpx.get(f"{server.url}/health")
    assert missing.status_code == 401
    assert answer.choices[0].message.content == "ok"
    assert health.json() == {"status": "ok"}


def test_rate_limit_with_retry_after() -> None:
    reply = Reply(status=429, headers={"Retry-After": "2"})
    with ScriptedServer(reply) as server, pytest.raises(openai.RateLimitError) as caught:
        client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.body["type"] == "requests"


def test_text_error_body() -> None:
    with ScriptedServer(Reply(status=503, error_body="upstream overloaded")) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json=chat_body())
    assert response.status_code == 503
    assert response.text == "upstream overloaded"
    assert response.headers["content-type"].startswith("text/plain")


# --- faults --------------------------------------------------------------------------------


def test_hang_until_the_client_gives_up() -> None:
    with ScriptedServer(Reply(fault="hang")) as server:
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            client(server, timeout=0.3).chat.completions.create(model="m", messages=MESSAGES, stream=True)
        assert 0.3 <= time.perf_counter() - started < 1.0
    assert len(server.requests) == 1


def test_reset_after_chunks_breaks_the_stream() -> None:
    with ScriptedServer(Reply("a b c d", fault="reset_after_chunks", fault_after=2)) as server:
        received: list[str] = []
        with pytest.raises(openai.APIConnectionError):
            for chunk in client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True):
                received.append(chunk.choices[0].delta.content or "")
        with pytest.raises(openai.APIConnectionError):
            client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert received == ["a ", "b "]


def test_no_done_ends_the_stream_without_done() -> None:
    reply = Reply("a b", fault="no_done")
    with ScriptedServer(reply) as server:
        lines = stream_lines(server, chat_body(stream=True, stream_options={"include_usage": True}))
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
            if c.choices
        )
    assert "data: [DONE]" not in lines
    assert data_events(lines)[-1]["usage"]["completion_tokens"] == 2
    assert text == "a b"


def test_normal_stream_ends_with_done() -> None:
    with ScriptedServer(Reply("a")) as server:
        assert stream_lines(server, chat_body(stream=True))[-1] == "data: [DONE]"


def test_malformed_chunk_raises_a_json_error_in_the_client() -> None:
    with ScriptedServer(Reply("a b c", fault="malformed_chunk", fault_after=1)) as server:
        lines = stream_lines(server, chat_body(stream=True))
        with pytest.raises(json.JSONDecodeError):
            list(client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True))
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[1][6:])
    assert len(data_events([lines[0], *lines[2:]])) == 4  # the stream goes on after the bad line


def test_html_200_is_an_html_page() -> None:
    with ScriptedServer(Reply(fault="html_200")) as server:
        response = httpx.post(f"{server.base_url}/chat/completions", json=chat_body(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_empty_choices_and_null_content() -> None:
    script = {"empty": Reply("a b", fault="empty_choices"), "null": Reply("a b", fault="null_content")}
    with ScriptedServer(script) as server:
        api = client(server)
        empty = list(api.chat.completions.create(model="m", messages=[{"role": "user", "content": "empty"}],
                                                 stream=True))
        null = list(api.chat.completions.create(model="m", messages=[{"role": "user", "content": "null"}], stream=True))
        whole = api.chat.completions.create(model="m", messages=[{"role": "user", "content": "null"}])
    assert empty and all(c.choices == [] for c in empty)
    assert [c.choices[0].delta.content for c in null[:2]] == [None, None]
    assert whole.choices[0].message.content is None


# --- other endpoints and the standalone process -------------------------------------------


def test_models_lists_scripted_and_requested_models() -> None:
    with ScriptedServer() as server:
        client(server).chat.completions.create(model="qwen-test", messages=MESSAGES)
        ids = [m.id for m in client(server).models.list()]
    assert ids == ["scripted", "qwen-test"]


def test_standalone_process_prints_base_url_and_serves() -> None:
    command = [sys.executable, "-m", "evalkit.testing.scripted_server", "--port", "0", "--text", "hello world"]
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        api = openai.OpenAI(base_url=base_url, api_key="test", max_retries=0)
        assert api.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "hello world"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


# --- litellm ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_litellm_streams_content_and_scripted_usage() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    litellm = pytest.importorskip("litellm")

    async def call(server: ScriptedServer) -> tuple[str, list[Any]]:
        response = await litellm.acompletion(
            model="openai/scripted",
            api_base=server.base_url,
            api_key="x",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            max_retries=0,
        )
        text, usages = "", []
        async for chunk in response:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
            if getattr(chunk, "usage", None) is not None:
                usages.append(chunk.usage)
        return text, usages

    reply = Reply("The answer is 42.", prompt_tokens=123, completion_tokens=45, cached_tokens=20)
    with ScriptedServer(reply) as server:
        text, usages = asyncio.run(call(server))
    assert text == "The answer is 42."
    assert usages, "litellm surfaced no usage"
    final = usages[-1]
    assert (final.prompt_tokens, final.completion_tokens, final.total_tokens) == (123, 45, 168)
    assert final.prompt_tokens_details.cached_tokens == 20
