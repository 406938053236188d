"""A transport is one class and its registration: a test-only one, registered here, gets its
models' calls through the real runner and `compare`, warmed up before and closed after, while
every other model keeps its built-in route; unregistered, its models go the built-in way again."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

import evalkit
from evalkit import transport
from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig
from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer
from evalkit.transport.base import Attempt, CallError, Endpoint, Request, absorb_delta, check_complete


class Echo:
    """Answers every call with its last message, as a stream of one chunk, on no network."""

    name = "echo"
    litellm_ids = False

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.warmed: set[Endpoint] = set()
        self.closed = 0

    def handles(self, model_id: str) -> bool:
        return model_id.startswith("echo/")

    async def complete(self, request: Request) -> Attempt:
        self.requests.append(request)
        if request.messages[-1]["content"] == "refuse":
            raise CallError("bad_request", "echo refuses this one", status=400)
        if request.on_accepted is not None:
            request.on_accepted()
        attempt = Attempt(chunks=1, finish_reason="stop", prompt_tokens=7, completion_tokens=3,
                          usage_source="provider", e2e_s=0.02)
        absorb_delta(attempt, request.messages[-1]["content"], None, elapsed=0.01)
        check_complete(attempt)
        return attempt

    async def warm_up(self, endpoints: set[Endpoint]) -> None:
        self.warmed |= endpoints

    async def close(self) -> None:
        self.closed += 1


@pytest.fixture
def echo():
    added = transport.register(Echo())
    yield added
    transport.unregister(added.name)


def sample(prompt: str) -> Sample:
    return Sample(id=prompt, suite="s", messages=({"role": "user", "content": prompt},), reference=prompt,
                  scorer="exact")


def target(model_id: str, api_base: str | None = None) -> Target:
    price = ModelPrice(model=model_id, model_id=model_id, input=1e-6, output=2e-6, source="test")
    return Target(label=model_id, model_id=model_id, config_id=model_id, price=price, params={"max_tokens": 8},
                  api_base=api_base, api_key="k")


def test_the_runner_sends_a_registered_transports_models_to_it_and_the_others_their_own_way(echo):
    records = []
    with ScriptedServer(Reply("ok")) as server:
        jobs = [Job(target("echo/one"), sample("hello")), Job(target("echo/one"), sample("refuse")),
                Job(target("openai/scripted", server.base_url), sample("ok"))]
        asyncio.run(Runner("r", 10, RetryPolicy(retries=2, base_delay=0.01), records.append).run(jobs))
        sent_to_server = server.chat_requests()
    by_prompt = {r.sample_id: r for r in records}
    assert [r.messages[-1]["content"] for r in echo.requests] == ["hello", "refuse"]  # a 400 is not retried
    assert len(sent_to_server) == 1  # the fast-path model still went over HTTP
    hello = by_prompt["hello"]
    assert (hello.score, hello.ttft_s, hello.prompt_tokens, hello.completion_tokens) == (1.0, 0.01, 7, 3)
    assert hello.cost_usd == pytest.approx(7e-6 + 6e-6)
    assert (by_prompt["refuse"].error_class, by_prompt["refuse"].attempts) == ("bad_request", 1)
    assert by_prompt["ok"].error_class is None and by_prompt["ok"].score == 1.0
    assert echo.warmed == {("echo/one", None, "k")} and echo.closed == 1


def test_compare_runs_and_stores_a_model_of_a_registered_transport(echo, tmp_path):
    """Echo answers in microseconds, before the writer thread has committed a record: the
    run is still `finished`, as its status is decided once every record is in the store."""
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "a", "prompt": "apple", "reference": "apple"}\n'
                     '{"id": "b", "prompt": "pear", "reference": "pear"}\n', encoding="utf-8")
    config = RunConfig(models=[ModelConfig(id="echo/one", price={"input": 1, "output": 2})],
                       suites=[SuiteConfig(name="items", path=str(items))])
    # no litellm check refuses an id litellm does not know
    result = evalkit.compare(config, store=str(tmp_path / "h.db"), results_dir=tmp_path / "results")
    outcome = result.outcome
    assert outcome.status == "finished" and outcome.records == 2
    with sqlite3.connect(tmp_path / "h.db") as db:
        rows = db.execute("select model, sample_id, response_text, score from records order by sample_id").fetchall()
    assert rows == [("echo/one", "a", "apple", 1.0), ("echo/one", "b", "pear", 1.0)]
    assert (result.run_dir / "report.md").exists()


def test_a_transport_is_asked_before_the_built_in_ones_and_unregistering_restores_them(echo):
    assert transport.transport_for("echo/one") is echo
    assert transport.registered()[0] is echo
    transport.unregister("echo")
    assert transport.transport_for("echo/one").name == "litellm"  # a provider no route names
    assert transport.transport_for("openai/gpt-4.1-mini").name == "fast"
    assert transport.uses_fast_path("openai/gpt-4.1-mini") and not transport.uses_fast_path("echo/one")
