"""The requests of the ``tools`` suites and the calls that answer them.

Each builder writes one request for a `Scene` (the item's random stream, level, locale and
today's date) and the reference calls, drawn from the same facts: the text never has to
be parsed back. Where more than one value is right (a city with or without its country, a
default unit said aloud or left implicit, a time with or without seconds) the reference
says ``{"any_of": [...]}``. Harder levels write the same facts the way people do: names
of airports instead of codes, amounts in words (1.2万元, half a million yen), weights in
grams or 斤, dates relative to today and times on a 12-hour clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from evalkit.scoring.tool_calls import ANY_OF
from evalkit.suites.builtin.tools.catalogue import CANCEL_REASONS
from evalkit.suites.builtin.tools.locales import Locale

Call = dict[str, Any]

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True)
class Scene:
    """What one item's request is drawn from."""

    rng: random.Random
    level: int
    locale: Locale
    today: date

    @property
    def zh(self) -> bool:
        return self.locale.language == "zh"

    def t(self, en: str, zh: str) -> str:
        return zh if self.zh else en

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)


@dataclass(frozen=True)
class Request:
    """One request, the calls that answer it, and the tools that must be offered with it."""

    text: str
    calls: tuple[Call, ...]
    template: str
    needs: tuple[str, ...]
    """The tools called, or for a request no tool can do, the ones nearest to it."""
    kind: str = "single"
    """``single``, ``parallel``, ``no_tool`` or ``impossible``."""


def call(name: str, **arguments: Any) -> Call:
    return {"name": name, "arguments": arguments}


def any_of(*values: Any) -> Any:
    """One value, or the marker that accepts any of several (None: may be left out)."""
    return values[0] if len(values) == 1 else {ANY_OF: list(values)}


def single(template: str, text: str, *calls: Call) -> Request:
    return Request(text, calls, template, tuple(dict.fromkeys(c["name"] for c in calls)))


def today_line(scene: Scene) -> str:
    day = scene.today
    if scene.zh:
        return f"今天是{day.year}年{day.month}月{day.day}日，星期{WEEKDAYS_ZH[day.weekday()]}。"
    return f"Today is {WEEKDAYS_EN[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}."


def written_date(scene: Scene, day: date) -> str:
    """A date as people write it: absolute, or relative to today at level 5 (English: with
    its preposition, "on 14 March 2026" or "tomorrow")."""
    if scene.level >= 5 and 0 < (day - scene.today).days <= 13:
        return _relative(scene, day)
    if scene.zh:
        same_year = day.year == scene.today.year and scene.level >= 3
        return f"{day.month}月{day.day}日" if same_year else f"{day.year}年{day.month}月{day.day}日"
    month = MONTHS[day.month - 1]
    return "on " + scene.pick(f"{day.day} {month} {day.year}", f"{month} {day.day}, {day.year}")


def _relative(scene: Scene, day: date) -> str:
    gap = (day - scene.today).days
    if scene.zh:
        if gap <= 2:
            return ("明天", "后天")[gap - 1]
        monday = scene.today + timedelta(days=7 - scene.today.weekday())
        if 0 <= (day - monday).days < 7:
            return f"下周{WEEKDAYS_ZH[day.weekday()]}"
        return f"{day.month}月{day.day}日"
    if gap <= 2:
        return ("tomorrow", "the day after tomorrow")[gap - 1]
    return "a week from today" if gap == 7 else f"on {MONTHS[day.month - 1]} {day.day}"


def future_day(scene: Scene) -> date:
    """A day soon enough to book for; level 5 keeps it within the next week, to be said relatively."""
    if scene.level >= 5:
        return scene.today + timedelta(days=scene.rng.choice((1, 2, 7) if not scene.zh else (1, 2, 8, 9, 10)))
    return scene.today + timedelta(days=scene.rng.randint(3, 60))


# ---------------------------------------------------------------- weather


