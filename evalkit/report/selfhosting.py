"""The "Self-hosting vs APIs" report section, for runs with a model priced from a capacity
sweep (`price_from_capacity`).

It reuses `evalkit.economics.selfhost`: the same projection and break-even as `evalkit breakeven`,
at the report's ``--volume`` and the default utilisation, against every API model of the
run that has a token price. The capacity file is found through the stored config's
``price_from_capacity`` (resolved to an absolute path when the config was loaded), or,
for configs written without it, through the capacity run id in the price snapshot's
source, as ``results/capacity-<id>.json``. A file that is gone is said so; the report is
still written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.economics.volume import DAYS_PER_MONTH, Volume

TITLE = "Self-hosting vs APIs"
CHART_SECTION = "self-hosting"
"""`Chart.section` of the cost-vs-volume charts: drawn in this section, not under Charts."""
_RUN_ID = re.compile(r"capacity run (\S+?)\)?$")


@dataclass
class SelfHosted:
    """One capacity-priced model of the run, projected against the run's API models."""

    model: str
    assumptions: list[tuple[str, str]]
    table: Any = None
    """`tables.Table`: monthly cost at the volume and break-even per option; None without the file."""
    note: str = ""
    capacity: Any = field(default=None, repr=False)
    apis: list[Any] = field(default_factory=list, repr=False)
    utilisation: float = 0.5
    span: float = 0.0
    """Requests/month the chart's x axis runs to."""

    def text(self) -> list[str]:
        parts = [self.model, self.note, *(t for pair in self.assumptions for t in pair)]
        if self.table is not None:
            parts += self.table.headers + [c for row in self.table.rows for c in row]
        return parts


def self_hosting(run: Any, volume: Volume) -> list[SelfHosted]:
    """A `SelfHosted` per capacity-priced model of ``run``; empty when there is none."""
    from evalkit.economics.pricing import from_snapshot

    prices = from_snapshot(run.price_snapshot)
    sources = _capacity_files(run)
    apis = [p for label, p in prices.items()
            if label not in sources and p.hourly_cost is None and p.known]
    return [_one(label, path, prices.get(label), apis, volume) for label, path in sources.items()]


def capacity_files(run: Any) -> dict[str, Path | None]:
    """Label -> capacity file, for each model of ``run`` priced from a capacity run (None: not recorded)."""
    return _capacity_files(run)


def _capacity_files(run: Any) -> dict[str, Path | None]:
    """Label -> capacity file, for each model priced from a capacity run."""
    out: dict[str, Path | None] = {}
    for model in run.config.get("models", []):
        if model.get("price_from_capacity"):
            out[model.get("label") or model["id"]] = Path(model["price_from_capacity"])
    for label, price in run.price_snapshot.items():
        source = price.get("source", "")
        if label not in out and (source.startswith("self-hosted: ") or source.startswith("capacity run ")):
            found = _RUN_ID.search(source)
            out[label] = Path("results") / f"capacity-{found.group(1)}.json" if found else None
    return out


def _one(label: str, path: Path | None, price: Any, apis: list[Any], volume: Volume) -> SelfHosted:
    from evalkit.economics import selfhost
    from evalkit.economics.capacity import load_capacity
    from evalkit.errors import UsageError

    source = price.source if price is not None else "unknown"
    if path is None or not path.is_file():
        return SelfHosted(label, [("Price source (snapshot)", source)],
                          note=f"Capacity file {path or '(not recorded)'} not found: no projection. "
                               "Re-run `evalkit breakeven` on the capacity file to see it.")
    try:
        capacity = load_capacity(path)
        projection = selfhost.project(capacity, apis, volume)
    except UsageError as exc:
        return SelfHosted(label, [("Price source (snapshot)", source)], note=f"No projection: {exc}")
    evens = [o.break_even_requests for o in projection.apis if o.break_even_requests]
    return SelfHosted(label, _assumptions(capacity, path, projection), _table(projection), _note(projection),
                      capacity, apis, projection.utilisation,
                      max([projection.requests_per_month, *evens]) * 1.5)


def _assumptions(capacity: Any, path: Path, projection: Any) -> list[tuple[str, str]]:
    p = capacity.price
    step = capacity.steps[capacity.chosen] if capacity.chosen is not None else None
    load = (f"concurrency {p.load:g}" if capacity.mode == "closed" else f"{p.load:g} arrivals/s")
    at = f"{load}: {p.requests_per_s:.2f} req/s" + (
        f", {step.output_tokens_per_s:,.1f} output tok/s" if step is not None else "")
    return [
        ("Hourly price", f"${p.hourly_cost:.2f} per hour per replica (machine serving {capacity.model})"),
        ("Utilisation", f"{projection.utilisation:.0%} average load of a replica; the rest is idle headroom, paid"),
        ("Latency target (SLO)", capacity.slo.describe()),
        ("Priced at step", at),
        ("Request size", f"{p.prompt_tokens_per_request:,.0f} prompt + {p.completion_tokens_per_request:,.0f} "
                         "completion tokens (the sweep's average request at that step)"),
        ("Method", f"{capacity.method}; input:output cost ratio 1:{1 / p.input_cost_ratio:g}; replicas = "
                   "requests ÷ (capacity × utilisation × 730 h), each paid 730 h a month"),
        ("Capacity run", f"{capacity.id} ({path.name}, {capacity.created})"),
    ]


def _table(projection: Any) -> Any:
    from evalkit.report.tables import Table, usd

    own = projection.self_hosted
    rows = [[own.name, f"{own.replicas}", usd(own.monthly), usd(own.cost_per_request), own.note]]
    for api in projection.apis:
        if api.monthly is None:
            rows.append([api.name, "-", "unknown", "unknown", api.note])
            continue
        even = api.break_even_requests
        text = (f"{even:,.0f} requests/month ({even / DAYS_PER_MONTH:,.0f}/day)" if even else api.note)
        rows.append([api.name, "-", usd(api.monthly), usd(api.cost_per_request), text])
    table = Table(["Option", "Replicas", "USD / month", "USD / request", "Break-even: self-hosting cheaper from"],
                  rows)
    monthly = [own.monthly, *(api.monthly for api in projection.apis)]
    known = [(i, v) for i, v in enumerate(monthly) if v is not None]
    if len(known) > 1:
        low = min(v for _, v in known)
        table.best = {(i, 2) for i, v in known if v == low}
    return table


def _note(projection: Any) -> str:
    return (f"At {projection.volume.describe()} = {projection.requests_per_month:,.0f} requests/month of the "
            f"sweep's average size. A replica carries {projection.replica_capacity:,.0f} requests/month at the target "
            f"and {projection.utilisation:.0%} utilisation. APIs are priced per request at their token prices in "
            "this run's price snapshot. Break-even: the volume at which one replica's month costs what the API "
            "bills; beyond one replica's capacity self-hosting never catches up with that API.")


def chart(item: SelfHosted) -> str:
    """The cost-vs-volume SVG (`breakeven_chart.cost_curve`), without its XML prolog (inlined in HTML)."""
    from evalkit.report.breakeven_chart import cost_curve

    svg = cost_curve(item.capacity, item.apis, item.utilisation, item.span)
    return svg[svg.index("<svg"):]
