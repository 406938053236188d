"""The ``support`` toolkit: the tools a customer-support agent of the ``agent`` suites calls.

Each function reads only the item's own data (its customers, orders, policies, exchange
rates and shipping table, drawn by `evalkit.suites.builtin.agent`) and the call's
arguments, and always gives the same result for the same call: every candidate model
faces the same world, and a rerun reproduces it. An unknown id, currency or destination
is a `ToolFailure` whose message the model reads and may recover from.

Money is computed with decimals and returned rounded half-up to the cent; dates are ISO
``YYYY-MM-DD``. `tool_definitions` gives the OpenAI function definitions offered with
every item, described in the item's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from evalkit.suites.environment import ToolFailure, register_toolkit

TOOLKIT = "support"
CENT = Decimal("0.01")
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "CNY", "HKD", "JPY")
"""Codes `convert_currency` accepts (the schema's enum); an item's rates cover each of them."""
POLICY_TOPICS = ("returns", "shipping", "warranty")
ORDER_STATUSES = ("processing", "shipped", "delivered", "cancelled", "returned")
SERVICES = ("standard", "express")
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _argument(arguments: Mapping[str, Any], name: str) -> Any:
    if arguments.get(name) in (None, ""):
        raise ToolFailure(f"missing required argument {name!r}")
    return arguments[name]


def _date(arguments: Mapping[str, Any], name: str) -> date:
    text = _argument(arguments, name)
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ToolFailure(f"{name} must be a date written YYYY-MM-DD, got {text!r}") from None


def _amount(arguments: Mapping[str, Any], name: str) -> Decimal:
    value = _argument(arguments, name)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ToolFailure(f"{name} must be a number, got {value!r}")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ToolFailure(f"{name} must be a number, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ToolFailure(f"{name} must be a number >= 0, got {value!r}")
    return amount


# ---------------------------------------------------------------- the tools


def find_customer(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The customer whose e-mail address is given (compared without case)."""
    email = str(_argument(arguments, "email")).strip().casefold()
    for customer in data["customers"]:
        if customer["email"].casefold() == email:
            return dict(customer)
    raise ToolFailure(f"no customer with e-mail address {arguments['email']!r}")


def list_orders(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """One line per order of a customer, newest first, optionally of one status only."""
    customer_id = _argument(arguments, "customer_id")
    if not any(customer["id"] == customer_id for customer in data["customers"]):
        raise ToolFailure(f"no customer with id {customer_id!r}")
    status = arguments.get("status")
    if status is not None and status not in ORDER_STATUSES:
        raise ToolFailure(f"status must be one of {', '.join(ORDER_STATUSES)}, got {status!r}")
    orders = [order for order in data["orders"] if order["customer_id"] == customer_id
              and (status is None or order["status"] == status)]
    orders.sort(key=lambda order: order["placed_on"], reverse=True)
    return {"customer_id": customer_id, "orders": [_summary(order) for order in orders]}


def _summary(order: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "order_id": order["order_id"],
        "placed_on": order["placed_on"],
        "status": order["status"],
        "items": [line["name"] for line in order["lines"]],
        "total": float(order_total(order)),
        "currency": order["currency"],
    }


def order_total(order: Mapping[str, Any]) -> Decimal:
    """What the customer paid: every line's quantity × unit price, plus the shipping fee."""
    lines = sum((line["quantity"] * Decimal(str(line["unit_price"])) for line in order["lines"]), Decimal(0))
    return money(lines + Decimal(str(order["shipping_fee"])))


def get_order(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """Everything about one order: its lines (price, category, weight), dates, status, address."""
    order_id = str(_argument(arguments, "order_id")).strip()
    for order in data["orders"]:
        if order["order_id"].casefold() == order_id.casefold():
            return dict(order)
    raise ToolFailure(f"no order with id {order_id!r}")


def get_policy(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The shop's policy on one topic, with its exceptions."""
    topic = _argument(arguments, "topic")
    if topic not in POLICY_TOPICS:
        raise ToolFailure(f"topic must be one of {', '.join(POLICY_TOPICS)}, got {topic!r}")
    return {"topic": topic, **data["policies"][topic]}


def days_between(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """Calendar days from start_date to end_date (negative when end_date comes first)."""
    start, end = _date(arguments, "start_date"), _date(arguments, "end_date")
    return {"start_date": start.isoformat(), "end_date": end.isoformat(), "days": (end - start).days}


def convert_currency(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """An amount in another currency at the item's rates, rounded half-up to the cent."""
    amount = _amount(arguments, "amount")
    source, target = _argument(arguments, "from_currency"), _argument(arguments, "to_currency")
    for code in (source, target):
        if code not in data["rates"]:
            raise ToolFailure(f"unknown currency {code!r}; known: {', '.join(sorted(data['rates']))}")
    rate = exchange_rate(data["rates"], source, target)
    return {"amount": float(amount), "from_currency": source, "to_currency": target,
            "rate": float(rate), "converted": float(money(amount * rate)), "rates_as_of": data["today"]}


def exchange_rate(rates: Mapping[str, float], source: str, target: str) -> Decimal:
    """Units of `target` per unit of `source`, from rates per one US dollar, to 6 decimals."""
    return (Decimal(str(rates[target])) / Decimal(str(rates[source]))).quantize(Decimal("0.000001"),
                                                                                 rounding=ROUND_HALF_UP)


def shipping_quote(data: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The price of sending a parcel of the given weight to a destination, by service."""
    table = data["shipping"]
    destination = str(_argument(arguments, "destination")).strip()
    weight = _amount(arguments, "weight_kg")
    service = arguments.get("service") or "standard"
    if destination not in table["zones"]:
        raise ToolFailure(f"no shipping to {destination!r}; destinations: {', '.join(table['zones'])}")
    if service not in SERVICES:
        raise ToolFailure(f"service must be one of {', '.join(SERVICES)}, got {service!r}")
    zone = table["zones"][destination]
    for bracket in table["brackets"]:
        if weight <= Decimal(str(bracket["max_weight_kg"])):
            price = bracket["prices"][service][zone - 1]
            return {"destination": destination, "zone": zone, "service": service, "weight_kg": float(weight),
                    "bracket_max_weight_kg": bracket["max_weight_kg"], "price": price,
                    "currency": table["currency"]}
    heaviest = table["brackets"][-1]["max_weight_kg"]
    raise ToolFailure(f"a parcel of {weight} kg is over the {heaviest} kg limit; split it into parcels")


FUNCTIONS = {
    "find_customer": find_customer,
    "list_orders": list_orders,
    "get_order": get_order,
    "get_policy": get_policy,
    "days_between": days_between,
    "convert_currency": convert_currency,
    "shipping_quote": shipping_quote,
}

register_toolkit(TOOLKIT, FUNCTIONS)


# ---------------------------------------------------------------- what the model is offered


def tool_definitions(language: str, order_id_pattern: str) -> list[dict[str, Any]]:
    """The OpenAI function definitions of every tool, described in `language`."""
    text = _DESCRIPTIONS[language]
    return [_function(name, text, properties, required)
            for name, (properties, required) in _parameters(order_id_pattern).items()]


def _function(name: str, text: Mapping[str, str], properties: dict[str, dict[str, Any]],
              required: list[str]) -> dict[str, Any]:
    described = {key: {**schema, "description": text[f"{name}.{key}"]} for key, schema in properties.items()}
    parameters = {"type": "object", "properties": described, "required": required, "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": text[name], "parameters": parameters}}


def _parameters(order_id_pattern: str) -> dict[str, tuple[dict[str, dict[str, Any]], list[str]]]:
    """Each tool's parameters (JSON Schema, descriptions added per language) and required ones."""
    iso_date = {"type": "string", "pattern": DATE_PATTERN}
    currency = {"type": "string", "enum": list(CURRENCIES)}
    return {
        "find_customer": ({"email": {"type": "string", "format": "email"}}, ["email"]),
        "list_orders": ({"customer_id": {"type": "string"},
                         "status": {"type": "string", "enum": list(ORDER_STATUSES)}}, ["customer_id"]),
        "get_order": ({"order_id": {"type": "string", "pattern": order_id_pattern}}, ["order_id"]),
        "get_policy": ({"topic": {"type": "string", "enum": list(POLICY_TOPICS)}}, ["topic"]),
        "days_between": ({"start_date": iso_date, "end_date": iso_date}, ["start_date", "end_date"]),
        "convert_currency": ({"amount": {"type": "number", "minimum": 0}, "from_currency": currency,
                              "to_currency": currency}, ["amount", "from_currency", "to_currency"]),
        "shipping_quote": ({"destination": {"type": "string"},
                            "weight_kg": {"type": "number", "exclusiveMinimum": 0},
                            "service": {"type": "string", "enum": list(SERVICES), "default": "standard"}},
                           ["destination", "weight_kg"]),
    }


_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "en": {
        "find_customer": "Look up a customer by e-mail address: id, name, loyalty tier, home currency.",
        "find_customer.email": "The customer's e-mail address, e.g. ana.silva@example.com.",
        "list_orders": "List a customer's orders, newest first: id, date placed, status, item names, total.",
        "list_orders.customer_id": "The customer id, as find_customer returns it.",
        "list_orders.status": "Only orders in this status (optional).",
        "get_order": "Full details of one order: lines (unit price, quantity, category, weight), currency, "
                     "shipping fee, dates placed and delivered, status, destination.",
        "get_order.order_id": "The order id, e.g. as the customer quotes it.",
        "get_policy": "The shop's current policy on a topic, with its exceptions.",
        "get_policy.topic": "Which policy: returns (refunds), shipping or warranty.",
        "days_between": "Calendar days from one date to another (negative if the end is earlier).",
        "days_between.start_date": "First date, YYYY-MM-DD.",
        "days_between.end_date": "Second date, YYYY-MM-DD.",
        "convert_currency": "Convert an amount between currencies at today's rates; rounded to the cent.",
        "convert_currency.amount": "The amount to convert, in from_currency.",
        "convert_currency.from_currency": "ISO 4217 code of the amount's currency.",
        "convert_currency.to_currency": "ISO 4217 code of the currency wanted.",
        "shipping_quote": "Price of sending one parcel, from the shop's shipping table.",
        "shipping_quote.destination": "Destination as written in the order's destination field.",
        "shipping_quote.weight_kg": "Total parcel weight in kilograms.",
        "shipping_quote.service": "Shipping service; standard if left out.",
    },
    "zh": {
        "find_customer": "按电子邮箱查找顾客：顾客编号、姓名、会员等级、常用币种。",
        "find_customer.email": "顾客的电子邮箱，如 wangfang@example.cn。",
        "list_orders": "列出顾客的订单（最新的在前）：订单号、下单日期、状态、商品名称、总额。",
        "list_orders.customer_id": "顾客编号，即 find_customer 返回的 id。",
        "list_orders.status": "只列出该状态的订单（可选）。",
        "get_order": "查询一个订单的全部信息：各行商品（单价、数量、品类、重量）、币种、运费、下单与签收日期、"
                     "状态、收货地区。",
        "get_order.order_id": "订单号，如顾客所报。",
        "get_policy": "查询店铺现行的某项规则及其例外条款。",
        "get_policy.topic": "哪项规则：returns（退货退款）、shipping（配送）或 warranty（保修）。",
        "days_between": "计算两个日期之间相差的天数（结束日期在前则为负数）。",
        "days_between.start_date": "起始日期，格式 YYYY-MM-DD。",
        "days_between.end_date": "结束日期，格式 YYYY-MM-DD。",
        "convert_currency": "按今日汇率换算金额，结果四舍五入到分。",
        "convert_currency.amount": "要换算的金额（以 from_currency 计）。",
        "convert_currency.from_currency": "原币种的 ISO 4217 代码。",
        "convert_currency.to_currency": "目标币种的 ISO 4217 代码。",
        "shipping_quote": "按店铺运费表查询寄送一个包裹的运费。",
        "shipping_quote.destination": "收货地区，照订单中 destination 字段填写。",
        "shipping_quote.weight_kg": "包裹总重量，单位千克。",
        "shipping_quote.service": "配送方式；不填则为 standard（普通）。",
    },
}
