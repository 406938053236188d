"""benchmarks/perf/server.py, the fast loopback server, checked at the HTTP seam.

The server runs as its own process, started the way benchmarks/perf/run.py starts a server,
and is talked to with httpx, the openai SDK and raw sockets (for what clients hide:
keep-alive, pipelining, a body split over segments, timing).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx
import openai
import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT = "The answer is 4 and that is all"
WORDS = ["The ", "answer ", "is ", "4 ", "and ", "that ", "is ", "all"]
BODY = {"model": "scripted", "messages": [{"role": "user", "content": "2+2?"}], "stream": True,
        "stream_options": {"include_usage": True}}


@contextmanager
def perf_server(*args: str) -> Iterator[str]:
    """The server in its own process; yields its base URL, checks it stops cleanly on SIGTERM."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.perf.server", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1"), url
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert stderr == ""  # no tracebacks, no asyncio warnings about writes to closed sockets


@pytest.fixture(scope="module")
def fast() -> Iterator[str]:
    with perf_server("--text", TEXT, "--prompt-tokens", "7") as url:
        yield url


@pytest.fixture(scope="module")
def timed() -> Iterator[str]:
    with perf_server("--text", TEXT, "--ttft", "0.1", "--token-delay", "0.02") as url:
        yield url


@pytest.fixture(scope="module", params=["default loop", "--no-uvloop"])
def timed_each_loop(request) -> Iterator[str]:
    """uvloop's clock and timers are coarser than asyncio's: timing must hold on both."""
    extra = [request.param] if request.param.startswith("--") else []
    with perf_server("--text", TEXT, "--ttft", "0.1", "--token-delay", "0.02", *extra) as url:
        yield url


