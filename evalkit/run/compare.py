"""The compare use case: config -> suites -> runner -> store, as library calls, with all its rules.

`plan_comparison` does every check that can fail on bad input (suites, scorers, model ids,
keys, prices, the budget, shard and resume options) before anything is sent or written;
`offer_resume` lets a plain re-run of an interrupted config continue it; `execute` then
runs, committing each record as it arrives. `execute` checks its options again itself, so
a caller that builds a `Plan` by hand is refused the same way. The run folder and the
verdict are the analysis's and the reports' (see `evalkit.api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit import redaction, transport
from evalkit.config import routes, thinking
from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig
from evalkit.economics.pricing import snapshot
from evalkit.errors import RunStopped, UsageError
from evalkit.run.budget import Budget, exact_usd
from evalkit.run.cache import ResponseCache
from evalkit.run.fingerprint import fingerprint
from evalkit.run.judge_cost import judge_max_tokens, judge_of
from evalkit.run.latency import benchmark_samples, has_latency, latency_phases
from evalkit.run.limits import ConcurrencyReport, Limiter, LimiterState, LocalLimiter, limits_for
from evalkit.run.plan import Plan
from evalkit.run.prepare import prepare
from evalkit.run.resume import check_resumable, find_resumable, plan_for_resume
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.run.selection import names_anything, select
from evalkit.run.shards import Shard
from evalkit.run.worker_process import WorkerReport, WorkerTask
from evalkit.run.workers import Parent, deal, run_workers
from evalkit.store.database import RunRow, Store
from evalkit.store.lease import TTL_S, WHOLE_RUN, Lease, RunHeld, store_now, takeover_line
from evalkit.store.records import CallKey, CallRecord
from evalkit.store.writer import RecordWriter
from evalkit.version import __version__

if TYPE_CHECKING:
    from evalkit.transport.local.endpoints import LocalEndpoint


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


REJOIN_SLACK_S = 5.0
"""Seconds a rejoining shard waits beyond the lease TTL: a heartbeat may be a little late."""


def _ignore(_line: str) -> None:
    """No listener: the lines are in the returned object all the same."""


@dataclass(frozen=True)
class CompareOptions:
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
    workers: int = 1
    """Processes sending the calls (`evalkit.run.workers`); 1: this process alone."""
    rejoin: bool = False
    """A shard that already started continues instead of being refused: its process died
    and this one takes over its lease (a Ray task retried). Its finished calls are kept."""
    lease_ttl_s: float = TTL_S
    """Seconds after its last heartbeat that this process's lease expires; a rejoining shard
    waits up to that long for a dead holder's lease on another machine to expire."""


@dataclass(frozen=True)
class Prepared:
    """A comparison that passed every check: its plan, its options, and what to tell the user."""

    plan: Plan
    options: CompareOptions
    notices: list[str] = field(default_factory=list)
    """How the models were chosen (e.g. no key set: the offline demo), to say before the run."""

    @property
    def warnings(self) -> list[str]:
        """What the run will lack (e.g. an unknown price), to say before the run."""
        return self.plan.warnings


