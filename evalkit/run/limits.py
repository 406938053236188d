"""Per-model concurrency and rate limits that adapt to what the provider says.

A provider limits requests and tokens per minute per account, not per process; a fixed
`max_concurrency` either wastes that limit or hammers it. This module owns the decision of
when a model's next call may go out, behind one small contract that works wherever its
state lives:

- `LimiterState` is the state and the rules, synchronous and clock-driven, with no event
  loop: an in-process run holds one, the parent of `--workers N` holds one for all its
  workers, and a Ray actor can hold one for every task of a cluster.
- `Limiter` is what the runner awaits: ``acquire(model) -> Permit`` before a call,
  ``release(permit, outcome)`` after it, ``snapshot()`` for the report. `LocalLimiter`
  is the in-process one; a remote one (a parent process, an actor) forwards the same
  three calls to wherever its `LimiterState` lives, and waits as `try_acquire` says
  (`PolledLimiter` does that for a state it can only ask, such as a Ray actor's).

The rules, per model (see `ModelLimit`):

- at most ``window`` calls in flight, never above ``max_concurrency``. An adaptive model
  starts at 2 and doubles each round trip (slow start) up to ``max_concurrency`` or the
  first rate limit; after that it adds one slot per round trip and halves on a 429
  (additive increase, multiplicative decrease), once per round trip however many of the
  calls then in flight come back limited. A fixed model keeps ``max_concurrency`` and
  ignores the next two rules (each retry still waits what its own 429 asked).
- a 429's ``retry-after`` holds every call of the model until it has passed.
- ``x-ratelimit-remaining-requests``/``-tokens`` with ``x-ratelimit-limit-*`` and
  ``x-ratelimit-reset-*`` (OpenAI's headers, and those of the providers that copy them)
  give the account's bucket: its refill rate is ``(limit - remaining) / reset``, and a
  call goes out only when the bucket, as estimated since the last response, holds one
  more request and one more call's tokens. This slows down *before* the limit; the 429
  rule is what is left for providers that send no such headers.
- ``requests_per_minute`` from the config spaces the starts evenly (at most that many
  start in any minute), adaptive or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

SLOW_START = 2
"""An adaptive model's first window: two calls, then doubling while nothing says slow down."""

TOKEN_COST_WEIGHT = 0.2
"""Weight of the latest call in the running mean of tokens a call takes from the bucket."""


@dataclass(frozen=True)
class ModelLimit:
    """What bounds one model's calls, from its config."""

    model: str
    """The model's label in the run."""
    max_concurrency: int
    """Calls in flight at most: the ceiling of an adaptive window, the fixed window otherwise."""
    requests_per_minute: float | None = None
    """Starts spaced so that no more than this many begin in any minute; None: no spacing."""
    adaptive: bool = True
    """Adapt the window to 429s and rate-limit headers; False keeps ``max_concurrency``
    (a capacity sweep measures at concurrencies it sets)."""


@dataclass(frozen=True)
class Permit:
    """Leave to send one call of ``model``; handed back with `Limiter.release`. Plain data,
    so it can cross a process (a worker) or a cluster (a Ray task) boundary."""

    model: str
    id: int
    """The model's permits issued before this one, plus one: the order its calls went out in."""
    epoch: int
    """The model's decrease count when issued: a 429 on a permit from before the latest
    decrease says nothing new (the window already came down for that round trip)."""


