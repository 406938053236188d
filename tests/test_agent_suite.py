"""The ``agent`` suites: every task is solvable with the tools offered, and its reference is right.

The oracle here replays each item's intended calls through the item's own
`ToolEnvironment` (the very call the runner makes) and recomputes the answer from the
results with exact fractions, without the generator's code; the calls' arguments are
validated against the offered JSON Schemas with the `jsonschema` package.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.run.estimate import task_turns
from evalkit.run.prepare import default_suites
from evalkit.scoring import score_item
from evalkit.store.database import Store
from evalkit.suites.base import Sample
from evalkit.suites.builtin import generate_builtin
from evalkit.suites.builtin.agent_tools import TOOLKIT
from evalkit.suites.environment import ToolEnvironment
from evalkit.testing.scripted_server import ReceivedRequest, Reply, ToolCall

NAMES = ["agent", "agent-zh"]
STEPS = {1: 2, 2: 3, 3: 4, 4: 5, 5: 6}

_cache: dict[tuple[str, int | None], list[Sample]] = {}


def samples(name: str, difficulty: int | None = None) -> list[Sample]:
    key = (name, difficulty)
    if key not in _cache:
        _cache[key] = generate_builtin(name, 40 if difficulty else 100, 5, difficulty=difficulty)
    return _cache[key]


def replay(sample: Sample) -> list[dict[str, Any]]:
    """The intended calls' results, as the runner gets them (arguments checked against the offered tools)."""
    assert sample.environment is not None
    return [json.loads(sample.environment.call(call["name"], json.dumps(call["arguments"]), sample.params["tools"]))
            for call in sample.metadata["solution"]]


def cents(value: Fraction) -> Fraction:
    """Half-up to the cent, as the shop rounds."""
    return Fraction(int(value * 100 + Fraction(1, 2)), 100)


def number(value: Any) -> Fraction:
    return Fraction(str(value))


# ---------------------------------------------------------------- the oracle


def expected_answer(sample: Sample, results: list[dict[str, Any]]) -> Fraction:
    template, facts = sample.metadata["template"], sample.metadata["facts"]
    if template == "order-total":
        order, converted = results
        total = sum(line["quantity"] * number(line["unit_price"]) for line in order["lines"])
        assert number(converted["amount"]) == total + number(order["shipping_fee"])
        assert converted["to_currency"] == facts["target_currency"]
        return number(converted["converted"])
    if template == "reship-quote":
        order, quote = results
        weight = sum(line["quantity"] * number(line["unit_weight_kg"]) for line in order["lines"])
        assert (number(quote["weight_kg"]), quote["destination"], quote["service"]) == (
            weight, order["destination"], facts["service"])
        return number(quote["price"])
    return _expected_refund(sample, results)


def _expected_refund(sample: Sample, results: list[dict[str, Any]]) -> Fraction:
    facts, lookup = sample.metadata["facts"], sample.metadata["difficulty"] >= 4
    customer = results[0] if lookup else None
    if lookup:
        _check_the_order_is_the_one_the_customer_means(sample, results[1], results[2])
    order, policy, days = results[2:5] if lookup else results[:3]
    today = date.fromisoformat(sample.environment.data["today"])  # type: ignore[union-attr]
    assert days["days"] == (today - date.fromisoformat(order["delivered_on"])).days
    tier = customer["tier"] if customer else None
    extra = sum(rule["extra_window_days"] for rule in policy["tier_rules"] if rule["tier"] == tier)
    refund = Fraction(0)
    for line in order["lines"]:
        if line["sku"] in facts["returned"]:
            rules = [rule for rule in policy["category_rules"] if rule["category"] == line["category"]]
            terms = rules[0] if rules else policy
            if days["days"] <= terms["window_days"] + extra:
                share = 1 - Fraction(terms["restocking_fee_percent"], 100)
                refund += facts["returned"][line["sku"]] * number(line["unit_price"]) * share
    refund = cents(refund)
    if results[-1].get("to_currency"):
        converted = results[-1]
        assert number(converted["amount"]) == refund
        wanted = customer["home_currency"] if customer else facts["target_currency"]
        assert (converted["from_currency"], converted["to_currency"]) == (order["currency"], wanted)
        return number(converted["converted"])
    return refund


def _check_the_order_is_the_one_the_customer_means(sample: Sample, listing: dict, order: dict) -> None:
    """Of the customer's orders, exactly one has the returned product on the day they name."""
    product = next(line["name"] for line in order["lines"] if line["sku"] in sample.metadata["facts"]["returned"])
    same_day = [o for o in listing["orders"] if product in o["items"] and o["placed_on"] == order["placed_on"]]
    assert [o["order_id"] for o in same_day] == [order["order_id"]]
    assert len([o for o in listing["orders"] if product in o["items"]]) >= 2  # a distractor exists


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("difficulty", [1, 2, 3, 4, 5])
def test_replaying_the_intended_calls_gives_the_reference(name, difficulty):
    for sample in samples(name, difficulty):
        results = replay(sample)
        assert not [r for r in results if "error" in r], sample.id
        assert expected_answer(sample, results) == number(sample.reference), sample.id
        assert sample.metadata["answer"] == f"{float(sample.reference):.2f}"