def plan_comparison(config: RunConfig | str | Path | None = None, models: Sequence[ModelConfig | str] = (),
                    suites: Sequence[SuiteConfig | str] = (), *, run_options: dict[str, Any] | None = None,
                    store: Store | None = None, resume: str | None = None, shard: Shard | None = None,
                    run_id: str | None = None, max_cost: float | None = None, tag: str | None = None,
                    workers: int = 1, require_keys: bool = True, on_notice: Callable[[str], None] | None = None,
                    on_warning: Callable[[str], None] | None = None, workloads: str | None = None) -> Prepared:
    """Every check of a comparison, before anything is sent or written; UsageError on bad input.

    ``resume`` (a run id, prefix or ``last``, read from ``store``) continues that run: with
    no config, model or suite given, from the config stored with it; otherwise the given
    one must make the same requests. ``shard`` runs a share of the items into run
    ``run_id``; ``workers`` sends the calls from that many processes. An estimate needs
    no keys (``require_keys=False``). See
    `evalkit.run.selection.select` for the rest. Notices and warnings go to ``on_notice``
    and ``on_warning`` as soon as they are known, so a refusal that follows comes after them.
    ``workloads``: the store (URL or path) that holds the profiles replay suites draw from.
    """
    check_shard(shard, run_id, resuming=resume is not None)
    stored, notices = None, []
    if resume is not None:
        if store is None:
            raise ValueError("resuming a run needs the store that holds it")
        stored = store.run(resume)
    if stored is not None and not names_anything(config, models, suites):
        plan = plan_for_resume(stored, workloads)
    else:
        selection = select(config, models, suites, **(run_options or {}))
        notices = selection.notices
        for line in notices:
            (on_notice or _ignore)(line)
        plan = prepare(selection.config, require_keys, shard=shard, store=workloads)
    for warning in plan.warnings:
        (on_warning or _ignore)(warning)
    options = CompareOptions(resume=stored, max_cost=max_cost, tag=tag, run_id=run_id, workers=workers)
    check_options(plan, options, store)
    return Prepared(plan, options, notices)


def check_shard(shard: Shard | None, run_id: str | None, resuming: bool) -> None:
    """A shard joins a run every shard names, and is never resumed (a started shard is refused)."""
    if shard is not None and not run_id:
        raise UsageError("--shard needs --run-id: every shard must name the same run "
                         "(e.g. --run-id nightly-$(date +%F))")
    if shard is not None and resuming:
        raise UsageError("--shard and --resume cannot be combined: a shard that already started is refused")


def check_options(plan: Plan, options: CompareOptions, store: Store | None = None) -> None:
    """Refuse options the plan cannot run with: the shard rules, a resume of a run whose
    requests differ, a budget that cannot pay (see `check_budget`). ``store`` holds the
    resumed run, whose spending counts against the budget."""
    check_shard(plan.shard, options.run_id, resuming=options.resume is not None)
    check_workers(plan, options)
    resumed = options.resume
    if resumed is not None:
        check_resumable(plan, resumed)
    if options.max_cost is not None:
        earlier = (store.spent(resumed.run_id), store.completed_keys(resumed.run_id)) if resumed and store else ()
        check_budget(plan, options.max_cost, *earlier)


def check_workers(plan: Plan, options: CompareOptions) -> None:
    """``--workers`` above 1 sends calls from other processes: not to a local model (its
    server already runs on this machine's cores, with a slot per call) and not with the
    development cache (one process's file)."""
    if options.workers < 1:
        raise UsageError(f"--workers {options.workers}: at least 1")
    if options.workers == 1:
        return
    local = [m.display for m in plan.config.models if m.is_local]
    if local:
        raise UsageError(f"--workers {options.workers}: {', '.join(local)} runs on this machine's own server, "
                         "which more client processes would only compete with; drop --workers (or the local model)")
    if options.cache is not None:
        raise UsageError(f"--workers {options.workers} cannot be combined with --cache, a development aid "
                         "of one process; drop one of them")


def offer_resume(plan: Plan, options: CompareOptions, store: Store, ask: Callable[[str], bool] | None = None,
                 notify: Callable[[str], None] = _ignore) -> CompareOptions:
    """A plain re-run of an interrupted config may continue it instead: ``ask(question)``
    decides; without ``ask`` (or on no) a new run starts and ``notify`` says how to continue
    the old one. A resume or a shard is left as it is."""
    if options.resume is not None or plan.shard is not None:
        return options
    earlier = find_resumable(plan, store)
    if earlier is None:
        return options
    done = store.record_count(earlier.run_id)
    message = f"Run {earlier.run_id} of this same config stopped ({earlier.status}) with {done} calls stored."
    if ask is not None and ask(f"{message} Resume it?"):
        return replace(options, resume=earlier)
    notify(f"{message} Starting a new run; to continue that one: evalkit compare --resume {earlier.run_id}")
    return options


