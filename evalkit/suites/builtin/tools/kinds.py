"""The requests of the harder levels that are more than one call: parallel calls, requests
that need no tool, and requests no offered tool can do.

Parallel requests ask for two or three things at once, of one tool (the weather in three
cities) or of different ones (a conversion and a forecast in one message); the reference
lists every call and the scorer pairs them in any order. A request that needs no tool is
a question of general knowledge or a remark, offered with the tools of its subject so
that calling one is tempting; a request no tool can do (book a hotel, send an SMS, buy
shares) is offered with the tools nearest to it. Both have the reference ``[]``.
"""

from __future__ import annotations

from evalkit.suites.builtin.tools.catalogue import DOMAIN_OF
from evalkit.suites.builtin.tools.requests import (
    Request,
    Scene,
    SingleBuilder,
    any_of,
    call,
    currency,
    flight_status,
    forecast,
    order_status,
    stock_quote,
    track_package,
    translate,
    units,
    weather_now,
)


def parallel(scene: Scene) -> Request:
    """Two or three calls in one reply: of one tool up to level 4, of different tools at 5."""
    if scene.level >= 5 and scene.rng.random() < 0.6:
        return _mixed(scene)
    return scene.rng.choice((_cities, _quotes, _orders))(scene)


def _parallel(template: str, text: str, calls: list) -> Request:
    return Request(text, tuple(calls), template, tuple(dict.fromkeys(c["name"] for c in calls)), kind="parallel")


def _cities(scene: Scene) -> Request:
    places = scene.rng.sample(scene.locale.weather_cities, scene.rng.choice((2, 3)))
    names = [place.name for place in places]
    fahrenheit = scene.rng.random() < 0.5
    unit = "fahrenheit" if fahrenheit else any_of("celsius", None)
    listed = scene.t(", ".join(names[:-1]) + f" and {names[-1]}", "、".join(names))
    text = scene.t(f"What's the weather right now in {listed}?" + (" Temperatures in Fahrenheit, please."
                                                                   if fahrenheit else ""),
                   f"{listed}现在天气怎么样？" + ("温度请用华氏度。" if fahrenheit else ""))
    calls = [call("get_current_weather", location=any_of(*place.spellings), unit=unit) for place in places]
    return _parallel("parallel-weather", text, calls)


def _quotes(scene: Scene) -> Request:
    securities = scene.rng.sample(scene.locale.securities, scene.rng.choice((2, 3)))
    listed = scene.t(", ".join(s.symbols[0] for s in securities[:-1]) + f" and {securities[-1].symbols[0]}",
                     "、".join(f"{s.name}（{s.symbols[0]}）" for s in securities))
    text = scene.t(f"Give me the latest prices of {listed}.", f"帮我看一下{listed}的最新股价。")
    calls = [call("get_stock_quote", symbol=any_of(*s.symbols), exchange=any_of(s.exchange, None)) for s in securities]
    return _parallel("parallel-quotes", text, calls)


def _orders(scene: Scene) -> Request:
    orders = sorted({scene.locale.order_id(scene.rng, scene.today) for _ in range(2)})
    while len(orders) < 2:  # two draws of the same number: draw again (rare)
        orders = sorted({*orders, scene.locale.order_id(scene.rng, scene.today)})
    text = scene.t(f"I placed two orders, {orders[0]} and {orders[1]}. What's the status of each?",
                   f"我下了两个订单：{orders[0]} 和 {orders[1]}，分别帮我查一下状态。")
    return _parallel("parallel-orders", text, [call("get_order_status", order_id=order) for order in orders])


_COMBINABLE: tuple[SingleBuilder, ...] = (currency, forecast, weather_now, order_status, track_package, stock_quote,
                                          translate, flight_status, units)


def _mixed(scene: Scene) -> Request:
    first = scene.rng.choice(_COMBINABLE)(scene)
    while True:  # a second request about something else
        second = scene.rng.choice(_COMBINABLE)(scene)
        if DOMAIN_OF[second.needs[0]] != DOMAIN_OF[first.needs[0]]:
            break
    joined = scene.t(f"{first.text} Also: {second.text}", f"{first.text}另外，{second.text}")
    return _parallel(f"parallel-{first.template}+{second.template}", joined, [*first.calls, *second.calls])


_NO_TOOL_EN = (
    ("Thanks, that's everything I needed for today!", "get_current_weather"),
    ("In two sentences, what is an exchange rate?", "get_exchange_rate"),
    ("What's the difference between Celsius and Fahrenheit, in one sentence?", "convert_units"),
    ("Suggest a polite one-line way to decline a meeting invitation.", "send_email"),
    ("What does the 'IATA' in an IATA airport code stand for?", "search_flights"),
    ("Explain briefly what a stock ticker symbol is.", "get_stock_quote"),
)
_NO_TOOL_ZH = (
    ("好的，谢谢，今天没别的事了！", "get_current_weather"),
    ("用两句话解释一下什么是汇率。", "get_exchange_rate"),
    ("摄氏度和华氏度有什么区别？一句话说明。", "convert_units"),
    ("帮我想一句婉拒会议邀请的客气话。", "send_email"),
    ("机场三字码是什么意思？简单说说。", "search_flights"),
    ("股票代码里的“SH”“SZ”分别代表什么？", "get_stock_quote"),
)


def no_tool(scene: Scene) -> Request:
    """A question or remark no call helps with, offered with the tools of its subject."""
    text, subject = scene.rng.choice(_NO_TOOL_ZH if scene.zh else _NO_TOOL_EN)
    return Request(text, (), "no-tool", (subject,), kind="no_tool")


_IMPOSSIBLE_EN = (
    ("Book me a hotel room in Lisbon for three nights from next Monday.", "search_flights"),
    ("Buy 10 Apple shares for me at the market price.", "get_stock_quote"),
    ("Text +44 7700 900123 to say I'm running ten minutes late.", "send_email"),
    ("Order me a taxi to the airport for 6 am tomorrow.", "get_flight_status"),
    ("Change the delivery address of my last order to 12 Elm Street.", "get_order_status"),
    ("Reset the password of my online banking account.", "convert_currency"),
)
_IMPOSSIBLE_ZH = (
    ("帮我订一间杭州西湖边的酒店，下周一入住，住三晚。", "search_flights"),
    ("帮我买100股贵州茅台。", "get_stock_quote"),
    ("给13800138000发条短信，说我晚到十分钟。", "send_email"),
    ("帮我叫一辆明早6点去机场的网约车。", "get_flight_status"),
    ("把我上一个订单的收货地址改成朝阳区建国路88号。", "get_order_status"),
    ("帮我把支付宝的登录密码改一下。", "convert_currency"),
)


def impossible(scene: Scene) -> Request:
    """A request none of the offered tools can do, offered with the tools nearest to it."""
    text, nearest = scene.rng.choice(_IMPOSSIBLE_ZH if scene.zh else _IMPOSSIBLE_EN)
    return Request(text, (), "impossible", (nearest,), kind="impossible")
