"""What the ``agent`` suites' worlds and prompts are written from, per language.

Only tables here: shops, people, products, destinations, currencies and the wording of
each task. English items are set in a European/North American web shop priced in
dollars, euros or pounds; Chinese ones in a Chinese web shop (or a cross-border one
priced in Hong Kong or US dollars), with Chinese names, provinces, 人民币 and the dates
customers write (``3月2日``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    """Key of `Language.categories`."""
    price_usd: tuple[int, int]
    """Range of the unit price in US dollars; scaled to the order's currency (`PRICE_FACTOR`)."""
    weight_kg: str
    """Weight of one unit, as a decimal string."""


@dataclass(frozen=True)
class Language:
    """Everything one language's items are written from."""

    shops: tuple[tuple[str, str, str], ...]
    """(shop name, the two capitals its order ids start with, the currency it prices in)."""
    targets: dict[str, tuple[str, ...]]
    """Per shop currency, the currencies a customer may want an amount in."""
    currency_names: dict[str, str]
    currency_label: str
    """How a prompt names a currency: ``{code}``, or ``{name}（{code}）``."""
    people: tuple[tuple[str, str], ...]
    """(name, e-mail local part)."""
    email_domains: tuple[str, ...]
    destinations: dict[str, int]
    """Destination as an order writes it -> shipping zone (1 nearest .. 4 farthest)."""
    products: tuple[Product, ...]
    categories: dict[str, str]
    """Category key -> the category as orders and policies write it."""
    tiers: dict[str, str]
    """Loyalty tier key (``standard``, ``gold``) -> how customer records and policies write it."""
    order_id_digits: int
    customer_prefix: str
    texts: dict[str, str]
    """The prompt's parts (``header``) and each task's ``<template>.message/task/format``."""
    service_names: dict[str, str]
    policy_text: dict[str, str]
    """Prose fields of the policies (``how_to_apply`` and the other topics' notes)."""
    month_day: str
    """How a customer writes a date without the year, e.g. ``{month_name} {day}``."""
    month_names: tuple[str, ...]


PRICE_FACTOR = {"USD": "1", "EUR": "0.95", "GBP": "0.8", "CNY": "7", "HKD": "7.8"}
"""Roughly how many units of each currency buy what one US dollar buys in the shops."""

SHIPPING_FEES = {"USD": ("0", "4.99", "7.50", "9.99"), "EUR": ("0", "4.90", "6.95"),
                 "GBP": ("0", "3.99", "5.50"), "CNY": ("0", "8", "12", "18"), "HKD": ("0", "30", "45")}

RATES_PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.37, "CNY": 7.18, "HKD": 7.81, "JPY": 151.2}
"""Near the market rates of late 2026, per US dollar; each item moves them by up to 3%."""

