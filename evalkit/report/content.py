"""What a decision report says, worked out once; Markdown, HTML and PDF only lay it out.

`build_content(analysis, volume)` turns a `RunAnalysis` into plain strings and rows:
the executive summary (the verdict in sentences with the numbers behind them and the
"indistinguishable from" caveats), the scorecard with the best cell of each column, the
per-suite table, the monthly cost projection, the procurement facts, the methodology and
the items the models disagree on (as Arrow columns: `evalkit.report.disagreements`).
Every format renders this one object, so they cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.economics.volume import Volume, monthly_costs
from evalkit.report.code import CODE_NOTE, CODE_TITLE, code_table
from evalkit.report.definitions import METRIC_DEFINITIONS
from evalkit.report.disagreements import Disagreements, find_disagreements, shown_samples
from evalkit.report.facts import FIELDS as FACT_FIELDS
from evalkit.report.facts import FactsRow, facts_rows
from evalkit.report.families import TITLE as FAMILIES_TITLE
from evalkit.report.families import HostComparison, host_comparisons
from evalkit.report.incumbent import TITLE as INCUMBENT_TITLE
from evalkit.report.incumbent import incumbent_lines, incumbent_note, incumbent_table
from evalkit.report.latency_tiers import LATENCY_TITLE, latency_notes, latency_table
from evalkit.report.selfhosting import TITLE as SELF_HOSTING_TITLE
from evalkit.report.selfhosting import SelfHosted, self_hosting
from evalkit.report.tables import (
    SCORECARD,
    THINKING_TITLE,
    Table,
    cost_cell,
    estimated_legend,
    scorecard_rows,
    usd,
)
from evalkit.report.tasks import TASKS_NOTE, TASKS_TITLE, tasks_table
from evalkit.report.thinking import thinking_notes, thinking_sentences, thinking_table
from evalkit.report.workload_bill import WorkloadBill
from evalkit.store.records import ESTIMATED_MARK

SECTIONS = [
    "Executive summary", "Charts", "Scorecard", "Projected monthly cost", "Procurement facts",
    "Methodology", "Where models disagree",
]
"""Section titles, in order, the same in every format. Runs with a capacity-priced model
also get `SELF_HOSTING_TITLE` after "Projected monthly cost"; runs with two or more hosts
of the same weights get `FAMILIES_TITLE` after "Scorecard"."""

BEST_RULE = {  # scorecard column -> which way is better
    "Accuracy [95% CI]": ("accuracy", "max"), "TTFT p50": ("ttft_p50", "min"), "E2E p50": ("e2e_p50", "min"),
    "E2E p95": ("e2e_p95", "min"), "Speed p50": ("speed_p50", "max"), "ITL p50": ("itl_p50", "min"),
    "$ / 1k tasks": ("cost_per_1k_tasks", "min"),
    "$ / correct": ("cost_per_correct", "min"), "Errors": ("error_rate", "min"),
}
@dataclass
class ReportContent:
    title: str
    run_line: str
    models: list[str]
    """Every model, most accurate first."""
    summary: list[str]
    """Executive summary paragraphs, plain text."""
    scorecard: Table
    suites: Table
    volume: Volume
    monthly: Table
    monthly_rows: list[dict[str, Any]]
    monthly_note: str
    facts: list[FactsRow]
    facts_table: Table
    methodology: list[tuple[str, str]]
    """(label, text) lines: run, suites, scorers, options, dates, hash, version."""
    suite_sizes: Table
    prices: Table
    definitions: list[tuple[str, str]]
    disagreements: Disagreements
    """The items the models disagree on, as columns (`evalkit.report.disagreements`)."""
    disagreement_note: str
    analysis: RunAnalysis = field(repr=False)
    self_hosting: list[SelfHosted] = field(default_factory=list)
    """Capacity-priced models projected against the APIs; empty: no "Self-hosting vs APIs" section."""
    cost_legend: str = ""
    """What the estimated-cost mark in the tables means and which models carry it; "" when none."""
    thinking: Table = field(default_factory=lambda: Table([], []))
    """Both clocks, thinking tokens and truncations of the thinking candidates (and of any
    model max_tokens cut); no rows: the report has no "Thinking and truncation" part."""
    thinking_notes: list[str] = field(default_factory=list)
    families: list[HostComparison] = field(default_factory=list)
    """Families with two or more of the run's models, their hosts compared; empty: no such section."""
    tasks: Table = field(default_factory=lambda: Table([], []))
    """Multi-turn tasks per model and suite; no rows: the report has no "Multi-turn tasks" part."""
    code: Table = field(default_factory=lambda: Table([], []))
    """pass@k of the code suites per model; no rows: the report has no "Code suites" part."""
    latency: Table = field(default_factory=lambda: Table([], []))
    """Latency per tier beside the benchmark's; no rows: no "Latency at your prompt sizes" part."""
    latency_notes: list[str] = field(default_factory=list)
    """How each model's latency prompts were built (exact tokens or a character budget), and what the figures mean."""
    workload_bill: WorkloadBill | None = None
    """The bill for a workload profile (``--workload``); None: no "Your workload" section."""
    incumbent: Table = field(default_factory=lambda: Table([], []))
    """Each candidate against the logged answers of a replay suite; no rows: no "Against what
    you run today" section (`evalkit.report.incumbent`)."""
    incumbent_lines: list[str] = field(default_factory=list)
    incumbent_note: str = ""

    def all_text(self) -> str:
        """Every character any format may print (for the font subset)."""
        return "".join(itertools.chain(self._texts(), self.disagreements.texts()))

    def characters(self) -> str:
        """Each character of `all_text` once, the disagreements' read off their columns
        (a million answers are never Python strings at once)."""
        seen: set[str] = set()
        for text in self._texts():
            seen.update(text)
        return "".join(sorted(seen | self.disagreements.characters()))

    def _texts(self) -> Iterator[str]:
        """Every text but the disagreements'."""
        yield from (self.title, self.run_line, *self.models, *self.summary, self.monthly_note,
                    self.disagreement_note, self.cost_legend, THINKING_TITLE, *self.thinking_notes, TASKS_TITLE,
                    TASKS_NOTE, CODE_TITLE, CODE_NOTE, INCUMBENT_TITLE, *self.incumbent_lines, self.incumbent_note,
                    LATENCY_TITLE, *self.latency_notes)
        for table in (self.scorecard, self.suites, self.monthly, self.facts_table, self.suite_sizes, self.prices,
                      self.thinking, self.tasks, self.code, self.incumbent, self.latency):
            yield from table.headers
            yield from (c for row in table.rows for c in row)
        yield from (t for pair in self.methodology + self.definitions for t in pair)
        for hosted in self.self_hosting:
            yield from (SELF_HOSTING_TITLE, *hosted.text())
        for comparison in self.families:
            yield from (FAMILIES_TITLE, *comparison.text())
        if self.workload_bill is not None:
            yield from self.workload_bill.text()


