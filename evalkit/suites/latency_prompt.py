"""Latency prompts built to an exact token count for a model's own tokenizer, or to a character budget.

A prompt is a per-run nonce first (so no provider's prefix cache or speculative decoder
has seen its start), then the request for a long answer, then notes of random words up to
the size. `build_prompt` cuts it to exactly ``n`` tokens of a `Tokenizer` (the user
message's text; the chat template adds `PromptTokenizer.template_tokens` around it), or,
without one, to ``n * chars_per_token`` characters. Which of the two a model got is stated
in `BuiltPrompt.how`, and the reports repeat it.

The tokenizers are offline: tiktoken's encodings from the files litellm bundles
(``TIKTOKEN_CACHE_DIR`` pointed there, never the network), DeepSeek-V3's from litellm's
bundled ``deepseek_tokenizer.json`` through the ``tokenizers`` package, and any other
object with ``encode``/``decode`` (the embedded model's llama.cpp server, in `evalkit.run`).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

INSTRUCTION = (
    "Read the notes below, then write a long and detailed essay that discusses every note in turn, "
    "in full sentences. Do not stop early and do not summarise: keep writing until you have covered "
    "all of them.\n\nNotes:\n"
)
_WORDS = (
    "river", "harbour", "lantern", "meadow", "copper", "signal", "winter", "orchard", "ledger", "compass",
    "granite", "velvet", "market", "thunder", "pillar", "canvas", "beacon", "timber", "saddle", "glacier",
    "parcel", "violin", "quarry", "ribbon", "engine", "falcon", "marble", "cellar", "meadowlark", "anchor",
    "circuit", "festival", "mirror", "pepper", "tunnel", "voyage", "cotton", "harvest", "ladder", "museum",
    "oyster", "planet", "rocket", "shadow", "tailor", "valley", "whistle", "blossom", "cabinet", "dolphin",
    "ember", "fountain", "garden", "horizon", "island", "jungle", "kettle", "lemon", "monsoon", "needle",
    "olive", "paddle", "quartz", "rattle", "spindle", "tempest", "umbrella", "vessel", "walnut", "yonder",
    "zephyr", "archive", "bracket", "chimney", "dynamo", "eclipse", "furnace", "gazette", "hammock",
    "inkwell",
)
_VERBS = ("shapes", "follows", "carries", "answers", "guards", "measures", "crosses", "holds",
          "borrows", "lifts", "repairs", "names", "counts", "turns", "paints", "keeps")


class Tokenizer(Protocol):
    """Text to token ids and back (hashable: a tier's tokens are cached per tokenizer)."""

    def __hash__(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


@dataclass(frozen=True)
class PromptTokenizer:
    """A model's tokenizer as the latency suite uses it."""

    name: str
    """``o200k_base``, ``cl100k_base``, ``deepseek-v3``, ``llama.cpp``."""
    tokenizer: Tokenizer | None
    """None: not available offline; prompts fall back to a character budget."""
    template_tokens: int | None
    """Tokens the chat template adds around one user message (from the data file)."""
    why_not: str = ""
    """Why there is no tokenizer, when there is none."""


@dataclass(frozen=True)
class BuiltPrompt:
    text: str
    exact: bool
    """True: `text` is exactly the asked number of tokens of the model's tokenizer."""
    how: str
    """One line for the record and the report, e.g. ``exact: 1,000 tokens of o200k_base
    (+7 chat-template tokens)`` or ``character budget: 4,000 characters (no offline tokenizer)``."""


@functools.lru_cache(maxsize=1)
def latency_data() -> dict[str, Any]:
    """`evalkit/data/latency_tiers.yaml`, parsed."""
    text = resources.files("evalkit.data").joinpath("latency_tiers.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def nonce_for(*parts: object) -> str:
    """A short hex id from the run and the item: unique per run, the same on a resume."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16]


def prompt_head(nonce: str) -> str:
    """What every latency prompt starts with: the nonce, so no two runs share a prefix."""
    return f"Request {nonce}. "


@functools.lru_cache(maxsize=32)
def prompt_body(seed_key: str, approx_chars: int) -> str:
    """The instruction, then numbered notes of random words, to at least ``approx_chars``."""
    rng = random.Random(seed_key)
    parts = [INSTRUCTION]
    size, note = len(INSTRUCTION), 0
    while size < approx_chars:
        note += 1
        words = rng.sample(_WORDS, 5)
        line = f"{note}. The {words[0]} {rng.choice(_VERBS)} the {words[1]} near the {words[2]}, " \
               f"and the {words[3]} {rng.choice(_VERBS)} a {words[4]}.\n"
        parts.append(line)
        size += len(line)
    return "".join(parts)


def build_prompt(n_tokens: int, nonce: str, seed_key: str, tok: PromptTokenizer) -> BuiltPrompt:
    """The user message of a latency item: exactly ``n_tokens`` of ``tok`` where it has a
    tokenizer, else ``n_tokens * chars_per_token`` characters. The same ``seed_key`` gives
    the same notes; the nonce in front makes each prompt unique."""
    head = prompt_head(nonce)
    if tok.tokenizer is None:
        chars = n_tokens * int(latency_data()["chars_per_token"])
        text = (head + prompt_body(seed_key, chars))[:chars]
        return BuiltPrompt(text, False, f"character budget: {chars:,} characters for {n_tokens:,} tokens "
                                        f"({tok.why_not or 'no offline tokenizer'})")
    body_ids = _body_ids(tok.tokenizer, seed_key, n_tokens)
    text = exact_tokens(tok.tokenizer, head, body_ids, n_tokens)
    overhead = f"+{tok.template_tokens} chat-template tokens" if tok.template_tokens is not None \
        else "chat-template tokens unknown"
    return BuiltPrompt(text, True, f"exact: {n_tokens:,} tokens of {tok.name} ({overhead})")


@functools.lru_cache(maxsize=16)
def _body_ids(tokenizer: Tokenizer, seed_key: str, n_tokens: int) -> tuple[int, ...]:
    """The body's tokens, at least ``n_tokens`` of them; counted once per tokenizer and tier
    (a 100k-token prompt takes the slowest tokenizer most of a second to encode)."""
    chars = n_tokens * 5
    while True:
        ids = tokenizer.encode(prompt_body(seed_key, chars))
        if len(ids) >= n_tokens:
            return tuple(ids)
        chars *= 2


def exact_tokens(tokenizer: Tokenizer, head: str, body_ids: tuple[int, ...], n_tokens: int) -> str:
    """``head`` and a prefix of the body that together encode to exactly ``n_tokens`` tokens.

    Tokens do not simply add up at a join (a merge may cross it), and decoding a cut token
    list is not always the inverse of encoding, so the cut moves by the difference until
    the whole text re-encodes to ``n_tokens``."""
    cut = n_tokens - len(tokenizer.encode(head))
    for _ in range(20):
        if cut < 0:
            break
        text = head + tokenizer.decode(list(body_ids[:cut]))
        got = len(tokenizer.encode(text))
        if got == n_tokens:
            return text
        cut += n_tokens - got
    raise ValueError(f"cannot build a prompt of exactly {n_tokens} tokens (the nonce alone takes more)")


# --------------------------------------------------------------------------- tokenizers

def tokenizer_entry(model_id: str) -> dict[str, Any] | None:
    """The `tokenizers` entry of the data file for ``model_id``, or None."""
    bare = model_id.split("/", 1)[1] if "/" in model_id else model_id
    bare = bare.lower()
    for entry in latency_data()["tokenizers"]:
        if any(fnmatch.fnmatchcase(bare, pattern.lower()) for pattern in entry["match"]):
            return entry
    return None


def offline_tokenizer(model_id: str) -> PromptTokenizer:
    """The offline tokenizer of ``model_id`` (tiktoken or DeepSeek's), or one with none and
    the reason. The embedded model's (``llama.cpp``) needs its running server: `evalkit.run`
    builds that one."""
    entry = tokenizer_entry(model_id)
    if entry is None:
        return PromptTokenizer("none", None, None, "no offline tokenizer known for this model")
    name, overhead = entry["tokenizer"], entry.get("template_tokens")
    try:
        if name in ("o200k_base", "cl100k_base"):
            return PromptTokenizer(name, _tiktoken(name), overhead)
        if name == "deepseek-v3":
            return PromptTokenizer(name, _deepseek(), overhead)
    except _Unavailable as missing:
        return PromptTokenizer(name, None, overhead, str(missing))
    return PromptTokenizer(name, None, overhead, f"{name} needs the model's running server")


class _Unavailable(Exception):
    """An offline tokenizer whose files are not installed."""


def _bundled_dir() -> Path:
    from importlib.util import find_spec

    spec = find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise _Unavailable("litellm is not installed, and with it the bundled tokenizer files")
    return Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"


_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


@functools.cache
def _tiktoken(name: str) -> Tokenizer:
    folder = _bundled_dir()
    # tiktoken names its cache file after the SHA-1 of the download URL: present, it never
    # goes to the network; absent, it would, so it is refused here instead
    cached = folder / hashlib.sha1(_TIKTOKEN_URL.format(name).encode()).hexdigest()
    if not cached.is_file():
        raise _Unavailable(f"{name}'s file is not among litellm's bundled tokenizers")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    import tiktoken

    encoding = tiktoken.get_encoding(name)
    return _Tiktoken(encoding)


@dataclass(frozen=True)
class _Tiktoken:
    encoding: Any

    def encode(self, text: str) -> list[int]:
        # the prompt is user text: special-token spellings in it stay ordinary text
        return list(self.encoding.encode(text, disallowed_special=()))

    def decode(self, ids: list[int]) -> str:
        return str(self.encoding.decode(ids))


@functools.lru_cache(maxsize=1)
def _deepseek() -> Tokenizer:
    path = _bundled_dir() / "deepseek_tokenizer.json"
    if not path.is_file():
        raise _Unavailable("deepseek_tokenizer.json is not among litellm's bundled tokenizers")
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
        raise _Unavailable("the tokenizers package is not installed") from None
    return _HuggingFace(HFTokenizer.from_file(str(path)))


@dataclass(frozen=True)
class _HuggingFace:
    tokenizer: Any

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=False))