EN = Language(
    shops=(("Northwind Outfitters", "NW", "USD"), ("Maple & Pine Store", "MP", "EUR"),
           ("Riverside Supply", "RS", "GBP"), ("Harbor Lane Goods", "HL", "USD"), ("Alpenglow Sports", "AG", "EUR")),
    targets={"USD": ("EUR", "GBP", "CAD"), "EUR": ("USD", "GBP"), "GBP": ("EUR", "USD")},
    currency_names={"USD": "US dollars", "EUR": "euros", "GBP": "pounds", "CAD": "Canadian dollars"},
    currency_label="{code}",
    people=(("Ana Silva", "ana.silva"), ("Tom Becker", "t.becker"), ("Priya Nair", "priya.nair"),
            ("Liam O'Connor", "liam.oconnor"), ("Sofia Rossi", "sofia.rossi"), ("Jonas Weber", "jonas.weber"),
            ("Emma Dubois", "emma.dubois"), ("Noah Clarke", "noah.clarke"), ("Mia Jensen", "mia.jensen"),
            ("Lucas Martin", "lucas.martin"), ("Grace Kim", "grace.kim"), ("Omar Haddad", "omar.haddad")),
    email_domains=("example.com", "mail.example.org", "inbox.example.net"),
    destinations={"Germany": 1, "Netherlands": 1, "France": 1, "Italy": 2, "Spain": 2, "United Kingdom": 2,
                  "United States": 3, "Canada": 3, "Japan": 4, "Australia": 4},
    products=(
        Product("Wireless Earbuds", "electronics", (39, 129), "0.2"),
        Product("Bluetooth Speaker", "electronics", (29, 99), "0.6"),
        Product("Smartwatch", "electronics", (99, 299), "0.15"),
        Product("Mechanical Keyboard", "electronics", (59, 149), "1.1"),
        Product("Rain Jacket", "clothing", (49, 139), "0.7"),
        Product("Merino Sweater", "clothing", (59, 119), "0.4"),
        Product("Trail Running Shoes", "clothing", (79, 159), "0.9"),
        Product("Cast Iron Skillet", "home", (25, 60), "2.7"),
        Product("Linen Duvet Cover", "home", (49, 129), "1.3"),
        Product("Ceramic Table Lamp", "home", (35, 95), "2.1"),
        Product("Yoga Mat", "sports", (19, 59), "1.2"),
        Product("Camping Tent", "sports", (99, 299), "3.9"),
        Product("Hardcover Cookbook", "books", (19, 45), "1.1"),
        Product("City Travel Guide", "books", (12, 30), "0.5"),
    ),
    categories={"electronics": "electronics", "clothing": "clothing", "home": "home", "sports": "sports",
                "books": "books"},
    tiers={"standard": "standard", "gold": "gold"},
    order_id_digits=5,
    customer_prefix="C-",
    texts={
        "header": "You are a customer support agent at {shop}. Today is {today}. Look up every figure with the "
                  "tools offered; do not guess or assume any.\n\nMessage from {name} <{email}>:\n\"{message}\"\n\n"
                  "{task} {format}",
        "order-total.message": "Hi, my company reimburses purchases in {target_name}. What did order {order_id} "
                               "cost me in total, shipping included?",
        "order-total.task": "Work out the order's total (each line's quantity × unit price, plus the shipping fee) "
                            "and convert it to {target} with the convert_currency tool.",
        "order-total.format": "Answer with the amount in {target}, a number only (for example 123.45).",
        "reship-quote.message": "Order {order_id} arrived damaged. Could you send everything in it again, "
                                "by {service_name} shipping?",
        "reship-quote.task": "The shop pays for the replacement parcel. Quote its shipping with the shipping_quote "
                             "tool, for the order's destination and total weight (each line's quantity × unit "
                             "weight).",
        "reship-quote.format": "Answer with the shipping price in {currency}, a number only (for example 12.50).",
        "refund-order.message": "I'd like to return everything in order {order_id}. How much will I get back?",
        "refund-order.task": "Work out the refund under the shop's returns policy, counting the days since "
                             "delivery with the days_between tool.",
        "refund-order.format": "Answer with the refund in {currency}, a number only (for example 42.10); "
                               "answer 0 if no refund is due.",
        "refund-converted.message": "I'm sending back {quantity} × {product} from order {order_id}. My card is in "
                                    "{target_name}: how much will I get back on it?",
        "refund-converted.task": "Work out the refund under the shop's returns policy and convert it to {target} "
                                 "with the convert_currency tool.",
        "refund-converted.format": "Answer with the refund in {target}, a number only (for example 42.10); "
                                   "answer 0 if no refund is due.",
        "refund-lookup.message": "Hello, I'm returning {quantity} × {product} from the order I placed on "
                                 "{placed}. What will my refund be?",
        "refund-lookup.task": "Find the customer and the order with the tools, then work out the refund under the "
                              "shop's returns policy, with any exception that applies.",
        "refund-lookup.format": "Answer with the refund in {currency}, a number only (for example 42.10); "
                                "answer 0 if no refund is due.",
        "refund-exception.message": "Hello, I'm returning {quantity} × {product} from the order I placed on "
                                    "{placed}. Please pay the refund to my card, which is in my home currency. "
                                    "How much will that be?",
        "refund-exception.task": "Find the customer and the order with the tools, work out the refund under the "
                                 "shop's returns policy with every exception that applies to this item and this "
                                 "customer, and convert it to the customer's home currency.",
        "refund-exception.format": "Answer with the refund in the customer's home currency, a number only "
                                   "(for example 42.10); answer 0 if no refund is due.",
    },
    service_names={"standard": "standard", "express": "express"},
    policy_text={
        "how_to_apply": "The refund is the returned items' price (quantity × unit price) less the restocking fee, "
                        "rounded to the cent; the shipping fee is not refunded. Items may be returned up to "
                        "window_days days after delivery (days_between from delivered_on to today). A category "
                        "rule replaces the window and the fee for items of its category; a tier rule adds its "
                        "extra days to the window of customers of that tier.",
        "shipping": "Orders ship within two working days; express parcels arrive in one to two days.",
        "warranty": "Defects are repaired or replaced free of charge within the warranty period; "
                    "a warranty claim is not a return.",
    },
    month_day="{month_name} {day}",
    month_names=("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December"),
)

