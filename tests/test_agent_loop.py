"""Multi-turn tasks at the seams: a file suite's item with an environment, run by `evalkit
compare` against the scripted server turn by turn, read back from the store.

The server plays the model (`conversation`: turn k gets its k-th reply) and records what
evalkit sent back; the tests pin that each result is the environment's, that a task's
clocks, tokens and cost are the sums of its turns (each turn priced on its own), that its
error is the first failed turn's, the turn limit, the cache, resume, estimates and budgets.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.config.models import ModelConfig
from evalkit.economics.pricing import ModelPrice
from evalkit.errors import UsageError
from evalkit.run.estimate import estimate_model, prompt_tokens, result_allowance, worst_case_cost
from evalkit.store.database import Store
from evalkit.store.schema import SCHEMA_VERSION
from evalkit.suites.files import load_file_suite
from evalkit.testing.scripted_server import Reply, ToolCall, conversation, malformed_arguments

ORDER = {"type": "function", "function": {
    "name": "get_order", "description": "An order by id",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}
CONVERT = {"type": "function", "function": {
    "name": "convert_currency",
    "parameters": {"type": "object", "properties": {
        "amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}},
        "required": ["amount", "from", "to"]}}}
DATA = {
    "get_order": [{"arguments": {"order_id": "A1"}, "result": {"total": 40, "currency": "EUR"}}],
    "convert_currency": [{"arguments": {"amount": 40, "from": "EUR", "to": "USD"}, "result": {"amount": 43.2}}],
}
PROMPT = "Order A1: what was its total in USD? Answer with the number only."
TASK = {"id": "refund", "prompt": PROMPT, "tools": [ORDER, CONVERT], "scorer": "numeric", "reference": 43.2,
        "environment": {"data": DATA, "max_turns": 4}}
PRICE = (2.0, 8.0)
TTFT, GAP, SLACK = 0.1, 0.02, 0.5


def lookup(**arguments) -> ToolCall:
    return ToolCall("get_order", json.dumps(arguments))


def convert() -> ToolCall:
    return ToolCall("convert_currency", json.dumps({"amount": 40, "from": "EUR", "to": "USD"}))


def calling(*calls: ToolCall, prompt_tokens: int, completion_tokens: int) -> Reply:
    return Reply("", tool_calls=list(calls), finish_reason="tool_calls", ttft=TTFT, token_delay=GAP,
                 prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


ANSWER = "43.2 is the total in US dollars for the order you asked about here"
"""The final answer: 14 word chunks, 13 gaps of `GAP` seconds."""
RIGHT_PATH = (
    calling(lookup(order_id="A1"), prompt_tokens=100, completion_tokens=4),  # 4 deltas: 3 gaps
    calling(convert(), prompt_tokens=150, completion_tokens=4),
    Reply(ANSWER, ttft=TTFT, token_delay=GAP, prompt_tokens=200, completion_tokens=14),
)


def write_config(tmp_path, server, items=(TASK,), **fields) -> str:
    suite = tmp_path / "agent.jsonl"
    suite.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    config = {"models": [{"id": "openai/m", "label": "m", "api_base": server.base_url,
                          "price": {"input": PRICE[0], "output": PRICE[1]}, **fields}],
              "suites": [{"name": "agent", "path": str(suite)}], "run": {"retries": 0}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return str(path)


def compare(tmp_path, config: str, *extra: str, code: int = 0) -> tuple[str, dict]:
    result = CliRunner().invoke(main, ["compare", "-c", config, "--store", str(tmp_path / "h.db"),
                                       "--results-dir", str(tmp_path / "results"), *extra],
                                catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == code, result.output
    frame = analyse_run(Store(str(tmp_path / "h.db")), "last").records.astype(object)
    records = frame.where(frame.notna(), None).to_dict("records")
    return result.output, {r["sample_id"]: r for r in records}


def test_a_task_runs_its_tools_and_its_figures_are_the_sums_of_its_turns(tmp_path, scripted_server):
    server = scripted_server(conversation(*RIGHT_PATH))
    _, records = compare(tmp_path, write_config(tmp_path, server))
    task = records["refund"]
    assert (task["score"], task["error_class"], task["turns"]) == (1.0, None, 3)
    # what went back to the model: its own calls, then the environment's results by call id
    second, third = server.chat_requests()[1:]
    assert second.messages[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'}}]}
    assert second.messages[2] == {"role": "tool", "tool_call_id": "call_0",
                                  "content": '{"currency": "EUR", "total": 40}'}
    assert third.tool_results == ['{"currency": "EUR", "total": 40}', '{"amount": 43.2}']
    assert all(request.body["tools"] == [ORDER, CONVERT] for request in server.chat_requests())
    # tokens and cost: sums over the turns, each turn priced on its own
    assert (task["prompt_tokens"], task["completion_tokens"], task["usage_source"]) == (450, 22, "provider")
    assert task["cost_usd"] == pytest.approx((450 * PRICE[0] + 22 * PRICE[1]) / 1e6)
    log = json.loads(task["turn_log"])
    assert [(t["turn"], t["prompt_tokens"], t["tool_calls"]) for t in log] == [(1, 100, 1), (2, 150, 1), (3, 200, 0)]
    assert sum(t["cost_usd"] for t in log) == pytest.approx(task["cost_usd"])
    # clocks: sums over the turns; each turn's first token inside its own TTFT
    assert 3 * TTFT <= task["ttft_s"] < 3 * TTFT + SLACK
    assert task["e2e_s"] == pytest.approx(sum(t["e2e_s"] for t in log))
    assert task["ttft_s"] == pytest.approx(sum(t["ttft_s"] for t in log))
    # (22 tokens - 3 turns) gaps over 3 + 3 + 13 gaps of GAP seconds: 1 / GAP = 50 tokens/s
    assert task["output_speed_tps"] == pytest.approx(1 / GAP, rel=0.15)
    calls = json.loads(task["tool_calls"])
    assert [(c["turn"], c["name"], c["result"]) for c in calls] == [
        (1, "get_order", '{"currency": "EUR", "total": 40}'), (2, "convert_currency", '{"amount": 43.2}')]


def test_a_wrong_final_answer_scores_0_whatever_the_path(tmp_path, scripted_server):
    server = scripted_server(conversation(*RIGHT_PATH[:2], Reply("40", prompt_tokens=200)))
    _, records = compare(tmp_path, write_config(tmp_path, server))
    assert (records["refund"]["score"], records["refund"]["extracted"], records["refund"]["turns"]) == (0.0, "40", 3)


def test_calls_the_environment_cannot_run_get_an_error_result_and_the_task_goes_on(tmp_path, scripted_server):
    server = scripted_server(conversation(
        calling(ToolCall("get_ordr", '{"order_id": "A1"}'), malformed_arguments("get_order"),
                prompt_tokens=100, completion_tokens=8),
        calling(lookup(order_id="B7"), prompt_tokens=150, completion_tokens=4),
        *RIGHT_PATH))
    _, records = compare(tmp_path, write_config(tmp_path, server))
    second, third = server.chat_requests()[1:3]
    assert [json.loads(r) for r in second.tool_results] == [
        {"error": "there is no tool named 'get_ordr'"},
        {"error": "the arguments are not valid JSON (Unterminated string starting at, character 9)"}]
    assert json.loads(third.tool_results[-1]) == {
        "error": 'no result for get_order with arguments {"order_id": "B7"}'}
    # the model's mistakes are the model's: no evalkit error, and four turns are the limit
    task = records["refund"]
    assert (task["error_class"], task["turns"], task["score"]) == (None, 4, 0.0)
    assert task["score_detail"] == "no answer within the turn limit: turn 4 of 4 still called tools"


def test_a_task_that_keeps_calling_tools_stops_at_its_turn_limit_and_pays_every_turn(tmp_path, scripted_server):
    server = scripted_server(calling(lookup(order_id="A1"), prompt_tokens=100, completion_tokens=10))
    _, records = compare(tmp_path, write_config(tmp_path, server))
    assert len(server.chat_requests()) == 4
    task = records["refund"]
    assert (task["turns"], task["score"], task["prompt_tokens"]) == (4, 0.0, 400)
    assert task["cost_usd"] == pytest.approx((400 * PRICE[0] + 40 * PRICE[1]) / 1e6)


def test_a_failed_turn_is_the_tasks_error_and_its_earlier_turns_stay_paid(tmp_path, scripted_server):
    server = scripted_server(conversation(RIGHT_PATH[0], Reply(status=400)))
    _, records = compare(tmp_path, write_config(tmp_path, server), code=3)  # every task failed
    task = records["refund"]
    assert task["error_class"] == "bad_request" and task["turns"] == 2 and task["score"] == 0.0
    assert task["prompt_tokens"] == 100 and task["cost_usd"] == pytest.approx((100 * 2 + 4 * 8) / 1e6)
    assert [t["error_class"] for t in json.loads(task["turn_log"])] == [None, "bad_request"]


def test_the_cache_replays_every_turn_of_a_task(tmp_path, scripted_server):
    server = scripted_server(conversation(*RIGHT_PATH))
    config = write_config(tmp_path, server)
    compare(tmp_path, config, "--cache")
    _, again = compare(tmp_path, config, "--cache")
    assert len(server.chat_requests()) == 3  # nothing was sent the second time
    task = again["refund"]
    assert (task["from_cache"], task["turns"], task["score"], task["prompt_tokens"]) == (True, 3, 1.0, 450)


def test_a_finished_task_is_not_sent_again_on_resume_and_an_unfinished_one_starts_over(tmp_path, scripted_server):
    other = {**TASK, "id": "second", "prompt": "Order A1 again: its total in USD?"}
    failing = {"fail": True}

    def script(request):
        if request.prompt == other["prompt"] and failing["fail"] and request.turn == 2:
            return Reply(status=500)  # with no retries, the task fails at its second turn
        return conversation(*RIGHT_PATH)(request)

    server = scripted_server(script)
    config = write_config(tmp_path, server, items=(TASK, other))
    _, first = compare(tmp_path, config)
    assert (first["second"]["error_class"], first["second"]["turns"]) == ("server", 2)
    failing["fail"] = False
    (run_id,) = [row[0] for row in sqlite3.connect(tmp_path / "h.db").execute("select run_id from runs")]
    before = len(server.chat_requests())
    _, records = compare(tmp_path, config, "--resume", run_id)
    resent = [r.prompt for r in server.chat_requests()[before:]]
    assert resent == [other["prompt"]] * 3  # the unfinished task from its first turn, the finished one not at all
    assert {k: (r["score"], r["turns"]) for k, r in records.items()} == {"refund": (1.0, 3), "second": (1.0, 3)}


def test_estimates_and_budgets_reserve_every_turn_up_to_the_limit(tmp_path):
    (task,) = load_file_suite(_suite(tmp_path, TASK))
    single = type(task)(task.id, task.suite, task.messages, task.reference, task.scorer, params=task.params)
    model, price = ModelConfig(id="openai/gpt-4.1-mini"), ModelPrice("m", "openai/gpt-4.1-mini", 2e-6, 8e-6)
    first, growth = prompt_tokens(model, task), 256 + result_allowance(model, task)
    by_hand = sum(price.cost(int(first * 1.5) + turn * int(growth * 1.5), 256) for turn in range(4))
    assert worst_case_cost(model, price, task, 256, 60) == pytest.approx(by_hand)
    assert worst_case_cost(model, price, task, 256, 60) > 4 * worst_case_cost(model, price, single, 256, 60)
    estimate = estimate_model(model, price, [task], 256, 60)
    assert estimate.calls == 2 and "1 multi-turn task(s): up to 4 calls each" in estimate.note
    assert estimate.completion_high == 4 * 256


def test_a_budget_too_small_for_a_tasks_turn_limit_sends_nothing(tmp_path, scripted_server):
    server = scripted_server(conversation(*RIGHT_PATH))
    result = CliRunner().invoke(main, ["compare", "-c", write_config(tmp_path, server), "--store",
                                       str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "r"),
                                       "--max-cost", "0.002"], catch_exceptions=False)
    assert result.exit_code == 2 and not server.chat_requests(), result.output


def test_a_bad_environment_is_reported_by_file_line_and_field(tmp_path):
    rows = [
        {**TASK, "id": "a", "tools": None},
        {**TASK, "id": "b", "environment": {"data": {"get_weather": []}}},
        {**TASK, "id": "c", "environment": {"data": {"get_order": [{"args": {}, "result": 1}]}}},
        {**TASK, "id": "d", "environment": {"data": DATA, "max_turns": 0}},
        {**TASK, "id": "e", "environment": {"toolkit": "crm", "data": {}}},
    ]
    with pytest.raises(UsageError) as caught:
        load_file_suite(_suite(tmp_path, *rows))
    lines = str(caught.value).splitlines()
    assert any(":1:" in line and "'environment' given without 'tools'" in line for line in lines)
    assert any(":2:" in line and "'environment.data.get_weather' answers for a function the item does not offer"
               in line for line in lines)
    assert any(":3:" in line and "'environment.data.get_order' must be a list of" in line for line in lines)
    assert any(":4:" in line and "environment.max_turns" in line for line in lines)
    assert any(":5:" in line and "'environment.toolkit' is 'crm'" in line for line in lines)


def test_a_schema_8_store_gains_the_turn_columns_and_keeps_its_records(older_store):
    path = older_store(8)
    frame = Store(str(path)).records_frame("r1")
    assert list(frame["cost_usd"]) == [0.25] and frame["turns"].isna().all()
    with sqlite3.connect(path) as db:
        version = db.execute("SELECT value FROM evalkit_meta WHERE key='schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)


def _suite(tmp_path, *rows):
    path = tmp_path / "suite.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def test_each_turn_pays_the_price_tier_of_its_own_prompt(tmp_path, scripted_server):
    from evalkit.run.runner import Job, RetryPolicy, Runner, Target

    server = scripted_server(conversation(*RIGHT_PATH))
    (task,) = load_file_suite(_suite(tmp_path, TASK))
    # prompts above 120 tokens pay double: turns 2 (150) and 3 (200) do, turn 1 (100) does not
    price = ModelPrice("m", "openai/m", 2e-6, 8e-6, tiers=({"above_tokens": 120, "input": 4e-6, "output": 16e-6},))
    target = Target(label="m", model_id="openai/m", config_id="openai/m", price=price, params={},
                    api_base=server.base_url, api_key="test")
    records = []
    asyncio.run(Runner("r", 10.0, RetryPolicy(retries=0), records.append).run([Job(target, task)]))
    (record,) = records
    by_hand = (100 * 2 + 4 * 8) / 1e6 + (150 * 4 + 4 * 16) / 1e6 + (200 * 4 + 14 * 16) / 1e6
    assert record.turns == 3 and record.cost_usd == pytest.approx(by_hand)
    assert record.cost_usd != pytest.approx(price.cost(450, 22))  # not the price of one long call


@pytest.mark.parametrize("model", ["openai/m", "anthropic/claude-haiku-4-5"])
def test_through_litellm_a_task_reaches_the_same_record(tmp_path, scripted_server, monkeypatch, model):
    monkeypatch.setenv("EVALKIT_TRANSPORT", "litellm")
    server = scripted_server(conversation(*RIGHT_PATH))
    config = yaml.safe_load(Path(write_config(tmp_path, server)).read_text())
    config["models"][0].update(id=model, api_base=server.url if model.startswith("anthropic") else server.base_url)
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(config))
    _, records = compare(tmp_path, str(tmp_path / "bench.yaml"))
    task = records["refund"]
    assert (task["score"], task["turns"], task["prompt_tokens"], task["error_class"]) == (1.0, 3, 450, None)
    assert [c["result"] for c in json.loads(task["tool_calls"])] == ['{"currency": "EUR", "total": 40}',
                                                                      '{"amount": 43.2}']
    last = server.requests[-1].body
    if model.startswith("anthropic"):  # litellm turns the results into Anthropic's tool_result blocks
        blocks = [b for m in last["messages"] for b in (m["content"] if isinstance(m["content"], list) else [])]
        assert [b["type"] for b in blocks].count("tool_result") == 2
    else:
        assert [m["role"] for m in last["messages"]] == ["user", "assistant", "tool", "assistant", "tool"]



def test_the_disagreements_view_shows_each_tasks_calls_results_and_answer(tmp_path, scripted_server):
    from evalkit.report.content import find_disagreements

    def script(request):
        if request.body["model"] == "wrong":
            return Reply("40", prompt_tokens=50)
        return conversation(*RIGHT_PATH)(request)

    server = scripted_server(script)
    config = yaml.safe_load(Path(write_config(tmp_path, server)).read_text())
    config["models"].append({**config["models"][0], "id": "openai/wrong", "label": "wrong"})
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(config))
    compare(tmp_path, str(tmp_path / "bench.yaml"))
    (item,), _ = find_disagreements(analyse_run(Store(str(tmp_path / "h.db")), "last"))
    answers = {answer.model: answer.response for answer in item.answers}
    assert answers["wrong"] == "40"
    assert answers["m"].startswith('get_order({"order_id": "A1"}) → {"currency": "EUR", "total": 40}; '
                                   'convert_currency({"amount": 40, "from": "EUR", "to": "USD"}) → '
                                   '{"amount": 43.2} answer: 43.2 is the total')


def test_every_report_has_a_multi_turn_table_with_turns_the_limit_and_time_per_task_and_turn(
        tmp_path, scripted_server):
    from pypdf import PdfReader

    server = scripted_server(conversation(*RIGHT_PATH))
    compare(tmp_path, write_config(tmp_path, server))
    row = "| m | agent | 1 | 3.0 (3) | 0 of 1 |"
    assert row in (tmp_path / "results").glob("*/report.md").__next__().read_text(encoding="utf-8")
    texts = {}
    for kind in ("md", "html", "pdf"):
        out = tmp_path / f"review.{kind}"
        result = CliRunner().invoke(main, ["report", "last", "-f", kind, "-o", str(out),
                                           "--store", str(tmp_path / "h.db")])
        assert result.exit_code == 0, result.output
        texts[kind] = ("\n".join(page.extract_text() for page in PdfReader(out).pages) if kind == "pdf"
                       else out.read_text(encoding="utf-8"))
    assert row in texts["md"] and "Multi-turn tasks" in texts["html"] and "Multi-turn tasks" in texts["pdf"]
    assert "<td>3.0 (3)</td>" in texts["html"].replace(' class="num"', "")
    assert "3.0 (3)" in texts["pdf"] and "$0.0011" in texts["pdf"]


def test_a_thinking_models_reasoning_goes_back_with_its_calls(tmp_path, scripted_server):
    thinking = Reply("", reasoning="I need the order first.", tool_calls=[lookup(order_id="A1")],
                     finish_reason="tool_calls", prompt_tokens=100)
    server = scripted_server(conversation(thinking, *RIGHT_PATH[1:]))
    _, records = compare(tmp_path, write_config(tmp_path, server))
    assistant = server.chat_requests()[1].messages[1]
    assert assistant["reasoning_content"] == "I need the order first." and assistant["tool_calls"]
    assert "reasoning_content" not in server.chat_requests()[2].messages[3]  # that turn did not think
    task = records["refund"]
    assert task["score"] == 1.0 and task["reasoning_text"] == "I need the order first."
    assert task["thinking_s"] is not None


def test_a_call_that_breaks_its_tools_schema_gets_the_reason_back_as_its_result(tmp_path, scripted_server):
    server = scripted_server(conversation(
        calling(ToolCall("get_order", "{}"), ToolCall("convert_currency", '{"amount": "40", "from": "EUR", '
                                                                          '"to": "USD"}'),
                prompt_tokens=100, completion_tokens=8),
        *RIGHT_PATH))
    _, records = compare(tmp_path, write_config(tmp_path, server))
    assert [json.loads(r)["error"] for r in server.chat_requests()[1].tool_results] == [
        "the arguments do not fit get_order's parameters: 'order_id' is a required property",
        "the arguments do not fit convert_currency's parameters: amount: '40' is not of type 'number'"]
    assert records["refund"]["error_class"] is None and records["refund"]["turns"] == 4


# --- what a careless item or a hostile reply cannot break ------------------------------------


def test_a_tool_whose_parameters_are_no_json_schema_is_refused_before_any_call(tmp_path):
    bad = {**ORDER, "function": {**ORDER["function"], "parameters": {"type": "object", "properties": {
        "order_id": {"type": "str"}}}}}
    with pytest.raises(UsageError, match=r"suite.jsonl:1: 'tools.0.function.parameters' is not a valid JSON "
                                         r"Schema \(properties.order_id.type: 'str' is not valid"):
        load_file_suite(_suite(tmp_path, {**TASK, "tools": [bad, CONVERT]}))
    with pytest.raises(UsageError, match="scorer 'tool_call' checks the calls of one reply"):
        load_file_suite(_suite(tmp_path, {**TASK, "scorer": "tool_call", "reference": []}))


def test_a_toolkit_function_that_breaks_answers_with_an_error_and_the_run_goes_on(tmp_path, scripted_server,
                                                                                 monkeypatch):
    from evalkit.suites import environment

    monkeypatch.setitem(environment._TOOLKITS, "brittle", {
        "get_order": lambda data, arguments: [][1],  # IndexError
        "convert_currency": lambda data, arguments: {1, 2},  # not JSON
    })
    item = {**TASK, "environment": {"toolkit": "brittle", "max_turns": 3}}
    server = scripted_server(conversation(calling(lookup(order_id="A1"), convert(), prompt_tokens=100,
                                                  completion_tokens=8), RIGHT_PATH[2]))
    _, records = compare(tmp_path, write_config(tmp_path, server, items=(item,)))
    assert [json.loads(r)["error"] for r in server.chat_requests()[1].tool_results] == [
        "the tool could not use these arguments (IndexError: list index out of range)",
        "the tool could not use these arguments (TypeError: Object of type set is not JSON serializable)"]
    assert (records["refund"]["score"], records["refund"]["turns"]) == (1.0, 2)


def test_a_forced_tool_choice_holds_for_the_first_turn_only(tmp_path, scripted_server):
    server = scripted_server(conversation(*RIGHT_PATH))
    compare(tmp_path, write_config(tmp_path, server, items=({**TASK, "tool_choice": "required"},)))
    assert [r.body["tool_choice"] for r in server.chat_requests()] == ["required", "auto", "auto"]


def test_lookup_compares_arguments_as_json_values_and_ids_stay_unique(tmp_path, scripted_server):
    server = scripted_server(conversation(
        calling(ToolCall("convert_currency", '{"amount": 40.0, "from": "EUR", "to": "USD"}', id="dup"),
                ToolCall("get_order", '{"order_id": "A1"}', id="dup"), prompt_tokens=100, completion_tokens=8),
        RIGHT_PATH[2]))
    compare(tmp_path, write_config(tmp_path, server))
    second = server.chat_requests()[1]
    assert second.tool_results[0] == '{"amount": 43.2}'  # 40.0 is the case's 40
    assert [m["tool_call_id"] for m in second.messages if m["role"] == "tool"] == ["dup", "call_1_1"]


def test_a_task_whose_results_outgrow_its_reservation_stops_within_the_budget(tmp_path, scripted_server):
    long_order = {"total": 40, "currency": "EUR", "notes": "x" * 4000}
    item = {**TASK, "environment": {"data": {"get_order": [{"arguments": {"order_id": "A1"}, "result": long_order}]},
                                    "max_turns": 3}}
    # twelve parallel calls each bring the whole order back: far beyond "results as big as the data"
    server = scripted_server(conversation(calling(*[lookup(order_id="A1") for _ in range(12)], prompt_tokens=100,
                                                  completion_tokens=20), RIGHT_PATH[2]))
    config = write_config(tmp_path, server, items=(item,))
    (sample,) = load_file_suite(tmp_path / "agent.jsonl")
    model = ModelConfig(id="openai/m", price={"input": PRICE[0], "output": PRICE[1]})
    reserved = worst_case_cost(model, ModelPrice("m", "openai/m", 2e-6, 8e-6), sample, 512, 60)
    limit = reserved * 1.2
    result = CliRunner().invoke(main, ["compare", "-c", config, "--store", str(tmp_path / "h.db"), "--results-dir",
                                       str(tmp_path / "r"), "--max-cost", f"{limit:.6f}"], catch_exceptions=False)
    assert len(server.chat_requests()) == 1, result.output  # the second turn was never sent
    (task,) = analyse_run(Store(str(tmp_path / "h.db")), "last").records.to_dict("records")
    assert task["error_class"] == "budget" and task["turns"] == 1 and task["cost_usd"] <= limit
    assert "resume the run to finish the task" in task["error_message"]
    assert "stopped: budget" in sqlite3.connect(tmp_path / "h.db").execute("select status from runs").fetchone()[0]


def test_turns_replayed_from_the_cache_are_not_charged_to_the_budget(tmp_path, scripted_server):
    from evalkit.run.budget import Budget
    from evalkit.run.cache import ResponseCache
    from evalkit.run.runner import Job, RetryPolicy, Runner, Target

    failing = {"on": True}

    def script(request):
        if failing["on"] and request.turn == 2:
            return Reply(status=500)
        return conversation(*RIGHT_PATH)(request)

    server = scripted_server(script)
    (task,) = load_file_suite(_suite(tmp_path, TASK))
    price = ModelPrice("m", "openai/m", 2e-6, 8e-6)
    target = Target(label="m", model_id="openai/m", config_id="openai/m", price=price,
                    params={"max_tokens": 64}, api_base=server.base_url, api_key="test")
    cache = ResponseCache(tmp_path / "cache.db")
    records: list = []
    asyncio.run(Runner("r1", 10.0, RetryPolicy(retries=0), records.append, cache=cache).run([Job(target, task)]))
    failing["on"] = False
    budget = Budget(1.0)
    asyncio.run(Runner("r2", 10.0, RetryPolicy(retries=0), records.append, budget=budget, cache=cache).run(
        [Job(target, task, max_cost=0.5)]))
    first, second = records
    assert first.error_class == "server" and second.score == 1.0 and second.turns == 3
    sent = [t for t in json.loads(second.turn_log) if not t["from_cache"]]
    assert len(sent) == 2 and budget.spent == pytest.approx(sum(t["cost_usd"] for t in sent))
    assert budget.spent < second.cost_usd and budget.reserved == pytest.approx(0.0)