@pytest.mark.parametrize("name", NAMES)
def test_every_intended_call_keeps_to_its_tool_schema(name):
    for sample in samples(name):
        offered = {tool["function"]["name"]: tool["function"] for tool in sample.params["tools"]}
        assert len(offered) == len(sample.params["tools"]) == 7
        for call in sample.metadata["solution"]:
            schema = offered[call["name"]]["parameters"]
            jsonschema.Draft202012Validator.check_schema(schema)
            jsonschema.validate(call["arguments"], schema, cls=jsonschema.Draft202012Validator)


def test_a_call_outside_the_schema_is_caught_by_it():
    """The schema check above can fail: a bad id or a made-up currency breaks it."""
    sample = samples("agent", 3)[0]
    offered = {tool["function"]["name"]: tool["function"]["parameters"] for tool in sample.params["tools"]}
    for name, arguments in [("get_order", {"order_id": "12345"}),
                            ("convert_currency", {"amount": 5, "from_currency": "EUR", "to_currency": "XYZ"}),
                            ("days_between", {"start_date": "2026-01-01"}),
                            ("get_policy", {"topic": "returns", "tier": "gold"})]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(arguments, offered[name], cls=jsonschema.Draft202012Validator)


# ---------------------------------------------------------------- difficulty and shape


@pytest.mark.parametrize("name", NAMES)
def test_each_level_takes_one_call_more_and_its_turns_allow_for_it(name):
    for level, steps in STEPS.items():
        for sample in samples(name, level):
            assert sample.metadata["steps"] == len(sample.metadata["solution"]) == steps
            assert sample.environment is not None and sample.environment.toolkit == TOOLKIT
            assert sample.environment.max_turns == min(steps + 2, 8)
    mixed = [s.metadata["steps"] for s in samples(name)]
    assert [mixed[i] for i in range(5)] == [2, 3, 4, 5, 6]


def test_estimates_expect_the_intended_calls_and_reserve_the_turn_limit():
    """`evalkit estimate` reads the item's ``steps``: intended calls + the answer, and at worst the limit."""
    for sample in samples("agent"):
        assert task_turns(sample, "expected") == sample.metadata["steps"] + 1
        assert task_turns(sample, "high") == sample.environment.max_turns  # type: ignore[union-attr]


@pytest.mark.parametrize("name", NAMES)
def test_the_hard_levels_hinge_on_the_exceptions(name):
    """Level 4 has refunds a category rule cancels or allows; level 5 refunds only the tier
    rule allows; level 2 has returns too late. Ignoring the rule gives another answer."""
    level2 = samples(name, 2)
    assert 0.1 <= sum(s.reference == 0 for s in level2) / len(level2) <= 0.5
    ruled = [s for s in samples(name, 4) if s.metadata["facts"]["category_rule"]]
    assert sum(_answer_without(s, "category_rules") != number(s.reference) for s in ruled) >= len(ruled) // 2
    level5 = samples(name, 5)
    assert all(s.reference > 0 for s in level5)
    assert sum(_answer_without(s, "tier_rules") == 0 for s in level5) >= len(level5) // 5


def _answer_without(sample: Sample, rules: str) -> Fraction:
    """The answer of a model that overlooks one kind of policy exception."""
    results = replay(sample)
    results[3] = {**results[3], rules: []}
    if sample.metadata["difficulty"] == 5:
        results = results[:5]  # before converting: zero stays zero, anything else is off
    return _expected_refund(sample, results)


@pytest.mark.parametrize("name", NAMES)
def test_a_right_answer_scores_one_and_an_answer_off_by_a_few_cents_does_not(name):
    for sample in samples(name):
        assert score_item(f"{sample.metadata['answer']}", sample).value == 1.0
        off = float(sample.reference) + sample.scorer_options["tolerance"] + 0.01
        assert score_item(f"{off:.2f}", sample).value == 0.0, sample.id


def test_the_chinese_variant_is_set_in_a_chinese_shop():
    for sample in samples("agent-zh"):
        data = sample.environment.data  # type: ignore[union-attr]
        assert data["currency"] in ("CNY", "HKD", "USD")
        assert all("\u4e00" <= data_char <= "\u9fff" for data_char in data["customers"][0]["name"])
        assert next(iter(data["shipping"]["zones"])) == "浙江"
        description = sample.params["tools"][0]["function"]["description"]
        assert "顾客" in description


