"""Concurrency that adapts to a provider's rate limit, at HTTP against the scripted server's
token bucket (`evalkit.testing.rate_limit`), and the limiter's rules on a clock of its own."""

from __future__ import annotations

import asyncio
import math

import pytest

from evalkit.economics.pricing import ModelPrice
from evalkit.run.limits import CallOutcome, LimiterState, ModelLimit, Permit, parse_reset
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.rate_limit import TokenBucket, duration
from evalkit.testing.scripted_server import Reply, ScriptedServer

PRICE = ModelPrice(model="m", model_id="openai/scripted", input=1e-6, output=2e-6, source="test")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_against_bucket(bucket: TokenBucket, calls: int, adaptive: bool, max_concurrency: int = 16):
    with ScriptedServer(Reply("7", ttft=0.01), rate_limit=bucket) as server:
        target = Target(label="m", model_id="openai/scripted", config_id="openai/scripted", price=PRICE,
                        params={"max_tokens": 8}, api_base=server.base_url, api_key="k",
                        max_concurrency=max_concurrency, adaptive=adaptive)
        jobs = [Job(target, Sample(id=f"q{i}", suite="s", messages=({"role": "user", "content": f"q{i}"},),
                                   reference=7, scorer="numeric")) for i in range(calls)]
        records = []
        runner = Runner("r", 10.0, RetryPolicy(retries=20, base_delay=0.01, max_total_wait=60), records.append)
        asyncio.run(runner.run(jobs))
    return records, runner.limiter.snapshot()["m"]


def test_adaptive_concurrency_fills_a_token_bucket_without_hammering_it():
    bucket = TokenBucket(requests=20, window_s=0.25)  # 80 requests/s after a burst of 20
    records, report = run_against_bucket(bucket, 240, adaptive=True)
    assert len(records) == 240 and all(r.error_class is None for r in records)
    refused_share = bucket.refused / (bucket.admitted + bucket.refused)
    assert refused_share <= 0.03, (bucket.refused, bucket.admitted)
    assert bucket.share_of_limit() >= 0.90, bucket.share_of_limit()
    print(f"429 share {refused_share:.3f}, throughput {bucket.share_of_limit():.3f} of the limit")
    assert report.calls == bucket.admitted + bucket.refused and report.rate_limited == bucket.refused
    assert 1 <= report.max_in_flight <= 16 and report.mean_in_flight is not None


def test_a_fixed_concurrency_hammers_the_same_bucket():
    """The contrast that shows the test above can fail: 16 calls at once, no pacing."""
    bucket = TokenBucket(requests=20, window_s=0.25)
    _, report = run_against_bucket(bucket, 120, adaptive=False)
    assert bucket.refused / (bucket.admitted + bucket.refused) > 0.10
    assert report.window == 16 and not report.adaptive


def test_slow_start_doubles_then_halves_once_per_round_trip_on_429():
    clock = Clock()
    state = LimiterState([ModelLimit("m", max_concurrency=8)], clock=clock)
    first = [state.try_acquire("m") for _ in range(3)]
    assert isinstance(first[0], Permit) and isinstance(first[1], Permit) and first[2] == math.inf  # window 2
    for permit in first[:2]:
        state.release(permit, CallOutcome("ok"))
    assert state.snapshot()["m"].window == 4  # one more slot per answer: doubled in one round trip
    permits = [state.try_acquire("m") for _ in range(4)]
    assert all(isinstance(p, Permit) for p in permits)
    for permit in permits:
        state.release(permit, CallOutcome("rate_limited"))  # four 429s of one round trip: one decrease
    assert state.snapshot()["m"].window == 2 and state.snapshot()["m"].lowest_window == 2
    for _ in range(10):  # after a 429, one slot per window of answers
        permit = state.try_acquire("m")
        assert isinstance(permit, Permit)
        state.release(permit, CallOutcome("ok"))
    assert state.snapshot()["m"].window in (4, 5)
    for _ in range(200):
        permit = state.try_acquire("m")
        state.release(permit, CallOutcome("ok"))
    assert state.snapshot()["m"].window == 8  # never above max_concurrency


def test_retry_after_holds_every_call_of_the_model():
    clock = Clock()
    state = LimiterState([ModelLimit("m", max_concurrency=4)], clock=clock)
    permit = state.try_acquire("m")
    state.release(permit, CallOutcome("rate_limited", retry_after_s=2.0))
    assert state.try_acquire("m") == pytest.approx(2.0)
    clock.now = 2.0
    assert isinstance(state.try_acquire("m"), Permit)