def weather_now(scene: Scene) -> Request:
    place = scene.rng.choice(scene.locale.weather_cities)
    location = any_of(*place.spellings)
    if scene.level >= 2 and scene.rng.random() < 0.5:
        text = scene.t(f"What's the temperature in {place.name} right now, in Fahrenheit?",
                       f"{place.name}现在多少度？我朋友是美国人，麻烦用华氏度。")
        return single("weather-now-f", text, call("get_current_weather", location=location, unit="fahrenheit"))
    text = scene.t(scene.pick(f"What's the weather like in {place.name} right now?",
                              f"Is it raining in {place.name} at the moment?"),
                   scene.pick(f"{place.name}现在天气怎么样？", f"{place.name}这会儿下雨吗？"))
    return single("weather-now", text, call("get_current_weather", location=location, unit=any_of("celsius", None)))


_FORECAST_DAYS = ((3, "the next 3 days", "未来三天"), (5, "the next five days", "未来五天"),
                  (7, "the coming week", "接下来一周"), (10, "the next 10 days", "未来十天"))


def forecast(scene: Scene) -> Request:
    place = scene.rng.choice(scene.locale.weather_cities)
    days, en_days, zh_days = scene.rng.choice(_FORECAST_DAYS)
    fahrenheit = scene.level >= 3 and scene.rng.random() < 0.4
    unit = "fahrenheit" if fahrenheit else any_of("celsius", None)
    tail = scene.t(" Give me temperatures in °F.", "温度用华氏度。") if fahrenheit else ""
    text = scene.t(f"What's the forecast for {place.name} for {en_days}?{tail}",
                   f"帮我看看{place.name}{zh_days}的天气预报。{tail}")
    return single("forecast", text, call("get_weather_forecast", location=any_of(*place.spellings), days=days,
                                         unit=unit))


def air_quality(scene: Scene) -> Request:
    place = scene.rng.choice(scene.locale.weather_cities)
    text = scene.t(f"Is the air in {place.name} clean enough for a run right now? Check the AQI.",
                   f"{place.name}现在的空气质量适合出门跑步吗？查一下 AQI。")
    return single("air-quality", text, call("get_air_quality", location=any_of(*place.spellings)))


# ---------------------------------------------------------------- travel and calendar


def flight_search(scene: Scene) -> Request:
    origin, destination = scene.rng.sample(scene.locale.airports, 2)
    leave = future_day(scene)
    adults, children = scene.rng.randint(1, 3), scene.rng.choice((0, 0, 1, 2))
    cabin, cabin_words = scene.rng.choice((("economy", scene.t("economy", "经济舱")),
                                           ("business", scene.t("business class", "公务舱")),
                                           ("premium_economy", scene.t("premium economy", "超级经济舱"))))
    arguments: dict[str, Any] = {
        "origin": origin.airport, "destination": destination.airport, "departure_date": leave.isoformat(),
        "passengers": {"adults": adults, "children": children if children else any_of(0, None)}, "cabin": cabin}
    back = ""
    if scene.level >= 4 and scene.rng.random() < 0.5:
        stay = scene.rng.randint(3, 12)
        arguments["return_date"] = (leave + timedelta(days=stay)).isoformat()
        back = scene.t(f", coming back {stay} days later", f"，{stay}天后返程")
    people = _party(scene, adults, children)
    text = scene.t(
        f"Find flights from {origin.airport_name} to {destination.airport_name} {written_date(scene, leave)}"
        f"{back} for {people}, {cabin_words}.",
        f"帮我查一下{written_date(scene, leave)}从{origin.airport_name}飞{destination.airport_name}的航班{back}，"
        f"{people}，{cabin_words}。")
    return single("flight-search", text, call("search_flights", **arguments))


def _party(scene: Scene, adults: int, children: int) -> str:
    if scene.zh:
        counts = "一两三"
        return f"{counts[adults - 1]}个大人" + (f"带{counts[children - 1]}个小孩" if children else "")
    grown = ("one adult", "two adults", "three adults")[adults - 1]
    return grown + (" and " + ("one child", "two children")[children - 1] if children else "")


def flight_status(scene: Scene) -> Request:
    number = scene.rng.choice(scene.locale.flight_numbers)
    if scene.level >= 3:
        day = scene.today
        text = scene.t(f"Is flight {number} on time today?", f"今天的{number}航班准点吗？")
    else:
        day = scene.today + timedelta(days=scene.rng.randint(0, 3))
        text = scene.t(f"Is flight {number} on {day.isoformat()} on schedule?",
                       f"{day.isoformat()}的{number}航班准点吗？")
    return single("flight-status", text, call("get_flight_status", flight_number=number, date=day.isoformat()))


