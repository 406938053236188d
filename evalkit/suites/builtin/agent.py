"""Built-in suite ``agent``: customer-support tasks of 2 to 6 tool calls, answered with one number.

Each item is a message from a customer of a web shop and a question about it; the model
is a support agent with the ``support`` toolkit (`evalkit.suites.builtin.agent_tools`:
customers, orders, policies, day counts, currency conversion, shipping quotes) over the
item's own world (`evalkit.suites.builtin.agent_world`), and must combine several tool
results into the answer:

- level 1 (2 calls): an order's total in another currency, or the shipping quote for
  sending an order again (its total weight computed from the lines);
- level 2 (3 calls): the refund for a whole order under the returns policy, which may be
  0 when the return window has passed;
- level 3 (4 calls): the refund for part of an order, converted to the customer's card
  currency;
- level 4 (5 calls): the customer gives an e-mail and a date instead of an order id, has
  other orders (one with the same product on another day), and a category rule may
  change the window and the fee;
- level 5 (6 calls): as level 4, with a loyalty-tier rule that extends the window and the
  refund paid in the customer's home currency, which only the customer record gives.

The intended calls are made while the item is built, through the same `ToolEnvironment`
the runner uses, and the reference is computed from their results, so every item is
solvable with the tools offered and its answer right by construction. The metadata keeps
the calls in order (``solution``) and their number (``steps``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from evalkit.suites.base import Sample
from evalkit.suites.builtin import Item, generate_samples, register_generated
from evalkit.suites.builtin.agent_lang import LANGUAGES, Language, Product
from evalkit.suites.builtin.agent_tools import SERVICES, TOOLKIT, exchange_rate, money, order_total, tool_definitions
from evalkit.suites.builtin.agent_world import (
    BRACKETS_KG,
    add_background,
    add_customer,
    add_order,
    draw_lines,
    money_text,
    new_world,
    order_id_pattern,
)
from evalkit.suites.environment import ToolEnvironment

TEMPLATES = {1: ("order-total", "reship-quote"), 2: ("refund-order",), 3: ("refund-converted",),
             4: ("refund-lookup",), 5: ("refund-exception",)}
"""The task templates of each level; a level's tasks all take the same number of calls."""
SLACK_TURNS = 2
"""Turns allowed beyond the intended calls (the final answer, one retry)."""
MAX_TURNS = 8
_TOLERANCE = Decimal("0.02")
"""Cents a reply may be off by: rounding each line, or the refund before converting it."""


class _Session:
    """Makes the intended calls through the item's tools, as the runner will, and records them."""

    def __init__(self, world: dict[str, Any], tools: list[dict[str, Any]]) -> None:
        self._environment = ToolEnvironment(TOOLKIT, world)
        self._tools = tools
        self.calls: list[dict[str, Any]] = []

    def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        """The result of one intended call, its arguments checked against the offered schema."""
        self.calls.append({"name": name, "arguments": arguments})
        result: dict[str, Any] = json.loads(self._environment.call(name, json.dumps(arguments), self._tools))
        if "error" in result:  # the generator asked for something its own world lacks
            raise RuntimeError(f"agent suite: intended call {name}({arguments}) failed: {result['error']}")
        return result


@dataclass(frozen=True)
class Task:
    """What a builder made: the prompt's slots, the answer and how far a reply may be off."""

    template: str
    slots: dict[str, str]
    answer: Decimal
    tolerance: Decimal = _TOLERANCE
    facts: dict[str, Any] = field(default_factory=dict)
    """What the task asks about (the lines returned, the currency wanted), for tests and reports."""


TaskBuilder = Callable[[random.Random, dict[str, Any], Language, _Session], Task]


