"""`CallRecord`: one call to one model for one sample, as measured and as stored; `CallKey`,
what identifies it within a run; and the per-call decode metrics, output speed and
inter-token latency, defined once for every figure evalkit shows (records, analysis,
capacity sweeps, reports).

The record's annotations are the stored schema: `evalkit.store.schema` makes each field a
column of the type its annotation names (``str``, ``int``, ``float``, ``bool``, and
`LongText` for text of any length), so a new field is stored as what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any, NamedTuple

LAG_LIMIT_MS = 5.0
"""Client event-loop lag above which a record's TTFT and end-to-end times are flagged:
they are then mostly evalkit's own queueing, not the provider's latency."""

ESTIMATED_MARK = "≈"
"""Put before a cost (and a token-based projection) that rests on token counts evalkit
estimated because the provider reported no usage (``usage_source = "estimated"``)."""

LONG_TEXT = "long text"
LongText = Annotated[str, LONG_TEXT]
"""Text of any length (a reply, an error message): stored as TEXT, where a plain ``str``
field (an id, a label) is a VARCHAR(255)."""


class CallKey(NamedTuple):
    """What identifies one call within a run: one model's answer to one sample in one epoch.

    A run keeps one successful record per key: resume skips the keys already done, and the
    sent-call journal marks the keys in flight. A plain tuple of the same four values is
    equal to it.
    """

    model: str
    """Display label of the model (unique within a run)."""
    suite: str
    sample_id: str
    epoch: int


@dataclass
class CallRecord:
    """Everything evalkit knows about one (run, model, sample) outcome.

    Times are in seconds, money in US dollars. A field that could not be measured is
    ``None``, never 0: a missing price must not read as free, a failed call has no TTFT.
    """

    run_id: str
    model: str
    """Display label of the model (unique within a run)."""
    model_id: str
    """litellm model id the request was sent as, e.g. ``deepseek/deepseek-chat``."""
    suite: str
    sample_id: str
    request_hash: str
    """sha256 of model id, api base, messages and sampling parameters: what was asked."""
    cluster: str | None = None
    epoch: int = 0
    """Which repetition of the sample this is (0 unless items are asked several times)."""
    response_text: LongText | None = None
    extracted: LongText | None = None
    """What the scorer pulled out of the response (the number, the label, the JSON)."""
    score: float = 0.0
    """In [0, 1]; a failed call scores 0."""
    score_detail: LongText | None = None
    ttft_s: float | None = None
    """Request sent -> first streamed chunk carrying answer content (reasoning, in its own
    field or between ``<think>`` tags, does not count)."""
    reasoning_ttft_s: float | None = None
    """Request sent -> first chunk carrying reasoning, where the provider streams it."""
    e2e_s: float | None = None
    """Request sent -> last byte of the response."""
    output_speed_tps: float | None = None
    """(completion_tokens - 1) / (e2e - ttft), tokens/s, as `output_speed_tps()` below defines
    it; None for a one-token reply or one with no time between its first and last token."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    """Prompt tokens read from the provider's cache (part of ``prompt_tokens``)."""
    reasoning_tokens: int | None = None
    usage_source: str | None = None
    """``provider`` when the API reported usage, ``estimated`` when a tokenizer counted."""
    cost_usd: float | None = None
    """None when the model's price is unknown."""
    error_class: str | None = None
    """None on success; otherwise a short class such as ``rate_limit``, ``timeout``, ``auth``."""
    error_message: LongText | None = None
    attempts: int = 1
    finish_reason: str | None = None
    from_cache: bool = False
    """Replayed from the development response cache (`--cache`): timings are the first call's."""
    loop_lag_ms: float | None = None
    """Worst event-loop lag of evalkit's own client while the measured attempt was in flight
    (how late a 10 ms timer woke). Above `LAG_LIMIT_MS` the TTFT and
    end-to-end times are mostly the client's queueing, not the provider's latency. None
    when not measured (records written before schema 3, cached replays)."""
    started_at: float = 0.0
    """Unix time the first attempt was sent."""
    finished_at: float = 0.0
    judge_model: str | None = None
    """LLM-as-judge items: the litellm id of the judge model; None for other scorers."""
    judge_rubric: LongText | None = None
    judge_verdict: LongText | None = None
    """The judge's raw reply (pairwise: a JSON list of the replies for both orders)."""
    judge_prompt_tokens: int | None = None
    """The judge's own tokens and cost: never part of the tested model's tokens or cost."""
    judge_completion_tokens: int | None = None
    judge_cost_usd: float | None = None
    """None when the judge's price is unknown."""
    # Schema 7 (fields added after a release go last: a migrated store adds them last)
    reasoning_text: LongText | None = None
    """the reasoning the model wrote before its answer (``reasoning_content`` /
    ``reasoning`` deltas, or the text between ``<think>`` and ``</think>``); never scored."""
    first_token_s: float | None = None
    """request sent -> first chunk carrying any token, reasoning included; equal
    to ``ttft_s`` for a reply without reasoning."""
    thinking_s: float | None = None
    """first reasoning token -> first answer token (-> end of the response when
    no answer came); None for a reply without reasoning."""
    reasoning_tokens_source: str | None = None
    """``provider`` when ``reasoning_tokens`` is the provider's
    (``completion_tokens_details.reasoning_tokens``), ``estimated`` when a tokenizer counted
    the reasoning text; None when there was no reasoning."""
    cache_write_tokens: int | None = None
    """Prompt tokens written to the provider's cache (Anthropic's cache creation; part of
    ``prompt_tokens``); None where the provider reports none."""
    # Schema 8
    tool_calls: LongText | None = None
    """The function calls the reply made, as JSON: ``[{"id", "name", "arguments"}]`` with
    the arguments as the model wrote them (a JSON text, malformed or not); None when the
    reply called none. A multi-turn task keeps every call of every turn, each with its
    ``turn`` and the ``result`` evalkit sent back."""
    # Schema 9
    turns: int | None = None
    """Model turns of a multi-turn task (each tool round is one, the answer the last);
    None for a single call. The task's clocks, tokens and cost are sums over its turns."""
    turn_log: LongText | None = None
    """A multi-turn task's turns as JSON, one object each (clocks, tokens, cost, calls,
    finish reason, error); None for a single call."""

    @property
    def key(self) -> CallKey:
        """The call this record answers."""
        return CallKey(self.model, self.suite, self.sample_id, self.epoch)

    @property
    def itl_s(self) -> float | None:
        """`inter_token_latency_s` of this call; derived, not stored (the stored times and
        tokens give it back for any record, old or new)."""
        return inter_token_latency_s(self.completion_tokens, decode_start_s(self.first_token_s, self.ttft_s),
                                     self.e2e_s, self.turns)

    @property
    def truncated(self) -> bool:
        """Stopped by max_tokens (``finish_reason: length``): the answer may be cut short."""
        return self.finish_reason == "length"

    def to_dict(self) -> dict[str, Any]:
        # Shallow: every field is a scalar, and asdict's deep copy was most of the cost of
        # storing a record (the writer thread holds the GIL the event loop needs meanwhile).
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


