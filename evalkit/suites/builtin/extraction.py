"""Built-in suite ``extraction``: read an invoice written in a free layout, return fields as JSON.

The generator first draws an invoice as data (parties, numbers, dates, line items, tax),
computes the totals exactly with decimals, and only then writes it out in one of several
layouts (a plain header block, an email, a table, a till receipt, a scanned page; in
Chinese a 电子发票, a WeChat message, a 对账单 and an email). The reference is taken
from the data, never from the text, and the words a value was written as are kept in the
metadata (``surface``) so a test can find each one in the prompt.

Difficulty adds fields to extract and traps: an order number next to the invoice number,
a due date and an order date next to the invoice date, a previous balance next to the
total, currency given only as a symbol or a word, European number formats, and line
items without line amounts (the most expensive one must then be computed).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from evalkit.suites.base import Sample
from evalkit.suites.builtin import Item, generate_samples, register_generated

CENT = Decimal("0.01")

FIELDS_EN = {
    "vendor": "name of the company that issued the invoice, as written",
    "customer": "name of the company being billed, as written",
    "invoice_number": "the invoice number, exactly as written",
    "invoice_date": "the date the invoice was issued, as YYYY-MM-DD",
    "due_date": "the date payment is due, as YYYY-MM-DD",
    "currency": "ISO 4217 code of the invoice currency, e.g. USD",
    "line_item_count": "number of line items (products or services) billed, as an integer",
    "subtotal": "sum of the line items before tax, as a number",
    "tax": "the tax amount, as a number",
    "tax_rate": "the tax rate in percent, as a number (20 for 20%)",
    "total": "total of this invoice including tax, excluding any earlier unpaid balance, as a number",
    "most_expensive_item": "description of the line item with the largest line amount (quantity × unit price), "
                           "exactly as written",
}
FIELDS_ZH = {
    "vendor": "开票方（销售方）公司名称，照原文填写",
    "customer": "付款方（购买方）公司名称，照原文填写",
    "invoice_number": "发票号码，照原文填写",
    "invoice_date": "开票日期，格式 YYYY-MM-DD",
    "due_date": "付款截止日期，格式 YYYY-MM-DD",
    "currency": "币种的 ISO 4217 代码，如 CNY",
    "line_item_count": "开票明细的行数（整数）",
    "subtotal": "不含税金额合计（数字）",
    "tax": "税额（数字）",
    "tax_rate": "税率的百分数（数字，13% 填 13）",
    "total": "本张发票的价税合计（数字），不含以前未结清的金额",
    "most_expensive_item": "金额（数量 × 单价）最大的那一行的项目名称，照原文填写",
}

# Level -> (fields always asked at this level, pool the rest is drawn from, how many in all).
_FIELD_PLAN = {
    1: ((), ("vendor", "invoice_number", "total"), (2, 3)),
    2: (("invoice_date", "currency"), ("vendor", "invoice_number", "total"), (4, 4)),
    3: (("customer", "line_item_count"), ("vendor", "invoice_number", "total", "invoice_date", "currency",
                                          "due_date"), (5, 5)),
    4: (("subtotal", "tax", "total"), ("vendor", "invoice_number", "invoice_date", "currency", "customer",
                                       "due_date", "line_item_count", "tax_rate"), (6, 7)),
    5: (("most_expensive_item", "total", "invoice_date", "invoice_number"),
        ("vendor", "customer", "due_date", "currency", "line_item_count", "subtotal", "tax", "tax_rate"), (8, 8)),
}
_ITEM_COUNTS = {1: (1, 2), 2: (1, 3), 3: (2, 4), 4: (3, 5), 5: (4, 7)}


@dataclass(frozen=True)
class Currency:
    """One currency and the three ways an invoice may name it."""

    code: str
    symbol: str
    word: str
    tax_rates: tuple[str, ...]
    """Usual tax rates on invoices in this currency, in percent."""


@dataclass(frozen=True)
class LineItem:
    """One billed product or service."""

    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Invoice:
    """The facts; layouts only decide how they are written."""

    vendor: str
    customer: str
    number: str
    order_number: str
    invoice_date: date
    due_date: date
    order_date: date
    currency: Currency
    items: tuple[LineItem, ...]
    tax_rate: Decimal
    previous_balance: Decimal | None

    @property
    def subtotal(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal(0))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


@dataclass(frozen=True)
class Style:
    """How this copy of the invoice is written; harder levels turn on the traps."""

    level: int
    date_format: str
    currency_as: str
    """``code``, ``symbol`` or ``word``."""
    european_numbers: bool
    line_amounts: bool
    show_order: bool
    show_due: bool
    show_order_date: bool
    show_previous: bool


@dataclass(frozen=True)
class Doc:
    """An invoice with every value already written as text; what the layouts print."""

    invoice: Invoice
    style: Style
    vendor: str
    customer: str
    number: str
    order_number: str
    invoice_date: str
    due_date: str
    order_date: str
    currency: str
    items: tuple[tuple[str, str, str, str], ...]
    """(description, quantity, unit price, amount)."""
    subtotal: str
    tax: str
    tax_rate: str
    total: str
    previous: str
    amount_due: str


def generate(n: int, seed: int, language: str = "en", difficulty: int | None = None) -> list[Sample]:
    """``n`` invoices to extract fields from; the same arguments always give the same items."""
    return generate_samples("extraction", build_item, n, seed, language, difficulty)


def build_item(rng: random.Random, level: int, language: str) -> Item:
    """One invoice at ``level`` with the fields to extract and their values."""
    data = _EN if language == "en" else _ZH
    fields = _pick_fields(rng, level)
    layout = rng.choice([layout for layout in data.layouts if layout.lowest_level <= level])
    currencies = [c for c in data.currencies if layout.currencies is None or c.code in layout.currencies]
    invoice = _draw_invoice(rng, level, data, rng.choice(currencies),
                            needs_trap="most_expensive_item" in fields and level == 5)
    style = _draw_style(rng, level, invoice, language)
    doc = _write_values(invoice, style, language)
    text = layout.render(doc, rng)
    reference = {name: _reference_value(invoice, name) for name in fields}
    return Item(
        prompt=_prompt(text, fields, language),
        reference=reference,
        scorer="json_fields",
        template=layout.id,
        metadata={
            "fields": list(fields),
            "surface": {name: _surface(doc, name) for name in fields},
            "items": [[i.description, i.quantity, str(i.unit_price)] for i in invoice.items],
            "traps": _traps(style),
        },
    )


register_generated(
    "extraction",
    build_item,
    description="Invoices in varied layouts; extract named fields as JSON.",
    typical_answer_tokens=80,
    order=2,
)


# ---------------------------------------------------------------- the same task as structured output

_TEXT = {"type": "string", "pattern": "\\S"}  # non-empty; `pattern` is one of the keywords strict modes take
_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
FIELD_SCHEMAS = {
    "vendor": _TEXT,
    "customer": _TEXT,
    "invoice_number": _TEXT,
    "invoice_date": _DATE,
    "due_date": _DATE,
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "line_item_count": {"type": "integer", "minimum": 1},
    "subtotal": {"type": "number"},
    "tax": {"type": "number"},
    "tax_rate": {"type": "number", "minimum": 0, "maximum": 100},
    "total": {"type": "number"},
    "most_expensive_item": _TEXT,
}
"""Each field's type as a program reading the reply would declare it."""


