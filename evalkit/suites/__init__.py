"""Suites: where samples come from. Built-in generators by name, or user files by path.

The stage owns `Sample` (`base`), the built-in suite protocol and registry (`registry`),
the generators (`builtin/`, one module per suite), file suites (`files`) and lm-eval
tasks as suites (`lm_eval`). It may import config and scoring (a file's references are
checked by their scorers before any call), the stages below them, and the foundation.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from pathlib import Path

from evalkit.config.models import RunOptions, SuiteConfig
from evalkit.errors import UsageError
from evalkit.suites.base import Sample

DEFAULT_SUITE_SIZE = 25


def stored_run_samples(config: dict, store: str | None = None) -> Iterator[Sample]:
    """Every sample of a stored run's config (its prompts are not stored), regenerated;
    ``store`` holds the profiles its replay and latency suites were drawn from. A suite
    that can no longer be read (a moved file, a deleted profile) yields nothing: the
    reports then say its prompts are not available."""
    try:
        options = RunOptions(**config.get("run", {}))
    except Exception:
        return
    for suite in config.get("suites", []):
        try:
            samples = load_samples(SuiteConfig(**suite), options, store=store)
        except Exception:
            continue
        yield from samples


def builtin_names() -> list[str]:
    """Every built-in suite's name, in listing order."""
    from evalkit.suites.registry import builtin_suites

    return list(builtin_suites())


def default_builtin_names() -> list[str]:
    """The built-in suites a run that names none runs, in listing order."""
    from evalkit.suites.registry import builtin_suites

    return [name for name, suite in builtin_suites().items() if suite.in_default_run]


def load_samples(suite: SuiteConfig, options: RunOptions,
                 locate: Callable[[str], str] | None = None, store: str | None = None) -> list[Sample]:
    """The samples of one suite, generated or read, validated, cut to the run's limit.

    ``locate(field)`` says where the suite's ``field`` was set (config file, line and
    field, or the flag), for the messages about a missing file or an unknown suite.
    ``store`` (a URL or path; None: the default) holds the profiles ``replay:`` suites draw from.
    """
    locate = locate or (lambda _field: f"suite {suite.name}")
    from evalkit.suites.latency import is_latency_suite, load_latency_suite

    if is_latency_suite(suite.name) and not suite.path:
        return load_latency_suite(suite, locate, limit=options.limit, store=store)
    if suite.concurrency is not None:
        raise UsageError(f"{locate('concurrency')}: concurrency is an option of the latency suites only "
                         "(latency, latency:PROFILE); leave it out of suite " + suite.name)
    from evalkit.suites.replay import is_replay, load_replay_samples

    if is_replay(suite):
        return load_replay_samples(suite, options, locate, store)
    if suite.judge is not None or suite.incumbent_price is not None:
        field = "judge" if suite.judge is not None else "incumbent_price"
        raise UsageError(f"{locate(field)}: '{field}' belongs to replay suites (replay:PROFILE); "
                         f"suite {suite.name} is not one, so remove it")
    if suite.name.startswith("lm-eval:") and not suite.path:
        from evalkit.suites.lm_eval import load_lm_eval_samples

        # lm-eval builds few-shot prompts in document order: cut while building, not after.
        return load_lm_eval_samples(suite.name, tuple(options.lm_eval_include), options.limit)
    if suite.path:
        from evalkit.suites.files import load_file_suite

        if not Path(suite.path).is_file():
            raise UsageError(f"{locate('path')}: suite file {suite.path} not found "
                             "(check the path; in a config file it is relative to the file's folder)")
        samples = load_file_suite(suite.path, name=suite.name)
    else:
        samples = _generate(suite, options, locate)
    return samples[: options.limit] if options.limit else samples


def _generate(suite: SuiteConfig, options: RunOptions, locate: Callable[[str], str]) -> list[Sample]:
    from evalkit.suites.registry import builtin_suites

    suites = builtin_suites()
    if suite.name not in suites:
        close = difflib.get_close_matches(suite.name, suites, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UsageError(
            f"{locate('name')}: unknown suite '{suite.name}'; {hint}built-in suites: {', '.join(suites)} "
            "(or pass a .jsonl/.csv file)"
        )
    size = suite.size or suites[suite.name].default_size or DEFAULT_SUITE_SIZE
    if options.limit:
        size = min(size, options.limit)
    seed = suite.seed if suite.seed is not None else options.seed
    return suites[suite.name].generate(size, seed, difficulty=suite.difficulty)
