"""The built-in ``tools`` and ``tools-zh`` suites, and the ``any_of`` reference values of `tool_call`.

The generated items are checked without the generator's code: every reference call is
validated with the `jsonschema` package against the very tool definition the item offers
(each of its acceptable variants), the levels are counted, and a reply that makes the
reference calls is scored by the real scorer. End to end, `evalkit compare -s tools-zh`
runs against the scripted server, which answers some items right and others with the
model errors the scorer must name.
"""

from __future__ import annotations

import collections
import json
import re

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.run.prepare import default_suites
from evalkit.scoring import check_reference, score_item
from evalkit.scoring.registry import reply_json
from evalkit.scoring.tool_calls import resolve_any_of
from evalkit.store.database import Store
from evalkit.suites.base import Sample
from evalkit.suites.builtin import generate_builtin
from evalkit.suites.builtin.tools.catalogue import catalogue
from evalkit.testing.scripted_server import Reply, ToolCall, malformed_arguments

CJK = re.compile("[\u4e00-\u9fff]")
NAMES = ("tools", "tools-zh")
VARIANTS = range(4)
"""Which option of every any_of to take: enough to reach each of the longest lists' first four."""

_cache: dict[tuple, list[Sample]] = {}


def items(name: str, level: int | None = None, n: int = 120, seed: int = 3) -> list[Sample]:
    key = (name, level, n, seed)
    if key not in _cache:
        _cache[key] = generate_builtin(name, n, seed, difficulty=level)
    return _cache[key]


def offered(sample: Sample) -> dict[str, dict]:
    return {tool["function"]["name"]: tool["function"]["parameters"] for tool in sample.params["tools"]}


def concrete(sample: Sample, which: int = 0) -> list[tuple[str, dict]]:
    """The reference calls with every any_of resolved to its option `which`."""
    return [(call["name"], resolve_any_of(call["arguments"], which)) for call in sample.reference]


def answer(sample: Sample, calls: list[tuple[str, str]], text: str = "") -> str:
    """A reply making these (name, argument text) calls, as the runner hands it to the scorer."""
    return reply_json(text, [{"id": f"c{i}", "name": n, "arguments": a} for i, (n, a) in enumerate(calls)],
                      sample.params["tools"])


# ---------------------------------------------------------------- generation


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_items_and_item_i_does_not_depend_on_n(name):
    assert generate_builtin(name, 12, 8) == generate_builtin(name, 12, 8)
    assert generate_builtin(name, 5, 8) == generate_builtin(name, 30, 8)[:5]
    assert generate_builtin(name, 5, 8, difficulty=5) == generate_builtin(name, 20, 8, difficulty=5)[:5]
    other_seed = generate_builtin(name, 10, 9)
    assert [s.prompt_text for s in generate_builtin(name, 10, 8)] != [s.prompt_text for s in other_seed]


@pytest.mark.parametrize("name", NAMES)
def test_levels_spread_the_items_apart(name):
    kinds = {level: collections.Counter(s.metadata["kind"] for s in items(name, level)) for level in range(1, 6)}
    counts = {level: {len(s.params["tools"]) for s in items(name, level)} for level in range(1, 6)}
    assert counts == {1: {3}, 2: {5}, 3: {7}, 4: {9}, 5: {12}}
    assert set(kinds[1]) == set(kinds[2]) == {"single"}
    assert set(kinds[3]) == {"single", "no_tool"}
    for level in (4, 5):
        assert set(kinds[level]) == {"single", "parallel", "no_tool", "impossible"}
        assert kinds[level]["parallel"] >= 25 and kinds[level]["no_tool"] + kinds[level]["impossible"] >= 20
    mixed = [s for s in items(name, 5) if len({c["name"] for c in s.reference}) > 1]
    assert mixed, "level 5 asks for calls of different tools in one message"
    assert max(len(s.reference) for s in items(name, 4)) == 3


CONFUSABLE = (
    {"get_current_weather", "get_weather_forecast", "get_air_quality"}, {"search_flights", "get_flight_status"},
    {"create_calendar_event", "list_calendar_events"}, {"convert_currency", "get_exchange_rate"},
    {"get_order_status", "cancel_order"}, {"estimate_shipping", "track_package"},
    {"get_stock_quote", "get_company_news"}, {"translate_text", "detect_language"},
)
"""Tools easily taken for one another, written out here rather than read from the catalogue."""