def schema_for(fields: tuple[str, ...]) -> dict:
    """The JSON Schema of a reply with exactly these fields: all required, no others (the
    shape strict structured-output modes accept)."""
    return {"type": "object", "properties": {name: FIELD_SCHEMAS[name] for name in fields},
            "required": list(fields), "additionalProperties": False}


def build_schema_item(rng: random.Random, level: int, language: str) -> Item:
    """An extraction item whose reply must also be valid against the schema of its fields."""
    item = build_item(rng, level, language)
    schema = schema_for(tuple(item.metadata["fields"]))
    rule = (f"\n\n该 JSON 对象必须符合以下 JSON Schema：\n{json.dumps(schema, ensure_ascii=False)}" if language == "zh"
            else f"\n\nThe JSON object must be valid against this JSON Schema:\n{json.dumps(schema)}")
    return replace(item, prompt=item.prompt + rule, scorer="json_schema", scorer_options={"schema": schema})


register_generated(
    "extraction-schema",
    build_schema_item,
    description="The extraction task with a JSON Schema the reply must keep to (structured output).",
    typical_answer_tokens=80,
    order=2,  # right after extraction: the same task, asked as structured output
)


def _pick_fields(rng: random.Random, level: int) -> tuple[str, ...]:
    required, pool, (low, high) = _FIELD_PLAN[level]
    rest = [name for name in pool if name not in required]
    chosen = set(required) | set(rng.sample(rest, rng.randint(low, high) - len(required)))
    order = list(FIELDS_EN)  # a stable, natural order in the prompt
    return tuple(name for name in order if name in chosen)


def _draw_invoice(rng: random.Random, level: int, data: _Data, currency: Currency, needs_trap: bool) -> Invoice:
    issued = date(2022, 1, 1) + timedelta(days=rng.randint(0, 1400))
    return Invoice(
        vendor=rng.choice(data.vendors),
        customer=rng.choice(data.customers),
        number=data.invoice_number(rng, issued.year),
        order_number=data.order_number(rng, issued.year),
        invoice_date=issued,
        due_date=issued + timedelta(days=rng.choice((14, 15, 30, 45, 60))),
        order_date=issued - timedelta(days=rng.randint(2, 25)),
        currency=currency,
        items=_draw_items(rng, level, data, needs_trap),
        tax_rate=Decimal(rng.choice(currency.tax_rates)),
        previous_balance=_money(rng, 40, 6000) if level >= 4 and rng.random() < 0.8 else None,
    )


def _draw_items(rng: random.Random, level: int, data: _Data, needs_trap: bool) -> tuple[LineItem, ...]:
    """Line items with one clear largest amount; with ``needs_trap`` it is not the dearest unit."""
    top_quantity = 10 if level <= 2 else 40
    low, high = _ITEM_COUNTS[level]
    while True:
        chosen = rng.sample(data.catalogue, rng.randint(max(low, 2 if needs_trap else 1), high))
        items = tuple(
            LineItem(name, rng.randint(1, top_quantity), _money(rng, price_low, price_high))
            for name, price_low, price_high in chosen
        )
        amounts = sorted((item.amount for item in items), reverse=True)
        if len(amounts) > 1 and amounts[0] == amounts[1]:
            continue
        if needs_trap and _largest(items) is max(items, key=lambda item: item.unit_price):
            continue
        return items


def _largest(items: tuple[LineItem, ...]) -> LineItem:
    return max(items, key=lambda item: item.amount)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _draw_style(rng: random.Random, level: int, invoice: Invoice, language: str) -> Style:
    formats = ("iso", "long") if level <= 2 else ("iso", "long", "day-month", "dotted", "short")
    date_format = rng.choice(formats)
    shown = (invoice.invoice_date, invoice.due_date, invoice.order_date)
    if date_format == "dotted" and any(d.day <= 12 for d in shown):
        date_format = "long"  # 05.03.2024 could be read either way; only unambiguous dotted dates
    if language == "zh":  # Chinese invoices name the currency by symbol or word, not by ISO code
        currency_as = rng.choice(("symbol", "word"))
    elif level <= 2:
        currency_as = "code"
    else:
        currency_as = rng.choice(("code", "word") if level == 3 else ("symbol", "word"))
    return Style(
        level=level,
        date_format=date_format,
        currency_as=currency_as,
        european_numbers=language == "en" and level == 5 and invoice.currency.code == "EUR" and rng.random() < 0.7,
        line_amounts=level < 5 or rng.random() < 0.5,
        show_order=level >= 3,
        show_due=level >= 2 or rng.random() < 0.5,
        show_order_date=level >= 4,
        show_previous=invoice.previous_balance is not None,
    )


def _write_values(invoice: Invoice, style: Style, language: str) -> Doc:
    def money(value: Decimal) -> str:
        return _format_amount(value, style.european_numbers, grouping=language == "en")

    def when(day: date) -> str:
        return _format_date(day, style.date_format, language)

    previous = invoice.previous_balance or Decimal(0)
    return Doc(
        invoice=invoice,
        style=style,
        vendor=invoice.vendor,
        customer=invoice.customer,
        number=invoice.number,
        order_number=invoice.order_number,
        invoice_date=when(invoice.invoice_date),
        due_date=when(invoice.due_date),
        order_date=when(invoice.order_date),
        currency=getattr(invoice.currency, style.currency_as).strip(),
        items=tuple(
            (item.description, str(item.quantity), money(item.unit_price), money(item.amount))
            for item in invoice.items
        ),
        subtotal=money(invoice.subtotal),
        tax=money(invoice.tax),
        tax_rate=_plain(invoice.tax_rate),
        total=money(invoice.total),
        previous=money(previous),
        amount_due=money(invoice.total + previous),
    )


def _format_amount(value: Decimal, european: bool, grouping: bool) -> str:
    text = f"{value:,.2f}" if grouping else f"{value:.2f}"
    if european:  # 1,234.56 -> 1.234,56
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _format_date(day: date, style: str, language: str) -> str:
    if language == "zh":
        return {
            "iso": day.isoformat(),
            "long": f"{day.year}年{day.month}月{day.day}日",
            "day-month": f"{day.year}年{day.month:02d}月{day.day:02d}日",
            "dotted": f"{day.year}.{day.month:02d}.{day.day:02d}",
            "short": f"{day.year}/{day.month}/{day.day}",
        }[style]
    month = _MONTHS[day.month - 1]
    return {
        "iso": day.isoformat(),
        "long": f"{month} {day.day}, {day.year}",
        "day-month": f"{day.day} {month} {day.year}",
        "dotted": f"{day.day:02d}.{day.month:02d}.{day.year}",
        "short": f"{day.day} {month[:3]} {day.year}",
    }[style]


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _reference_value(invoice: Invoice, name: str) -> str | int | float:
    values: dict[str, str | int | float] = {
        "vendor": invoice.vendor,
        "customer": invoice.customer,
        "invoice_number": invoice.number,
        "invoice_date": invoice.invoice_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency.code,
        "line_item_count": len(invoice.items),
        "subtotal": float(invoice.subtotal),
        "tax": float(invoice.tax),
        "tax_rate": float(invoice.tax_rate),
        "total": float(invoice.total),
        "most_expensive_item": _largest(invoice.items).description,
    }
    return values[name]


