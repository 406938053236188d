"""The `evalkit` command: parse options, call one library function, print.

Heavy libraries (litellm, pandas) are imported inside the commands that need them, so
`evalkit --help` stays fast.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from pathlib import Path

import click

from evalkit import redaction
from evalkit.errors import RunStopped, UsageError
from evalkit.version import __version__

NOTHING_ANSWERED_EXIT = 3
"""Exit code of a run in which no model had a single successful call: there is no verdict."""


def _fails_cleanly(command):
    """Bad input prints one line and exits 2; Ctrl-C exits 130; anything else exits 1.

    Every message is redacted first, and an unexpected error prints no traceback (which
    could carry a key) unless EVALKIT_DEBUG is set.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        redaction.remember_environment()
        try:
            return command(*args, **kwargs)
        except UsageError as error:
            click.echo(f"error: {redaction.redact(str(error))}", err=True)
            sys.exit(2)
        except RunStopped as error:
            click.echo(f"error: {redaction.redact(str(error))}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: completed calls are stored", err=True)
            sys.exit(130)
        except Exception as error:
            if os.environ.get("EVALKIT_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(error).__name__}: {redaction.redact(str(error))} "
                       "(set EVALKIT_DEBUG=1 to see the traceback)", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Which model should we buy? Accuracy, latency and cost on the same requests."""


def run() -> None:
    """The `evalkit` command as a process: the console script and ``python -m evalkit``."""
    try:
        main()
    finally:
        # The process is about to end. The interpreter's last garbage collection would walk
        # every object the command left (pandas, scipy, a run's records) only to free memory
        # the system takes back anyway: 0.3-0.4 s of a 2,000-item compare. Frozen objects
        # are left out of it; atexit handlers and the joins of threads still run.
        gc.freeze()


class _ReportFormats(click.Choice):
    """The registered report formats, read only when click parses a value or prints help:
    a format registered after import is offered, and `evalkit --help` imports none."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from evalkit.report.formats import format_names

        return tuple(format_names())

    @choices.setter
    def choices(self, _ignored: object) -> None:
        pass  # click's __init__ sets it; the registry is the source


PURCHASE_HELP = ("How the workload would be bought: the verdict and the projected monthly cost use that "
                 "option's prices; a model without one is unavailable [default: standard].")
CACHE_HIT_HELP = ("Share of prompt tokens the workload reads from the provider's cache (0.6 or 60%), "
                  "costed at each model's cache-read price [default: as each call measured].")
purchase_option = click.option("--purchase", type=click.Choice(["standard", "batch", "flex", "priority"]),
                               help=PURCHASE_HELP)
cache_hit_option = click.option("--cache-hit-rate", help=CACHE_HIT_HELP)

VOLUME_HELP = ("Workload for the projected monthly cost: requests (50000/day, 1.5M/month) or tokens "
               "(2M-tokens/month) [default: 10000/day].")

WORKLOAD_HELP = ("A stored workload profile (`evalkit workload import`): price each candidate for that traffic, "
                 "per request and per month, with its token inflation.")
REFERENCE_HELP = ("The model token inflation is measured against when the profile's incumbent is not in the run "
                  "[default: the run's first model].")
workload_option = click.option("--workload", metavar="NAME", help=WORKLOAD_HELP)
reference_option = click.option("--reference", metavar="MODEL", help=REFERENCE_HELP)

store_option = click.option(
    "--store", envvar="EVALKIT_STORE",
    help="History database: a SQLite path or a SQLAlchemy URL such as postgresql://user:pass@host/db "
         "[default: results/evalkit.db].",
)


def selection_options(command):
    """The options that say what to run: shared by compare and estimate."""
    options = [
        click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), help="Benchmark YAML file."),
        click.option("-m", "--model", "models", multiple=True, help="litellm model id (repeat for several)."),
        click.option("-s", "--suite", "suites", multiple=True,
                     help="Built-in suite name or .jsonl/.csv file (repeat)."),
        click.option("--limit", type=int, help="At most this many items per suite."),
        click.option("--temperature", type=float),
        click.option("--max-tokens", type=int),
        click.option("--timeout", type=float, help="Seconds per attempt."),
        click.option("--retries", type=int, help="Retries after the first attempt."),
        click.option("--seed", type=int, help="Seed for generated suites."),
        click.option("--epochs", type=int, help="Ask each item this many times; the analysis uses the spread."),
        click.option("--lm-eval-include", multiple=True, type=click.Path(file_okay=False, exists=True),
                     callback=lambda _ctx, _param, value: list(value) or None,
                     help="Folder of your own lm-eval task YAMLs, for -s lm-eval:TASK (repeat)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def threshold_options(command):
    """--max-accuracy-drop, --max-latency-increase, --max-cost-increase (regress and compare --baseline)."""
    options = [
        click.option("--max-accuracy-drop", default="0.02", show_default=True,
                     help="Accuracy drop allowed even when significant: a fraction (0.02) or points (2%)."),
        click.option("--max-latency-increase", default="20%", show_default=True,
                     help="Increase of the end-to-end p95 allowed."),
        click.option("--max-cost-increase", default="10%", show_default=True,
                     help="Increase of the cost per task allowed (a price change counts)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _thresholds_given() -> bool:
    """Whether a threshold option was typed: only a baseline check reads them, and parsing
    them loads the analysis (pandas) before the first call; a typed one is still checked."""
    from click.core import ParameterSource

    context = click.get_current_context()
    return any(context.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
               for name in ("max_accuracy_drop", "max_latency_increase", "max_cost_increase"))


def _thresholds(max_accuracy_drop, max_latency_increase, max_cost_increase):
    from evalkit.analysis.regress import Thresholds, parse_fraction

    return Thresholds(
        max_accuracy_drop=parse_fraction(max_accuracy_drop, "--max-accuracy-drop"),
        max_latency_increase=parse_fraction(max_latency_increase, "--max-latency-increase"),
        max_cost_increase=parse_fraction(max_cost_increase, "--max-cost-increase"),
    )


@main.command()
@selection_options
@click.option("--resume", "resume_ref", metavar="RUN", help="Continue an interrupted run; done calls are not repeated.")
@click.option("--max-cost", type=float, metavar="USD", help="Hard budget for the run, in US dollars.")
@click.option("--cache", "use_cache", is_flag=True, help="Development: replay earlier successful answers.")
@click.option("--workers", default="1", show_default=True, metavar="N|auto",
              help="Processes sending the calls, each with its own event loop (auto: the cores free).")
@click.option("--fixed-concurrency", is_flag=True, default=None,
              help="Keep every model at its max_concurrency instead of adapting to its rate limits.")
@click.option("--dry-run", is_flag=True, help="Print the cost estimate and stop; nothing is sent.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--by-suite", is_flag=True, help="Also print the per-suite table.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--tag", help="Label the run (e.g. nightly), so `--baseline last:TAG` can find it.")
@click.option("--baseline", help="After the run, check it for regressions against this run "
              "(id, prefix, last, or last:TAG); exit 1 on a regression.")
@click.option("--shard", "shard_text", help="Run share I of N of the items (e.g. 2/3) into the run "
              "named by --run-id; the run is complete when every shard has reported.")
@click.option("--run-id", help="Id of the run (required with --shard; the same on every shard).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Run the items as shards, one Ray task each, on the cluster at ADDRESS (host:6379, "
              "ray://host:10001, auto); without ADDRESS, on a Ray instance started on this machine. "
              "Concurrency and rate limits hold across the cluster.")
@click.option("--report", "reports", multiple=True, type=_ReportFormats(),
              help="Also write a decision report into results/<run-id>/ (repeat: --report html --report pdf).")
@click.option("--volume", help=VOLUME_HELP)
@purchase_option
@cache_hit_option
@workload_option
@reference_option
@threshold_options
@store_option
@_fails_cleanly
def compare(config_path, models, suites, resume_ref, max_cost, use_cache, workers, dry_run, results_dir, by_suite,
            quiet, tag, baseline, shard_text, run_id, ray_address, reports, volume, purchase, cache_hit_rate, workload,
            reference, max_accuracy_drop, max_latency_increase, max_cost_increase, store, **run_options) -> None:
    """Run the suites against every model and print the verdict.

    With no models named, runs one default model per provider whose API key is set,
    plus the embedded local models.
    """
    from evalkit import api
    from evalkit.console import fit
    from evalkit.console.progress import progress_bar

    prepared = api.prepare_comparison(
        config_path, models=models, suites=suites, store=store, results_dir=results_dir, reports=reports,
        volume=volume, max_cost=max_cost, resume=resume_ref, cache=use_cache, tag=tag, run_id=run_id,
        shard=shard_text, baseline=baseline, purchase=purchase, cache_hit_rate=cache_hit_rate,
        workload=workload, reference=reference, workers=workers, ray=ray_address,
        thresholds=_thresholds(max_accuracy_drop, max_latency_increase, max_cost_increase)
        if baseline or _thresholds_given() else None,
        on_notice=click.echo, on_warning=_warn, **run_options)
    if dry_run:
        _print_estimate(prepared.plan)
        return
    console = fit.console()
    result = api.run_comparison(
        prepared, progress=lambda total: progress_bar(total, console, disabled=quiet),
        on_notice=lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True),
        ask_resume=lambda question: sys.stdin.isatty() and click.confirm(question, default=True))
    _print_comparison(result, console, by_suite)


def _purchase_lines(analysis) -> list[str]:
    """What the costs above assume, when it is not what each call measured."""
    purchase = analysis.purchase
    if purchase.as_measured:
        return []
    lines = [f"Costs and the verdict assume the {purchase.describe()}."]
    if analysis.unavailable:
        lines.append(f"Unavailable at the {purchase.option} price (no such price; not costed at the standard "
                     f"price): {', '.join(analysis.unavailable)}.")
    return lines


def _warn(text: str) -> None:
    click.echo(f"warning: {text}", err=True)


@main.command()
@selection_options
@store_option
@_fails_cleanly
def estimate(config_path, models, suites, store, **run_options) -> None:
    """Expected tokens and cost per model, before any call (nothing is sent)."""
    from evalkit import api

    # the table itself notes an unknown price
    prepared = api.estimate_plan(config_path, models=models, suites=suites, on_notice=click.echo, store=store,
                                 **run_options)
    _print_estimate(prepared.plan)


def _print_estimate(plan) -> None:
    from evalkit.console import fit
    from evalkit.console.estimate import estimate_table

    fit.show(fit.console(), estimate_table(plan))


def _print_comparison(result, console, by_suite) -> None:
    """The verdict of a run, what it said about itself, its files, then the baseline check."""
    from evalkit.console import fit
    from evalkit.console import scorecard as terminal
    from evalkit.console.footer import outcome_lines

    terminal.render(result.analysis, console, by_suite=by_suite)
    console.print()
    fit.print_lines(console, _purchase_lines(result.analysis))
    _print_workload_bill(result.workload_bill, console)
    fit.print_lines(console, outcome_lines(result.outcome, result.options))
    fit.print_lines(console, [f"Run {result.run_id}: {result.outcome.records} records in {result.store_url}; "
                              f"files in {result.run_dir}/"])
    if result.shards_reported is not None:
        reported, total = result.shards_reported
        fit.print_lines(console, [f"Shard {result.shard} done; {reported} of {total} shards have reported."])
    elif result.verdict.nothing_answered:
        fit.print_lines(console, [f"No verdict and no report: every call failed (the records keep each error). "
                                  f"Fix the keys or endpoints, then send the calls again with: "
                                  f"evalkit compare --resume {result.run_id}"])
        sys.exit(NOTHING_ANSWERED_EXIT)
    for path in result.reports:
        fit.print_lines(console, [f"Report: {path}"])
    if result.baseline_note:
        click.echo(result.baseline_note)
    if result.regression is not None:
        _print_regression(result.regression)


def _print_workload_bill(bill, console) -> None:
    """The bill for the --workload profile, when one was asked for."""
    if bill is None:
        return
    from evalkit.console import fit
    from evalkit.report.workload_bill import terminal_lines

    fit.print_lines(console, terminal_lines(bill))


def _print_regression(regression) -> None:
    """The checks, where their files went; exit 1 on a regression."""
    from evalkit.report import regression as lines

    report = regression.report
    _echo_lines(lines.terminal_lines(report), atoms=tuple({c.model for c in report.checks}))
    click.echo(f"Summary: {regression.markdown_path}; JUnit: {regression.junit_path}")
    if regression.regressed:
        sys.exit(1)


def _echo_lines(lines, atoms=()) -> None:
    """Lines of prose, wrapped between words at a terminal's width (names in ``atoms`` kept
    whole), unwrapped when piped."""
    from evalkit.console import fit

    fit.print_lines(fit.console(), list(lines), atoms)


@main.command()
@click.option("-n", "--limit", default=20, show_default=True, help="Most recent runs to list.")
@store_option
@_fails_cleanly
def runs(limit, store) -> None:
    """List the runs in the history database."""
    from evalkit.console import fit
    from evalkit.console.runs import runs_table
    from evalkit.store.database import Store

    fit.show(fit.console(), runs_table(Store(store), limit))


@main.command()
@click.argument("run", default="last")
@click.option("--by-suite", is_flag=True, help="Also print the per-suite table.")
@purchase_option
@cache_hit_option
@store_option
@_fails_cleanly
def show(run, by_suite, purchase, cache_hit_rate, store) -> None:
    """Print a stored run's verdict again (RUN: id, unique prefix, or `last`)."""
    from evalkit import api
    from evalkit.console import fit
    from evalkit.console import scorecard as terminal

    analysis = api.analyse(run, store, purchase=purchase, cache_hit_rate=cache_hit_rate)
    console = fit.console()
    terminal.render(analysis, console, by_suite=by_suite)
    fit.print_lines(console, _purchase_lines(analysis))
    if analysis.verdict.nothing_answered:  # the same answer as the compare that stored it
        sys.exit(NOTHING_ANSWERED_EXIT)


@main.command()
@click.argument("run", default="last")
@click.option("-f", "--format", "formats", multiple=True, type=_ReportFormats(),
              help="Report format (repeat for several) [default: html].")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (one format only).")
@click.option("--volume", help=VOLUME_HELP)
@purchase_option
@cache_hit_option
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Reports go to DIR/<run-id>/ unless -o is given.")
@workload_option
@reference_option
@store_option
@_fails_cleanly
def report(run, formats, output, volume, purchase, cache_hit_rate, results_dir, workload, reference, store) -> None:
    """Write a decision report (HTML, PDF, Markdown) for a stored run, without re-running it."""
    from evalkit import api

    analysis = api.analyse(run, store, purchase=purchase, cache_hit_rate=cache_hit_rate)
    bill = api.workload_bill(analysis, workload, store=store, volume=volume, reference=reference)
    for path in api.write_report(analysis, list(formats) or ["html"], store=store, results_dir=results_dir,
                                 output=output, volume=volume, workload=bill):
        click.echo(f"wrote {path}")
    if bill is not None:
        from evalkit.console import fit

        _print_workload_bill(bill, fit.console())


@main.command()
@click.option("--seed", default=1234, show_default=True)
@click.option("--lm-eval", "lm_eval", is_flag=True,
              help="List the lm-eval tasks evalkit can run instead (the first listing indexes them, then cached).")
@click.option("--lm-eval-include", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="Also list the tasks in this folder of lm-eval task YAMLs (repeat).")
@_fails_cleanly
def suites(seed, lm_eval, lm_eval_include) -> None:
    """List the built-in suites with a sample item (or, with --lm-eval, the lm-eval tasks)."""
    if lm_eval:
        from evalkit.suites.lm_eval import runnable_tasks

        tasks = runnable_tasks(tuple(lm_eval_include))
        for name, entry in tasks.items():
            how = "letter-answer prompt" if entry["output_type"] == "multiple_choice" else "generative"
            click.echo(f"lm-eval:{name}\t{how}\t{entry['dataset'] or ''}")
        click.echo(f"{len(tasks)} runnable tasks (log-likelihood tasks and groups are not listed)")
        return
    from evalkit.console import fit
    from evalkit.console.catalog import suites_table

    fit.show(fit.console(), suites_table(seed))


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Every chat model in the price map, not just the defaults.")
@click.option("--filter", "pattern", help="Only ids containing this text.")
@_fails_cleanly
def models(show_all, pattern) -> None:
    """Known models with their prices (USD per 1M tokens)."""
    from evalkit.console import fit
    from evalkit.console.catalog import models_table

    fit.show(fit.console(), models_table(show_all, pattern))


@main.command()
@click.argument("model_ids", nargs=-1, metavar="[MODEL]...")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="Show the models of this benchmark YAML, with their config prices.")
@_fails_cleanly
def prices(model_ids, config_path) -> None:
    """Every price rule evalkit would apply to each model, with its source and date.

    With no MODEL and no config, the default lineup. A rule older than the price file's
    age limit is marked stale.
    """
    from evalkit.config.lineup import local_models, provider_defaults
    from evalkit.config.models import ModelConfig, load_config
    from evalkit.console import fit
    from evalkit.console.prices import price_tables

    models = list(load_config(config_path).models) if config_path else []
    models += [ModelConfig(id=m) for m in model_ids]
    if not models:
        models = [ModelConfig(id=d.model) for d in provider_defaults()] + list(local_models())
    console = fit.console()
    for table in price_tables(models):
        fit.show(console, table)


@main.command()
@click.option("--baseline", required=True, help="The run to compare against (id, prefix, last, last:TAG).")
@click.option("--candidate", default="last", show_default=True, help="The run to check.")
@threshold_options
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False),
              help="Markdown summary [default: results/<candidate>/regression.md].")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False),
              help="JUnit XML for CI [default: results/<candidate>/regression.junit.xml].")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@store_option
