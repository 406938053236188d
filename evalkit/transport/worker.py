"""litellm in a process of its own, one per model: calls to providers that are not OpenAI's API.

litellm builds, re-wraps and logs every streamed chunk in Python, ~30 ms of CPU per call on
2 cores (benchmarks/perf/README.md). In the runner's event loop that CPU is queueing inside
every other model's TTFT. So each litellm-routed model (Anthropic, Bedrock, Vertex AI,
Gemini, any provider `evalkit/data/routes.yaml` does not route fast) gets a worker process
with an event loop of its own: it sends the call, times it on its own clock, and reports
back the `Attempt` (or the `CallError`) with the worst lag of *its* loop while the call was
in flight, which the runner stores as the record's client lag. The runner keeps everything
around the call: journal, budget, retries, the first-call gate, records.

Registered as the transport `litellm`: it handles every model the fast path does not.

The parent and the worker speak JSON lines over the worker's stdin and stdout, one object
per line: ``{"op": "warm", "models": [...]}``, ``{"op": "call", "id": n, "request": {...}}``
and ``{"op": "cancel", "id": n}`` go in; ``{"event": "ready"}``, ``{"id": n, "event":
"accepted"}`` (the stream began), ``{"id": n, "event": "done", "attempt": {...}}`` and
``{"id": n, "event": "failed", "error": {...}, "attempt": {...}}`` come out. The worker
ends when its stdin closes, so it never outlives the run (nor a parent that was killed).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import gc
import json
import os
import signal
import stat
import sys
import weakref
from pathlib import Path
from typing import Any

from evalkit import redaction
from evalkit.config import routes
from evalkit.transport import litellm as in_process
from evalkit.transport.base import Attempt, CallError, Endpoint, Request, register
from evalkit.transport.lag import LagMonitor

START_TIMEOUT_S = 120.0
"""Seconds a worker may take to import litellm and warm up (2-9 s on a loaded 2-core machine)."""

NICENESS = 10
"""How much lower the worker's CPU priority is than the runner's. On a machine with few
cores a busy worker would otherwise take CPU from the runner's event loop exactly when a
fast-path stream has a chunk to read; at a lower priority it waits (and its own lag, which
it measures and reports, shows it)."""

STDERR_TAIL = 20
"""Lines of a worker's stderr kept to explain its death."""

_WORKER_MAIN = "import sys; from evalkit.transport import worker; sys.exit(worker.main())"
"""The worker's command (`python -c`): not `-m`, which would run a second copy of this module
next to the one `evalkit.transport` imported, with a warning on stderr."""

_workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, Worker]] = weakref.WeakKeyDictionary()
"""This event loop's workers by (model id, api_base): process pipes belong to one loop."""


async def complete(request: Request) -> Attempt:
    """One attempt through the model's worker, started on first use."""
    return await worker_for(request.model_id, request.api_base).call(request)


async def warm_up(endpoints: set[tuple[str, str | None]]) -> None:
    """Start the workers of these (model id, api_base) pairs and wait until each is ready.
    A worker that cannot start keeps its error, which each of its model's calls reports."""
    await asyncio.gather(*(worker_for(model_id, api_base).ready() for model_id, api_base in endpoints),
                         return_exceptions=True)


async def close_all() -> None:
    """Stop this event loop's workers."""
    workers = _workers.pop(asyncio.get_running_loop(), {})
    await asyncio.gather(*(worker.close() for worker in workers.values()))


def worker_for(model_id: str, api_base: str | None) -> Worker:
    workers = _workers.setdefault(asyncio.get_running_loop(), {})
    worker = workers.get((model_id, api_base))
    # A worker that died is replaced (its calls failed and may be retried); one that never
    # started is kept, so every later call gets its error at once instead of a new start.
    if worker is None or (worker.dead and worker.started):
        worker = workers[(model_id, api_base)] = Worker(model_id)
    return worker