def _surface(doc: Doc, name: str) -> str | None:
    """The text the value was written as in the prompt (None for counted fields)."""
    surfaces = {
        "vendor": doc.vendor,
        "customer": doc.customer,
        "invoice_number": doc.number,
        "invoice_date": doc.invoice_date,
        "due_date": doc.due_date,
        "currency": doc.currency,
        "subtotal": doc.subtotal,
        "tax": doc.tax,
        "tax_rate": f"{doc.tax_rate}%",
        "total": doc.total,
        "most_expensive_item": _largest(doc.invoice.items).description,
    }
    return surfaces.get(name)


def _traps(style: Style) -> list[str]:
    flags = {
        "order_number": style.show_order,
        "due_date": style.show_due,
        "order_date": style.show_order_date,
        "previous_balance": style.show_previous,
        "european_numbers": style.european_numbers,
        "no_line_amounts": not style.line_amounts,
        f"currency_as_{style.currency_as}": style.currency_as != "code",
    }
    return [name for name, on in flags.items() if on]


def _prompt(text: str, fields: tuple[str, ...], language: str) -> str:
    if language == "zh":
        listing = "\n".join(f"- {name}：{FIELDS_ZH[name]}" for name in fields)
        return (
            "从下面的票据中提取以下字段，只输出一个 JSON 对象，不要输出其他内容。"
            "金额和数量写成 JSON 数字（不带货币符号和千位分隔符）。\n\n"
            f"字段：\n{listing}\n\n票据：\n<<<\n{text}\n>>>"
        )
    listing = "\n".join(f"- {name}: {FIELDS_EN[name]}" for name in fields)
    return (
        "Extract the fields below from the invoice and reply with a single JSON object and nothing else. "
        "Write amounts and counts as JSON numbers (no currency symbols, no thousands separators).\n\n"
        f"Fields:\n{listing}\n\nInvoice:\n<<<\n{text}\n>>>"
    )


# ---------------------------------------------------------------- English layouts


def _money_en(doc: Doc, amount: str) -> str:
    """An amount with the currency the way this copy shows it (symbol before, code/word after)."""
    if doc.style.currency_as == "symbol":
        if doc.style.european_numbers:
            return f"{amount} {doc.currency}"
        return f"{doc.currency} {amount}" if doc.currency.isalpha() else f"{doc.currency}{amount}"
    return f"{amount} {doc.currency}"


def _en_plain(doc: Doc, rng: random.Random) -> str:
    number_label = rng.choice(("Invoice no.", "Invoice #", "Invoice number"))
    lines = ["INVOICE", f"From: {doc.vendor}", f"Bill to: {doc.customer}", f"{number_label}: {doc.number}"]
    if doc.style.show_order:
        lines.append(f"Purchase order: {doc.order_number}")
    lines.append(f"{rng.choice(('Invoice date', 'Date of issue', 'Issued'))}: {doc.invoice_date}")
    if doc.style.show_order_date:
        lines.append(f"Order date: {doc.order_date}")
    if doc.style.show_due:
        lines.append(f"Due date: {doc.due_date}")
    if doc.style.currency_as == "code":
        lines.append(f"Currency: {doc.currency}")
    lines += ["", "Items:"]
    for description, quantity, unit, amount in doc.items:
        tail = f" = {amount}" if doc.style.line_amounts else ""
        lines.append(f"- {description}: {quantity} × {unit}{tail}")
    lines += ["", f"Subtotal: {doc.subtotal}", f"Tax ({doc.tax_rate}%): {doc.tax}",
              f"Total: {_money_en(doc, doc.total)}"]
    if doc.style.show_previous:
        lines += [f"Previous balance (unpaid): {doc.previous}", f"Total amount due: {doc.amount_due}"]
    return "\n".join(lines)


def _en_email(doc: Doc, rng: random.Random) -> str:
    contact = rng.choice(("Dana", "Mr. Huang", "Accounts team", "Sofia", "Mr. Adeyemi"))
    sender = rng.choice(("Laura Jensen", "Mark Ellison", "Keiko Tanaka", "Ruth Abara"))
    order = f" (your PO {doc.order_number})" if doc.style.show_order else ""
    placed = f", placed on {doc.order_date}," if doc.style.show_order_date else ""
    items = "\n".join(_en_item_sentence(row, doc.style.line_amounts) for row in doc.items)
    parts = [
        f"Subject: Invoice {doc.number} from {doc.vendor}",
        "",
        f"Hi {contact},",
        "",
        f"Thank you for your order{order}{placed} on behalf of {doc.customer}. "
        f"Please find below invoice {doc.number}, dated {doc.invoice_date}.",
        "",
        items,
        "",
        f"That comes to {doc.subtotal} before tax. Tax at {doc.tax_rate}% is {doc.tax}, "
        f"so this invoice totals {_money_en(doc, doc.total)}.",
    ]
    if doc.style.show_previous:
        parts.append(f"Our records also show an unpaid balance of {doc.previous} from an earlier invoice, "
                     f"which brings the amount now due to {doc.amount_due}.")
    if doc.style.show_due:
        parts.append(f"Payment is due by {doc.due_date}.")
    if doc.style.currency_as == "code":
        parts.append(f"All amounts are in {doc.currency}.")
    parts += ["", "Kind regards,", sender, doc.vendor]
    return "\n".join(parts)