def calendar_event(scene: Scene) -> Request:
    day, title = future_day(scene), scene.rng.choice(scene.locale.meetings)
    hour, minute = scene.rng.choice((9, 10, 14, 15, 16)), scene.rng.choice((0, 30))
    minutes, en_length, zh_length = scene.rng.choice(((30, "30 minutes", "半小时"), (45, "45 minutes", "45分钟"),
                                                      (90, "an hour and a half", "一个半小时"),
                                                      (120, "two hours", "两个小时")))
    start = f"{day.isoformat()}T{hour:02d}:{minute:02d}"
    arguments: dict[str, Any] = {"title": title, "start": any_of(start, start + ":00"), "duration_minutes": minutes}
    extras = []
    if scene.level >= 4:
        invited = scene.rng.sample(scene.locale.people, scene.rng.randint(1, 2))
        arguments["attendees"] = [address for _, address in invited]
        extras.append(scene.t("invite " + " and ".join(f"{name} ({address})" for name, address in invited),
                              "邀请" + "和".join(f"{name}（{address}）" for name, address in invited)))
    if scene.level >= 5 or (scene.level == 4 and scene.rng.random() < 0.5):
        remind = scene.rng.choice((10, 15, 30))
        arguments["reminder_minutes"] = remind
        extras.append(scene.t(f"remind me {remind} minutes before", f"提前{remind}分钟提醒我"))
    text = scene.t(
        f"Put \"{title}\" in my calendar {written_date(scene, day)} at {_clock_en(hour, minute)} for {en_length}"
        + "".join(f", {extra}" for extra in extras) + ".",
        f"帮我在日历里加个日程：{written_date(scene, day)}{_clock_zh(hour, minute)}开“{title}”，开{zh_length}"
        + "".join(f"，{extra}" for extra in extras) + "。")
    return single("calendar-event", text, call("create_calendar_event", **arguments))


def _clock_en(hour: int, minute: int) -> str:
    shown = hour if hour <= 12 else hour - 12
    return f"{shown}:{minute:02d} {'am' if hour < 12 else 'pm'}" if minute else f"{shown} {'am' if hour < 12 else 'pm'}"


def _clock_zh(hour: int, minute: int) -> str:
    part, shown = ("上午", hour) if hour < 12 else ("下午", hour - 12)
    return f"{part}{shown}点" + ("半" if minute == 30 else "")


def list_events(scene: Scene) -> Request:
    day = scene.today + timedelta(days=scene.rng.randint(1, 20))
    text = scene.t(f"What do I have on my calendar {written_date(scene, day)}?",
                   f"我{written_date(scene, day)}有什么安排？")
    return single("list-events", text, call("list_calendar_events", date=day.isoformat()))


# ---------------------------------------------------------------- money and markets


def currency(scene: Scene) -> Request:
    codes = list(scene.locale.currencies)
    source, target = scene.rng.sample(codes if not scene.zh else ["CNY", *scene.rng.sample(codes[1:], 1)], 2)
    amount, written = _amount(scene)
    if scene.level == 1:
        text = scene.t(f"Convert {written} {source} to {target}.", f"把 {written} {source} 换算成 {target}。")
    else:
        words = scene.locale.currencies
        have, want = scene.rng.choice(words[source]), scene.rng.choice(words[target])
        text = scene.t(f"How much is {written} {have} in {want}?", f"{written}{have}能换多少{want}？")
    return single("currency", text, call("convert_currency", amount=amount, from_currency=source, to_currency=target))


def _amount(scene: Scene) -> tuple[float, str]:
    """An amount and how the request writes it: plain figures at first, words later."""
    if scene.level <= 2:
        value = scene.rng.choice((80, 250, 1250, 4000, 37.5))
        return value, f"{value:,}" if not scene.zh else str(value)
    if scene.zh:
        return scene.rng.choice(((50000, "5万"), (12000, "1.2万"), (3500, "三千五百"), (800, "八百"), (260000, "26万")))
    return scene.rng.choice(((500000, "half a million"), (2500, "2.5k"), (1250, "1,250"), (75, "seventy-five")))


