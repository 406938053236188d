"""Capacity sweep: how much load one serving machine holds within a latency target, and
what a token costs on it.

`sweep()` loads any OpenAI-compatible endpoint (vLLM, SGLang, Ollama, llama.cpp, TGI),
through litellm like every other evalkit call, at rising load: closed-loop concurrency
steps (1, 2, 4, 8, ... requests in flight) or, in Poisson mode, rising arrival rates.
The prompts are a suite's prompts, cycled, so the lengths are those of real work.

Each step runs a warm-up (its requests are not counted), then a measurement window of
``step_seconds``; a request counts when it *finishes* inside the window, so throughput is
completions (and their tokens) ÷ window length. Stability: the window is cut into
``STABILITY_WINDOWS`` equal parts and the coefficient of variation (std ÷ mean) of the
output tokens/s of the parts is reported; above ``UNSTABLE_CV`` the step is flagged.
Requests in flight when the window closes are drained and not counted.

Per request: TTFT, end-to-end, output speed = (completion tokens − 1) ÷ (e2e − TTFT) and
inter-token latency (ITL) = (e2e − TTFT) ÷ (completion tokens − 1), the mean gap between
tokens of that request (what vLLM calls TPOT), both as `evalkit.store.records` defines them for
every call: n/a for one-token replies. Percentiles are linear-interpolated; speed and ITL
percentiles are over the ``decode_n`` requests that have them.

The sweep stops at the first step that breaks the target (TTFT p95, output speed p50,
or more than ``MAX_ERROR_RATE`` of requests failing), or when output tokens/s grows by
less than ``min_growth`` over the best step so far (the machine is saturated).

**Price method.** The step chosen is the one with the most output tokens/s among those
that met the target. The machine's hourly cost is spread over the tokens it sustains
there, split into an input and an output price like an API's, by a stated cost ratio
``r`` = (price of an input token) ÷ (price of an output token), default 1:4 (the ratio
most API price lists use; prefill is far cheaper per token than decode)::

    output $/token = (hourly cost / 3600) / (r × input tok/s + output tok/s)
    input  $/token = r × output $/token

so that the workload measured, costed at these prices, costs exactly the hourly cost
per hour. The blended price, hourly cost ÷ all tokens per hour, is given too. These are
prices at full use of the machine at that load; idle time is added by the monthly
projection (`evalkit.economics.selfhost`) at a stated utilisation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import math
import random
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.store.records import inter_token_latency_s, output_speed_tps

DEFAULT_CONCURRENCY = (1, 2, 4, 8, 16, 32, 64)
DEFAULT_INPUT_COST_RATIO = 0.25
STABILITY_WINDOWS = 5
UNSTABLE_CV = 0.25
MAX_ERROR_RATE = 0.01
SCHEMA_VERSION = 2
"""2: output speed counts the tokens after the first, (n − 1) ÷ (e2e − TTFT); steps carry
``decode_n``. Version 1 files quote speed as n ÷ (e2e − TTFT)."""


@dataclass(frozen=True)
class SLO:
    """The latency target a load must meet. None: not part of the target."""

    ttft_p95_s: float | None = None
    """95th percentile of time to first token, seconds."""
    speed_p50_tps: float | None = None
    """Median per-request output speed, tokens per second."""

    def describe(self) -> str:
        parts = []
        if self.ttft_p95_s is not None:
            parts.append(f"TTFT p95 ≤ {self.ttft_p95_s:g} s")
        if self.speed_p50_tps is not None:
            parts.append(f"output speed p50 ≥ {self.speed_p50_tps:g} tok/s")
        return ", ".join(parts) or "no latency target (throughput only)"


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


@dataclass(frozen=True)
class SweepOptions:
    """How the sweep loads the endpoint."""

    concurrency: tuple[int, ...] = DEFAULT_CONCURRENCY
    """Closed-loop steps: requests kept in flight."""
    rates: tuple[float, ...] | None = None
    """Poisson mode: mean arrivals per second of each step (replaces `concurrency`)."""
    step_seconds: float = 20.0
    """Measurement window of each step."""
    warmup_seconds: float = 3.0
    """Load applied before each window, not counted."""
    max_tokens: int = 256
    temperature: float = 0.0
    min_growth: float = 0.05
    """Stop when output tokens/s grows by less than this fraction over the best step."""
    seed: int = 1234


@dataclass
class Sample:
    """One measured request (times in seconds from the start of its step)."""

    start: float
    end: float
    ttft: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    estimated: bool = False
    """Tokens counted by a tokenizer: the server reported no usage."""


@dataclass
class Step:
    """What one load step measured."""

    load: float
    """Concurrency (closed loop) or arrivals/s (Poisson)."""
    mode: str
    n: int
    errors: int
    window_s: float
    requests_per_s: float
    input_tokens_per_s: float
    output_tokens_per_s: float
    ttft_p50: float | None
    ttft_p95: float | None
    ttft_p99: float | None
    itl_p50: float | None
    itl_p95: float | None
    e2e_p50: float | None
    e2e_p95: float | None
    e2e_p99: float | None
    speed_p50: float | None
    """Median output speed per request, tokens/s; None when no request had two tokens."""
    cv: float | None
    """Coefficient of variation of output tokens/s across the window's parts."""
    meets_slo: bool = True
    failures: list[str] = field(default_factory=list)
    usage_estimated: int = 0
    """Requests whose tokens were counted by a tokenizer (no usage from the server)."""
    decode_n: int | None = None
    """Requests with an output speed and ITL (two or more tokens, time between the first and
    the last): the n of their percentiles. None in files written before schema 2."""

    @property
    def stable(self) -> bool:
        return self.cv is not None and self.cv <= UNSTABLE_CV