class Worker:
    """The parent's handle on one worker process: calls out, events back, in order of arrival."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, tuple[asyncio.Future, Any]] = {}
        self.next_id = 0
        self.dead = False
        self.started = False
        """True once the worker reported ready."""
        self.stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._starting: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []

    def ready(self) -> asyncio.Future:
        """Done once the worker has imported litellm and warmed up; started on first call."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        return self._starting

    async def _start(self) -> None:
        env = dict(os.environ)
        # The worker imports evalkit from where this process did, whatever sys.path said.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WORKER_MAIN, env=env, limit=2 ** 24,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        started = asyncio.get_running_loop().create_future()
        self.pending[-1] = (started, None)
        self._tasks = [asyncio.ensure_future(self._read_events()), asyncio.ensure_future(self._read_stderr())]
        self._send({"op": "warm", "models": [self.model_id]})
        try:
            await asyncio.wait_for(started, START_TIMEOUT_S)
        except (asyncio.TimeoutError, CallError) as exc:
            self.pending.pop(-1, None)
            await self.close()
            detail = exc if isinstance(exc, CallError) else f"not ready after {START_TIMEOUT_S:.0f} s"
            raise CallError("config", f"the litellm worker for {self.model_id} did not start: {detail}") from None
        self.pending.pop(-1, None)
        self.started = True

    async def call(self, request: Request) -> Attempt:
        await self.ready()
        if self.dead:
            raise CallError("unknown", f"the litellm worker for {self.model_id} has stopped{self._last_words()}")
        self.next_id += 1
        call_id = self.next_id
        future = asyncio.get_running_loop().create_future()
        self.pending[call_id] = (future, request.on_accepted)
        self._send({"op": "call", "id": call_id, "request": _request_json(request)})
        try:
            return await future
        except asyncio.CancelledError:
            if not self.dead:
                self._send({"op": "cancel", "id": call_id})
            raise
        finally:
            self.pending.pop(call_id, None)

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin if self.process is not None else None
        if stdin is not None and not stdin.is_closing():  # a dead worker's calls fail in `_died`
            stdin.write(json.dumps(message).encode() + b"\n")

    async def _read_events(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            event = json.loads(line)
            waiting = self.pending.get(event.get("id", -1))
            if waiting is None or waiting[0].done():
                continue  # a call cancelled here, answered there
            future, on_accepted = waiting
            kind = event["event"]
            if kind == "ready":
                future.set_result(None)
            elif kind == "accepted":
                if on_accepted is not None:
                    on_accepted()
            elif kind == "done":
                future.set_result(_attempt_of(event["attempt"]))
            else:
                future.set_exception(_error_of(event))
        await self._died()

    async def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.stderr.append(redaction.redact(line.decode("utf-8", "replace").rstrip()))

    async def _died(self) -> None:
        """The worker's stdout closed: every call still waiting fails, and says why."""
        self.dead = True
        code = await self.process.wait() if self.process is not None else None
        for future, _ in self.pending.values():
            if not future.done():
                future.set_exception(CallError(
                    "unknown", f"the litellm worker for {self.model_id} exited (code {code}){self._last_words()}"))

    def _last_words(self) -> str:
        lines = [line for line in self.stderr if line.strip()]
        return f": {lines[-1][:300]}" if lines else ""

    async def close(self) -> None:
        process, self.dead = self.process, True
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        for task in self._tasks:
            task.cancel()


def _request_json(request: Request) -> dict[str, Any]:
    return {"model_id": request.model_id, "messages": list(request.messages), "params": request.params,
            "timeout": request.timeout, "api_base": request.api_base, "api_key": request.api_key}


def _attempt_of(data: dict[str, Any] | None) -> Attempt | None:
    return Attempt(**data) if data is not None else None


def _error_of(event: dict[str, Any]) -> CallError:
    error = event["error"]
    return CallError(error["error_class"], redaction.redact(error["message"]), status=error.get("status"),
                     retry_after=error.get("retry_after"), attempt=_attempt_of(event.get("attempt")))


class LitellmWorkers:
    """litellm as a `Transport`: a worker process per (model id, api_base), on this event loop."""

    name = routes.LITELLM
    litellm_ids = True

    def handles(self, model_id: str) -> bool:
        return not routes.takes_fast_path(model_id)

    async def complete(self, request: Request) -> Attempt:
        return await complete(request)

    async def warm_up(self, endpoints: set[Endpoint]) -> None:
        await warm_up({(model_id, api_base) for model_id, api_base, _key in endpoints})

    async def close(self) -> None:
        await close_all()


TRANSPORT = register(LitellmWorkers())


# --- the worker process -----------------------------------------------------------------


def main() -> int:
    if not all(stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISSOCK(os.fstat(fd).st_mode) for fd in (0, 1)):
        print("the litellm worker is started by evalkit's runner, which talks to it "
              "over pipes on stdin and stdout", file=sys.stderr)
        return 2
    # Ctrl-C reaches the whole process group: the parent stops the run and then closes
    # stdin, which ends this process. Stray prints (litellm's) go to stderr: stdout is the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    events = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    asyncio.run(_serve(events))
    return 0


async def _serve(events: Any) -> None:
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader(limit=2 ** 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, events)
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    lag = LagMonitor()
    calls: dict[int, asyncio.Task] = {}

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message).encode() + b"\n")

    async for line in commands:
        command = json.loads(line)
        if command["op"] == "warm":
            await _warm(command["models"])
            lag.start()
            gc.freeze()  # what warming loaded is out of the collector's sight, as in the runner
            send({"id": -1, "event": "ready"})
        elif command["op"] == "call":
            call_id = command["id"]
            calls[call_id] = asyncio.ensure_future(_call(call_id, command["request"], send, lag))
            calls[call_id].add_done_callback(functools.partial(_forget, calls, call_id))
        elif command["op"] == "cancel" and command["id"] in calls:
            calls[command["id"]].cancel()
    for task in list(calls.values()):
        task.cancel()
    lag.stop()


