"""The verdict: which model is good, fast, cheap and the best value, in sentences with numbers.

Picks rest on the summary (`evalkit.analysis.summary`) and on paired tests of every model
against the most accurate one (`evalkit.analysis.paired`): a model counts as accurate as
the best unless it is significantly below it. Models none of whose calls succeeded take
part in no pick and no frontier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.analysis.frame import prepare, records_have_clusters
from evalkit.analysis.frontier import frontier
from evalkit.analysis.paired import FEW_UNITS, PairedResult, paired_prepared, side_of
from evalkit.analysis.stats import ALPHA
from evalkit.analysis.summary import Summary
from evalkit.store.records import ESTIMATED_MARK, LAG_LIMIT_MS

LAG_SHARE_OF_LATENCY = 0.02
"""The fast pick takes a model's median latency as its provider's only when its median call
was timed under at most max(`LAG_LIMIT_MS`, this share of the model's median end-to-end
latency) of evalkit's own client lag. A call's client lag bounds how much of its latency
is evalkit's queueing; beyond the bound the figure is partly evalkit's, and the verdict
does not name the model fast on it."""


@dataclass
class VerdictLine:
    """One line of the verdict: the pick, a sentence to print, the numbers behind it."""

    model: str | None
    """The model picked, or None when the data cannot decide (e.g. all prices unknown)."""
    sentence: str
    """Plain English with the numbers, ready to print."""
    numbers: dict[str, Any] = field(default_factory=dict)
    """The figures quoted in the sentence, unrounded, for reports that format their own."""


@dataclass
class Verdict:
    """Which model is good, fast, cheap and the best value, and the frontiers behind it."""

    good: VerdictLine
    """Highest accuracy."""
    fast: VerdictLine
    """Lowest median end-to-end latency among models not significantly less accurate than
    the best, leaving out (and naming) those timed under client lag beyond the bound of
    `LAG_SHARE_OF_LATENCY`."""
    cheap: VerdictLine
    """Lowest cost per 1,000 tasks among models not significantly less accurate than the
    best."""
    best_value: VerdictLine
    """Lowest cost per correct answer among models with a known price."""
    frontier_cost: list[str]
    """Pareto frontier of cost per 1,000 tasks vs accuracy, cheapest first."""
    frontier_latency: list[str]
    """Pareto frontier of median end-to-end latency vs accuracy, fastest first."""
    indistinguishable: dict[str, list[str]]
    """``{best model: [models whose accuracy is not significantly below it]}``."""
    comparisons: dict[str, PairedResult] = field(default_factory=dict)
    """Paired test of each other model against the best (other minus best)."""
    notes: list[str] = field(default_factory=list)
    """What a reader must know to weigh the picks (e.g. tests resting on few clusters)."""
    unanswered: dict[str, str] = field(default_factory=dict)
    """Models none of whose calls succeeded (a bad key, a wrong URL), each with how its
    calls failed. They are left out of every pick and frontier: failed calls cost $0 and
    take no time, which would make such a model look cheapest."""
    incumbent: list[VerdictLine] = field(default_factory=list)
    """Each candidate against the model run today, on a replay suite of the user's traffic
    (`evalkit.analysis.incumbent`); empty for a run without one."""

    @property
    def nothing_answered(self) -> bool:
        """No model had a single successful call: there is nothing to judge."""
        return bool(self.unanswered) and self.good.model is None


def verdict(records: pd.DataFrame, summary: Summary) -> Verdict:
    """Name the good, fast, cheap and best-value models, with the evidence.

    good: highest accuracy. cheap / fast: lowest cost per 1,000 tasks / lowest median
    end-to-end latency among the best model and those whose accuracy is not significantly
    below it (paired test against the best, p >= 0.05, or not lower); fast leaves out, and
    names, models whose latency was timed under client lag beyond `LAG_SHARE_OF_LATENCY`.
    best value: lowest cost per correct answer among models with a known price, whatever
    their accuracy. A model with no successful call takes part in none of these
    (`Verdict.unanswered`); when no model has one, every line says there is no verdict and why.
    """
    by_model = summary.by_model
    if by_model.empty:
        empty = VerdictLine(None, "no records to judge")
        return Verdict(empty, empty, empty, empty, [], [], {})
    prep = prepare(records)
    unanswered = _unanswered(prep, by_model)
    # cheap and fast pick from the pool of answering models, but say "the only model
    # compared" only when it was
    everyone, by_model = by_model, by_model[~by_model["model"].isin(list(unanswered))]
    if by_model.empty:
        reasons = "; ".join(f"{model}: {reason}" for model, reason in unanswered.items())
        none = VerdictLine(None, f"no verdict — no model had a successful call, so there is nothing to "
                                 f"judge ({reasons})")
        return Verdict(none, none, none, none, [], [], {}, unanswered=unanswered)
    best = _rank_best(by_model)
    tied, tests = _tied_with_best(prep, by_model, best)
    pool = [best, *tied]
    return Verdict(
        good=_good_line(by_model.loc[by_model["model"] == best].iloc[0]),
        fast=_fast_line(everyone, pool, best, tests, _lag_distorted(prep, by_model)),
        cheap=_cheap_line(everyone, pool, best, tests),
        best_value=_value_line(by_model),
        frontier_cost=frontier(by_model, "cost_per_1k_tasks"),
        frontier_latency=frontier(by_model, "e2e_p50"),
        indistinguishable={best: tied},
        comparisons=tests,
        notes=few_units_notes(prep, tests, best),
        unanswered=unanswered,
    )


def few_units_notes(prep: pd.DataFrame, tests: dict[str, PairedResult], best: str) -> list[str]:
    """A warning when the verdict rests on fewer than `FEW_UNITS` independent units: the
    sign-flip tests stay exact there, but have little power, and intervals are rough."""
    clustered = records_have_clusters(prep)
    if not tests:  # one model: no test, but its interval rests on its clusters
        units = len(prep.loc[prep["model"] == best, ["suite", "unit"]].drop_duplicates())
        if not clustered or units >= FEW_UNITS:
            return []
        return [f"few clusters: the accuracy of {best} rests on {units} independent clusters of items, "
                f"fewer than {FEW_UNITS}, so its interval is rough; more clusters, not more items per "
                "cluster, would make it surer"]
    counts = sorted({t.units for t in tests.values() if t.method.startswith("sign-flip") and t.units < FEW_UNITS})
    if not counts:
        return []
    k = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    label, what, more = (("few clusters", "clusters of items", "more clusters, not more items per cluster")
                         if clustered else ("few items", "items", "more items, not more epochs"))
    hopeless = ""
    if counts[0] <= 5:  # 2^k sign patterns: the smallest two-sided p is 2 / 2^k
        hopeless = f" (with {counts[0]}, none can: the smallest possible p is {2 / 2 ** counts[0]:.2g})"
    return [f"{label}: the paired tests against {best} rest on {k} independent {what}, fewer than "
            f"{FEW_UNITS}; the sign-flip test stays exact, but only large differences can be significant"
            f"{hopeless} and accuracy intervals are rough; {more}, would make the picks surer"]


def _unanswered(prep: pd.DataFrame, by_model: pd.DataFrame) -> dict[str, str]:
    """Models whose every call failed, with their error classes: ``10 of 10 calls failed (auth 1, skipped 9)``."""
    failed = by_model.loc[by_model["errors"] >= by_model["n"], ["model", "n"]]
    out = {}
    for model, n in zip(failed["model"], failed["n"]):
        classes = prep.loc[prep["model"] == model, "error_class"].astype(str).value_counts().sort_index()
        detail = ", ".join(f"{name} {count}" for name, count in classes.items())
        out[str(model)] = f"{int(n):,} of {int(n):,} calls failed ({detail})"
    return out


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _pts(diff: float) -> str:
    """Signed percentage points with a true minus sign."""
    text = f"{abs(100 * diff):.1f}"
    if text == "0.0":
        return "±0.0 pts"
    return f"{'−' if diff < 0 else '+'}{text} pts"


def _p(p: float) -> str:
    if p < 0.001:
        return "p<0.001"
    return f"p={p:.2f}" if p >= 0.1 else f"p={p:.2g}"


def _money(v: float) -> str:
    """Dollars with cents, or three significant digits below a cent."""
    if v == 0 or abs(v) >= 0.01:
        return f"${v:,.2f}"
    decimals = -math.floor(math.log10(abs(v))) + 2
    return f"${v:.{decimals}f}"


def _seconds(v: float) -> str:
    return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"


def _rank_best(by_model: pd.DataFrame) -> str:
    """Highest accuracy; ties go to the cheaper, then the alphabetically first model."""
    order = by_model.sort_values(
        ["accuracy", "cost_per_1k_tasks", "model"], ascending=[False, True, True],
        na_position="last")
    return str(order.iloc[0]["model"])


def _tied_with_best(prep: pd.DataFrame, by_model: pd.DataFrame, best: str
                    ) -> tuple[list[str], dict[str, PairedResult]]:
    """Models whose accuracy is not significantly below the best's (paired test)."""
    best_acc = float(by_model.loc[by_model["model"] == best, "accuracy"].iloc[0])
    tied, tests = [], {}
    best_side = side_of(prep, best)
    for other in by_model["model"]:
        if other == best:
            continue
        result = paired_prepared(prep, other, best, best_side)
        tests[other] = result
        acc = float(by_model.loc[by_model["model"] == other, "accuracy"].iloc[0])
        if acc >= best_acc or result.p_value >= ALPHA or result.mean_diff >= 0:
            tied.append(other)
    return tied, tests


