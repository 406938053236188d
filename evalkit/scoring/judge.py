"""LLM-as-judge: a litellm model grades a reply against a rubric and/or a reference.

Most scorers are pure and synchronous; a judge needs an HTTP call. It is therefore an
*async scorer* (`evalkit.scoring.registry.AsyncScorer`): the runner awaits its `grade`
right after the call under test succeeds, before the record is handed to the store, so a judged record is written
once, complete, and resume needs no second pass. The judge's own tokens and cost land in
the record's ``judge_*`` fields, never in the tested model's tokens or cost.

Two modes (scorer option ``mode``):

- ``score`` (default): the judge returns ``Score: N`` on a 1..``scale`` scale (or
  ``pass``/``fail`` with ``scale: 2``); the item scores ``(N - 1) / (scale - 1)``.
- ``pairwise``: the reference is a baseline answer; the judge picks the better of the two
  twice, with the positions swapped, so a judge that prefers "whatever comes first" cannot
  decide the result: a win in both orders is 1, a loss in both 0, anything else 0.5.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import UsageError
from evalkit.scoring.registry import (
    AsyncScorer,
    JudgeError,
    Judgement,
    OptionSpec,
    Score,
    ScorerEntry,
    is_number,
    is_text,
    register,
)

if TYPE_CHECKING:
    from evalkit.economics.pricing import ModelPrice

DEFAULT_SCALE = 5

SCORE_TEMPLATE = """You are grading an answer. Be strict and consistent.

{rubric_block}[Question]
{question}

{reference_block}[Answer to grade]
{response}

Explain briefly, then end with a line "Score: N" where N is an integer from 1 (worst) to {scale} (best)."""

PAIRWISE_TEMPLATE = """You are comparing two answers to the same question.

{rubric_block}[Question]
{question}

[Answer A]
{first}

[Answer B]
{second}

Explain briefly, then end with a line "Winner: A", "Winner: B" or "Winner: tie"."""

_SCORE_LINE = re.compile(r"(?:score|评分|分数|得分)\s*[:：=]?\s*\**\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_WINNER_LINE = re.compile(r"(?:winner|胜者|更好)\s*[:：=]?\s*\**\s*(A|B|tie|平局)\b", re.IGNORECASE)


@dataclass(frozen=True)
class JudgeSpec:
    """The judge as a sample's scorer options describe it."""

    model: str
    """litellm model id of the judge, e.g. ``openai/gpt-4o-mini``."""
    rubric: str = ""
    mode: str = "score"
    scale: int = DEFAULT_SCALE
    api_base: str | None = None
    api_key_env: str | None = None
    """Environment variable holding the judge's key (the key is never stored)."""
    price: dict[str, float] | None = None
    """USD per million tokens, ``{input, output}``; default: litellm's price map."""
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> JudgeSpec:
        return cls(
            model=options["judge_model"],
            rubric=options.get("rubric", ""),
            mode=options.get("mode", "score"),
            scale=int(options.get("scale", DEFAULT_SCALE)),
            api_base=options.get("api_base"),
            api_key_env=options.get("api_key_env"),
            price=options.get("price"),
            params=dict(options.get("params", {"temperature": 0})),
        )

    async def grade(self, question: str, response: str, reference: Any, timeout: float) -> Judgement:
        return await judge_reply(self, question, response, reference, timeout)

    @property
    def calls_per_item(self) -> int:
        """Judge calls one reply costs: one in score mode, two in pairwise mode (both orders)."""
        return 2 if self.mode == "pairwise" else 1

    def prompts(self, question: str, response: str, reference: Any) -> list[str]:
        """The prompts the judge is sent about one reply, in the order they are sent."""
        if self.mode == "pairwise":
            return [pairwise_prompt(self, question, response, str(reference)),
                    pairwise_prompt(self, question, str(reference), response)]
        return [score_prompt(self, question, response, reference)]

    def model_price(self) -> ModelPrice:
        """The judge's price: its ``price`` option, else the price files (as for any model)."""
        from evalkit.config.models import ModelConfig, Price
        from evalkit.economics.pricing import resolve_price

        price = Price(**self.price) if self.price else None
        return resolve_price(ModelConfig(id=self.model, price=price))

    def api_key(self) -> str | None:
        """The judge's key, by the same lookup as every model's (`evalkit.config.keys`): its
        `api_key_env`, else the provider's usual variable; a UsageError names the one to set."""
        from evalkit.config.keys import resolve_api_key
        from evalkit.config.models import ModelConfig

        return resolve_api_key(ModelConfig(id=self.model, api_base=self.api_base, api_key_env=self.api_key_env))


