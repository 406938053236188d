"""Single-turn tool calling at the seams: the item's tools on the wire, the calls parsed from
streamed fragments on both transports, kept in the record, timed, costed and scored.

End to end through `evalkit compare` against the scripted server, which streams each call
as OpenAI does (id and name first, the arguments in fragments, parallel calls by index) or
as Anthropic's Messages API does (`tool_use` blocks), read back from the store; the scorer's
cases in the style of BFCL's AST checker; the file suite's checks of `tools`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.config.models import ModelConfig
from evalkit.errors import UsageError
from evalkit.report.content import find_disagreements
from evalkit.run.estimate import prompt_tokens
from evalkit.scoring import score_item
from evalkit.scoring.registry import check_reference, reply_json
from evalkit.store.database import Store
from evalkit.store.schema import SCHEMA_VERSION
from evalkit.suites.base import Sample
from evalkit.suites.files import load_file_suite
from evalkit.testing.scripted_server import Reply, ToolCall, malformed_arguments
from evalkit.transport import count_tokens
from evalkit.transport.base import Attempt, CallError, absorb_tool_calls, check_complete

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"}}, "required": ["city"]}}}
CONVERT = {"type": "function", "function": {
    "name": "convert_currency",
    "parameters": {"type": "object", "properties": {
        "amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}},
        "required": ["amount", "from", "to"]}}}
TOOLS = [WEATHER, CONVERT]
TTFT, GAP = 0.2, 0.01
SLACK = 0.5
PRICE = (2.0, 8.0)
"""USD per 1M input and output tokens."""


def call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def made(*calls: tuple[str, str]) -> str:
    """A reply that made these (name, argument text) calls, as the runner hands it over."""
    return reply_json("", [{"id": f"c{i}", "name": n, "arguments": a} for i, (n, a) in enumerate(calls)], TOOLS)


def score(response: str, reference: list, **options):
    sample = Sample("q", "s", ({"role": "user", "content": "?"},), reference, "tool_call", options)
    return score_item(response, sample)


# --- the scorer ---------------------------------------------------------------------------


def test_the_right_call_scores_1_with_numbers_in_tolerance_strings_normalised_optional_args_free():
    reference = [call("get_weather", city="Paris")]
    assert score(made(("get_weather", '{"city": "paris "}')), reference).value == 1.0
    # an optional argument the reference leaves out may be given ...
    assert score(made(("get_weather", '{"city": "Paris", "unit": "celsius"}')), reference).value == 1.0
    conversion = [call("convert_currency", amount=12.5, **{"from": "EUR", "to": "USD"})]
    assert score(made(("convert_currency", '{"amount": 12.5000001, "from": "EUR", "to": "usd"}')),
                 conversion).value == 1.0
    near = score(made(("convert_currency", '{"amount": 12.6, "from": "EUR", "to": "USD"}')), conversion)
    assert near.value == 0.0 and near.detail == "convert_currency: argument 'amount' is 12.6, expected 12.5"
    assert score(made(("convert_currency", '{"amount": 12.6, "from": "EUR", "to": "USD"}')), conversion,
                 tolerance=0.2).value == 1.0


def test_a_number_sent_as_a_string_is_a_wrong_type_as_the_function_would_receive_it():
    conversion = [call("convert_currency", amount=12.5, **{"from": "EUR", "to": "USD"})]
    result = score(made(("convert_currency", '{"amount": "12.5", "from": "EUR", "to": "USD"}')), conversion)
    assert result.value == 0.0 and "'amount' is \"12.5\", expected 12.5" in result.detail


def test_parallel_calls_match_in_any_order_and_each_must_match_one():
    reference = [call("get_weather", city="Paris"), call("get_weather", city="Tokyo")]
    swapped = made(("get_weather", '{"city": "Tokyo"}'), ("get_weather", '{"city": "Paris"}'))
    assert score(swapped, reference).value == 1.0
    twice = score(made(("get_weather", '{"city": "Paris"}'), ("get_weather", '{"city": "Paris"}')), reference)
    assert twice.value == 0.0 and "'city' is \"Paris\", expected \"Tokyo\"" in twice.detail
    one = score(made(("get_weather", '{"city": "Paris"}')), reference)
    assert one.value == 0.0 and one.detail == ("made 1 call(s) (get_weather), expected 2 "
                                               "(get_weather, get_weather)")


def test_no_tool_when_none_applies():
    assert score(reply_json("It is sunny.", [], TOOLS), []).value == 1.0
    wrong = score(made(("get_weather", '{"city": "Paris"}')), [])
    assert wrong.value == 0.0 and wrong.detail == "called get_weather where no tool applies"
    silent = score(reply_json("Paris is sunny.", [], TOOLS), [call("get_weather", city="Paris")])
    assert silent.value == 0.0 and silent.detail == "made no tool call; expected get_weather"


@pytest.mark.parametrize(("calls", "detail"), [
    ((("get_weather", '{"city": "Par'),),
     "the arguments of get_weather are not valid JSON (Unterminated string starting at): {\"city\": \"Par"),
    ((("get_weather", '["Paris"]'),), 'the arguments of get_weather are not a JSON object: ["Paris"]'),
    ((("get_wether", '{"city": "Paris"}'),), "called unknown tool 'get_wether' (offered: convert_currency, "
                                             "get_weather)"),
    ((("get_weather", '{"unit": "celsius"}'),), "the call to get_weather lacks required argument(s) 'city'"),
    ((("get_weather", '{"city": "Paris", "country": "FR"}'),),
     "the call to get_weather passes argument(s) 'country' the tool does not take"),
    ((("convert_currency", '{"amount": 1, "from": "EUR", "to": "USD"}'),),
     "no call to get_weather; the reply called convert_currency"),
])
def test_the_models_errors_score_0_with_a_detail_that_says_which(calls, detail):
    result = score(made(*calls), [call("get_weather", city="Paris")])
    assert (result.value, result.detail) == (0.0, detail)
    assert json.loads(result.extracted)[0]["name"] == calls[0][0]  # the calls made, for reports


def test_a_reference_that_is_not_a_list_of_calls_is_refused_before_any_call():
    with pytest.raises(UsageError, match=r"reference for scorer 'tool_call' must be a list of calls"):
        check_reference("tool_call", {"name": "get_weather"})
    with pytest.raises(UsageError, match=r"has call 0 .* write each expected call with its name"):
        check_reference("tool_call", [{"tool": "get_weather"}])
    with pytest.raises(UsageError, match=r"call 0 \(f\) whose 'arguments' is not an object"):
        check_reference("tool_call", [{"name": "f", "arguments": [1]}])
    check_reference("tool_call", [])


# --- the stream ---------------------------------------------------------------------------


def test_fragments_of_parallel_calls_are_merged_by_index_and_the_first_starts_the_clock():
    attempt = Attempt()
    absorb_tool_calls(attempt, [{"index": 1, "id": "b", "function": {"name": "get_", "arguments": ""}}], 0.3)
    absorb_tool_calls(attempt, [{"index": 0, "id": "a", "function": {"name": "convert_currency"}}], 0.4)
    absorb_tool_calls(attempt, [{"index": 1, "function": {"name": "weather", "arguments": '{"ci'}}], 0.5)
    absorb_tool_calls(attempt, [{"index": 0, "function": {"arguments": '{"amount": 1}'}}], 0.6)
    absorb_tool_calls(attempt, [{"index": 1, "function": {"arguments": 'ty": "Oslo"}'}}], 0.7)
    assert [(c["id"], c["name"], c["arguments"]) for c in attempt.tool_calls] == [
        ("a", "convert_currency", '{"amount": 1}'), ("b", "get_weather", '{"city": "Oslo"}')]
    assert attempt.ttft_s == attempt.first_token_s == 0.3
    attempt.chunks, attempt.finish_reason = 5, "tool_calls"
    check_complete(attempt)  # calls and no text: a complete reply, not an empty one
    with pytest.raises(CallError, match="carried no content"):
        check_complete(Attempt(chunks=2, finish_reason="tool_calls"))


def test_calls_sent_without_an_index_are_told_apart_by_their_ids():
    attempt = Attempt()
    absorb_tool_calls(attempt, [{"id": "a", "function": {"name": "f", "arguments": '{"x": '}}], 0.1)
    absorb_tool_calls(attempt, [{"function": {"arguments": "1}"}}], 0.2)
    absorb_tool_calls(attempt, [{"id": "b", "function": {"name": "g", "arguments": "{}"}}], 0.3)
    assert [(c["id"], c["name"], c["arguments"]) for c in attempt.tool_calls] == [
        ("a", "f", '{"x": 1}'), ("b", "g", "{}")]


def test_the_scripted_server_answers_calls_unstreamed_in_both_dialects(scripted_server):
    server = scripted_server(Reply("", tool_calls=[ToolCall("get_weather", '{"city": "Paris"}', id="c1"),
                                                    malformed_arguments("get_weather")], finish_reason="tool_calls"))
    chat = _post(server.base_url + "/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "?"}]})
    message = chat["choices"][0]["message"]
    assert [(c["id"], c["function"]["arguments"]) for c in message["tool_calls"]] == [
        ("c1", '{"city": "Paris"}'), ("call_1", '{"city": "Par')]
    claude = _post(server.url + "/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "?"}]})
    assert [(b["type"], b["input"]) for b in claude["content"]] == [("tool_use", {"city": "Paris"}), ("tool_use", {})]
    assert claude["stop_reason"] == "tool_use"


def _post(url: str, body: dict) -> dict:
    import urllib.request

    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- end to end ---------------------------------------------------------------------------

ITEMS = [
    {"id": "weather", "prompt": "Weather in Paris?", "tools": TOOLS, "tool_choice": "auto",
     "reference": [call("get_weather", city="Paris")]},
    {"id": "two-cities", "prompt": "Weather in Paris and Tokyo?", "tools": TOOLS,
     "reference": [call("get_weather", city="Paris"), call("get_weather", city="Tokyo")]},
    {"id": "convert", "prompt": "12.5 EUR in USD?", "tools": TOOLS,
     "tool_choice": {"type": "function", "function": {"name": "convert_currency"}},
     "reference": [call("convert_currency", amount=12.5, **{"from": "EUR", "to": "USD"})]},
    {"id": "chat", "prompt": "Say hello.", "tools": TOOLS, "reference": []},
    {"id": "broken", "prompt": "Weather in Rome?", "tools": TOOLS, "reference": [call("get_weather", city="Rome")]},
]
"""Five tool items; scored with `tool_call` as the suite's default."""

