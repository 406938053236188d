"""The event-loop lag monitor: how late a short `asyncio.sleep` wakes, sampled all the time.

A call's TTFT is only the provider's when the loop was free to notice the first chunk.
The runner runs one while its calls are in flight and stores on each record the worst lag
seen during its measured attempt; a litellm worker runs one of its own and reports it with
each attempt.
"""

from __future__ import annotations

import asyncio
import time


class LagMonitor:
    """Measures one event loop's lag, between `start` and `stop`, in ms per sample."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.lags: list[float] = []
        """Overshoot of each sample in ms, in order (a float per 10 ms: ~3 MB per hour)."""
        self.task: asyncio.Task | None = None
        self.sleeping_since: float | None = None
        """When the running sample's sleep began."""

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            self.sleeping_since = before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, (time.perf_counter() - before - self.interval) * 1000))

    def mark(self) -> int:
        return len(self.lags)

    def worst_since(self, mark: int) -> float | None:
        """Worst lag of the samples finished since `mark` and the one running now: a stall
        that ended just before the call did, before the sampler could wake, counts too."""
        window = self.lags[max(0, mark - 1):]
        if self.sleeping_since is not None:
            window = [*window, max(0.0, (time.perf_counter() - self.sleeping_since - self.interval) * 1000)]
        return round(max(window), 3) if window else None

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