@_fails_cleanly
def regress(baseline, candidate, max_accuracy_drop, max_latency_increase, max_cost_increase,
            markdown_path, junit_path, results_dir, store) -> None:
    """Check a run for regressions against a baseline run, per model and suite.

    A significant accuracy drop, or a p95 latency or cost increase, beyond its threshold
    is a regression. Exit code: 0 clean, 1 regression, 2 bad input.
    """
    from evalkit import api

    thresholds = _thresholds(max_accuracy_drop, max_latency_increase, max_cost_increase)
    _print_regression(api.regress(baseline, candidate, thresholds=thresholds, store=store, results_dir=results_dir,
                                  markdown_path=markdown_path, junit_path=junit_path))


@main.command()
@click.option("-m", "--model", help="Only this model (its label).")
@click.option("-s", "--suite", help="Only this suite.")
@click.option("--tag", help="Only runs with this tag.")
@click.option("-n", "--limit", type=int, help="Most recent runs to include [default: all].")
@click.option("--chart", "chart_path", default="results/history.png", show_default=True,
              type=click.Path(dir_okay=False), help="Chart file; .svg for SVG.")
@click.option("--by-run", is_flag=True, help="Also print every run's figures.")
@store_option
@_fails_cleanly
def history(model, suite, tag, limit, chart_path, by_run, store) -> None:
    """Accuracy, p95 latency and cost per task across runs: a table and a chart."""
    # history alone, not all of evalkit.api: it reads stored summaries and draws one chart
    from evalkit.analysis.history import ALL_SUITES, history_frame
    from evalkit.console import fit, trend
    from evalkit.report.history_chart import chart
    from evalkit.store.database import Store

    frame = history_frame(Store(store), model=model, suite=suite, tag=tag, limit=limit)
    console = fit.console()
    fit.show(console, trend.trend_table(frame))
    if frame.empty:
        return
    if by_run:
        fit.show(console, trend.runs_detail(frame))
    path = chart(frame, chart_path, suite=suite or ALL_SUITES)
    fit.print_lines(console, [f"Chart: {path}"])