SCRIPT = {
    "Weather in Paris?": Reply("", tool_calls=[ToolCall("get_weather", '{"city": "Paris", "unit": "celsius"}')],
                               finish_reason="tool_calls", ttft=TTFT, token_delay=GAP,
                               prompt_tokens=120, completion_tokens=20),
    "Weather in Paris and Tokyo?": Reply(
        "", tool_calls=[ToolCall("get_weather", '{"city": "Tokyo"}', pieces=4),
                        ToolCall("get_weather", '{"city": "Paris"}', pieces=2)],
        interleave_tool_calls=True, finish_reason="tool_calls", ttft=TTFT, prompt_tokens=130, completion_tokens=30),
    "12.5 EUR in USD?": Reply("", tool_calls=[ToolCall("convert_currency", '{"amount": 12.5, "from": "EUR", '
                                                                          '"to": "USD"}')],
                              finish_reason="tool_calls", ttft=TTFT, prompt_tokens=125, completion_tokens=25),
    "Say hello.": Reply("Hello!", ttft=TTFT, prompt_tokens=110, completion_tokens=3),
    "Weather in Rome?": Reply("", tool_calls=[malformed_arguments("get_weather")], finish_reason="tool_calls",
                              ttft=TTFT, prompt_tokens=120, completion_tokens=10),
}
COST = {"weather": (120, 20), "two-cities": (130, 30), "convert": (125, 25), "chat": (110, 3), "broken": (120, 10)}


