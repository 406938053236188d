"""Monthly projection and break-even: a self-hosted model (from a capacity sweep) against
API models, at a volume.

Method (stated in every output):

- A request is the sweep's average request at the priced step (its prompt and
  completion tokens); a tokens volume is turned into requests with that size.
- An API's monthly cost = requests × (prompt tokens × input price + completion tokens ×
  output price): linear in volume.
- One replica serves, at the target, the sweep's requests/s at the priced step. Traffic
  is not flat, so a replica is planned at an average ``utilisation`` of that capacity
  (default 50%: the rest is headroom for peaks, paid but idle). Replicas =
  ceil(requests per month ÷ (capacity × utilisation × 730 h)); monthly cost = replicas ×
  hourly cost × 730 h, whatever the traffic: idle time is paid.
- Break-even: the volume where one replica's month (hourly × 730) equals the API's bill,
  hourly × 730 ÷ API cost per request. If that is more than one replica carries at the
  stated utilisation, self-hosting never wins against that API (each further replica
  costs more than the traffic it adds would cost on the API).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalkit.economics.capacity import CapacityResult
from evalkit.economics.pricing import ModelPrice
from evalkit.economics.volume import HOURS_PER_MONTH, Volume
from evalkit.errors import UsageError

DEFAULT_UTILISATION = 0.5


@dataclass(frozen=True)
class Option:
    """One way to serve the volume, with its monthly cost."""

    name: str
    monthly: float | None
    cost_per_request: float | None
    replicas: int | None = None
    break_even_requests: float | None = None
    """Requests/month from which this self-hosted option is cheaper than `against`."""
    note: str = ""


@dataclass(frozen=True)
class Projection:
    volume: Volume
    requests_per_month: float
    utilisation: float
    self_hosted: Option
    apis: list[Option]
    replica_capacity: float
    """Requests/month one replica carries at the target and the stated utilisation."""


def requests_per_month(volume: Volume, capacity: CapacityResult) -> float:
    p = price_of(capacity)
    if volume.unit == "requests":
        return volume.amount
    return volume.amount / (p.prompt_tokens_per_request + p.completion_tokens_per_request)


def api_cost_per_request(price: ModelPrice, capacity: CapacityResult) -> float | None:
    p = price_of(capacity)
    return price.cost(round(p.prompt_tokens_per_request), round(p.completion_tokens_per_request)) \
        if price.known and price.hourly_cost is None else None


def self_hosted_monthly(requests: float, capacity: CapacityResult, utilisation: float) -> tuple[float, int]:
    p = price_of(capacity)
    per_replica = p.requests_per_s * 3600 * HOURS_PER_MONTH * utilisation
    replicas = max(1, math.ceil(requests / per_replica))
    return replicas * p.hourly_cost * HOURS_PER_MONTH, replicas


def project(capacity: CapacityResult, apis: list[ModelPrice], volume: Volume,
            utilisation: float = DEFAULT_UTILISATION) -> Projection:
    """Monthly cost of the self-hosted option and each API at ``volume``, with break-evens."""
    if not 0 < utilisation <= 1:
        raise UsageError("--utilisation must be in (0, 1], e.g. 0.5 for 50%")
    p = price_of(capacity)
    requests = requests_per_month(volume, capacity)
    monthly, replicas = self_hosted_monthly(requests, capacity, utilisation)
    replica_capacity = p.requests_per_s * 3600 * HOURS_PER_MONTH * utilisation
    one_month = p.hourly_cost * HOURS_PER_MONTH
    rows = []
    for price in apis:
        per_request = api_cost_per_request(price, capacity)
        if per_request is None or per_request <= 0:
            rows.append(Option(price.model, None, None, note="price unknown"))
            continue
        even = one_month / per_request
        rows.append(Option(price.model, requests * per_request, per_request,
                           break_even_requests=even if even <= replica_capacity else None,
                           note="" if even <= replica_capacity else "self-hosting never cheaper"))
    own = Option(f"{capacity.model} (self-hosted)", monthly, monthly / requests, replicas=replicas,
                 note=f"{replicas} replica(s) × ${p.hourly_cost:.2f}/h × {HOURS_PER_MONTH} h")
    return Projection(volume, requests, utilisation, own, rows, replica_capacity)


def volume_line(projection: Projection) -> str:
    """The volume the projection is for and the replica sizing, as one line."""
    pr = projection
    return (f"volume: {pr.volume.describe()} = {pr.requests_per_month:,.0f} requests/month; "
            f"replicas planned at {pr.utilisation:.0%} average utilisation "
            f"({pr.replica_capacity:,.0f} requests/month each)")


def projection_rows(projection: Projection) -> list[list[str]]:
    """Per option (self-hosted first): name, $/month, $/request, break-even requests/month or a note."""
    rows = []
    for row in [projection.self_hosted, *projection.apis]:
        monthly = "-" if row.monthly is None else f"{row.monthly:,.2f}"
        per = "-" if row.cost_per_request is None else f"{row.cost_per_request:.6f}"
        even = f"{row.break_even_requests:,.0f}" if row.break_even_requests else row.note
        rows.append([row.name, monthly, per, row.note if row is projection.self_hosted else even])
    return rows


def price_of(capacity: CapacityResult):
    if capacity.price is None:
        raise UsageError(f"capacity run {capacity.id} has no price: {capacity.assumptions()}")
    return capacity.price