@main.command()
@click.option("--items", type=int, help="Items in the planned suite (or give -c).")
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False),
              help="Benchmark YAML: count its items per suite.")
@click.option("--accuracy", default=0.7, show_default=True, type=float,
              help="Expected accuracy; sets the assumed discordance when --discordance is not given.")
@click.option("--discordance", type=float,
              help="Share of items the two sides answer differently [default: 2p(1-p), unrelated errors].")
@click.option("--target-diff", type=float, help="A difference to detect (0.05 = 5 points): items it needs.")
@click.option("--design-effect", default=1.0, show_default=True, type=float,
              help="Variance inflation of clustered items (1 = independent).")
@_fails_cleanly
def power(items, config_path, accuracy, discordance, target_diff, design_effect) -> None:
    """The smallest accuracy difference a suite can detect (95% confidence, 80% power)."""
    from evalkit.analysis.power_lines import power_lines

    _echo_lines(power_lines(items, config_path, accuracy, discordance, target_diff, design_effect))


def _echo_worker_lag(per_step: list[list[float | None]]) -> None:
    """capacity --workers: each worker's worst event-loop lag p99 over the steps."""
    worst = [max((lag for lag in lags if lag is not None), default=None) for lags in zip(*per_step, strict=False)]
    text = ", ".join("n/a" if lag is None else f"{lag:.1f}" for lag in worst)
    click.echo(f"workers: {len(worst)} processes; event-loop lag p99 per worker, worst step (ms): {text}")