def test_agent_suites_run_when_asked_for_and_not_by_default():
    names = [suite.name for suite in default_suites()]
    assert "arithmetic" in names and not {"agent", "agent-zh"} & set(names)


def test_worlds_are_json_and_the_same_seed_gives_the_same_world():
    first, again = generate_builtin("agent", 10, 2), generate_builtin("agent", 10, 2)
    for one, other in zip(first, again):
        assert json.dumps(one.environment.identity(), sort_keys=True) == json.dumps(  # type: ignore[union-attr]
            other.environment.identity(), sort_keys=True)  # type: ignore[union-attr]
        assert one.params == other.params and one.metadata == other.metadata
    assert len({json.dumps(s.environment.data, sort_keys=True) for s in first}) == 10  # type: ignore[union-attr]


# ---------------------------------------------------------------- the toolkit's errors


@pytest.fixture
def world() -> ToolEnvironment:
    sample = samples("agent", 5)[0]
    assert sample.environment is not None
    return sample.environment


def error_of(environment: ToolEnvironment, name: str, arguments: dict[str, Any]) -> str:
    result = json.loads(environment.call(name, json.dumps(arguments)))
    assert list(result) == ["error"], result
    return result["error"]


def test_unknown_ids_come_back_as_errors_the_model_can_read(world):
    assert error_of(world, "get_order", {"order_id": "NW-00000"}) == "no order with id 'NW-00000'"
    assert "no customer with e-mail" in error_of(world, "find_customer", {"email": "nobody@example.com"})
    assert "no customer with id" in error_of(world, "list_orders", {"customer_id": "C-1"})
    assert "unknown currency 'XYZ'" in error_of(world, "convert_currency",
                                                {"amount": 1, "from_currency": "EUR", "to_currency": "XYZ"})
    assert "no shipping to 'Mars'" in error_of(world, "shipping_quote", {"destination": "Mars", "weight_kg": 1})


def test_bad_arguments_come_back_as_errors_too(world):
    assert error_of(world, "get_order", {}) == "missing required argument 'order_id'"
    assert "YYYY-MM-DD" in error_of(world, "days_between", {"start_date": "March 3", "end_date": "2026-03-04"})
    assert "number >= 0" in error_of(world, "convert_currency",
                                     {"amount": -5, "from_currency": "EUR", "to_currency": "USD"})
    assert "topic must be one of" in error_of(world, "get_policy", {"topic": "privacy"})
    assert "over the 20 kg limit" in error_of(world, "shipping_quote", {"destination": "Germany", "weight_kg": 25})
    assert "there is no tool named 'refund'" in error_of(world, "refund", {})


def test_with_the_offered_tools_a_call_outside_their_schema_gets_the_schema_reason():
    sample = samples("agent-zh", 4)[0]
    assert sample.environment is not None
    result = json.loads(sample.environment.call("get_order", json.dumps({"order_id": "12345"}),
                                                sample.params["tools"]))
    assert result["error"].startswith("the arguments do not fit get_order's parameters: order_id:")
    result = json.loads(sample.environment.call("get_policy", json.dumps({"topic": "privacy"}),
                                                sample.params["tools"]))
    assert "privacy" in result["error"] and "get_policy's parameters" in result["error"]


def test_the_tools_answer_from_the_item_data(world):
    customer = world.data["customers"][0]
    found = json.loads(world.call("find_customer", json.dumps({"email": customer["email"].upper()})))
    assert found == customer
    listing = json.loads(world.call("list_orders", json.dumps({"customer_id": customer["id"]})))
    placed = [order["placed_on"] for order in listing["orders"]]
    assert placed == sorted(placed, reverse=True) and len(placed) >= 3
    delivered = json.loads(world.call("list_orders", json.dumps({"customer_id": customer["id"],
                                                                   "status": "delivered"})))
    assert {order["status"] for order in delivered["orders"]} == {"delivered"}
    days = json.loads(world.call("days_between", json.dumps({"start_date": "2026-02-27",
                                                              "end_date": "2026-03-01"})))
    assert days["days"] == 2
    rates = world.data["rates"]
    converted = json.loads(world.call("convert_currency", json.dumps(
        {"amount": 100, "from_currency": "USD", "to_currency": "EUR"})))
    assert converted["converted"] == round(100 * rates["EUR"], 2)


# ---------------------------------------------------------------- end to end, over HTTP

PRICE = (2.0, 8.0)
"""USD per 1M input and output tokens."""
TURN_TOKENS = (300, 20)
"""Prompt and completion tokens the scripted server reports for every turn."""
RUN_SEED, RUN_ITEMS = 31, 10