@pytest.mark.parametrize("name", NAMES)
def test_level_1_offers_one_obvious_tool_and_later_levels_its_confusable_neighbours(name):
    for level in (1, 2, 3):
        for sample in (s for s in items(name, level) if s.reference):
            (wanted,) = {call["name"] for call in sample.reference}
            group = next((g for g in CONFUSABLE if wanted in g), {wanted})
            expected = {wanted} if level == 1 else group
            assert group & set(offered(sample)) == expected, (sample.id, list(offered(sample)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_every_reference_call_is_valid_against_the_schema_of_the_tool_it_calls(name, level):
    checker = jsonschema.FormatChecker()
    for sample in items(name, level):
        check_reference("tool_call", sample.reference)
        tools = offered(sample)
        assert sample.params["tool_choice"] == "auto" and sample.scorer == "tool_call"
        assert len(tools) == len(sample.params["tools"])  # no tool offered twice
        for tool in sample.params["tools"]:
            jsonschema.Draft202012Validator.check_schema(tool["function"]["parameters"])
        for which in VARIANTS:
            for called, arguments in concrete(sample, which):
                assert called in tools, (sample.id, called)
                jsonschema.validate(arguments, tools[called], format_checker=checker)
        assert (sample.reference == []) == (sample.metadata["kind"] in ("no_tool", "impossible"))


@pytest.mark.parametrize("name", NAMES)
def test_a_reply_making_the_reference_calls_scores_1_in_any_order_and_any_variant(name):
    for sample in items(name):
        for which in VARIANTS:
            calls = [(called, json.dumps(arguments, ensure_ascii=False))
                     for called, arguments in concrete(sample, which)]
            result = score_item(answer(sample, calls[::-1] if which % 2 else calls,
                                       text="" if calls else "Sorry, none of my tools can do that."), sample)
            assert result.value == 1.0, (sample.id, which, result.detail)


def test_chinese_items_are_written_in_chinese_with_english_tool_names():
    for sample in items("tools-zh"):
        assert CJK.search(sample.prompt_text)
        assert all(CJK.search(tool["function"]["description"]) for tool in sample.params["tools"])
        assert all(re.fullmatch("[a-z_]+", called) for called in offered(sample))
    for sample in items("tools"):
        assert not CJK.search(sample.prompt_text + json.dumps(sample.params["tools"], ensure_ascii=False))
    chinese = " ".join(s.prompt_text for s in items("tools-zh", 4, 200) + items("tools-zh", 5, 200))
    for written in ("人民币", "万", "斤", "年", "月", "日", "星期"):
        assert written in chinese
    assert set(catalogue("en")) == set(catalogue("zh"))


def test_the_harder_levels_need_conversions_the_request_states_in_words():
    by_template = collections.defaultdict(list)
    for sample in items("tools", 5, 300) + items("tools-zh", 5, 300):
        by_template[sample.cluster.split(":")[1]].append(sample)
    shipping = [s for s in by_template["shipping"] if s.metadata["language"] == "zh" and "斤" in s.prompt_text]
    assert shipping
    for sample in shipping:  # 1 斤 is half a kilogram
        jin = float(re.search(r"(\d+)斤", sample.prompt_text).group(1))
        assert sample.reference[0]["arguments"]["parcel"]["weight_kg"] == jin / 2
    events = by_template["calendar-event"]
    assert any("pm" in s.prompt_text and "T1" in json.dumps(s.reference) for s in events)
    relative = ("tomorrow", "a week from today", "明天", "后天", "下周")
    assert any(word in s.prompt_text for s in events for word in relative)


def test_suites_that_are_run_only_when_named_stay_out_of_the_default_run():
    names = [suite.name for suite in default_suites()]
    assert "tools" not in names and "tools-zh" not in names and "arithmetic" in names


# ---------------------------------------------------------------- any_of in the scorer

WEATHER = {"type": "function", "function": {"name": "get_current_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"},
                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                                     "when": {"type": "object"}},
    "required": ["location"]}}}
REFERENCE = [{"name": "get_current_weather", "arguments": {
    "location": {"any_of": ["Lisbon", "Lisbon, Portugal"]}, "unit": {"any_of": ["celsius", None]}}}]


