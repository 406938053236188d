"""The language of a prompt, read from its script: what token inflation is measured per.

Tokenizers differ most by script (Chinese text is where Qwen's, DeepSeek's and OpenAI's
counts part), so a prompt's language is decided by the letters it is written in, not by
a language model. Of a text's letters (``str.isalpha``: Latin letters, Han characters,
kana, Hangul), a text is:

- ``zh`` when at least `SCRIPT_SHARE` of them are Han characters and it has no kana;
- ``ja`` when it has Han characters or kana making `SCRIPT_SHARE` together and some kana;
- ``ko`` when at least `SCRIPT_SHARE` of them are Hangul;
- ``en`` when at least `LATIN_SHARE` of them are ASCII letters (English and every other
  language written in plain ASCII: the tokenizers treat them alike);
- ``other`` otherwise (Cyrillic, Arabic, accented Latin, ...), and ``unknown`` for a text
  without letters.

Code and numbers in a Chinese prompt do not make it English: a share of a fifth is enough,
as one Han character stands for a word that takes several Latin letters.
"""

from __future__ import annotations

SCRIPT_SHARE = 0.2
"""Share of a text's letters in a CJK script from which the text is in that language."""
LATIN_SHARE = 0.9
"""Share of a text's letters that are ASCII for the text to count as ``en``."""


def _is_han(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FA1F)


def _is_kana(char: str) -> bool:
    return 0x3040 <= ord(char) <= 0x30FF


def _is_hangul(char: str) -> bool:
    code = ord(char)
    return 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def text_language(text: str) -> str:
    """``zh``, ``ja``, ``ko``, ``en``, ``other`` or ``unknown``, by the rules above."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return "unknown"
    total = len(letters)
    han = sum(1 for char in letters if _is_han(char))
    kana = sum(1 for char in letters if _is_kana(char))
    if kana and (han + kana) / total >= SCRIPT_SHARE:
        return "ja"
    if han / total >= SCRIPT_SHARE:
        return "zh"
    if sum(1 for char in letters if _is_hangul(char)) / total >= SCRIPT_SHARE:
        return "ko"
    if sum(1 for char in letters if char.isascii()) / total >= LATIN_SHARE:
        return "en"
    return "other"