@main.command("capacity")
@click.option("-m", "--model", "model_id", required=True,
              help="litellm model id of the served model (hosted_vllm/..., openai/...), or local/<variant>.")
@click.option("--api-base", help="OpenAI-compatible base URL, e.g. http://gpu-box:8000/v1.")
@click.option("--api-key-env", help="Environment variable holding the endpoint's key, if it needs one.")
@click.option("--hourly-cost", type=float, required=True, help="USD per hour of the serving machine.")
@click.option("--slo-ttft-p95", help="Target: 95th percentile time to first token, e.g. 1s or 500ms.")
@click.option("--slo-speed-p50", help="Target: median output speed per request, e.g. 20tok/s.")
@click.option("-s", "--suite", default="arithmetic", show_default=True,
              help="Built-in suite or .jsonl/.csv file whose prompts make the load.")
@click.option("--max-concurrency", type=int, default=64, show_default=True,
              help="Closed-loop steps 1, 2, 4, ... up to this many requests in flight.")
@click.option("--rate", "rates", multiple=True, type=float,
              help="Poisson mode: arrivals per second of a step (repeat, rising); replaces concurrency steps.")
@click.option("--step-seconds", type=float, default=20.0, show_default=True, help="Measurement window per step.")
@click.option("--warmup-seconds", type=float, default=3.0, show_default=True, help="Uncounted load before each window.")
@click.option("--max-tokens", type=int, default=256, show_default=True)
@click.option("--input-cost-ratio", type=float, default=0.25, show_default=True,
              help="Price of an input token relative to an output token, used to split the hourly cost.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--workers", default="1", show_default=True, metavar="N|auto",
              help="Processes sending each step's load, split between them (auto: the cores free).")
