"""What a run will cost before any call: tokens and dollars per model, with a low–high range.

Prompt tokens are counted from the suites' real prompts (and the tool definitions an item
offers, which providers bill as prompt). Answer lengths are not known
before the call, so they are a range: from half a typical answer for the task to the
`max_tokens` limit; reasoning models (which think before answering) are expected to use
several times more. The same worst case, per call, is what a `--max-cost` budget reserves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evalkit import transport
from evalkit.config.models import ModelConfig
from evalkit.config.thinking import is_thinking
from evalkit.economics.pricing import ModelPrice
from evalkit.suites.base import Sample
from evalkit.suites.registry import typical_answer_tokens

DEFAULT_ANSWER_TOKENS = 150
"""Typical answer length for items of a suite that does not declare one (file suites)."""
REASONING_FACTOR = 4
"""Reasoning models spend several times a plain answer on thinking tokens."""
TEMPLATE_OVERHEAD_TOKENS = 20
"""Chat-template tokens around each message that a plain tokenizer count misses."""
TOKENIZER_MARGIN = 1.5
"""Another provider's tokenizer may count the same text (Chinese especially) this much higher."""


@dataclass(frozen=True)
class ModelEstimate:
    model: str
    calls: int
    prompt_tokens: int
    completion_low: int
    completion_expected: int
    completion_high: int
    cost_low: float | None
    cost_expected: float | None
    cost_high: float | None
    reasoning: bool
    note: str = ""


def prompt_tokens(model: ModelConfig, sample: Sample) -> int:
    """The item's prompt as billed: its messages, the tools it offers, the chat template."""
    overhead = TEMPLATE_OVERHEAD_TOKENS * len(sample.messages)
    return transport.count_tokens(model.id, sample.billed_prompt_text) + overhead


def typical_answer(sample: Sample) -> int:
    """A capable model's usual answer length for the item: its built-in suite's, else the default."""
    declared = typical_answer_tokens(sample.suite)
    return DEFAULT_ANSWER_TOKENS if declared is None else declared


def is_reasoning(model: ModelConfig) -> bool:
    if model.thinking is not None:  # the config says, whatever the price map thinks
        return is_thinking(model.thinking)
    entry = transport.price_map_entry(model.id) if not model.is_local else None
    return bool(entry and entry.get("supports_reasoning"))


def estimate_model(
    model: ModelConfig, price: ModelPrice, samples: list[Sample], max_tokens: int, timeout: float
) -> ModelEstimate:
    reasoning = is_reasoning(model)
    prompts = [prompt_tokens(model, s) for s in samples]
    prompt = sum(prompts)
    expected = sum(min(max_tokens, typical_answer(s) * (REASONING_FACTOR if reasoning else 1)) for s in samples)
    low = sum(min(max_tokens, typical_answer(s) // 2) for s in samples)
    high = max_tokens * len(samples)
    if price.hourly_cost is not None:
        # self-hosted: time, not tokens; the worst case is every call running to its timeout
        speed = 20.0  # tokens/second, a cautious single-stream speed for a small server
        cost = lambda tokens: price.hourly_cost * (tokens / speed) / 3600 / price.hourly_slots  # noqa: E731
        worst = price.hourly_cost * timeout * len(samples) / 3600 / price.hourly_slots
        return ModelEstimate(model.display, len(samples), prompt, low, expected, high,
                             cost(low), cost(expected), worst, reasoning, "self-hosted: machine time")
    answers = [typical_answer(s) for s in samples]

    def total(answer_tokens: Callable[[int], int]) -> float | None:
        # call by call: a prompt's length picks its price tier, which a sum of prompts would not
        costs = [price.cost(p, answer_tokens(a)) for p, a in zip(prompts, answers)]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    factor = REASONING_FACTOR if reasoning else 1
    return ModelEstimate(
        model.display, len(samples), prompt, low, expected, high,
        total(lambda a: min(max_tokens, a // 2)), total(lambda a: min(max_tokens, a * factor)),
        total(lambda a: max_tokens), reasoning, "" if price.known else "price unknown",
    )


def worst_case_cost(model: ModelConfig, price: ModelPrice, sample: Sample, max_tokens: int, timeout: float) -> float:
    """The most one call can cost: its whole prompt, `max_tokens` of answer, or its timeout."""
    if price.hourly_cost is not None:
        return price.hourly_cost * timeout / 3600 / price.hourly_slots
    prompt = int(prompt_tokens(model, sample) * TOKENIZER_MARGIN)
    # a thinking model may bill every output token at its reasoning rate
    costs = [price.cost(prompt, max_tokens), price.cost(prompt, max_tokens, reasoning_tokens=max_tokens)]
    return max(c for c in costs if c is not None) if all(c is not None for c in costs) else float("inf")
