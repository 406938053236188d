"""A fast OpenAI-compatible chat-completions server on 127.0.0.1, for the perf benchmarks.

    python -m benchmarks.perf.server --port 0 --ttft 0.1 --token-delay 0.01 --text "..."

Why it exists: the benchmarks run client and server on the same 2 cores, and evalkit's
scripted server (`evalkit.testing.scripted_server`, a ``ThreadingHTTPServer`` with a thread
per connection, a buffered file per socket and a JSON encode per chunk) cannot keep up
with 64-256 concurrent streams there: every client, raw httpx included, reached ~0.1 of the
ideal throughput and TTFT errors were seconds, so the benchmarks measured the server. This
one answers every request with the same reply, at a small fraction of the CPU per request:

- one event loop and an `asyncio.Protocol` per connection: no threads, no coroutine per
  request; a stream is a chain of `loop.call_at` callbacks, one per due time;
- every byte it can send is built once at start-up (the ids, ``created`` and ``model`` are
  fixed, ``model`` is always ``"scripted"``); a request costs a header scan and one
  ``json.loads`` of its body, to read ``stream`` and ``stream_options.include_usage``;
- chunks are due at absolute times (body complete + ttft + i * token_delay), so late
  callbacks on a busy machine do not push every later chunk back; a chunk already due when
  its predecessor goes out is written at once;
- ``--workers N`` forks N processes, each with its own SO_REUSEPORT listening socket, and
  uvloop is used when importable (``--no-uvloop`` to compare).

The wire format is the scripted server's: SSE over HTTP/1.1 chunked transfer with
keep-alive, one word of ``--text`` per content chunk, the first carrying
``"role": "assistant"``, ``"usage": null`` on each chunk when the request asks for usage,
then a usage chunk with ``choices: []``, ``data: [DONE]`` and the 0-length chunk. One
difference: ``finish_reason: "stop"`` rides on the last content chunk instead of an extra
empty-delta chunk. Each SSE event is one HTTP chunk written with one ``transport.write``;
``[DONE]`` and the terminating chunk share a write. Non-streaming requests get one
``chat.completion`` object after ``--ttft``. ``GET /v1/stats`` reports (and clears) how late
the first chunks went out, so a benchmark can tell the server's share of a TTFT error from
the client's. Anything else but ``POST /v1/chat/completions`` gets a JSON 404. No
authentication, no faults: tests of those use the scripted server.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

from evalkit.testing.scripted_server import split_words

CHAT_PATH = b"/v1/chat/completions"
STATS_PATH = b"/v1/stats"
MAX_HEAD = 64 * 1024
"""A request head larger than this is refused: no client of ours sends one."""
MAX_QUEUED = 32
"""Pipelined requests waiting behind the one being answered before reading pauses."""
COMPLETION_ID = "chatcmpl-bench"
MODEL = "scripted"


# --- bytes built once at start-up ----------------------------------------------------------


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _http_chunk(data: bytes) -> bytes:
    return b"%X\r\n%s\r\n" % (len(data), data)


def _sse_event(data: bytes) -> bytes:
    """One SSE event framed as one HTTP chunk, so that it leaves in one write."""
    return _http_chunk(b"data: " + data + b"\n\n")


def _head(status: str, content_type: str, close: bool, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}"]
    if length is None:
        lines += ["Cache-Control: no-cache", "Transfer-Encoding: chunked"]
    else:
        lines.append(f"Content-Length: {length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _full_response(status: str, body: bytes, close: bool) -> bytes:
    return _head(status, "application/json", close, len(body)) + body


def _error_body(message: str, kind: str = "invalid_request_error") -> bytes:
    return _json({"error": {"message": message, "type": kind, "param": None, "code": None}})


@dataclass(frozen=True)
class Reply:
    """Everything this server ever sends, as bytes, built from the command line."""

    stream_head: tuple[bytes, bytes]
    """Response head of a stream, indexed by whether the connection closes afterwards."""
    stream: tuple[tuple[tuple[bytes, ...], ...], tuple[tuple[bytes, ...], ...]]
    """The writes of a stream without / with usage, grouped by due time: group i goes out
    ttft + i * token_delay after the request; each bytes is one write."""
    completion: tuple[bytes, bytes]
    """A whole non-streamed response, indexed by close."""
    not_found: tuple[bytes, bytes]
    bad_request: tuple[bytes, bytes]
    ttft: float
    token_delay: float


def build_reply(text: str, ttft: float, token_delay: float, prompt_tokens: int, created: int = 0) -> Reply:
    words = split_words(text) or [""]
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
             "total_tokens": prompt_tokens + len(words)}
    base = {"id": COMPLETION_ID, "object": "chat.completion.chunk", "created": created, "model": MODEL}
    end = _sse_event(b"[DONE]") + b"0\r\n\r\n"

    def content_events(with_usage: bool) -> list[bytes]:
        events = []
        for index, word in enumerate(words):
            delta = {"role": "assistant", "content": word} if index == 0 else {"content": word}
            finish = "stop" if index == len(words) - 1 else None
            chunk = base | {"choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            # As OpenAI does: null usage on every chunk but the usage chunk, when it is asked for.
            events.append(_sse_event(_json(chunk | {"usage": None} if with_usage else chunk)))
        return events

    def grouped(events: list[bytes], tail: list[bytes]) -> tuple[tuple[bytes, ...], ...]:
        # The usage chunk, [DONE] and the end go out with the last content chunk, no delay.
        return tuple((event,) for event in events[:-1]) + ((events[-1], *tail),)

    plain = grouped(content_events(False), [end])
    with_usage = grouped(content_events(True), [_sse_event(_json(base | {"choices": [], "usage": usage})), end])
    message = {"role": "assistant", "content": text}
    completion = _json({"id": COMPLETION_ID, "object": "chat.completion", "created": created, "model": MODEL,
                        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
                        "usage": usage})
    not_found = _error_body("No route: only POST /v1/chat/completions is served")
    bad_request = _error_body("The request body is not a JSON object")
    both = (False, True)
    return Reply(
        stream_head=tuple(_head("200 OK", "text/event-stream; charset=utf-8", c) for c in both),  # type: ignore[arg-type]
        stream=(plain, with_usage),
        completion=tuple(_full_response("200 OK", completion, c) for c in both),  # type: ignore[arg-type]
        not_found=tuple(_full_response("404 Not Found", not_found, c) for c in both),  # type: ignore[arg-type]
        bad_request=tuple(_full_response("400 Bad Request", bad_request, c) for c in both),  # type: ignore[arg-type]
        ttft=ttft,
        token_delay=token_delay,
    )


# --- requests ------------------------------------------------------------------------------


@dataclass
class Head:
    """What this server needs from a request head."""

    path: bytes
    is_chat: bool
    content_length: int
    close: bool
    chunked: bool


def parse_head(raw: bytes) -> Head | None:
    """The parts of a request head that matter here; None when it is not HTTP/1.x."""
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return None
    method, target, version = parts
    path = target.split(b"?", 1)[0].rstrip(b"/")
    length, connection, chunked = 0, b"", False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
        elif name == b"connection":
            connection = value.strip().lower()
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    close = b"close" in connection or (version == b"HTTP/1.0" and b"keep-alive" not in connection)
    return Head(path, method == b"POST" and path == CHAT_PATH, max(length, 0), close, chunked)


def chat_options(body: bytes) -> tuple[bool, bool] | None:
    """(stream, include_usage) of a chat request body; None when it is not a JSON object."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    options = payload.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return payload.get("stream") is True, include_usage


