"""The latency suite: requests at fixed prompt/answer sizes, or at a stored workload's.

``latency`` runs the tiers of `evalkit/data/latency_tiers.yaml` (about 100/300, 1k/1k,
10k/1.5k and 100k/2k prompt/answer tokens); ``latency:PROFILE`` runs two tiers shaped like
a stored workload profile (`evalkit workload import`): its median and its 90th percentile
prompt and completion tokens. Each tier is asked ``size`` times one request at a time,
then ``max(size, concurrency)`` times at the suite's ``concurrency``.

The samples made here are the plan's: their prompt is built to a character budget with a
nonce of zeros, which is what a cost estimate counts. `evalkit.run.latency` rebuilds
each one per model and per run before it is sent (a nonce of the run first, the length
exact to the model's tokenizer where there is one). A sample's id says what it measures:
``<tier>-<prompt>x<answer>-c<concurrency>-<n>``, e.g. ``1k-1000x1000-c1-01``; records keep
it, so every figure of a tier can be found again in the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from evalkit.config.models import SuiteConfig
from evalkit.errors import UsageError
from evalkit.suites.base import Sample
from evalkit.suites.latency_prompt import PromptTokenizer, build_prompt, latency_data
from evalkit.workload.stats import percentile

SUITE = "latency"
PROFILE_PREFIX = "latency:"
DEFAULT_SIZE = 3
"""Requests per tier sent one at a time, when the suite does not say."""
SCORER = "timed"
_ID = re.compile(r"^(?P<tier>[^-]+)-(?P<prompt>\d+)x(?P<answer>\d+)-c(?P<concurrency>\d+)-(?P<n>\d+)$")


@dataclass(frozen=True)
class Tier:
    name: str
    """``100``, ``1k``, ``10k``, ``100k``; ``p50`` and ``p90`` for a profile's."""
    prompt_tokens: int
    answer_tokens: int
    """The request's max_tokens: the answer asked for may end sooner."""


@dataclass(frozen=True)
class LatencyItem:
    """What a latency sample's id says."""

    tier: str
    prompt_tokens: int
    answer_tokens: int
    concurrency: int


def is_latency_suite(name: str) -> bool:
    return name == SUITE or name.startswith(PROFILE_PREFIX)


def parse_item(sample_id: str) -> LatencyItem | None:
    """The tier, sizes and concurrency a latency sample's id names; None for any other id."""
    match = _ID.match(sample_id)
    if match is None:
        return None
    return LatencyItem(match["tier"], int(match["prompt"]), int(match["answer"]), int(match["concurrency"]))


def fixed_tiers() -> list[Tier]:
    return [Tier(str(t["name"]), int(t["prompt_tokens"]), int(t["answer_tokens"])) for t in latency_data()["tiers"]]


def default_concurrency() -> int:
    return int(latency_data()["default_concurrency"])


MIN_PROMPT_TOKENS = 16
"""The smallest prompt a tier asks for: room for the nonce every prompt starts with."""


def profile_tiers(prompt_tokens: list[int], completion_tokens: list[int]) -> list[Tier]:
    """A profile's median and 90th-percentile request (prompts at least `MIN_PROMPT_TOKENS`,
    answers at least 1 token)."""
    return [Tier(f"p{q}", max(MIN_PROMPT_TOKENS, round(percentile(prompt_tokens, q) or 0)),
                 max(1, round(percentile(completion_tokens, q) or 0))) for q in (50, 90)]


def latency_samples(suite: str, tiers: list[Tier], size: int, concurrency: int) -> list[Sample]:
    """The plan's samples: per tier ``size`` at concurrency 1, then ``max(size, concurrency)``
    at ``concurrency`` (enough that the concurrency is reached)."""
    samples = []
    by_characters = PromptTokenizer("none", None, None, "character budget until the run builds it per model")
    for tier in tiers:
        # one text per tier: it is only counted (estimate, budget), never sent
        text = build_prompt(tier.prompt_tokens, "0" * 16, f"{suite}:{tier.name}", by_characters).text
        for level, count in ((1, size), (concurrency, max(size, concurrency))):
            for n in range(1, count + 1):
                samples.append(Sample(
                    id=f"{tier.name}-{tier.prompt_tokens}x{tier.answer_tokens}-c{level}-{n:02d}",
                    suite=suite,
                    messages=({"role": "user", "content": text},),
                    reference=None,
                    scorer=SCORER,
                    cluster=f"{suite}:{tier.name}:c{level}",
                    metadata={"language": "en", "latency": True},
                    params={"max_tokens": tier.answer_tokens},
                ))
    return samples


def load_latency_suite(config: SuiteConfig, locate: Callable[[str], str], limit: int | None = None,
                       store: str | None = None) -> list[Sample]:
    """The samples of a ``latency`` or ``latency:PROFILE`` suite config; a run's ``limit``
    caps the requests per tier sent one at a time (``size``); ``store`` (a URL or path;
    None: the default) holds the profile."""
    if config.difficulty is not None:
        raise UsageError(f"{locate('difficulty')}: the latency suite has no difficulty; leave it out")
    size = min(config.size or DEFAULT_SIZE, limit or DEFAULT_SIZE * 1000)
    concurrency = config.concurrency or default_concurrency()
    if config.name == SUITE:
        return latency_samples(SUITE, fixed_tiers(), size, concurrency)
    name = config.name.removeprefix(PROFILE_PREFIX)
    if not name:
        raise UsageError(f"{locate('name')}: write latency:PROFILE with the name of an imported workload "
                         "(`evalkit workload list`), or latency for the fixed tiers")
    prompts, completions = _stored_profile(name, store)
    if not prompts or not completions:
        raise UsageError(f"{locate('name')}: workload {name!r} has no token counts to shape a latency suite on")
    return latency_samples(config.name, profile_tiers(prompts, completions), size, concurrency)


def _stored_profile(name: str, url: str | None) -> tuple[list[int], list[int]]:
    """The token counts of workload ``name`` in the store at ``url`` (None: ``EVALKIT_STORE``, else the default)."""
    from evalkit.store.database import Store
    from evalkit.workload.profile import WorkloadProfile

    try:
        row = Store(url).workload(name)
    except UsageError as missing:  # it names the store and the profiles it holds
        raise UsageError(f"latency:{name}: {missing}") from None
    profile = WorkloadProfile.from_dict(row.profile)
    return list(profile.prompt_tokens), list(profile.completion_tokens)