def build_content(analysis: RunAnalysis, volume: Volume, workload: WorkloadBill | None = None) -> ReportContent:
    run, summary = analysis.run, analysis.summary
    by_model = summary.by_model
    started = _when(run.started_at)
    finished = _when(run.finished_at) if run.finished_at else "not finished"
    monthly_rows = monthly_costs(by_model, volume, _hourly(run.price_snapshot))
    for row in monthly_rows:  # not offered: said so, never costed at the standard price
        if row["model"] in analysis.unavailable:
            row["note"] = f"unavailable: no {analysis.purchase.option} price"
    facts = facts_rows(run)
    samples = shown_samples(run.config, analysis.store_url)
    disagreements, note = find_disagreements(analysis, samples)
    return ReportContent(
        title=f"Which model to buy: evalkit run {run.run_id}",
        run_line=(f"Run {run.run_id} · {started} → {finished} · status {run.status} · "
                  f"config {run.config_hash} · evalkit {run.evalkit_version}"),
        models=[str(m) for m in by_model["model"]],
        summary=executive_summary(analysis) + thinking_sentences(analysis)
        + [line.sentence for line in analysis.verdict.incumbent],
        scorecard=_scorecard(by_model),
        suites=_suite_table(summary.by_model_suite),
        volume=volume,
        monthly=_monthly_table(monthly_rows, volume),
        monthly_rows=monthly_rows,
        monthly_note=_monthly_note(volume, monthly_rows, analysis),
        facts=facts,
        facts_table=Table([h for h, _ in FACT_FIELDS], [[getattr(f, a) for _, a in FACT_FIELDS] for f in facts]),
        methodology=_methodology(analysis, started, finished),
        suite_sizes=_suite_sizes(analysis, samples),
        prices=price_table(run.price_snapshot),
        definitions=list(METRIC_DEFINITIONS),
        disagreements=disagreements,
        disagreement_note=note,
        analysis=analysis,
        self_hosting=self_hosting(run, volume),
        cost_legend=estimated_legend(by_model),
        thinking=thinking_table(analysis),
        thinking_notes=thinking_notes(analysis),
        families=_host_comparisons(analysis),
        tasks=tasks_table(analysis),
        code=code_table(analysis),
        latency=latency_table(analysis),
        latency_notes=latency_notes(analysis),
        workload_bill=workload,
        incumbent=incumbent_table(analysis),
        incumbent_lines=incumbent_lines(analysis),
        incumbent_note=incumbent_note(analysis) if analysis.incumbent else "",
    )


