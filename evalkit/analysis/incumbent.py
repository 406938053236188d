"""Each candidate against the model the company runs today, on a replay suite of its own traffic.

A replay suite (`evalkit.suites.replay`) scores every answer pairwise against the answer
logged from production (the *incumbent's*), judged in both orders: 1 when the candidate's
answer wins both times, 0 when it loses both, 0.5 otherwise (a tie, or a judge that
changes its mind with the order). Per candidate and replay suite:

- **win / tie / loss**: counts and shares of those scores. A failed call of the candidate
  is a loss (the user would have got nothing); an item whose *judge* failed says nothing
  about either answer and is left out (counted as unjudged).
- **mean preference**: the mean score, 0.5 when the two are equally good, with the 95%
  interval of the sign-flip test (`evalkit.analysis.paired.paired_units_test`) on
  score − 0.5 per unit: under "equally good" the judge is as likely to prefer either
  answer, so each unit's sum is as likely to have the opposite sign. Units are clusters,
  or items with their epochs (`evalkit.analysis.frame`).
- **decision**, with the margin `NONINFERIORITY_MARGIN`: *better* when the interval's lower
  end is above 0.5; *not worse* when it is above 0.5 − margin; *worse* when its upper end
  is below 0.5 (*within the margin* when the lower end is still above 0.5 − margin);
  otherwise the two *cannot be told apart* with this many items.
- **cost per request**: the candidate's mean cost on the replayed items as measured in the
  run; the incumbent's, the logged tokens of the same items at the incumbent's price (the
  suite's ``incumbent_price``, else the price files). A projection for the profile's bill
  can replace the candidate's measured figure (``projected`` of `compare_incumbent`), and
  the result says which basis it used.
- **latency**: the candidate's median end-to-end time and TTFT on the replayed items (the
  log holds none for the incumbent: not measured).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit.analysis.frame import prepare
from evalkit.analysis.paired import paired_units_test

NONINFERIORITY_MARGIN = 0.05
"""How much preference the candidate may give up and still count as "not worse": the lower
end of its 95% interval must lie above 0.5 − 0.05 = 0.45 (the judge prefers the
incumbent's answer on at most about 5 points more of the traffic than the candidate's)."""
EVEN = 0.5
"""The mean preference of two equally good models."""
JUDGE_ERROR = "judge"
MEASURED = "measured on the replayed prompts"


@dataclass(frozen=True)
class IncumbentComparison:
    """One candidate against the incumbent's logged answers on one replay suite."""

    model: str
    suite: str
    profile: str
    incumbent: str
    """The model the log names for the replayed items (the most frequent), or "the incumbent"."""
    items: int
    """Answers judged (wins + ties + losses)."""
    wins: int
    ties: int
    losses: int
    failed: int
    """Losses that are failed calls of the candidate (part of ``losses``)."""
    unjudged: int
    """Items left out because the judge gave no verdict."""
    mean: float
    """Mean preference for the candidate: 1 always preferred, 0.5 even, 0 never."""
    low: float
    high: float
    """The 95% interval of ``mean`` (NaN with no items)."""
    p_value: float
    method: str
    units: int
    decision: str
    """``better``, ``not worse``, ``within margin``, ``worse`` or ``undecided``."""
    margin: float
    cost_per_request: float | None
    """The candidate's USD per request (None: unknown price)."""
    cost_basis: str
    incumbent_cost_per_request: float | None
    """The incumbent's USD per request on the same items (None: unknown price or tokens)."""
    e2e_median_s: float | None
    ttft_median_s: float | None

    @property
    def cost_share(self) -> float | None:
        """The candidate's cost per request as a share of the incumbent's."""
        if self.cost_per_request is None or not self.incumbent_cost_per_request:
            return None
        return self.cost_per_request / self.incumbent_cost_per_request

    def share(self, count: int) -> float:
        return count / self.items if self.items else math.nan


