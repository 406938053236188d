"""What judging a run's answers costs: the judge's calls, tokens and dollars, expected and at worst.

An item the `judge` scorer grades costs one judge call in score mode and two in pairwise
mode (the answer as A, then as B). Each call's prompt is the judge's own template filled
with the item's question, its reference and the tested model's answer, counted with the
judge's tokenizer; the answer's length is the one the estimate assumes for the tested
model (`evalkit.run.estimate`). The judge replies with a short verdict: about
`VERDICT_TOKENS`, at most its ``max_tokens`` (``params.max_tokens`` of the scorer options;
a replay suite's judge always has one). The judge's cost is kept apart from the tested
models', as the records' ``judge_*`` fields keep it; a budget reserves both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalkit import transport
from evalkit.economics.pricing import ModelPrice
from evalkit.run.estimate import worst_call_cost
from evalkit.scoring.judge import JudgeSpec
from evalkit.suites.base import Sample

VERDICT_TOKENS = 100
"""A judge's usual verdict ("explain briefly, then Winner: A"): the middle of the estimate."""
TEMPLATE_OVERHEAD_TOKENS = 20
"""Chat-template tokens around the judge's one message (as for every estimated prompt)."""
TOKENIZER_MARGIN = 1.5
"""The judge's tokenizer may count the answer it reads this much higher than the tested model's did."""


def judge_of(sample: Sample) -> JudgeSpec | None:
    """The judge that grades ``sample``; None for an item another scorer checks."""
    return JudgeSpec.from_options(sample.scorer_options) if sample.scorer == "judge" else None


def judge_prompt_tokens(spec: JudgeSpec, sample: Sample, answer_tokens: int) -> list[int]:
    """Prompt tokens of each judge call about an answer of ``answer_tokens`` to ``sample``."""
    return [transport.count_tokens(spec.model, prompt) + TEMPLATE_OVERHEAD_TOKENS + answer_tokens
            for prompt in spec.prompts(sample.prompt_text, "", sample.reference)]


def judge_max_tokens(spec: JudgeSpec) -> int | None:
    value = spec.params.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def judge_worst_case(spec: JudgeSpec, price: ModelPrice, sample: Sample, answer_max_tokens: int,
                     timeout: float) -> float:
    """The most judging one answer can cost: every call with the longest answer the tested
    model may give and the longest verdict; inf when the judge has no ``max_tokens``."""
    answer = math.ceil(answer_max_tokens * TOKENIZER_MARGIN)
    prompts = judge_prompt_tokens(spec, sample, answer)
    return sum(worst_call_cost(price, math.ceil(p * TOKENIZER_MARGIN), judge_max_tokens(spec), timeout)
               for p in prompts)


@dataclass(frozen=True)
class JudgeEstimate:
    """A judge's share of a run's estimate, over every tested model's answers."""

    judge: str
    calls: int
    mode: str
    prompt_tokens: int
    completion_low: int
    completion_expected: int
    completion_high: int | None
    """None when the judge has no ``max_tokens``: its verdicts are unbounded."""
    cost_low: float | None
    cost_expected: float | None
    cost_high: float | None
    """None where the judge's price is unknown, or (high) its verdicts are unbounded."""


def estimate_judges(answers: list[dict[str, list[int]]], samples: list[Sample]) -> list[JudgeEstimate]:
    """The judges' estimates; ``answers`` holds, per tested model, the answer length it is
    assumed to give to each sample (in `samples`' order) in each scenario (low, expected, high)."""
    by_judge: dict[str, list[tuple[JudgeSpec, int]]] = {}
    for position, sample in enumerate(samples):
        spec = judge_of(sample)
        if spec is not None:
            by_judge.setdefault(spec.model, []).append((spec, position))
    return [_estimate(judged, answers, samples) for judged in by_judge.values()]


def _estimate(judged: list[tuple[JudgeSpec, int]], answers: list[dict[str, list[int]]],
              samples: list[Sample]) -> JudgeEstimate:
    spec = judged[0][0]
    price = spec.model_price()
    verdicts = {"low": VERDICT_TOKENS // 2, "expected": VERDICT_TOKENS, "high": judge_max_tokens(spec)}
    calls: dict[str, list[tuple[int, int | None]]] = {scenario: [] for scenario in verdicts}
    for lengths in answers:
        for item_spec, position in judged:
            for scenario, verdict in verdicts.items():
                prompts = judge_prompt_tokens(item_spec, samples[position], lengths[scenario][position])
                calls[scenario] += [(p, verdict) for p in prompts]

    def total(scenario: str) -> float | None:
        costs = [None if verdict is None else price.cost(p, verdict) for p, verdict in calls[scenario]]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    high = verdicts["high"]
    return JudgeEstimate(
        judge=spec.model, calls=len(calls["expected"]), mode=spec.mode,
        prompt_tokens=sum(p for p, _ in calls["expected"]),
        completion_low=sum(v or 0 for _, v in calls["low"]),
        completion_expected=sum(v or 0 for _, v in calls["expected"]),
        completion_high=None if high is None else high * len(calls["high"]),
        cost_low=total("low"), cost_expected=total("expected"), cost_high=total("high"),
    )