@dataclass(frozen=True)
class CallOutcome:
    """How a call ended, as far as limits care: what `Limiter.release` learns from."""

    kind: Literal["ok", "rate_limited", "error"]
    """``ok``: answered; ``rate_limited``: a 429; ``error``: anything else (not a signal)."""
    retry_after_s: float | None = None
    """The wait the response asked for (``retry-after``/``retry-after-ms``)."""
    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_s: float | None = None
    """Seconds until the request bucket is full again (``x-ratelimit-reset-requests``)."""
    reset_tokens_s: float | None = None
    tokens: int | None = None
    """Prompt plus completion tokens of the call, where known: what it took from the bucket."""

    @classmethod
    def from_headers(cls, kind: Literal["ok", "rate_limited", "error"], headers: Mapping[str, str] | None,
                     *, retry_after_s: float | None = None, tokens: int | None = None) -> CallOutcome:
        """An outcome with whatever ``x-ratelimit-*`` headers the response carried."""
        lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}

        def count(name: str) -> int | None:
            value = _number(lowered.get(f"x-ratelimit-{name}"))
            return int(value) if value is not None and value >= 0 else None  # Azure sends -1: unknown

        return cls(kind, retry_after_s=retry_after_s, tokens=tokens,
                   limit_requests=count("limit-requests"), limit_tokens=count("limit-tokens"),
                   remaining_requests=count("remaining-requests"), remaining_tokens=count("remaining-tokens"),
                   reset_requests_s=parse_reset(lowered.get("x-ratelimit-reset-requests")),
                   reset_tokens_s=parse_reset(lowered.get("x-ratelimit-reset-tokens")))


@dataclass(frozen=True)
class ConcurrencyReport:
    """The concurrency one model actually ran at over the run, for the summary and reports."""

    model: str
    max_concurrency: int
    adaptive: bool
    calls: int
    """Permits released: calls sent, retries counted apart."""
    rate_limited: int
    """Of those, answered with a 429."""
    mean_in_flight: float | None
    """Time-weighted mean of calls in flight, from the model's first call to its last
    answer; None before any call."""
    max_in_flight: int
    window: int
    """The window at the snapshot: the concurrency the model was allowed last."""
    lowest_window: int
    """The smallest window after slow start ended (``max_concurrency`` if it never came down)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Limiter(Protocol):
    """When a model's next call may go out. One per run, wherever its state lives."""

    async def acquire(self, model: str) -> Permit:
        """Wait until a call of ``model`` may be sent; the permit goes back via `release`."""
        ...

    async def release(self, permit: Permit, outcome: CallOutcome) -> None:
        """The call of ``permit`` ended with ``outcome``: free its slot and learn from it."""
        ...

    def snapshot(self) -> dict[str, ConcurrencyReport]:
        """Each model's concurrency so far, by label."""
        ...


class LimiterState:
    """Every model's window, buckets and counters; the rules of the module docstring.

    Synchronous and driven by its own clock (``time.monotonic`` of the process holding it),
    so it can live wherever the run's limiter lives. Not thread-safe: one owner calls it.
    """

    def __init__(self, limits: Iterable[ModelLimit], clock=time.monotonic) -> None:
        self.clock = clock
        self.models = {limit.model: _ModelState(limit) for limit in limits}

    def add(self, limit: ModelLimit) -> None:
        """Register a model (a no-op for one already known: the first registration wins)."""
        self.models.setdefault(limit.model, _ModelState(limit))

    def try_acquire(self, model: str) -> Permit | float:
        """A permit if a call of ``model`` may go now; else the seconds to wait before
        asking again (``math.inf``: until a call of the model is released)."""
        state = self.models[model]
        now = self.clock()
        wait = state.wait(now)
        if wait > 0:
            return wait
        state.take(now)
        return Permit(model, state.issued, state.epoch)

    def release(self, permit: Permit, outcome: CallOutcome) -> None:
        self.models[permit.model].give_back(permit, outcome, self.clock())

    def snapshot(self) -> dict[str, ConcurrencyReport]:
        now = self.clock()
        return {label: state.report(now) for label, state in self.models.items()}


class LocalLimiter:
    """A `Limiter` whose state lives in this process, for one event loop.

    Waiters queue per model in arrival order and a release wakes one of them, not all: a
    model at 1,024 in flight would otherwise wake a thousand tasks per answer."""

    def __init__(self, state: LimiterState) -> None:
        self.state = state
        self._turns: dict[str, asyncio.Condition] = {}

    async def acquire(self, model: str) -> Permit:
        turn = self._turns.setdefault(model, asyncio.Condition())
        async with turn:
            while True:
                answer = self.state.try_acquire(model)
                if isinstance(answer, Permit):
                    return answer
                with contextlib.suppress(TimeoutError):  # a wait that ends by time (a pause) asks again
                    await asyncio.wait_for(turn.wait(), None if math.isinf(answer) else answer)

    async def release(self, permit: Permit, outcome: CallOutcome) -> None:
        self.state.release(permit, outcome)
        turn = self._turns.get(permit.model)
        if turn is not None:
            async with turn:
                turn.notify(1)

    def snapshot(self) -> dict[str, ConcurrencyReport]:
        return self.state.snapshot()