# ---------------------------------------------------------------------------- summary


def executive_summary(analysis: RunAnalysis) -> list[str]:
    by_model, verdict = analysis.summary.by_model, analysis.verdict
    if by_model.empty:
        return ["The run has no records: nothing to judge."]
    if verdict.nothing_answered:
        return [f"No verdict: {verdict.good.sentence.split('— ', 1)[-1]}."]
    unanswered = verdict.unanswered
    rows = {str(r["model"]): r for _, r in by_model.iterrows() if str(r["model"]) not in unanswered}
    best = verdict.good.model
    assert best is not None  # some model answered, so one is the most accurate
    b = rows[best]
    tied = verdict.indistinguishable.get(best, [])
    out = [f"Good: {best} is the most accurate model, {_pct(b['accuracy'])} of items right "
           f"(95% CI {_pct(b['accuracy_low'])}–{_pct(b['accuracy_high'])}, n={int(b['n']):,})."]
    if len(rows) > 1:
        out.append(
            f"Statistically indistinguishable from {best} on these items (paired test, p ≥ 0.05): "
            f"{', '.join(tied)}." if tied else
            f"Every other model is significantly less accurate than {best} (paired test, p < 0.05).")
    explained: set[str] = set()
    for role, line in (("Cheap", verdict.cheap), ("Fast", verdict.fast), ("Best value", verdict.best_value)):
        out.append(_role_sentence(role, line, best, rows, verdict.comparisons, brief=line.model in explained))
        if line.model is not None:
            explained.add(line.model)
    out += [f"Left out of the verdict: {model}, none of whose calls succeeded ({reason})."
            for model, reason in unanswered.items()]
    out += _purchase_sentences(analysis)
    out.append(_evidence(by_model))
    out += _warnings(by_model)
    out += [note[0].upper() + note[1:] + "." for note in verdict.notes]
    return out


def _purchase_sentences(analysis: RunAnalysis) -> list[str]:
    """What the costs assume, when it is not what each call measured."""
    purchase = analysis.purchase
    if purchase.as_measured:
        return []
    out = [f"Every cost in this report assumes the {purchase.describe()}, not the costs the calls were "
           "measured at."]
    if analysis.unavailable:
        out.append(f"Unavailable at the {purchase.option} price (no such price; not costed at the standard "
                   f"price): {', '.join(analysis.unavailable)}.")
    return out