@_fails_cleanly
def capacity_command(model_id, api_base, api_key_env, hourly_cost, slo_ttft_p95, slo_speed_p50, suite,
                     max_concurrency, rates, step_seconds, warmup_seconds, max_tokens, input_cost_ratio,
                     results_dir, workers) -> None:
    """Load a serving endpoint step by step; derive its $/token at the highest load within the target."""
    from evalkit.console import capacity as view
    from evalkit.console import fit
    from evalkit.economics import capacity
    from evalkit.run.capacity import run_sweep, suite_prompts
    from evalkit.run.workers import parse_workers

    processes = parse_workers(workers)
    slo = capacity.SLO(capacity.parse_seconds(slo_ttft_p95), capacity.parse_speed(slo_speed_p50))
    options = capacity.SweepOptions(
        concurrency=capacity.concurrency_steps(max_concurrency), rates=tuple(rates) or None,
        step_seconds=step_seconds, warmup_seconds=warmup_seconds, max_tokens=max_tokens)
    prompts = suite_prompts(suite)
    width = fit.console().width  # a step's details go below it when the terminal is narrow
    click.echo(f"target: {slo.describe()}; {len(prompts)} prompts from {suite}")
    on_step = lambda step: click.echo("\n".join(view.step_table_lines(step, width=width)))  # noqa: E731
    click.echo(view.STEP_HEADER)
    result = run_sweep(model_id, api_base, api_key_env, prompts, hourly_cost, slo, options,
                       suite=suite, on_step=on_step, workers=processes, on_lag=_echo_worker_lag)
    result = capacity.with_ratio(result, input_cost_ratio)
    _echo_lines([*view.price_lines(result), f"saved {result.save(results_dir)} (use it as "
                 "`price_from_capacity:` in a config, or with `evalkit breakeven`)"])


