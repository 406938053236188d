"""The "Your workload: the projected bill" report section: token inflation measured on the
run, and each candidate's bill for a stored workload profile, per request and per month
with its 95% interval, and what comes from measurement and what from the profile.

The arithmetic is `evalkit.economics.workload_bill`'s and the inflation
`evalkit.analysis.inflation`'s; this module only chooses their inputs from the run (its
price snapshot, records, config, capacity files) and the options, and puts the figures
into words and tables that every format (and the terminal) lays out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalkit.analysis.inflation import ALL, TokenInflation, choose_reference, incumbent_of, item_languages, measure
from evalkit.economics.workload_bill import (
    BillBasis,
    CandidateBill,
    Estimate,
    Machine,
    cache_source,
    candidate_bill,
    requests_per_month,
)
from evalkit.report.tables import Table, usd
from evalkit.store.records import ESTIMATED_MARK
from evalkit.workload.profile import WorkloadProfile

TITLE = "Your workload: the projected bill"
LANGUAGE_NAMES = {"zh": "Chinese", "en": "English", "ja": "Japanese", "ko": "Korean", "other": "other-script",
                  "unknown": "unclassified"}


@dataclass(frozen=True)
class WorkloadRequest:
    """What ``--workload`` asks for: the stored profile and the options that shape its bill."""

    name: str
    profile: WorkloadProfile
    volume: str | None = None
    """``--volume`` as given; None: the profile's own rate."""
    reference: str | None = None
    """``--reference MODEL``; used when the profile's incumbent is not in the run."""


@dataclass
class WorkloadBill:
    """The section, format-free."""

    name: str
    lines: list[str]
    """Sentences: the inflation in words, then where the figures come from."""
    bill: Table
    inflation: Table
    assumptions: list[tuple[str, str]]
    reference: str = ""
    """The model whose tokenizer the inflation is measured against."""
    bills: list[CandidateBill] = field(default_factory=list, repr=False)
    measured: TokenInflation | None = field(default=None, repr=False)

    def text(self) -> list[str]:
        parts = [TITLE, self.name, *self.lines, *(t for pair in self.assumptions for t in pair)]
        for table in (self.bill, self.inflation):
            parts += table.headers + [c for row in table.rows for c in row]
        return parts


def workload_bill(analysis: Any, request: WorkloadRequest) -> WorkloadBill:
    """The section for ``analysis`` (a `RunAnalysis`) and the profile of ``request``."""
    from evalkit.economics.pricing import from_snapshot
    from evalkit.economics.volume import parse_volume

    run, profile, purchase = analysis.run, request.profile, analysis.purchase
    models = [(m.get("label") or m["id"], m["id"]) for m in run.config.get("models", [])]
    reference, why = choose_reference(models, incumbent_of(profile.logged_models), request.reference)
    records = analysis.records
    keys = set(zip(records["suite"].astype(str), records["sample_id"].astype(str)))
    inflation = measure(records, item_languages(run.config, keys), reference, why)
    monthly, volume_source = requests_per_month(profile, parse_volume(request.volume) if request.volume else None)
    prices, machines = from_snapshot(run.price_snapshot), _machines(run)
    bills = []
    for label, _ in models:
        mixed = inflation.for_mix(label, profile.languages)
        bills.append(candidate_bill(label, prices[label], profile, mixed.value, inflation_estimated=mixed.estimated,
                                    purchase=purchase.option, cache_hit_rate=purchase.cache_hit_rate,
                                    monthly_requests=monthly, machine=machines.get(label)))
    basis = BillBasis(profile.requests, monthly, volume_source, cache_source(profile, purchase.cache_hit_rate),
                      purchase.option)
    return WorkloadBill(request.name, _sentences(inflation, request, basis, machines), _bill_table(bills),
                        _inflation_table(inflation), _assumptions(inflation, request, basis), reference, bills,
                        inflation)


