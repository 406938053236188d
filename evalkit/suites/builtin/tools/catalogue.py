"""The functions the ``tools`` suites offer: realistic definitions in OpenAI's format, per language.

Each tool belongs to a domain (weather, flights, calendar, money, orders, shipping,
markets, units, language, mail). Tools of one domain have near names and overlapping
descriptions on purpose (current weather and the forecast, a rate and a conversion,
tracking and estimating a parcel): those are the distractors of the harder levels. The
schemas use what real APIs use — enums, optional fields with defaults, nested objects,
arrays, formats written in the description — so that every reference call of the suite
can be checked against them with a JSON Schema validator.

Names are English identifiers in both languages, as they are in real APIs; the
descriptions are written in the reader's language.
"""

from __future__ import annotations

import functools
from typing import Any

UNITS = ("mile", "kilometer", "foot", "meter", "pound", "kilogram", "jin", "ounce", "gram", "gallon", "liter")
LANGUAGE_CODES = ("en", "zh", "ja", "ko", "fr", "de", "es")
CABINS = ("economy", "premium_economy", "business", "first")
CANCEL_REASONS = ("changed_mind", "found_cheaper", "ordered_by_mistake", "arrives_too_late", "other")
EXCHANGES = ("NASDAQ", "NYSE", "LSE", "HKEX", "SSE", "SZSE")
SERVICES = ("standard", "express", "overnight")

DOMAINS = {
    "weather": ("get_current_weather", "get_weather_forecast", "get_air_quality"),
    "flights": ("search_flights", "get_flight_status"),
    "calendar": ("create_calendar_event", "list_calendar_events"),
    "money": ("convert_currency", "get_exchange_rate"),
    "orders": ("get_order_status", "cancel_order"),
    "shipping": ("estimate_shipping", "track_package"),
    "markets": ("get_stock_quote", "get_company_news"),
    "units": ("convert_units",),
    "language": ("translate_text", "detect_language"),
    "mail": ("send_email",),
}
"""Tool names by domain; a tool's distractors are the others of its domain."""

DOMAIN_OF = {name: domain for domain, names in DOMAINS.items() for name in names}


def near(name: str) -> list[str]:
    """The tools easily mistaken for `name`: the rest of its domain."""
    return [other for other in DOMAINS[DOMAIN_OF[name]] if other != name]


@functools.cache
def catalogue(language: str) -> dict[str, dict[str, Any]]:
    """Every tool definition by name, its descriptions in `language`."""
    t = _Writer(language)
    tools = [*_weather(t), *_travel(t), *_money(t), *_commerce(t), *_text(t)]
    return {tool["function"]["name"]: tool for tool in tools}