def weather(arguments: dict, reference: list | None = None):
    sample = Sample("q", "s", ({"role": "user", "content": "?"},), reference or REFERENCE, "tool_call",
                    params={"tools": [WEATHER]})
    return score_item(reply_json("", [{"id": "c", "name": "get_current_weather",
                                       "arguments": json.dumps(arguments)}], [WEATHER]), sample)


@pytest.mark.parametrize("arguments", [
    {"location": "Lisbon"}, {"location": "lisbon, portugal", "unit": "celsius"}, {"location": "Lisbon", "unit": None},
])
def test_any_of_accepts_each_listed_value_and_null_lets_the_argument_be_left_out(arguments):
    assert weather(arguments).value == 1.0


@pytest.mark.parametrize(("arguments", "detail"), [
    ({"location": "Lisbon", "unit": "fahrenheit"},
     "get_current_weather: argument 'unit' is \"fahrenheit\", expected \"celsius\" or left out"),
    ({"location": "Porto"},
     "get_current_weather: argument 'location' is \"Porto\", expected \"Lisbon\" or \"Lisbon, Portugal\""),
])
def test_a_value_outside_the_any_of_scores_0_and_the_detail_lists_the_accepted_ones(arguments, detail):
    result = weather(arguments)
    assert (result.value, result.detail) == (0.0, detail)


def test_an_any_of_without_null_must_be_given_and_any_of_works_inside_objects():
    reference = [{"name": "get_current_weather", "arguments": {
        "location": "Lisbon", "unit": {"any_of": ["celsius", "fahrenheit"]},
        "when": {"day": {"any_of": ["today", None]}, "hour": {"any_of": [9, 10]}}}}]
    missing = weather({"location": "Lisbon", "when": {"hour": 9}}, reference)
    assert (missing.value, missing.detail) == (
        0.0, "get_current_weather: argument 'unit' is missing (expected \"celsius\" or \"fahrenheit\")")
    assert weather({"location": "Lisbon", "unit": "fahrenheit", "when": {"hour": 10}}, reference).value == 1.0
    assert weather({"location": "Lisbon", "unit": "celsius", "when": {"hour": 11}}, reference).value == 0.0
    assert weather({"location": "Lisbon", "unit": "celsius", "when": {"day": "mon", "hour": 9}}, reference).value == 0


def test_resolve_any_of_gives_each_concrete_call_the_reference_accepts():
    arguments = REFERENCE[0]["arguments"]
    assert resolve_any_of(arguments, 0) == {"location": "Lisbon", "unit": "celsius"}
    assert resolve_any_of(arguments, 1) == {"location": "Lisbon, Portugal"}  # null: the key left out
    assert resolve_any_of({"to": [{"any_of": ["a@x.org", "A@x.org"]}]}, 1) == {"to": ["A@x.org"]}


@pytest.mark.parametrize(("arguments", "message"), [
    ({"unit": {"any_of": []}}, r"argument 'unit' written as \{\"any_of\":\[\]\}; write several acceptable values"),
    ({"unit": {"any_of": "celsius"}}, r"argument 'unit' written as .*any_of"),
    ({"unit": {"any_of": ["celsius"], "default": "celsius"}}, r"argument 'unit' .* with no other key"),
    ({"when": {"day": {"any_of": [{"any_of": [1]}]}}}, r"argument 'when.day' nesting an any_of inside an any_of"),
    ({"to": ["a", {"any_of": []}]}, r"argument 'to\[1\]' written as"),
])
def test_a_malformed_any_of_is_refused_by_the_reference_check_naming_the_argument(arguments, message):
    with pytest.raises(UsageError, match=r"has call 0 \(f\) with " + message):
        check_reference("tool_call", [{"name": "f", "arguments": arguments}])


def test_a_file_suite_item_with_a_malformed_any_of_is_refused_by_line(tmp_path):
    from evalkit.suites.files import load_file_suite

    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"id": "a", "prompt": "?", "scorer": "tool_call", "tools": [WEATHER],
                                "reference": [{"name": "get_current_weather",
                                               "arguments": {"unit": {"any_of": []}}}]}) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=rf"{re.escape(str(path))}:1: reference for scorer 'tool_call' has call 0"):
        load_file_suite(path)


# ---------------------------------------------------------------- end to end

SEED, LIMIT = 5, 15


