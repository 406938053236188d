"""The Python API: what `import evalkit` offers a notebook, and what the `evalkit` command calls.

    import evalkit

    result = evalkit.compare("benchmarks/quick.yaml", limit=10)
    print(result.verdict.good.sentence)
    calls = evalkit.records(result.run_id)          # a pandas DataFrame, one row per call
    evalkit.write_report(result.run_id, ["html"])   # results/<run-id>/report.html

A store is a SQLite path or a SQLAlchemy URL; None means ``EVALKIT_STORE``, else
results/evalkit.db. A run is named by its id, a unique prefix, ``last`` or ``last:TAG``.
This module ties the stages together: `evalkit.run` executes a comparison into the store,
`evalkit.analysis` reads the analysis and verdict back, `evalkit.report` writes the run
folder and the reports from that analysis.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig, load_config
from evalkit.economics.purchase import Purchase, parse_purchase
from evalkit.economics.volume import parse_volume
from evalkit.errors import UsageError
from evalkit.lazy import lazy_exports
from evalkit.run.cache import ResponseCache
from evalkit.run.compare import CompareOptions, Outcome, Prepared, execute, offer_resume, plan_comparison
from evalkit.run.plan import Plan
from evalkit.run.shards import Shard
from evalkit.run.workers import parse_workers

if TYPE_CHECKING:
    import pandas as pd

    from evalkit.analysis.regress import RegressionReport, Thresholds
    from evalkit.analysis.run_analysis import RunAnalysis
    from evalkit.analysis.verdict import Verdict
    from evalkit.report.workload_bill import WorkloadBill, WorkloadRequest
    from evalkit.store.database import Store
    from evalkit.store.records import CallRecord

__all__ = [
    "Comparison",
    "ModelConfig",
    "Plan",
    "PreparedComparison",
    "Regression",
    "RunAnalysis",
    "RunConfig",
    "SuiteConfig",
    "Thresholds",
    "UsageError",
    "analyse",
    "compare",
    "estimate_plan",
    "history",
    "load_config",
    "prepare_comparison",
    "records",
    "regress",
    "run_comparison",
    "runs",
    "verdict",
    "workload_bill",
    "write_report",
]

DEFAULT_RESULTS_DIR = "results"
"""Where run folders go: ``results/<run-id>/``."""

# The analysis (pandas, scipy) and the store (SQLAlchemy) load on first use: `evalkit
# estimate` needs neither, and a comparison needs the analysis only after its last call.
__getattr__, __dir__ = lazy_exports(__name__, {"RunAnalysis": "evalkit.analysis.run_analysis",
                                               "Thresholds": "evalkit.analysis.regress"})


def _store(url: str | None) -> Store:
    from evalkit.store.database import Store

    return Store(url)


def _no_thresholds() -> Thresholds:
    from evalkit.analysis.regress import Thresholds

    return Thresholds()

Progress = Callable[[int], AbstractContextManager[Callable[["CallRecord"], None] | None]]
"""``progress(total_calls)``: a context manager around the run, yielding the function to
call with each finished record (e.g. a progress bar), or None."""


@dataclass(frozen=True)
class Regression:
    """A regression check of a candidate run against a baseline, and the files it wrote."""

    report: RegressionReport
    """Every check, per model and suite: accuracy, p95 latency, cost per task."""
    markdown_path: Path
    junit_path: Path

    @property
    def regressed(self) -> bool:
        return self.report.regressed


@dataclass(frozen=True)
class PreparedComparison:
    """A comparison that passed every check; nothing has been sent or written yet.

    `run_comparison` runs it; ``plan`` shows what it will send (e.g. for an estimate).
    """

    prepared: Prepared
    store: str | None
    results_dir: Path
    reports: tuple[str, ...] = ()
    volume: str | None = None
    baseline: str | None = None
    thresholds: Thresholds | None = None
    """What the ``baseline`` check allows; None: the defaults of `Thresholds`."""
    cache: bool = False
    purchase: Purchase = field(default_factory=Purchase)
    """What the verdict and the reports' costs assume (purchase option, cache-hit rate)."""
    opened_store: Store | None = field(default=None, repr=False)
    """The store, if the checks already opened it (a resume reads its run)."""
    workload: WorkloadRequest | None = None
    """The profile whose bill the run's terminal output and reports show (``--workload``)."""
    ray: str | None = None
    """The Ray cluster to run the shards on (`evalkit.run.cluster.LOCAL`: one started on
    this machine); None runs in this process."""
    ray_shards: int | None = None
    """Shards of a Ray run; None: one per CPU of the cluster."""

    @property
    def plan(self) -> Plan:
        return self.prepared.plan

    @property
    def warnings(self) -> list[str]:
        """What the run will lack (e.g. an unknown price), to say before it starts."""
        return self.prepared.warnings

    @property
    def notices(self) -> list[str]:
        """How the models were chosen (e.g. no key set: the offline demo)."""
        return self.prepared.notices


