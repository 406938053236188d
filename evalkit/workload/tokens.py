"""Offline token counts for logged text that came without usage: tiktoken's ``o200k_base``.

The encoding file is the one litellm ships in ``litellm/litellm_core_utils/tokenizers/``
(tiktoken's cache names it by the SHA-1 of its download URL), so counting needs no
network; tiktoken is pointed at that folder through ``TIKTOKEN_CACHE_DIR``.

A chat prompt is counted the way OpenAI's cookbook counts one for its current models:
per message 3 tokens of framing plus the tokens of its role and its text (and of its
``name`` plus 1, when it has one), and 3 more that prime the reply. Text parts of a
multi-part content are counted; images and other parts are not (their tokens are not
text, so the count is a lower bound for such prompts).
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import UsageError

if TYPE_CHECKING:
    import tiktoken

ENCODING = "o200k_base"
ESTIMATED = f"estimated: tiktoken {ENCODING}"
"""The ``token_source`` of counts made here."""
O200K_CACHE_FILE = "fb374d419588a4632f3f557e76b4b70aebbca790"
"""sha1 of https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken."""
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3


def litellm_tokenizer_dir() -> Path | None:
    """litellm's bundled tokenizer folder, found without importing litellm (which is slow)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    return folder if (folder / O200K_CACHE_FILE).is_file() else None


@functools.cache
def encoding() -> tiktoken.Encoding:
    folder = litellm_tokenizer_dir()
    if folder is None:
        raise UsageError(f"cannot count tokens offline: the {ENCODING} file litellm bundles is missing; "
                         "reinstall it with `pip install --force-reinstall litellm`")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def count_text(text: str) -> int:
    # disallowed_special=(): a log may quote "<|endoftext|>"; it is text here, not a control token.
    return len(encoding().encode(text, disallowed_special=()))


def content_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or the ``text`` of its parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def count_message(message: dict) -> int:
    """One message's share of a chat prompt (framing, role, name and text)."""
    tokens = (TOKENS_PER_MESSAGE + count_text(str(message.get("role", "")))
              + count_text(content_text(message.get("content"))))
    if isinstance(message.get("name"), str):
        tokens += TOKENS_PER_NAME + count_text(message["name"])
    return tokens


def count_messages(messages: Sequence[dict]) -> int:
    """Prompt tokens of a chat request, as OpenAI bills them for text-only messages."""
    return sum(count_message(message) for message in messages) + REPLY_PRIMING_TOKENS
