"""The runner through litellm against the scripted loopback server.

Accuracy, TTFT, tokens and cost must come out exactly as scripted; retries must be
bounded, honour Retry-After and never repeat 400/401/403/404.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer

CLIENT_MARGIN = 0.1
"""Seconds of client-side overhead (litellm builds each request in Python) tolerated."""

PRICE = ModelPrice(model="m", model_id="openai/scripted", input=1e-6, output=2e-6, source="test")


def sample(prompt: str, reference: float) -> Sample:
    return Sample(
        id=prompt, suite="math", messages=({"role": "user", "content": prompt},),
        reference=reference, scorer="numeric",
    )


def target(server: ScriptedServer, label: str = "m", key: str = "test", **kwargs) -> Target:
    return Target(
        label=label, model_id="openai/scripted", config_id="openai/scripted", price=PRICE,
        params={"temperature": 0, "max_tokens": 64}, api_base=server.base_url, api_key=key, **kwargs,
    )


def run(jobs, retries=3, timeout=10.0, base_delay=0.01):
    records = []
    runner = Runner("run-1", timeout, RetryPolicy(retries=retries, base_delay=base_delay), records.append)
    asyncio.run(runner.run(jobs))
    return {r.sample_id: r for r in records}


def test_scores_timing_tokens_and_cost_as_scripted():
    script = {
        "2+2?": Reply("The answer is 4", ttft=0.2, token_delay=0.02, prompt_tokens=100, completion_tokens=20),
        "3*3?": Reply("Answer: 10", ttft=0.05, prompt_tokens=50, completion_tokens=5, cached_tokens=40),
    }
    with ScriptedServer(script) as server:
        records = run([Job(target(server), sample("2+2?", 4)), Job(target(server), sample("3*3?", 9))])

    right, wrong = records["2+2?"], records["3*3?"]
    assert (right.score, right.extracted) == (1.0, "4")
    assert (wrong.score, wrong.extracted) == (0.0, "10")
    # The client's own overhead only adds: never below what the server slept, and within
    # a margin that holds on a busy 2-core machine.
    assert 0.2 <= right.ttft_s <= 0.2 + CLIENT_MARGIN
    # 4 word chunks: TTFT, then 3 gaps of 20 ms
    assert 0.2 + 3 * 0.02 <= right.e2e_s <= 0.2 + 3 * 0.02 + CLIENT_MARGIN
    assert 3 * 0.02 - 0.005 <= right.e2e_s - right.ttft_s <= 3 * 0.02 + CLIENT_MARGIN
    assert (right.prompt_tokens, right.completion_tokens, right.usage_source) == (100, 20, "provider")
    assert right.output_speed_tps == pytest.approx((20 - 1) / (right.e2e_s - right.ttft_s))
    assert right.cost_usd == pytest.approx(100 * 1e-6 + 20 * 2e-6)
    # cached prompt tokens have no own price here: charged at the input price
    assert wrong.cached_tokens == 40
    assert wrong.cost_usd == pytest.approx(50 * 1e-6 + 5 * 2e-6)
    assert right.error_class is None and right.attempts == 1


def test_cached_tokens_priced_on_their_own():
    price = ModelPrice(model="m", model_id="x", input=1e-6, output=2e-6, cached_input=0.1e-6)
    assert price.cost(100, 10, cached_tokens=60) == pytest.approx(40e-6 + 60 * 0.1e-6 + 20e-6)


def test_missing_usage_is_estimated_and_flagged_never_zero():
    with ScriptedServer({"q": Reply("Answer: 7 apples in the basket", include_usage=False)}) as server:
        record = run([Job(target(server), sample("q", 7))])["q"]
    assert record.usage_source == "estimated"
    assert record.prompt_tokens > 0 and record.completion_tokens > 0
    assert record.cost_usd > 0


def test_retry_after_is_honoured_then_success():
    script = {"q": [Reply(status=503), Reply(status=429, headers={"Retry-After": "1"}), Reply("Answer: 5")]}
    with ScriptedServer(script) as server:
        started = time.perf_counter()
        record = run([Job(target(server), sample("q", 5))])["q"]
        elapsed = time.perf_counter() - started
        arrivals = [r.arrived_perf for r in server.chat_requests("q")]
    assert record.score == 1.0 and record.attempts == 3 and record.error_class is None
    assert len(arrivals) == 3
    assert arrivals[2] - arrivals[1] >= 1.0  # waited as asked
    assert elapsed < 5


@pytest.mark.parametrize("status, error_class", [(400, "bad_request"), (403, "permission"), (404, "not_found")])
def test_client_errors_are_never_retried(status, error_class):
    with ScriptedServer({"q": Reply(status=status)}) as server:
        record = run([Job(target(server), sample("q", 1))])["q"]
        sent = len(server.chat_requests("q"))
    assert sent == 1
    assert (record.error_class, record.attempts, record.score) == (error_class, 1, 0.0)


def test_retries_are_bounded_and_the_clients_own_retries_are_off():
    with ScriptedServer({"q": Reply(status=500)}) as server:
        record = run([Job(target(server), sample("q", 1))], retries=2)["q"]
        sent = len(server.chat_requests("q"))
    assert sent == 3  # 1 + 2 retries, no hidden SDK retries underneath
    assert record.error_class == "server" and record.attempts == 3


def test_bad_key_stops_the_model_without_burning_every_item():
    with ScriptedServer(Reply("Answer: 1"), api_key="right") as server:
        jobs = [Job(target(server, key="wrong", max_concurrency=1), sample(f"q{i}", 1)) for i in range(5)]
        records = run(jobs)
        sent = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 1
    assert records["q0"].error_class == "auth"
    assert all(records[f"q{i}"].error_class == "skipped" for i in range(1, 5))
    assert "wrong" not in " ".join(r.error_message for r in records.values())  # the key never shows


def test_failed_call_is_recorded_scored_zero_and_the_run_goes_on():
    script = {"bad": Reply(fault="html_200"), "good": Reply("Answer: 2")}
    with ScriptedServer(script) as server:
        records = run([Job(target(server), sample("bad", 2)), Job(target(server), sample("good", 2))], retries=0)
    assert records["bad"].error_class is not None and records["bad"].score == 0.0
    assert records["good"].score == 1.0


def test_concurrency_limit_per_model():
    with ScriptedServer(Reply("Answer: 1", ttft=0.3)) as server:
        jobs = [Job(target(server, max_concurrency=2), sample(f"q{i}", 1)) for i in range(6)]
        run(jobs)
        arrivals = sorted(r.arrived_perf for r in server.chat_requests())
    # each request occupies the server for 0.3 s: count how many overlap at each arrival
    in_flight = [sum(1 for other in arrivals if other <= t < other + 0.3) for t in arrivals]
    assert max(in_flight) == 2  # two at once, never more


def test_rate_limit_spaces_requests():
    with ScriptedServer(Reply("Answer: 1")) as server:
        jobs = [Job(target(server, requests_per_minute=600), sample(f"q{i}", 1)) for i in range(4)]
        run(jobs)
        arrivals = sorted(r.arrived_perf for r in server.chat_requests())
    # 600/min = one start every 100 ms; arrival times carry the client's jitter
    assert arrivals[-1] - arrivals[0] >= 3 * 0.1 - 0.02


def test_bad_key_costs_one_call_even_with_many_slots():
    with ScriptedServer(Reply("Answer: 1"), api_key="right") as server:
        jobs = [Job(target(server, key="wrong", max_concurrency=8), sample(f"q{i}", 1)) for i in range(8)]
        records = run(jobs)
        sent = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 1 and records["q0"].error_class == "auth"
    assert sum(r.error_class == "skipped" for r in records.values()) == 7


def test_the_other_calls_go_once_the_first_is_accepted_not_answered():
    # The first call's answer takes 1 s; the rest must not wait for it to finish.
    script = {"q0": Reply("Answer: 1", ttft=1.0), "default": Reply("Answer: 1")}
    with ScriptedServer(script) as server:
        jobs = [Job(target(server, max_concurrency=4), sample(f"q{i}", 1)) for i in range(4)]
        records = run(jobs)
        arrived = {r.body["messages"][0]["content"]: r.arrived_perf for r in server.chat_requests()}
    assert all(r.score == 1.0 for r in records.values())
    assert max(arrived.values()) - arrived["q0"] < 0.5


def test_a_large_run_keeps_only_a_few_jobs_started_at_a_time():
    # 400 jobs at concurrency 4: at most 2 tasks per slot are alive, not one per job.
    alive = []

    def sink(record):
        alive.append(len(asyncio.all_tasks()))

    with ScriptedServer(Reply("Answer: 1")) as server:
        jobs = [Job(target(server, max_concurrency=4), sample(f"q{i}", 1)) for i in range(400)]
        runner = Runner("run-1", 10.0, RetryPolicy(retries=0), sink)
        asyncio.run(runner.run(jobs))
    assert len(alive) == 400
    # The started jobs, plus a few of the run's own (main, feeder, lag monitor, connections).
    assert max(alive) <= 2 * 4 + 10


def test_a_slow_model_does_not_hold_back_a_fast_one():
    script = {"slow": Reply("Answer: 1", ttft=0.3), "default": Reply("Answer: 1")}
    finished = {}

    def sink(record):
        finished[(record.model, record.sample_id)] = time.perf_counter()

    with ScriptedServer(script) as server:
        slow = [Job(target(server, label="slow", max_concurrency=1),
                    Sample(id=f"s{i}", suite="math", messages=({"role": "user", "content": "slow"},),
                           reference=1, scorer="numeric")) for i in range(6)]
        fast = [Job(target(server, label="fast", max_concurrency=4), sample(f"f{i}", 1)) for i in range(100)]
        interleaved = [job for pair in zip(slow + [None] * 94, fast) for job in pair if job is not None]
        started = time.perf_counter()
        asyncio.run(Runner("run-1", 10.0, RetryPolicy(retries=0), sink).run(interleaved))
    fast_done = max(t for (model, _), t in finished.items() if model == "fast") - started
    slow_done = max(t for (model, _), t in finished.items() if model == "slow") - started
    assert len(finished) == 106 and fast_done < slow_done / 2  # 6 slow calls take 1.8 s
