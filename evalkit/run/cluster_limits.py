"""Per-model limits across a Ray cluster: one `LimiterState` in an actor, for every task.

A provider's rate limit is per account, so a run split into Ray tasks must not let each
task have its own ``max_concurrency``: `ClusterLimits` (run as a Ray actor by
`evalkit.run.cluster`) holds the run's one `LimiterState`, and every task's runner talks to
it through `ClusterLimiter`, the `Limiter` of `evalkit.run.limits` for a remote state.

A task that dies keeps the permits it held: nothing tells the actor. Each permit is
therefore held in the name of a shard and the attempt that runs it; when Ray retries the
shard, the new attempt's first call takes the shard over (`ClusterLimits.take_over`),
which gives back every permit of the earlier attempts, and refuses them any more. It does
so only once it holds the shard's lease, so the earlier attempt is known to be gone.
This module imports no Ray: the actor handle is passed in, and its calls' results are
Ray object refs, whose ``future()`` is a `concurrent.futures.Future`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from typing import Any

from evalkit.errors import RunStopped
from evalkit.run.limits import CallOutcome, ConcurrencyReport, LimiterState, ModelLimit, Permit

GIVEN_BACK = CallOutcome("error")
"""What a permit of a dead attempt is given back as: not a signal about the provider."""


class ClusterLimits:
    """The run's limiter state for every task of a cluster (run it as an async Ray actor).

    Holders are ``(shard, attempt)``; after `take_over` of a shard only its newest attempt
    is granted permits, so a dead attempt's slots come back and stay back.
    """

    def __init__(self, limits: list[ModelLimit]) -> None:
        self.state = LimiterState(limits)
        self.held: dict[tuple[int, str], dict[tuple[str, int], Permit]] = {}
        """(shard, attempt) -> its permits out, by (model, permit id): ids are per model."""
        self.current: dict[int, str] = {}
        """Shard -> the attempt that took it over last: the only one still granted permits."""
        self._released: dict[str, asyncio.Event] = {}

    async def acquire(self, model: str, shard: int, attempt: str) -> Permit | None:
        """A permit for a call of ``model`` once one may go; None for a superseded attempt."""
        released = self._released.setdefault(model, asyncio.Event())
        while True:
            if self._superseded(shard, attempt):
                return None
            answer = self.state.try_acquire(model)
            if isinstance(answer, Permit):
                break
            released.clear()
            with contextlib.suppress(TimeoutError):  # a release may open a slot sooner than the wait said
                await asyncio.wait_for(released.wait(), None if math.isinf(answer) else answer)
        if self._superseded(shard, attempt):  # taken over while it waited
            self._give_back(answer, GIVEN_BACK)
            return None
        self.held.setdefault((shard, attempt), {})[(answer.model, answer.id)] = answer
        return answer

    async def release(self, permit: Permit, outcome: CallOutcome, shard: int, attempt: str) -> None:
        # A permit of an attempt taken over was given back already: not twice.
        if self.held.get((shard, attempt), {}).pop((permit.model, permit.id), None) is not None:
            self._give_back(permit, outcome)

    async def take_over(self, shard: int, attempt: str) -> int:
        """``attempt`` now runs ``shard``: the permits of its earlier attempts come back.
        Returns how many there were."""
        self.current[shard] = attempt
        returned = 0
        for holder in [h for h in self.held if h[0] == shard and h[1] != attempt]:
            for permit in self.held.pop(holder).values():
                self._give_back(permit, GIVEN_BACK)
                returned += 1
        return returned

    async def snapshot(self) -> dict[str, ConcurrencyReport]:
        return self.state.snapshot()

    async def in_flight(self) -> dict[str, int]:
        """Permits out per model: what the tasks are sending right now."""
        return {label: state.in_flight for label, state in self.state.models.items()}

    def _superseded(self, shard: int, attempt: str) -> bool:
        return self.current.get(shard, attempt) != attempt

    def _give_back(self, permit: Permit, outcome: CallOutcome) -> None:
        self.state.release(permit, outcome)
        event = self._released.get(permit.model)
        if event is not None:
            event.set()


class ClusterLimiter:
    """A task's `Limiter`: the same three calls, answered by the run's `ClusterLimits` actor.

    ``actor`` is the handle `evalkit.run.cluster` passed to the task; ``shard`` the shard
    this task runs. The first `acquire` takes the shard over from any earlier attempt (the
    runner asks only after the shard's lease is held).
    """

    def __init__(self, actor: Any, shard: int) -> None:
        self.actor = actor
        self.shard = shard
        self.attempt = secrets.token_hex(8)
        self._taken_over = False

    async def acquire(self, model: str) -> Permit:
        if not self._taken_over:
            await _result(self.actor.take_over.remote(self.shard, self.attempt))
            self._taken_over = True
        permit = await _result(self.actor.acquire.remote(model, self.shard, self.attempt))
        if permit is None:
            raise RunStopped(f"shard {self.shard} was taken over by a newer attempt; this one stopped sending")
        return permit

    async def release(self, permit: Permit, outcome: CallOutcome) -> None:
        # Posted, not awaited: a call cancelled mid-flight still frees its slot.
        self.actor.release.remote(permit, outcome, self.shard, self.attempt)

    def snapshot(self) -> dict[str, ConcurrencyReport]:
        return self.actor.snapshot.remote().future().result()


async def _result(ref: Any) -> Any:
    """Await a Ray object ref from any event loop."""
    return await asyncio.wrap_future(ref.future())