def score_prompt(spec: JudgeSpec, question: str, response: str, reference: Any) -> str:
    rubric_block = f"[Rubric]\n{spec.rubric}\n\n" if spec.rubric else ""
    reference_block = f"[Reference answer]\n{reference}\n\n" if reference not in (None, "") else ""
    return SCORE_TEMPLATE.format(
        rubric_block=rubric_block, question=question, reference_block=reference_block,
        response=response, scale=spec.scale,
    )


def pairwise_prompt(spec: JudgeSpec, question: str, first: str, second: str) -> str:
    rubric_block = f"[Rubric]\n{spec.rubric}\n\n" if spec.rubric else ""
    return PAIRWISE_TEMPLATE.format(rubric_block=rubric_block, question=question, first=first, second=second)


def parse_score(verdict: str, scale: int) -> int | None:
    """The last ``Score: N`` in the verdict, if it lies in 1..scale."""
    matches = _SCORE_LINE.findall(verdict)
    if matches:
        value = float(matches[-1])
        if 1 <= value <= scale and value == int(value):
            return int(value)
    lowered = verdict.strip().lower()
    if scale == 2 and lowered.endswith(("pass", "通过")):
        return 2
    if scale == 2 and lowered.endswith(("fail", "不通过")):
        return 1
    return None


def parse_winner(verdict: str) -> str | None:
    """``A``, ``B`` or ``tie`` from the last ``Winner:`` line."""
    matches = _WINNER_LINE.findall(verdict)
    if not matches:
        return None
    found = matches[-1]
    return "tie" if found.lower() in ("tie", "平局") else found.upper()


async def judge_reply(spec: JudgeSpec, question: str, response: str, reference: Any, timeout: float) -> Judgement:
    """Ask the judge about one reply; raise `JudgeError` when it gives no usable verdict."""
    if spec.mode == "pairwise":
        return await _pairwise(spec, question, response, str(reference), timeout)
    verdict, usage = await _ask(spec, score_prompt(spec, question, response, reference), timeout)
    value = parse_score(verdict, spec.scale)
    judgement = _judgement(spec, verdict, [usage])
    if value is None:
        raise JudgeError(f"judge {spec.model} gave no 'Score: N' in 1..{spec.scale}: {verdict[-200:]!r}")
    normalised = (value - 1) / (spec.scale - 1)
    detail = "" if value == spec.scale else f"judge: {value}/{spec.scale}"
    judgement.score = Score(normalised, f"{value}/{spec.scale}", detail)
    return judgement


async def _pairwise(spec: JudgeSpec, question: str, response: str, baseline: str, timeout: float) -> Judgement:
    # Both orders: the reply as A, then as B. A judge biased to a position splits its vote.
    first, usage1 = await _ask(spec, pairwise_prompt(spec, question, response, baseline), timeout)
    second, usage2 = await _ask(spec, pairwise_prompt(spec, question, baseline, response), timeout)
    winners = (parse_winner(first), parse_winner(second))
    judgement = _judgement(spec, json.dumps([first, second], ensure_ascii=False), [usage1, usage2])
    first_winner, second_winner = winners
    if first_winner is None or second_winner is None:
        raise JudgeError(f"judge {spec.model} gave no 'Winner: A/B/tie' line")
    # as the module says: a win only when the reply wins in both orders, a loss only when it
    # loses in both; a win and a tie is not three quarters of a win, but no decision (0.5)
    value = 1.0 if winners == ("A", "B") else 0.0 if winners == ("B", "A") else 0.5
    extracted = f"{first_winner}/{second_winner}"
    detail = "" if value == 1.0 else f"pairwise vs reference (reply first, then second): {extracted}"
    judgement.score = Score(value, extracted, detail)
    return judgement


def _judgement(spec: JudgeSpec, verdict: str, usages: list[tuple[int, int]]) -> Judgement:
    prompt = sum(u[0] for u in usages)
    completion = sum(u[1] for u in usages)
    return Judgement(
        score=Score(0.0, None, "no verdict"), model=spec.model, rubric=spec.rubric, verdict=verdict,
        prompt_tokens=prompt, completion_tokens=completion, cost_usd=_cost(spec, prompt, completion),
    )


async def _ask(spec: JudgeSpec, prompt: str, timeout: float) -> tuple[str, tuple[int, int]]:
    from evalkit import transport

    try:
        key = spec.api_key()
    except UsageError as error:
        raise JudgeError(f"judge {spec.model}: {error}") from None
    request = transport.Request(
        model_id=spec.model,
        messages=({"role": "user", "content": prompt},),
        params=spec.params,
        timeout=timeout,
        api_base=spec.api_base,
        api_key=key,
    )
    try:
        attempt = await transport.complete(request)
    except transport.CallError as error:
        raise JudgeError(f"judge {spec.model} failed: {error}") from None
    if attempt.usage_source == "provider":
        usage = (attempt.prompt_tokens or 0, attempt.completion_tokens or 0)
    else:
        usage = (transport.count_tokens(spec.model, prompt), transport.count_tokens(spec.model, attempt.text))
    return attempt.text, usage