def _playing(by_prompt: dict[str, Sample], received: dict[tuple[str, str], list[str]]) -> Callable[..., Reply]:
    """A script that plays each item's intended calls turn by turn, as a model would.

    ``right`` then answers with the reference, ``wrong`` with a number off by one,
    ``stumbles`` first asks for an order that does not exist and then recovers, and
    ``loops`` never stops calling tools. What each model was sent back is kept in
    `received`, by (model, sample id)."""

    def script(request: ReceivedRequest) -> Reply:
        model, sample = request.body["model"], by_prompt[request.prompt]
        results = [m["content"] for m in request.body["messages"] if m["role"] == "tool"]
        received[(model, sample.id)] = results
        solution = sample.metadata["solution"]
        done = len(results) - (1 if model == "stumbles" else 0)
        if model == "stumbles" and not results:  # an id of the right form that no order has
            return _calling("get_order", {"order_id": _NO_SUCH_ORDER[sample.metadata["language"]]}, 0)
        if model == "loops":
            return _calling("get_policy", {"topic": "returns"}, len(results))
        if done < len(solution):
            return _calling(solution[done]["name"], solution[done]["arguments"], len(results))
        answer = sample.reference + (1 if model == "wrong" else 0)
        zh = sample.metadata["language"] == "zh"
        return Reply(f"{'答案：' if zh else 'Answer: '}{answer:.2f}", prompt_tokens=TURN_TOKENS[0],
                     completion_tokens=TURN_TOKENS[1])

    return script


_NO_SUCH_ORDER = {"en": "ZZ-00000", "zh": "ZZ00000000"}


def _calling(name: str, arguments: dict[str, Any], number: int) -> Reply:
    return Reply("", tool_calls=[ToolCall(name, json.dumps(arguments, ensure_ascii=False), id=f"call_{number}")],
                 finish_reason="tool_calls", prompt_tokens=TURN_TOKENS[0], completion_tokens=TURN_TOKENS[1])


def test_compare_plays_each_task_over_http_and_scores_the_final_answer(tmp_path, scripted_server):
    expected = {s.id: s for name in NAMES for s in generate_builtin(name, RUN_ITEMS, RUN_SEED)}
    by_prompt = {s.prompt_text: s for s in expected.values()}
    received: dict[tuple[str, str], list[str]] = {}
    server = scripted_server(_playing(by_prompt, received))
    models = [{"id": f"openai/{name}", "label": name, "api_base": server.base_url,
               "price": {"input": PRICE[0], "output": PRICE[1]}} for name in ("right", "wrong", "stumbles", "loops")]
    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump({"models": models}), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", "-c", str(config), "-s", "agent", "-s", "agent-zh",
                                       "--limit", str(RUN_ITEMS), "--seed", str(RUN_SEED),
                                       "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "out")],
                                catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    frame = analyse_run(Store(str(tmp_path / "h.db")), "last").records.astype(object)
    records = {(r["model"], r["sample_id"]): r for r in frame.where(frame.notna(), None).to_dict("records")}
    assert len(records) == 4 * len(expected)
    for sample in expected.values():
        _check_the_task(sample, records, received)


def _check_the_task(sample: Sample, records: dict[tuple[str, str], dict], received: dict) -> None:
    steps, limit = sample.metadata["steps"], sample.environment.max_turns  # type: ignore[union-attr]
    right, wrong = records[("right", sample.id)], records[("wrong", sample.id)]
    stumbles, loops = records[("stumbles", sample.id)], records[("loops", sample.id)]
    # the runner sent back exactly what the intended calls give
    assert received[("right", sample.id)] == [json.dumps(r, ensure_ascii=False, sort_keys=True)
                                              for r in replay(sample)]
    assert (right["score"], wrong["score"], stumbles["score"], loops["score"]) == (1.0, 0.0, 1.0, 0.0), sample.id
    assert right["error_class"] is None and wrong["error_class"] is None
    # one turn per call and one for the answer; every turn priced: by hand 300 * $2 + 20 * $8 per 1M
    assert (right["turns"], stumbles["turns"], loops["turns"]) == (steps + 1, steps + 2, limit)
    per_turn = (TURN_TOKENS[0] * PRICE[0] + TURN_TOKENS[1] * PRICE[1]) / 1e6
    assert right["cost_usd"] == pytest.approx((steps + 1) * per_turn)
    assert right["prompt_tokens"] == (steps + 1) * TURN_TOKENS[0]
    assert [call["name"] for call in json.loads(right["tool_calls"])] == [
        call["name"] for call in sample.metadata["solution"]]
    missing = _NO_SUCH_ORDER[sample.metadata["language"]]
    assert json.loads(received[("stumbles", sample.id)][0]) == {"error": f"no order with id '{missing}'"}
    assert "turn limit" in loops["score_detail"]