@dataclass(frozen=True)
class ReplaySource:
    """What the analysis needs of a replay suite beyond the records: the stored profile's
    logged items (by item id) and the incumbent's price."""

    suite: str
    profile: str
    logged: Mapping[str, dict[str, Any]]
    """Item id -> the profile's text item (model, prompt_tokens, completion_tokens, ...)."""
    incumbent_price: Any | None
    """A `ModelPrice` for the incumbent, or None to look it up by the logged model's name."""


def decide(low: float, high: float, margin: float = NONINFERIORITY_MARGIN) -> str:
    """The decision an interval of the mean preference supports (see the module docstring)."""
    if math.isnan(low):
        return "undecided"
    if low > EVEN:
        return "better"
    if low > EVEN - margin:
        return "within margin" if high < EVEN else "not worse"
    return "worse" if high < EVEN else "undecided"


def compare_incumbent(records: pd.DataFrame, sources: list[ReplaySource],
                      projected: Mapping[tuple[str, str], float] | None = None) -> list[IncumbentComparison]:
    """Every candidate against the incumbent on every replay suite of ``sources``.
    ``projected`` ((model, suite) -> USD per request for the profile) replaces the measured
    cost where given."""
    if records.empty:
        return []
    results = []
    suites = records["suite"].astype(str)
    for source in sources:
        rows = records.loc[suites == source.suite]
        for model in sorted(rows["model"].astype(str).unique()):
            mine = rows.loc[rows["model"].astype(str) == model]
            results.append(_compare(model, mine, source, (projected or {}).get((model, source.suite))))
    return results


def _compare(model: str, rows: pd.DataFrame, source: ReplaySource, projected: float | None) -> IncumbentComparison:
    judged = rows.loc[rows["error_class"].astype(object).ne(JUDGE_ERROR) | rows["error_class"].isna()]
    prep = prepare(judged.reset_index(drop=True))
    scores = prep["score"].to_numpy(float)
    wins, losses = int(np.sum(scores == 1.0)), int(np.sum(scores == 0.0))
    mean, low, high, p_value, method, units = _preference(prep)
    cost, basis = (projected, "projected for the profile") if projected is not None else (_mean_cost(prep), MEASURED)
    successes = prep.loc[~prep["is_error"]]
    return IncumbentComparison(
        model=model, suite=source.suite, profile=source.profile, incumbent=_incumbent_name(rows, source),
        items=len(scores), wins=wins, ties=len(scores) - wins - losses, losses=losses,
        failed=int(prep["is_error"].sum()), unjudged=len(rows) - len(judged),
        mean=mean, low=low, high=high, p_value=p_value, method=method, units=units,
        decision=decide(low, high), margin=NONINFERIORITY_MARGIN,
        cost_per_request=cost, cost_basis=basis,
        incumbent_cost_per_request=_incumbent_cost(prep["sample_id"].astype(str), source),
        e2e_median_s=_median(successes["e2e_s"]), ttft_median_s=_median(successes["ttft_s"]),
    )


def _preference(prep: pd.DataFrame) -> tuple[float, float, float, float, str, int]:
    """Mean preference, its 95% interval, p-value, method and units (sign-flip over units)."""
    if prep.empty:
        return math.nan, math.nan, math.nan, math.nan, "none", 0
    differences = prep.assign(diff=prep["score"] - EVEN)
    units = differences.groupby("unit", sort=True, observed=True)["diff"].agg(["sum", "size"])
    test = paired_units_test(units["sum"].to_numpy(float), units["size"].to_numpy(float))
    return EVEN + test.mean_diff, EVEN + test.low, EVEN + test.high, test.p_value, test.method, test.units


def _mean_cost(prep: pd.DataFrame) -> float | None:
    """Mean USD per request over every call (a failed one costs what it was billed, often 0);
    None when a successful call's price is unknown."""
    costs = prep["cost_usd"]
    if costs[~prep["is_error"]].isna().any() or prep.empty:
        return None
    return float(costs.fillna(0.0).mean())