@dataclass(frozen=True)
class Comparison:
    """A comparison that ran (or this machine's shard of one): the run, its analysis, its files."""

    outcome: Outcome
    """How the run ended: status, records written, resume and budget accounting."""
    options: CompareOptions
    """The options it ran with (a resume the re-run chose is in ``options.resume``)."""
    analysis: RunAnalysis
    """The run's records, summary and verdict, as `analyse` gives them."""
    store_url: str
    """Where the records are (any password hidden)."""
    run_dir: Path
    """The run folder: records.jsonl, summary.csv, report.md and the reports asked for."""
    reports: list[Path] = field(default_factory=list)
    """Decision reports written (none while shards are missing or when nothing answered)."""
    notices: list[str] = field(default_factory=list)
    """What the run said about itself on the way (a lease taken over, a resume offered)."""
    shard: Shard | None = None
    """This machine's share of the items, for a sharded run."""
    shards_reported: tuple[int, int] | None = None
    """(reported, total) while other shards of the run have not reported; None once complete."""
    regression: Regression | None = None
    """The ``baseline`` check, once the run is complete and there is a baseline."""
    baseline_note: str | None = None
    """Why the ``baseline`` check was not made (no baseline yet, shards still running)."""
    workload_bill: WorkloadBill | None = None
    """The bill for the ``workload`` profile, once the run is complete and answered."""

    @property
    def run_id(self) -> str:
        return self.outcome.run_id

    @property
    def verdict(self) -> Verdict:
        return self.analysis.verdict

    @property
    def records(self) -> pd.DataFrame:
        return self.analysis.records