@dataclass
class Outcome:
    """How a run (or this machine's shard of it) ended."""

    run_id: str
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
    concurrency: dict[str, ConcurrencyReport] = field(default_factory=dict)
    """The concurrency each model ran at (`evalkit.run.limits`), by label."""
    workers: list[WorkerReport] = field(default_factory=list)
    """With ``--workers`` above 1: each worker's share and event-loop lag."""


def execute(
    plan: Plan,
    store: Store,
    on_record: Callable[[CallRecord], None] | None = None,
    options: CompareOptions = CompareOptions(),
    on_notice: Callable[[str], None] | None = None,
    limiter: Limiter | None = None,
) -> Outcome:
    """Run the plan: start local servers, send every job, commit records as they arrive.

    The options are checked first (`check_options`): nothing is sent on a budget that
    cannot pay or a resume whose requests differ. A sharded plan joins run ``run_id``
    with its share of the items; the run is finished when the last of its shards ends.
    While it runs, this process holds the run's (or its shard's) lease: another process
    resuming it is refused (`RunHeld`), and a lease left by a killed process is taken
    over, with a line to ``on_notice``. ``limiter`` paces the calls when their limits are
    shared beyond this process (a Ray cluster's); by default the runner keeps its own.
    """
    check_options(plan, options, store)
    # Local servers start before the run is opened: one that cannot start leaves no run behind.
    with _local_servers(plan) as servers:
        targets = {m.display: _target(m, plan, servers.get(m.display)) for m in plan.config.models}
        run_id, done, repeated, lease = _open_run(plan, store, options, on_notice or (lambda _line: None))
        writer = RecordWriter(store)
        budget = Budget(options.max_cost, spent=store.spent(run_id)) if options.max_cost is not None else None
        parent = Parent(limiter or LocalLimiter(LimiterState(limits_for(targets.values()))), budget,
                        _journal(run_id, writer, lease), _sink(writer, on_record))
        status, complete = "failed", True
        sent = _Sent()
        try:
            jobs = [job for job in _jobs(plan, targets, budget is not None) if job.key not in done]
            sent = _send(plan, run_id, _interleave(jobs), parent, options)
            if has_latency(plan):  # after every other item, so that nothing queues with them
                sent.unsent += _send_latency(plan, run_id, targets, servers, done, parent, options)
            _raise_if_a_server_died(servers, run_id)
            status = "stopped: budget" if sent.unsent else "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            writer.close()  # every record committed: only then can the store say whether one succeeded
            if status == "finished" and plan.shard is None and not store.has_success(run_id):
                status = "failed"  # not a baseline for `last:TAG`; a re-run of the config offers to resume it
            complete = _close_run(plan, store, run_id, status, lease)
    return Outcome(run_id=run_id, status=status, records=writer.written,
                   already_done=len(done), repeated=repeated, unsent=sent.unsent,
                   spent=budget.spent if budget else None, complete=complete,
                   concurrency=parent.limiter.snapshot(), workers=sent.workers)


@dataclass
class _Sent:
    unsent: int = 0
    workers: list[WorkerReport] = field(default_factory=list)


def _send(plan: Plan, run_id: str, jobs: list[Job], parent: Parent, options: CompareOptions) -> _Sent:
    """Send every job, from this process or from ``options.workers`` processes; either
    way through the parent's limiter, budget, journal and record sink."""
    run = plan.config.run
    retry = RetryPolicy(retries=run.retries, max_total_wait=run.max_retry_wait)
    if options.workers == 1:
        runner = Runner(run_id, run.timeout, retry, parent.sink, journal=lambda job: parent.journal(job.key),
                        budget=parent.budget, cache=options.cache, limiter=parent.limiter)
        asyncio.run(runner.run(jobs))
        return _Sent(runner.unsent)
    tasks = [WorkerTask(index, run_id, run.timeout, retry, share, budgeted=parent.budget is not None)
             for index, share in enumerate(deal(jobs, options.workers), start=1)]
    reports = run_workers(tasks, parent) if tasks else []
    return _Sent(sum(report.unsent for report in reports), reports)