@dataclass
class SelfHostedPrice:
    """API-style prices derived from a sweep: USD per token."""

    input: float
    output: float
    blended: float
    hourly_cost: float
    input_cost_ratio: float
    load: float
    """The load (concurrency or arrivals/s) the price was measured at."""
    requests_per_s: float
    prompt_tokens_per_request: float
    completion_tokens_per_request: float


@dataclass
class CapacityResult:
    """A whole sweep, as stored in ``results/capacity-<id>.json``."""

    id: str
    model: str
    api_base: str | None
    created: str
    suite: str
    mode: str
    hourly_cost: float
    slo: SLO
    options: SweepOptions
    steps: list[Step]
    stop_reason: str
    chosen: int | None
    """Index in `steps` of the step the price comes from; None when no step met the target."""
    price: SelfHostedPrice | None
    method: str = "hourly cost split by input:output cost ratio at the highest-throughput step meeting the SLO"
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    def save(self, results_dir: str | Path) -> Path:
        path = Path(results_dir) / f"capacity-{self.id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    def assumptions(self) -> str:
        """One line a report shows next to the derived price."""
        if self.price is None:
            return f"no load met the target ({self.slo.describe()})"
        p = self.price
        return (f"${p.hourly_cost:.2f}/hour at {_load_text(self.mode, p.load)} "
                f"({p.requests_per_s:.2f} req/s), target {self.slo.describe()}, "
                f"input:output cost ratio 1:{1 / p.input_cost_ratio:g}, full utilisation; "
                f"capacity run {self.id}")