def prepare_comparison(
    config: RunConfig | str | Path | None = None, *, models: Sequence[ModelConfig | str] = (),
    suites: Sequence[SuiteConfig | str] = (), store: str | None = None,
    results_dir: str | Path = DEFAULT_RESULTS_DIR, reports: Sequence[str] = (), volume: str | None = None,
    max_cost: float | None = None, resume: str | None = None, cache: bool = False, tag: str | None = None,
    run_id: str | None = None, shard: Shard | str | None = None, baseline: str | None = None,
    thresholds: Thresholds | None = None, on_notice: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None, purchase: str | None = None,
    cache_hit_rate: str | float | None = None, workload: str | None = None, reference: str | None = None,
    workers: int | str = 1, ray: str | None = None, ray_shards: int | None = None,
    **run_options: Any,
) -> PreparedComparison:
    """Check a comparison before anything is sent or written; raise UsageError on bad input.

    ``config``: a YAML file or a `RunConfig`; ``models`` (litellm ids or `ModelConfig`s) and
    ``suites`` (built-in names, .jsonl/.csv paths or `SuiteConfig`s) replace its own, and
    ``run_options`` (limit, temperature, max_tokens, timeout, retries, seed, epochs,
    lm_eval_include) override its ``run:``. With no model anywhere, the default lineup.
    ``reports``: decision reports (html, pdf, md) into the run folder, for the workload
    ``volume`` (e.g. ``50000/day``). ``max_cost``: a hard budget in USD. ``resume``: a run
    to continue. ``cache``: replay earlier answers (development). ``tag``: a series label.
    ``shard`` (``"2/3"``) with ``run_id``: this machine's share of a shared run.
    ``baseline`` (a run, ``last`` or ``last:TAG``): check the run against it for
    regressions within ``thresholds``. ``on_notice`` and ``on_warning`` hear how the models
    were chosen and what the run will lack as soon as it is known (the result keeps both).
    ``purchase`` (standard, batch, flex, priority) and ``cache_hit_rate`` (0.6 or "60%"):
    what the verdict and the reports' costs assume (`evalkit.economics.purchase`).
    ``workload``: a stored workload profile to project each candidate's bill for, its token
    inflation measured against ``reference`` when the profile's incumbent is not in the run.
    ``workers`` (a count or ``auto``): processes sending the calls (`evalkit.run.workers`).
    ``ray`` (an address, or ``"local"`` for a Ray instance on this machine): run the items
    as ``ray_shards`` shards (default: one per CPU) of Ray tasks into ``store``
    (`evalkit.run.cluster`); ``run_id`` names the run.
    """
    _check_volume(volume, reports, workload)
    bought = parse_purchase(purchase, cache_hit_rate)
    opened = _store(store) if resume is not None or workload is not None else None
    wanted = _workload_request(opened, workload, volume, reference)
    prepared = plan_comparison(config, models, suites, run_options=run_options, store=opened, resume=resume,
                               shard=Shard.parse(shard) if isinstance(shard, str) else shard, run_id=run_id,
                               max_cost=max_cost, tag=tag, workers=parse_workers(workers), on_notice=on_notice,
                               on_warning=on_warning, workloads=store)
    if cache and prepared.options.workers > 1:
        raise UsageError(f"--workers {prepared.options.workers} cannot be combined with --cache, a development "
                         "aid of one process; drop one of them")
    if ray is not None:
        from evalkit.run.cluster import check_ray_options

        check_ray_options(prepared.plan, prepared.options, cache=cache)
    return PreparedComparison(prepared, store=store, results_dir=Path(results_dir), reports=tuple(reports),
                              volume=volume, baseline=baseline, thresholds=thresholds,
                              cache=cache, purchase=bought, opened_store=opened, workload=wanted,
                              ray=ray, ray_shards=ray_shards)


def _check_volume(volume: str | None, reports: Sequence[str], workload: str | None = None) -> None:
    """A bad volume fails before the first paid call; one without a report would do nothing."""
    if volume is None:
        return
    parse_volume(volume)
    if not reports and workload is None:
        raise UsageError(f"--volume {volume} only sets the workload of a decision report's projected "
                         "monthly cost: add --report html (or pdf, md), or drop --volume")


def _workload_request(store: Store | None, name: str | None, volume: str | None,
                      reference: str | None) -> WorkloadRequest | None:
    """The stored profile ``name`` with the options of its bill; a UsageError listing the
    stored profiles when there is none of that name."""
    if name is None:
        if reference is not None:
            raise UsageError(f"--reference {reference} sets the tokenizer a workload's bill is measured against: "
                             "add --workload NAME, or drop --reference")
        return None
    from evalkit.report.workload_bill import WorkloadRequest
    from evalkit.workload.profile import WorkloadProfile

    row = (store or _store(None)).workload(name)
    return WorkloadRequest(name, WorkloadProfile.from_dict(row.profile), volume, reference)


def run_comparison(prepared: PreparedComparison, *, progress: Progress | None = None,
                   on_notice: Callable[[str], None] | None = None,
                   ask_resume: Callable[[str], bool] | None = None) -> Comparison:
    """Run a prepared comparison: send the calls, store the records, write the run folder
    and the reports, check the baseline.

    ``ask_resume(question)``: asked when an interrupted run of this same config exists;
    True continues it (without it, a new run starts and a notice says how to continue the
    old one). ``on_notice(line)``: each notice as it happens. ``progress``: see `Progress`.
    """
    notices: list[str] = []

    def notify(line: str) -> None:
        notices.append(line)
        if on_notice is not None:
            on_notice(line)

    store = prepared.opened_store or _store(prepared.store)
    options = prepared.prepared.options
    if prepared.ray is None:  # a Ray run is always a new one: a resume runs on one machine
        options = offer_resume(prepared.plan, options, store, ask_resume, notify)
    exclude = options.resume.run_id if options.resume is not None else options.run_id
    baseline_run = None
    if prepared.baseline:
        from evalkit.analysis.regress import resolve_baseline

        baseline_run = resolve_baseline(store, prepared.baseline, exclude=exclude)
    if prepared.cache:
        options = replace(options, cache=ResponseCache(prepared.results_dir / "response-cache.db"))
    with (progress or _no_progress)(prepared.plan.total_calls) as on_record:
        if prepared.ray is not None:
            from evalkit.run.cluster import run_on_ray

            outcome = run_on_ray(prepared.plan, store, options, prepared.ray, shards=prepared.ray_shards,
                                 on_record=on_record, on_notice=notify)
        else:
            outcome = execute(prepared.plan, store, on_record=on_record, options=options, on_notice=notify)
    result = _write_run_folder(prepared, store, outcome, options, notices)
    if prepared.baseline is None or (result.outcome.complete and result.verdict.nothing_answered):
        return result
    return _check_baseline(result, store, prepared, baseline_run)