def exchange_rate(scene: Scene) -> Request:
    if scene.zh:
        base = scene.rng.choice(["USD", "JPY", "HKD", "EUR"])
        text = f"今天{scene.locale.currencies[base][0]}兑人民币的汇率是多少？"
        return single("exchange-rate", text, call("get_exchange_rate", base_currency=base, quote_currency="CNY"))
    base, quote = scene.rng.sample(["USD", "EUR", "GBP", "CHF"], 2)
    words = scene.locale.currencies
    text = f"What's today's exchange rate from {words[base][0]} to {words[quote][0]}?"
    return single("exchange-rate", text, call("get_exchange_rate", base_currency=base, quote_currency=quote))


def stock_quote(scene: Scene) -> Request:
    security = scene.rng.choice(scene.locale.securities)
    return single("stock-quote", _quote_text(scene, security.name, security.symbols[0], security.hint),
                  _quote_call(security))


def _quote_text(scene: Scene, name: str, symbol: str, hint: str) -> str:
    if scene.level <= 2:
        return scene.t(f"What's {symbol} trading at?", f"{name}（{symbol}）现在股价多少？")
    return scene.t(f"How are {name} shares doing today?", f"{name}{hint}今天涨了还是跌了？")


def _quote_call(security: Any) -> Call:
    return call("get_stock_quote", symbol=any_of(*security.symbols), exchange=any_of(security.exchange, None))


def company_news(scene: Scene) -> Request:
    security = scene.rng.choice(scene.locale.securities)
    count = scene.rng.choice((3, 5, 10))
    text = scene.t(f"Any news about {security.name} ({security.symbols[0]}) lately? Just the top {count} headlines.",
                   f"{security.name}（{security.symbols[0]}）最近有什么新闻？给我{count}条标题就行。")
    return single("company-news", text, call("get_company_news", symbol=any_of(*security.symbols), limit=count))


# ---------------------------------------------------------------- orders and parcels


def order_status(scene: Scene) -> Request:
    order = scene.locale.order_id(scene.rng, scene.today - timedelta(days=scene.rng.randint(1, 9)))
    text = scene.t(scene.pick(f"Where is my order {order}?", f"Has order {order} shipped yet?"),
                   scene.pick(f"帮我查一下订单 {order} 到哪了。", f"我的订单 {order} 发货了吗？"))
    return single("order-status", text, call("get_order_status", order_id=order))


_REASONS_EN = ("I changed my mind", "I found it cheaper elsewhere", "I ordered it by mistake",
               "it won't arrive before I leave")
_REASONS_ZH = ("我不想要了", "别家更便宜", "我下错单了", "送到太晚了，来不及用")


def cancel_order(scene: Scene) -> Request:
    order = scene.locale.order_id(scene.rng, scene.today - timedelta(days=1))
    index = scene.rng.randrange(len(_REASONS_EN))
    text = scene.t(f"Please cancel order {order}: {_REASONS_EN[index]}.",
                   f"请帮我取消订单 {order}，{_REASONS_ZH[index]}。")
    return single("cancel-order", text, call("cancel_order", order_id=order, reason=CANCEL_REASONS[index]))


def track_package(scene: Scene) -> Request:
    number = scene.locale.tracking_number(scene.rng)
    text = scene.t(f"Where's my parcel? The tracking number is {number}.", f"快递单号 {number}，帮我查下到哪了。")
    return single("track-package", text, call("track_package", tracking_number=number))


def shipping(scene: Scene) -> Request:
    place = scene.rng.choice(scene.locale.destinations)
    kilograms, weight = _weight(scene)
    fragile = scene.rng.random() < 0.4
    service = scene.rng.choice(("express", "overnight", None))
    parcel: dict[str, Any] = {"weight_kg": kilograms, "fragile": True if fragile else any_of(False, None)}
    destination = {"country_code": place.country, "city": any_of(*place.spellings, None)}
    words = {"express": scene.t(" by express", "，走加急"), "overnight": scene.t(" overnight", "，要次日达"),
             None: ""}[service]
    care = scene.t(" It's fragile (glassware).", "里面是玻璃制品，易碎。") if fragile else ""
    text = scene.t(f"How much would it cost to send a {weight} parcel to {place.name}{words}?{care}",
                   f"寄一个{weight}的包裹到{place.name}{words}，运费大概多少？{care}")
    return single("shipping", text, call("estimate_shipping", parcel=parcel, destination=destination,
                                         service=service or any_of("standard", None)))


