"""`--workers N`: one run's calls sent from N processes of this machine, one writer to the store.

A single Python process tops out near 1,200–1,700 streamed calls/s; a sweep of a multi-GPU
deployment asks more. Here N spawned processes (`evalkit.run.worker_process`) each run the
runner on their own event loop and connection pool, over a round-robin share of the run's
jobs, while this process, the parent, keeps everything that makes a run safe to stop:

- the store: workers send each finished record here and the parent's one `RecordWriter`
  commits it, so the store sees one writer as with one process;
- the journal: a worker asks the parent to journal each call and waits for the commit
  before sending it, exactly as the single-process runner does, so the calls in flight
  when anything dies are known and `--resume` sends exactly those again;
- the budget: every worst-case reservation is made on the parent's one `Budget`, so
  ``--max-cost`` holds across workers as it does within one;
- the lease: the parent holds it (and its heartbeat) for the whole run;
- the limiter: the parent's `LimiterState` gives every permit, so a model's
  ``max_concurrency`` and its adaptive window are shared by the workers, not multiplied.

Keeping these in the parent rather than letting each worker write through the store
costs a round trip to the parent per call (microseconds on a local socket) and keeps
every guarantee exactly as it was: one lease, one journal writer, one budget. Workers
writing themselves would each need the lease (or a lease per worker), their own
budget share (a worker could stop on its share while another has money left) and a
SQLite store would see N writers contending for its one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from evalkit.errors import RunStopped, UsageError
from evalkit.run.channel import Channel, ChannelClosed, answer
from evalkit.run.limits import Limiter
from evalkit.run.runner import Job, RunBudget
from evalkit.run.worker_process import WorkerReport, WorkerTask, main
from evalkit.store.records import CallKey, CallRecord

STOP_GRACE_S = 10.0
"""Seconds a worker told to stop may take to send what it finished before it is killed."""


class WorkerDied(RunStopped):
    """A worker process ended without finishing its share (killed, out of memory)."""


def parse_workers(text: str | int | None) -> int:
    """``--workers``: a count of processes (1 or more), or ``auto`` (`free_cores`)."""
    if text is None:
        return 1
    if isinstance(text, int):
        count = text
    elif text.strip().lower() == "auto":
        return free_cores()
    else:
        try:
            count = int(text)
        except ValueError:
            raise UsageError(f"--workers {text}: give a number of processes (e.g. --workers 2) or auto") from None
    if count < 1:
        raise UsageError(f"--workers {count}: at least 1 (1 sends every call from this process)")
    return count


def free_cores() -> int:
    """``--workers auto``: the cores this process may run on (its CPU affinity, so a
    container's or taskset's limit counts) minus the load already on them (the 1-minute
    load average, rounded up), at least 1."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = int(-(-os.getloadavg()[0] // 1)) if hasattr(os, "getloadavg") else 0
    return max(1, usable - busy)


def deal(jobs: list[Job], workers: int) -> list[list[Job]]:
    """Round-robin shares of the (interleaved) jobs: every worker gets every model's calls."""
    return [jobs[i::workers] for i in range(workers) if jobs[i::workers]]


@dataclass
class Parent:
    """What the parent serves its workers: the run's limiter, budget, journal and sink."""

    limiter: Limiter
    budget: RunBudget | None
    journal: Callable[[CallKey], Awaitable[None]]
    """Journal a call before it is sent (waits for the commit); raises if the lease was lost."""
    sink: Callable[[CallRecord], None]


def run_workers(tasks: list[WorkerTask], parent: Parent) -> list[WorkerReport]:
    """Spawn a worker per task and serve them until each has reported; their reports in order.

    A worker that dies stops the others (each sends what it finished, its calls in flight
    stay journalled) and raises `WorkerDied`; an error in a worker is re-raised here.
    """
    return asyncio.run(_run(tasks, parent))


async def _run(tasks: list[WorkerTask], parent: Parent) -> list[WorkerReport]:
    # spawn, not fork: the parent runs threads (the record writer, the lease heartbeat),
    # and a fork copies their locks in whatever state they are
    context = multiprocessing.get_context("spawn")
    processes, channels = [], []
    try:
        for task in tasks:
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(target=main, args=(theirs, task), name=f"evalkit-worker-{task.index}",
                                      daemon=True)
            process.start()
            theirs.close()
            channels.append(await Channel.open(ours.fileno()))
            ours.close()
            processes.append(process)
        serving = [asyncio.create_task(_serve(channel, parent, task, process))
                   for channel, task, process in zip(channels, tasks, processes, strict=True)]
        return await _gather_or_stop(serving, channels)
    finally:
        for channel in channels:
            channel.close()
        await asyncio.to_thread(reap, processes)


async def _gather_or_stop(serving: list[asyncio.Task], channels: list[Channel]) -> list[WorkerReport]:
    """Every worker's report; on the first failure the others are told to stop, and once
    they have sent what they finished (or the grace ran out) the failure is raised."""
    try:
        _, pending = await asyncio.wait(serving, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:  # Ctrl-C in the parent: the workers stop too
        _stop(channels)
        raise
    if pending:
        _stop(channels)
        await asyncio.wait(pending, timeout=STOP_GRACE_S)
        for task in pending:
            task.cancel()
    for task in serving:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in serving]


def _stop(channels: list[Channel]) -> None:
    for channel in channels:
        with contextlib.suppress(Exception):
            channel.post("stop")


async def _serve(channel: Channel, parent: Parent, task: WorkerTask, process: Any) -> WorkerReport:
    """Answer one worker's messages until it reports; `WorkerDied` if it vanishes first."""
    failure: BaseException | None = None
    replies: set[asyncio.Task] = set()
    while True:
        try:
            message = await channel.receive()
        except ChannelClosed:
            await asyncio.to_thread(process.join, 5)
            raise WorkerDied(_death(task, process)) from None
        kind = message[0]
        if kind == "record":
            parent.sink(message[1])
        elif kind == "release":
            await parent.limiter.release(message[1], message[2])
        elif kind == "settle":
            if parent.budget is not None:
                parent.budget.settle(message[1], message[2])
        elif kind in ("acquire", "journal", "reserve"):
            reply = answer(channel, message[1], _handler(parent, kind, message[2]))
            replies.add(reply)
            reply.add_done_callback(replies.discard)
        elif kind == "failed":
            failure = message[1]
        elif kind == "done":
            if failure is not None:
                raise failure
            report: WorkerReport = message[1]
            return report


def _handler(parent: Parent, kind: str, argument: Any) -> Callable[[], Awaitable[Any]]:
    if kind == "acquire":
        return lambda: parent.limiter.acquire(argument)
    if kind == "journal":
        return lambda: parent.journal(argument)

    async def reserve() -> bool:
        if parent.budget is None:
            return True
        reserved = parent.budget.try_reserve(argument)
        return bool(await reserved) if isinstance(reserved, Awaitable) else reserved

    return reserve


def _death(task: WorkerTask, process: Any) -> str:
    code = process.exitcode
    how = (f"was killed by signal {-code}" if code is not None and code < 0
           else f"exited with code {code}" if code is not None else "stopped answering")
    return (f"run {task.run_id}: worker {task.index} {how} before finishing its share; the calls finished "
            f"are stored and those in flight are journalled: continue with evalkit compare --resume {task.run_id}")


def reap(processes: list[Any]) -> None:
    """Wait for every worker to exit; one that does not within the grace is killed."""
    for process in processes:
        process.join(STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()