# --- responses -----------------------------------------------------------------------------


LATENESS: list[float] = []
"""Seconds by which each answer's first chunk (or whole completion) went out after it was
due: the server's own share of a client's TTFT error. Read and cleared by `GET /v1/stats`."""


PHASE: dict[str, float] = {}
"""Wall-clock times (`time.time()`, shared with a client on this machine) of the first chat
request since the last read and of the last answer's final write: a client's request phase.
Read and cleared by `GET /v1/stats`."""


def stats_body() -> bytes:
    """The lateness since the last read, in ms, the request phase, and a fresh start for the next batch."""
    late = sorted(LATENESS)
    LATENESS.clear()
    phase = dict(PHASE)
    PHASE.clear()

    def pct(q: float) -> float | None:
        return round(1000 * late[min(len(late) - 1, int(q * len(late)))], 3) if late else None

    return _json({"first_chunk_late_ms": {"n": len(late), "p50": pct(0.5), "p99": pct(0.99),
                                          "max": pct(1.0)},
                  "first_request_at": phase.get("first_request_at"),
                  "last_response_at": phase.get("last_response_at")})


class Response:
    """One response in flight: an optional head written at once, then groups of writes,
    group i due at `start` + i * `delay` (`time.monotonic`, the clock of loop.call_at)."""

    __slots__ = ("close", "conn", "delay", "groups", "head", "index", "start", "timer")

    def __init__(self, conn: Connection, head: bytes | None, groups: tuple[tuple[bytes, ...], ...],
                 start: float, delay: float, close: bool) -> None:
        self.conn = conn
        self.head = head
        self.groups = groups
        self.start = start
        self.delay = delay
        self.index = 0
        self.timer: asyncio.TimerHandle | None = None
        self.close = close

    def begin(self) -> None:
        if self.head is not None:
            # Headers go out at once, as real servers send them; the first chunk waits for ttft.
            self.conn.transport.write(self.head)
        self._send_due()

    def _send_due(self) -> None:
        self.timer = None
        conn, groups = self.conn, self.groups
        # The precise clock, not loop.time(): uvloop's is cached per iteration, in whole ms,
        # and its timers may fire up to a millisecond early; a chunk must never go out early.
        write, now = conn.transport.write, monotonic()
        while self.index < len(groups):
            due = self.start + self.index * self.delay
            if due > now:
                # A callback per due time, not a sleeping coroutine: the cheapest wake-up.
                self.timer = conn.loop.call_at(due, self._send_due)
                return
            if self.index == 0 and self.start > 0:  # an answer's first chunk (not a 404's)
                LATENESS.append(now - self.start)
            for data in groups[self.index]:
                write(data)
            self.index += 1
        PHASE["last_response_at"] = time.time()
        conn.finished(self)

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: parses requests as bytes arrive, answers them in order."""

    def __init__(self, reply: Reply, loop: asyncio.AbstractEventLoop) -> None:
        self.reply = reply
        self.loop = loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.buffer = bytearray()
        self.head: Head | None = None
        """The parsed head of a request whose body has not fully arrived."""
        self.body_start = 0
        self.queue: collections.deque[Response] = collections.deque()
        self.active: Response | None = None
        self.starting = False
        self.closing = False
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Nagle plus delayed ACK would hold a small chunk ~40 ms behind the one before.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self.active is not None:
            self.active.cancel()
            self.active = None
        self.queue.clear()

    def eof_received(self) -> bool:
        # A client may half-close after its last request: answer what is queued, then close.
        self.closing = True
        return not (self.active is None and not self.queue)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while not self.closing and self._next_request():
            pass
        self._start_next()
        if len(self.queue) > MAX_QUEUED and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def _next_request(self) -> bool:
        """Take one complete request off the buffer and queue its response; False when
        the buffer holds no complete request yet."""
        if self.head is None and not self._read_head():
            return False
        head = self.head
        assert head is not None
        end = self.body_start + head.content_length
        if len(self.buffer) < end:
            return False  # the rest of the body is in segments still to come
        body = bytes(self.buffer[self.body_start:end])
        del self.buffer[:end]
        self.head = None
        self.queue.append(self._respond(head, body, monotonic()))
        if head.close:
            self.closing = True  # anything after a "Connection: close" request is ignored
        return True

    def _read_head(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._refuse()
            return False
        head = parse_head(bytes(self.buffer[:end]))
        if head is None or head.chunked:
            self._refuse()  # no client of ours sends a chunked body; say so rather than guess
            return False
        self.head, self.body_start = head, end + 4
        return True

    def _refuse(self) -> None:
        self.closing = True
        self.queue.append(Response(self, None, ((self.reply.bad_request[True],),), 0.0, 0.0, True))

    def _respond(self, head: Head, body: bytes, arrived: float) -> Response:
        reply, close = self.reply, head.close
        if head.path == STATS_PATH:
            return Response(self, None, ((_full_response("200 OK", stats_body(), close),),), 0.0, 0.0, close)
        if not head.is_chat:
            return Response(self, None, ((reply.not_found[close],),), 0.0, 0.0, close)
        PHASE.setdefault("first_request_at", time.time())
        options = chat_options(body)
        if options is None:
            return Response(self, None, ((reply.bad_request[close],),), 0.0, 0.0, close)
        stream, include_usage = options
        start = arrived + reply.ttft
        if not stream:
            return Response(self, None, ((reply.completion[close],),), start, 0.0, close)
        return Response(self, reply.stream_head[close], reply.stream[include_usage], start,
                        reply.token_delay, close)

    def _start_next(self) -> None:
        # Responses may finish inside begin(); the flag keeps that from recursing into here.
        if self.starting:
            return
        self.starting = True
        try:
            while self.active is None and self.queue:
                self.active = self.queue.popleft()
                self.active.begin()
        finally:
            self.starting = False
        if self.paused and len(self.queue) <= MAX_QUEUED // 2:
            self.paused = False
            self.transport.resume_reading()

    def finished(self, response: Response) -> None:
        if response is not self.active:
            return
        self.active = None
        if response.close or (self.closing and not self.queue):
            self.transport.close()
            return
        self._start_next()


# --- processes -----------------------------------------------------------------------------


def listening_sockets(port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on one port; with more than one, SO_REUSEPORT lets the
    kernel spread new connections over them, one accept queue per worker."""
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if count > 1:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        port = sock.getsockname()[1]  # port 0 picks one; the next sockets join it
        # Hundreds of clients connect at once: a dropped SYN is retried only after a second.
        sock.listen(4096)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop]:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