def _weight(scene: Scene) -> tuple[float, str]:
    if scene.level >= 4:
        if scene.zh:
            return scene.rng.choice(((3, "6斤"), (2.5, "5斤"), (0.75, "750克"), (1.5, "3斤")))
        return scene.rng.choice(((0.75, "750 g"), (2.4, "2,400-gram"), (0.3, "300 g")))
    kilograms = scene.rng.choice((1, 2.5, 4, 12))
    return kilograms, scene.t(f"{kilograms} kg", f"{kilograms}公斤")


# ---------------------------------------------------------------- units and language


_CONVERSIONS_EN = ((26.2, "mile", "kilometer", "How many kilometres is a 26.2-mile marathon?"),
                   (5, "gallon", "liter", "Convert 5 gallons to litres."),
                   (180, "pound", "kilogram", "What is 180 pounds in kilograms?"),
                   (6, "foot", "meter", "How tall is 6 feet in metres?"))
_CONVERSIONS_ZH = ((3, "jin", "kilogram", "3斤等于多少公斤？"), (100, "meter", "foot", "一百米是多少英尺？"),
                   (16, "ounce", "gram", "16盎司是多少克？"),
                   (42.195, "kilometer", "mile", "马拉松42.195公里合多少英里？"))


def units(scene: Scene) -> Request:
    value, source, target, text = scene.rng.choice(_CONVERSIONS_ZH if scene.zh else _CONVERSIONS_EN)
    return single("units", text, call("convert_units", value=value, from_unit=source, to_unit=target))


_TARGETS = {"es": ("Spanish", "西班牙语"), "ja": ("Japanese", "日语"), "fr": ("French", "法语"),
            "de": ("German", "德语"), "ko": ("Korean", "韩语"), "en": ("English", "英文")}


def translate(scene: Scene) -> Request:
    phrase, source = scene.rng.choice(scene.locale.phrases)
    target = scene.rng.choice([code for code in _TARGETS if code != source])
    english, chinese = _TARGETS[target]
    text = scene.t(f'Translate "{phrase}" into {english}.', f"把“{phrase}”翻译成{chinese}。")
    return single("translate", text, call("translate_text", text=phrase, target_language=target,
                                          source_language=any_of(source, None)))


def detect_language(scene: Scene) -> Request:
    phrase = scene.rng.choice(scene.locale.foreign_phrases)
    text = scene.t(f'What language is "{phrase}"?', f"“{phrase}”是哪种语言？")
    return single("detect-language", text, call("detect_language", text=phrase))


def send_email(scene: Scene) -> Request:
    name, address = scene.rng.choice(scene.locale.people)
    subject = scene.rng.choice(scene.locale.meetings)
    text = scene.t(f'E-mail {name} ({address}) with the subject "{subject}" to say the slides are ready.',
                   f"给{name}（{address}）发封邮件，主题写“{subject}”，告诉对方材料已经准备好了。")
    # The body is the model's own wording (or none): the reference leaves it out, so any will do.
    return single("send-email", text, call("send_email", to=[address], subject=subject))


SingleBuilder = Callable[[Scene], Request]

SINGLE: tuple[tuple[SingleBuilder, int, int], ...] = (
    (weather_now, 1, 3), (air_quality, 1, 2), (stock_quote, 1, 4), (order_status, 1, 2), (currency, 1, 5),
    (translate, 1, 3), (track_package, 1, 2), (forecast, 2, 5), (exchange_rate, 2, 3), (flight_status, 2, 4),
    (cancel_order, 2, 4), (units, 2, 4), (list_events, 2, 3), (detect_language, 2, 3), (company_news, 2, 4),
    (flight_search, 3, 5), (calendar_event, 3, 5), (shipping, 3, 5), (send_email, 3, 5),
)
"""(builder, lowest level, highest level) of every one-call request."""
