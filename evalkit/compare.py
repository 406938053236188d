"""The compare use case: config -> suites -> runner -> store -> analysis, as one library call.

`prepare` does every check that can fail on bad input (suites, scorers, model ids, keys,
prices) before anything is sent or written; `execute` then runs, committing each record
as it arrives, and writes the run folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evalkit import __version__, providers, redaction, routes
from evalkit.budget import Budget
from evalkit.cache import ResponseCache
from evalkit.config import ModelConfig, RunConfig, SuiteConfig, validate_config
from evalkit.estimate import worst_case_cost
from evalkit.fingerprint import describe_changes, fingerprint
from evalkit.errors import UsageError
from evalkit.lineup import resolve_api_key
from evalkit.pricing import ModelPrice, resolve_price, snapshot
from evalkit.records import CallRecord
from evalkit.runner import Job, RetryPolicy, Runner, Target
from evalkit.sharding import Shard
from evalkit.store import RecordWriter, RunRow, Store
from evalkit.suites import builtin_names, load_samples
from evalkit.suites.base import Sample

DEFAULT_RESULTS_DIR = "results"


@dataclass
class Plan:
    """A validated run, ready to execute: nothing has been sent or written yet."""

    config: RunConfig
    samples: dict[str, list[Sample]]
    prices: dict[str, ModelPrice]
    keys: dict[str, str | None] = field(repr=False)
    warnings: list[str] = field(default_factory=list)
    shard: Shard | None = None
    """This machine's share of the items (``--shard I/N``); None runs them all."""

    @property
    def total_calls(self) -> int:
        return len(self.config.models) * sum(len(s) for s in self.samples.values()) * self.config.run.epochs


def default_suites() -> list[SuiteConfig]:
    return [SuiteConfig(name=name) for name in builtin_names()]


def prepare(config: RunConfig, require_keys: bool = True, shard: Shard | None = None) -> Plan:
    """Validate everything that could fail before a paid call; raise UsageError on bad input.

    An estimate needs no keys: `require_keys=False` skips that check (nothing is sent).
    A shard keeps only its deterministic share of the items.
    """
    if not config.models:
        raise UsageError("no models to compare; pass -m MODEL or a config with models")
    suites = config.suites or default_suites()
    config = config.model_copy(update={"suites": suites})
    samples = {suite.name: load_samples(suite, config.run) for suite in suites}
    for name, items in samples.items():
        if not items:
            raise UsageError(f"suite {name} has no items")
    warnings: list[str] = []
    prices, keys = {}, {}
    for model in config.models:
        redaction.remember_url(model.api_base)
        _check_model_id(model, require_keys)
        keys[model.display] = resolve_api_key(model) if require_keys else None
        price = resolve_price(model)
        if not price.known:
            warnings.append(
                f"price of {model.id} is unknown: its cost is reported as unknown, not $0 "
                "(add price: {input: ..., output: ...} per 1M tokens to the model in the config)"
            )
        prices[model.display] = price
    if shard is not None:
        samples = shard.select(samples)
    return Plan(config=config, samples=samples, prices=prices, keys=keys, warnings=warnings, shard=shard)