ZH = Language(
    shops=(("山间小铺", "SJ", "CNY"), ("云栖优选", "YQ", "CNY"), ("青禾生活馆", "QH", "CNY"),
           ("港湾海淘", "GW", "HKD"), ("太平洋海淘", "TP", "USD")),
    targets={"CNY": ("HKD", "USD"), "HKD": ("CNY",), "USD": ("CNY",)},
    currency_names={"CNY": "人民币", "USD": "美元", "HKD": "港币", "EUR": "欧元"},
    currency_label="{name}（{code}）",
    people=(("王芳", "wangfang"), ("李伟", "liwei"), ("张敏", "zhangmin"), ("刘洋", "liuyang"),
            ("陈静", "chenjing"), ("杨帆", "yangfan"), ("赵磊", "zhaolei"), ("黄婷", "huangting"),
            ("周杰", "zhoujie"), ("吴晓雯", "wuxiaowen"), ("徐浩然", "xuhaoran"), ("孙丽", "sunli")),
    email_domains=("example.cn", "mail.example.cn", "163.example.com"),
    destinations={"浙江": 1, "上海": 1, "江苏": 1, "北京": 2, "广东": 2, "湖北": 2, "四川": 3, "黑龙江": 3,
                  "新疆": 4, "西藏": 4},
    products=(
        Product("蓝牙耳机", "electronics", (39, 129), "0.2"),
        Product("蓝牙音箱", "electronics", (29, 99), "0.6"),
        Product("智能手表", "electronics", (99, 299), "0.15"),
        Product("机械键盘", "electronics", (59, 149), "1.1"),
        Product("羽绒服", "clothing", (69, 199), "0.9"),
        Product("羊毛衫", "clothing", (39, 99), "0.4"),
        Product("跑步鞋", "clothing", (59, 139), "0.9"),
        Product("铸铁炒锅", "home", (25, 60), "2.7"),
        Product("真丝被套", "home", (69, 159), "1.3"),
        Product("护眼台灯", "home", (25, 79), "1.6"),
        Product("瑜伽垫", "sports", (15, 45), "1.2"),
        Product("露营帐篷", "sports", (79, 259), "3.9"),
        Product("家常菜谱", "books", (9, 25), "0.8"),
        Product("旅行指南", "books", (9, 20), "0.5"),
    ),
    categories={"electronics": "数码", "clothing": "服饰", "home": "家居", "sports": "运动户外", "books": "图书"},
    tiers={"standard": "普通会员", "gold": "金卡会员"},
    order_id_digits=8,
    customer_prefix="KH",
    texts={
        "header": "你是{shop}的在线客服。今天是{today}。所有数字都要用提供的工具查询，不要猜测。\n\n"
                  "顾客{name}（{email}）留言：\n“{message}”\n\n{task}{format}",
        "order-total.message": "你好，我们公司报销只认{target_name}。订单{order_id}连运费一共花了多少钱？",
        "order-total.task": "请算出订单总额（各行数量×单价之和，再加运费），并用 convert_currency 工具换算成{target}。",
        "order-total.format": "只回答以{target}计的金额数字，例如 123.45。",
        "reship-quote.message": "订单{order_id}收到时东西都摔坏了，能不能用{service_name}把整单再寄一次？",
        "reship-quote.task": "补发包裹的运费由店铺承担。请用 shipping_quote 工具报价：收货地区照订单填写，"
                             "重量为整单总重（各行数量×单件重量之和）。",
        "reship-quote.format": "只回答以{currency}计的运费数字，例如 12.50。",
        "refund-order.message": "订单{order_id}我想整单退货，能退我多少钱？",
        "refund-order.task": "请按店铺的退货规则算出退款金额，签收至今的天数用 days_between 工具计算。",
        "refund-order.format": "只回答以{currency}计的退款金额数字，例如 42.10；如不应退款，回答 0。",
        "refund-converted.message": "订单{order_id}里的{product}我要退{quantity}件。我的卡是{target_name}账户，"
                                    "到账能有多少？",
        "refund-converted.task": "请按店铺的退货规则算出退款，并用 convert_currency 工具换算成{target}。",
        "refund-converted.format": "只回答以{target}计的退款金额数字，例如 42.10；如不应退款，回答 0。",
        "refund-lookup.message": "你好，我{placed}下的那一单里的{product}要退{quantity}件，能退多少钱？",
        "refund-lookup.task": "请用工具找到这位顾客和这笔订单，再按店铺的退货规则（含适用的例外条款）算出退款。",
        "refund-lookup.format": "只回答以{currency}计的退款金额数字，例如 42.10；如不应退款，回答 0。",
        "refund-exception.message": "你好，我{placed}下的那一单里的{product}要退{quantity}件。退款请打到我的银行卡，"
                                    "卡是我常用币种的账户。能退多少？",
        "refund-exception.task": "请用工具找到这位顾客和这笔订单，按店铺的退货规则算出退款（这件商品和这位顾客"
                                 "适用的例外条款都要算上），再换算成顾客的常用币种。",
        "refund-exception.format": "只回答换算成顾客常用币种后的退款金额数字，例如 42.10；如不应退款，回答 0。",
    },
    service_names={"standard": "普通快递", "express": "加急快递"},
    policy_text={
        "how_to_apply": "退款金额为退回商品的价款（数量×单价）减去退货手续费，四舍五入到分；运费不退。"
                        "签收后 window_days 天内可退（天数为 days_between 从签收日 delivered_on 到今天）。"
                        "品类规则（category_rules）对该品类商品取代标准的退货期限和手续费；"
                        "会员规则（tier_rules）为该等级的顾客在退货期限上再加 extra_window_days 天。",
        "shipping": "订单两个工作日内发货；加急快递一到两天送达。",
        "warranty": "保修期内的质量问题免费维修或更换；申请保修不等于退货。",
    },
    month_day="{month}月{day}日",
    month_names=("1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"),
)

LANGUAGES = {"en": EN, "zh": ZH}
