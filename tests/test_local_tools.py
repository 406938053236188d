"""Tool calling on the embedded local model: the real llama.cpp server, real HTTP, the real 135M model.

The model is too small to call a function when asked (the README gives the measured share),
so the calls below are made the one way that is the same every time: the assistant's turn is
begun with the call format (`<tool_call>[`) and `tool_choice: required`, and llama.cpp's
grammar makes the model finish it as a real call of an offered function, which the server
streams as OpenAI `tool_calls` and evalkit reads like any provider's.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("xllamacpp", reason="xllamacpp is not installed (pip install xllamacpp)")

import httpx

from evalkit.suites.base import Sample
from evalkit.suites.environment import LOOKUP, ToolEnvironment
from evalkit.transport.base import Attempt, Request
from evalkit.transport.local.server import LocalServer, ensure_variant

pytestmark = pytest.mark.local_model

QUICK = "smollm2-135m-q4_0"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}
CURRENCY = {"type": "function", "function": {
    "name": "convert_currency", "description": "Convert an amount of money between currencies",
    "parameters": {"type": "object", "properties": {"amount": {"type": "number"}, "from": {"type": "string"},
                                                    "to": {"type": "string"}},
                   "required": ["amount", "from", "to"]}}}
PARIS = ({"role": "user", "content": "What is the weather in Paris?"},)
BEGUN_CALL = (*PARIS, {"role": "assistant", "content": "<tool_call>["})
"""A conversation whose answer llama.cpp continues from the start of a call."""


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(QUICK, n_threads=2) as running:
        yield running


def _rendered(server: LocalServer, messages: Any, **extra: Any) -> str:
    """The prompt the server builds for `messages` (llama.cpp's /apply-template)."""
    root = server.base_url.removesuffix("/v1")
    response = httpx.post(f"{root}/apply-template", json={"messages": list(messages), **extra}, timeout=30)
    response.raise_for_status()
    return str(response.json()["prompt"])


def test_conversations_without_tools_render_exactly_as_the_models_own_template(server: LocalServer) -> None:
    """The served template replaces the GGUF's only where tools are involved: every built-in
    suite's prompts reach the model byte for byte as before, so their scores do not move."""
    jinja2 = pytest.importorskip("jinja2.sandbox")
    from gguf import GGUFReader

    from evalkit.suites.registry import builtin_suites

    own = GGUFReader(ensure_variant(QUICK)).fields["tokenizer.chat_template"].contents()
    render = jinja2.ImmutableSandboxedEnvironment().from_string(own).render
    conversations = [sample.messages for suite in builtin_suites().values() for sample in suite.generate(3, seed=1)]
    conversations += [({"role": "system", "content": "Answer in one word."}, *PARIS),
                      (*PARIS, {"role": "assistant", "content": "Sunny."}, {"role": "user", "content": "And Rome?"})]
    assert len(conversations) >= 32
    for messages in conversations:
        assert _rendered(server, messages) == render(messages=list(messages), add_generation_prompt=True)


def test_the_server_writes_the_offered_tools_and_past_calls_into_the_prompt(server: LocalServer) -> None:
    root = server.base_url.removesuffix("/v1")
    props = httpx.get(f"{root}/props", timeout=10).json()
    caps = props["chat_template_caps"]
    # The whole trained context: 12 definitions take ~2,800 prompt tokens, over the old 2,048.
    assert props["default_generation_settings"]["n_ctx"] == 8192
    assert caps["supports_tools"] and caps["supports_tool_calls"]  # else llama.cpp drops `tools` unseen
    prompt = _rendered(server, PARIS, tools=[WEATHER, CURRENCY])
    assert f"<tools>{json.dumps([WEATHER, CURRENCY])}</tools>" in prompt
    assert prompt.endswith("<|im_start|>user\nWhat is the weather in Paris?<|im_end|>\n<|im_start|>assistant\n")
    # A multi-turn task sends the model's call and the tool's result back: both are rendered.
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    turns = [*PARIS, {"role": "assistant", "content": None, "tool_calls": [call]},
             {"role": "tool", "tool_call_id": "c1", "content": '{"celsius": 21}'}]
    prompt = _rendered(server, turns, tools=[WEATHER])
    assert prompt.endswith('<|im_start|>assistant\n<tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}]'
                           '</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{"celsius": 21}\n'
                           '</tool_response><|im_end|>\n<|im_start|>assistant\n')


def test_the_servers_slots_share_a_fixed_budget_of_context() -> None:
    from evalkit.transport.local.server import context_per_slot

    assert [context_per_slot(n) for n in (1, 4, 5, 8, 16, 64)] == [8192, 8192, 6553, 4096, 2048, 2048]


def _complete(server: LocalServer, messages: Any, **params: Any) -> Attempt:
    """One streamed call through evalkit's fast path, as a run makes it."""
    from evalkit.transport import fast_path

    async def call() -> Attempt:
        try:
            return await fast_path.complete(Request(server.litellm_model, tuple(messages),
                                                    {"temperature": 0, "max_tokens": 60, **params},
                                                    timeout=120, api_base=server.base_url, api_key="local"))
        finally:
            await fast_path.close_sessions()

    return asyncio.run(call())


def test_a_tool_call_the_local_model_streams_is_read_by_the_fast_path(server: LocalServer) -> None:
    """llama.cpp streams the call as OpenAI does (the first fragment with its index, id and
    name, then the arguments in pieces, then `finish_reason: tool_calls` and the usage)."""
    from evalkit.run.runner import calls_made

    attempt = _complete(server, BEGUN_CALL, tools=[WEATHER], tool_choice="required")
    (call,) = attempt.tool_calls
    assert call["index"] == 0 and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert isinstance(call["id"], str) and len(call["id"]) >= 8
    assert attempt.text == "" and attempt.finish_reason == "tool_calls"
    assert 0 < attempt.ttft_s <= attempt.e2e_s
    assert attempt.usage_source == "provider" and attempt.completion_tokens > 0
    assert calls_made(attempt) == [{"id": call["id"], "name": "get_weather", "arguments": call["arguments"]}]
    # The definitions are billed in the prompt, as the server counted it.
    plain = _complete(server, PARIS, max_tokens=1)
    assert attempt.prompt_tokens > plain.prompt_tokens + 150


@dataclass(frozen=True)
class BegunCalls:
    """A built-in suite (registered for one test) whose one item makes the model call a tool."""

    name: str = "local-begun-call"
    description: str = "The weather in Paris, the answer begun with a call (test only)."
    language: str = "en"
    default_size: int = 2
    typical_answer_tokens: int = 30
    order: int = 10_000

    def generate(self, n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
        params = {"tools": [WEATHER], "tool_choice": "required"}
        call = Sample(id="paris", suite=self.name, messages=BEGUN_CALL, scorer="tool_call",
                      reference=[{"name": "get_weather", "arguments": {"city": "Paris"}}], params=params)
        # The same call as the first turn of a task: its result goes back to the model.
        task = Sample(id="paris-task", suite=self.name, messages=BEGUN_CALL, scorer="numeric", reference=21,
                      params=params, environment=ToolEnvironment(LOOKUP, {"get_weather": [PARIS_WEATHER]}, 2))
        return [call, task][:n]


PARIS_WEATHER = {"arguments": {"city": "Paris"}, "result": {"celsius": 21}}


TOOL_ITEMS = [
    {"id": "weather", "prompt": "Weather in Paris, in celsius?", "tools": [WEATHER], "scorer": "tool_call",
     "reference": [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]},
    {"id": "weather-plain", "prompt": "Weather in Paris, in celsius?", "reference": "21"},
    {"id": "convert", "prompt": "Convert 120 US dollars to euros.", "tools": [WEATHER, CURRENCY],
     "tool_choice": {"type": "function", "function": {"name": "convert_currency"}}, "scorer": "tool_call",
     "reference": [{"name": "convert_currency", "arguments": {"amount": 120, "from": "USD", "to": "EUR"}}]},
    {"id": "hello", "prompt": "Say hello to the team.", "tools": [WEATHER, CURRENCY], "scorer": "tool_call",
     "reference": []},
    {"id": "trip", "prompt": "How warm is it in Paris, in celsius? Answer with the number only.",
     "tools": [WEATHER, CURRENCY], "scorer": "numeric", "reference": 21,
     "environment": {"data": {"get_weather": [PARIS_WEATHER]}, "max_turns": 3}},
]


def _records(store: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(store) as db:
        db.row_factory = sqlite3.Row
        return {row["sample_id"]: dict(row) for row in db.execute("select * from records")}


def test_compare_runs_tool_items_on_the_local_model_end_to_end(tmp_path: Path) -> None:
    """A file suite of tool items and a call the model makes, through `evalkit.compare`: the
    server gets the tools, every reply is recorded and scored, and the call is kept."""
    from evalkit.api import compare
    from evalkit.suites.registry import register_suite, unregister_suite

    suite = tmp_path / "tools.jsonl"
    suite.write_text("".join(json.dumps(item) + "\n" for item in TOOL_ITEMS), encoding="utf-8")
    store = tmp_path / "history.db"
    register_suite(BegunCalls())
    try:
        compare(models=[f"local/{QUICK}"], suites=[str(suite), BegunCalls.name], store=str(store),
                results_dir=str(tmp_path / "results"), max_tokens=48)
    finally:
        unregister_suite(BegunCalls.name)
    records = _records(store)
    assert set(records) == {"weather", "weather-plain", "convert", "hello", "trip", "paris", "paris-task"}
    for record in records.values():
        assert record["error_class"] is None, record["error_message"]
        assert 0.0 <= record["score"] <= 1.0
        assert record["usage_source"] == "provider" and record["completion_tokens"] > 0
        assert record["cost_usd"] == pytest.approx(0.10 * record["e2e_s"] / 3600)
    # The definitions reached the model: the same question costs ~190 more prompt tokens with them.
    assert records["weather"]["prompt_tokens"] > records["weather-plain"]["prompt_tokens"] + 150
    made = records["paris"]
    (call,) = json.loads(made["tool_calls"])
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris"}) and call["id"]
    assert (made["finish_reason"], made["score"]) == ("tool_calls", 1.0)
    # The task's first turn made the call; the environment's result went back for a second.
    task = records["paris-task"]
    assert task["turns"] == 2, task["turn_log"]
    first, *_ = json.loads(task["tool_calls"])
    assert (first["turn"], first["name"], json.loads(first["result"])) == (1, "get_weather", {"celsius": 21})
    turn_log = json.loads(task["turn_log"])
    assert task["e2e_s"] == pytest.approx(sum(turn["e2e_s"] for turn in turn_log))
    assert task["prompt_tokens"] == sum(turn["prompt_tokens"] for turn in turn_log)
    assert records["trip"]["turns"] >= 1
    # A reply of text where no tool applies is right; one with a call would be wrong.
    hello = records["hello"]
    assert hello["score"] == (1.0 if hello["tool_calls"] is None else 0.0), hello


def test_the_tool_and_agent_suites_run_on_the_local_model_in_both_languages(tmp_path: Path) -> None:
    """`evalkit compare -s tools -s agent` and their -zh variants on the embedded model: a
    135M model scores low, but every item is sent with its tools, answered, stored and scored,
    and every agent item is stored as a task with its turns."""
    from evalkit.api import compare

    store = tmp_path / "history.db"
    suites = ["tools", "tools-zh", "agent", "agent-zh"]
    compare(models=[f"local/{QUICK}"], suites=suites, store=str(store), results_dir=str(tmp_path / "results"),
            max_tokens=48, limit=1)
    records = _records(store)
    assert {record["suite"] for record in records.values()} == set(suites)
    for record in records.values():
        assert record["error_class"] is None, record["error_message"]
        assert 0.0 <= record["score"] <= 1.0 and record["prompt_tokens"] > 500  # the tool definitions went out
        assert (record["turns"] is not None) == record["suite"].startswith("agent")
