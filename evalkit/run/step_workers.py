"""`capacity --workers N`: each load step sent from N processes, at the step's stated load.

A step of concurrency C is split into shares of C // N (the first C % N workers one more),
each held in flight by its own worker's loop and connection pool, so the endpoint sees C
requests at once, as from one process, without one process's ceiling of calls per second.
A Poisson step of rate R gives each worker R / N with a seed of its own: independent
Poisson arrivals add up to Poisson arrivals at R. Every worker times its requests from the
same moment (the parent names it a little ahead, as a wall-clock time every process of the
machine shares), so their requests merge into one step, summarised as one process's would be.

The workers are spawned once for the whole sweep and keep their connections warm between
steps; each reports the p99 lag of its own event loop per step (`StepWorkers.lag_p99_ms`),
the client's share of the latencies it timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.economics.capacity import Step, SweepOptions, TimedRequest, summarise
from evalkit.economics.sweep import Endpoint, measure_requests
from evalkit.run.channel import Channel
from evalkit.run.workers import WorkerDied, reap

START_AHEAD_S = 0.2
"""How far ahead of now a step's common start is set: time for every worker to hear of it."""


def shares(load: float, workers: int, poisson: bool) -> list[float]:
    """Each worker's share of a step's load: concurrency dealt as whole requests (some
    workers idle when C < N), a Poisson rate in equal parts."""
    if poisson:
        return [load / workers] * workers
    whole = int(load)
    return [float(whole // workers + (1 if i < whole % workers else 0)) for i in range(workers)]


@dataclass
class StepWorkers:
    """A `evalkit.economics.sweep.StepMeasurer` of ``count`` spawned processes."""

    count: int
    endpoint: Endpoint
    prompts: Sequence[tuple]
    lag_p99_ms: list[list[float | None]] = field(default_factory=list)
    """Per step, each worker's event-loop lag p99 (ms) while it measured."""
    cpu_s: list[float] = field(default_factory=list)
    """Per step, the CPU seconds the workers spent on it, together (the client's cost)."""
    _channels: list[Channel] = field(default_factory=list)
    _processes: list[Any] = field(default_factory=list)

    async def __aenter__(self) -> StepWorkers:
        context = multiprocessing.get_context("spawn")  # not fork: the parent may run threads
        for index in range(1, self.count + 1):
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(target=main, args=(theirs, self.endpoint, list(self.prompts)),
                                      name=f"evalkit-step-worker-{index}", daemon=True)
            process.start()
            theirs.close()
            self._channels.append(await Channel.open(ours.fileno()))
            ours.close()
            self._processes.append(process)
        for channel in self._channels:
            asyncio.get_running_loop().create_task(_replies(channel))
        await asyncio.gather(*(channel.call("ready") for channel in self._channels))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for channel in self._channels:
            with contextlib.suppress(Exception):
                channel.post("stop")
                await channel.drain()
            channel.close()
        await asyncio.to_thread(reap, self._processes)

    async def measure(self, endpoint: Endpoint, prompts: Sequence[tuple], options: SweepOptions,
                      load: float, rng: random.Random) -> Step:
        poisson = bool(options.rates)
        start_at = time.time() + START_AHEAD_S
        parts = shares(load, self.count, poisson)
        calls = [channel.call("step", options, part, rng.randrange(2**32), start_at) if part > 0 else _idle()
                 for channel, part in zip(self._channels, parts, strict=True)]
        try:
            answers = await asyncio.gather(*calls)
        except Exception as error:
            raise WorkerDied(f"capacity: a worker stopped during the step at {load:g} ({error}); "
                             "the sweep cannot go on without it") from None
        self.lag_p99_ms.append([lag for _, lag, _ in answers])  # None for a worker idle in this step
        self.cpu_s.append(sum(cpu for _, _, cpu in answers))
        samples = [sample for requests, _, _ in answers for sample in requests]
        w0 = options.warmup_seconds
        return summarise(samples, load, "poisson" if poisson else "closed", w0, w0 + options.step_seconds)


async def _idle() -> tuple[list[TimedRequest], None, float]:
    return [], None, 0.0


async def _replies(channel: Channel) -> None:
    """Read the channel so that replies resolve their calls (a worker sends nothing else)."""
    with contextlib.suppress(Exception):
        while True:
            await channel.receive()


def main(connection: Any, endpoint: Endpoint, prompts: list[tuple]) -> None:
    """A step worker's process: warm its client, then measure each step it is sent."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(connection.fileno(), endpoint, prompts))
    connection.close()


async def _serve(fileno: int, endpoint: Endpoint, prompts: list[tuple]) -> None:
    from evalkit import transport
    from evalkit.transport.lag import LagMonitor

    channel = await Channel.open(fileno)
    await transport.warm_up({(endpoint.model_id, endpoint.api_base, endpoint.api_key)})
    try:
        while True:
            message = await channel.receive()
            if message[0] == "stop":
                return
            if message[0] == "ready":
                channel.reply(message[1], True)
                continue
            _, call_id, options, load, seed, start_at = message
            lag = LagMonitor()
            await asyncio.sleep(max(0.0, start_at - time.time()))
            lag.start()
            cpu = time.process_time()
            try:
                requests: list[TimedRequest] = await measure_requests(
                    endpoint, prompts, options, load, seed, time.perf_counter())
            finally:
                lag.stop()
            ordered = sorted(lag.lags)
            p99 = round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3) if ordered else None
            channel.reply(call_id, (requests, p99, time.process_time() - cpu))
    finally:
        await transport.close_clients()
        channel.close()