def _role_sentence(role: str, line: Any, best: str, rows: dict, comparisons: dict, brief: bool = False) -> str:
    if line.model is None:
        return f"{role}: {line.sentence.split('— ', 1)[-1]}."
    model = line.model
    r = rows[model]
    what = {"Cheap": f"{cost_cell(r, 'cost_per_1k_tasks')} per 1,000 tasks",
            "Fast": f"{_secs(r['e2e_p50'])} median end-to-end latency",
            "Best value": f"{cost_cell(r, 'cost_per_correct')} per correct answer"}[role]
    if model == best:
        return (f"{role}: {model} again — {what}; no model as accurate is {_better_word(role)}"
                f"{_estimated_costs(role, [model], rows)}.")
    if brief:  # the comparison with the best was given in the line above
        return (f"{role}: {model} again — {what}; {_significance(model, best, comparisons)}"
                f"{_estimated_costs(role, [model], rows)}.")
    return (f"{role}: {model} — {what}. It reaches {_ratio_pct(r['accuracy'], rows[best]['accuracy'])} of the best "
            f"accuracy at {_cost_ratio(r['cost_per_1k_tasks'], rows[best]['cost_per_1k_tasks'])} of the cost per "
            f"task{_speed_comparison(model, r, best, rows[best])}"
            f"{_latency_clause(r, rows[best])}; {_significance(model, best, comparisons)}"
            f"{_estimated_costs('', [model, best], rows)}.")


def _estimated_costs(role: str, models: list[str], rows: dict) -> str:
    """Names the quoted costs that rest on estimated token counts ("" when none do)."""
    if role == "Fast":  # quotes no cost of its own
        return ""
    marked = [m for m in dict.fromkeys(models)
              if rows[m].get("cost_estimated", 0) > 0 and not _missing(rows[m]["cost_total"])]
    if not marked:
        return ""
    return f" (cost of {', '.join(marked)} from estimated token counts: no usage reported)"


def _better_word(role: str) -> str:
    return {"Cheap": "cheaper", "Fast": "faster", "Best value": "cheaper per correct answer"}[role]


def _significance(model: str, best: str, comparisons: dict) -> str:
    test = comparisons.get(model)
    if test is None or math.isnan(test.p_value):
        return f"no shared items to test it against {best}"
    diff = f"{'−' if test.mean_diff < 0 else '+'}{abs(100 * test.mean_diff):.1f} pts, {_p(test.p_value)}"
    if test.p_value >= 0.05 or test.mean_diff >= 0:
        return f"its accuracy is indistinguishable from {best} ({diff})"
    return f"its accuracy is significantly below {best} ({diff})"


def _latency_clause(r: Any, best: Any) -> str:
    if _missing(r["e2e_p50"]) or _missing(best["e2e_p50"]) or r["e2e_p50"] <= 0:
        return ""
    return f", answering in {_secs(r['e2e_p50'])} median vs {_secs(best['e2e_p50'])}"


def _evidence(by_model: Any) -> str:
    n_min, n_max = int(by_model["n"].min()), int(by_model["n"].max())
    half = float(((by_model["accuracy_high"] - by_model["accuracy_low"]) / 2).max())
    items = f"{n_min:,}" if n_min == n_max else f"{n_min:,}–{n_max:,}"
    return (f"What the evidence is worth: {items} scored items per model; accuracy intervals are up to "
            f"±{100 * half:.1f} points wide, so smaller differences cannot be told apart at this size. "
            "Latency and cost come from the very same requests.")


def _warnings(by_model: Any) -> list[str]:
    out = []
    unknown = [str(m) for m, c in zip(by_model["model"], by_model["cost_total"]) if _missing(c)]
    if unknown:
        out.append(f"Price unknown for {', '.join(unknown)}: cost comparisons leave them out (never read as $0).")
    if "cost_estimated" in by_model:
        marked = [str(m) for m, k in zip(by_model["model"], by_model["cost_estimated"]) if k > 0]
        if marked:
            out.append(f"Costs of {', '.join(marked)} rest on token counts evalkit estimated, as their provider "
                       f"reported no usage ({ESTIMATED_MARK} in the tables): check them against the bill.")
    errors = [f"{m} {_pct(e)}" for m, e in zip(by_model["model"], by_model["error_rate"]) if e > 0]
    if errors:
        out.append(f"Failed calls (counted as wrong answers): {', '.join(errors)}.")
    return out


