"""Latency per tier: the latency suite's records as TTFT, output speed, ITL and E2E per
model, tier and concurrency, beside the run's benchmark latency.

Latency-suite records (suite ``latency`` or ``latency:PROFILE``) are timed, not graded:
`split_latency` takes them out of the records every other analysis reads, so they never
move accuracy, the verdict's "good" or the benchmark's own latency figures. The figures
follow the per-call definitions of `evalkit.store.records` (through `evalkit.analysis.frame`):
medians over the tier's successful calls, each with its n. The answer length asked for is
the tier's (its max_tokens); the answer tokens actually received are reported, since a
model may stop sooner (speed and ITL are per-token figures, so a shorter answer still
measures them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evalkit.analysis.frame import prepare
from evalkit.suites.latency import is_latency_suite, parse_item


@dataclass(frozen=True)
class TierRow:
    """One model at one tier and concurrency."""

    model: str
    suite: str
    tier: str
    prompt_tokens: int
    """The prompt size the tier asks for (the user message's tokens)."""
    answer_tokens: int
    """The answer size asked for (max_tokens)."""
    concurrency: int
    n: int
    """Successful calls the medians are over."""
    errors: int
    skipped: str | None = None
    """Why the tier was not sent to the model (its context window), or None."""
    ttft_p50: float | None = None
    speed_p50: float | None = None
    speed_n: int = 0
    itl_p50: float | None = None
    e2e_p50: float | None = None
    received_p50: float | None = None
    """Median answer tokens received (the provider's count)."""
    billed_prompt_p50: float | None = None
    """Median prompt tokens the provider counted (the user message plus its chat template)."""


@dataclass
class LatencyTiers:
    records: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    """The latency suites' records as stored (the run folder's records.jsonl keeps them too)."""
    rows: list[TierRow] = field(default_factory=list)
    prompts: dict[str, str] = field(default_factory=dict)
    """Per model, how its prompts were built: exact tokens of which tokenizer, or a character budget."""
    benchmark: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """Per model, the benchmark suites' latency: ``ttft_p50``, ``speed_p50``, ``itl_p50``, ``e2e_p50``."""


def latency_mask(records: pd.DataFrame) -> pd.Series:
    """Which records belong to a latency suite."""
    if "suite" not in records.columns or records.empty:
        return pd.Series(False, index=records.index)
    suites = records["suite"]
    # asked once per suite name, not once per record (a million records name two suites)
    latency = [name for name in suites.dropna().unique() if is_latency_suite(str(name))]
    return suites.isin(latency)


def split_latency(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the benchmark records, the latency-suite records)."""
    mask = latency_mask(records)
    if not mask.any():  # most runs: the records as they are, not a copy of every column
        return records, records.iloc[:0]
    return records[~mask], records[mask]


def latency_tiers(latency: pd.DataFrame, benchmark_by_model: pd.DataFrame | None = None) -> LatencyTiers | None:
    """The per-tier table of a run's latency-suite records; None when it ran none.
    ``benchmark_by_model``: the summary's per-model frame of the other suites."""
    if latency.empty:
        return None
    prep = _with_tiers(_latest(latency))
    out = LatencyTiers(records=latency, benchmark=_benchmark(benchmark_by_model))
    for (model, suite, key), group in prep.groupby(["model", "suite", "tier_key"], observed=True, sort=False):
        out.rows.append(_row(str(model), str(suite), key, group))
    out.rows.sort(key=lambda r: (r.model, r.suite, r.prompt_tokens, r.answer_tokens, r.concurrency))
    for model, group in prep.groupby("model", observed=True):
        how = sorted({str(d) for d in group["score_detail"] if isinstance(d, str) and d})
        out.prompts[str(model)] = _prompt_mode(how)
    return out


def _latest(latency: pd.DataFrame) -> pd.DataFrame:
    """One record per key: a resumed run may hold a key twice (a tier skipped again), so
    its success, else its last record."""
    ranked = latency.assign(_ok=latency["error_class"].isna()).sort_values("_ok", kind="stable")
    return ranked.drop_duplicates(["model", "suite", "sample_id", "epoch"], keep="last").drop(columns="_ok")


def _with_tiers(latency: pd.DataFrame) -> pd.DataFrame:
    """The analysis frame of the records whose id names a tier, with its ``tier_key``
    (tier, prompt tokens, answer tokens, concurrency) and the two text columns read here."""
    prep = prepare(latency)
    for name in ("score_detail", "error_message"):
        prep[name] = latency[name].to_numpy() if name in latency else None
    items = {index: parse_item(sample_id) for index, sample_id in prep["sample_id"].astype(str).items()}
    keys = {i: (it.tier, it.prompt_tokens, it.answer_tokens, it.concurrency) for i, it in items.items() if it}
    prep = prep.loc[list(keys)]
    prep["tier_key"] = [keys[i] for i in prep.index]
    return prep


def _benchmark(by_model: pd.DataFrame | None) -> dict[str, dict[str, float | None]]:
    if by_model is None or by_model.empty:
        return {}
    return {str(row["model"]): {name: _num(row.get(name)) for name in ("ttft_p50", "speed_p50", "itl_p50", "e2e_p50")}
            for _, row in by_model.iterrows()}


def _row(model: str, suite: str, key: tuple, group: pd.DataFrame) -> TierRow:
    tier, prompt_tokens, answer_tokens, concurrency = key
    ok = group[~group["is_error"]]
    skipped = group[group["error_class"] == "skipped"]
    reason = str(skipped["error_message"].iloc[0]) if len(skipped) == len(group) and len(group) else None
    return TierRow(
        model=model, suite=suite, tier=tier, prompt_tokens=prompt_tokens, answer_tokens=answer_tokens,
        concurrency=concurrency, n=len(ok), errors=int(group["is_error"].sum()) - len(skipped), skipped=reason,
        ttft_p50=_median(ok["ttft_s"]), speed_p50=_median(ok["output_speed_tps"]),
        speed_n=int(ok["output_speed_tps"].count()), itl_p50=_median(ok["itl_s"]), e2e_p50=_median(ok["e2e_s"]),
        received_p50=_median(ok["completion_tokens"]), billed_prompt_p50=_median(ok["prompt_tokens"]),
    )


def _prompt_mode(how: list[str]) -> str:
    """One line per model: ``exact tokens (o200k_base, +7 chat-template tokens)`` or the budget."""
    kinds = sorted({line.split(":", 1)[0] for line in how})
    if not how:
        return "unknown (no call answered)"
    if kinds == ["exact"]:
        detail = how[0].split(" of ", 1)[1] if " of " in how[0] else how[0]
        return f"exact tokens of {detail}"
    if kinds == ["character budget"]:
        reason = how[0].rsplit("(", 1)[-1].rstrip(")")
        return f"character budget ({reason})"
    return "mixed: " + "; ".join(how)


def _median(values: pd.Series) -> float | None:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.median()) if len(values) else None


def _num(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if number != number else number