def _en_item_sentence(row: tuple[str, str, str, str], with_amount: bool) -> str:
    description, quantity, unit, amount = row
    tail = f", {amount} in total" if with_amount else ""
    return f"* {quantity} x {description} at {unit} each{tail}"


def _en_table(doc: Doc, rng: random.Random) -> str:
    header = [f"## {doc.vendor}", "", "| | |", "|---|---|", f"| Invoice | {doc.number} |",
              f"| Date | {doc.invoice_date} |", f"| Customer | {doc.customer} |"]
    if doc.style.show_order:
        header.append(f"| Customer order ref. | {doc.order_number} |")
    if doc.style.show_order_date:
        header.append(f"| Order received | {doc.order_date} |")
    if doc.style.show_due:
        header.append(f"| Payment due | {doc.due_date} |")
    currency = f" ({doc.currency})" if doc.style.currency_as != "symbol" else ""
    if doc.style.line_amounts:
        rows = ["| Description | Qty | Unit price | Amount |", "|---|---:|---:|---:|"]
        rows += [f"| {d} | {q} | {u} | {a} |" for d, q, u, a in doc.items]
    else:
        rows = ["| Description | Qty | Unit price |", "|---|---:|---:|"]
        rows += [f"| {d} | {q} | {u} |" for d, q, u, _ in doc.items]
    totals = [f"Net amount{currency}: {doc.subtotal}", f"VAT {doc.tax_rate}%: {doc.tax}",
              f"Invoice total: {_money_en(doc, doc.total)}"]
    if doc.style.show_previous:
        totals += [f"Balance brought forward: {doc.previous}", f"Please pay: {doc.amount_due}"]
    return "\n".join(header + [""] + rows + [""] + totals)


def _en_receipt(doc: Doc, rng: random.Random) -> str:
    width = 44

    def dotted(label: str, value: str) -> str:
        return f"{label} {'.' * max(3, width - len(label) - len(value) - 2)} {value}"

    lines = [doc.vendor.center(width), "=" * width, dotted("Invoice", doc.number),
             dotted("Date", doc.invoice_date), dotted("Customer", doc.customer)]
    if doc.style.show_order:
        lines.append(dotted("Order ref", doc.order_number))
    lines.append("-" * width)
    for description, quantity, unit, amount in doc.items:
        lines.append(description)
        lines.append(dotted(f"  {quantity} @ {unit}", amount) if doc.style.line_amounts else f"  {quantity} @ {unit}")
    lines += ["-" * width, dotted("SUBTOTAL", doc.subtotal), dotted(f"TAX {doc.tax_rate}%", doc.tax),
              dotted("TOTAL", _money_en(doc, doc.total))]
    if doc.style.show_previous:
        lines += [dotted("Prior balance", doc.previous), dotted("BALANCE DUE", doc.amount_due)]
    if doc.style.show_due:
        lines.append(f"Pay by {doc.due_date}")
    return "\n".join(lines)


def _en_scan(doc: Doc, rng: random.Random) -> str:
    """A page as OCR returns it: broken labels and odd spacing, values intact."""
    lines = [doc.vendor, "lNV0ICE", f"Inv0ice N o  {doc.number}"]
    if doc.style.show_order:
        lines[-1] += f"     P.O. Ref  {doc.order_number}"
    lines.append(f"Date of  issue {doc.invoice_date}")
    if doc.style.show_order_date:
        lines[-1] += f"   0rdered {doc.order_date}"
    if doc.style.show_due:
        lines.append(f"Payab1e by   {doc.due_date}")
    lines.append(f"BILL T0  {doc.customer}")
    lines.append("Qty  Description               Unit      Amount" if doc.style.line_amounts
                 else "Qty  Description               Unit")
    for description, quantity, unit, amount in doc.items:
        tail = f"   {amount}" if doc.style.line_amounts else ""
        lines.append(f"{quantity}  {description}   {unit}{tail}")
    lines += [f"Sub tota1  {doc.subtotal}", f"Tax @ {doc.tax_rate}%   {doc.tax}",
              f"lnvoice Total   {_money_en(doc, doc.total)}"]
    if doc.style.show_previous:
        lines += [f"Ba1ance brought fwd  {doc.previous}", f"T0TAL DUE  {doc.amount_due}"]
    return "\n".join(lines)