def _sink(writer: RecordWriter, on_record: Callable[[CallRecord], None] | None) -> Callable[[CallRecord], None]:
    """Records go to the writer (redacted) and to the listener."""

    def sink(record: CallRecord) -> None:
        writer.put(redaction.redact_record(record))
        if on_record:
            on_record(record)

    return sink


def _journal(run_id: str, writer: RecordWriter, lease: Lease) -> Callable[[CallKey], Awaitable[None]]:
    """Journal every call before it is sent, unless this process has lost the run's lease."""

    async def journal(key: CallKey) -> None:
        if lease.lost:  # another process runs these calls now: send no more of them
            raise RunStopped(f"run {run_id}: another process took over its lease while this one's heartbeat "
                             "was late; this process stopped sending (its finished calls are stored)")
        await asyncio.wrap_future(writer.mark_sent(run_id, key))

    return journal


def _open_run(plan: Plan, store: Store, options: CompareOptions,
              notify: Callable[[str], None]) -> tuple[str, set[CallKey], int, Lease]:
    """Take the run's lease, then open a new run row, join a shard to one, or reopen the
    resumed one: its id, the calls already done, the calls to repeat, and the lease."""
    resume = options.resume
    run_id = resume.run_id if resume is not None else options.run_id or new_run_id()
    shard = plan.shard.index if plan.shard else WHOLE_RUN
    lease = _take_lease(store, run_id, shard, notify, options)
    try:
        if resume is not None:
            repeated = store.inflight_count(run_id)
            store.reopen_run(run_id)
            return run_id, store.completed_keys(run_id), repeated, lease
        if options.rejoin and plan.shard is not None and store.shard_started(run_id, shard):
            mine = _shard_keys(plan)
            repeated = store.reopen_shard(run_id, shard, mine)
            return run_id, store.completed_keys(run_id) & mine, repeated, lease
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


def _take_lease(store: Store, run_id: str, shard: int, notify: Callable[[str], None],
                options: CompareOptions) -> Lease:
    """This process's lease on the run; refused (`RunHeld`, exit 2) while another holds it.
    A rejoining shard first waits out the lease of the process it replaces: on another
    machine that one's death shows only once its heartbeat has stopped for its TTL."""
    lease = Lease(store, run_id, shard, ttl=options.lease_ttl_s, heartbeat=options.lease_ttl_s / 6)
    deadline = time.monotonic() + (options.lease_ttl_s + REJOIN_SLACK_S if options.rejoin else 0.0)
    while True:
        try:
            stale = lease.acquire()
            break
        except RunHeld:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)
    if stale:
        with store.engine.connect() as conn:
            notify(takeover_line(run_id, stale, store_now(conn)))
    return lease


def _shard_keys(plan: Plan) -> set[CallKey]:
    """Every call of the plan's share of the items."""
    return {CallKey(model.display, sample.suite, sample.id, epoch) for model in plan.config.models
            for items in plan.samples.values() for sample in items for epoch in range(plan.config.run.epochs)}


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