def write_suite(tmp_path) -> str:
    path = tmp_path / "tools.jsonl"
    path.write_text("".join(json.dumps({**item, "scorer": "tool_call"}) + "\n" for item in ITEMS), encoding="utf-8")
    return str(path)


def write_config(tmp_path, models: list[dict]) -> str:
    for model in models:
        model.setdefault("price", {"input": PRICE[0], "output": PRICE[1]})
    config = {"models": models, "suites": [{"name": "tools", "path": write_suite(tmp_path)}]}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return str(path)


def compare(tmp_path, config: str) -> tuple[str, list[dict]]:
    result = CliRunner().invoke(main, ["compare", "-c", config, "--store", str(tmp_path / "h.db"),
                                       "--results-dir", str(tmp_path / "results")],
                                catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    frame = analyse_run(Store(str(tmp_path / "h.db")), "last").records.astype(object)
    return result.output, frame.where(frame.notna(), None).to_dict("records")


def assert_tool_records(records: list[dict], model: str) -> None:
    by_item = {r["sample_id"]: r for r in records if r["model"] == model}
    assert {k: r["score"] for k, r in by_item.items()} == {
        "weather": 1.0, "two-cities": 1.0, "convert": 1.0, "chat": 1.0, "broken": 0.0}
    for item, (prompt, completion) in COST.items():
        record = by_item[item]
        assert record["error_class"] is None  # a malformed call is the model's error, not evalkit's
        assert (record["prompt_tokens"], record["completion_tokens"], record["usage_source"]) == (
            prompt, completion, "provider")
        assert record["cost_usd"] == pytest.approx((prompt * PRICE[0] + completion * PRICE[1]) / 1e6)
        assert TTFT <= record["ttft_s"] < TTFT + SLACK  # the first call fragment is the first token
    weather = by_item["weather"]
    assert weather["finish_reason"] == "tool_calls" and weather["response_text"] in ("", None)
    assert [(c["name"], json.loads(c["arguments"])) for c in json.loads(weather["tool_calls"])] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert [json.loads(c["arguments"])["city"] for c in json.loads(by_item["two-cities"]["tool_calls"])] == [
        "Tokyo", "Paris"]
    assert by_item["chat"]["tool_calls"] is None and by_item["chat"]["response_text"] == "Hello!"
    broken = by_item["broken"]
    assert json.loads(broken["tool_calls"])[0]["arguments"] == '{"city": "Par'
    assert broken["score_detail"].startswith("the arguments of get_weather are not valid JSON")


def test_compare_on_the_fast_path_sends_the_tools_and_scores_the_calls_it_streams(tmp_path, scripted_server):
    server = scripted_server(SCRIPT)
    config = write_config(tmp_path, [{"id": "deepseek/deepseek-v4-flash", "api_base": server.base_url}])
    output, records = compare(tmp_path, config)
    bodies = {r.prompt: r.body for r in server.chat_requests()}
    assert bodies["Weather in Paris?"]["tools"] == TOOLS and bodies["Weather in Paris?"]["tool_choice"] == "auto"
    assert bodies["12.5 EUR in USD?"]["tool_choice"] == {"type": "function", "function": {"name": "convert_currency"}}
    assert "tool_choice" not in bodies["Say hello."]
    assert_tool_records(records, "deepseek/deepseek-v4-flash")
    # 4 of 5 right; by hand: (605 * $2 + 88 * $8) / 1M = $0.001914 for 5 tasks, $0.3828 per 1,000
    assert "80.0% [38–96]" in output and "$0.38" in output
    assert sum(r["cost_usd"] for r in records) == pytest.approx(0.001914)


def test_through_litellm_openai_and_anthropic_tool_use_reach_the_same_records(tmp_path, scripted_server, monkeypatch):
    monkeypatch.setenv("EVALKIT_TRANSPORT", "litellm")
    server = scripted_server(SCRIPT)
    config = write_config(tmp_path, [{"id": "deepseek/deepseek-v4-flash", "api_base": server.base_url},
                                     {"id": "anthropic/claude-haiku-4-5", "api_base": server.url}])
    _, records = compare(tmp_path, config)
    assert_tool_records(records, "deepseek/deepseek-v4-flash")
    assert_tool_records(records, "anthropic/claude-haiku-4-5")
    claude = {r.prompt: r.body for r in server.requests if r.path.endswith("/messages")}
    # litellm translates the OpenAI definitions into Anthropic's
    assert claude["Weather in Paris?"]["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]
    assert claude["12.5 EUR in USD?"]["tool_choice"] == {"type": "tool", "name": "convert_currency"}


def test_the_tools_are_part_of_the_request_hash(tmp_path, scripted_server):
    server = scripted_server(SCRIPT)
    config = write_config(tmp_path, [{"id": "deepseek/deepseek-v4-flash", "api_base": server.base_url}])
    _, records = compare(tmp_path, config)
    items = [{k: v for k, v in item.items() if k not in ("tools", "tool_choice")} for item in ITEMS]
    (tmp_path / "tools.jsonl").write_text("".join(json.dumps({**i, "scorer": "tool_call"}) + "\n" for i in items))
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump({**yaml.safe_load(Path(config).read_text()), "suites": [
        {"name": "tools", "path": str(tmp_path / "tools.jsonl")}]}))
    _, again = compare(tmp_path, str(plain))
    before = {r["sample_id"]: r["request_hash"] for r in records}
    after = {r["sample_id"]: r["request_hash"] for r in again}
    assert all(before[item] != after[item] for item in before)


def test_without_reported_usage_the_tool_definitions_and_calls_are_counted_and_flagged(tmp_path, scripted_server):
    server = scripted_server(Reply("", tool_calls=[ToolCall("get_weather", '{"city": "Paris"}')],
                                   finish_reason="tool_calls", include_usage=False))
    config = write_config(tmp_path, [{"id": "deepseek/deepseek-v4-flash", "api_base": server.base_url}])
    _, records = compare(tmp_path, config)
    weather = next(r for r in records if r["sample_id"] == "weather")
    tools_text = "Weather in Paris?\n" + json.dumps(TOOLS, ensure_ascii=False)
    assert weather["usage_source"] == "estimated"
    assert weather["prompt_tokens"] == count_tokens("deepseek/deepseek-v4-flash", tools_text)
    assert weather["prompt_tokens"] > 10 * count_tokens("deepseek/deepseek-v4-flash", "Weather in Paris?")
    assert weather["completion_tokens"] == count_tokens("deepseek/deepseek-v4-flash", 'get_weather{"city": "Paris"}')
    assert weather["score"] == 1.0


def test_estimates_and_budgets_count_the_tool_definitions_in_the_prompt():
    model = ModelConfig(id="deepseek/deepseek-v4-flash")
    bare = Sample("q", "s", ({"role": "user", "content": "Weather in Paris?"},), [], "tool_call")
    offered = Sample("q", "s", bare.messages, [], "tool_call", params={"tools": TOOLS})
    extra = count_tokens(model.id, "Weather in Paris?\n" + json.dumps(TOOLS)) - count_tokens(
        model.id, "Weather in Paris?")
    assert prompt_tokens(model, offered) - prompt_tokens(model, bare) == extra > 50


def test_the_disagreements_view_shows_each_models_calls(tmp_path, scripted_server):
    def script(request):
        city = "Paris" if request.body["model"] == "right" else "Lyon"
        return Reply("", tool_calls=[ToolCall("get_weather", json.dumps({"city": city}))], finish_reason="tool_calls")

    server = scripted_server(script)
    config = write_config(tmp_path, [{"id": "openai/right", "api_base": server.base_url},
                                     {"id": "openai/wrong", "api_base": server.base_url}])
    compare(tmp_path, config)
    items, _ = find_disagreements(analyse_run(Store(str(tmp_path / "h.db")), "last"))
    weather = next(item for item in items if item.sample_id == "weather")
    answers = {answer.model: answer.response for answer in weather.answers}
    assert answers == {"openai/right": 'get_weather({"city": "Paris"})',
                       "openai/wrong": 'get_weather({"city": "Lyon"})'}


# --- the file suite -----------------------------------------------------------------------


def test_a_file_suite_carries_tools_and_tool_choice_into_the_request_params(tmp_path):
    (sample,) = load_file_suite(_lines(tmp_path, {**ITEMS[2], "scorer": "tool_call"}))
    assert sample.params == {"tools": TOOLS, "tool_choice": ITEMS[2]["tool_choice"]}
    csv = tmp_path / "tools.csv"
    csv.write_text('id,prompt,reference,scorer,tools,tool_choice\nq1,Hi?,[],tool_call,"'
                   + json.dumps(TOOLS).replace('"', '""') + '",required\n', encoding="utf-8")
    (row,) = load_file_suite(csv)
    assert row.params == {"tools": TOOLS, "tool_choice": "required"} and row.reference == []


def test_bad_tools_are_reported_by_file_line_and_field(tmp_path):
    path = _lines(tmp_path,
                  {"id": "a", "prompt": "?", "reference": [], "scorer": "tool_call", "tools": [{"name": "f"}]},
                  {"id": "b", "prompt": "?", "reference": [], "scorer": "tool_call", "tool_choice": "auto"},
                  {"id": "c", "prompt": "?", "reference": [], "scorer": "tool_call", "tools": TOOLS,
                   "tool_choice": "always"},
                  {"id": "d", "prompt": "?", "reference": [], "scorer": "tool_call", "tools": TOOLS,
                   "tool_choice": {"type": "function", "function": {"name": "get_time"}}},
                  {"id": "e", "prompt": "?", "reference": {"name": "f"}, "scorer": "tool_call", "tools": TOOLS})
    with pytest.raises(UsageError) as raised:
        load_file_suite(path)
    lines = str(raised.value).splitlines()
    assert lines[0] == (f"{path}:1: 'tools.0' is not a function tool; write it as "
                        '{"type": "function", "function": {"name": "...", "parameters": {...}}}')
    assert lines[1] == f"{path}:2: 'tool_choice' given without 'tools'; offer the tools it chooses among"
    assert lines[2].startswith(f"{path}:3: 'tool_choice' is 'always'; use one of auto, none, required")
    assert lines[3].startswith(f"{path}:4: 'tool_choice' must name one of the offered functions "
                               "(get_weather, convert_currency)")
    assert lines[4].startswith(f"{path}:5: reference for scorer 'tool_call' must be a list of calls")


def test_cli_exits_2_on_a_bad_tools_field(tmp_path, scripted_server):
    server = scripted_server(SCRIPT)
    config = write_config(tmp_path, [{"id": "deepseek/deepseek-v4-flash", "api_base": server.base_url}])
    (tmp_path / "tools.jsonl").write_text(json.dumps({"id": "a", "prompt": "?", "reference": [],
                                                      "scorer": "tool_call", "tool_choice": "auto"}) + "\n")
    result = CliRunner().invoke(main, ["compare", "-c", config, "--store", str(tmp_path / "h.db")])
    assert result.exit_code == 2 and "tools.jsonl:1: 'tool_choice' given without 'tools'" in result.output
    assert server.chat_requests() == []


def _lines(tmp_path, *rows: dict):
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# --- old stores ---------------------------------------------------------------------------


def test_a_schema_7_store_gains_the_tool_calls_column_and_keeps_its_records(older_store):
    path = older_store(7)
    frame = Store(str(path)).records_frame("r1")
    assert list(frame["cost_usd"]) == [0.25] and frame["tool_calls"].isna().all()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM evalkit_meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
