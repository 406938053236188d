"""The compare use case: config -> suites -> runner -> store -> analysis, as one library call.

`prepare` does every check that can fail on bad input (suites, scorers, model ids, keys,
prices) before anything is sent or written; `execute` then runs, committing each record
as it arrives, and writes the run folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import math
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit import redaction
from evalkit.version import __version__
from evalkit import transport
from evalkit.config import routes
from evalkit.run.budget import Budget, exact_usd
from evalkit.run.cache import ResponseCache
from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig, validate_config
from evalkit.run.estimate import worst_case_cost
from evalkit.run.fingerprint import describe_changes, fingerprint
from evalkit.errors import RunStopped, UsageError
from evalkit.store.lease import WHOLE_RUN, Lease, live_holders, store_now, takeover_line
from evalkit.config.keys import resolve_api_key
from evalkit.economics.pricing import ModelPrice, resolve_price, snapshot
from evalkit.store.records import CallKey, CallRecord
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.run.shards import Shard
from evalkit.store.database import RunRow, Store
from evalkit.store.writer import RecordWriter
from evalkit.suites import builtin_names, load_samples
from evalkit.suites.base import Sample

if TYPE_CHECKING:
    from evalkit.transport.local.endpoints import LocalEndpoint

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
    _worst_cases: dict[tuple[str, str, str], float] = field(default_factory=dict, repr=False)

    @property
    def total_calls(self) -> int:
        return len(self.config.models) * sum(len(s) for s in self.samples.values()) * self.config.run.epochs

    def worst_case(self, model: ModelConfig, sample: Sample) -> float:
        """The most one call of ``model`` on ``sample`` can cost (what a budget reserves);
        counted once, for the budget check before the run and the run itself."""
        key = (model.display, sample.suite, sample.id)
        if key not in self._worst_cases:
            run = self.config.run
            self._worst_cases[key] = worst_case_cost(model, self.prices[model.display], sample,
                                                     run.max_tokens, run.timeout)
        return self._worst_cases[key]


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
    samples = _load_suites(config)
    warnings: list[str] = []
    prices, keys = {}, {}
    for i, model in enumerate(config.models):
        redaction.remember_url(model.api_base)
        locate = functools.partial(config.where, "models", i)
        _check_model_id(model, require_keys, locate)
        keys[model.display] = _api_key(model, locate) if require_keys else None
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


def _load_suites(config: RunConfig) -> dict[str, list[Sample]]:
    """Every suite's samples; a missing file or an unknown suite names the config field."""
    samples = {}
    for i, suite in enumerate(config.suites):
        items = load_samples(suite, config.run, locate=functools.partial(config.where, "suites", i))
        if not items:
            raise UsageError(f"{config.where('suites', i)}: suite {suite.name} has no items")
        samples[suite.name] = items
    return samples


def _check_model_id(model: ModelConfig, require_keys: bool = True,
                    locate: Callable[..., str] | None = None) -> None:
    """Refuse an id litellm cannot route, or a provider whose key is not set; ``locate(field)``
    names the config field (or the flag) the model came from."""
    where = f"{locate('id')}: " if locate else ""
    if model.is_local:
        from evalkit.transport.local.server import LOCAL_VARIANTS

        variant = model.id.removeprefix("local/")
        if variant not in LOCAL_VARIANTS:
            raise UsageError(f"{where}unknown local model {model.id}; "
                             f"known: {', '.join('local/' + v for v in LOCAL_VARIANTS)}")
        return
    if not transport.transport_for(model.id).litellm_ids:
        return  # an added transport with ids of its own: litellm's model map does not know them
    if transport.provider_of(model.id) is None:
        import difflib

        close = difflib.get_close_matches(model.id, transport.known_chat_models(), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UsageError(
            f"{where}unknown model id '{model.id}': litellm cannot tell its provider; write it as "
            f"provider/model (e.g. deepseek/deepseek-chat, openai/gpt-4.1-mini).{hint} "
            "`evalkit models` lists known models"
        )
    route = routes.route_for(model.id)
    if route.fast and route.endpoint(model.api_base) is None:
        where = " or ".join(route.api_base_env)
        raise UsageError(f"model {model.id} needs an endpoint: set api_base for it in the config"
                         + (f" (or {where} in the environment)" if where else ""))
    if require_keys and model.api_base is None and model.api_key_env is None:
        missing = transport.missing_keys(model.id)
        if missing:
            raise UsageError(f"{where}model {model.id} needs {', '.join(missing)} set in the environment")


def _api_key(model: ModelConfig, locate: Callable[..., str]) -> str | None:
    try:
        return resolve_api_key(model)
    except UsageError as error:
        field = ("api_key_env",) if model.api_key_env else ()
        raise UsageError(f"{locate(*field)}: {error}") from None


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
    on_notice: Callable[[str], None] | None = None,
) -> Outcome:
    """Run the plan: start local servers, send every job, commit records, write the run folder.

    A sharded plan joins run ``run_id`` (required) with its share of the items; the run
    is finished when the last of its shards ends. While it runs, this process holds the
    run's (or its shard's) lease: another process resuming it is refused (`RunHeld`), and
    a lease left by a killed process is taken over, with a line to ``on_notice``.
    """
    # Local servers start before the run is opened: one that cannot start leaves no run behind.
    with _local_servers(plan) as servers:
        targets = {m.display: _target(m, plan, servers.get(m.display)) for m in plan.config.models}
        run_id, done, repeated, lease = _open_run(plan, store, options, on_notice or (lambda _line: None))
        writer = RecordWriter(store)
        budget = Budget(options.max_cost, spent=store.spent(run_id)) if options.max_cost is not None else None
        runner = _runner(plan, run_id, writer, lease, budget, options.cache, on_record)
        status, complete = "failed", True
        try:
            jobs = [job for job in _jobs(plan, targets, budget is not None) if job.key not in done]
            asyncio.run(runner.run(_interleave(jobs)))
            _raise_if_a_server_died(servers, run_id)
            status = "stopped: budget" if runner.unsent else "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            writer.close()  # every record committed: only then can the store say whether one succeeded
            if status == "finished" and plan.shard is None and not store.has_success(run_id):
                status = "failed"  # not a baseline for `last:TAG`; a re-run of the config offers to resume it
            complete = _close_run(plan, store, run_id, status, lease)
    run_dir = Path(results_dir) / run_id
    from evalkit.report.run_folder import write_run_folder

    write_run_folder(store, run_id, run_dir)
    return Outcome(run_id=run_id, run_dir=run_dir, status=status, records=writer.written,
                   already_done=len(done), repeated=repeated, unsent=runner.unsent,
                   spent=budget.spent if budget else None, complete=complete)