def compare(config: RunConfig | str | Path | None = None, *, models: Sequence[ModelConfig | str] = (),
            suites: Sequence[SuiteConfig | str] = (), store: str | None = None,
            on_notice: Callable[[str], None] | None = None, **options: Any) -> Comparison:
    """Run a comparison in one call: `prepare_comparison`, then `run_comparison`.

    ``options``: any other argument of `prepare_comparison` (results_dir, reports, volume,
    max_cost, resume, cache, tag, run_id, shard, baseline, thresholds) and run options
    (limit, temperature, max_tokens, timeout, retries, seed, epochs, lm_eval_include).
    Warnings (e.g. an unknown price) go to ``on_notice`` too, as ``warning: ...``.

        result = evalkit.compare(models=["openai/gpt-4.1-mini", "deepseek/deepseek-chat"],
                                 suites=["arithmetic", "my_tickets.jsonl"], limit=20, max_cost=2)
    """
    warn = (lambda text: on_notice(f"warning: {text}")) if on_notice is not None else None
    prepared = prepare_comparison(config, models=models, suites=suites, store=store, on_notice=on_notice,
                                  on_warning=warn, **options)
    return run_comparison(prepared, on_notice=on_notice)


def estimate_plan(config: RunConfig | str | Path | None = None, *, models: Sequence[ModelConfig | str] = (),
                  suites: Sequence[SuiteConfig | str] = (), on_notice: Callable[[str], None] | None = None,
                  on_warning: Callable[[str], None] | None = None, store: str | None = None,
                  **run_options: Any) -> Prepared:
    """What a comparison would send, checked like `prepare_comparison` but without needing
    keys, and sending nothing: its `Plan` (models, samples, prices), notices and warnings.
    `evalkit.run.estimate.estimate_model` turns a plan's model into tokens and dollars.
    ``store`` holds the workload profiles replay suites draw from."""
    return plan_comparison(config, models, suites, run_options=run_options, require_keys=False,
                           on_notice=on_notice, on_warning=on_warning, workloads=store)


@contextlib.contextmanager
def _no_progress(_total: int):
    yield None


def _write_run_folder(prepared: PreparedComparison, store: Store, outcome: Outcome, options: CompareOptions,
                      notices: list[str]) -> Comparison:
    """The run's analysis, its folder, and the decision reports once it is complete and answered."""
    from evalkit.analysis import run_summary
    from evalkit.analysis.run_analysis import analyse_run
    from evalkit.report.formats import write_reports
    from evalkit.report.run_folder import write_run_folder

    analysis = analyse_run(store, outcome.run_id)
    # history reads this summary instead of the records (a run still running keeps none)
    run_summary.keep(store, analysis.run, run_summary.summary_document(analysis.run, analysis.summary))
    answered = outcome.complete and not analysis.verdict.nothing_answered
    run_dir = prepared.results_dir / outcome.run_id
    reports = prepared.reports if answered else ()
    if not prepared.purchase.as_measured:
        # records.jsonl and summary.csv keep what was measured; the verdict and the
        # decision reports are costed as the workload would be bought
        write_run_folder(analysis, run_dir, history=_series(store, analysis.run.tag))
        analysis = analyse_run(store, outcome.run_id, prepared.purchase)
        bill = _bill(analysis, prepared.workload, answered)
        written = write_reports(analysis, list(reports), run_dir, prepared.volume, workload=bill) if reports else []
    else:
        bill = _bill(analysis, prepared.workload, answered)
        written = write_run_folder(analysis, run_dir, history=_series(store, analysis.run.tag),
                                   reports=reports, volume=prepared.volume, workload=bill)
    reported = None if outcome.complete else store.shard_progress(outcome.run_id)[:2]
    return Comparison(outcome=outcome, options=options, analysis=analysis, store_url=store.url, run_dir=run_dir,
                      reports=written, notices=notices, shard=prepared.plan.shard, shards_reported=reported,
                      workload_bill=bill)