def generate(n: int, seed: int, language: str = "en", difficulty: int | None = None) -> list[Sample]:
    """``n`` support tasks; the same arguments always give the same tasks and worlds."""
    return generate_samples("agent", build_item, n, seed, language, difficulty)


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One task at ``level``: its world, the intended calls made, the answer computed from them."""
    lang = LANGUAGES[language]
    template = rng.choice(TEMPLATES[level])
    world = new_world(rng, lang, level)
    tools = tool_definitions(language, order_id_pattern(lang))
    session = _Session(world, tools)
    task = _BUILDERS[template](rng, world, lang, session)
    customer = world["customers"][0]
    text = {key: value.format(**task.slots) for key, value in _texts(lang, template).items()}
    prompt = lang.texts["header"].format(shop=world["shop"], today=world["today"], name=customer["name"],
                                         email=customer["email"], **text)
    steps = len(session.calls)
    return Item(
        prompt=prompt,
        reference=float(task.answer),
        scorer="numeric",
        scorer_options={"tolerance": float(task.tolerance)},
        template=template,
        metadata={"steps": steps, "solution": session.calls, "answer": money_text(task.answer),
                  "facts": task.facts},
        params={"tools": tools},
        environment=ToolEnvironment(TOOLKIT, world, max_turns=min(steps + SLACK_TURNS, MAX_TURNS)),
    )


register_generated(
    "agent",
    build_item,
    description="Customer-support tasks of 2-6 tool calls over a shop's data; one number as the answer.",
    typical_answer_tokens=60,
    order=20,  # after the single-turn suites
    in_default_run=False,
)


def _texts(lang: Language, template: str) -> dict[str, str]:
    return {part: lang.texts[f"{template}.{part}"] for part in ("message", "task", "format")}


def _currency(lang: Language, code: str) -> str:
    return lang.currency_label.format(code=code, name=lang.currency_names.get(code, code))


def _delivered(rng: random.Random, today: date, days_since_delivery: int) -> tuple[date, date]:
    """(placed, delivered) of an order delivered that many days before today."""
    delivered = today - timedelta(days=days_since_delivery)
    return delivered - timedelta(days=rng.randint(2, 6)), delivered


def _today(world: dict[str, Any]) -> date:
    return date.fromisoformat(world["today"])


def _month_day(lang: Language, day: date) -> str:
    return lang.month_day.format(month_name=lang.month_names[day.month - 1], month=day.month, day=day.day)


def refund_due(order: dict[str, Any], policy: dict[str, Any], days: int, returned: dict[str, int],
               tier: str | None) -> Decimal:
    """The refund for `returned` (sku -> quantity) of `order`, `days` after delivery, under the
    returns `policy` read as its ``how_to_apply`` says."""
    extra = sum(rule["extra_window_days"] for rule in policy["tier_rules"] if rule["tier"] == tier)
    refund = Decimal(0)
    for line in order["lines"]:
        if line["sku"] not in returned:
            continue
        rule = next((r for r in policy["category_rules"] if r["category"] == line["category"]), None)
        window = (rule or policy)["window_days"] + extra
        if days > window:
            continue
        fee = Decimal((rule or policy)["restocking_fee_percent"])
        refund += returned[line["sku"]] * Decimal(str(line["unit_price"])) * (100 - fee) / 100
    return money(refund)


# ---------------------------------------------------------------- level 1


def _order_total(rng: random.Random, world: dict[str, Any], lang: Language, session: _Session) -> Task:
    customer = add_customer(rng, world, lang)
    placed, delivered = _delivered(rng, _today(world), rng.randint(3, 90))
    order = add_order(rng, world, lang, customer, draw_lines(rng, lang, world["currency"], rng.randint(1, 3)),
                      placed, delivered)
    add_background(rng, world, lang, customer, rng.randint(0, 2))
    target = rng.choice(lang.targets[world["currency"]])
    got = session.call("get_order", order_id=order["order_id"])
    converted = session.call("convert_currency", amount=float(order_total(got)), from_currency=got["currency"],
                             to_currency=target)
    slots = {"order_id": order["order_id"], "target": _currency(lang, target),
             "target_name": lang.currency_names[target]}
    return Task("order-total", slots, Decimal(str(converted["converted"])), facts={"target_currency": target})


def _reship_quote(rng: random.Random, world: dict[str, Any], lang: Language, session: _Session) -> Task:
    customer = add_customer(rng, world, lang)
    placed, delivered = _delivered(rng, _today(world), rng.randint(1, 20))
    lines = draw_lines(rng, lang, world["currency"], rng.randint(1, 3))
    while _weight(lines) > BRACKETS_KG[-1]:  # one parcel: drop lines until it is light enough
        lines.pop()
    order = add_order(rng, world, lang, customer, lines, placed, delivered)
    add_background(rng, world, lang, customer, rng.randint(0, 2))
    service = rng.choice(SERVICES)
    got = session.call("get_order", order_id=order["order_id"])
    quote = session.call("shipping_quote", destination=got["destination"], weight_kg=float(_weight(got["lines"])),
                         service=service)
    slots = {"order_id": order["order_id"], "service_name": lang.service_names[service],
             "currency": _currency(lang, world["currency"])}
    return Task("reship-quote", slots, Decimal(str(quote["price"])), tolerance=Decimal("0.01"),
                facts={"service": service, "weight_kg": str(_weight(got["lines"]))})


def _weight(lines: list[dict[str, Any]]) -> Decimal:
    return sum((line["quantity"] * Decimal(str(line["unit_weight_kg"])) for line in lines), Decimal(0))


# ---------------------------------------------------------------- levels 2 and 3: the order id is given


def _refund_order(rng: random.Random, world: dict[str, Any], lang: Language, session: _Session) -> Task:
    customer = add_customer(rng, world, lang)
    window = world["policies"]["returns"]["window_days"]
    late = rng.random() < 0.25
    days = window + rng.randint(1, 20) if late else (window if rng.random() < 0.15 else rng.randint(1, window))
    placed, delivered = _delivered(rng, _today(world), days)
    order = add_order(rng, world, lang, customer, draw_lines(rng, lang, world["currency"], rng.randint(1, 3)),
                      placed, delivered)
    add_background(rng, world, lang, customer, rng.randint(0, 2))
    got, policy, counted = _order_policy_days(session, order["order_id"], world)
    returned = {line["sku"]: line["quantity"] for line in got["lines"]}
    answer = refund_due(got, policy, counted["days"], returned, customer["tier"])
    slots = {"order_id": order["order_id"], "currency": _currency(lang, world["currency"])}
    return Task("refund-order", slots, answer, facts={"returned": returned, "late": late})


def _order_policy_days(session: _Session, order_id: str, world: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The three calls every refund makes once the order id is known."""
    order = session.call("get_order", order_id=order_id)
    policy = session.call("get_policy", topic="returns")
    days = session.call("days_between", start_date=order["delivered_on"], end_date=world["today"])
    return order, policy, days


