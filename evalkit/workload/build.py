"""Building a `WorkloadProfile` (and the text sample) from a stream of `LogEntry`s.

What each figure is:

- The **sample**: every request when the log holds at most `SAMPLE_LIMIT`; else a uniform
  random sample of that many (reservoir sampling, seeded, so an import is repeatable),
  kept in log order. The per-request token lists, languages, the cache-hit estimate and
  the kept text are over the sample; rate, hours and models over every request.
- **Tokens** per request: the logged usage; a line without usage but with text is counted
  offline (`evalkit.workload.tokens`), and ``token_source`` says how many were.
- **Cache-hit estimate**: with logged cached tokens, sum of cached tokens / sum of prompt
  tokens over the sampled requests that report them (``logged cached tokens``). Otherwise,
  from the text (``repeated message prefixes``): a request's repeated part is its longest
  run of leading messages (role and content, in order) equal to the leading messages of
  some earlier request of the sample; the estimate is the sum of the repeated messages'
  tokens over the sum of the prompts' tokens, both counted with ``o200k_base`` over the
  sampled requests with text. A message that repeats only in part counts nothing, so for
  prompts that put shared context and the question in one message this is a lower bound
  of what a token-prefix cache could hit.
- **Requests per hour**: share of requests in each UTC hour of day (0-23).
- **Requests per month**: (requests with a time - 1) / (last time - first time), times
  30 days; none with fewer than two distinct times.
- **Languages**: share of sampled requests with text per `evalkit.workload.language` label.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from evalkit.workload import redact as pii
from evalkit.workload import tokens
from evalkit.workload.entry import LogEntry
from evalkit.workload.language import request_language
from evalkit.workload.profile import HOURS_PER_DAY, WorkloadProfile

SAMPLE_LIMIT = 20_000
SAMPLE_SEED = 0
MONTH_SECONDS = 30 * 86400
_MEMO_LIMIT = 100_000


@dataclass(frozen=True)
class Sampled:
    """One request of the sample, reduced to what the profile needs."""

    index: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None
    estimated: bool
    language: str | None
    prefix_keys: tuple[bytes, ...]
    """Digest of each run of leading messages (the first, the first two, ...)."""
    message_tokens: tuple[int, ...]
    """o200k tokens of each message (`tokens.count_message`)."""
    text_prompt_tokens: int | None
    """o200k tokens of the whole prompt, where there is text."""
    text: dict | None
    """The stored sample record, when text is kept."""


class ProfileBuilder:
    """Feed it every entry of a log in order (`add`), then `finish`."""

    def __init__(self, *, keep_text: bool = False, redact: bool = False, limit: int = SAMPLE_LIMIT) -> None:
        self.keep_text, self.redact, self.limit = keep_text, redact, limit
        self.rng = random.Random(SAMPLE_SEED)
        self.sample: list[Sampled] = []
        self.requests = 0
        self.skipped = 0
        self.hours = [0] * HOURS_PER_DAY
        self.timed = 0
        self.first_untimed_line: int | None = None
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.models: Counter[str] = Counter()
        self.redactions: Counter[str] = Counter()
        self._message_tokens: dict[bytes, int] = {}

    def add(self, line: int, entry: LogEntry) -> None:
        if entry.skip is not None:
            self.skipped += 1
            return
        index = self.requests
        self.requests += 1
        self._count(line, entry)
        if index < self.limit:
            self.sample.append(self._sampled(index, entry))
        else:
            slot = self.rng.randrange(index + 1)  # Algorithm R: each request stays with chance limit/n
            if slot < self.limit:
                self.sample[slot] = self._sampled(index, entry)

    def _count(self, line: int, entry: LogEntry) -> None:
        if entry.model:
            self.models[entry.model] += 1
        if entry.timestamp is None:
            self.first_untimed_line = self.first_untimed_line or line
            return
        self.timed += 1
        self.hours[datetime.fromtimestamp(entry.timestamp, timezone.utc).hour] += 1
        self.first_at = entry.timestamp if self.first_at is None else min(self.first_at, entry.timestamp)
        self.last_at = entry.timestamp if self.last_at is None else max(self.last_at, entry.timestamp)

    def _tokens_of(self, key: bytes, message: dict) -> int:
        if key not in self._message_tokens:
            if len(self._message_tokens) > _MEMO_LIMIT:
                self._message_tokens.clear()
            self._message_tokens[key] = tokens.count_message(message)
        return self._message_tokens[key]

    def _sampled(self, index: int, entry: LogEntry) -> Sampled:
        messages = entry.messages or []
        digests = [hashlib.blake2b(json.dumps([m.get("role"), m.get("content")], ensure_ascii=False,
                                              sort_keys=True).encode(), digest_size=16).digest() for m in messages]
        keys, chain = [], b""
        for digest in digests:
            chain = hashlib.blake2b(chain + digest, digest_size=16).digest()
            keys.append(chain)
        message_tokens = tuple(self._tokens_of(d, m) for d, m in zip(digests, messages, strict=True))
        text_prompt = sum(message_tokens) + tokens.REPLY_PRIMING_TOKENS if messages else None
        estimated = entry.prompt_tokens is None
        prompt = text_prompt if estimated else entry.prompt_tokens
        completion = entry.completion_tokens if not estimated else tokens.count_text(entry.response or "")
        assert prompt is not None and completion is not None  # `entry.checked` let no other line through
        language = request_language(messages) if messages else None
        return Sampled(index=index, prompt_tokens=prompt, completion_tokens=completion,
                       cached_tokens=entry.cached_tokens, estimated=estimated, language=language,
                       prefix_keys=tuple(keys), message_tokens=message_tokens, text_prompt_tokens=text_prompt,
                       text=self._text(entry, prompt, completion, language) if self.keep_text and messages else None)

    def _text(self, entry: LogEntry, prompt: int, completion: int, language: str | None) -> dict:
        messages, response = entry.messages or [], entry.response or ""
        if self.redact:
            messages, response = pii.redact_messages(messages, self.redactions), pii.redact(response, self.redactions)
        return {"messages": messages, "response": response, "model": entry.model, "prompt_tokens": prompt,
                "completion_tokens": completion, "language": language}

    def finish(self, name: str, source: str, fmt: str) -> tuple[WorkloadProfile, list[dict] | None]:
        sample = sorted(self.sample, key=lambda s: s.index)
        cached = [s.cached_tokens for s in sample]
        estimate, estimate_source = cache_hit(sample)
        texts = [s.text for s in sample if s.text is not None]
        languages = Counter(s.language for s in sample if s.language is not None)
        profile = WorkloadProfile(
            name=name, source=source, format=fmt,
            prompt_tokens=[s.prompt_tokens for s in sample], completion_tokens=[s.completion_tokens for s in sample],
            cached_tokens=None if None in cached else [c for c in cached if c is not None],
            token_source=token_source(sample), cache_hit_estimate=estimate, cache_hit_source=estimate_source,
            requests_per_hour=[count / self.timed if self.timed else 0.0 for count in self.hours],
            first_at=self.first_at, last_at=self.last_at, requests_per_month=self._per_month(),
            languages={lang: count / sum(languages.values()) for lang, count in languages.most_common()},
            logged_models=dict(self.models.most_common()), redacted=self.redact and bool(texts),
            has_text=bool(texts), requests_logged=self.requests)
        return profile, texts or None

    def _per_month(self) -> float | None:
        if self.first_at is None or self.last_at is None or self.last_at <= self.first_at:
            return None
        return (self.timed - 1) / (self.last_at - self.first_at) * MONTH_SECONDS


def token_source(sample: list[Sampled]) -> str:
    estimated = sum(s.estimated for s in sample)
    if not estimated:
        return "logged usage"
    if estimated == len(sample):
        return tokens.ESTIMATED
    return f"logged usage; {estimated} of {len(sample)} requests {tokens.ESTIMATED}"


def cache_hit(sample: list[Sampled]) -> tuple[float | None, str | None]:
    """The cache-hit estimate and what it comes from (see the module docstring)."""
    reported = [s for s in sample if s.cached_tokens is not None]
    prompt = sum(s.prompt_tokens for s in reported)
    if reported and prompt:
        return sum(s.cached_tokens or 0 for s in reported) / prompt, "logged cached tokens"
    seen: set[bytes] = set()
    repeated = total = 0
    for s in sample:
        if s.text_prompt_tokens is None:
            continue
        matched = 0
        while matched < len(s.prefix_keys) and s.prefix_keys[matched] in seen:
            matched += 1
        repeated += sum(s.message_tokens[:matched])
        total += s.text_prompt_tokens
        seen.update(s.prefix_keys)
    return (repeated / total, "repeated message prefixes") if total else (None, None)