# ---------------------------------------------------------------- Chinese layouts


def _money_zh(doc: Doc, amount: str) -> str:
    if doc.style.currency_as == "symbol":
        return f"{doc.currency}{amount}"
    if doc.currency == "人民币":
        return f"人民币{amount}元"
    return f"{amount}{doc.currency}"


def _zh_fapiao(doc: Doc, rng: random.Random) -> str:
    lines = ["电子发票（增值税专用发票）"]
    code, number = _zh_fapiao_numbers(doc, rng)
    if code:
        lines.append(f"发票代码：{code}")
    lines += [f"发票号码：{number}", f"开票日期：{doc.invoice_date}",
              f"购买方名称：{doc.customer}", f"购买方统一社会信用代码：{_credit_code(rng)}",
              f"销售方名称：{doc.vendor}", f"销售方统一社会信用代码：{_credit_code(rng)}", ""]
    head = "项目名称 | 数量 | 单价 | 金额 | 税率" if doc.style.line_amounts else "项目名称 | 数量 | 单价 | 税率"
    lines.append(head)
    for description, quantity, unit, amount in doc.items:
        cells = [description, quantity, unit] + ([amount] if doc.style.line_amounts else []) + [f"{doc.tax_rate}%"]
        lines.append(" | ".join(cells))
    lines += [f"合计金额：{_money_zh(doc, doc.subtotal)}　合计税额：{doc.tax}",
              f"价税合计（大写）：{_rmb_upper(doc.invoice.total)}　（小写）{_money_zh(doc, doc.total)}"]
    remarks = []
    if doc.style.show_order:
        remarks.append(f"订单号 {doc.order_number}")
    if doc.style.show_order_date:
        remarks.append(f"下单日期 {doc.order_date}")
    if doc.style.show_due:
        remarks.append(f"请于 {doc.due_date} 前付款")
    if doc.style.show_previous:
        remarks.append(f"上期未结清 {doc.previous}，本期应付合计 {doc.amount_due}")
    if remarks:
        lines.append("备注：" + "；".join(remarks))
    lines.append(f"开票人：{rng.choice(('王丽', '陈晓东', '刘敏', '赵静'))}")
    return "\n".join(lines)


def _zh_fapiao_numbers(doc: Doc, rng: random.Random) -> tuple[str | None, str]:
    """Older paper-style fapiao print a 12-digit 发票代码 next to the number: a classic mix-up."""
    if doc.style.level >= 3 and len(doc.number) == 8:
        return _digits(rng, 12), doc.number
    return None, doc.number


def _zh_wechat(doc: Doc, rng: random.Random) -> str:
    sender = rng.choice(("小周", "李经理", "陈会计", "销售-王倩"))
    boss = rng.choice(("王总", "刘总", "张经理", "赵会计"))
    lines = [f"{sender}（{doc.vendor}）：", f"{boss}您好～本期货款明细发您核对一下，发票抬头是贵司 {doc.customer}："]
    for index, (description, quantity, unit, amount) in enumerate(doc.items, start=1):
        tail = f" = {amount}" if doc.style.line_amounts else ""
        lines.append(f"{index}. {description} {quantity} × {unit}{tail}")
    lines.append(f"不含税{doc.subtotal}，税点{doc.tax_rate}%，税额{doc.tax}，本次发票价税合计{_money_zh(doc, doc.total)}。")  # noqa: E501 (Chinese text is double width)
    if doc.style.show_previous:
        lines.append(f"另外上期还有{doc.previous}没结，加起来一共{doc.amount_due}。")
    tail = f"，对应订单{doc.order_number}" if doc.style.show_order else ""
    lines.append(f"发票号码{doc.number}，开票日期{doc.invoice_date}{tail}。")
    if doc.style.show_order_date:
        lines.append(f"（这批货是{doc.order_date}下的单）")
    if doc.style.show_due:
        lines.append(f"麻烦在{doc.due_date}之前安排付款，谢谢！")
    return "\n".join(lines)


def _zh_statement(doc: Doc, rng: random.Random) -> str:
    lines = [f"{doc.vendor}　客户对账单", f"客户名称：{doc.customer}", f"发票号码：{doc.number}",
             f"开票日期：{doc.invoice_date}"]
    if doc.style.show_order:
        lines.append(f"销售订单号：{doc.order_number}")
    if doc.style.show_order_date:
        lines.append(f"订货日期：{doc.order_date}")
    if doc.style.currency_as == "word":
        lines.append(f"币种：{doc.currency}")
    lines.append("序号　品名　数量　单价" + ("　金额" if doc.style.line_amounts else ""))
    for index, (description, quantity, unit, amount) in enumerate(doc.items, start=1):
        lines.append(f"{index}　{description}　{quantity}　{unit}" + (f"　{amount}" if doc.style.line_amounts else ""))
    lines += [f"不含税金额：{doc.subtotal}", f"税额（{doc.tax_rate}%）：{doc.tax}",
              f"本期价税合计：{_money_zh(doc, doc.total)}"]
    if doc.style.show_previous:
        lines += [f"上期结余（未付）：{doc.previous}", f"截至本期应付总额：{doc.amount_due}"]
    if doc.style.show_due:
        lines.append(f"付款期限：{doc.due_date}")
    return "\n".join(lines)