def _good_line(row: pd.Series) -> VerdictLine:
    numbers = {k: row[k] for k in ("accuracy", "accuracy_low", "accuracy_high", "n")}
    sentence = (f"good: {row['model']} — {_pct(row['accuracy'])} accuracy "
                f"(95% CI {100 * row['accuracy_low']:.1f}–{_pct(row['accuracy_high'])}, "
                f"n={int(row['n']):,})")
    return VerdictLine(str(row["model"]), sentence, numbers)


def _versus_best(model: str, best: str, tests: dict[str, PairedResult], single: bool) -> str:
    """The significance clause of a cheap/fast line."""
    if single:
        return "the only model compared"
    if model == best:
        return "the most accurate model"
    t = tests[model]
    return f"accuracy not significantly below {best} ({_pts(t.mean_diff)}, {_p(t.p_value)})"


def _pick_lowest(by_model: pd.DataFrame, models: Sequence[str], column: str) -> pd.Series | None:
    rows = by_model[by_model["model"].isin(models)].dropna(subset=[column])
    if rows.empty:
        return None
    return rows.sort_values([column, "accuracy", "model"], ascending=[True, False, True]).iloc[0]


def _cheap_line(by_model: pd.DataFrame, pool: list[str], best: str,
                tests: dict[str, PairedResult]) -> VerdictLine:
    row = _pick_lowest(by_model, pool, "cost_per_1k_tasks")
    if row is None:
        if by_model["cost_per_1k_tasks"].isna().all():
            return VerdictLine(None, "cheap: undecided — prices are unknown for every model, "
                                     "so cost cannot be compared")
        return VerdictLine(None, "cheap: undecided — prices are unknown for every model as "
                                 f"accurate as {best} ({', '.join(pool)})")
    model = str(row["model"])
    clause = _versus_best(model, best, tests, single=len(by_model) == 1)
    numbers = {"cost_per_1k_tasks": row["cost_per_1k_tasks"], "accuracy": row["accuracy"]}
    if model in tests:
        numbers.update(diff_vs_best=tests[model].mean_diff, p_value=tests[model].p_value)
    sentence = (f"cheap: {model} — {_cost(row, 'cost_per_1k_tasks')} per 1,000 tasks, {clause}"
                f"{_estimate_clause(by_model, pool, model)}")
    return VerdictLine(model, sentence, numbers)