_FIELD_NAMES = CallRecord.field_names()


def decode_start_s(first_token_s: Any, ttft_s: Any) -> Any:
    """When a call's completion tokens began: its first token of any kind. Completion tokens
    count reasoning too, so a thinking reply's decoding starts with its first reasoning
    token, not its first answer token; records without ``first_token_s`` (before schema 7,
    or NaN in a frame) use their TTFT, which was the same for them."""
    if first_token_s is None or first_token_s != first_token_s:  # None or NaN
        return ttft_s
    return first_token_s


def _decode(completion_tokens: Any, ttft_s: Any, e2e_s: Any, turns: Any = None) -> tuple[float, float] | None:
    """(gaps between tokens, seconds from first to last token), or None when there is
    nothing to time: the first token arrives inside TTFT, so a reply of n tokens has n - 1
    gaps after it; one token (a label, a number) has none, and a reply whose first and
    last token came at the same instant has no time to divide by.

    A multi-turn task's times are sums over its turns, and each of its `turns` replies
    has its first token inside its own TTFT: n tokens over t turns have n - t gaps."""
    if completion_tokens is None or ttft_s is None or e2e_s is None:
        return None
    replies = 1 if turns is None or turns != turns or turns < 1 else turns  # None/NaN: one call
    gaps, seconds = completion_tokens - replies, e2e_s - ttft_s
    # NaN, pandas' missing value, fails both comparisons: no figure, as for None
    return (gaps, seconds) if gaps >= 1 and seconds > 0 else None


def output_speed_tps(completion_tokens: Any, ttft_s: Any, e2e_s: Any, turns: Any = None) -> float | None:
    """Output speed of one call, tokens per second: (completion tokens - 1) / (e2e - TTFT),
    where for a thinking reply the TTFT passed is its `decode_start_s` (first token of any kind).
    For a multi-turn task of `turns` turns: (completion tokens - turns) / (e2e - TTFT), all
    sums over its turns, i.e. its tokens after each turn's first over its decoding time.

    None (shown as *n/a*) for a one-token reply or one with no time between its first and
    last token: never a huge number, never infinity.
    """
    decode = _decode(completion_tokens, ttft_s, e2e_s, turns)
    return None if decode is None else decode[0] / decode[1]


def inter_token_latency_s(completion_tokens: Any, ttft_s: Any, e2e_s: Any, turns: Any = None) -> float | None:
    """Inter-token latency (ITL) of one call, seconds: (e2e - TTFT) / (completion tokens - 1),
    the mean gap between its tokens (what vLLM calls TPOT); None by the same rule as
    `output_speed_tps`, of which it is the reciprocal."""
    decode = _decode(completion_tokens, ttft_s, e2e_s, turns)
    return None if decode is None else decode[1] / decode[0]
