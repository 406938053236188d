"""Token estimates for text, counted as litellm's `token_counter` counts them.

For an OpenAI model litellm counts with tiktoken, from the encoding files it ships (it
points TIKTOKEN_CACHE_DIR at them, so nothing is downloaded), 1,024 characters at a time.
This module does the same with tiktoken directly, which takes a tenth of a second where
importing litellm takes seconds. Every other model (Anthropic's, DeepSeek's and Llama's
tokenizers, a name tiktoken does not know) is counted by litellm itself. The estimate is
used only where a provider reported no usage, and for `evalkit estimate`.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
from functools import lru_cache
from typing import Any

from evalkit.transport import model_map

CHUNK_CHARS = 1024
"""litellm's TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS default: text is encoded in pieces this long."""

MAX_EXACT_CHARS = 4_000_000
"""litellm's TOKEN_COUNTER_MAX_EXACT_CHARS default: longer text it extrapolates from samples."""

_LITELLM_SETTINGS = ("TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS", "TOKEN_COUNTER_MAX_EXACT_CHARS", "CUSTOM_TIKTOKEN_CACHE_DIR")
"""Environment variables that change how litellm counts: with any of them set, litellm counts."""

_HUGGINGFACE_MODEL = re.compile(
    r"deepseek[-_.](?:chat[-_.])?v[34]|(?:^|/)deepseek-(?:chat|reasoner|flash)(?::free)?$|llama-2|llama-3|replicate",
    re.IGNORECASE,
)
"""Model names litellm counts with a HuggingFace tokenizer instead of tiktoken (DeepSeek's, Llama's)."""


def count_tokens(model_id: str, text: str) -> int:
    """A tokenizer estimate, used only when the provider reported no usage."""
    encoding = tiktoken_encoding(model_id)
    if encoding is None or len(text) > MAX_EXACT_CHARS or any(os.environ.get(n) for n in _LITELLM_SETTINGS):
        from evalkit.transport import litellm

        return litellm.count_tokens(model_id, text)
    coder = _encoder(encoding)
    return sum(len(coder.encode(text[start:start + CHUNK_CHARS], disallowed_special=()))
               for start in range(0, len(text), CHUNK_CHARS))


def tiktoken_encoding(model_id: str) -> str | None:
    """The tiktoken encoding litellm counts an `openai/` model with; None where litellm
    would use another tokenizer or decide by rules of its own (then litellm counts)."""
    prefix, slash, name = model_id.partition("/")
    if prefix != "openai" or not slash or "/" in name or ":" in name or _HUGGINGFACE_MODEL.search(model_id):
        return None  # a fine-tune's name (ft:...) litellm resolves to its base model's by rules of its own
    from tiktoken.model import encoding_name_for_model

    try:
        known = encoding_name_for_model(name)
    except KeyError:
        known = None
    if _listed_openai_chat(name):
        return "o200k_base" if "gpt-4o" in name else known
    return known if known == "o200k_base" else None


def _listed_openai_chat(name: str) -> bool:
    entry = model_map.cost_map().get(name)
    return isinstance(entry, dict) and entry.get("litellm_provider") == "openai" and entry.get("mode") == "chat"


@lru_cache(maxsize=4)
def _encoder(encoding: str) -> Any:
    # litellm points tiktoken at the encoding files it ships (and so does this, the same
    # way): without them tiktoken would download the file on first use
    folder = model_map.tokenizer_dir()
    if folder:
        os.environ["TIKTOKEN_CACHE_DIR"] = folder
    import tiktoken

    return tiktoken.Encoding(**_encoding_arguments(encoding))


def _encoding_arguments(encoding: str) -> dict[str, Any]:
    """tiktoken's arguments for an encoding, kept in evalkit's cache as marshal data: parsing
    the encoding file (200,000 base64 lines, checked against its hash) is a third of loading
    it, reading them back a tenth. The file's name carries both versions it came from."""
    from importlib.metadata import version

    import tiktoken_ext.openai_public as openai_encodings

    from evalkit.config.cache import cache_root

    path = cache_root() / "tiktoken" / f"{encoding}-tiktoken{version('tiktoken')}-litellm{version('litellm')}.marshal"
    try:
        kept = marshal.loads(path.read_bytes())
        if isinstance(kept, dict) and isinstance(kept.get("mergeable_ranks"), dict):
            return kept
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not cached yet (or unreadable): parse the file and keep the result
    arguments: dict[str, Any] = openai_encodings.ENCODING_CONSTRUCTORS[encoding]()
    with contextlib.suppress(OSError):  # a read-only cache only costs the next run the parse
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(marshal.dumps(arguments))
        os.replace(partial, path)  # atomic: another process never reads half a file
    return arguments