def scripted(samples: list[Sample]) -> tuple[dict[str, Reply], dict[str, tuple[float, str | None]]]:
    """A reply per prompt and the (score, start of the detail) each must get: the items with
    calls answered right, except four answered with one model error each."""
    script, expected = {}, {}
    with_calls = [s for s in samples if s.reference]
    faults = {with_calls[0].id: "malformed", with_calls[1].id: "unknown", with_calls[2].id: "missing",
              with_calls[3].id: "wrong"}
    for index, sample in enumerate(samples):
        calls = [ToolCall(name, json.dumps(arguments, ensure_ascii=False), pieces=2 + index % 3)
                 for name, arguments in concrete(sample, index)]
        fault = faults.get(sample.id)
        if not sample.reference:
            script[sample.prompt_text] = Reply("Sorry, I can't do that with my tools.", prompt_tokens=900,
                                               completion_tokens=12)
            expected[sample.id] = (1.0, None)
            continue
        if fault:
            calls, detail = _faulty(sample, calls, fault)
            expected[sample.id] = (0.0, detail)
        else:
            expected[sample.id] = (1.0, None)
        script[sample.prompt_text] = Reply("", tool_calls=calls, finish_reason="tool_calls", prompt_tokens=900,
                                           completion_tokens=40, interleave_tool_calls=len(calls) > 1)
    return script, expected


def _faulty(sample: Sample, calls: list[ToolCall], fault: str) -> tuple[list[ToolCall], str]:
    first = calls[0]
    if fault == "malformed":
        cut = malformed_arguments(first.name, first.arguments[:-3])
        return [cut], f"the arguments of {first.name} are not valid JSON"
    if fault == "unknown":
        return [ToolCall("get_weather_now", first.arguments)], "called unknown tool 'get_weather_now'"
    arguments = json.loads(first.arguments)
    required = offered(sample)[first.name]["required"][0]
    if fault == "missing":
        del arguments[required]
        return [ToolCall(first.name, json.dumps(arguments))], f"the call to {first.name} lacks required argument(s)"
    arguments[required] = "WRONG" if isinstance(arguments[required], str) else 123456
    return ([ToolCall(first.name, json.dumps(arguments)), *calls[1:]],
            f"{first.name}: argument {required!r} is {json.dumps(arguments[required])}")


@pytest.mark.parametrize("name", NAMES)
def test_compare_on_the_scripted_server_scores_right_calls_1_and_model_errors_0(tmp_path, scripted_server, name):
    samples = generate_builtin(name, LIMIT, SEED)
    assert {s.metadata["kind"] for s in samples} == {"single", "parallel", "no_tool", "impossible"}
    assert len({s.prompt_text for s in samples}) == LIMIT
    script, expected = scripted(samples)
    server = scripted_server(script)
    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump({"models": [{"id": "deepseek/deepseek-v4-flash", "api_base": server.base_url,
                                                  "price": {"input": 2.0, "output": 8.0}}]}), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", "-c", str(config), "-s", name, "--limit", str(LIMIT),
                                       "--seed", str(SEED), "--store", str(tmp_path / "h.db"),
                                       "--results-dir", str(tmp_path / "results")],
                                catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    bodies = {r.prompt: r.body for r in server.chat_requests()}
    assert all(bodies[s.prompt_text]["tools"] == s.params["tools"] for s in samples)
    records = analyse_run(Store(str(tmp_path / "h.db")), "last").records.to_dict("records")
    assert len(records) == LIMIT
    for record in records:
        score, detail = expected[record["sample_id"]]
        assert record["error_class"] is None  # the model's errors are scored, never evalkit's failures
        assert record["score"] == score, (record["sample_id"], record["score_detail"])
        if detail:
            assert record["score_detail"].startswith(detail), record["score_detail"]
    # 11 of 15 right; every call reported 900 + 40 (12 for a text answer) tokens at $2/$8 per 1M
    right = sum(score for score, _ in expected.values())
    assert right == LIMIT - 4 and f"{right / LIMIT:.1%}" in result.output
    texts = sum(1 for s in samples if not s.reference)
    cost = (LIMIT * 900 * 2.0 + (LIMIT - texts) * 40 * 8.0 + texts * 12 * 8.0) / 1e6
    assert sum(r["cost_usd"] for r in records) == pytest.approx(cost)