def load_capacity(path: str | Path) -> CapacityResult:
    """Read a stored sweep; a UsageError naming the file when it is missing or not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = [Step(**s) for s in data.pop("steps")]
        slo = SLO(**data.pop("slo"))
        options = data.pop("options")
        options = SweepOptions(**{**options, "concurrency": tuple(options["concurrency"]),
                                  "rates": tuple(options["rates"]) if options["rates"] else None})
        price_data = data.pop("price")
        price = SelfHostedPrice(**price_data) if price_data else None
        return CapacityResult(**data, steps=steps, slo=slo, options=options, price=price)
    except FileNotFoundError:
        raise UsageError(f"capacity file {path} not found; run `evalkit capacity` first") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"{path}: not an evalkit capacity result ({exc})") from None


# --- measurement ------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated q-th percentile (0-100); None for no values."""
    data = sorted(values)
    if not data:
        return None
    k = (len(data) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def summarise(samples: list[Sample], load: float, mode: str, w0: float, w1: float) -> Step:
    """Reduce one step's requests to its throughput, percentiles and stability."""
    counted = [s for s in samples if w0 <= s.end <= w1]
    ok = [s for s in counted if s.error is None]
    window = w1 - w0
    ttft = [s.ttft for s in ok if s.ttft is not None]
    e2e = [s.end - s.start for s in ok]
    speed = _present(output_speed_tps(s.completion_tokens, s.ttft, s.end - s.start) for s in ok)
    itl = _present(inter_token_latency_s(s.completion_tokens, s.ttft, s.end - s.start) for s in ok)
    return Step(
        load=load, mode=mode, n=len(ok), errors=len(counted) - len(ok), window_s=window,
        requests_per_s=len(ok) / window,
        input_tokens_per_s=sum(s.prompt_tokens for s in ok) / window,
        output_tokens_per_s=sum(s.completion_tokens for s in ok) / window,
        ttft_p50=percentile(ttft, 50), ttft_p95=percentile(ttft, 95), ttft_p99=percentile(ttft, 99),
        itl_p50=percentile(itl, 50), itl_p95=percentile(itl, 95),
        e2e_p50=percentile(e2e, 50), e2e_p95=percentile(e2e, 95), e2e_p99=percentile(e2e, 99),
        speed_p50=percentile(speed, 50),
        cv=_window_cv(ok, w0, window), usage_estimated=sum(s.estimated for s in ok),
        decode_n=len(speed),
    )


def _present(values: Any) -> list[float]:
    return [v for v in values if v is not None]


def _window_cv(ok: list[Sample], w0: float, window: float) -> float | None:
    part = window / STABILITY_WINDOWS
    tokens = [0.0] * STABILITY_WINDOWS
    for s in ok:
        tokens[min(int((s.end - w0) / part), STABILITY_WINDOWS - 1)] += s.completion_tokens
    mean = statistics.fmean(tokens)
    return statistics.pstdev(tokens) / mean if mean > 0 else None


def judge(step: Step, slo: SLO) -> Step:
    """Mark whether the step met the target, and why not."""
    failures = []
    total = step.n + step.errors
    if total == 0:
        failures.append("no request finished in the window")
    elif step.errors / total > MAX_ERROR_RATE:
        failures.append(f"{step.errors}/{total} requests failed")
    if slo.ttft_p95_s is not None and (step.ttft_p95 is None or step.ttft_p95 > slo.ttft_p95_s):
        failures.append(f"TTFT p95 {_fmt(step.ttft_p95)} s > {slo.ttft_p95_s:g} s")
    if slo.speed_p50_tps is not None and step.speed_p50 is None:
        failures.append(f"speed p50 n/a (no reply of two tokens or more), target {slo.speed_p50_tps:g} tok/s")
    elif slo.speed_p50_tps is not None and step.speed_p50 < slo.speed_p50_tps:
        failures.append(f"speed p50 {_fmt(step.speed_p50)} tok/s < {slo.speed_p50_tps:g} tok/s")
    step.failures, step.meets_slo = failures, not failures
    return step


async def _one(endpoint: Endpoint, messages: tuple, options: SweepOptions, t0: float) -> Sample:
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
        return Sample(start=start, end=time.perf_counter() - t0, error=exc.error_class)
    end = time.perf_counter() - t0
    if attempt.usage_source == "provider":
        return Sample(start=start, end=end, ttft=attempt.ttft_s,
                      prompt_tokens=attempt.prompt_tokens or 0, completion_tokens=attempt.completion_tokens or 0)
    count = endpoint.token_counter or functools.partial(transport.count_tokens, endpoint.model_id)
    prompt = "\n".join(m.get("content", "") for m in messages)
    return Sample(start=start, end=end, ttft=attempt.ttft_s, prompt_tokens=count(prompt),
                  completion_tokens=count(attempt.text + attempt.reasoning), estimated=True)


async def _closed_loop(endpoint, prompts, options, concurrency: int, t_end: float) -> list[Sample]:
    t0, samples, cursor = time.perf_counter(), [], iter(_cycle(prompts))

    async def worker() -> None:
        while time.perf_counter() - t0 < t_end:
            samples.append(await _one(endpoint, next(cursor), options, t0))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


async def _poisson(endpoint, prompts, options, rate: float, t_end: float, rng: random.Random) -> list[Sample]:
    t0, tasks, cursor = time.perf_counter(), [], iter(_cycle(prompts))
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


# --- the sweep and the price -----------------------------------------------------------


def sweep(endpoint: Endpoint, prompts: Sequence[tuple], hourly_cost: float, slo: SLO = SLO(),
          options: SweepOptions = SweepOptions(), *, suite: str = "", on_step=None) -> CapacityResult:
    """Load the endpoint step by step until the target breaks or throughput stops growing."""
    if not prompts:
        raise UsageError("capacity: the suite gave no prompts")
    if hourly_cost <= 0:
        raise UsageError("--hourly-cost must be positive (USD per hour of the serving machine)")
    steps, stop_reason = asyncio.run(_run_steps(endpoint, prompts, slo, options, on_step))
    chosen = choose_step(steps)
    price = derive_price(steps[chosen], hourly_cost) if chosen is not None else None
    return CapacityResult(
        id=dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
        model=endpoint.model_id, api_base=_redacted(endpoint.api_base),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        suite=suite, mode=steps[0].mode, hourly_cost=hourly_cost, slo=slo, options=options,
        steps=steps, stop_reason=stop_reason, chosen=chosen, price=price,
    )


async def _run_steps(endpoint, prompts, slo, options, on_step) -> tuple[list[Step], str]:
    # One event loop for the whole sweep: the clients are bound to the loop they were made on.
    from evalkit import transport

    # Imports and clients (litellm takes seconds) are made before any step is measured.
    await transport.warm_up({(endpoint.model_id, endpoint.api_base, endpoint.api_key)})
    try:
        return await _sweep(endpoint, prompts, slo, options, on_step)
    finally:
        await transport.close_clients()


async def _sweep(endpoint, prompts, slo, options, on_step) -> tuple[list[Step], str]:
    first = await _one(endpoint, prompts[0], options, time.perf_counter())
    if first.error is not None:
        raise UsageError(f"capacity: the first request to {_redacted(endpoint.api_base) or endpoint.model_id} "
                         f"failed ({first.error}); check the model id, --api-base and the key")
    rng = random.Random(options.seed)
    steps: list[Step] = []
    for load in options.rates or options.concurrency:
        step = judge(await measure_step(endpoint, prompts, options, load, rng), slo)
        steps.append(step)
        if on_step:
            on_step(step)
        if not step.meets_slo:
            return steps, f"target broken at {_load_text(step.mode, load)}: {'; '.join(step.failures)}"
        best = max((s.output_tokens_per_s for s in steps[:-1]), default=None)
        if best is not None and step.output_tokens_per_s < best * (1 + options.min_growth):
            return steps, (f"throughput stopped growing at {_load_text(step.mode, load)} "
                           f"(< {options.min_growth:.0%} over the best step)")
    return steps, "reached the last load step"


def choose_step(steps: list[Step]) -> int | None:
    """The step meeting the target with the most output tokens/s (None if none did)."""
    meeting = [i for i, s in enumerate(steps) if s.meets_slo and s.n > 0]
    return max(meeting, key=lambda i: steps[i].output_tokens_per_s) if meeting else None


def derive_price(step: Step, hourly_cost: float, input_cost_ratio: float = DEFAULT_INPUT_COST_RATIO) -> SelfHostedPrice:
    """API-style $/token from one step (see the module docstring for the method)."""
    per_second = hourly_cost / 3600
    weighted = input_cost_ratio * step.input_tokens_per_s + step.output_tokens_per_s
    if weighted <= 0:
        raise UsageError("capacity: the chosen step produced no tokens; check the endpoint's usage reporting")
    output = per_second / weighted
    return SelfHostedPrice(
        input=input_cost_ratio * output, output=output,
        blended=per_second / (step.input_tokens_per_s + step.output_tokens_per_s),
        hourly_cost=hourly_cost, input_cost_ratio=input_cost_ratio, load=step.load,
        requests_per_s=step.requests_per_s,
        prompt_tokens_per_request=step.input_tokens_per_s / step.requests_per_s,
        completion_tokens_per_request=step.output_tokens_per_s / step.requests_per_s,
    )


def with_ratio(result: CapacityResult, input_cost_ratio: float) -> CapacityResult:
    """The same sweep priced with another input:output cost ratio."""
    if result.chosen is not None:
        result.price = derive_price(result.steps[result.chosen], result.hourly_cost, input_cost_ratio)
    return result


# --- text ------------------------------------------------------------------------------


_STEP_ROW = "{:>6} {:>5} {:>3} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>4}  {}"
STEP_HEADER = "\n".join(line.rstrip() for line in (
    _STEP_ROW.format("load", "n", "err", "req/s", "out", "TTFT", "TTFT", "ITL", "e2e", "speed", "CV", "SLO"),
    _STEP_ROW.format("", "", "", "", "tok/s", "p50", "p95", "p50", "p95", "p50", "", "")))
"""Two lines, so a step's figures fit in 80 columns (seconds, except tok/s and CV)."""


def step_table_lines(s: Step, chosen: bool = False, width: int | None = None) -> list[str]:
    """One step's line; its SLO details go on a line of their own below when the whole
    line would be wider than ``width`` (None: never)."""
    na = _decode_na(s)
    figures = [_load_text(s.mode, s.load), s.n, s.errors, f"{s.requests_per_s:.2f}", f"{s.output_tokens_per_s:.1f}",
               _fmt(s.ttft_p50), _fmt(s.ttft_p95), _fmt(s.itl_p50, 4, na), _fmt(s.e2e_p95),
               _fmt(s.speed_p50, 1, na), _fmt(s.cv, 2)]
    mark = "ok" if s.meets_slo else "BROKEN"
    failures = "; ".join(s.failures)
    extras = (["<- priced here"] if chosen else []) + (["(unstable)"] if s.cv is not None and not s.stable else [])
    if s.decode_n is not None and s.decode_n < s.n:
        extras.append(f"(ITL, speed over {s.decode_n} of {s.n}: the others had a single token)")
    whole = _STEP_ROW.format(*figures, "  ".join([f"{mark}: {failures}" if failures else mark, *extras]))
    if width is None or len(whole) <= width:
        return [whole]
    return [_STEP_ROW.format(*figures, mark), " " * 8 + "  ".join(filter(None, [failures, *extras]))]


def _decode_na(s: Step) -> str:
    """Speed and ITL of a step whose requests all streamed one token are n/a, not missing."""
    return "n/a" if s.n and s.decode_n == 0 else "-"


def step_table(result: CapacityResult, width: int | None = None) -> list[str]:
    """The step table as terminal lines."""
    return [*STEP_HEADER.split("\n"), *(line for i, s in enumerate(result.steps)
                                         for line in step_table_lines(s, i == result.chosen, width))]


def price_lines(result: CapacityResult) -> list[str]:
    lines = [f"stopped: {result.stop_reason}"]
    if result.price is None:
        lines.append(f"no price: {result.assumptions()}")
        return lines
    p = result.price
    lines += [
        f"self-hosted price: ${p.input * 1e6:.4f} in / ${p.output * 1e6:.4f} out per 1M tokens "
        f"(blended ${p.blended * 1e6:.4f}/1M)",
        f"assumptions: {result.assumptions()}",
    ]
    return lines


def _load_text(mode: str, load: float) -> str:
    return f"{load:g}/s" if mode == "poisson" else f"c={load:g}"


def _fmt(value: float | None, digits: int = 3, na: str = "-") -> str:
    return na if value is None else f"{value:.{digits}f}"


def _redacted(url: str | None) -> str | None:
    from evalkit import redaction

    return redaction.redact_url(url)


# --- inputs ----------------------------------------------------------------------------


def parse_seconds(text: str | None, option: str = "--slo-ttft-p95") -> float | None:
    """`1s`, `500ms`, `0.8` (seconds)."""
    if text is None:
        return None
    raw = text.strip().lower()
    try:
        if raw.endswith("ms"):
            value = float(raw[:-2]) / 1000
        else:
            value = float(raw.removesuffix("s"))
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a duration such as 1s or 500ms") from None
    if value <= 0:
        raise UsageError(f"{option} {text!r}: must be positive")
    return value


def parse_speed(text: str | None, option: str = "--slo-speed-p50") -> float | None:
    """`20tok/s`, `20` (output tokens per second per request)."""
    if text is None:
        return None
    raw = text.strip().lower().replace(" ", "")
    for suffix in ("tokens/s", "tok/s", "t/s"):
        raw = raw.removesuffix(suffix)
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected tokens per second such as 20tok/s") from None
    if value <= 0:
        raise UsageError(f"{option} {text!r}: must be positive")
    return value


def concurrency_steps(max_concurrency: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to and including ``max_concurrency``."""
    if max_concurrency < 1:
        raise UsageError("--max-concurrency must be at least 1")
    steps, c = [], 1
    while c < max_concurrency:
        steps.append(c)
        c *= 2
    return tuple(steps + [max_concurrency])


def suite_prompts(suite: str, size: int = 50, seed: int = 1234) -> list[tuple]:
    """The messages of a suite (built-in name or file), as the sweep sends them."""
    from evalkit.config.models import RunOptions, suite_from_option
    from evalkit.suites import load_samples

    config = suite_from_option(suite)
    if config.path is None:
        config.size = size
    return [sample.messages for sample in load_samples(config, RunOptions(seed=seed))]


def run_sweep(model_id: str, api_base: str | None, api_key_env: str | None, prompts: Sequence[tuple],
              hourly_cost: float, slo: SLO, options: SweepOptions, *, suite: str = "", on_step=None) -> CapacityResult:
    """`sweep` for a model named as on the command line: ``local/<variant>`` starts the
    embedded llama.cpp server for the duration; anything else needs ``api_base``."""
    import os

    from evalkit.config.models import LOCAL_PREFIX

    if model_id.startswith(LOCAL_PREFIX):
        from evalkit.transport.local.endpoints import LocalModel, serving

        # As many llama.cpp slots as the sweep's highest load sends at once (Poisson steps
        # are open-loop: their arrivals may overlap more; the rest wait in llama.cpp's queue).
        slots = max(options.concurrency) if not options.rates else max(1, math.ceil(max(options.rates)))
        with serving([LocalModel(model_id, model_id, slots)]) as endpoints:
            local = endpoints[model_id]
            endpoint = Endpoint(local.model_id, local.api_base, local.api_key)
            result = sweep(endpoint, prompts, hourly_cost, slo, options, suite=suite, on_step=on_step)
        result.model = model_id
        return result
    if api_base is None:
        raise UsageError("capacity: give --api-base, the endpoint's OpenAI-compatible URL (e.g. http://gpu-box:8000/v1)")
    from evalkit import redaction

    if redaction.has_credentials(api_base):
        raise UsageError(f"capacity: --api-base: {redaction.CREDENTIALS_IN_URL} (--api-key-env here)")
    key = None
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise UsageError(f"capacity: the environment variable {api_key_env} is not set")
    redaction.remember(key)
    redaction.remember_url(api_base)
    endpoint = Endpoint(model_id, api_base, key or "no-key")
    return sweep(endpoint, prompts, hourly_cost, slo, options, suite=suite, on_step=on_step)