@main.command()
@click.argument("capacity_file", type=click.Path(dir_okay=False))
@click.option("-m", "--model", "models", multiple=True, required=True, help="API model to compare against (repeat).")
@click.option("--volume", required=True, help="Requests or tokens per day or month: 50000/day, 2M-tokens/month.")
@click.option("--utilisation", type=float, default=0.5, show_default=True,
              help="Average load of a replica as a share of its capacity at the target (the rest is idle headroom).")
@click.option("--chart", type=click.Path(dir_okay=False), help="Write the cost-vs-volume chart here (SVG).")
@_fails_cleanly
def breakeven(capacity_file, models, volume, utilisation, chart) -> None:
    """Monthly cost of self-hosting (from a capacity run) against API models, and the break-even volumes."""
    from evalkit.config.models import ModelConfig
    from evalkit.economics import selfhost
    from evalkit.economics.capacity import load_capacity
    from evalkit.economics.pricing import resolve_price
    from evalkit.economics.volume import parse_volume

    result = load_capacity(capacity_file)
    apis = [resolve_price(ModelConfig(id=m)) for m in models]
    projection = selfhost.project(result, apis, parse_volume(volume), utilisation)
    from evalkit.console import fit
    from evalkit.console.breakeven import projection_grid

    console = fit.console()
    fit.print_lines(console, [f"self-hosted: {result.assumptions()}", selfhost.volume_line(projection)])
    fit.show(console, projection_grid(projection))
    if chart:
        evens = [o.break_even_requests for o in projection.apis if o.break_even_requests]
        span = max([projection.requests_per_month, *evens]) * 1.5
        from evalkit.report.breakeven_chart import cost_curve

        Path(chart).write_text(cost_curve(result, apis, utilisation, span), encoding="utf-8")
        click.echo(f"chart: {chart}")