def _forget(calls: dict[int, asyncio.Task], call_id: int, _done: asyncio.Task) -> None:
    calls.pop(call_id, None)


async def _warm(model_ids: list[str]) -> None:
    await in_process.warm_up(set(model_ids))


async def _call(call_id: int, data: dict[str, Any], send: Any, lag: LagMonitor) -> None:
    request = Request(model_id=data["model_id"], messages=tuple(data["messages"]), params=data["params"],
                      timeout=data["timeout"], api_base=data["api_base"], api_key=data["api_key"],
                      on_accepted=lambda: send({"id": call_id, "event": "accepted"}))
    mark = lag.mark()
    try:
        attempt = await in_process.complete(request)
    except CallError as error:
        if error.attempt is not None:
            error.attempt.clock_lag_ms = lag.worst_since(mark)
        send({"id": call_id, "event": "failed", "attempt": _as_json(error.attempt), "error": {
            "error_class": error.error_class, "message": str(error), "status": error.status,
            "retry_after": error.retry_after}})
        return
    except Exception as exc:  # a bug here must fail the call, not hang it
        send({"id": call_id, "event": "failed", "attempt": None, "error": {
            "error_class": "unknown", "message": f"{type(exc).__name__}: {redaction.redact(str(exc))[:300]}"}})
        return
    attempt.clock_lag_ms = lag.worst_since(mark)
    send({"id": call_id, "event": "done", "attempt": _as_json(attempt)})


def _as_json(attempt: Attempt | None) -> dict[str, Any] | None:
    return dataclasses.asdict(attempt) if attempt is not None else None


if __name__ == "__main__":  # `python -m evalkit.transport.worker`: refused, it needs its pipes
    sys.exit(main())
