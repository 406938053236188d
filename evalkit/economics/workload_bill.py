"""The projected bill of a workload profile: what each candidate would charge for the
user's own traffic, per request and per month, with a 95% interval.

Definitions (the README's "The projected bill" says the same):

- **Tokens.** A profile request of P prompt and Q completion tokens (as logged, i.e. as
  the incumbent's tokenizer counted them) costs a candidate P × k prompt and Q × k
  completion tokens, k being the candidate's token inflation for the profile's language
  mix (`evalkit.analysis.inflation`): the same tokenizer bills the answer, and the answer
  is taken to be as long, in text, as the one logged. Tokens stay fractional (an expected
  count); the context tier is chosen by the rounded prompt.
- **Cache.** A share s of each prompt is read from the provider's cache at the model's
  cache-read rate (its input rate where it has none): s is ``--cache-hit-rate`` when
  given, else that request's logged cached share (cached ÷ prompt tokens) where the log
  reported cached tokens, else the profile's cache-hit estimate, else 0. No cache
  writes are billed (a log does not say which tokens were written).
- **Rules.** The candidate's price rules (`ModelPrice.rates`): the tier for that prompt
  length, the purchase option's own rates; off-peak windows are not applied. A purchase
  option the model lacks (at any tier a request reaches) makes it *unavailable*, never
  the standard price. Completion tokens are billed at the output rate (a separate
  reasoning rate is not applied: the log does not split thinking from the answer).
- **Per request** = the mean of those costs over the profile's n requests; **per month**
  = per request × requests per month (``--volume`` when given, else the profile's own
  rate). **Interval**: the Student-t 95% interval of that mean over the n requests (mean
  ± t(0.975, n − 1) × s.d. ÷ √n, the low end kept at 0 or above), scaled by the volume:
  it says how well n requests pin down the mean request, nothing about the volume or the
  prices.
- **Self-hosted.** A model priced from a capacity sweep pays its sweep's token prices
  (machine time at full use, at the sweep's own request size) for the profile's tokens;
  a month buys whole machines, ``replicas = ceil(cost at full use ÷ (hourly × 730 h ×
  utilisation))``, at least one, each paid all month (`evalkit.economics.selfhost`). A
  model priced only by ``hourly_cost`` has no throughput measured at any shape: n/a.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from evalkit.economics.pricing import ModelPrice
from evalkit.economics.selfhost import DEFAULT_UTILISATION
from evalkit.economics.volume import HOURS_PER_MONTH, Volume
from evalkit.workload.profile import WorkloadProfile

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% interval; ``low``/``high`` are None with fewer than two requests."""

    value: float
    low: float | None
    high: float | None

    def scaled(self, factor: float) -> Estimate:
        return Estimate(self.value * factor, _times(self.low, factor), _times(self.high, factor))


@dataclass(frozen=True)
class Machine:
    """A self-hosted model's machine, from its capacity sweep."""

    hourly_cost: float
    utilisation: float = DEFAULT_UTILISATION
    sweep_request: tuple[float, float] = (0.0, 0.0)
    """The sweep's average request (prompt, completion tokens): the shape its prices were measured at."""


@dataclass(frozen=True)
class CandidateBill:
    """What one candidate would bill for the profile."""

    model: str
    status: str
    """``priced``, ``unavailable`` (no price for the purchase option), ``unknown`` (no
    price, or no inflation measured) or ``n/a`` (priced by the hour, no sweep)."""
    reason: str = ""
    inflation: float | None = None
    inflation_estimated: bool = False
    per_request: Estimate | None = None
    monthly: Estimate | None = None
    """None when priced but the volume is unknown."""
    replicas: int | None = None
    """Self-hosted: machines paid all month at the volume."""
    tiers: dict[str, int] = field(default_factory=dict)
    """Requests by the price tier they reach (``base``, ``> 200,000 tokens``)."""


@dataclass(frozen=True)
class BillBasis:
    """What every candidate's bill assumes, and where each figure comes from."""

    requests: int
    requests_per_month: float | None
    volume_source: str
    """``--volume 50000/day`` or ``the profile (its timestamps)``, or why there is none."""
    cache_source: str
    purchase: str


def request_costs(price: ModelPrice, profile: WorkloadProfile, inflation: float, purchase: str = "standard",
                  cache_hit_rate: float | None = None) -> tuple[list[float] | None, str, dict[str, int]]:
    """The cost of each profile request for this candidate; (None, why) when one has no price."""
    costs: list[float] = []
    tiers: dict[str, int] = {}
    for index, (logged_prompt, logged_completion) in enumerate(zip(profile.prompt_tokens, profile.completion_tokens)):
        prompt, completion = logged_prompt * inflation, logged_completion * inflation
        rates = price.rates(round(prompt), purchase)
        if rates is None:
            tier = price.tier_for(round(prompt))
            where = "" if tier is None else f" for prompts above {int(tier['above_tokens']):,} tokens"
            return None, f"unavailable: no {purchase} price{where}", tiers
        if rates["input"] is None or rates["output"] is None:
            return None, "unknown: no token price", tiers
        tier = price.tier_for(round(prompt))
        label = "base" if tier is None else f"> {int(tier['above_tokens']):,} tokens"
        tiers[label] = tiers.get(label, 0) + 1
        cached = prompt * _cached_share(profile, index, cache_hit_rate)
        cache_rate = rates["input"] if rates["cached_input"] is None else rates["cached_input"]
        costs.append((prompt - cached) * rates["input"] + cached * cache_rate + completion * rates["output"])
    return costs, "", tiers


