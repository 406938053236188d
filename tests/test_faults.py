"""Every fault a provider can throw ends in a classified final state, within its budget.

Each fault is injected by the scripted loopback server; the runner goes through litellm
exactly as it does against a real provider.
"""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer

PRICE = ModelPrice(model="m", model_id="openai/scripted", input=1e-6, output=2e-6, source="test")
GOOD = Reply("Answer: 5", prompt_tokens=20, completion_tokens=3)


def run_one(script, retries=0, timeout=5.0, max_total_wait=30.0):
    sample = Sample(id="q", suite="s", messages=({"role": "user", "content": "q"},), reference=5, scorer="numeric")
    records = []
    with ScriptedServer({"q": script}) as server:
        target = Target(label="m", model_id="openai/scripted", config_id="openai/scripted", price=PRICE,
                        params={"max_tokens": 16}, api_base=server.base_url, api_key="k")
        runner = Runner("r", timeout, RetryPolicy(retries=retries, base_delay=0.05,
                                                  max_total_wait=max_total_wait), records.append)
        started = time.perf_counter()
        asyncio.run(runner.run([Job(target, sample)]))
        elapsed = time.perf_counter() - started
        requests = server.chat_requests("q")
    return records[0], requests, elapsed


@pytest.mark.parametrize(
    "reply, error_class",
    [
        (Reply(status=500), "server"),
        (Reply(status=502), "server"),
        (Reply(status=503), "server"),
        (Reply(status=529), "server"),
        (Reply(status=429), "rate_limit"),
        (Reply("Answer: 5 and more", fault="reset_after_chunks", fault_after=2), "stream_cut"),
        (Reply("Answer: 5 and more", fault="malformed_chunk", fault_after=1), "malformed"),
        (Reply(fault="html_200"), "empty"),
        (Reply(fault="empty_choices"), "stream_cut"),
        (Reply("Answer: 5", fault="null_content"), "empty"),
    ],
    ids=["500", "502", "503", "529", "429", "reset", "malformed", "html", "empty_choices", "null_content"],
)
def test_fault_is_an_error_never_an_empty_answer_and_is_retried(reply, error_class):
    record, requests, _ = run_one([reply, reply, GOOD], retries=1)
    assert len(requests) == 2  # retried once, then the budget is spent
    assert record.error_class == error_class
    assert record.score == 0.0 and record.attempts == 2
    recovered, requests, _ = run_one([reply, reply, GOOD], retries=2)
    assert recovered.error_class is None and recovered.score == 1.0 and len(requests) == 3


def test_stream_without_done_but_with_finish_reason_is_complete():
    record, _, _ = run_one(Reply("Answer: 5", fault="no_done"))
    assert record.error_class is None and record.score == 1.0


def test_missing_usage_is_estimated_not_zero():
    record, _, _ = run_one(Reply("Answer: 5", include_usage=False))
    assert record.usage_source == "estimated" and record.completion_tokens > 0


def test_timeout_before_first_byte_ends_within_deadline_plus_retry_budget():
    record, requests, elapsed = run_one(Reply(fault="hang"), retries=1, timeout=0.5)
    assert record.error_class == "timeout" and len(requests) == 2
    assert elapsed < 2 * 0.5 + 0.05 + 3.0  # two deadlines, one backoff, start-up slack


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "1"}, {"retry-after-ms": "1000"}, "http-date"],
    ids=["seconds", "milliseconds", "http-date"],
)
def test_retry_after_in_every_form_is_honoured(headers):
    if headers == "http-date":  # made now: the date must lie in the future when sent
        headers = {"Retry-After": email.utils.formatdate(time.time() + 2, usegmt=True)}
    record, requests, _ = run_one([Reply(status=429, headers=headers), GOOD], retries=1)
    assert record.error_class is None
    gap = requests[1].arrived_perf - requests[0].arrived_perf
    assert gap >= 0.9  # an HTTP date has one-second resolution


def test_retry_after_beyond_the_wait_budget_gives_up_at_once():
    record, requests, elapsed = run_one([Reply(status=429, headers={"Retry-After": "60"}), GOOD],
                                        retries=3, max_total_wait=5)
    assert record.error_class == "rate_limit" and len(requests) == 1 and elapsed < 5


def test_429_without_header_backs_off_and_recovers():
    record, requests, _ = run_one([Reply(status=429), Reply(status=429), GOOD], retries=3)
    assert record.error_class is None and record.attempts == 3 and len(requests) == 3


def test_fail_first_n_attempts_then_succeed():
    record, requests, _ = run_one([Reply(status=503)] * 3 + [GOOD], retries=3)
    assert record.error_class is None and record.attempts == 4 and len(requests) == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_final_at_once(status):
    record, requests, _ = run_one([Reply(status=status), GOOD], retries=3)
    assert len(requests) == 1 and record.attempts == 1 and record.error_class is not None
