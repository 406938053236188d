"""Regression check: a candidate run against a baseline run, per model and suite.

Three checks per (model, suite) present in both runs, each on the items both runs
answered:

- **accuracy**: paired test of candidate minus baseline (`paired_runs`: exact McNemar for
  independent 0/1 items, otherwise the sign-flip test over clusters, or over items with
  their epochs, exact with few clusters). A regression is a drop larger than
  ``max_accuracy_drop`` that is also significant after Holm's correction over all
  accuracy checks of the comparison, so a nightly job over many models and suites does
  not cry wolf by sheer number of tests.
- **latency_p95**: relative change of the end-to-end p95 over successful calls, with a
  bootstrap interval (each run resampled on its own). A regression is an increase beyond
  ``max_latency_increase`` whose interval lies above 0. Calls timed while evalkit's own
  event loop lagged over ``LAG_LIMIT_MS`` are left out: their latency is partly the
  client's, and a busy CI machine must not read as a slower provider.
- **cost**: relative change of the cost per task, with a 95% interval from the same
  sign-flip test over the same units (clusters, or items with their epochs) as accuracy.
  A regression is an increase beyond ``max_cost_increase`` whose interval lies above 0.
  A changed price in the runs' price snapshots is named as the cause, and the change is
  split into its price and token-usage parts; costs from estimated token counts are noted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.analysis.frame import records_have_clusters
from evalkit.analysis.paired import FEW_UNITS, paired_runs
from evalkit.analysis.sign_flip import sign_flip
from evalkit.analysis.stats import ALPHA, BOOTSTRAP_B, SEED
from evalkit.economics.pricing import ModelPrice, from_snapshot, time_priced
from evalkit.errors import UsageError
from evalkit.store.database import RunRow, Store
from evalkit.store.records import ESTIMATED_MARK, LAG_LIMIT_MS

_PRICE_FIELDS = ("input", "output", "cached_input", "hourly_cost", "hourly_slots", "cache_write", "cache_write_1h",
                 "reasoning_output", "reasoning_billing", "tiers", "options", "off_peak")


@dataclass(frozen=True)
class Thresholds:
    """How much worse the candidate may be before it counts as a regression."""

    max_accuracy_drop: float = 0.02
    """Accuracy drop allowed, as a fraction (0.02 = 2 points), even when significant."""
    max_latency_increase: float = 0.20
    """Relative increase of the end-to-end p95 allowed (0.20 = 20%)."""
    max_cost_increase: float = 0.10
    """Relative increase of the cost per task allowed (0.10 = 10%)."""
    alpha: float = ALPHA
    """Significance level (family-wise over the accuracy checks, by Holm)."""


@dataclass
class Check:
    """One metric of one model on one suite, baseline against candidate."""

    model: str
    suite: str
    metric: str
    """``accuracy``, ``latency_p95`` or ``cost``."""
    n: int
    """Pairs (accuracy, cost) or calls in the candidate (latency) the check rests on."""
    baseline: float
    candidate: float
    change: float
    """accuracy: candidate minus baseline (fraction); latency and cost: relative change."""
    low: float
    """95% interval of ``change``."""
    high: float
    threshold: float
    regressed: bool = False
    p_value: float | None = None
    """accuracy only: the paired test's p-value; ``p_adjusted`` is Holm's."""
    p_adjusted: float | None = None
    method: str = ""
    cause: str = ""
    """cost only: ``price change``, ``token usage`` or both."""
    note: str = ""
    """Why a check could not be made, or what else a reader should know."""

    @property
    def skipped(self) -> bool:
        return math.isnan(self.change)


@dataclass
class RegressionReport:
    baseline: RunRow
    candidate: RunRow
    thresholds: Thresholds
    checks: list[Check]
    notes: list[str] = field(default_factory=list)
    """Models or suites only one run has, price changes, partial overlaps."""

    @property
    def regressions(self) -> list[Check]:
        return [c for c in self.checks if c.regressed]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)


def parse_fraction(text: str | float, option: str) -> float:
    """``20%`` or ``0.2`` -> 0.2; a bare number above 1 is read as percent."""
    raw = str(text).strip()
    try:
        value = float(raw.rstrip("%")) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(f"{option} {raw!r}: give a percentage such as 20% or a fraction such as 0.2") from None
    if not raw.endswith("%") and value > 1:
        value /= 100
    if value < 0 or math.isnan(value):
        raise UsageError(f"{option} {raw}: must not be negative")
    return value


# ---------------------------------------------------------------------------- use case


def resolve_baseline(store: Store, ref: str, exclude: str | None = None) -> RunRow | None:
    """The baseline a new run will be checked against, found before the run starts (so
    ``last`` and ``last:TAG`` mean an earlier run). None when there is none yet: the first
    night of a schedule has nothing to compare with. A named run that does not exist is
    bad input."""
    if ref.startswith("last:"):
        return store.last_tagged(ref.removeprefix("last:"), before=exclude)
    if ref == "last" and not store.runs(1):
        return None
    return store.run(ref)


def regress(store: Store, baseline_ref: str, candidate_ref: str, thresholds: Thresholds) -> RegressionReport:
    """Compare two stored runs; raise UsageError when they cannot be compared."""
    baseline, candidate = store.run(baseline_ref), store.run(candidate_ref)
    if baseline.run_id == candidate.run_id:
        raise UsageError(f"baseline and candidate are the same run ({baseline.run_id})")
    for run in (baseline, candidate):
        if run.shard_count:
            reported, total, _ = store.shard_progress(run.run_id)
            if reported < total:
                raise UsageError(f"run {run.run_id} is incomplete: {reported} of {total} shards have "
                                 "reported; compare it once every shard has finished")
    from evalkit.analysis.latency_tiers import split_latency

    # latency-suite records are timed, not graded: no accuracy of theirs to regress
    return check_runs(baseline, split_latency(store.records_frame(baseline.run_id))[0],
                      candidate, split_latency(store.records_frame(candidate.run_id))[0], thresholds)


def check_runs(baseline: RunRow, baseline_records: pd.DataFrame, candidate: RunRow,
               candidate_records: pd.DataFrame, thresholds: Thresholds) -> RegressionReport:
    """Every check for every (model, suite) both runs have; see the module docstring."""
    for run, records in ((baseline, baseline_records), (candidate, candidate_records)):
        if records.empty:
            raise UsageError(f"run {run.run_id} has no records to compare")
    base_groups = _groups(baseline_records)
    cand_groups = _groups(candidate_records)
    shared = sorted(base_groups & cand_groups)
    if not shared:
        raise UsageError(f"runs {baseline.run_id} and {candidate.run_id} share no model on any suite; "
                         "compare runs of the same benchmark")
    notes = [f"{model} / {suite}: only in the {side} run, not compared"
             for side, only in (("baseline", base_groups - cand_groups), ("candidate", cand_groups - base_groups))
             for model, suite in sorted(only)]
    notes += _price_notes(baseline, candidate, sorted({m for m, _ in shared}))
    checks: list[Check] = []
    for model, suite in shared:
        base = _rows(baseline_records, model, suite)
        cand = _rows(candidate_records, model, suite)
        checks.append(_accuracy_check(base, cand, model, suite, thresholds))
        checks.append(_latency_check(base, cand, model, suite, thresholds))
        checks.append(_cost_check(base, cand, model, suite, thresholds, baseline, candidate))
    _holm(checks, thresholds)
    return RegressionReport(baseline, candidate, thresholds, checks, notes)


def _groups(records: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(records["model"].astype(str), records["suite"].astype(str)))


def _rows(records: pd.DataFrame, model: str, suite: str) -> pd.DataFrame:
    mask = (records["model"].astype(str) == model) & (records["suite"].astype(str) == suite)
    return records.loc[mask]


def _item_keys(rows: pd.DataFrame) -> list[pd.Series]:
    """(sample_id, epoch) of each record: what pairs a record with its twin in the other run."""
    epoch = rows["epoch"] if "epoch" in rows else pd.Series(0, index=rows.index)
    return [rows["sample_id"].astype(str), pd.to_numeric(epoch, errors="coerce").fillna(0).astype(int)]


def _scores(rows: pd.DataFrame) -> pd.Series:
    """Scores with failed calls at 0, indexed by (sample_id, epoch)."""
    failed = rows["error_class"].notna() if "error_class" in rows else pd.Series(False, index=rows.index)
    score = pd.to_numeric(rows["score"], errors="coerce").fillna(0.0).where(~failed, 0.0)
    return score.groupby(_item_keys(rows)).mean()


# ---------------------------------------------------------------------------- checks


def _accuracy_check(base, cand, model, suite, thresholds) -> Check:
    result = paired_runs(base, cand, model, suite)
    a, b = _scores(base), _scores(cand)
    keys = a.index.intersection(b.index)
    if result.n == 0 or len(keys) == 0:
        return Check(model, suite, "accuracy", 0, math.nan, math.nan, math.nan, math.nan, math.nan,
                     thresholds.max_accuracy_drop, note="no item answered in both runs")
    notes = []
    if len(keys) < max(len(a), len(b)):
        notes.append(f"{len(keys)} of {max(len(a), len(b))} items answered in both runs")
    if result.method.startswith("sign-flip") and result.units < FEW_UNITS:
        notes.append(_few_units_note(result.units, base))
    return Check(model, suite, "accuracy", result.n, float(a[keys].mean()), float(b[keys].mean()),
                 result.mean_diff, result.low, result.high, thresholds.max_accuracy_drop,
                 p_value=result.p_value, method=result.method, note="; ".join(notes))


def _few_units_note(units: int, rows: pd.DataFrame) -> str:
    what = "clusters" if records_have_clusters(rows) else "items"
    return (f"rests on {units} independent {what}, fewer than {FEW_UNITS}: "
            "only a large change can be significant")


def _holm(checks: list[Check], thresholds: Thresholds) -> None:
    """Holm-adjust the accuracy p-values and decide the accuracy regressions."""
    tested = sorted(((c.p_value, c) for c in checks if c.metric == "accuracy" and c.p_value is not None
                     and not math.isnan(c.p_value)), key=lambda pair: pair[0])
    running = 0.0
    for rank, (p_value, check) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p_value))
        check.p_adjusted = running
        check.regressed = (check.change < -thresholds.max_accuracy_drop
                           and check.p_adjusted < thresholds.alpha)


def _latency_check(base, cand, model, suite, thresholds) -> Check:
    (x, x_lagged), (y, y_lagged) = _latencies(base), _latencies(cand)
    limit = thresholds.max_latency_increase
    lagged = x_lagged + y_lagged
    note = f"{lagged} call(s) timed under client lag left out" if lagged else ""
    if len(x) < 2 or len(y) < 2 or np.quantile(x, 0.95) <= 0:
        return Check(model, suite, "latency_p95", len(y), math.nan, math.nan, math.nan, math.nan, math.nan, limit,
                     note="; ".join(filter(None, ["fewer than 2 successful calls with a latency in a run", note])))
    p_base, p_cand = float(np.quantile(x, 0.95)), float(np.quantile(y, 0.95))
    rng = np.random.default_rng(SEED)
    ratios = _quantile_draws(y, rng) / _quantile_draws(x, rng)
    low, high = np.percentile(ratios - 1, [2.5, 97.5])
    change = p_cand / p_base - 1
    regressed = bool(change > limit and low > 0)
    return Check(model, suite, "latency_p95", len(y), p_base, p_cand, change, float(low), float(high),
                 limit, regressed=regressed, method="bootstrap", note=note)


def _latencies(rows: pd.DataFrame) -> tuple[np.ndarray, int]:
    """End-to-end times of the successful calls timed without client lag, and how many
    successful calls were left out for lag."""
    ok = rows["error_class"].isna().to_numpy() if "error_class" in rows else np.ones(len(rows), bool)
    lag = pd.to_numeric(rows["loop_lag_ms"], errors="coerce").to_numpy(float) if "loop_lag_ms" in rows \
        else np.full(len(rows), np.nan)
    lagged = ok & (lag > LAG_LIMIT_MS)
    values = pd.to_numeric(rows.loc[ok & ~lagged, "e2e_s"], errors="coerce").dropna().to_numpy(float)
    return values, int(lagged.sum())


def _quantile_draws(values: np.ndarray, rng: np.random.Generator, q: float = 0.95) -> np.ndarray:
    """p95 of BOOTSTRAP_B resamples, drawn in chunks so memory stays bounded."""
    out = np.empty(BOOTSTRAP_B)
    rows = max(1, 2_000_000 // len(values))
    for start in range(0, BOOTSTRAP_B, rows):
        stop = min(start + rows, BOOTSTRAP_B)
        idx = rng.integers(0, len(values), size=(stop - start, len(values)))
        out[start:stop] = np.quantile(values[idx], q, axis=1)
    return out


def _item_costs(rows: pd.DataFrame) -> pd.Series:
    cost = pd.to_numeric(rows["cost_usd"], errors="coerce")
    return cost.groupby(_item_keys(rows)).sum(min_count=1)


def _item_units(rows: pd.DataFrame) -> pd.Series:
    """The independent unit of each (sample_id, epoch): its cluster, else its sample (which
    holds its epochs), as in the accuracy test."""
    sample = rows["sample_id"].astype(str)
    unit = "sample:" + sample
    if "cluster" in rows:
        unit = unit.where(rows["cluster"].isna(), "cluster:" + rows["cluster"].astype(str))
    return unit.groupby(_item_keys(rows)).first()


def _cost_check(base, cand, model, suite, thresholds, baseline: RunRow, candidate: RunRow) -> Check:
    limit = thresholds.max_cost_increase
    a, b = _item_costs(base), _item_costs(cand)
    keys = a.index.intersection(b.index)
    a, b = a[keys], b[keys]
    if len(keys) == 0 or a.isna().any() or b.isna().any():
        return Check(model, suite, "cost", len(keys), math.nan, math.nan, math.nan, math.nan, math.nan,
                     limit, note="cost unknown in a run (no price), not compared")
    if a.sum() <= 0:
        return Check(model, suite, "cost", len(keys), 0.0, float(b.mean()), math.nan, math.nan, math.nan,
                     limit, note="the baseline cost nothing: no relative change")
    # per unit: candidate minus baseline, over the baseline; the ratio of the sums is the change
    unit = _item_units(base)[keys]
    per_unit = pd.DataFrame({"a": a.to_numpy(float), "b": b.to_numpy(float), "unit": unit.to_numpy()})
    per_unit = per_unit.groupby("unit", sort=True).sum()
    result = sign_flip((per_unit["b"] - per_unit["a"]).to_numpy(float), per_unit["a"].to_numpy(float),
                       bounds=(-1.0, math.inf))
    cause, note = _cost_cause(cand, keys, float(a.sum()), float(b.sum()), model, baseline, candidate)
    notes = [note] if note else []
    notes += _estimated_usage_notes(model, ((baseline, base), (candidate, cand)))
    if result.units < FEW_UNITS:
        notes.append(_few_units_note(result.units, base))
    regressed = bool(result.estimate > limit and result.low > 0)
    return Check(model, suite, "cost", len(keys), float(a.mean()), float(b.mean()), result.estimate,
                 result.low, result.high, limit, regressed=regressed, method=result.method,
                 cause=cause, note="; ".join(notes))


def _estimated_usage_notes(model: str, runs) -> list[str]:
    """Which run's costs rest on token counts evalkit estimated (no usage reported); a model
    priced by machine time is costed by the hour, not by its tokens."""
    out = []
    for (run, rows), name in zip(runs, ("baseline", "candidate")):
        if "usage_source" not in rows or model in time_priced(run.price_snapshot):
            continue
        estimated = int((rows["usage_source"] == "estimated").sum())
        if estimated:
            out.append(f"{ESTIMATED_MARK} {name}: {estimated} of {len(rows)} calls costed from estimated "
                       "token counts (no usage reported)")
    return out


def _cost_cause(cand: pd.DataFrame, keys, base_total: float, cand_total: float, model: str,
                baseline: RunRow, candidate: RunRow) -> tuple[str, str]:
    """Split a cost change into price and token usage when the price changed."""
    old = from_snapshot(baseline.price_snapshot).get(model)
    new = from_snapshot(candidate.price_snapshot).get(model)
    if old is None or new is None or not _price_changed(old, new) or not old.known:
        return "token usage", ""
    at_old = _recost(cand, old)
    if at_old is None:
        return "price change", ""
    at_old_total = float(at_old.groupby(_item_keys(cand)).sum()[keys].sum())
    price_part = cand_total / at_old_total - 1 if at_old_total > 0 else math.nan
    usage_part = at_old_total / base_total - 1
    cause = "price change" if abs(usage_part) < 0.01 else "price change and token usage"
    return cause, f"price {_signed_pct(price_part)}, token usage {_signed_pct(usage_part)}"


def _recost(rows: pd.DataFrame, price: ModelPrice) -> pd.Series | None:
    """What the candidate's calls would have cost at the baseline's price."""
    # every rule of the price, as the run's calls were costed (tiers, cache writes, reasoning)
    values = pd.Series([price.record_cost(row) for row in rows.to_dict("records")], index=rows.index,
                       dtype=float)
    return None if values.isna().any() else values


def _price_changed(old: ModelPrice, new: ModelPrice) -> bool:
    return any(getattr(old, name) != getattr(new, name) for name in _PRICE_FIELDS)


def _price_notes(baseline: RunRow, candidate: RunRow, models: list[str]) -> list[str]:
    old_prices = from_snapshot(baseline.price_snapshot)
    new_prices = from_snapshot(candidate.price_snapshot)
    notes = []
    for model in models:
        old, new = old_prices.get(model), new_prices.get(model)
        if old is not None and new is not None and _price_changed(old, new):
            notes.append(f"{model}: price changed from {old.describe()} ({old.source}, {old.as_of}) "
                         f"to {new.describe()} ({new.source}, {new.as_of})")
    return notes


def _signed_pct(value: float) -> str:
    if math.isnan(value):
        return "unknown"
    return f"{'−' if value < 0 else '+'}{abs(100 * value):.1f}%"