def _runner(plan: Plan, run_id: str, writer: RecordWriter, lease, budget: Budget | None,
            cache: ResponseCache | None, on_record: Callable[[CallRecord], None] | None) -> Runner:
    """The runner of an opened run: records go to the writer (redacted), and every call is
    journalled before it is sent, unless this process has lost the run's lease."""

    def sink(record: CallRecord) -> None:
        writer.put(redaction.redact_record(record))
        if on_record:
            on_record(record)

    async def journal(job: Job) -> None:
        if lease.lost:  # another process runs these calls now: send no more of them
            raise RunStopped(f"run {run_id}: another process took over its lease while this one's heartbeat "
                             "was late; this process stopped sending (its finished calls are stored)")
        await asyncio.wrap_future(writer.mark_sent(run_id, job.key))

    run = plan.config.run
    retry = RetryPolicy(retries=run.retries, max_total_wait=run.max_retry_wait)
    return Runner(run_id, run.timeout, retry, sink, journal=journal, budget=budget, cache=cache)


def _open_run(plan: Plan, store: Store, options: RunOptions,
              notify: Callable[[str], None]) -> tuple[str, set[CallKey], int, Lease]:
    """Take the run's lease, then open a new run row, join a shard to one, or reopen the
    resumed one: its id, the calls already done, the calls to repeat, and the lease."""
    resume = options.resume
    if resume is None and plan.shard is not None and not options.run_id:
        raise UsageError("--shard needs --run-id: every shard must name the same run")
    run_id = resume.run_id if resume is not None else options.run_id or new_run_id()
    lease = _take_lease(store, run_id, plan.shard.index if plan.shard else WHOLE_RUN, notify)
    try:
        if resume is not None:
            repeated = store.inflight_count(run_id)
            store.reopen_run(run_id)
            return run_id, store.completed_keys(run_id), repeated, lease
        start = (_storable_config(plan.config), plan.config.config_hash(), __version__,
                 snapshot(list(plan.prices.values())))
        if plan.shard is None:
            store.start_run(run_id, *start, fingerprint=fingerprint(plan), tag=options.tag)
        else:
            store.join_run(run_id, *start, shard=plan.shard.index, shard_count=plan.shard.count,
                           tag=options.tag, fingerprint=fingerprint(plan))
        return run_id, set(), 0, lease
    except BaseException:
        lease.release()
        raise


def _take_lease(store: Store, run_id: str, shard: int, notify: Callable[[str], None]) -> Lease:
    """This process's lease on the run; refused (`RunHeld`, exit 2) while another holds it."""
    lease = Lease(store, run_id, shard)
    stale = lease.acquire()
    if stale:
        with store.engine.connect() as conn:
            notify(takeover_line(run_id, stale, store_now(conn)))
    return lease


def _close_run(plan: Plan, store: Store, run_id: str, status: str, lease: Lease) -> bool:
    """Record how the run (or this shard) ended and give up the lease; True once the whole
    run is complete. A lease another process took over leaves the run to that process."""
    try:
        if lease.lost:
            raise RunStopped(f"run {run_id}: another process took over its lease; it finishes the run")
        if plan.shard is None:
            store.finish_run(run_id, status)
            return True
        complete = store.finish_shard(run_id, plan.shard.index, status)
        if complete and not store.has_success(run_id):
            store.finish_run(run_id, "failed")  # as an unsharded run with no answer
        return complete
    finally:
        lease.release()


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
        for items in plan.samples.values():
            for sample in items:
                # counting every prompt's tokens is only worth it when a budget needs it
                worst = plan.worst_case(model, sample) if with_worst_case else 0.0
                for epoch in range(run.epochs):
                    jobs.append(Job(targets[model.display], sample, epoch, max_cost=worst))
    return jobs