def _send_latency(plan: Plan, run_id: str, targets: dict[str, Target], servers: dict[str, LocalEndpoint],
                  done: set[CallKey], parent: Parent, options: CompareOptions) -> int:
    """Send the latency suites' phases (`evalkit.run.latency`) one after the other, from
    this process whatever ``--workers`` says, each under a limiter of its own that holds
    every model at the phase's fixed concurrency (not the run's adaptive window). The tiers
    no context window holds go to the sink at once as skipped. Returns the calls unsent."""
    latency = latency_phases(plan, targets, run_id, servers, parent.budget is not None)
    for record in latency.skipped:
        parent.sink(record)
    run = plan.config.run
    retry = RetryPolicy(retries=run.retries, max_total_wait=run.max_retry_wait)
    unsent = 0
    for phase in latency.phases:
        jobs = [job for job in phase if job.key not in done]
        if not jobs:
            continue
        limiter = LocalLimiter(LimiterState(limits_for(job.target for job in jobs)))
        runner = Runner(run_id, run.timeout, retry, parent.sink, journal=lambda job: parent.journal(job.key),
                        budget=parent.budget, cache=options.cache, limiter=limiter)
        asyncio.run(runner.run(_interleave(jobs)))
        unsent += runner.unsent
    return unsent


def _jobs(plan: Plan, targets: dict[str, Target], with_worst_case: bool) -> list[Job]:
    run = plan.config.run
    jobs = []
    for model in plan.config.models:
        for items in benchmark_samples(plan).values():
            for sample in items:
                # counting every prompt's tokens is only worth it when a budget needs it
                worst = plan.worst_case(model, sample) if with_worst_case else 0.0
                judging = plan.judge_worst_case(sample) if with_worst_case else 0.0
                for epoch in range(run.epochs):
                    jobs.append(Job(targets[model.display], sample, epoch, max_cost=worst, judge_max_cost=judging))
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
    check_judges_for_budget(plan)
    dearest, label = 0.0, ""
    for model in plan.config.models:
        for items in plan.samples.values():
            for sample in items:
                epochs = range(plan.config.run.epochs)
                if all(CallKey(model.display, sample.suite, sample.id, e) in done for e in epochs):
                    continue
                worst = plan.worst_case(model, sample)
                if worst > dearest:
                    dearest, label = worst, model.display
    if dearest > max_cost - spent:
        what = ("its timeout of machine time" if plan.prices[label].hourly_cost is not None
                else f"its whole prompt and max_tokens={plan.config.run.max_tokens} of answer")
        if plan.judge_prices():
            what += ", and its judging"
        left = f" ({exact_usd(max_cost - spent)} left after {exact_usd(spent)} spent)" if spent else ""
        raise UsageError(
            f"--max-cost {exact_usd(max_cost)}{left} cannot pay for one call of {label}, whose worst case "
            f"({what}) is {exact_usd(dearest)}: the run would stop at that call; raise --max-cost to at least "
            f"{exact_usd(dearest + spent)} or lower --max-tokens")


def check_judges_for_budget(plan: Plan) -> None:
    """A budget holds the judges' calls too: refuse one whose judge has no known price, or
    no ``max_tokens`` to bound its verdicts (its worst case would be unbounded)."""
    unknown = [judge for judge, price in plan.judge_prices().items() if not price.known]
    if unknown:
        raise UsageError(f"--max-cost counts the judge's calls and needs its price; unknown for judge "
                         f"{', '.join(unknown)} (give the judge a price: {{input: ..., output: ...}})")
    for items in plan.samples.values():
        for sample in items:
            spec = judge_of(sample)
            if spec is not None and judge_max_tokens(spec) is None:
                raise UsageError(f"--max-cost counts the judge's calls, but judge {spec.model} of suite "
                                 f"{sample.suite} (item {sample.id}) has no max_tokens, so its worst case has "
                                 "no bound; give it params: {max_tokens: 1024} in its scorer_options")


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
    switch = model.thinking_params  # the provider's own spelling, over the run's defaults
    params.update(switch if transport.uses_fast_path(model_id) else thinking.for_litellm(model.id, switch))
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
        structured_output=model.structured_output == "schema",
        api_base=api_base,
        api_key=api_key,
        max_concurrency=model.max_concurrency,
        requests_per_minute=model.requests_per_minute,
        adaptive=model.adapts_concurrency(options),
        endpoint_down=endpoint_down,
    )
