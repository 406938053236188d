"""Driving load at an endpoint, step by step, for the capacity figures.

`sweep()` loads any OpenAI-compatible endpoint (vLLM, SGLang, Ollama, llama.cpp, TGI)
through evalkit's transport, like every other evalkit call, at rising load: closed-loop
concurrency steps (1, 2, 4, 8, ... requests in flight) or, in Poisson mode, rising arrival
rates. The prompts are a suite's prompts, cycled, so the lengths are those of real work.
What each step measured becomes a `Step` of `evalkit.economics.capacity`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from evalkit.economics.capacity import (
    SLO,
    CapacityResult,
    Step,
    SweepOptions,
    TimedRequest,
    check_target,
    choose_step,
    derive_price,
    load_text,
    summarise,
)
from evalkit.errors import UsageError


@dataclass(frozen=True)
class Endpoint:
    """Where the load goes: a litellm model id and its OpenAI-compatible base URL."""

    model_id: str
    api_base: str | None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 120.0
    token_counter: Any = field(default=None, repr=False, compare=False)
    """Counts tokens when the server reports no usage (llama.cpp streams none); default
    litellm's tokenizer estimate."""


async def _one(endpoint: Endpoint, messages: tuple, options: SweepOptions, t0: float) -> TimedRequest:
    from evalkit import transport

    request = transport.Request(
        model_id=endpoint.model_id, messages=messages,
        params={"max_tokens": options.max_tokens, "temperature": options.temperature},
        timeout=endpoint.timeout, api_base=endpoint.api_base, api_key=endpoint.api_key,
    )
    start = time.perf_counter() - t0
    try:
        attempt = await transport.complete(request)
    except transport.CallError as exc:
        return TimedRequest(start=start, end=time.perf_counter() - t0, error=exc.error_class)
    end = time.perf_counter() - t0
    if attempt.usage_source == "provider":
        return TimedRequest(start=start, end=end, ttft=attempt.ttft_s,
                      prompt_tokens=attempt.prompt_tokens or 0, completion_tokens=attempt.completion_tokens or 0)
    count = endpoint.token_counter or functools.partial(transport.count_tokens, endpoint.model_id)
    prompt = "\n".join(m.get("content", "") for m in messages)
    return TimedRequest(start=start, end=end, ttft=attempt.ttft_s, prompt_tokens=count(prompt),
                  completion_tokens=count(attempt.text + attempt.reasoning), estimated=True)


async def _closed_loop(endpoint, prompts, options, concurrency: int, t_end: float,
                       t0: float | None = None) -> list[TimedRequest]:
    t0 = time.perf_counter() if t0 is None else t0
    samples: list[TimedRequest] = []
    cursor = iter(_cycle(prompts))

    async def worker() -> None:
        while time.perf_counter() - t0 < t_end:
            samples.append(await _one(endpoint, next(cursor), options, t0))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


async def _poisson(endpoint, prompts, options, rate: float, t_end: float, rng: random.Random,
                   t0: float | None = None) -> list[TimedRequest]:
    t0 = time.perf_counter() if t0 is None else t0
    tasks: list[asyncio.Task] = []
    cursor = iter(_cycle(prompts))
    due = rng.expovariate(rate)
    while due < t_end:
        await asyncio.sleep(max(0.0, due - (time.perf_counter() - t0)))
        tasks.append(asyncio.create_task(_one(endpoint, next(cursor), options, t0)))
        due += rng.expovariate(rate)
    return list(await asyncio.gather(*tasks))


def _cycle(prompts: Sequence[tuple]):
    while True:
        yield from prompts


async def measure_step(endpoint: Endpoint, prompts: Sequence[tuple], options: SweepOptions,
                       load: float, rng: random.Random) -> Step:
    """Run one load step: warm-up, measurement window, drain; summarise the window."""
    w0 = options.warmup_seconds
    w1 = w0 + options.step_seconds
    if options.rates:
        samples, mode = await _poisson(endpoint, prompts, options, load, w1, rng), "poisson"
    else:
        samples, mode = await _closed_loop(endpoint, prompts, options, int(load), w1), "closed"
    return summarise(samples, load, mode, w0, w1)