def check_budget(plan: Plan, max_cost: float, spent: float = 0.0,
                 done: Collection[CallKey] = frozenset()) -> None:
    """Refuse, before the run, a ``--max-cost`` that is not a positive amount, that needs a
    price nobody knows, or that cannot pay for the dearest single call still to send: the
    budget stops the run at the first call it cannot reserve, so such a cap would stop it
    there, or send nothing at all. ``spent`` and ``done``: a resumed run's earlier calls."""
    if not 0 < max_cost < math.inf:
        raise UsageError(f"--max-cost {max_cost:g}: give the budget in US dollars, above 0 (e.g. --max-cost 5)")
    unknown = [label for label, price in plan.prices.items() if not price.known]
    if unknown:
        raise UsageError(f"--max-cost needs every price; unknown for {', '.join(unknown)} "
                         "(give them a price in the config)")
    dearest, label = 0.0, ""
    for model in plan.config.models:
        for items in plan.samples.values():
            for sample in items:
                if all(CallKey(model.display, sample.suite, sample.id, e) in done for e in range(plan.config.run.epochs)):
                    continue
                worst = plan.worst_case(model, sample)
                if worst > dearest:
                    dearest, label = worst, model.display
    if dearest > max_cost - spent:
        what = ("its timeout of machine time" if plan.prices[label].hourly_cost is not None
                else f"its whole prompt and max_tokens={plan.config.run.max_tokens} of answer")
        left = f" ({exact_usd(max_cost - spent)} left after {exact_usd(spent)} spent)" if spent else ""
        raise UsageError(
            f"--max-cost {exact_usd(max_cost)}{left} cannot pay for one call of {label}, whose worst case "
            f"({what}) is {exact_usd(dearest)}: the run would stop at that call; raise --max-cost to at least "
            f"{exact_usd(dearest + spent)} or lower --max-tokens")


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
    """The latest unfinished run of exactly this plan that no process is running, if any."""
    current = fingerprint(plan)
    for run in store.runs():
        # a run some process is executing right now is not interrupted: leave it alone
        if run.status != "finished" and run.fingerprint == current and not live_holders(store, run.run_id):
            return run
    return None


def plan_for_resume(run: RunRow) -> Plan:
    """The plan of a stored run, from its stored config (keys come from the environment)."""
    if any(redaction.has_redactions(m.get("api_base")) for m in run.config.get("models", [])):
        raise UsageError(
            f"run {run.run_id} used an endpoint with credentials, which are never stored; "
            "resume it with the same config: evalkit compare --resume RUN -c CONFIG"
        )
    return prepare(validate_config(run.config, source=f"<config stored with run {run.run_id}>"))


def _interleave(jobs: list[Job]) -> list[Job]:
    """Alternate models so that every model's calls see the same moments of the run."""
    by_model: dict[str, list[Job]] = {}
    for job in jobs:
        by_model.setdefault(job.target.label, []).append(job)
    queues = list(by_model.values())
    return [queue[i] for i in range(max(map(len, queues), default=0)) for queue in queues if i < len(queue)]


@contextlib.contextmanager
def _local_servers(plan: Plan):
    """The endpoints of the plan's local models by label, their servers running while in use."""
    local = [m for m in plan.config.models if m.is_local]
    if not local:
        yield {}
        return
    from evalkit.transport.local.endpoints import LocalModel, serving

    # One llama.cpp slot per request the runner sends at once: none waits queued.
    with serving(LocalModel(m.display, m.id, m.max_concurrency) for m in local) as endpoints:
        yield endpoints


def _raise_if_a_server_died(servers: dict[str, LocalEndpoint], run_id: str) -> None:
    """A local server that died during the run stopped its model's calls (the runner asks
    `died` on a failure): say why in one line, with how to go on once it is fixed."""
    dead = [cause for cause in (server.died() for server in servers.values()) if cause]
    if dead:
        from evalkit.transport.local.server import LocalServerError

        raise LocalServerError(
            f"{'; '.join(dead)}; the calls completed before are stored: once fixed, "
            f"continue with `evalkit compare --resume {run_id}`"
        )


def _target(model: ModelConfig, plan: Plan, server: LocalEndpoint | None) -> Target:
    options = plan.config.run
    params = {"temperature": options.temperature, "max_tokens": options.max_tokens, "seed": options.seed}
    params.update(model.params)
    model_id, api_base, api_key = model.id, model.api_base, plan.keys[model.display]
    endpoint_down = None
    if routes.route_for(model_id).fast:  # litellm resolves its own aliases; the fast path needs it done
        model_id = transport.model_called(model_id)
    if server is not None:
        model_id, api_base, api_key = server.model_id, server.api_base, server.api_key
        endpoint_down = server.died
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
        endpoint_down=endpoint_down,
    )
