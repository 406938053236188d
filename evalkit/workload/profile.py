"""`WorkloadProfile`: what a sample of production traffic looks like, as stored.

Per request of the sample, the prompt and completion tokens (and the cached prompt
tokens, where the log reported them) are kept whole rather than as a histogram: a
projection draws from them, and its interval comes from their number. A profile is
stored as JSON (`to_dict` / `from_dict`) in the store's ``workloads`` table; the text
sample, when kept, is stored beside it, never inside it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

HOURS_PER_DAY = 24


@dataclass(frozen=True)
class WorkloadProfile:
    name: str
    source: str
    """The file the profile was read from, as given."""
    format: str
    """``openai-jsonl``, ``litellm``, ``openrouter`` or ``csv``."""
    prompt_tokens: list[int]
    """Per request of the sample, in log order."""
    completion_tokens: list[int]
    cached_tokens: list[int] | None = None
    """Cached prompt tokens per request, where the log reported them; else None."""
    token_source: str = "logged usage"
    """Where the counts come from: ``logged usage`` or ``estimated: <how>``."""
    cache_hit_estimate: float | None = None
    """Share of prompt tokens that repeat a prefix seen earlier in the sample (a cache-hit
    estimate); from logged cached tokens when present, else from the text, else None."""
    requests_per_hour: list[float] = field(default_factory=lambda: [0.0] * HOURS_PER_DAY)
    """Share of requests in each UTC hour of day (sums to 1 when timestamps were logged)."""
    first_at: float | None = None
    last_at: float | None = None
    """Unix times of the first and last request of the sample, where logged."""
    requests_per_month: float | None = None
    """The sample's request rate over its time span, per 30-day month; None without timestamps."""
    languages: dict[str, float] = field(default_factory=dict)
    """Share of requests per prompt language (``en``, ``zh``, ...), where text was logged."""
    logged_models: dict[str, int] = field(default_factory=dict)
    """Requests per model named in the log: the incumbent the traffic was served by."""
    redacted: bool = False
    """Whether personal data was removed from the kept text before it was stored."""
    has_text: bool = False
    """Whether the text sample was kept (stored beside the profile)."""
    requests_logged: int | None = None
    """Requests the log held (every counted line, not only the sample); the rate and the
    hours are over all of them, the per-request lists over the sample."""
    cache_hit_source: str | None = None
    """What `cache_hit_estimate` comes from: ``logged cached tokens`` or ``repeated message
    prefixes`` (counted in tiktoken ``o200k_base`` tokens); None when there is no estimate."""

    @property
    def requests(self) -> int:
        return len(self.prompt_tokens)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkloadProfile:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
