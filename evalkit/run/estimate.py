"""What a run will cost before any call: tokens and dollars per model, with a low–high range.

Prompt tokens are counted from the suites' real prompts (and the tool definitions an item
offers, which providers bill as prompt). Answer lengths are not known
before the call, so they are a range: from half a typical answer for the task to the
`max_tokens` limit; reasoning models (which think before answering) are expected to use
several times more. A multi-turn task is several calls: at least two, its intended tool
rounds + 1 as expected, its turn limit at worst, each later prompt carrying the earlier
answers and tool results. The same worst case, per item, is what a `--max-cost` budget
reserves.
"""

from __future__ import annotations

import json
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
    """A capable model's usual answer length for the item: for a replayed request the
    length of the answer logged for it, else its built-in suite's, else the default."""
    logged = sample.metadata.get("incumbent_completion_tokens")
    if isinstance(logged, int) and not isinstance(logged, bool) and logged > 0:
        return logged
    declared = typical_answer_tokens(sample.suite)
    return DEFAULT_ANSWER_TOKENS if declared is None else declared


def is_reasoning(model: ModelConfig) -> bool:
    if model.thinking is not None:  # the config says, whatever the price map thinks
        return is_thinking(model.thinking)
    entry = transport.price_map_entry(model.id) if not model.is_local else None
    return bool(entry and entry.get("supports_reasoning"))


ExpectedCall = tuple[int, int]
"""(prompt tokens, answer tokens) of one call an item is expected to make."""


def task_turns(sample: Sample, scenario: str) -> int:
    """Calls an item makes: one, or for a multi-turn task 2 at least (one tool round and
    the answer), its intended tool rounds + 1 as expected, its turn limit at worst."""
    environment = sample.environment
    if environment is None:
        return 1
    steps = sample.metadata.get("steps")
    rounds = steps if isinstance(steps, int) else 1
    wanted = {"low": 2, "expected": rounds + 1, "high": environment.max_turns}[scenario]
    return max(1, min(environment.max_turns, wanted))


def result_allowance(model: ModelConfig, sample: Sample) -> int:
    """Tokens one tool round's results may add to the next prompt: a toolkit answers from
    the item's own data, so at most about all of it (and a message's template)."""
    if sample.environment is None:
        return 0
    data = json.dumps(sample.environment.data, ensure_ascii=False, sort_keys=True)
    return transport.count_tokens(model.id, data) + TEMPLATE_OVERHEAD_TOKENS


def item_calls(model: ModelConfig, sample: Sample, answer: int, scenario: str,
               prompt: int | None = None) -> list[ExpectedCall]:
    """The calls of one item with answers of `answer` tokens: a multi-turn task's later
    prompts carry every earlier turn's answer and tool results."""
    first = prompt_tokens(model, sample) if prompt is None else prompt
    growth = answer + result_allowance(model, sample)
    return [(first + turn * growth, answer) for turn in range(task_turns(sample, scenario))]


def answer_lengths(model: ModelConfig, samples: list[Sample], max_tokens: int) -> dict[str, list[int]]:
    """The answer tokens ``model`` is assumed to give each sample, per scenario (low,
    expected, high): half a typical answer, a typical one (several for a reasoning model),
    ``max_tokens``."""
    factor = REASONING_FACTOR if is_reasoning(model) else 1
    limits = [answer_limit(s, max_tokens) for s in samples]  # an item's own max_tokens wins
    return {"low": [min(limit, typical_answer(s) // 2) for s, limit in zip(samples, limits)],
            "expected": [min(limit, typical_answer(s) * factor) for s, limit in zip(samples, limits)],
            "high": limits}


def estimate_model(
    model: ModelConfig, price: ModelPrice, samples: list[Sample], max_tokens: int, timeout: float
) -> ModelEstimate:
    reasoning = is_reasoning(model)
    firsts = [prompt_tokens(model, s) for s in samples]
    answers = answer_lengths(model, samples, max_tokens)
    calls = {scenario: [item_calls(model, s, answer, scenario, first)
                        for s, answer, first in zip(samples, lengths, firsts)]
             for scenario, lengths in answers.items()}
    expected = [call for item in calls["expected"] for call in item]
    prompt = sum(p for p, _ in expected)
    completions = {scenario: sum(a for item in items for _, a in item) for scenario, items in calls.items()}
    if price.hourly_cost is not None:
        # self-hosted: time, not tokens; the worst case is every call running to its timeout
        speed = 20.0  # tokens/second, a cautious single-stream speed for a small server
        cost = lambda tokens: price.hourly_cost * (tokens / speed) / 3600 / price.hourly_slots  # noqa: E731
        worst_calls = sum(len(item) for item in calls["high"])
        worst = price.hourly_cost * timeout * worst_calls / 3600 / price.hourly_slots
        return ModelEstimate(model.display, len(expected), prompt, completions["low"], completions["expected"],
                             completions["high"], cost(completions["low"]), cost(completions["expected"]), worst,
                             reasoning, "self-hosted: machine time")

    def total(scenario: str) -> float | None:
        # call by call: a prompt's length picks its price tier, which a sum of prompts would not
        costs = [price.cost(p, a) for item in calls[scenario] for p, a in item]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    multi = sum(1 for s in samples if s.environment is not None)
    notes = ["" if price.known else "price unknown",
             f"{multi:,} multi-turn task(s): up to {max(task_turns(s, 'high') for s in samples if s.environment)} "
             "calls each" if multi else ""]
    return ModelEstimate(
        model.display, len(expected), prompt, completions["low"], completions["expected"], completions["high"],
        total("low"), total("expected"), total("high"), reasoning, ", ".join(filter(None, notes)),
    )


def worst_case_cost(model: ModelConfig, price: ModelPrice, sample: Sample, max_tokens: int, timeout: float) -> float:
    """The most one item can cost: for each of its calls (one, or a task's turn limit) the
    whole prompt so far, `max_tokens` of answer, or its timeout."""
    turns = task_turns(sample, "high")
    if price.hourly_cost is not None:
        return price.hourly_cost * timeout * turns / 3600 / price.hourly_slots
    first = int(prompt_tokens(model, sample) * TOKENIZER_MARGIN)
    max_tokens = answer_limit(sample, max_tokens)
    growth = int((max_tokens + result_allowance(model, sample)) * TOKENIZER_MARGIN)
    return sum(worst_call_cost(price, first + turn * growth, max_tokens, timeout) for turn in range(turns))


def answer_limit(sample: Sample, max_tokens: int) -> int:
    """The answer tokens an item may get: its own ``max_tokens`` where it sends one (a
    latency tier's answer size, an lm-eval task's), which wins over the run's."""
    own = sample.params.get("max_tokens")
    return int(own) if isinstance(own, int) and own > 0 else max_tokens


def worst_call_cost(price: ModelPrice, prompt_tokens: int, max_tokens: int | None, timeout: float) -> float:
    """The most one call of `prompt_tokens` can cost: `max_tokens` of answer, every one of
    them at the reasoning rate where that is dearer, or its timeout on a self-hosted machine."""
    if price.hourly_cost is not None:
        return price.hourly_cost * timeout / 3600 / price.hourly_slots
    if max_tokens is None:
        return float("inf")
    costs = [price.cost(prompt_tokens, max_tokens), price.cost(prompt_tokens, max_tokens, reasoning_tokens=max_tokens)]
    if any(c is None for c in costs):
        return float("inf")
    return max(c for c in costs if c is not None)
