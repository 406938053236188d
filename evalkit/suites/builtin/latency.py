"""The latency suite in the built-in listing (`evalkit suites`, `-s latency`).

Its items are made by `evalkit.suites.latency` (it has options a generated suite has not:
its concurrency, a profile to be shaped like); this entry lists it and runs it when named,
never in a run of the default suites.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.suites.base import Sample
from evalkit.suites.latency import DEFAULT_SIZE, SUITE, default_concurrency, fixed_tiers, latency_samples
from evalkit.suites.registry import register_suite


@dataclass(frozen=True)
class _LatencySuite:
    name: str = SUITE
    description: str = ("TTFT, output speed, ITL and end-to-end latency at about 100/300, 1k/1k, 10k/1.5k "
                        "and 100k/2k prompt/answer tokens, one at a time and concurrently; latency:PROFILE "
                        "for an imported workload's sizes (not scored)")
    language: str = "en"
    default_size: int = DEFAULT_SIZE
    typical_answer_tokens: int = 1200
    order: int = 30  # after the code suites; any suite registered later (order 100) comes after it
    in_default_run: bool = False

    def generate(self, n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
        return latency_samples(SUITE, fixed_tiers(), n, default_concurrency())


register_suite(_LatencySuite())
