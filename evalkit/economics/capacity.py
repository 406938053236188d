"""Capacity: how much load one serving machine holds within a latency target, and what a
token costs on it — the figures of a sweep (`evalkit.economics.sweep` drives the load),
their judgement against the target, the price they imply, and the saved result.

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

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.store.records import inter_token_latency_s, output_speed_tps
from evalkit.workload.stats import percentile

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
class TimedRequest:
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
        return (f"${p.hourly_cost:.2f}/hour at {load_text(self.mode, p.load)} "
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


def summarise(samples: list[TimedRequest], load: float, mode: str, w0: float, w1: float) -> Step:
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


def _window_cv(ok: list[TimedRequest], w0: float, window: float) -> float | None:
    part = window / STABILITY_WINDOWS
    tokens = [0.0] * STABILITY_WINDOWS
    for s in ok:
        tokens[min(int((s.end - w0) / part), STABILITY_WINDOWS - 1)] += s.completion_tokens
    mean = statistics.fmean(tokens)
    return statistics.pstdev(tokens) / mean if mean > 0 else None


def check_target(step: Step, slo: SLO) -> Step:
    """Mark whether the step met the target, and why not."""
    failures = []
    total = step.n + step.errors
    if total == 0:
        failures.append("no request finished in the window")
    elif step.errors / total > MAX_ERROR_RATE:
        failures.append(f"{step.errors}/{total} requests failed")
    if slo.ttft_p95_s is not None and (step.ttft_p95 is None or step.ttft_p95 > slo.ttft_p95_s):
        failures.append(f"TTFT p95 {figure(step.ttft_p95)} s > {slo.ttft_p95_s:g} s")
    if slo.speed_p50_tps is not None and step.speed_p50 is None:
        failures.append(f"speed p50 n/a (no reply of two tokens or more), target {slo.speed_p50_tps:g} tok/s")
    elif slo.speed_p50_tps is not None and step.speed_p50 is not None and step.speed_p50 < slo.speed_p50_tps:
        failures.append(f"speed p50 {figure(step.speed_p50)} tok/s < {slo.speed_p50_tps:g} tok/s")
    step.failures, step.meets_slo = failures, not failures
    return step


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


def load_text(mode: str, load: float) -> str:
    return f"{load:g}/s" if mode == "poisson" else f"c={load:g}"


def figure(value: float | None, digits: int = 3, na: str = "-") -> str:
    return na if value is None else f"{value:.{digits}f}"


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