def test_remaining_requests_pace_calls_before_the_limit():
    """10 per 6 s (1 every 0.6 s refill), 0 left: the next call waits 0.6 s, not a 429."""
    clock = Clock()
    state = LimiterState([ModelLimit("m", max_concurrency=8)], clock=clock)
    permit = state.try_acquire("m")
    headers = {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "6s"}
    state.release(permit, CallOutcome.from_headers("ok", headers))
    assert state.try_acquire("m") == pytest.approx(0.6)
    clock.now = 0.6
    assert isinstance(state.try_acquire("m"), Permit)
    assert state.try_acquire("m") == pytest.approx(0.6)  # the one just taken is not counted by the provider yet


def test_remaining_tokens_pace_by_the_tokens_a_call_takes():
    clock = Clock()
    state = LimiterState([ModelLimit("m", max_concurrency=8)], clock=clock)
    permit = state.try_acquire("m")
    headers = {"x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "50",
               "x-ratelimit-reset-tokens": "1s"}  # 950 refilled per second
    state.release(permit, CallOutcome.from_headers("ok", headers, tokens=240))
    assert state.try_acquire("m") == pytest.approx((240 - 50) / 950)


def test_requests_per_minute_spaces_starts_adaptive_or_not():
    clock = Clock()
    state = LimiterState([ModelLimit("m", max_concurrency=8, requests_per_minute=120, adaptive=False)], clock=clock)
    assert isinstance(state.try_acquire("m"), Permit)
    assert state.try_acquire("m") == pytest.approx(0.5)


def test_the_report_is_the_time_weighted_concurrency():
    clock = Clock()
    state = LimiterState([ModelLimit("m", max_concurrency=8, adaptive=False)], clock=clock)
    a, b = state.try_acquire("m"), state.try_acquire("m")
    clock.now = 1.0
    state.release(a, CallOutcome("ok"))
    clock.now = 2.0
    state.release(b, CallOutcome("ok"))
    report = state.snapshot()["m"]
    assert report.mean_in_flight == pytest.approx(1.5) and report.max_in_flight == 2 and report.calls == 2


def test_headers_are_read_as_openai_writes_them():
    outcome = CallOutcome.from_headers("ok", {"X-RateLimit-Remaining-Requests": "4999",
                                              "x-ratelimit-limit-tokens": "-1", "x-ratelimit-reset-requests": "12ms"})
    assert outcome.remaining_requests == 4999 and outcome.limit_tokens is None  # Azure's -1: unknown
    assert outcome.reset_requests_s == pytest.approx(0.012)
    assert parse_reset("6m0s") == 360 and parse_reset("1.5s") == 1.5 and parse_reset("soon") is None
    assert duration(0.12) == "120ms" and duration(90.5) == "1m30.5s" and parse_reset(duration(90.5)) == 90.5


def test_the_run_ends_with_the_concurrency_each_model_ran_at():
    from evalkit.console.footer import concurrency_lines
    from evalkit.run.limits import ConcurrencyReport
    from evalkit.run.worker_process import WorkerReport

    reports = {"a": ConcurrencyReport("a", 8, True, 240, 0, 7.64, 8, 8, 8),
               "b": ConcurrencyReport("b", 8, True, 240, 14, 3.12, 6, 3, 2),
               "c": ConcurrencyReport("c", 4, False, 0, 0, None, 0, 4, 4)}  # never called: left out
    workers = [WorkerReport(1, 240, 0, lag_p99_ms=1.24), WorkerReport(2, 240, 0)]
    assert concurrency_lines(reports, workers) == [
        "Concurrency (mean/max in flight): a 7.6/8 of 8; b 3.1/6 of 8 (14 of 240 calls rate-limited; "
        "came down to 2 at once).",
        "Workers: 2 processes; event-loop lag p99 per worker (ms): 1.2, n/a."]
    assert concurrency_lines({}, workers[:1]) == []


def test_a_polled_limiter_keeps_the_state_elsewhere():
    """What a limiter held by an actor looks like from a task: every call awaited, waits polled."""
    from evalkit.run.limits import PolledLimiter

    state = LimiterState([ModelLimit("m", max_concurrency=1, adaptive=False)])
    asked = []

    async def try_acquire(model):
        asked.append(model)
        return state.try_acquire(model)

    async def release(permit, outcome):
        state.release(permit, outcome)

    limiter = PolledLimiter(try_acquire, release, state.snapshot)

    async def main():
        first = await limiter.acquire("m")
        second = asyncio.create_task(limiter.acquire("m"))
        await asyncio.sleep(0.05)
        assert not second.done()  # the one slot is taken
        await limiter.release(first, CallOutcome("ok"))
        await limiter.release(await asyncio.wait_for(second, 1.0), CallOutcome("ok"))

    asyncio.run(main())
    assert len(asked) >= 3 and limiter.snapshot()["m"].calls == 2 and limiter.snapshot()["m"].max_in_flight == 1