# ---------------------------------------------------------------------------- tables


def _scorecard(frame: Any) -> Table:
    table = Table([h for h, _ in SCORECARD], scorecard_rows(frame))
    table.best = best_cells(frame)
    return table


def best_cells(frame: Any, offset: int = 0) -> set[tuple[int, int]]:
    """(row, column) of the best value of each judged scorecard column, the columns shifted
    right by `offset` (a table with columns before the scorecard's)."""
    best: set[tuple[int, int]] = set()
    if len(frame) < 2:
        return best
    for col, (header, _) in enumerate(SCORECARD):
        if header not in BEST_RULE:
            continue
        column, way = BEST_RULE[header]
        values = frame[column].astype(float)
        if values.isna().all() or values.nunique() < 2:
            continue
        target = values.max() if way == "max" else values.min()
        best |= {(i, col + offset) for i, v in enumerate(values) if v == target}
    return best


def _host_comparisons(analysis: RunAnalysis) -> list[HostComparison]:
    comparisons = host_comparisons(analysis)
    for comparison in comparisons:  # Host and Id come before the scorecard's columns
        comparison.table.best = best_cells(comparison.frame, offset=2)
    return comparisons


def _suite_table(frame: Any) -> Table:
    rows = [[str(s), *cells] for s, cells in zip(frame["suite"], scorecard_rows(frame))]
    return Table(["Suite", *(h for h, _ in SCORECARD)], rows)


def _monthly_table(rows: list[dict[str, Any]], volume: Volume) -> Table:
    unit = "per request" if volume.unit == "requests" else "per 1M tokens"
    scale = 1 if volume.unit == "requests" else 1e6
    body = [[r["model"], _unavailable(r) or _marked(usd(r["unit_cost"] * scale), r, "estimated"),
             _unavailable(r) or _marked(usd(r["monthly"]), r, "monthly_estimated"), r["note"]] for r in rows]
    table = Table(["Model", f"Measured cost {unit}", "Projected USD / month", "Note"], body)
    known = [(i, r["monthly"]) for i, r in enumerate(rows) if not _missing(r["monthly"])]
    if len(known) > 1:
        low = min(v for _, v in known)
        table.best = {(i, 2) for i, v in known if v == low}
    return table


def _unavailable(row: dict[str, Any]) -> str:
    return "unavailable" if row["note"].startswith("unavailable") else ""


def _marked(text: str, row: dict[str, Any], flag: str) -> str:
    return ESTIMATED_MARK + text if row.get(flag) and not _missing(row["monthly"]) else text


def _monthly_note(volume: Volume, rows: list[dict[str, Any]], analysis: RunAnalysis) -> str:
    basis = ("each model's measured cost per request (its own prompt and answer lengths on these suites)"
             if volume.unit == "requests" else
             "each model's measured cost per token, prompt and completion together, in the mix this run produced")
    marked = [r["model"] for r in rows if r.get("estimated") and not _missing(r["monthly"])]
    estimated = (f" {ESTIMATED_MARK}: from token counts evalkit estimated (no usage reported) for "
                 f"{', '.join(marked)}." if marked else "")
    purchase = analysis.purchase
    flags = f"--purchase {purchase.option}" + ("" if purchase.cache_hit_rate is None
                                               else f" --cache-hit-rate {purchase.cache_hit_rate:.0%}")
    bought = f" Every figure assumes the {purchase.describe()} ({flags})."
    if analysis.unavailable:
        bought += (f" Unavailable at the {purchase.option} price (the model has none; not costed at the "
                   f"standard price): {', '.join(analysis.unavailable)}.")
    return (f"At {volume.describe()} (--volume {volume.text}), from {basis}.{bought} Self-hosted models are never "
            f"projected below one machine running all month (730 hours). Unknown prices stay unknown.{estimated}")