def _bill(analysis: RunAnalysis, request: WorkloadRequest | None, answered: bool) -> WorkloadBill | None:
    if request is None or not answered:
        return None
    from evalkit.report.workload_bill import workload_bill as build

    return build(analysis, request)


def _series(store: Store, tag: str | None) -> pd.DataFrame | None:
    """The figures of a tagged run's series, for its report's history chart (two runs or more)."""
    if not tag or len(store.runs(2, tag=tag)) < 2:
        return None
    from evalkit.analysis.history import history_frame
    from evalkit.report.run_folder import HISTORY_RUNS

    return history_frame(store, tag=tag, limit=HISTORY_RUNS)


def _check_baseline(result: Comparison, store: Store, prepared: PreparedComparison, baseline_run) -> Comparison:
    """compare with a baseline: the regression check, once the run is complete."""
    if not result.outcome.complete:
        return replace(result, baseline_note="Regression check left to the last shard to finish.")
    if baseline_run is None:
        return replace(result, baseline_note=f"No baseline yet ({prepared.baseline} matches no earlier finished "
                                             "run): nothing to compare; this run becomes the baseline of the next.")
    regression = _regress(store, baseline_run.run_id, result.run_id, prepared.thresholds or _no_thresholds(),
                          result.run_dir)
    return replace(result, regression=regression)


def runs(store: str | None = None, limit: int | None = None, tag: str | None = None) -> pd.DataFrame:
    """The stored runs, newest first: one row each with its id, times (seconds since the
    epoch), status, tag, models, suites, config hash, evalkit version, shard count and
    number of records. A run's config and prices: ``analyse(run).run``."""
    import pandas as pd

    from evalkit.store.database import RunRow

    history = _store(store)
    columns = [f.name for f in dataclasses.fields(RunRow) if f.name not in _BULKY_RUN_FIELDS]
    rows = [[getattr(run, name) for name in columns] + [history.record_count(run.run_id)]
            for run in history.runs(limit, tag=tag)]
    return pd.DataFrame(rows, columns=[*columns, "records"])


_BULKY_RUN_FIELDS = ("config", "price_snapshot", "fingerprint")
"""Run fields left out of `runs`: nested documents, one per run (see `analyse(run).run`)."""


def records(run: str = "last", store: str | None = None) -> pd.DataFrame:
    """Every stored call of a run, one row each (the columns of `evalkit.store.records.CallRecord`)."""
    history = _store(store)
    return history.records_frame(history.run(run).run_id)


def analyse(run: str = "last", store: str | None = None, *, purchase: str | None = None,
            cache_hit_rate: str | float | None = None) -> RunAnalysis:
    """A stored run's records, summary (per model, per model and suite) and verdict; with
    ``purchase`` or ``cache_hit_rate``, its calls costed as the workload would be bought."""
    from evalkit.analysis.run_analysis import analyse_run

    return analyse_run(_store(store), run, parse_purchase(purchase, cache_hit_rate))


def verdict(run: str = "last", store: str | None = None) -> Verdict:
    """Which model of a stored run is good, fast, cheap and the best value, with the evidence."""
    return analyse(run, store).verdict