def _refund_converted(rng: random.Random, world: dict[str, Any], lang: Language, session: _Session) -> Task:
    customer = add_customer(rng, world, lang)
    placed, delivered = _delivered(rng, _today(world), rng.randint(1, world["policies"]["returns"]["window_days"]))
    lines = draw_lines(rng, lang, world["currency"], rng.randint(1, 3))
    returned_line = rng.choice(lines)
    order = add_order(rng, world, lang, customer, lines, placed, delivered)
    add_background(rng, world, lang, customer, rng.randint(0, 2))
    target = rng.choice(lang.targets[world["currency"]])
    quantity = rng.randint(1, returned_line["quantity"])
    got, policy, counted = _order_policy_days(session, order["order_id"], world)
    refund = refund_due(got, policy, counted["days"], {returned_line["sku"]: quantity}, customer["tier"])
    converted = session.call("convert_currency", amount=float(refund), from_currency=world["currency"],
                             to_currency=target)
    slots = {"order_id": order["order_id"], "product": returned_line["name"], "quantity": str(quantity),
             "target": _currency(lang, target), "target_name": lang.currency_names[target]}
    return Task("refund-converted", slots, Decimal(str(converted["converted"])),
                tolerance=_converted_tolerance(world, target),
                facts={"returned": {returned_line["sku"]: quantity}, "target_currency": target})


def _converted_tolerance(world: dict[str, Any], target: str) -> Decimal:
    """A cent off before converting is a cent times the rate after it."""
    rate = exchange_rate(world["rates"], world["currency"], target)
    return money(_TOLERANCE * max(Decimal(1), rate))


# ---------------------------------------------------------------- levels 4 and 5: found by e-mail and date


@dataclass(frozen=True)
class _Return:
    """The return a level 4-5 customer writes about: which product, how many, from which order."""

    order: dict[str, Any]
    line: dict[str, Any]
    quantity: int


def _draw_return(rng: random.Random, world: dict[str, Any], lang: Language, customer: dict[str, Any],
                 product: Product, days: int) -> _Return:
    """The order with `product`, delivered `days` ago, and the customer's other orders: one with
    the same product on another day, and one or two more."""
    today = _today(world)
    placed, delivered = _delivered(rng, today, days)
    lines = draw_lines(rng, lang, world["currency"], rng.randint(1, 3), first=product)
    order = add_order(rng, world, lang, customer, lines, placed, delivered)
    earlier_placed, earlier_delivered = _delivered(rng, today, days + rng.randint(12, 80))
    add_order(rng, world, lang, customer, draw_lines(rng, lang, world["currency"], rng.randint(1, 2), first=product),
              earlier_placed, earlier_delivered)
    add_background(rng, world, lang, customer, rng.randint(1, 2))
    _keep_dates_distinct(world, order)
    rng.shuffle(world["orders"])
    return _Return(order, lines[0], rng.randint(1, lines[0]["quantity"]))


