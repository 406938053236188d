"""The world of one ``agent`` item, drawn from its random stream: what the tools answer from.

A world is plain JSON-serialisable data (`ToolEnvironment.data`): the shop's currency
and today's date, exchange rates, a shipping table, the policies, customers and their
orders. The task builders of `evalkit.suites.builtin.agent` add the customer and orders a
task is about, plus distractors (other customers, other orders of the same customer, the
same product bought on another day), and the world is never shown to the model except
through the tools.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from evalkit.suites.builtin.agent_lang import (
    PRICE_FACTOR,
    RATES_PER_USD,
    SHIPPING_FEES,
    Language,
    Product,
)
from evalkit.suites.builtin.agent_tools import money

FIRST_TODAY = date(2026, 1, 15)
"""Items are set on a day from here on (`_TODAY_SPAN` days)."""
_TODAY_SPAN = 300
BRACKETS_KG = (1, 3, 5, 10, 20)
_ZONE_BASE_USD = ("4.5", "7", "12", "18")
_BRACKET_FACTOR = ("1", "1.4", "1.9", "2.8", "4.2")
_EXPRESS_FACTOR = Decimal("1.8")
STANDARD_WINDOWS = (21, 30, 45)
RULE_WINDOWS = (7, 14, 60, 90)
FEES = (5, 10, 15, 20)
RULE_FEES = (0, 15, 25)
TIER_EXTRA_DAYS = (10, 15, 30)


def new_world(rng: random.Random, lang: Language, level: int) -> dict[str, Any]:
    """The shop, day, rates, shipping table and policies; no customers or orders yet."""
    shop, prefix, currency = rng.choice(lang.shops)
    today = FIRST_TODAY + timedelta(days=rng.randrange(_TODAY_SPAN))
    return {
        "shop": shop,
        "order_prefix": prefix,
        "currency": currency,
        "today": today.isoformat(),
        "rates": _rates(rng),
        "shipping": _shipping_table(rng, lang, currency),
        "policies": _policies(rng, lang, level),
        "customers": [],
        "orders": [],
    }


def _rates(rng: random.Random) -> dict[str, float]:
    return {code: 1.0 if code == "USD" else round(rate * rng.uniform(0.97, 1.03), 2 if rate > 100 else 4)
            for code, rate in RATES_PER_USD.items()}


def _price_in(currency: str, usd: Decimal) -> Decimal:
    """A list price: whole yuan or Hong Kong dollars, tenths of the others."""
    value = usd * Decimal(PRICE_FACTOR[currency])
    step = Decimal("1") if currency in ("CNY", "HKD") else Decimal("0.1")
    return (value / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * step


def _shipping_table(rng: random.Random, lang: Language, currency: str) -> dict[str, Any]:
    zone_base = [Decimal(base) * Decimal(str(round(rng.uniform(0.9, 1.1), 2))) for base in _ZONE_BASE_USD]
    brackets = []
    for max_kg, factor in zip(BRACKETS_KG, _BRACKET_FACTOR):
        standard = [_price_in(currency, base * Decimal(factor)) for base in zone_base]
        express = [_price_in(currency, base * Decimal(factor) * _EXPRESS_FACTOR) for base in zone_base]
        brackets.append({"max_weight_kg": max_kg, "prices": {"standard": [float(p) for p in standard],
                                                             "express": [float(p) for p in express]}})
    return {"currency": currency, "zones": dict(lang.destinations), "brackets": brackets}


def _policies(rng: random.Random, lang: Language, level: int) -> dict[str, Any]:
    """Returns (with category and tier exceptions from level 4), shipping and warranty."""
    window = rng.choice(STANDARD_WINDOWS)
    categories = rng.sample(sorted(lang.categories), 2) if level >= 4 else []
    returns = {
        "window_days": window,
        "restocking_fee_percent": rng.choice(FEES),
        "shipping_fee_refunded": False,
        "category_rules": [{"category": lang.categories[key], "window_days": rng.choice(RULE_WINDOWS),
                            "restocking_fee_percent": rng.choice(RULE_FEES)} for key in categories],
        "tier_rules": ([{"tier": lang.tiers["gold"], "extra_window_days": rng.choice(TIER_EXTRA_DAYS)}]
                       if level >= 4 else []),
        "how_to_apply": lang.policy_text["how_to_apply"],
    }
    shipping = {"dispatch_working_days": 2, "free_shipping_over": float(_price_in("USD", Decimal(80))),
                "notes": lang.policy_text["shipping"]}
    warranty = {"months": rng.choice((12, 24)), "notes": lang.policy_text["warranty"]}
    return {"returns": returns, "shipping": shipping, "warranty": warranty}


def add_customer(rng: random.Random, world: dict[str, Any], lang: Language, tier: str = "standard",
                 home_currency: str | None = None) -> dict[str, Any]:
    """A customer not yet in the world (another person, another id)."""
    taken = {customer["name"] for customer in world["customers"]}
    name, local = rng.choice([person for person in lang.people if person[0] not in taken])
    customer = {
        "id": f"{lang.customer_prefix}{rng.randrange(10**5, 10**6)}",
        "name": name,
        "email": f"{local}{rng.choice(['', str(rng.randrange(10, 99))])}@{rng.choice(lang.email_domains)}",
        "tier": lang.tiers[tier],
        "home_currency": home_currency or world["currency"],
    }
    world["customers"].append(customer)
    return customer


def draw_lines(rng: random.Random, lang: Language, currency: str, count: int,
               first: Product | None = None, max_quantity: int = 3) -> list[dict[str, Any]]:
    """`count` order lines of different products (`first`, if given, is the first line)."""
    others = [product for product in lang.products if product != first]
    products = ([first] if first else []) + rng.sample(others, count - (1 if first else 0))
    return [_line(rng, lang, currency, product, max_quantity) for product in products]


def _line(rng: random.Random, lang: Language, currency: str, product: Product, max_quantity: int
          ) -> dict[str, Any]:
    low, high = product.price_usd
    price = _price_in(currency, Decimal(rng.randint(low, high)))
    if currency not in ("CNY", "HKD"):
        price = price.quantize(Decimal("1")) - Decimal(rng.choice(("0.01", "0.51", "0")))
    return {
        "sku": f"{product.category[:3].upper()}-{rng.randrange(1000, 9999)}",
        "name": product.name,
        "category": lang.categories[product.category],
        "quantity": min(max_quantity, rng.choice((1, 1, 2, 3))),
        "unit_price": float(max(price, Decimal("1"))),
        "unit_weight_kg": float(Decimal(product.weight_kg)),
    }


def add_order(rng: random.Random, world: dict[str, Any], lang: Language, customer: dict[str, Any],
              lines: list[dict[str, Any]], placed_on: date, delivered_on: date | None,
              status: str | None = None) -> dict[str, Any]:
    """An order of `customer` with a fresh id; delivered unless said otherwise."""
    taken = {order["order_id"] for order in world["orders"]}
    order_id = _order_id(rng, world["order_prefix"], lang)
    while order_id in taken:
        order_id = _order_id(rng, world["order_prefix"], lang)
    order = {
        "order_id": order_id,
        "customer_id": customer["id"],
        "placed_on": placed_on.isoformat(),
        "delivered_on": delivered_on.isoformat() if delivered_on else None,
        "status": status or ("delivered" if delivered_on else "processing"),
        "currency": world["currency"],
        "destination": rng.choice(list(lang.destinations)),
        "lines": lines,
        "shipping_fee": float(Decimal(rng.choice(SHIPPING_FEES[world["currency"]]))),
    }
    world["orders"].append(order)
    return order


def _order_id(rng: random.Random, prefix: str, lang: Language) -> str:
    digits = str(rng.randrange(10 ** (lang.order_id_digits - 1), 10**lang.order_id_digits))
    return f"{prefix}-{digits}" if lang.order_id_digits == 5 else f"{prefix}{digits}"


def order_id_pattern(lang: Language) -> str:
    """The JSON Schema pattern of this language's order ids (``NW-48213``, ``SJ26031457``)."""
    separator = "-" if lang.order_id_digits == 5 else ""
    return rf"^[A-Z]{{2}}{separator}\d{{{lang.order_id_digits}}}$"


def add_background(rng: random.Random, world: dict[str, Any], lang: Language, customer: dict[str, Any],
                   others: int) -> None:
    """`others` more orders of `customer` and one customer more with an order of their own."""
    today = date.fromisoformat(world["today"])
    for _ in range(others):
        placed = today - timedelta(days=rng.randint(3, 200))
        delivered = placed + timedelta(days=rng.randint(2, 6))
        status = "delivered" if delivered < today else "shipped"
        add_order(rng, world, lang, customer, draw_lines(rng, lang, world["currency"], rng.randint(1, 2)),
                  placed, delivered if status == "delivered" else None, status)
    stranger = add_customer(rng, world, lang)
    placed = today - timedelta(days=rng.randint(3, 60))
    add_order(rng, world, lang, stranger, draw_lines(rng, lang, world["currency"], rng.randint(1, 3)),
              placed, placed + timedelta(days=2) if placed + timedelta(days=2) < today else None)


def money_text(value: Decimal) -> str:
    """An amount as the reference writes it: two decimals."""
    return f"{money(value):.2f}"