def write_report(run: str | RunAnalysis = "last", formats: Sequence[str] = ("html",), *,
                 store: str | None = None, results_dir: str | Path = DEFAULT_RESULTS_DIR,
                 output: str | Path | None = None, volume: str | None = None, purchase: str | None = None,
                 cache_hit_rate: str | float | None = None,
                 workload: str | WorkloadBill | None = None, reference: str | None = None) -> list[Path]:
    """Write decision reports (html, pdf, md) of a stored run (or of an analysis) into
    ``results_dir/<run-id>/``, or one format to ``output``; returns the files written.
    ``volume`` (e.g. ``50000/day``, ``2M-tokens/month``) sets the projected monthly cost;
    ``purchase`` and ``cache_hit_rate`` what the costs assume (see `analyse`); ``workload``
    (a stored profile's name, or its `workload_bill`) adds the bill for that traffic."""
    from evalkit.analysis.run_analysis import RunAnalysis, analyse_run, report_columns
    from evalkit.report.formats import write_reports

    parse_volume(volume)
    if isinstance(run, RunAnalysis):
        analysis = run
    else:  # only the columns a report reads: a million records' bulk stays in the store
        analysis = analyse_run(_store(store), run, parse_purchase(purchase, cache_hit_rate), columns=report_columns())
    bill = workload if workload is None or not isinstance(workload, str) else \
        workload_bill(analysis, workload, store=store, volume=volume, reference=reference)
    if workload is None and reference is not None:
        _workload_request(None, None, volume, reference)  # says --reference needs --workload
    directory = Path(results_dir) / analysis.run.run_id
    return write_reports(analysis, list(formats), directory, volume, Path(output) if output else None,
                         workload=bill)


def workload_bill(run: str | RunAnalysis, workload: str | None, *, store: str | None = None,
                  volume: str | None = None, reference: str | None = None, purchase: str | None = None,
                  cache_hit_rate: str | float | None = None) -> WorkloadBill | None:
    """The bill of each candidate of a run (or analysis) for the stored workload profile
    ``workload``: token inflation against ``reference`` (when the profile's incumbent is
    not in the run), per request and per month at ``volume`` (default: the profile's
    rate), bought with ``purchase`` at ``cache_hit_rate`` (default: the profile's)."""
    from evalkit.analysis.run_analysis import RunAnalysis
    from evalkit.report.workload_bill import workload_bill as build

    parse_volume(volume)
    request = _workload_request(_store(store) if workload else None, workload, volume, reference)
    if request is None:
        return None
    analysis = run if isinstance(run, RunAnalysis) else analyse(run, store, purchase=purchase,
                                                                cache_hit_rate=cache_hit_rate)
    return build(analysis, request)


def regress(baseline: str, candidate: str = "last", *, thresholds: Thresholds | None = None,
            store: str | None = None, results_dir: str | Path = DEFAULT_RESULTS_DIR,
            markdown_path: str | Path | None = None, junit_path: str | Path | None = None) -> Regression:
    """Check a stored run for regressions against a baseline run, per model and suite, and
    write the summary (``results_dir/<candidate>/regression.md`` unless ``markdown_path``)
    and JUnit XML (``regression.junit.xml`` unless ``junit_path``)."""
    history = _store(store)
    candidate_id = history.run(candidate).run_id
    return _regress(history, baseline, candidate_id, thresholds or _no_thresholds(), Path(results_dir) / candidate_id,
                    markdown_path, junit_path)


def _regress(store: Store, baseline: str, candidate: str, thresholds: Thresholds, out_dir: Path,
             markdown_path: str | Path | None = None, junit_path: str | Path | None = None) -> Regression:
    from evalkit.analysis.regress import regress as check_runs_for_regressions
    from evalkit.report import regression

    report = check_runs_for_regressions(store, baseline, candidate, thresholds)
    markdown = Path(markdown_path) if markdown_path else out_dir / "regression.md"
    junit = Path(junit_path) if junit_path else out_dir / "regression.junit.xml"
    regression.write(report, markdown, junit)
    return Regression(report, markdown, junit)


def history(store: str | None = None, *, model: str | None = None, suite: str | None = None,
            tag: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Accuracy (with its interval), E2E p95 and cost per 1k tasks of each model and suite
    (and ``ALL``) across stored runs, oldest first; ``limit`` keeps the most recent runs."""
    from evalkit.analysis.history import history_frame

    return history_frame(_store(store), model=model, suite=suite, tag=tag, limit=limit)