class _Writer:
    """Picks the text of the reader's language and builds definitions around it."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, en: str, zh: str) -> str:
        return en if self.language == "en" else zh

    def tool(self, name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "function", "function": {
            "name": name, "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required,
                           "additionalProperties": False}}}


def _string(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


def _enum(description: str, values: tuple[str, ...], **more: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), "description": description, **more}


def _weather(t: _Writer) -> list[dict[str, Any]]:
    location = _string(t("City name, optionally with the country, e.g. 'Lisbon' or 'Lisbon, Portugal'",
                         "城市名称，如“杭州”"))
    unit = _enum(t("Temperature unit of the reply", "返回温度的单位"), ("celsius", "fahrenheit"), default="celsius")
    return [
        t.tool("get_current_weather", t("Current conditions (temperature, wind, sky) in a city right now.",
                                        "查询某城市当前的实时天气（气温、风力、天气状况）。"),
               {"location": location, "unit": unit}, ["location"]),
        t.tool("get_weather_forecast", t("Daily weather forecast for a city for the coming days.",
                                         "查询某城市未来几天的逐日天气预报。"),
               {"location": location, "days": {"type": "integer", "minimum": 1, "maximum": 14,
                                               "description": t("Number of days, 1-14", "预报天数，1-14")},
                "unit": unit}, ["location", "days"]),
        t.tool("get_air_quality", t("Current air quality index (AQI) and main pollutant in a city.",
                                    "查询某城市当前的空气质量指数（AQI）和首要污染物。"),
               {"location": location}, ["location"]),
    ]


def _travel(t: _Writer) -> list[dict[str, Any]]:
    airport = {"type": "string", "pattern": "^[A-Z]{3}$",
               "description": t("IATA airport code, e.g. 'LHR'", "机场三字码（IATA），如“PEK”")}
    day = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": t("Date as YYYY-MM-DD",
                                                                                          "日期，格式 YYYY-MM-DD")}
    passengers = {"type": "object", "description": t("Who travels", "乘客人数"), "additionalProperties": False,
                  "properties": {"adults": {"type": "integer", "minimum": 1},
                                 "children": {"type": "integer", "minimum": 0, "default": 0,
                                              "description": t("Aged 2-11", "2-11 岁儿童")}},
                  "required": ["adults"]}
    start = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$",
             "description": t("Local start time as YYYY-MM-DDTHH:MM (24-hour)",
                              "开始时间（当地），格式 YYYY-MM-DDTHH:MM，24 小时制")}
    return [
        t.tool("search_flights", t("Search bookable flights between two airports on a date.",
                                   "按日期搜索两个机场之间可预订的航班。"),
               {"origin": airport, "destination": airport, "departure_date": day,
                "return_date": {**day, "description": t("Return date for a round trip; leave out for one way",
                                                        "往返时的返程日期；单程不填")},
                "passengers": passengers,
                "cabin": _enum(t("Cabin class", "舱位等级"), CABINS, default="economy")},
               ["origin", "destination", "departure_date", "passengers"]),
        t.tool("get_flight_status", t("Departure, arrival and delay status of one flight on a date.",
                                      "查询某一航班在某日的起降及延误状态。"),
               {"flight_number": _string(t("Airline code and number, e.g. 'BA283'", "航班号，如“CA1501”"),
                                         pattern="^[A-Z0-9]{2}[0-9]{1,4}$"), "date": day},
               ["flight_number", "date"]),
        t.tool("create_calendar_event", t("Add an event to the user's calendar and invite attendees.",
                                          "在用户的日历中新建日程并邀请参会人。"),
               {"title": _string(t("Event title", "日程标题")), "start": start,
                "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 1440,
                                     "description": t("Length in minutes", "时长（分钟）")},
                "attendees": {"type": "array", "items": {"type": "string", "format": "email"},
                              "description": t("E-mail addresses to invite", "受邀人的邮箱地址")},
                "reminder_minutes": {"type": "integer", "minimum": 0,
                                     "description": t("Minutes before the start to remind; leave out for none",
                                                      "提前多少分钟提醒；不需要提醒则不填")}},
               ["title", "start", "duration_minutes"]),
        t.tool("list_calendar_events", t("List the events already in the user's calendar on one day.",
                                         "列出用户日历中某一天已有的日程。"),
               {"date": day}, ["date"]),
    ]


def _money(t: _Writer) -> list[dict[str, Any]]:
    currency = {"type": "string", "pattern": "^[A-Z]{3}$",
                "description": t("ISO 4217 currency code, e.g. 'EUR'", "ISO 4217 货币代码，如“CNY”")}
    symbol = _string(t("Ticker symbol as listed, e.g. 'AAPL'", "证券代码，如“600519”或“AAPL”"))
    exchange = _enum(t("Exchange the symbol is listed on; leave out to use the primary listing",
                       "上市交易所；不填则按主要上市地"), EXCHANGES)
    return [
        t.tool("convert_currency", t("Convert an amount of money from one currency to another at today's rate.",
                                     "按今日汇率把一笔金额从一种货币换算成另一种货币。"),
               {"amount": {"type": "number", "exclusiveMinimum": 0, "description": t("Amount in the source currency",
                                                                                     "源货币金额")},
                "from_currency": currency, "to_currency": currency}, ["amount", "from_currency", "to_currency"]),
        t.tool("get_exchange_rate", t("Today's exchange rate between two currencies (no amount).",
                                      "查询两种货币之间今日的汇率（不涉及具体金额）。"),
               {"base_currency": currency, "quote_currency": currency}, ["base_currency", "quote_currency"]),
        t.tool("get_stock_quote", t("Latest price and daily change of a listed share.",
                                    "查询股票的最新价格和当日涨跌幅。"),
               {"symbol": symbol, "exchange": exchange}, ["symbol"]),
        t.tool("get_company_news", t("Recent news headlines about a listed company.",
                                     "查询上市公司的近期新闻标题。"),
               {"symbol": symbol, "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}},
               ["symbol"]),
    ]


def _commerce(t: _Writer) -> list[dict[str, Any]]:
    order_id = _string(t("Order number, e.g. 'SO-482913'", "订单号，如“DD20260312001”"))
    country = {"type": "string", "pattern": "^[A-Z]{2}$",
               "description": t("ISO 3166-1 alpha-2, e.g. 'DE'", "国家代码（ISO 3166-1 二位），如“CN”")}
    return [
        t.tool("get_order_status", t("Status, items and delivery date of one of the customer's orders.",
                                     "查询客户某个订单的状态、商品和预计送达时间。"),
               {"order_id": order_id}, ["order_id"]),
        t.tool("cancel_order", t("Cancel an order that has not shipped yet.", "取消尚未发货的订单。"),
               {"order_id": order_id, "reason": _enum(t("Why the customer cancels", "取消原因"), CANCEL_REASONS)},
               ["order_id", "reason"]),
        t.tool("estimate_shipping", t("Price and delivery time to send a parcel, before booking it.",
                                      "寄件前估算包裹的运费和时效。"),
               {"parcel": {"type": "object", "additionalProperties": False, "required": ["weight_kg"],
                           "properties": {"weight_kg": {"type": "number", "exclusiveMinimum": 0,
                                                        "description": t("Weight in kilograms", "重量（千克）")},
                                          "fragile": {"type": "boolean", "default": False}}},
                "destination": {"type": "object", "additionalProperties": False, "required": ["country_code"],
                                "properties": {"country_code": country, "city": _string(t("City", "城市"))}},
                "service": _enum(t("Delivery speed", "服务类型"), SERVICES, default="standard")},
               ["parcel", "destination"]),
        t.tool("track_package", t("Where a parcel that was already sent is now, by tracking number.",
                                  "按运单号查询已寄出包裹的物流轨迹。"),
               {"tracking_number": _string(t("Carrier tracking number", "运单号"))}, ["tracking_number"]),
    ]


def _text(t: _Writer) -> list[dict[str, Any]]:
    language = t("ISO 639-1 code", "ISO 639-1 语言代码")
    return [
        t.tool("convert_units", t("Convert a measurement between units of length, weight or volume.",
                                  "在长度、重量、容积单位之间换算数值。"),
               {"value": {"type": "number"}, "from_unit": _enum(t("Unit of the value", "原单位（jin 为市斤）"), UNITS),
                "to_unit": _enum(t("Unit wanted", "目标单位"), UNITS)}, ["value", "from_unit", "to_unit"]),
        t.tool("translate_text", t("Translate a text into another language.", "把一段文字翻译成另一种语言。"),
               {"text": _string(t("The text, exactly as given", "原文，照原样")),
                "target_language": _enum(language, LANGUAGE_CODES),
                "source_language": _enum(t("Language of the text; leave out to detect it", "原文语言；不填则自动识别"),
                                         LANGUAGE_CODES)},
               ["text", "target_language"]),
        t.tool("detect_language", t("Tell which language a text is written in.", "识别一段文字是什么语言。"),
               {"text": _string(t("The text", "文字"))}, ["text"]),
        t.tool("send_email", t("Send an e-mail on the user's behalf.", "以用户的名义发送电子邮件。"),
               {"to": {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 1},
                "subject": _string(t("Subject line", "邮件主题")),
                "body": _string(t("Message text; leave out for a note that is all subject", "正文；只发主题时不填"))},
               ["to", "subject"]),
    ]