def _keep_dates_distinct(world: dict[str, Any], order: dict[str, Any]) -> None:
    """No other order of the customer on the day the customer names (it would be ambiguous)."""
    for other in world["orders"]:
        while other is not order and other["customer_id"] == order["customer_id"] \
                and other["placed_on"] == order["placed_on"]:
            other["placed_on"] = (date.fromisoformat(other["placed_on"]) - timedelta(days=1)).isoformat()


def _lookup_calls(session: _Session, customer: dict[str, Any], order_id: str, world: dict[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    found = session.call("find_customer", email=customer["email"])
    session.call("list_orders", customer_id=found["id"])
    return (found, *_order_policy_days(session, order_id, world))


def _rule_for(world: dict[str, Any], product: Product, lang: Language) -> dict[str, Any] | None:
    return next((rule for rule in world["policies"]["returns"]["category_rules"]
                 if rule["category"] == lang.categories[product.category]), None)


def _pick_product(rng: random.Random, world: dict[str, Any], lang: Language, with_rule: bool) -> Product:
    ruled = {rule["category"] for rule in world["policies"]["returns"]["category_rules"]}
    products = [p for p in lang.products if (lang.categories[p.category] in ruled) == with_rule]
    return rng.choice(products)


def _refund_lookup(rng: random.Random, world: dict[str, Any], lang: Language, session: _Session) -> Task:
    customer = add_customer(rng, world, lang)
    product = _pick_product(rng, world, lang, with_rule=rng.random() < 0.6)
    standard, rule = world["policies"]["returns"]["window_days"], _rule_for(world, product, lang)
    if rule and rng.random() < 0.5:  # between the two windows: only the category rule decides
        low, high = sorted((standard, rule["window_days"]))
        days = rng.randint(low + 1, high)
    elif rule:
        days = rng.randint(1, min(standard, rule["window_days"]))
    else:
        days = standard + rng.randint(1, 15) if rng.random() < 0.2 else rng.randint(1, standard)
    chosen = _draw_return(rng, world, lang, customer, product, days)
    found, got, policy, counted = _lookup_calls(session, customer, chosen.order["order_id"], world)
    returned = {chosen.line["sku"]: chosen.quantity}
    answer = refund_due(got, policy, counted["days"], returned, found["tier"])
    slots = {"product": product.name, "quantity": str(chosen.quantity),
             "placed": _month_day(lang, date.fromisoformat(chosen.order["placed_on"])),
             "currency": _currency(lang, world["currency"])}
    return Task("refund-lookup", slots, answer,
                facts={"returned": returned, "category_rule": rule is not None, "order_id": chosen.order["order_id"]})


def _refund_exception(rng: random.Random, world: dict[str, Any], lang: Language, session: _Session) -> Task:
    gold = rng.random() < 0.7
    home = rng.choice(lang.targets[world["currency"]])
    customer = add_customer(rng, world, lang, tier="gold" if gold else "standard", home_currency=home)
    product = _pick_product(rng, world, lang, with_rule=rng.random() < 0.5)
    rule = _rule_for(world, product, lang)
    base = (rule or world["policies"]["returns"])["window_days"]
    extra = world["policies"]["returns"]["tier_rules"][0]["extra_window_days"]
    days = rng.randint(base + 1, base + extra) if gold and rng.random() < 0.6 else rng.randint(1, base)
    chosen = _draw_return(rng, world, lang, customer, product, days)
    found, got, policy, counted = _lookup_calls(session, customer, chosen.order["order_id"], world)
    returned = {chosen.line["sku"]: chosen.quantity}
    refund = refund_due(got, policy, counted["days"], returned, found["tier"])
    converted = session.call("convert_currency", amount=float(refund), from_currency=got["currency"],
                             to_currency=found["home_currency"])
    slots = {"product": product.name, "quantity": str(chosen.quantity),
             "placed": _month_day(lang, date.fromisoformat(chosen.order["placed_on"]))}
    return Task("refund-exception", slots, Decimal(str(converted["converted"])),
                tolerance=_converted_tolerance(world, home),
                facts={"returned": returned, "category_rule": rule is not None, "gold": gold,
                       "order_id": chosen.order["order_id"], "target_currency": home})


_BUILDERS: dict[str, TaskBuilder] = {
    "order-total": _order_total,
    "reship-quote": _reship_quote,
    "refund-order": _refund_order,
    "refund-converted": _refund_converted,
    "refund-lookup": _refund_lookup,
    "refund-exception": _refund_exception,
}