def _suite_sizes(analysis: RunAnalysis, samples: dict) -> Table:
    records = analysis.records
    if records.empty:
        return Table(["Suite", "Items", "Scorer"], [])
    scorer_sets: dict[str, set[str]] = {}
    for (suite, _), sample in samples.items():
        scorer_sets.setdefault(suite, set()).add(sample.scorer)
    scorers = {suite: ", ".join(sorted(names)) for suite, names in scorer_sets.items()}
    counts = records.groupby("suite")["sample_id"].nunique()
    rows = [[str(s), f"{int(n):,}", scorers.get(str(s), "unknown (suite not re-readable)")] for s, n in counts.items()]
    return Table(["Suite", "Items", "Scorer"], rows)


def price_table(snapshot: dict) -> Table:
    """The price rules a run used, as stored with it: one row per model and rule, a rule
    older than the price file's age limit flagged as stale."""
    from evalkit.economics.price_file import load_price_file
    from evalkit.economics.price_listing import rule_lines
    from evalkit.economics.pricing import from_snapshot

    max_age = load_price_file().max_age_days
    rows = []
    for label, price in from_snapshot(snapshot).items():
        for line in rule_lines(price, max_age_days=max_age):
            if line.text.startswith("unavailable"):
                continue  # the options a model lacks are said where a figure assumes one
            date = f"{line.as_of} — stale: older than {max_age} days" if line.stale else line.as_of
            rows.append([label, price.model_id, f"{line.rule}: {line.text}", line.source, date])
    return Table(["Model", "Id", "Price rule", "Source", "As of"], rows)


def _methodology(analysis: RunAnalysis, started: str, finished: str) -> list[tuple[str, str]]:
    run = analysis.run
    options = run.config.get("run", {})
    opts = ", ".join(f"{k} {v}" for k, v in options.items() if v is not None)
    return [
        ("Run", run.run_id),
        ("Dates", f"started {started}, finished {finished}"),
        ("Models", ", ".join(f"{m.get('label') or m['id']} ({m['id']})" for m in run.config.get("models", []))),
        ("Request options", opts or "defaults"),
        ("Config hash", run.config_hash),
        ("evalkit version", run.evalkit_version),
        ("Records", f"{len(analysis.records):,} calls"),
        ("Tests", "accuracy intervals 95% (Wilson, or bootstrap for partial scores); differences paired on the "
                  "same items (exact McNemar for independent 0/1 items, otherwise a sign-flip permutation test "
                  "over clusters, exact up to 16 of them); significance level 0.05"),
    ]


# ---------------------------------------------------------------------------- small formats


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pct(v: Any) -> str:
    return "–" if _missing(v) else f"{100 * float(v):.1f}%"


def _secs(v: Any) -> str:
    return "–" if _missing(v) else (f"{1000 * v:.0f} ms" if v < 1 else f"{v:.2f} s")


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else (f"p={p:.2f}" if p >= 0.1 else f"p={p:.2g}")


def _ratio_pct(a: Any, b: Any) -> str:
    return "an unknown share" if _missing(a) or _missing(b) or not b else f"{100 * a / b:.0f}%"


def _cost_ratio(a: Any, b: Any) -> str:
    if _missing(a) or _missing(b) or not b:
        return "an unknown share"
    r = a / b
    if r == 0:
        return "none"
    if r < 0.5:
        return f"1/{1 / r:.0f}"
    return f"{100 * r:.0f}%" if r <= 1 else f"{r:.1f}x"


def _speed_comparison(model: str, row: Any, best: str, best_row: Any) -> str:
    """The ratio of two median output speeds with the calls each is over, or why there is
    none: a model whose replies were all one token has no output speed (n/a)."""
    lacking = [name for name, r in ((model, row), (best, best_row)) if _missing(r["speed_p50"])]
    if lacking:
        return (f"; its output speed cannot be compared with {best}'s (n/a for {' and '.join(lacking)}: "
                "no reply of two tokens or more)")
    return (f" and {row['speed_p50'] / best_row['speed_p50']:.1f}x the output speed of {best} "
            f"(medians over {int(row['speed_n']):,} and {int(best_row['speed_n']):,} calls)")


def _hourly(snapshot: dict) -> dict[str, float]:
    return {label: p["hourly_cost"] for label, p in snapshot.items() if p.get("hourly_cost") is not None}