def _cached_share(profile: WorkloadProfile, index: int, cache_hit_rate: float | None) -> float:
    if cache_hit_rate is not None:
        return cache_hit_rate
    if profile.cached_tokens is not None:
        prompt = profile.prompt_tokens[index]
        return min(profile.cached_tokens[index], prompt) / prompt if prompt else 0.0
    return profile.cache_hit_estimate or 0.0


def cache_source(profile: WorkloadProfile, cache_hit_rate: float | None) -> str:
    """Where the cached share of each prompt comes from, in words."""
    if cache_hit_rate is not None:
        return f"--cache-hit-rate {cache_hit_rate:.0%} for every request"
    if profile.cached_tokens is not None:
        total = sum(profile.prompt_tokens)
        share = sum(min(c, p) for c, p in zip(profile.cached_tokens, profile.prompt_tokens)) / total if total else 0
        return f"each request's cached tokens as logged ({share:.0%} of prompt tokens overall)"
    if profile.cache_hit_estimate is not None:
        how = f" ({profile.cache_hit_source})" if profile.cache_hit_source else ""
        return f"the profile's cache-hit estimate{how}, {profile.cache_hit_estimate:.0%} of every prompt"
    return "none (the profile has no cache-hit estimate): every prompt token at the input rate"


def mean_interval(values: Sequence[float]) -> Estimate:
    """The mean of ``values`` with its Student-t 95% interval (the low end not below 0)."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return Estimate(mean, None, None)
    from scipy.special import stdtrit

    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stdtrit(n - 1, 0.5 + CONFIDENCE / 2)) * sd / math.sqrt(n)
    return Estimate(mean, max(0.0, mean - half), mean + half)


def requests_per_month(profile: WorkloadProfile, volume: Volume | None) -> tuple[float | None, str]:
    """The monthly request count the bill is for, and where it comes from."""
    if volume is not None and volume.unit == "requests":
        return volume.amount, f"--volume {volume.text}"
    if volume is not None:
        size = (sum(profile.prompt_tokens) + sum(profile.completion_tokens)) / max(1, profile.requests)
        if not size:
            return None, f"unknown: --volume {volume.text} counts tokens and the profile's requests have none"
        return volume.amount / size, (f"--volume {volume.text}, at the profile's {size:,.0f} logged tokens "
                                      "per request")
    if profile.requests_per_month is not None:
        return profile.requests_per_month, "the profile's own rate (its first to last timestamp)"
    return None, "unknown: the profile has no timestamps; give --volume"


def candidate_bill(model: str, price: ModelPrice, profile: WorkloadProfile, inflation: float | None, *,
                   inflation_estimated: bool = False, purchase: str = "standard",
                   cache_hit_rate: float | None = None, monthly_requests: float | None = None,
                   machine: Machine | None = None) -> CandidateBill:
    """One candidate's bill for the profile, by the definitions above."""
    base = CandidateBill(model, "unknown", inflation=inflation, inflation_estimated=inflation_estimated)
    if price.hourly_cost is not None:
        return replace(base, status="n/a", reason=(
            "priced by the hour (hourly_cost) with no capacity sweep: its throughput at these request sizes "
            "is not measured (run `evalkit capacity` and set price_from_capacity)"))
    if not price.known:
        return replace(base, reason="price unknown")
    if profile.requests == 0:
        return replace(base, reason="the profile holds no requests")
    if inflation is None:
        return replace(base, reason="no prompt of the run paired with the reference model's: inflation unknown")
    costs, why, tiers = request_costs(price, profile, inflation, purchase, cache_hit_rate)
    if costs is None:
        return replace(base, status=why.split(":", 1)[0], reason=why, tiers=tiers)
    priced = replace(base, status="priced", per_request=mean_interval(costs), tiers=tiers)
    if monthly_requests is None:
        return priced
    if machine is None:
        return replace(priced, monthly=mean_interval(costs).scaled(monthly_requests))
    return _machine_bill(priced, monthly_requests, machine)


def _machine_bill(priced: CandidateBill, monthly_requests: float, machine: Machine) -> CandidateBill:
    """Whole machines, each paid all month, enough for the traffic at the stated utilisation:
    ``priced.per_request`` is the cost of a request at full use of a machine."""
    month = machine.hourly_cost * HOURS_PER_MONTH

    def paid(per_request: float | None) -> int | None:
        if per_request is None:
            return None
        return max(1, math.ceil(per_request * monthly_requests / (month * machine.utilisation)))

    at_full_use = priced.per_request
    assert at_full_use is not None
    replicas = paid(at_full_use.value) or 1
    low, high = paid(at_full_use.low), paid(at_full_use.high)
    monthly = Estimate(replicas * month, None if low is None else low * month, None if high is None else high * month)
    return replace(priced, per_request=monthly.scaled(1 / monthly_requests), monthly=monthly, replicas=replicas)


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor
