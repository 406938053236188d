"""What the ``tools`` requests talk about, for English and for Chinese readers.

Not a translation: English requests travel between Heathrow and JFK, pay in euros and
ask about Apple shares; Chinese ones fly from 首都机场 to 浦东, change 人民币 and 日元
written with 万, ask about 贵州茅台 by its code, weigh parcels in 斤 and write dates as
2026年3月14日. Each place and security lists every spelling a correct call may use, so
the reference can accept any of them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Place:
    """A city as the request names it, the spellings a call may use, its country and airport."""

    name: str
    spellings: tuple[str, ...]
    country: str
    """ISO 3166-1 alpha-2."""
    airport: str = ""
    """IATA code of its main airport ('' where requests never fly there)."""
    airport_name: str = ""


@dataclass(frozen=True)
class Security:
    name: str
    symbols: tuple[str, ...]
    """The ticker as listed first, then the other spellings a quote service takes."""
    exchange: str
    hint: str = ""
    """How the request says where it is listed, where the name alone is ambiguous."""


@dataclass(frozen=True)
class Locale:
    """One language's world for the requests."""

    language: str
    weather_cities: tuple[Place, ...]
    airports: tuple[Place, ...]
    destinations: tuple[Place, ...]
    """Where parcels go."""
    securities: tuple[Security, ...]
    currencies: dict[str, tuple[str, ...]]
    """ISO code -> the words a request uses for it."""
    people: tuple[tuple[str, str], ...]
    """(name as written, e-mail address)."""
    meetings: tuple[str, ...]
    flight_numbers: tuple[str, ...]
    phrases: tuple[tuple[str, str], ...]
    """(text to translate, its language code)."""
    foreign_phrases: tuple[str, ...]
    """Texts whose language is to be detected."""

    def order_id(self, rng: random.Random, today: date) -> str:
        if self.language == "zh":
            return f"DD{today:%Y%m%d}{rng.randint(1, 999):03d}"
        return f"SO-{rng.randint(100000, 999999)}"

    def tracking_number(self, rng: random.Random) -> str:
        if self.language == "zh":
            return "SF" + "".join(rng.choice("0123456789") for _ in range(12))
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(16))


def _city(name: str, country: str, country_name: str, *more: str, airport: str = "", airport_name: str = "") -> Place:
    return Place(name, (name, f"{name}, {country_name}", f"{name}, {country}", *more), country, airport, airport_name)


def _zh_city(name: str, country: str, *more: str, airport: str = "", airport_name: str = "") -> Place:
    spellings = (name, *more) if country != "CN" else (name, f"{name}市", *more)
    return Place(name, spellings, country, airport, airport_name)


EN = Locale(
    language="en",
    weather_cities=(
        _city("London", "GB", "UK", "London, United Kingdom", "London, England"),
        _city("Lisbon", "PT", "Portugal"), _city("Toronto", "CA", "Canada", "Toronto, ON"),
        _city("Chicago", "US", "USA", "Chicago, IL", "Chicago, Illinois"),
        _city("Nairobi", "KE", "Kenya"), _city("Sydney", "AU", "Australia", "Sydney, NSW"),
        _city("Madrid", "ES", "Spain"), _city("Denver", "US", "USA", "Denver, CO", "Denver, Colorado"),
        _city("Tokyo", "JP", "Japan"), _city("Dublin", "IE", "Ireland"),
    ),
    airports=(
        _city("London", "GB", "UK", airport="LHR", airport_name="London Heathrow"),
        _city("New York", "US", "USA", airport="JFK", airport_name="New York JFK"),
        _city("Chicago", "US", "USA", airport="ORD", airport_name="Chicago O'Hare"),
        _city("Tokyo", "JP", "Japan", airport="HND", airport_name="Tokyo Haneda"),
        _city("Paris", "FR", "France", airport="CDG", airport_name="Paris Charles de Gaulle"),
        _city("Toronto", "CA", "Canada", airport="YYZ", airport_name="Toronto Pearson"),
        _city("Madrid", "ES", "Spain", airport="MAD", airport_name="Madrid-Barajas"),
        _city("Denver", "US", "USA", airport="DEN", airport_name="Denver International"),
    ),
    destinations=(
        _city("Munich", "DE", "Germany", "München"), _city("Osaka", "JP", "Japan"),
        _city("Toronto", "CA", "Canada"), _city("Lyon", "FR", "France"),
        _city("Melbourne", "AU", "Australia"), _city("Dublin", "IE", "Ireland"),
    ),
    securities=(
        Security("Apple", ("AAPL",), "NASDAQ"), Security("Microsoft", ("MSFT",), "NASDAQ"),
        Security("Coca-Cola", ("KO",), "NYSE"), Security("Nike", ("NKE",), "NYSE"),
        Security("Boeing", ("BA",), "NYSE"), Security("Netflix", ("NFLX",), "NASDAQ"),
    ),
    currencies={"USD": ("US dollars", "dollars"), "EUR": ("euros",), "GBP": ("pounds sterling", "British pounds"),
                "JPY": ("Japanese yen", "yen"), "CAD": ("Canadian dollars",), "CHF": ("Swiss francs",),
                "AUD": ("Australian dollars",)},
    people=(("Anna Berg", "anna.berg@example.com"), ("Tom Okafor", "tom.okafor@example.com"),
            ("Priya Nair", "priya.nair@example.com"), ("James Ortiz", "james.ortiz@example.com"),
            ("Mei Lin", "mei.lin@example.com")),
    meetings=("Quarterly budget review", "Design sync", "Onboarding for new sales hires", "Vendor call with Northwind",
              "Roadmap planning"),
    flight_numbers=("BA283", "AA100", "LH430", "AF22", "UA857", "AC849"),
    phrases=(("Where is the nearest pharmacy?", "en"), ("The meeting has been moved to Thursday.", "en"),
             ("Could we get the bill, please?", "en"), ("My luggage did not arrive.", "en")),
    foreign_phrases=("Dziękuję bardzo", "Onde fica a estação?", "Tack så mycket", "Hvor er toget?"),
)

ZH = Locale(
    language="zh",
    weather_cities=(
        _zh_city("杭州", "CN", "Hangzhou"), _zh_city("成都", "CN", "Chengdu"), _zh_city("哈尔滨", "CN", "Harbin"),
        _zh_city("厦门", "CN", "Xiamen"), _zh_city("昆明", "CN", "Kunming"), _zh_city("三亚", "CN", "Sanya"),
        _zh_city("西安", "CN", "Xi'an", "Xian"), _zh_city("青岛", "CN", "Qingdao"), _zh_city("拉萨", "CN", "Lhasa"),
    ),
    airports=(
        _zh_city("北京", "CN", airport="PEK", airport_name="北京首都国际机场"),
        _zh_city("上海", "CN", airport="PVG", airport_name="上海浦东国际机场"),
        _zh_city("广州", "CN", airport="CAN", airport_name="广州白云国际机场"),
        _zh_city("深圳", "CN", airport="SZX", airport_name="深圳宝安国际机场"),
        _zh_city("成都", "CN", airport="TFU", airport_name="成都天府国际机场"),
        _zh_city("杭州", "CN", airport="HGH", airport_name="杭州萧山国际机场"),
        _zh_city("西安", "CN", airport="XIY", airport_name="西安咸阳国际机场"),
        _zh_city("重庆", "CN", airport="CKG", airport_name="重庆江北国际机场"),
    ),
    destinations=(
        _zh_city("德国慕尼黑", "DE", "慕尼黑", "Munich", "München"), _zh_city("日本大阪", "JP", "大阪", "Osaka"),
        _zh_city("美国洛杉矶", "US", "洛杉矶", "Los Angeles"), _zh_city("新加坡", "SG", "Singapore"),
        _zh_city("澳大利亚悉尼", "AU", "悉尼", "Sydney"), _zh_city("成都", "CN", "Chengdu"),
        _zh_city("乌鲁木齐", "CN", "Urumqi", "Ürümqi"),
    ),
    securities=(
        Security("贵州茅台", ("600519", "600519.SH", "600519.SS"), "SSE"),
        Security("招商银行", ("600036", "600036.SH", "600036.SS"), "SSE", hint="A股"),
        Security("宁德时代", ("300750", "300750.SZ"), "SZSE", hint="A股"),
        Security("五粮液", ("000858", "000858.SZ"), "SZSE"),
        Security("腾讯控股", ("0700", "700", "00700", "0700.HK"), "HKEX", hint="港股"),
        Security("美团", ("3690", "03690", "3690.HK"), "HKEX", hint="港股"),
    ),
    currencies={"CNY": ("人民币",), "USD": ("美元",), "JPY": ("日元",), "HKD": ("港币",), "EUR": ("欧元",),
                "GBP": ("英镑",), "KRW": ("韩元",)},
    people=(("张敏", "zhang.min@example.cn"), ("王磊", "wang.lei@example.cn"), ("刘洋", "liu.yang@example.cn"),
            ("陈静", "chen.jing@example.cn"), ("赵志强", "zhao.zhiqiang@example.cn")),
    meetings=("季度预算评审会", "产品需求评审", "新员工入职培训", "供应商对接会", "年度规划讨论"),
    flight_numbers=("CA1501", "MU5101", "CZ3101", "HU7601", "3U8881", "ZH9101"),
    phrases=(("请问最近的地铁站在哪里？", "zh"), ("会议改到周四下午了。", "zh"), ("麻烦帮我们结一下账。", "zh"),
             ("我的行李没有到。", "zh")),
    foreign_phrases=("Dziękuję bardzo", "Onde fica a estação?", "Tack så mycket", "Merci beaucoup"),
)

LOCALES = {"en": EN, "zh": ZH}
