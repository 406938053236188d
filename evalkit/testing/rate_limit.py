"""An account's rate limit as a provider enforces and reports it, for the scripted server.

`TokenBucket` admits or refuses each request the way OpenAI's limits work: a bucket of
requests (and optionally of tokens) per window, full at the start, refilled continuously
at ``capacity / window_s``; a request that finds the bucket short gets HTTP 429. Every
answer, admitted or refused, carries OpenAI's headers
(platform.openai.com/docs/guides/rate-limits, "Rate limits in headers", as of 2025-05):
``x-ratelimit-limit-requests``/``-tokens`` (the capacity), ``x-ratelimit-remaining-*``
(what is left after this request), ``x-ratelimit-reset-*`` (time until the bucket is full
again, as a Go-style duration such as ``1.5s`` or ``120ms``); a 429 adds ``retry-after``
(whole seconds, rounded up) and ``retry-after-ms``, which the openai SDK reads first.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """Requests (and tokens) per ``window_s``; thread-safe, one per server."""

    requests: int
    """Requests per window, and the burst a full bucket allows."""
    window_s: float = 60.0
    tokens: int | None = None
    """Tokens per window (prompt plus completion, charged on admission); None: no token limit."""
    admitted: int = 0
    refused: int = 0
    first_at: float | None = None
    """When the first request arrived (``time.monotonic``), for the rate a test measures."""
    last_admitted_at: float | None = None
    _levels: dict[str, float] = field(default_factory=dict, repr=False)
    _at: float = field(default_factory=time.monotonic, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._levels = {name: float(cap) for name, cap in self._capacities().items()}

    def _capacities(self) -> dict[str, int]:
        return {"requests": self.requests, **({"tokens": self.tokens} if self.tokens is not None else {})}

    def admit(self, tokens: int = 0) -> tuple[bool, dict[str, str]]:
        """Take one request costing ``tokens``; whether it was admitted, and the headers to send."""
        cost = {"requests": 1.0, "tokens": float(tokens)}
        with self._lock:
            now = time.monotonic()
            if self.first_at is None:
                self.first_at = now
            self._refill(now)
            capacities = self._capacities()
            short = {name: cost[name] - self._levels[name] for name in capacities if self._levels[name] < cost[name]}
            if not short:
                for name in capacities:
                    self._levels[name] -= cost[name]
                self.admitted += 1
                self.last_admitted_at = now
            else:
                self.refused += 1
            headers = self._headers(capacities)
            if short:
                wait = max(need * self.window_s / capacities[name] for name, need in short.items())
                headers["retry-after"] = str(max(1, math.ceil(wait)))
                headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
        return not short, headers

    def _refill(self, now: float) -> None:
        elapsed, self._at = now - self._at, now
        for name, capacity in self._capacities().items():
            self._levels[name] = min(float(capacity), self._levels[name] + elapsed * capacity / self.window_s)

    def _headers(self, capacities: dict[str, int]) -> dict[str, str]:
        headers = {}
        for name, capacity in capacities.items():
            level = self._levels[name]
            headers[f"x-ratelimit-limit-{name}"] = str(capacity)
            headers[f"x-ratelimit-remaining-{name}"] = str(max(0, math.floor(level)))
            headers[f"x-ratelimit-reset-{name}"] = duration((capacity - level) * self.window_s / capacity)
        return headers

    def limit_per_s(self) -> float:
        """The requests per second the bucket sustains once its burst is spent."""
        return self.requests / self.window_s

    def share_of_limit(self) -> float:
        """Requests admitted as a share of all the limit allowed from the first request to
        the last admitted one: the full bucket plus its refill over that time."""
        if self.first_at is None or self.last_admitted_at is None:
            return 0.0
        allowed = self.requests + self.limit_per_s() * (self.last_admitted_at - self.first_at)
        return self.admitted / allowed


def duration(seconds: float) -> str:
    """A duration as OpenAI writes it in reset headers: ``120ms`` under a second, else ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text