async def measure_requests(endpoint: Endpoint, prompts: Sequence[tuple], options: SweepOptions, load: float,
                           seed: int, t0: float) -> list[TimedRequest]:
    """One share of a step's load, timed from ``t0`` (``time.perf_counter`` of a moment the
    parent chose, so the shares of several processes line up): ``load`` requests in flight,
    or Poisson arrivals at ``load`` per second, through the warm-up and the window."""
    t_end = options.warmup_seconds + options.step_seconds
    if options.rates:
        return await _poisson(endpoint, prompts, options, load, t_end, random.Random(seed), t0)
    return await _closed_loop(endpoint, prompts, options, int(load), t_end, t0)


class StepMeasurer(Protocol):
    """Measures a sweep's steps somewhere else than on the sweep's own loop (worker
    processes: `evalkit.run.capacity`); entered once around the whole sweep."""

    async def __aenter__(self) -> StepMeasurer: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def measure(self, endpoint: Endpoint, prompts: Sequence[tuple], options: SweepOptions,
                      load: float, rng: random.Random) -> Step: ...


# --- the sweep and the price -----------------------------------------------------------


_DEFAULT_OPTIONS = SweepOptions()


def sweep(endpoint: Endpoint, prompts: Sequence[tuple], hourly_cost: float, slo: SLO = SLO(),
          options: SweepOptions = _DEFAULT_OPTIONS, *, suite: str = "", on_step=None,
          measurer: StepMeasurer | None = None) -> CapacityResult:
    """Load the endpoint step by step until the target breaks or throughput stops growing.
    ``measurer``: where the steps are measured (default: on this process's loop)."""
    if not prompts:
        raise UsageError("capacity: the suite gave no prompts")
    if hourly_cost <= 0:
        raise UsageError("--hourly-cost must be positive (USD per hour of the serving machine)")
    steps, stop_reason = asyncio.run(_run_steps(endpoint, prompts, slo, options, on_step, measurer))
    chosen = choose_step(steps)
    price = derive_price(steps[chosen], hourly_cost) if chosen is not None else None
    return CapacityResult(
        id=dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
        model=endpoint.model_id, api_base=_redacted(endpoint.api_base),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        suite=suite, mode=steps[0].mode, hourly_cost=hourly_cost, slo=slo, options=options,
        steps=steps, stop_reason=stop_reason, chosen=chosen, price=price,
    )


async def _run_steps(endpoint, prompts, slo, options, on_step, measurer=None) -> tuple[list[Step], str]:
    # One event loop for the whole sweep: the clients are bound to the loop they were made on.
    from evalkit import transport

    # Imports and clients (litellm takes seconds) are made before any step is measured.
    await transport.warm_up({(endpoint.model_id, endpoint.api_base, endpoint.api_key)})
    try:
        if measurer is None:
            return await _sweep(endpoint, prompts, slo, options, on_step, measure_step)
        async with measurer:
            return await _sweep(endpoint, prompts, slo, options, on_step, measurer.measure)
    finally:
        await transport.close_clients()


async def _sweep(endpoint, prompts, slo, options, on_step, measure) -> tuple[list[Step], str]:
    first = await _one(endpoint, prompts[0], options, time.perf_counter())
    if first.error is not None:
        raise UsageError(f"capacity: the first request to {_redacted(endpoint.api_base) or endpoint.model_id} "
                         f"failed ({first.error}); check the model id, --api-base and the key")
    rng = random.Random(options.seed)
    steps: list[Step] = []
    for load in options.rates or options.concurrency:
        step = check_target(await measure(endpoint, prompts, options, load, rng), slo)
        steps.append(step)
        if on_step:
            on_step(step)
        if not step.meets_slo:
            return steps, f"target broken at {load_text(step.mode, load)}: {'; '.join(step.failures)}"
        best = max((s.output_tokens_per_s for s in steps[:-1]), default=None)
        if best is not None and step.output_tokens_per_s < best * (1 + options.min_growth):
            return steps, (f"throughput stopped growing at {load_text(step.mode, load)} "
                           f"(< {options.min_growth:.0%} over the best step)")
    return steps, "reached the last load step"


def _redacted(url: str | None) -> str | None:
    from evalkit import redaction

    return redaction.redact_url(url)


# --- inputs ----------------------------------------------------------------------------