def _check_model_id(model: ModelConfig, require_keys: bool = True) -> None:
    if model.is_local:
        from evalkit.local import LOCAL_VARIANTS

        variant = model.id.removeprefix("local/")
        if variant not in LOCAL_VARIANTS:
            raise UsageError(f"unknown local model {model.id}; known: {', '.join('local/' + v for v in LOCAL_VARIANTS)}")
        return
    if providers.provider_of(model.id) is None:
        import difflib

        close = difflib.get_close_matches(model.id, providers.known_chat_models(), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UsageError(
            f"unknown model id '{model.id}': litellm cannot tell its provider; write it as "
            f"provider/model (e.g. deepseek/deepseek-chat, openai/gpt-4.1-mini).{hint} "
            "`evalkit models` lists known models"
        )
    route = routes.route_for(model.id)
    if route.fast and route.endpoint(model.api_base) is None:
        where = " or ".join(route.api_base_env)
        raise UsageError(f"model {model.id} needs an endpoint: set api_base for it in the config"
                         + (f" (or {where} in the environment)" if where else ""))
    if require_keys and model.api_base is None and model.api_key_env is None:
        missing = providers.missing_keys(model.id)
        if missing:
            raise UsageError(f"model {model.id} needs {', '.join(missing)} set in the environment")


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunOptions:
    """How to execute a plan, beyond the config: resume, budget, cache, tag, shared run id."""

    resume: RunRow | None = None
    """An earlier run of the same plan to continue: its successful calls are not repeated."""
    max_cost: float | None = None
    """USD the whole run may spend; calls that could exceed it are not sent."""
    cache: ResponseCache | None = None
    tag: str | None = None
    """A label for a series of runs (e.g. `nightly`), so `last:nightly` finds the latest."""
    run_id: str | None = None
    """Shards of one run all name it; otherwise a new id is made."""


@dataclass
class Outcome:
    run_id: str
    run_dir: Path
    status: str
    records: int
    already_done: int = 0
    """Resume: calls of the earlier attempt that were kept and not sent again."""
    repeated: int = 0
    """Resume: calls that were in flight when the earlier attempt stopped, sent again."""
    unsent: int = 0
    """Calls held back by the budget."""
    spent: float | None = None
    complete: bool = True
    """False while other shards of the run have not reported yet."""


def execute(
    plan: Plan,
    store: Store,
    results_dir: str | Path = DEFAULT_RESULTS_DIR,
    on_record: Callable[[CallRecord], None] | None = None,
    options: RunOptions = RunOptions(),
) -> Outcome:
    """Run the plan: start local servers, send every job, commit records, write the run folder.

    A sharded plan joins run ``run_id`` (required) with its share of the items; the run
    is finished when the last of its shards ends.
    """
    config = plan.config
    run_id, done, repeated = _open_run(plan, store, options)
    writer = RecordWriter(store)
    budget = Budget(options.max_cost, spent=store.spent(run_id)) if options.max_cost is not None else None

    def sink(record: CallRecord) -> None:
        writer.put(redaction.redact_record(record))
        if on_record:
            on_record(record)

    async def journal(job: Job) -> None:
        await asyncio.wrap_future(writer.mark_sent(run_id, job.key))

    retry = RetryPolicy(retries=config.run.retries, max_total_wait=config.run.max_retry_wait)
    runner = Runner(run_id, config.run.timeout, retry, sink, journal=journal, budget=budget, cache=options.cache)
    status, complete = "failed", True
    try:
        with _served_targets(plan) as targets:
            jobs = [job for job in _jobs(plan, targets, budget is not None) if job.key not in done]
            asyncio.run(runner.run(_interleave(jobs)))
        status = "stopped: budget" if runner.unsent else "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        writer.close()
        if plan.shard is None:
            store.finish_run(run_id, status)
        else:
            complete = store.finish_shard(run_id, plan.shard.index, status)
    run_dir = Path(results_dir) / run_id
    from evalkit.report.run_folder import write_run_folder

    write_run_folder(store, run_id, run_dir)
    return Outcome(run_id=run_id, run_dir=run_dir, status=status, records=writer.written,
                   already_done=len(done), repeated=repeated, unsent=runner.unsent,
                   spent=budget.spent if budget else None, complete=complete)


def _open_run(plan: Plan, store: Store, options: RunOptions) -> tuple[str, set, int]:
    """A new run row, a shard joining one, or the resumed one: its id, the calls already
    done, and the calls to repeat."""
    resume = options.resume
    if resume is None:
        if plan.shard is not None and not options.run_id:
            raise UsageError("--shard needs --run-id: every shard must name the same run")
        run_id = options.run_id or new_run_id()
        start = (_storable_config(plan.config), plan.config.config_hash(), __version__,
                 snapshot(list(plan.prices.values())))
        if plan.shard is None:
            store.start_run(run_id, *start, fingerprint=fingerprint(plan), tag=options.tag)
        else:
            store.join_run(run_id, *start, shard=plan.shard.index, shard_count=plan.shard.count,
                           tag=options.tag, fingerprint=fingerprint(plan))
        return run_id, set(), 0
    repeated = store.inflight_count(resume.run_id)
    store.reopen_run(resume.run_id)
    return resume.run_id, store.completed_keys(resume.run_id), repeated


def _storable_config(config: RunConfig) -> dict:
    """The config as stored with the run: endpoints lose any credentials written into them."""
    data = config.model_dump(mode="json")
    for model in data["models"]:
        model["api_base"] = redaction.redact_url(model["api_base"])
    return data


def _jobs(plan: Plan, targets: dict[str, Target], with_worst_case: bool) -> list[Job]:
    run = plan.config.run
    jobs = []
    for model in plan.config.models:
        price = plan.prices[model.display]
        for items in plan.samples.values():
            for sample in items:
                # counting every prompt's tokens is only worth it when a budget needs it
                worst = worst_case_cost(model, price, sample, run.max_tokens, run.timeout) if with_worst_case else 0.0
                for epoch in range(run.epochs):
                    jobs.append(Job(targets[model.display], sample, epoch, max_cost=worst))
    return jobs


def check_resumable(plan: Plan, run: RunRow) -> None:
    """Refuse to resume a run whose requests would differ, saying what changed."""
    if run.fingerprint is None:
        raise UsageError(f"run {run.run_id} was stored without a fingerprint and cannot be resumed")
    changes = describe_changes(run.fingerprint, fingerprint(plan))
    if changes:
        raise UsageError(
            f"cannot resume {run.run_id}: the config changed ({'; '.join(changes)}); "
            "run it as a new comparison instead"
        )


def find_resumable(plan: Plan, store: Store) -> RunRow | None:
    """The latest unfinished run of exactly this plan, if any."""
    current = fingerprint(plan)
    for run in store.runs():
        if run.status != "finished" and run.fingerprint == current:
            return run
    return None


def plan_for_resume(run: RunRow) -> Plan:
    """The plan of a stored run, from its stored config (keys come from the environment)."""
    config = validate_config(run.config, source=f"<config stored with run {run.run_id}>")
    if any(redaction.has_redactions(m.api_base) for m in config.models):
        raise UsageError(
            f"run {run.run_id} used an endpoint with credentials, which are never stored; "
            "resume it with the same config: evalkit compare --resume RUN -c CONFIG"
        )
    return prepare(config)


def _interleave(jobs: list[Job]) -> list[Job]:
    """Alternate models so that every model's calls see the same moments of the run."""
    by_model: dict[str, list[Job]] = {}
    for job in jobs:
        by_model.setdefault(job.target.label, []).append(job)
    queues = list(by_model.values())
    return [queue[i] for i in range(max(map(len, queues))) for queue in queues if i < len(queue)]


@contextlib.contextmanager
def _served_targets(plan: Plan):
    """Targets for every model, with the embedded local servers running while in use."""
    config = plan.config
    local = [m for m in config.models if m.is_local]
    with contextlib.ExitStack() as stack:
        servers = {}
        if local:
            from evalkit.local import LocalServer

            from evalkit.local import threads_per_server

            threads = threads_per_server(len(local))
            for model in local:
                variant = model.id.removeprefix("local/")
                servers[model.display] = stack.enter_context(LocalServer(variant=variant, n_threads=threads))
        yield {m.display: _target(m, plan, servers.get(m.display)) for m in config.models}


def _target(model: ModelConfig, plan: Plan, server) -> Target:
    options = plan.config.run
    params = {"temperature": options.temperature, "max_tokens": options.max_tokens, "seed": options.seed}
    params.update(model.params)
    model_id, api_base, api_key = model.id, model.api_base, plan.keys[model.display]
    if routes.route_for(model_id).fast:  # litellm resolves its own aliases; the fast path needs it done
        model_id = providers.model_called(model_id)
    token_counter = None
    if server is not None:
        from evalkit.local import token_counter as local_token_counter

        model_id, api_base, api_key = server.litellm_model, server.base_url, "local"
        token_counter = local_token_counter(server.model_alias)
    return Target(
        label=model.display,
        model_id=model_id,
        config_id=model.id,
        endpoint=model.api_base,
        price=plan.prices[model.display],
        params=params,
        api_base=api_base,
        api_key=api_key,
        max_concurrency=model.max_concurrency,
        requests_per_minute=model.requests_per_minute,
        token_counter=token_counter,
    )