def address(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname, parsed.port


def raw_request(body: dict | bytes, path: str = "/v1/chat/completions", extra: str = "") -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n")
    return head.encode() + data


class RawReader:
    """Reads HTTP/1.1 responses off a socket, keeping whatever arrives beyond one response."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buffer += data

    def _take_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        part, self.buffer = self.buffer.split(marker, 1)
        return part

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        part, self.buffer = self.buffer[:size], self.buffer[size:]
        return part

    def head(self) -> tuple[int, dict[str, str]]:
        lines = self._take_until(b"\r\n\r\n").decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}

    def chunk(self) -> tuple[bytes, float]:
        """One HTTP chunk's data and when its size line was read."""
        size = int(self._take_until(b"\r\n"), 16)
        at = time.perf_counter()
        data = self._take(size)
        assert self._take(2) == b"\r\n"
        return data, at

    def response(self) -> tuple[int, dict[str, str], list[bytes]]:
        """Status, headers and body (the chunks of a chunked body, else one piece)."""
        status, headers = self.head()
        if headers.get("transfer-encoding") == "chunked":
            chunks = []
            while (data := self.chunk()[0]):
                chunks.append(data)
            return status, headers, chunks
        return status, headers, [self._take(int(headers["content-length"]))]


def events(chunks: list[bytes]) -> list[str]:
    """The data of each SSE event; each HTTP chunk must hold exactly one event."""
    out = []
    for chunk in chunks:
        text = chunk.decode()
        assert text.startswith("data: ") and text.endswith("\n\n") and text.count("\n\n") == 1, text
        out.append(text[6:-2])
    return out


def check_stream(datas: list[str], with_usage: bool, prompt_tokens: int = 10) -> None:
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    content = [c for c in chunks if c["choices"]]
    assert [c["choices"][0]["delta"]["content"] for c in content] == WORDS
    assert "".join(c["choices"][0]["delta"]["content"] for c in content) == TEXT
    assert content[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in content] == [None] * 7 + ["stop"]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    if with_usage:
        assert len(chunks) == 9 and chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == {"prompt_tokens": prompt_tokens, "completion_tokens": 8,
                                       "total_tokens": prompt_tokens + 8}
        assert all(c["usage"] is None for c in content)
    else:
        assert len(chunks) == 8 and all("usage" not in c for c in chunks)


# --- the wire ------------------------------------------------------------------------------


@pytest.mark.parametrize("with_usage", [True, False])
def test_httpx_stream_parses_and_joins_to_the_text(fast, with_usage):
    body = BODY if with_usage else {k: v for k, v in BODY.items() if k != "stream_options"}
    with httpx.Client() as client, client.stream("POST", f"{fast}/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        datas = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    check_stream(datas, with_usage, prompt_tokens=7)


def test_each_sse_event_is_one_http_chunk(fast):
    with socket.create_connection(address(fast)) as sock:
        sock.sendall(raw_request(BODY))
        status, _headers, chunks = RawReader(sock).response()
    assert status == 200
    check_stream(events(chunks), with_usage=True, prompt_tokens=7)


def test_openai_sdk_streams_and_completes(fast):
    async def main():
        client = openai.AsyncOpenAI(base_url=fast, api_key="k", max_retries=0)
        stream = await client.chat.completions.create(
            model="scripted", messages=BODY["messages"], stream=True, stream_options={"include_usage": True})
        chunks = [chunk async for chunk in stream]
        completion = await client.chat.completions.create(model="scripted", messages=BODY["messages"])
        await client.close()
        return chunks, completion

    chunks, completion = asyncio.run(main())
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == 8 and chunks[-1].usage.prompt_tokens == 7
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 8, 15)


def test_non_streaming_reply_is_one_chat_completion(fast):
    body = {k: v for k, v in BODY.items() if k not in ("stream", "stream_options")}
    response = httpx.post(f"{fast}/chat/completions", json=body)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["object"] == "chat.completion"
    assert payload["choices"][0]["message"] == {"role": "assistant", "content": TEXT}
    assert payload["usage"] == {"prompt_tokens": 7, "completion_tokens": 8, "total_tokens": 15}


@pytest.mark.parametrize("method, path", [("POST", "/v1/completions"), ("GET", "/v1/chat/completions"),
                                          ("GET", "/v1/models"), ("POST", "/chat/completions")])
def test_other_routes_get_a_json_404(fast, method, path):
    root = fast.removesuffix("/v1")
    response = httpx.request(method, root + path, json=BODY if method == "POST" else None)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_body_that_is_not_json_gets_400_and_the_connection_lives_on(fast):
    with socket.create_connection(address(fast)) as sock:
        reader = RawReader(sock)
        sock.sendall(raw_request(b"{not json"))
        assert reader.response()[0] == 400
        sock.sendall(raw_request(BODY))
        assert reader.response()[0] == 200


# --- connections ---------------------------------------------------------------------------


def test_keep_alive_serves_many_sequential_requests_on_one_connection(fast):
    with socket.create_connection(address(fast)) as sock:
        reader = RawReader(sock)
        for i in range(150):
            sock.sendall(raw_request(BODY if i % 3 else {**BODY, "stream": False}))
            status, headers, chunks = reader.response()
            assert status == 200 and "connection" not in headers
            if i % 3:
                check_stream(events(chunks), with_usage=True, prompt_tokens=7)
            else:
                assert json.loads(chunks[0])["choices"][0]["message"]["content"] == TEXT


def test_httpx_reuses_its_one_connection(fast):
    with httpx.Client(limits=httpx.Limits(max_connections=1)) as client:
        for _ in range(50):
            assert client.post(f"{fast}/chat/completions", json=BODY).text.endswith("data: [DONE]\n\n")


def test_pipelined_requests_are_answered_in_order(fast):
    with socket.create_connection(address(fast)) as sock:
        reader = RawReader(sock)
        sock.sendall(raw_request(BODY) + raw_request(BODY, path="/v1/nope") + raw_request({**BODY, "stream": False}))
        assert reader.response()[0] == 200
        assert reader.response()[0] == 404
        status, _headers, body = reader.response()
        assert status == 200 and json.loads(body[0])["object"] == "chat.completion"


def test_a_deep_pipeline_pauses_reading_and_loses_nothing(timed):
    # The first reply waits for the ttft while 99 more requests queue up behind it.
    with socket.create_connection(address(timed)) as sock:
        reader = RawReader(sock)
        sock.sendall(b"".join(raw_request({**BODY, "stream": False}) for _ in range(100)))
        replies = [reader.response() for _ in range(100)]
    assert all(status == 200 and json.loads(body[0])["choices"][0]["message"]["content"] == TEXT
               for status, _, body in replies)


def test_connection_close_is_honoured(fast):
    with socket.create_connection(address(fast)) as sock:
        reader = RawReader(sock)
        sock.sendall(raw_request(BODY, extra="Connection: close\r\n"))
        status, headers, _ = reader.response()
        assert status == 200 and headers["connection"] == "close"
        assert sock.recv(10) == b""


@pytest.mark.parametrize("cut", [-20, 30], ids=["inside the body", "inside the head"])
def test_a_request_split_over_two_segments_is_read_whole(timed, cut):
    data = raw_request(BODY)
    with socket.create_connection(address(timed)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = RawReader(sock)
        sock.sendall(data[:cut])
        time.sleep(0.15)
        sent = time.perf_counter()
        sock.sendall(data[cut:])
        status, _ = reader.head()
        first, at = reader.chunk()
        chunks = [first]
        while (chunk := reader.chunk()[0]):
            chunks.append(chunk)
    assert status == 200
    check_stream(events(chunks), with_usage=True)
    # TTFT counts from the end of the body, not from the first segment.
    assert 0.1 <= at - sent < 0.2


def test_200_concurrent_streams_all_complete(timed):
    async def main() -> tuple[list[str], float]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            async def one() -> str:
                async with client.stream("POST", f"{timed}/chat/completions", json=BODY) as response:
                    datas = [line[6:] async for line in response.aiter_lines() if line.startswith("data: ")]
                check_stream(datas, with_usage=True)
                return "".join(c["choices"][0]["delta"]["content"] for c in map(json.loads, datas[:-1]) if c["choices"])

            started = time.perf_counter()
            texts = await asyncio.gather(*(one() for _ in range(200)))
            return texts, time.perf_counter() - started

    texts, wall = asyncio.run(main())
    assert texts == [TEXT] * 200
    assert wall < 10  # one at a time would be 200 × 0.24 s = 48 s


# --- timing --------------------------------------------------------------------------------


def test_a_client_hanging_up_mid_stream_leaves_the_others_alone(timed):
    for _ in range(5):
        with socket.create_connection(address(timed)) as sock:
            sock.sendall(raw_request(BODY))
            RawReader(sock).head()  # then close before the first chunk is due
    with socket.create_connection(address(timed)) as sock:
        sock.sendall(raw_request(BODY))
        sock.shutdown(socket.SHUT_WR)  # half-closed after the request: still answered
        status, _, chunks = RawReader(sock).response()
    assert status == 200
    check_stream(events(chunks), with_usage=True)


def test_ttft_and_token_delay_as_a_raw_client_sees_them(timed_each_loop):
    ttfts, lates = [], []
    with socket.create_connection(address(timed_each_loop)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = RawReader(sock)
        for _ in range(5):
            sent = time.perf_counter()
            sock.sendall(raw_request(BODY))
            reader.head()
            times = []
            while True:
                data, at = reader.chunk()
                if not data:
                    break
                times.append(at)
            ttfts.append(times[0] - sent)
            # Chunk i is due 0.1 + i * 0.02 s after the request: never early, and a late one
            # does not push the later ones back (absolute schedule, no drift).
            lates.append([at - sent - (0.1 + i * 0.02) for i, at in enumerate(times[:8])])
    assert min(ttfts) >= 0.1, ttfts
    assert sorted(ttfts)[2] < 0.15, ttfts
    assert min(min(late) for late in lates) >= 0, lates
    assert sorted(late[-1] for late in lates)[2] < 0.03, lates


def test_workers_share_the_port_and_stop_with_the_parent():
    with perf_server("--text", TEXT, "--workers", "2") as url:
        parent = next(p for p in psutil.Process().children() if "--workers" in p.cmdline())
        workers = parent.children()
        assert len(workers) == 1

        async def main():
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None)) as client:
                replies = await asyncio.gather(*(client.post(f"{url}/chat/completions", json=BODY) for _ in range(40)))
            return [r.text.endswith("data: [DONE]\n\n") for r in replies]

        assert all(asyncio.run(main()))
    assert not workers[0].is_running() or workers[0].status() == psutil.STATUS_ZOMBIE


def test_stats_report_how_late_first_chunks_went_out_and_start_afresh(timed):
    httpx.get(f"{timed}/stats")  # what earlier tests left
    for _ in range(5):
        httpx.post(f"{timed}/chat/completions", json=BODY)
    late = httpx.get(f"{timed}/stats").json()["first_chunk_late_ms"]
    assert late["n"] == 5 and 0 <= late["p50"] <= late["p99"] <= late["max"] < 50
    assert httpx.get(f"{timed}/stats").json()["first_chunk_late_ms"] == {"n": 0, "p50": None, "p99": None,
                                                                         "max": None}
