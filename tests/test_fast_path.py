"""The fast path's HTTP and event-stream handling, against raw loopback servers.

The scripted server covers the faults a provider throws (test_faults.py runs through the
fast path). These tests send bytes the scripted server never does: events split at every
byte, CRLF lines, comments, multi-line data, an error event mid-stream, and count the
connections a run opens.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from evalkit.transport import fast_path
from evalkit.transport.base import Attempt, CallError, Request

EVENT = 'data: {{"choices":[{{"index":0,"delta":{{"content":"{text}"}},"finish_reason":{finish}}}]}}\n\n'
USAGE = 'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}\n\n'


def sse(*events: str) -> bytes:
    return "".join(events).encode()


def answer(words: list[str]) -> bytes:
    parts = [EVENT.format(text=w, finish="null") for w in words[:-1]]
    parts.append(EVENT.format(text=words[-1], finish='"stop"'))
    return sse(*parts, USAGE, "data: [DONE]\n\n")


class RawServer:
    """Answers every request on a connection with `body` (chunked, written `step` bytes at a
    time), or with `status` and `body` as JSON; counts connections and requests."""

    def __init__(self, body: bytes, *, status: int = 200, content_type: str = "text/event-stream",
                 step: int = 0, headers: str = "", close_after: float | None = None) -> None:
        self.body, self.status, self.content_type, self.step, self.headers = body, status, content_type, step, headers
        self.close_after = close_after
        """Close each connection this long after its first reply, keep-alive advertised or not."""
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                self.requests.append(await reader.readexactly(length))
                await self._answer(writer)
                if self.close_after is not None:
                    await asyncio.sleep(self.close_after)
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Type: {self.content_type}\r\n{self.headers}"
                     f"Transfer-Encoding: chunked\r\n\r\n".encode())
        step = self.step or len(self.body)
        for start in range(0, len(self.body), step):
            piece = self.body[start:start + step]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
            if self.step:
                await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def request(base_url: str, key: str | None = "k", **params) -> Request:
    return Request(model_id="openai/m", messages=({"role": "user", "content": "q"},),
                             params={"max_tokens": 8, **params}, timeout=5, api_base=base_url, api_key=key)


def call(server: RawServer, times: int = 1, **params) -> list[Attempt | CallError]:
    async def main():
        outcomes = []
        async with server as base_url:
            for _ in range(times):
                try:
                    outcomes.append(await fast_path.complete(request(base_url, **params)))
                except CallError as error:
                    outcomes.append(error)
            await fast_path.close_sessions()
        return outcomes

    return asyncio.run(main())


def test_a_stream_split_at_every_byte_reads_the_same_as_one_write():
    whole = call(RawServer(answer(["Answer", ": ", "5"])))[0]
    split = call(RawServer(answer(["Answer", ": ", "5"]), step=1))[0]
    for attempt in (whole, split):
        assert attempt.text == "Answer: 5" and attempt.finish_reason == "stop"
        assert (attempt.prompt_tokens, attempt.completion_tokens, attempt.usage_source) == (7, 2, "provider")
        assert 0 < attempt.ttft_s <= attempt.e2e_s


def test_crlf_lines_comments_multiline_data_and_an_unterminated_last_event():
    body = (b": keep-alive comment\r\n\r\n"
            b"event: message\r\nid: 1\r\n"
            b'data: {"choices":[{"index":0,\r\ndata: "delta":{"content":"four"},"finish_reason":"stop"}]}\r\n\r\n'
            b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}')  # no blank line, no [DONE]
    attempt = call(RawServer(body))[0]
    assert attempt.text == "four" and attempt.finish_reason == "stop" and attempt.completion_tokens == 1


def test_calls_share_one_kept_alive_connection():
    server = RawServer(answer(["ok"]))
    outcomes = call(server, times=20)
    assert all(isinstance(o, Attempt) and o.text == "ok" for o in outcomes)
    assert len(server.requests) == 20 and server.connections == 1


def test_a_kept_alive_connection_the_server_closed_after_a_stream_is_not_an_error():
    """llama.cpp's server closes the connection just after each streamed reply while it
    advertises keep-alive; the next call must not fail on the stale socket."""
    for close_after in (0.0, 0.002):
        server = RawServer(answer(["ok"]), headers="Keep-Alive: timeout=5, max=100\r\n", close_after=close_after)
        outcomes = call(server, times=10)
        assert all(isinstance(o, Attempt) and o.text == "ok" for o in outcomes), outcomes
        assert len(server.requests) == 10 and server.connections >= 10


def test_several_dead_pooled_connections_at_once_are_not_an_error():
    """Calls in flight together return several sockets the server is about to close; the
    call after them must not fail however many of them the pool hands out."""
    server = RawServer(answer(["ok"]), headers="Keep-Alive: timeout=5, max=100\r\n", close_after=0.002)

    async def main():
        async with server as base_url:
            outcomes = []
            for _ in range(3):  # 4 calls at once leave 4 pooled sockets; the next calls go one by one
                outcomes += await asyncio.gather(*(fast_path.complete(request(base_url)) for _ in range(4)),
                                                 return_exceptions=True)
                await asyncio.sleep(0.001)  # the replies are read; the server's closes are on their way
                for _ in range(4):
                    try:
                        outcomes.append(await fast_path.complete(request(base_url)))
                    except CallError as error:
                        outcomes.append(error)
            await fast_path.close_sessions()
        return outcomes

    outcomes = asyncio.run(main())
    assert all(isinstance(o, Attempt) and o.text == "ok" for o in outcomes), outcomes
    assert len(outcomes) == 24


def test_the_request_body_carries_the_model_messages_and_parameters_as_given():
    server = RawServer(answer(["ok"]))
    call(server, seed=3, top_k=5)  # top_k is not an OpenAI parameter; self-hosted servers take it
    body = json.loads(server.requests[0])
    assert body["model"] == "m" and body["messages"] == [{"role": "user", "content": "q"}]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["seed"], body["top_k"]) == (8, 3, 5)


def test_an_error_event_mid_stream_is_a_server_error_with_its_message():
    body = sse(EVENT.format(text="Ans", finish="null"),
               'data: {"error":{"message":"the model crashed","type":"server_error"}}\n\n')
    error = call(RawServer(body))[0]
    assert isinstance(error, CallError) and error.error_class == "server" and error.retryable
    assert "the model crashed" in str(error) and error.attempt.text == "Ans"


def test_a_refusal_carries_the_servers_message_without_the_key_and_its_retry_after():
    key = "sk-" + "fastpath0123456789abcdef"
    body = json.dumps({"error": {"message": f"slow down, {key}"}}).encode()
    server = RawServer(body, status=429, content_type="application/json", headers="Retry-After: 7\r\n")
    error = call(server, key=key)[0]
    assert error.error_class == "rate_limit" and error.status == 429 and error.retry_after == 7
    assert "slow down" in str(error) and key not in str(error)


def test_a_json_answer_to_a_streamed_request_is_an_error_naming_the_content_type():
    body = json.dumps({"choices": [{"message": {"content": "4"}, "finish_reason": "stop"}]}).encode()
    error = call(RawServer(body, content_type="application/json"))[0]
    assert error.error_class == "empty" and "application/json" in str(error)


def test_a_refused_connection_is_a_retryable_connection_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main():
        try:
            await fast_path.complete(request(f"http://127.0.0.1:{port}/v1"))
        finally:
            await fast_path.close_sessions()

    with pytest.raises(CallError) as caught:
        asyncio.run(main())
    assert caught.value.error_class == "connection" and caught.value.retryable


def test_the_proxy_comes_from_the_environment_and_no_proxy_exempts_hosts(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "vllm.internal")
    fast_path.proxy_for.cache_clear()
    try:
        assert fast_path.proxy_for("https://api.example.com/v1/chat/completions") == "http://proxy.internal:3128"
        assert fast_path.proxy_for("https://vllm.internal/v1/chat/completions") is None
    finally:
        fast_path.proxy_for.cache_clear()
