"""The `evalkit` command: parse options, call one library function, print.

Heavy libraries (litellm, pandas) are imported inside the commands that need them, so
`evalkit --help` stays fast.
"""

from __future__ import annotations

import functools
import sys

import click

from evalkit import __version__
from evalkit.errors import UsageError

LOCAL_DEMO = {"limit": 3, "max_tokens": 96}
"""Run options of the offline demo (no key set, nothing named): a couple of minutes on 2 cores."""


def _fails_cleanly(command):
    """Expected failures print one line and exit 2; Ctrl-C exits 130 without a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except UsageError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: completed calls are stored", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Which model should we buy? Accuracy, latency and cost on the same requests."""


REPORT_FORMATS = ("html", "pdf", "md")
VOLUME_HELP = ("Workload for the projected monthly cost: requests (50000/day, 1.5M/month) or tokens "
               "(2M-tokens/month) [default: 10000/day].")

store_option = click.option(
    "--store", envvar="EVALKIT_STORE", help="History database: a SQLAlchemy URL or SQLite path [default: results/evalkit.db]."
)


@main.command()
@click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False), help="Benchmark YAML file.")
@click.option("-m", "--model", "models", multiple=True, help="litellm model id (repeat for several).")
@click.option("-s", "--suite", "suites", multiple=True, help="Built-in suite name or .jsonl/.csv file (repeat).")
@click.option("--limit", type=int, help="At most this many items per suite.")
@click.option("--temperature", type=float)
@click.option("--max-tokens", type=int)
@click.option("--timeout", type=float, help="Seconds per attempt.")
@click.option("--retries", type=int, help="Retries after the first attempt.")
@click.option("--seed", type=int, help="Seed for generated suites.")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False))
@click.option("--by-suite", is_flag=True, help="Also print the per-suite table.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--report", "reports", multiple=True, type=click.Choice(REPORT_FORMATS),
              help="Also write a decision report into results/<run-id>/ (repeat: --report html --report pdf).")
@click.option("--volume", help=VOLUME_HELP)
@store_option
@_fails_cleanly
def compare(config_path, models, suites, limit, temperature, max_tokens, timeout, retries, seed,
            results_dir, by_suite, quiet, reports, volume, store) -> None:
    """Run the suites against every model and print the verdict.

    With no models named, runs one default model per provider whose API key is set,
    plus the embedded local models.
    """
    from evalkit import compare as use_case
    from evalkit.config import ModelConfig, RunConfig, apply_overrides, load_config, suite_from_option
    from evalkit.lineup import all_key_names, default_models

    config = load_config(config_path) if config_path else RunConfig(source="<options>")
    model_configs = [ModelConfig(id=m) for m in models]
    if not model_configs and not config.models:
        model_configs, found = default_models()
        if not found:
            click.echo(
                f"No provider API key set ({', '.join(all_key_names())}): running the embedded "
                f"local models alone, {LOCAL_DEMO['limit']} items per suite."
            )
            if not config_path:
                limit = limit or LOCAL_DEMO["limit"]
                max_tokens = max_tokens or LOCAL_DEMO["max_tokens"]
    run_options = dict(limit=limit, temperature=temperature, max_tokens=max_tokens,
                       timeout=timeout, retries=retries, seed=seed)
    config = apply_overrides(
        config, models=model_configs, suites=[suite_from_option(s) for s in suites], run_options=run_options
    )
    if reports:
        from evalkit.report.volume import parse_volume

        parse_volume(volume)  # a bad --volume fails before the first paid call
    plan = use_case.prepare(config)
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    _run_and_print(plan, store, results_dir, by_suite, quiet, reports, volume)


def _run_and_print(plan, store_url, results_dir, by_suite, quiet, reports=(), volume=None) -> None:
    from rich.console import Console

    from evalkit import compare as use_case
    from evalkit.report import terminal
    from evalkit.report.progress import progress_bar
    from evalkit.report.run_analysis import analyse_run
    from evalkit.store import Store

    store = Store(store_url)
    console = Console()
    with progress_bar(plan.total_calls, console, disabled=quiet) as on_record:
        outcome = use_case.execute(plan, store, results_dir, on_record=on_record)
    analysis = analyse_run(store, outcome.run_id)
    terminal.render(analysis, console, by_suite=by_suite)
    console.print(f"\nRun {outcome.run_id}: {outcome.records} records in {store.url}; files in {outcome.run_dir}/")
    if reports and not analysis.records.empty:
        from evalkit.report.document import write_reports

        for path in write_reports(analysis, list(reports), outcome.run_dir, volume):
            console.print(f"Report: {path}")


@main.command()
@click.option("-n", "--limit", default=20, show_default=True, help="Most recent runs to list.")
@store_option
@_fails_cleanly
def runs(limit, store) -> None:
    """List the runs in the history database."""
    from rich.console import Console

    from evalkit.report.history import runs_table
    from evalkit.store import Store

    Console().print(runs_table(Store(store), limit))


@main.command()
@click.argument("run", default="last")
@click.option("--by-suite", is_flag=True, help="Also print the per-suite table.")
@store_option
@_fails_cleanly
def show(run, by_suite, store) -> None:
    """Print a stored run's verdict again (RUN: id, unique prefix, or `last`)."""
    from rich.console import Console

    from evalkit.report import terminal
    from evalkit.report.run_analysis import analyse_run
    from evalkit.store import Store

    terminal.render(analyse_run(Store(store), run), Console(), by_suite=by_suite)


@main.command()
@click.argument("run", default="last")
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(REPORT_FORMATS),
              help="Report format (repeat for several) [default: html].")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (one format only).")
@click.option("--volume", help=VOLUME_HELP)
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Reports go to DIR/<run-id>/ unless -o is given.")
@store_option
@_fails_cleanly
def report(run, formats, output, volume, results_dir, store) -> None:
    """Write a decision report (HTML, PDF, Markdown) for a stored run, without re-running it."""
    from pathlib import Path

    from evalkit.report.document import write_reports
    from evalkit.report.run_analysis import analyse_run
    from evalkit.report.volume import parse_volume
    from evalkit.store import Store

    parse_volume(volume)
    analysis = analyse_run(Store(store), run)
    directory = Path(results_dir) / analysis.run.run_id
    for path in write_reports(analysis, list(formats) or ["html"], directory, volume,
                              Path(output) if output else None):
        click.echo(f"wrote {path}")


@main.command()
@click.option("--seed", default=1234, show_default=True)
@_fails_cleanly
def suites(seed) -> None:
    """List the built-in suites with a sample item."""
    from rich.console import Console

    from evalkit.report.catalog import suites_table

    Console().print(suites_table(seed))


@main.command()
@click.option("--all", "show_all", is_flag=True, help="Every chat model in the price map, not just the defaults.")
@click.option("--filter", "pattern", help="Only ids containing this text.")
@_fails_cleanly
def models(show_all, pattern) -> None:
    """Known models with their prices (USD per 1M tokens)."""
    from rich.console import Console

    from evalkit.report.catalog import models_table

    Console().print(models_table(show_all, pattern))


@main.group()
def local() -> None:
    """The embedded local model."""


@local.command("serve")
@click.option("--variant", default="smollm2-135m-q4_1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@_fails_cleanly
def local_serve(variant, port) -> None:
    """Serve the embedded local model on 127.0.0.1 until Ctrl-C."""
    from evalkit.local import serve_forever

    serve_forever(variant, "127.0.0.1", port)


if __name__ == "__main__":
    main()
