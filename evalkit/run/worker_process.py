"""One worker process of `--workers N`: a runner on its own event loop and connection pool.

The worker owns no state that outlives it: the store, the journal, the budget, the lease
and the limiter all stay in the parent (`evalkit.run.workers`). Before each call it asks
the parent for a permit (the limiter shared by every worker), for the call's budget
reservation, and to journal the call; each finished record goes to the parent, which
writes it. So a worker killed at any moment leaves nothing half-done: what it finished
is stored, what it had in flight is journalled, and a resume sends exactly those again.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from dataclasses import dataclass, field
from typing import Any

from evalkit.run.channel import Channel, ChannelClosed
from evalkit.run.limits import CallOutcome, ConcurrencyReport, Permit
from evalkit.run.runner import Job, RetryPolicy, Runner
from evalkit.store.records import CallRecord


@dataclass(frozen=True)
class WorkerTask:
    """What one worker is given: its share of the jobs and how to run them."""

    index: int
    """1-based, as the worker is named in messages."""
    run_id: str
    timeout: float
    retry: RetryPolicy
    jobs: list[Job]
    budgeted: bool
    """The run has a `--max-cost`: reserve every call's worst case with the parent."""


@dataclass(frozen=True)
class WorkerReport:
    """How a worker's share went: its records, what the budget held back, its loop's lag."""

    index: int
    records: int
    unsent: int
    stopped: dict[str, str] = field(default_factory=dict)
    """Models this worker stopped after a failure no retry fixes (a bad key): label -> reason."""
    lag_p50_ms: float | None = None
    lag_p99_ms: float | None = None
    lag_max_ms: float | None = None
    """The worker's event-loop lag over its run (sampled every 10 ms): the client's share
    of every latency it timed."""


class ParentLimiter:
    """The run's `Limiter`, whose state lives in the parent: each permit is one round trip."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def acquire(self, model: str) -> Permit:
        permit: Permit = await self.channel.call("acquire", model)
        return permit

    async def release(self, permit: Permit, outcome: CallOutcome) -> None:
        self.channel.post("release", permit, outcome)

    def snapshot(self) -> dict[str, ConcurrencyReport]:
        return {}  # the parent holds the state and reports it


class ParentBudget:
    """The run's budget, held by the parent: a reservation is awaited, a settlement posted."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def try_reserve(self, worst_case: float) -> bool:
        reserved: bool = await self.channel.call("reserve", worst_case)
        return reserved

    def settle(self, reserved: float, actual: float | None) -> None:
        self.channel.post("settle", reserved, actual)


def main(connection: Any, task: WorkerTask) -> None:
    """The spawned process's entry: run the share, then say how it went (or why it failed)."""
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the parent too; it reports
        asyncio.run(_work(connection.fileno(), task))
    connection.close()


async def _work(fileno: int, task: WorkerTask) -> None:
    channel = await Channel.open(fileno)
    records = 0

    def sink(record: CallRecord) -> None:
        nonlocal records
        records += 1
        channel.post("record", record)

    async def journal(job: Job) -> None:
        await channel.call("journal", job.key)

    runner = Runner(task.run_id, task.timeout, task.retry, sink, journal=journal,
                    budget=ParentBudget(channel) if task.budgeted else None, limiter=ParentLimiter(channel))
    running = asyncio.create_task(runner.run(task.jobs))
    listening = asyncio.create_task(_listen(channel, running))
    try:
        await running
    except asyncio.CancelledError:
        pass  # the parent said stop: what finished is sent; the calls in flight stay journalled
    except ChannelClosed:
        return  # the parent is gone: nobody to tell
    except Exception as error:
        channel.post("failed", _portable(error))
    finally:
        listening.cancel()
    channel.post("done", _report(task.index, records, runner))
    with contextlib.suppress(ConnectionError):
        await channel.drain()
    channel.close()


async def _listen(channel: Channel, running: asyncio.Task) -> None:
    """Replies resolve their calls as they arrive; ``stop`` (or a vanished parent) cancels the run."""
    try:
        while True:
            message = await channel.receive()
            if message[0] == "stop":
                running.cancel()
                return
    except ChannelClosed:
        running.cancel()


def _report(index: int, records: int, runner: Runner) -> WorkerReport:
    lags = sorted(runner.lag.lags) if runner.lag is not None else []
    if not lags:
        return WorkerReport(index, records, runner.unsent, dict(runner.stopped))
    p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
    return WorkerReport(index, records, runner.unsent, dict(runner.stopped),
                        round(statistics.median(lags), 3), round(p99, 3), round(lags[-1], 3))


def _portable(error: BaseException) -> BaseException:
    """The error as the parent can unpickle it: itself if it survives the trip, else its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