POLL_S = (0.005, 0.2)
"""First and longest pause of `PolledLimiter` between asking again for a permit."""


class PolledLimiter:
    """A `Limiter` over a `LimiterState` that lives where it cannot wake this loop (a Ray
    actor, a service): ``try_acquire`` is awaited there and asked again after the wait it
    names, or while it says "until a release", after a pause doubling up to `POLL_S`'s last."""

    def __init__(self, try_acquire: Callable[[str], Awaitable[Permit | float]],
                 release: Callable[[Permit, CallOutcome], Awaitable[None]],
                 snapshot: Callable[[], dict[str, ConcurrencyReport]]) -> None:
        self._try_acquire = try_acquire
        self._release = release
        self._snapshot = snapshot

    async def acquire(self, model: str) -> Permit:
        pause = POLL_S[0]
        while True:
            answer = await self._try_acquire(model)
            if isinstance(answer, Permit):
                return answer
            await asyncio.sleep(min(answer, pause))
            pause = min(2 * pause, POLL_S[1])

    async def release(self, permit: Permit, outcome: CallOutcome) -> None:
        await self._release(permit, outcome)

    def snapshot(self) -> dict[str, ConcurrencyReport]:
        return self._snapshot()


@dataclass
class _Bucket:
    """The provider's bucket for requests or tokens, as estimated from its last headers."""

    remaining: float
    observed_at: float
    rate: float | None
    """Refill per second, where the limit and the reset time tell it."""
    capacity: float | None
    full_at: float | None
    taken_since: float = 0.0
    """Taken by calls started after the observed one (the provider had not counted them yet)."""

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket holds ``cost`` more (0: now)."""
        have = self.remaining - self.taken_since
        if self.rate:
            have += self.rate * (now - self.observed_at)
            if self.capacity is not None:
                have = min(have, self.capacity - self.taken_since)
            return 0.0 if have >= cost else (cost - have) / self.rate
        if have >= cost:
            return 0.0
        return max(0.0, self.full_at - now) if self.full_at is not None else 0.0


@dataclass
class _ModelState:
    limit: ModelLimit
    window: float = 0.0
    threshold: float = math.inf
    """Slow start's end: the window halves to here on the first 429."""
    epoch: int = 0
    in_flight: int = 0
    issued: int = 0
    observed: int = 0
    """The latest permit whose response told the buckets: an earlier one's news is older."""
    hold_until: float = 0.0
    next_start: float = 0.0
    requests: _Bucket | None = None
    tokens: _Bucket | None = None
    token_cost: float | None = None
    calls: int = 0
    rate_limited: int = 0
    max_in_flight: int = 0
    lowest_window: float = math.inf
    first_at: float | None = None
    changed_at: float = 0.0
    area: float = 0.0
    """Integral of calls in flight over time, for the time-weighted mean."""

    def __post_init__(self) -> None:
        self.window = min(SLOW_START, self.limit.max_concurrency) if self.limit.adaptive \
            else self.limit.max_concurrency

    def wait(self, now: float) -> float:
        if self.in_flight >= int(self.window):
            return math.inf
        wait = max(self.hold_until - now, self.next_start - now)
        if self.requests is not None:
            wait = max(wait, self.requests.wait_for(1.0, now))
        if self.tokens is not None and self.token_cost:
            wait = max(wait, self.tokens.wait_for(self.token_cost, now))
        return max(0.0, wait)

    def take(self, now: float) -> None:
        self._account(now)
        self.in_flight += 1
        self.issued += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.first_at is None:
            self.first_at = now
        if self.limit.requests_per_minute:
            self.next_start = max(now, self.next_start) + 60.0 / self.limit.requests_per_minute
        if self.requests is not None:
            self.requests.taken_since += 1
        if self.tokens is not None and self.token_cost:
            self.tokens.taken_since += self.token_cost

    def give_back(self, permit: Permit, outcome: CallOutcome, now: float) -> None:
        self._account(now)
        self.in_flight = max(0, self.in_flight - 1)
        self.calls += 1
        if permit.id > self.observed and self.limit.adaptive:
            self.observed = permit.id
            self._learn_buckets(outcome, permit, now)
        if outcome.kind == "rate_limited":
            self.rate_limited += 1
            if outcome.retry_after_s and self.limit.adaptive:
                self.hold_until = max(self.hold_until, now + outcome.retry_after_s)
            if self.limit.adaptive and permit.epoch == self.epoch:
                self.epoch += 1
                self.window = max(1.0, self.window / 2)
                self.threshold = self.window
                self.lowest_window = min(self.lowest_window, self.window)
        elif outcome.kind == "ok" and self.limit.adaptive:
            # slow start adds a slot per answer (doubling per round trip), after it one per window
            grow = 1.0 if self.window < self.threshold else 1.0 / self.window
            self.window = min(float(self.limit.max_concurrency), self.window + grow)

    def _learn_buckets(self, outcome: CallOutcome, permit: Permit, now: float) -> None:
        """Take the buckets the response reported; the calls started after it went out were
        not counted in them yet (the provider counts a call when it arrives)."""
        if outcome.tokens:
            self.token_cost = outcome.tokens if self.token_cost is None else \
                (1 - TOKEN_COST_WEIGHT) * self.token_cost + TOKEN_COST_WEIGHT * outcome.tokens
        later = self.issued - permit.id
        if outcome.remaining_requests is not None:
            self.requests = _observed(outcome.remaining_requests, outcome.limit_requests,
                                      outcome.reset_requests_s, now, later)
        if outcome.remaining_tokens is not None:
            self.tokens = _observed(outcome.remaining_tokens, outcome.limit_tokens, outcome.reset_tokens_s, now,
                                    later * (self.token_cost or 0.0))

    def _account(self, now: float) -> None:
        if self.first_at is not None:
            self.area += self.in_flight * (now - self.changed_at)
        self.changed_at = now

    def report(self, now: float) -> ConcurrencyReport:
        span = (self.changed_at - self.first_at) if self.first_at is not None else 0.0
        mean = self.area / span if span > 0 else (float(self.max_in_flight) if self.first_at is not None else None)
        lowest = self.limit.max_concurrency if math.isinf(self.lowest_window) else int(self.lowest_window)
        return ConcurrencyReport(self.limit.model, self.limit.max_concurrency, self.limit.adaptive, self.calls,
                                 self.rate_limited, mean, self.max_in_flight, int(self.window), lowest)


def _observed(remaining: int, limit: int | None, reset_s: float | None, now: float, taken: float) -> _Bucket:
    rate = None
    if limit is not None and reset_s and limit > remaining:
        rate = (limit - remaining) / reset_s
    full_at = now + reset_s if reset_s is not None else None
    return _Bucket(float(remaining), now, rate, float(limit) if limit is not None else None, full_at, taken)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_reset(value: str | None) -> float | None:
    """Seconds in a reset header: OpenAI's durations (``6m0s``, ``1.5s``, ``12ms``) or plain seconds."""
    if value is None:
        return None
    text = value.strip().lower()
    number = _number(text)
    if number is not None:
        return max(0.0, number)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def limits_for(targets: Iterable[Any]) -> list[ModelLimit]:
    """One `ModelLimit` per model label of the runner's targets (`evalkit.run.runner.Target`)."""
    seen: dict[str, ModelLimit] = {}
    for target in targets:
        seen.setdefault(target.label, ModelLimit(target.label, target.max_concurrency,
                                                 target.requests_per_minute, target.adaptive))
    return list(seen.values())
