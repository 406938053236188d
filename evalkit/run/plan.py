"""`Plan`: a validated run, ready to execute, of which nothing has been sent or written yet.

`evalkit.run.prepare` makes it, the compare use case runs it, the fingerprint reads it,
the runner's jobs come from it; it is data, so it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalkit.config.models import ModelConfig, RunConfig
from evalkit.economics.pricing import ModelPrice
from evalkit.run.estimate import worst_case_cost
from evalkit.run.judge_cost import judge_of, judge_worst_case
from evalkit.run.shards import Shard
from evalkit.suites.base import Sample


@dataclass
class Plan:
    """A validated run, ready to execute: nothing has been sent or written yet."""

    config: RunConfig
    samples: dict[str, list[Sample]]
    prices: dict[str, ModelPrice]
    keys: dict[str, str | None] = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    shard: Shard | None = None
    """This machine's share of the items (``--shard I/N``); None runs them all."""
    _worst_cases: dict[tuple[str, str, str], float] = field(default_factory=dict, repr=False)
    _judge_prices: dict[str, ModelPrice] = field(default_factory=dict, repr=False)

    @property
    def total_calls(self) -> int:
        return len(self.config.models) * sum(len(s) for s in self.samples.values()) * self.config.run.epochs

    def worst_case(self, model: ModelConfig, sample: Sample) -> float:
        """The most one item of ``model`` on ``sample`` can cost, its judging included (what a
        budget reserves); counted once, for the budget check before the run and the run itself."""
        key = (model.display, sample.suite, sample.id)
        if key not in self._worst_cases:
            run = self.config.run
            self._worst_cases[key] = worst_case_cost(model, self.prices[model.display], sample,
                                                     run.max_tokens, run.timeout) + self.judge_worst_case(sample)
        return self._worst_cases[key]

    def judge_worst_case(self, sample: Sample) -> float:
        """The most judging one answer to ``sample`` can cost (`evalkit.run.judge_cost`); 0
        for an item no judge grades."""
        spec = judge_of(sample)
        if spec is None:
            return 0.0
        if spec.model not in self._judge_prices:
            self._judge_prices[spec.model] = spec.model_price()
        run = self.config.run
        return judge_worst_case(spec, self._judge_prices[spec.model], sample, run.max_tokens, run.timeout)

    def judge_prices(self) -> dict[str, ModelPrice]:
        """The price of every judge the plan's items name, by judge model."""
        for items in self.samples.values():
            for sample in items:
                spec = judge_of(sample)
                if spec is not None and spec.model not in self._judge_prices:
                    self._judge_prices[spec.model] = spec.model_price()
        return dict(self._judge_prices)