@main.command("judge-check")
@click.argument("labels", type=click.Path(dir_okay=False))
@click.option("--judge-model", required=True, help="litellm id of the judge, e.g. openai/gpt-4o-mini.")
@click.option("--rubric", default="", help="What a good answer is; given to the judge.")
@click.option("--scale", default=5, show_default=True, type=click.IntRange(2, 100),
              help="Labels run from 1 to this.")
@click.option("--api-base", help="Endpoint of the judge (self-hosted or proxied).")
@click.option("--api-key-env", help="Environment variable holding the judge's key.")
@_fails_cleanly
def judge_check(labels, judge_model, rubric, scale, api_base, api_key_env) -> None:
    """How far the judge agrees with your human labels (Cohen's kappa)."""
    import asyncio

    from evalkit.scoring import judge

    spec = judge.JudgeSpec(model=judge_model, rubric=rubric, scale=scale, api_base=api_base,
                           api_key_env=api_key_env, params={"temperature": 0})
    agreement = asyncio.run(judge.check_against_labels(spec, judge.load_labels(labels, scale)))
    for item_id, human, verdict in agreement.pairs:
        mark = "" if human == verdict else "  <- differs"
        click.echo(f"{item_id}: human {human}, judge {verdict if verdict is not None else 'no verdict'}{mark}")
    kappa = "undefined (one label only)" if agreement.kappa is None else f"{agreement.kappa:.3f}"
    click.echo(f"items: {agreement.n}  agreement: {agreement.observed:.1%}  Cohen's kappa: {kappa}")