def _zh_email(doc: Doc, rng: random.Random) -> str:
    sender = rng.choice(("周敏", "黄志强", "孙丽华", "郑凯"))
    order = f"（采购订单号 {doc.order_number}）" if doc.style.show_order else ""
    placed = f"于{doc.order_date}" if doc.style.show_order_date else ""
    currency = f"，币种为{doc.currency}" if doc.style.currency_as != "symbol" else ""
    lines = [f"主题：{doc.vendor}开具的发票 {doc.number}", "", f"{doc.customer}财务部：", "",
             f"您好！贵司{placed}下达的订单{order}已全部交付，现开具发票，发票号码{doc.number}，"
             f"开票日期{doc.invoice_date}{currency}。明细如下："]
    for description, quantity, unit, amount in doc.items:
        tail = f"，小计{amount}" if doc.style.line_amounts else ""
        lines.append(f"· {description}：数量{quantity}，单价{unit}{tail}")
    lines.append(f"不含税金额{doc.subtotal}，税率{doc.tax_rate}%，税额{doc.tax}，价税合计{_money_zh(doc, doc.total)}。")
    if doc.style.show_previous:
        lines.append(f"此前尚有{doc.previous}未结清，连同本次共计应付{doc.amount_due}。")
    if doc.style.show_due:
        lines.append(f"请于{doc.due_date}前完成付款。")
    lines += ["", f"{doc.vendor}　财务部　{sender}"]
    return "\n".join(lines)