def _cost(row: pd.Series, column: str) -> str:
    """Dollars, marked when they rest on estimated token counts."""
    mark = ESTIMATED_MARK if row.get("cost_estimated", 0) > 0 else ""
    return f"{mark}{_money(row[column])}"


def _estimate_clause(by_model: pd.DataFrame, compared: Sequence[str], pick: str) -> str:
    """Says when a cost pick rests on estimated token counts: the pick's own, or a rival's."""
    if "cost_estimated" not in by_model:
        return ""
    rows = by_model[by_model["model"].isin(compared) & by_model["cost_total"].notna()]
    estimated = [str(m) for m, k in zip(rows["model"], rows["cost_estimated"]) if k > 0]
    if not estimated:
        return ""
    if estimated == [pick]:
        return " (cost from estimated token counts: the provider reported no usage)"
    return (f" (the comparison rests on estimated token counts for {', '.join(estimated)}: "
            "no usage reported)")


def _lag_distorted(prep: pd.DataFrame, by_model: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Models whose median latency is partly evalkit's own client lag (`LAG_SHARE_OF_LATENCY`):
    model -> (share of its successful calls over the bound, the bound in ms)."""
    ok = prep.loc[~prep["is_error"] & prep["loop_lag_ms"].notna(), ["model", "loop_lag_ms"]]
    p50 = dict(zip(by_model["model"].astype(str), by_model["e2e_p50"]))
    out = {}
    for model, lags in ok.groupby("model", observed=True)["loop_lag_ms"]:
        latency_ms = 1000 * p50.get(str(model), np.nan)
        bound = max(LAG_LIMIT_MS, LAG_SHARE_OF_LATENCY * latency_ms) if latency_ms == latency_ms else LAG_LIMIT_MS
        over = float((lags.to_numpy() > bound).mean())
        if over > 0.5:  # the median call itself was timed under more lag than the bound
            out[str(model)] = (over, bound)
    return out


def _lag_clause(distorted: dict[str, tuple[float, float]]) -> str:
    parts = ", ".join(f"{model} ({over:.0%} of calls over {bound:.0f} ms)"
                      for model, (over, bound) in distorted.items())
    return (f"not named on latency timed under evalkit's own client lag: {parts}; their median "
            "latency is partly evalkit's queueing (re-run them with fewer in flight, or on a quieter machine)")


def _fast_line(by_model: pd.DataFrame, pool: list[str], best: str,
               tests: dict[str, PairedResult], distorted: dict[str, tuple[float, float]] | None = None
               ) -> VerdictLine:
    distorted = {m: v for m, v in (distorted or {}).items() if m in pool}
    row = _pick_lowest(by_model, [m for m in pool if m not in distorted], "e2e_p50")
    if row is None:
        if distorted:
            return VerdictLine(None, f"fast: undecided — {_lag_clause(distorted)}",
                               {"lag_distorted": sorted(distorted)})
        return VerdictLine(None, "fast: undecided — no successful call measured an "
                                 "end-to-end latency")
    model = str(row["model"])
    clause = _versus_best(model, best, tests, single=len(by_model) == 1)
    numbers = {k: row[k] for k in ("e2e_p50", "e2e_p95", "latency_n", "accuracy")}
    if model in tests:
        numbers.update(diff_vs_best=tests[model].mean_diff, p_value=tests[model].p_value)
    sentence = (f"fast: {model} — {_seconds(row['e2e_p50'])} median end-to-end "
                f"(p95 {_seconds(row['e2e_p95'])}, n={int(row['latency_n']):,}), {clause}")
    if distorted:
        numbers["lag_distorted"] = sorted(distorted)
        sentence += f"; {_lag_clause(distorted)}"
    return VerdictLine(model, sentence, numbers)


def _value_line(by_model: pd.DataFrame) -> VerdictLine:
    if by_model["cost_total"].isna().all():
        return VerdictLine(None, "best value: undecided — prices are unknown for every model, "
                                 "so cost per correct answer cannot be compared")
    row = _pick_lowest(by_model, list(by_model["model"]), "cost_per_correct")
    if row is None:
        return VerdictLine(None, "best value: undecided — no priced model answered correctly")
    numbers = {k: row[k] for k in ("cost_per_correct", "accuracy", "cost_per_1k_tasks")}
    sentence = (f"best value: {row['model']} — {_cost(row, 'cost_per_correct')} per correct "
                f"answer ({_pct(row['accuracy'])} accuracy, "
                f"{_cost(row, 'cost_per_1k_tasks')} per 1,000 tasks)"
                f"{_estimate_clause(by_model, list(by_model['model']), str(row['model']))}")
    return VerdictLine(str(row["model"]), sentence, numbers)