@main.group()
def local() -> None:
    """The embedded local model."""


@local.command("serve")
@click.option("--variant", default="smollm2-135m-q4_1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@_fails_cleanly
def local_serve(variant, port) -> None:
    """Serve the embedded local model on 127.0.0.1 until Ctrl-C."""
    from evalkit.transport.local.server import serve_forever

    serve_forever(variant, "127.0.0.1", port)



@main.group()
def workload() -> None:
    """Workload profiles: your production traffic, read from its logs."""


LOG_FORMATS = ["auto", "openai-jsonl", "litellm", "openrouter", "csv"]
"""`evalkit.workload.formats.FORMATS` and ``auto``, listed here so `--help` imports no reader."""


@workload.command("import")
@click.argument("log_file", type=click.Path(dir_okay=False))
@click.option("--name", help="Name of the profile [default: the file's name without its extension].")
@click.option("--format", "fmt", type=click.Choice(LOG_FORMATS), default="auto", show_default=True,
              help="The log's format; auto tells them apart by the first line.")
@click.option("--keep-text", is_flag=True, help="Also store the prompts and answers (for replay suites); "
              "logs may hold personal data.")
@click.option("--redact", is_flag=True, help="With --keep-text: remove e-mail addresses, phone numbers "
              "and long numbers from the text before it is stored.")
@store_option
@_fails_cleanly
def workload_import(log_file, name, fmt, keep_text, redact, store) -> None:
    """Read a log of production requests into a stored workload profile.

    Reads OpenAI-format chat JSONL, litellm payloads, OpenRouter generation records or a
    CSV of token counts. The whole file is checked first: one bad line and nothing is stored.
    """
    from evalkit.console.workload import summary_lines
    from evalkit.store.database import Store
    from evalkit.workload.importer import PRIVACY_WARNING, UNREDACTED_HINT, import_workload

    if keep_text:
        click.echo(PRIVACY_WARNING + ("" if redact else UNREDACTED_HINT), err=True)
    history = Store(store)
    imported = import_workload(history, log_file, name=name, fmt=fmt, keep_text=keep_text, redact=redact)
    lines = summary_lines(imported.profile)
    if imported.skipped:
        lines.append(f"Skipped: {imported.skipped} logged failures (no answer was billed)")
    if redact:
        removed = ", ".join(f"{count} {marker}" for marker, count in sorted(imported.redactions.items()))
        lines.append(f"Redacted: {removed or 'nothing found'}")
    if keep_text and not imported.profile.has_text:
        lines.append("Text sample: the log holds no text, so none was kept")
    lines.append(f"Stored as {imported.profile.name!r} in {history.url}")
    _echo_lines(lines)


@workload.command("list")
@store_option
@_fails_cleanly
def workload_list(store) -> None:
    """List the stored workload profiles."""
    from evalkit.console import fit
    from evalkit.console.workload import workloads_table
    from evalkit.store.database import Store

    fit.show(fit.console(), workloads_table(Store(store)))


@workload.command("show")
@click.argument("name")
@store_option
@_fails_cleanly
def workload_show(name, store) -> None:
    """Print a stored workload profile."""
    from evalkit.console.workload import stored_lines
    from evalkit.store.database import Store

    _echo_lines(stored_lines(Store(store).workload(name)))


@workload.command("delete")
@click.argument("name")
@store_option
@_fails_cleanly
def workload_delete(name, store) -> None:
    """Delete a stored workload profile (and its text sample)."""
    from evalkit.store.database import Store

    history = Store(store)
    history.workload(name)  # a UsageError naming the stored profiles when there is none
    history.delete_workload(name)
    click.echo(f"deleted workload profile {name!r} from {history.url}")


if __name__ == "__main__":
    main()