def _machines(run: Any) -> dict[str, Machine]:
    """The capacity-priced models of the run, with their sweep's machine (a missing file: none)."""
    from evalkit.economics.capacity import load_capacity
    from evalkit.errors import UsageError
    from evalkit.report.selfhosting import capacity_files

    out = {}
    for label, path in capacity_files(run).items():
        try:
            price = load_capacity(path).price if path is not None else None
        except UsageError:
            price = None
        if price is not None:
            out[label] = Machine(price.hourly_cost, sweep_request=(price.prompt_tokens_per_request,
                                                                   price.completion_tokens_per_request))
    return out


# ---------------------------------------------------------------------------- words


def _sentences(inflation: TokenInflation, request: WorkloadRequest, basis: BillBasis,
               machines: dict[str, Machine]) -> list[str]:
    out = [line for model in inflation.ratios if model != inflation.reference
           for line in [_inflation_sentence(inflation, model)] if line]
    profile = request.profile
    measured = "prices (the run's price snapshot) and token inflation (this run's prompts)"
    if machines:
        measured += ", and the self-hosted machines' throughput (their capacity sweeps)"
    sized = "prompt and answer sizes, language mix"
    if basis.cache_source.startswith("--cache-hit-rate"):
        given = f"; from your options: the cache-hit share ({basis.cache_source})"
    else:
        sized += ", cache-hit share"
        given = ""
    if basis.volume_source.startswith("--volume"):
        given += ("; from your options: " if not given else ", ") + f"the volume ({basis.volume_source})"
    else:
        sized += ", volume"
    out.append(f"Measured: {measured}. From the profile {request.name!r} ({profile.requests:,} requests of "
               f"{profile.source}): {sized}{given}.")
    return out


def _inflation_sentence(inflation: TokenInflation, model: str) -> str:
    """E.g. "GLM bills 1.18x the prompt tokens of GPT-4.1 on these Chinese prompts (25 pairs)"."""
    by_lang = inflation.ratios[model]
    shown = [(lang, r) for lang, r in sorted(by_lang.items()) if lang != ALL and r.ratio is not None]
    if not shown and ALL in by_lang and by_lang[ALL].ratio is not None:
        shown = [(ALL, by_lang[ALL])]
    if not shown:
        return f"{model}: no prompt paired with {inflation.reference}'s, so its token inflation is unknown."
    clauses = []
    for language, ratio in shown:
        what = "prompts" if language == ALL else f"{LANGUAGE_NAMES.get(language, language)} prompts"
        mark = ", from estimated counts" if ratio.estimated else ""
        clauses.append((f"{ratio.ratio:.2f}x", f"on these {what} ({ratio.pairs:,} pairs{mark})"))
    (factor, where), rest = clauses[0], clauses[1:]
    return (f"{model} bills {factor} the prompt tokens of {inflation.reference} {where}"
            + "".join(f"; {f} {w}" for f, w in rest) + ".")


def _assumptions(inflation: TokenInflation, request: WorkloadRequest, basis: BillBasis) -> list[tuple[str, str]]:
    profile = request.profile
    mix = ", ".join(f"{LANGUAGE_NAMES.get(k, k)} {v:.0%}" for k, v in sorted(profile.languages.items())) or \
        "unknown (no text logged): the pooled ratio over all of the run's prompts"
    prompts, answers = profile.prompt_tokens or [0], profile.completion_tokens or [0]
    volume = (f"{basis.requests_per_month:,.0f} requests/month, from {basis.volume_source}"
              if basis.requests_per_month is not None else basis.volume_source)
    return [
        ("Profile", f"{request.name}: {profile.requests:,} requests{_logged(profile)} ({profile.format}, "
                    f"{profile.source}); token counts: {profile.token_source}"),
        ("Request sizes", f"mean {sum(prompts) / len(prompts):,.0f} prompt and {sum(answers) / len(answers):,.0f} "
                          f"completion tokens as logged; each candidate's = logged × its token inflation"),
        ("Reference tokenizer", f"{inflation.reference}: {inflation.reference_why}"),
        ("Language mix", mix),
        ("Cache", f"{basis.cache_source}, at each model's cache-read rate (its input rate without one); "
                  "no cache writes billed"),
        ("Purchase", "standard price" if basis.purchase == "standard" else
                     f"{basis.purchase} price; a model without it is unavailable, not costed at the standard price"),
        ("Volume", volume),
        ("Interval", f"95% Student-t interval of the mean request over the profile's {profile.requests:,} requests, "
                     "times the volume: the sampling of requests only, not price or volume changes"),
        ("Not applied", "off-peak windows, cache-write premiums, separate reasoning rates (the log does not split "
                        "thinking from the answer)"),
    ]