def _cost(spec: JudgeSpec, prompt_tokens: int, completion_tokens: int) -> float | None:
    return spec.model_price().cost(prompt_tokens, completion_tokens)


def _is_price(value: Any) -> bool:
    return isinstance(value, dict) and set(value) <= {"input", "output"} and all(map(is_number, value.values()))


def _judge_reference(reference: Any, options: dict[str, Any]) -> str | None:
    if options.get("mode") == "pairwise" and not is_text(reference):
        return "must be the baseline answer (a non-blank string) in pairwise mode"
    return None  # in score mode the reference is optional: shown to the judge when given


def _as_async_scorer(options: dict[str, Any]) -> AsyncScorer:
    return JudgeSpec.from_options(options)


_TEXT = OptionSpec("a string", lambda v: isinstance(v, str))

register(ScorerEntry(
    "judge",
    check_reference=_judge_reference,
    async_scorer=_as_async_scorer,
    options={
        "judge_model": OptionSpec("a litellm model id such as openai/gpt-4o-mini", is_text, required=True),
        "rubric": _TEXT,
        "mode": OptionSpec("'score' or 'pairwise'", lambda v: v in ("score", "pairwise")),
        "scale": OptionSpec("an integer from 2 to 100",
                            lambda v: isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 100),
        "api_base": _TEXT,
        "api_key_env": _TEXT,
        "price": OptionSpec("an object {input: USD per 1M tokens, output: USD per 1M tokens}", _is_price),
        "params": OptionSpec("an object of request parameters", lambda v: isinstance(v, dict)),
    },
))


# ---------------------------------------------------------------------------
# Calibration: the judge against human labels


@dataclass(frozen=True)
class Agreement:
    """How well the judge agrees with people on a labelled set."""

    n: int
    kappa: float | None
    """Cohen's kappa over the labels (1..scale); None when undefined (one label only)."""
    observed: float
    """Share of items where judge and human gave the same label."""
    pairs: list[tuple[str, int, int | None]]
    """(item id, human label, judge label or None when it gave no verdict)."""


def cohen_kappa(first: list[int], second: list[int]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when chance agreement is 1."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second)) / n
    labels = set(first) | set(second)
    expected = sum((first.count(label) / n) * (second.count(label) / n) for label in labels)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def load_labels(path: str, scale: int) -> list[dict[str, Any]]:
    """Rows ``{"id"?, "prompt", "response", "reference"?, "label": 1..scale}`` of a JSONL
    file; a bad row raises `UsageError` naming the line."""
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"cannot read labels {path}: {error.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}:{number}: not JSON ({error.msg})") from None
        for key in ("prompt", "response"):
            if not isinstance(row.get(key), str):
                raise UsageError(f"{path}:{number}: field {key!r} must be a string")
        label = row.get("label")
        if isinstance(label, bool) or not isinstance(label, int) or not 1 <= label <= scale:
            raise UsageError(f"{path}:{number}: field 'label' must be an integer from 1 to {scale}, got {label!r}")
        row.setdefault("id", str(number))
        rows.append(row)
    if not rows:
        raise UsageError(f"{path}: no labelled items")
    return rows


async def check_against_labels(spec: JudgeSpec, rows: list[dict[str, Any]], timeout: float = 120.0,
                               concurrency: int = 4) -> Agreement:
    """Judge every labelled reply and compare with the human labels."""
    import asyncio

    from evalkit import transport

    gate = asyncio.Semaphore(concurrency)

    async def one(row: dict[str, Any]) -> int | None:
        async with gate:
            try:
                judgement = await judge_reply(spec, row["prompt"], row["response"], row.get("reference"), timeout)
            except JudgeError:
                return None
            return int((judgement.score.extracted or "").split("/")[0])

    try:
        verdicts = await asyncio.gather(*(one(row) for row in rows))
    finally:
        await transport.close_clients()
    pairs = [(str(row["id"]), row["label"], verdict) for row, verdict in zip(rows, verdicts)]
    # An item the judge gave no verdict on counts as a disagreement (label 0 matches nothing).
    humans = [human for _, human, _ in pairs]
    judged = [verdict if verdict is not None else 0 for _, _, verdict in pairs]
    observed = sum(a == b for a, b in zip(humans, judged)) / len(pairs)
    return Agreement(n=len(pairs), kappa=cohen_kappa(humans, judged), observed=observed, pairs=pairs)