def _credit_code(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91" + "".join(rng.choice(alphabet) for _ in range(16))


_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def _rmb_upper(amount: Decimal) -> str:
    """Amount in the financial capitals printed on every fapiao: 1205.30 -> 壹仟贰佰零伍元叁角整."""
    cents = int((amount * 100).to_integral_value())
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = f"{_upper_integer(yuan)}元" if yuan else ""
    if jiao:
        text += f"{_UPPER_DIGITS[jiao]}角"
    elif fen and yuan:
        text += "零"
    if fen:
        return text + f"{_UPPER_DIGITS[fen]}分"
    return text + "整"


def _upper_integer(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    text, gap = "", False
    for power in reversed(range(len(groups))):
        group = groups[power]
        if group == 0:
            gap = True
            continue
        if text and (gap or group < 1000):
            text += "零"
        text += _upper_group(group) + ("", "万", "亿")[power]
        gap = False
    return text


def _upper_group(group: int) -> str:
    text, zero = "", False
    for power, unit in ((3, "仟"), (2, "佰"), (1, "拾"), (0, "")):
        digit = group // 10**power % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _UPPER_DIGITS[digit] + unit
    return text


# ---------------------------------------------------------------- data


Layout = Callable[[Doc, random.Random], str]


@dataclass(frozen=True)
class _Layout:
    id: str
    lowest_level: int
    render: Layout
    currencies: tuple[str, ...] | None = None
    """Currencies this kind of document is issued in; None for any."""


@dataclass(frozen=True)
class _Data:
    vendors: tuple[str, ...]
    customers: tuple[str, ...]
    currencies: tuple[Currency, ...]
    catalogue: tuple[tuple[str, int, int], ...]
    """(description, lowest unit price, highest unit price)."""
    layouts: tuple[_Layout, ...]
    invoice_number: Callable[[random.Random, int], str]
    """(rng, year of issue) -> an invoice number in this market's usual shapes."""
    order_number: Callable[[random.Random, int], str]


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _en_invoice_number(rng: random.Random, year: int) -> str:
    return rng.choice((
        f"INV-{year}-{rng.randint(1, 99999):05d}",
        f"{rng.choice('ABCDEFGHKMNPRS')}{rng.randint(10000, 99999)}",
        f"{year}/{rng.randint(1, 9999):04d}",
        f"SI-{rng.randint(100000, 999999)}",
    ))


def _en_order_number(rng: random.Random, year: int) -> str:
    return rng.choice((f"PO-{rng.randint(10000, 99999)}", f"4500{rng.randint(100000, 999999)}",
                       f"ORD-{year}-{rng.randint(100, 9999)}"))  # shaped like an invoice number on purpose


def _zh_invoice_number(rng: random.Random, year: int) -> str:
    if rng.random() < 0.5:  # 数电票: 20 digits starting with the year; otherwise the older 8-digit number
        return f"{year % 100}{rng.randint(11, 65)}{_digits(rng, 16)}"
    return _digits(rng, 8)


def _zh_order_number(rng: random.Random, year: int) -> str:
    return f"DD{year}{_digits(rng, 8)}"


_EN = _Data(
    vendors=("Harbor Lane Supplies Ltd.", "Brightwater Analytics GmbH", "Kestrel Office Furniture Inc.",
             "Northwind Traders LLC", "Bluefin IT Services B.V.", "Oakridge Stationers Ltd.",
             "Summit Digital Solutions", "Pine & Co. Business Supplies", "Vantage Print Works",
             "Copperleaf Catering Ltd."),
    customers=("Meridian Health Partners", "Crescent Logistics Ltd.", "Aurora Dental Group",
               "Fairview Architecture LLP", "Silverline Media GmbH", "Westbrook Community College",
               "Larkspur Hotels", "Tidewater Engineering Inc.", "Greenfield Veterinary Clinic"),
    currencies=(
        Currency("USD", "US$", "US dollars", ("6", "7", "8.25")),
        Currency("EUR", "€", "euros", ("19", "20", "21")),
        Currency("GBP", "£", "pounds sterling", ("20",)),
        Currency("CHF", "CHF ", "Swiss francs", ("8.1",)),
        Currency("CAD", "CA$", "Canadian dollars", ("5", "13")),
        Currency("AUD", "A$", "Australian dollars", ("10",)),
    ),
    catalogue=(
        ("A4 copy paper, box of 5 reams", 18, 45), ("Ergonomic office chair", 180, 650),
        ("27-inch monitor", 160, 480), ("USB-C docking station", 90, 260), ("Toner cartridge, black", 45, 130),
        ("Wireless keyboard and mouse set", 35, 110), ("Standing desk frame", 250, 700),
        ("Consulting hours - data migration", 95, 220), ("Annual software licence (per seat)", 60, 400),
        ("On-site installation", 150, 900), ("Cloud storage, 1 TB per month", 8, 25),
        ("Conference room headset", 70, 240), ("Label printer tape, 12 mm", 9, 28),
        ("Laptop sleeve, 14-inch", 19, 49), ("Network switch, 24-port", 140, 520),
        ("Whiteboard markers, pack of 12", 7, 22), ("Catering - working lunch (per person)", 12, 35),
        ("Projector lamp replacement", 110, 330),
    ),
    layouts=(_Layout("plain", 1, _en_plain), _Layout("receipt", 1, _en_receipt), _Layout("email", 2, _en_email),
             _Layout("table", 3, _en_table), _Layout("scan", 4, _en_scan)),
    invoice_number=_en_invoice_number,
    order_number=_en_order_number,
)

_ZH = _Data(
    vendors=("杭州云启信息技术有限公司", "深圳市迅达电子科技有限公司", "上海申美办公用品有限公司",
             "北京恒信达商贸有限公司", "广州粤海印务有限公司", "成都蜀锦餐饮管理有限公司",
             "苏州启明智能设备有限公司", "武汉长江物流服务有限公司"),
    customers=("上海禾木餐饮管理有限公司", "南京博远教育科技有限公司", "宁波海曙区第一中学",
               "厦门鹭岛会展服务有限公司", "青岛蓝湾酒店管理有限公司", "西安秦川医疗器械有限公司",
               "天津滨海新区人民医院"),
    currencies=(
        Currency("CNY", "¥", "人民币", ("13", "9", "6", "3")),
        Currency("USD", "US$", "美元", ("0",)),
        Currency("HKD", "HK$", "港币", ("0",)),
        Currency("EUR", "€", "欧元", ("0",)),
    ),
    catalogue=(
        ("A4复印纸 70g（5包/箱）", 95, 180), ("人体工学办公椅", 580, 2600), ("27英寸显示器", 899, 2999),
        ("云服务器租用（4核8G/月）", 260, 900), ("技术服务费", 800, 9800), ("硒鼓（黑色）", 120, 480),
        ("无线键鼠套装", 89, 399), ("会议室投影仪", 2600, 8900), ("网络交换机 24口", 680, 3200),
        ("员工工作餐（份）", 18, 45), ("打印机维修服务", 150, 900), ("碎纸机", 399, 1599),
        ("笔记本电脑支架", 59, 259), ("展会展位搭建服务", 3000, 18000),
    ),
    layouts=(_Layout("fapiao", 1, _zh_fapiao, ("CNY",)), _Layout("statement", 1, _zh_statement, ("CNY",)),
             _Layout("wechat", 2, _zh_wechat, ("CNY",)), _Layout("email", 3, _zh_email)),
    invoice_number=_zh_invoice_number,
    order_number=_zh_order_number,
)
