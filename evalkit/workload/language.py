"""The language of a request, by a simple script rule.

Over the first 1,000 characters of the text of the request's non-system messages (a system prompt is often English
whatever the users write), count the letters (word characters that are not digits) and, among them, the CJK
ideographs (U+3400-U+4DBF, U+4E00-U+9FFF, U+F900-U+FAFF), the kana (U+3040-U+30FF) and
the hangul (U+AC00-U+D7AF). If CJK ideographs and kana are at least `CJK_SHARE` of the
letters, the request is ``ja`` when it has any kana, else ``zh``; if hangul is at least
that share, ``ko``; else ``en`` when at least half the letters are ASCII, else ``other``.
Without letters it is ``unknown``. One ideograph carries about as much as a short word,
so a Chinese request with English product names still counts as Chinese.
"""

from __future__ import annotations

import re

from evalkit.workload.tokens import content_text

CJK_SHARE = 0.3
LANGUAGE_CHARS = 1000
"""Characters of a request read to tell its language: enough to be sure, and bounded, so a
100k-token prompt costs no more than a short one."""
_LETTERS = re.compile(r"[^\W\d_]")
_ASCII_LETTERS = re.compile(r"[A-Za-z]")
_IDEOGRAPHS = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


def language(text: str) -> str:
    letters = len(_LETTERS.findall(text))
    if not letters:
        return "unknown"
    kana = len(_KANA.findall(text))
    if len(_IDEOGRAPHS.findall(text)) + kana >= CJK_SHARE * letters:
        return "ja" if kana else "zh"
    if len(_HANGUL.findall(text)) >= CJK_SHARE * letters:
        return "ko"
    return "en" if len(_ASCII_LETTERS.findall(text)) >= letters / 2 else "other"


def request_language(messages: list[dict]) -> str:
    """`language` of the first `LANGUAGE_CHARS` of the non-system messages' text (of all
    messages, if all are system)."""
    spoken = [m for m in messages if m.get("role") not in ("system", "developer")] or messages
    text = ""
    for message in spoken:
        text += content_text(message.get("content"))[:LANGUAGE_CHARS - len(text)] + "\n"
        if len(text) >= LANGUAGE_CHARS:
            break
    return language(text)