def _incumbent_cost(sample_ids: pd.Series, source: ReplaySource) -> float | None:
    """Mean USD of the incumbent's logged calls for the same items; None when any is unknown."""
    costs = []
    for item_id in sample_ids:
        row = source.logged.get(item_id)
        if row is None:
            return None  # the profile changed since the run: the items are no longer there
        price = source.incumbent_price or _price_of(row.get("model"))
        cost = price.cost(row.get("prompt_tokens"), row.get("completion_tokens")) if price is not None else None
        if cost is None:
            return None
        costs.append(cost)
    return sum(costs) / len(costs) if costs else None


def _price_of(model: Any) -> Any | None:
    if not isinstance(model, str) or not model:
        return None
    from evalkit.config.models import ModelConfig
    from evalkit.economics.pricing import resolve_price

    return resolve_price(ModelConfig(id=model))


def _incumbent_name(rows: pd.DataFrame, source: ReplaySource) -> str:
    names = pd.Series([(source.logged.get(i) or {}).get("model") for i in rows["sample_id"].astype(str)]).dropna()
    return str(names.value_counts().index[0]) if not names.empty else "the incumbent"


def _median(values: pd.Series) -> float | None:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.median()) if not values.empty else None


def replay_sources(config: Mapping[str, Any], workload: Any) -> list[ReplaySource]:
    """The replay suites of a run's stored ``config``, each with its profile's logged items
    read through ``workload(name)`` (`Store.workload`); a profile no longer stored gives
    no items (the incumbent's cost is then unknown)."""
    from evalkit.economics.pricing import resolve_price
    from evalkit.errors import UsageError
    from evalkit.suites.replay import PREFIX, item_id

    sources = []
    for suite in config.get("suites") or []:
        name = str(suite.get("name", ""))
        if not name.startswith(PREFIX) or suite.get("path"):
            continue
        profile = name.removeprefix(PREFIX)
        try:
            sample = workload(profile).sample or []
        except UsageError:
            sample = []
        sources.append(ReplaySource(suite=name, profile=profile, logged={item_id(row): row for row in sample},
                                    incumbent_price=_configured_price(suite.get("incumbent_price"), resolve_price)))
    return sources


def _configured_price(price: Mapping[str, Any] | None, resolve_price: Any) -> Any | None:
    if not price:
        return None
    from evalkit.config.models import ModelConfig, Price

    return resolve_price(ModelConfig(id="incumbent/logged", price=Price(**price)))


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def cost_clause(result: IncumbentComparison) -> str:
    """"at 31% of its cost", or why the share is not known."""
    share = result.cost_share
    if share is not None:
        return f"at {_pct(share)} of its cost"
    if result.cost_per_request is None:
        return f"(the cost of {result.model} is unknown)"
    return "(the incumbent's cost is unknown: give the replay suite an incumbent_price)"


def incumbent_sentence(result: IncumbentComparison) -> str:
    """The verdict's line for one candidate against the incumbent, with its numbers."""
    who = f"the incumbent ({result.incumbent})" if result.incumbent != "the incumbent" else "the incumbent"
    margin = f"{100 * result.margin:.0f}-point"
    cost = cost_clause(result)
    head = {
        "better": f"{result.model} is better than {who} on your traffic {cost}",
        "not worse": f"{result.model} is not significantly worse than {who} on your traffic {cost}",
        "within margin": f"{result.model} is slightly worse than {who} on your traffic, but within the "
                         f"{margin} margin, {cost}",
        "worse": f"{result.model} is worse than {who} on your traffic {cost}",
        "undecided": f"{result.model} cannot be told apart from {who} with {result.items} items {cost}",
    }[result.decision]
    if not result.items:
        return f"{result.model} against {who} on {result.suite}: no answer was judged"
    figures = (f"{result.wins} wins, {result.ties} ties, {result.losses} losses of {result.items} "
               f"({result.suite}; preference {result.mean:.2f} [{result.low:.2f}–{result.high:.2f}], "
               f"0.50 = as good, not worse above {EVEN - result.margin:.2f})")
    return f"{head}: {figures}"