async def serve(sock: socket.socket, reply: Reply, ready: Callable[[], None]) -> None:
    """Serve on `sock` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    connections: set[Connection] = set()

    def protocol() -> Connection:
        conn = Connection(reply, loop)
        connections.add(conn)
        return conn

    server = await loop.create_server(protocol, sock=sock, backlog=4096)
    ready()
    await stop.wait()
    server.close()
    for conn in connections:
        if conn.transport is not None and not conn.transport.is_closing():
            conn.transport.abort()


def _die_with_parent() -> None:
    # A worker must not outlive a parent killed without the chance to forward SIGTERM.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def fork_workers(sockets: list[socket.socket]) -> tuple[socket.socket, list[int]]:
    """Fork a process per extra socket; returns this process's socket and, in the parent,
    the children's pids."""
    children: list[int] = []
    for sock in sockets[1:]:
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            for other in sockets:
                if other is not sock:
                    other.close()
            return sock, []
        children.append(pid)
    for sock in sockets[1:]:
        sock.close()
    return sockets[0], children


def stop_workers(children: list[int]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.perf.server",
        description="A fast OpenAI-compatible server on 127.0.0.1 for the perf benchmarks: every "
        "request gets the same reply; prints its base URL, serves until SIGTERM.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument("--text", default="ok", help="answer content, streamed one word per chunk")
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds before the first chunk")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--prompt-tokens", type=int, default=10, help="reported prompt tokens")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    parser.add_argument("--no-uvloop", action="store_true", help="use asyncio's own loop even if uvloop is there")
    args = parser.parse_args(argv)
    if min(args.ttft, args.token_delay) < 0 or args.workers < 1:
        parser.error("--ttft and --token-delay must be >= 0, --workers >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    reply = build_reply(args.text, args.ttft, args.token_delay, args.prompt_tokens, int(time.time()))
    sockets = listening_sockets(args.port, args.workers)
    port = sockets[0].getsockname()[1]
    sock, children = fork_workers(sockets)
    is_parent = sock is sockets[0]

    def ready() -> None:
        if is_parent:
            print(f"http://127.0.0.1:{port}/v1", flush=True)

    loop = loop_factory(not args.no_uvloop)()
    try:
        loop.run_until_complete(serve(sock, reply, ready))
    finally:
        loop.close()
        if is_parent:
            stop_workers(children)
    if not is_parent:
        os._exit(0)  # a forked worker must not run the parent's exit handlers
    return 0


if __name__ == "__main__":
    sys.exit(main())