def _logged(profile: WorkloadProfile) -> str:
    """", a sample of N logged" when the profile's requests are a sample of a larger log."""
    logged = profile.requests_logged
    return f", a sample of {logged:,} logged" if logged is not None and logged > profile.requests else ""


# ---------------------------------------------------------------------------- tables


def _estimate(value: Estimate | None) -> str:
    if value is None:
        return "n/a"
    if value.low is None or value.high is None:
        return f"{usd(value.value)} (one request: no interval)"
    return f"{usd(value.value)} [{usd(value.low)}–{usd(value.high)}]"


def _bill_table(bills: list[CandidateBill]) -> Table:
    rows = []
    for bill in bills:
        factor = "unknown" if bill.inflation is None else (
            (ESTIMATED_MARK if bill.inflation_estimated else "") + f"{bill.inflation:.2f}x")
        if bill.status != "priced":
            rows.append([bill.model, factor, bill.status, bill.status, bill.reason])
            continue
        mark = ESTIMATED_MARK if bill.inflation_estimated else ""
        monthly = mark + _estimate(bill.monthly) if bill.monthly is not None else "n/a: volume unknown"
        rows.append([bill.model, factor, mark + _estimate(bill.per_request), monthly, _note(bill)])
    table = Table(["Model", "Tokens vs reference", "USD / request [95% CI]", "USD / month [95% CI]", "Note"], rows)
    known = [(i, b.monthly.value) for i, b in enumerate(bills) if b.monthly is not None]
    if len(known) > 1:
        low = min(v for _, v in known)
        table.best = {(i, 3) for i, v in known if v == low}
    return table


def _note(bill: CandidateBill) -> str:
    parts = []
    if bill.replicas is not None:
        parts.append(f"self-hosted: {bill.replicas} machine(s) paid all month")
    tiers = {k: v for k, v in bill.tiers.items() if k != "base"}
    total = sum(bill.tiers.values())
    parts += [f"{count / total:.0%} of requests at the tier {tier}" for tier, count in tiers.items()]
    if bill.inflation_estimated:
        parts.append(f"{ESTIMATED_MARK} inflation from estimated token counts")
    return "; ".join(parts)


def _inflation_table(inflation: TokenInflation) -> Table:
    rows = []
    for model, by_lang in inflation.ratios.items():
        for language in [*inflation.languages, ALL]:
            ratio = by_lang.get(language)
            if ratio is None:
                continue
            value = "–" if ratio.ratio is None else (ESTIMATED_MARK if ratio.estimated else "") + f"{ratio.ratio:.3f}x"
            rows.append([model, "all languages" if language == ALL else LANGUAGE_NAMES.get(language, language),
                         value, f"{ratio.pairs:,}", f"{ratio.candidate_tokens:,} / {ratio.reference_tokens:,}"])
    return Table(["Model", "Language", f"Prompt tokens vs {inflation.reference}", "Pairs",
                  "Tokens (model / reference)"], rows)


def terminal_lines(section: WorkloadBill) -> list[str]:
    """The section as lines for the terminal: the bill per candidate, then the sentences."""
    lines = [f"{TITLE} ({section.name}):"]
    for row in section.bill.rows:
        model, factor, per_request, monthly, note = row
        tokens = "the reference tokenizer" if model == section.reference else \
            f"prompt tokens {factor} {section.reference}'s"
        lines.append(f"  {model}: {monthly} per month, {per_request} per request, {tokens}"
                     + (f" ({note})" if note else ""))
    return lines + section.lines
