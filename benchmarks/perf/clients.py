"""The clients measured side by side: raw httpx, raw aiohttp, raw openai SDK, evalkit's
provider path (fast path and litellm) and evalkit's full runner, each as
`async call() -> (ttft, e2e)`.

Every client streams the same request to the same scripted server process.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass, field

from evalkit.transport.lag import LagMonitor as RunnerLagMonitor

MESSAGES = ({"role": "user", "content": "What is 2 + 2? Reply with the number."},)
PARAMS = {"temperature": 0, "max_tokens": 64}
STREAM_BODY = {"model": "scripted", "messages": list(MESSAGES), "stream": True,
               "stream_options": {"include_usage": True}, **PARAMS}
"""What the raw baselines send, as evalkit's fast path would."""


def carries_content(data: str | bytes) -> bool:
    """Whether one SSE `data:` payload of the raw baselines holds answer text. Every chunk is
    parsed, as a real client must, so the baselines' CPU is an honest floor."""
    return any((choice.get("delta") or {}).get("content") for choice in json.loads(data).get("choices") or ())


@dataclass
class Measured:
    """One batch of calls: per-call times in seconds, wall clock and client CPU."""

    kind: str
    concurrency: int
    ttft: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0
    errors: int = 0
    loop_lag_p99_ms: float | None = None

    def merge(self, other: Measured) -> Measured:
        """Pool two batches of the same client (wall and CPU add up)."""
        return Measured(self.kind, self.concurrency, self.ttft + other.ttft, self.e2e + other.e2e,
                        self.wall + other.wall, self.cpu + other.cpu, self.errors + other.errors,
                        max(self.loop_lag_p99_ms or 0, other.loop_lag_p99_ms or 0))

    @property
    def calls_per_s(self) -> float:
        return len(self.e2e) / self.wall if self.wall else 0.0

    def pct(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def make_httpx(base_url: str):
    import httpx

    client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None))

    async def call():
        sent = time.perf_counter()
        ttft = None
        async with client.stream("POST", f"{base_url}/chat/completions", json=STREAM_BODY,
                                 headers={"Authorization": "Bearer k"}) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]" and carries_content(line[6:]) \
                        and ttft is None:
                    ttft = time.perf_counter() - sent
        return ttft, time.perf_counter() - sent

    return call


def make_aiohttp(base_url: str):
    """The lightest Python client at hand: aiohttp and a line-by-line parse, no checks."""
    import aiohttp

    session = None
    body = json.dumps(STREAM_BODY).encode()
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}

    async def call():
        nonlocal session
        if session is None or session.closed:  # made inside the loop that uses it
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        sent = time.perf_counter()
        ttft = None
        async with session.post(f"{base_url}/chat/completions", data=body, headers=headers) as response:
            async for line in response.content:
                if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]") \
                        and carries_content(line[6:]) and ttft is None:
                    ttft = time.perf_counter() - sent
        return ttft, time.perf_counter() - sent

    async def close():
        if session is not None:
            await session.close()

    call.close = close
    return call


def make_openai(base_url: str):
    import httpx
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0, http_client=httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)))

    async def call():
        sent = time.perf_counter()
        ttft = None
        stream = await client.chat.completions.create(model="scripted", messages=list(MESSAGES), stream=True,
                                                      stream_options={"include_usage": True}, **PARAMS)
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content and ttft is None:
                    ttft = time.perf_counter() - sent
        return ttft, time.perf_counter() - sent

    return call


def make_provider(base_url: str, transport: str):
    """evalkit's one attempt: `fast` (the fast path, `evalkit.transport.complete`) or `litellm`
    (litellm in this process, as a litellm worker runs it: what litellm costs per call)."""
    from evalkit import transport as dispatch
    from evalkit.transport import litellm as in_process

    request = dispatch.Request(model_id="openai/scripted", messages=MESSAGES, params=PARAMS, timeout=30,
                               api_base=base_url, api_key="k")
    complete = dispatch.complete if transport == "fast" else in_process.complete

    async def call():
        os.environ["EVALKIT_TRANSPORT"] = transport
        attempt = await complete(request)
        return attempt.ttft_s, attempt.e2e_s

    call.close = dispatch.close_clients
    return call


async def run_batch(call, n: int, concurrency: int, kind: str, warm: int = 5) -> Measured:
    """n calls with at most `concurrency` in flight, after a few warm-up calls."""
    for _ in range(warm):
        await call()
    result = Measured(kind, concurrency)
    monitor = LagMonitor()
    monitor.start()
    remaining = n

    async def worker():
        # `concurrency` workers, not a task per call: 100,000 tasks up front would be most
        # of the memory the memory benchmark measures.
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                ttft, e2e = await call()
            except Exception:
                result.errors += 1
                continue
            result.e2e.append(e2e)
            if ttft is not None:
                result.ttft.append(ttft)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(n, concurrency))))
    result.wall, result.cpu = time.perf_counter() - wall, time.process_time() - cpu
    result.loop_lag_p99_ms = monitor.stop()
    if hasattr(call, "close"):
        await call.close()
    return result


class LagMonitor(RunnerLagMonitor):
    """The runner's own event-loop lag monitor, reporting the p99 of a whole batch in ms."""

    def stop(self) -> float | None:  # type: ignore[override]
        super().stop()
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def server_lateness(base_url: str) -> dict:
    """How late the benchmark server sent first chunks since the last asking (ms: n, p50,
    p99, max), and a fresh count from now on."""
    import urllib.request

    with urllib.request.urlopen(f"{base_url}/stats", timeout=10) as response:
        return json.load(response)["first_chunk_late_ms"]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
