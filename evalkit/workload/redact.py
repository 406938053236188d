"""Personal data removed from kept log text (``evalkit workload import --redact``).

Three kinds, each replaced by a marker, in this order (the order matters: a card number
(and an IBAN before them) is taken as a number before a phone rule could see part of it, and a phone before the
plain long-number rule):

1. ``[email]``: e-mail addresses, ``name@host.tld``.
2. ``[number]``: card and account numbers written in groups (``4111 1111 1111 1111``,
   ``3782 822463 10005``), IBANs (``DE89 3704 0044 0532 0130 00``) and Chinese resident
   ID numbers (17 digits and a digit or ``X``).
3. ``[phone]``: international numbers starting ``+`` and a country code, with 8 to 15
   digits in groups (``+86 138 0013 8000``, ``+1 (415) 555-2671``, ``+44 20 7946 0958``);
   Chinese mobile numbers (``138 0013 8000``, ``13800138000``, ``(+86) 138-0013-8000``) and
   landlines (``010-8888 6666``, ``(021) 12345678``); North American numbers
   (``(415) 555-2671``, ``415.555.2671``); national numbers starting with 0 in space-separated
   groups, 9 digits or more (``020 7946 0958``, ``06 12 34 56 78``).
4. ``[number]``: any other run of 9 or more digits (account, order and card numbers
   written without spaces).

Dates, times, amounts and short numbers are left alone. The rules are patterns, not an
understanding of the text: names and addresses are not found, and a number in an unusual
layout may be missed. Redaction runs before anything is stored.
"""

from __future__ import annotations

import re
from collections import Counter

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
GROUPED_NUMBERS = [
    re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),  # IBAN
    re.compile(r"(?<!\d)\d{4}(?:[ -]\d{4}){2,4}(?!\d)"),  # cards in fours (13-19 digits)
    re.compile(r"(?<!\d)\d{4}[ -]\d{6}[ -]\d{4,5}(?!\d)"),  # American Express / Diners layout
    re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"),  # Chinese resident ID
]
PHONES = [
    re.compile(r"(?<![\w+(])\(?\+\d{1,3}\)?(?:[ .-]?\(?\d{1,4}\)?){2,6}(?!\d)"),  # international
    re.compile(r"(?<!\d)(?:\(?\+?86\)?[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)"),  # Chinese mobile
    re.compile(r"(?<!\d)(?:\(0\d{2,3}\)[ -]?|0\d{2,3}[ -])\d{4}[ -]?\d{3,4}(?!\d)"),  # Chinese landline
    re.compile(r"(?<!\d)\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)"),  # North American
    re.compile(r"(?<!\d)0\d{1,4}(?: \d{2,4}){2,4}(?!\d)"),  # national, with a leading 0
]
LONG_DIGITS = re.compile(r"(?<!\d)\d{9,}(?!\d)")
INTERNATIONAL_DIGITS = (8, 15)
NATIONAL_MIN_DIGITS = 9


def _digits(text: str) -> int:
    return sum(char.isdigit() for char in text)


def _phone_like(match: re.Match[str]) -> bool:
    digits = _digits(match.group())
    if match.group().lstrip("(").startswith("+"):
        return INTERNATIONAL_DIGITS[0] <= digits <= INTERNATIONAL_DIGITS[1]
    return digits >= NATIONAL_MIN_DIGITS or match.re is PHONES[3]


def redact(text: str, counts: Counter[str] | None = None) -> str:
    """``text`` with e-mail addresses, phone numbers and long numbers replaced; ``counts``
    (when given) gains the number of each marker put in."""
    counts = Counter() if counts is None else counts

    def replace(pattern: re.Pattern[str], marker: str, text: str, keep=lambda match: True) -> str:
        def substitute(match: re.Match[str]) -> str:
            if not keep(match):
                return match.group()
            counts[marker] += 1
            return marker

        return pattern.sub(substitute, text)

    text = replace(EMAIL, "[email]", text)
    for pattern in GROUPED_NUMBERS:
        text = replace(pattern, "[number]", text)
    for pattern in PHONES:
        text = replace(pattern, "[phone]", text, _phone_like)
    return replace(LONG_DIGITS, "[number]", text)


def redact_messages(messages: list[dict], counts: Counter[str] | None = None) -> list[dict]:
    """Copies of chat messages with `redact` applied to their text (and text parts)."""
    cleaned = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            content = redact(content, counts)
        elif isinstance(content, list):
            content = [{**part, "text": redact(part["text"], counts)}
                       if isinstance(part, dict) and isinstance(part.get("text"), str) else part for part in content]
        cleaned.append({**message, "content": content})
    return cleaned
