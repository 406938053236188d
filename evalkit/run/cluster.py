"""`compare --ray`: a run's shards as Ray tasks on a cluster, all writing into one store.

The driver (`run_on_ray`) connects to the cluster at an address, or starts one on this
machine, splits the run into N shards (`evalkit.run.shards`, N = the cluster's CPUs, at
most the largest suite's items), starts the run's `ClusterLimits` actor and submits one
task per shard. Each task (`run_shard`) is an ordinary sharded `execute` into the run's
store, with its calls paced by that one actor, so a model's ``max_concurrency`` and
``requests_per_minute`` hold across the cluster, as a provider counts them (per account).

A task whose worker dies is retried by Ray (`TASK_RETRIES`); the retry rejoins its shard:
it takes over the dead holder's lease (at once on the same machine, whose pid is gone;
elsewhere once the lease's `LEASE_TTL_S` has passed since its last heartbeat), keeps the
shard's finished calls and sends again only those without a successful record, as a
resume does. The driver reads the run's records back from the store for the one
progress bar, and ends with the run's outcome as an unsharded run would.

Every task needs the store reachable: a SQLite file only on a cluster of one node, this
machine (`check_cluster_store`). Keys are not shipped with the tasks: each task reads
them from its node's environment.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evalkit import redaction
from evalkit.config.keys import resolve_api_key
from evalkit.errors import EvalkitError, RunStopped, UsageError
from evalkit.run.cluster_limits import ClusterLimiter, ClusterLimits
from evalkit.run.compare import CompareOptions, Outcome, execute, new_run_id
from evalkit.run.limits import ConcurrencyReport, ModelLimit
from evalkit.run.plan import Plan
from evalkit.run.shards import Shard
from evalkit.store.database import Store
from evalkit.store.records import CallKey, CallRecord
from evalkit.store.schema import records_table, runs_table
from evalkit.version import __version__

LOCAL = "local"
"""The address that means: start a Ray instance on this machine (or join ``RAY_ADDRESS``)."""
TASK_RETRIES = 3
"""Times Ray runs a shard again after its worker died (a process killed, a node lost)."""
LEASE_TTL_S = 20.0
"""A shard task's lease expires this long after its last heartbeat: how long a retry on
another node waits for a dead holder (on the holder's own node, its gone pid says so at once)."""
POLL_S = 0.5
"""Seconds between the driver's reads of new records, for the progress bar."""
LIMITER_CALLS = 10_000
"""Calls the limits actor serves at once: every task's jobs waiting for a permit."""


def check_ray_options(plan: Plan, options: CompareOptions, *, cache: bool = False) -> None:
    """Refuse what `--ray` cannot honour across a cluster, before anything is sent."""
    if plan.shard is not None:
        raise UsageError("--ray splits the run into shards itself: drop --shard (and --run-id if only for it)")
    if options.resume is not None:
        raise UsageError("--ray starts a run; continue a stopped one on one machine: evalkit compare --resume RUN")
    if options.max_cost is not None:
        raise UsageError("--max-cost is enforced by one process, not across a Ray cluster: run without --ray, "
                         "or split the budget with --shard I/N and a --max-cost on each shard")
    if cache:
        raise UsageError("--cache replays answers from a file on this machine; drop it with --ray")
    if options.workers > 1:
        raise UsageError(f"--workers {options.workers} splits one process's calls; with --ray each shard is a "
                         "process of its own (one per CPU of the cluster): drop --workers")
    try:
        import importlib.util

        found = importlib.util.find_spec("ray") is not None
    except ValueError:
        found = False
    if not found:
        raise UsageError("--ray needs Ray, which is not installed: pip install 'evalkit[ray]'")


def check_cluster_store(store: Store, nodes: list[dict[str, Any]], here: str | None = None) -> None:
    """Refuse a SQLite store unless the cluster is one node, this machine: a file on one
    machine is not there for the others (and SQLite over a network file system loses
    writes). ``nodes`` is `ray.nodes()`; ``here`` this machine's host name."""
    if store.engine.dialect.name != "sqlite":
        return
    alive = [node for node in nodes if node.get("Alive", True)]
    hosts = sorted({str(node.get("NodeManagerHostname", "?")) for node in alive})
    if len(alive) == 1 and hosts == [here or socket.gethostname()]:
        return
    where = f"{len(alive)} nodes ({', '.join(hosts)})" if len(alive) > 1 else f"a node on {hosts[0]}"
    raise UsageError(
        f"--ray with the SQLite store {store.url}: the cluster has {where}, and a SQLite file on this "
        "machine cannot be written by the others. Give every node one PostgreSQL store: "
        "--store postgresql://user:pass@host/db (or EVALKIT_STORE)")


@dataclass(frozen=True)
class ShardTask:
    """What one Ray task needs to run its shard, besides the run's plan: plain data."""

    shard: Shard
    run_id: str
    store_url: str
    """The store's full URL (password included: the task must log in)."""
    tag: str | None
    limits: Any
    """The run's `ClusterLimits` actor."""
    version: str = __version__


@dataclass(frozen=True)
class ShardResult:
    outcome: Outcome
    notices: list[str]
    host: str


def run_shard(whole: Plan, task: ShardTask) -> ShardResult:
    """One shard, on a Ray worker: its share of the run's plan (``whole``, without keys:
    each node reads its own), executed into the store (a retry continues the shard its
    dead predecessor started)."""
    if task.version != __version__:
        raise UsageError(f"this Ray node runs evalkit {__version__}, the run was started by {task.version}: "
                         "install the same evalkit on every node")
    redaction.remember_environment()
    plan = replace(whole, shard=task.shard, samples=task.shard.select(whole.samples), keys=_node_keys(whole))
    notices: list[str] = []
    options = CompareOptions(run_id=task.run_id, tag=task.tag, rejoin=True, lease_ttl_s=LEASE_TTL_S)
    outcome = execute(plan, Store(task.store_url), options=options, on_notice=notices.append,
                      limiter=ClusterLimiter(task.limits, task.shard.index))
    return ShardResult(outcome, notices, socket.gethostname())


def _node_keys(plan: Plan) -> dict[str, str | None]:
    """Each model's key from this node's environment (a missing one names the variable)."""
    keys = {}
    for model in plan.config.models:
        redaction.remember_url(model.api_base)
        try:
            keys[model.display] = resolve_api_key(model)
        except UsageError as error:
            raise UsageError(f"on Ray node {socket.gethostname()}: {error}") from None
    return keys


def run_on_ray(plan: Plan, store: Store, options: CompareOptions, address: str = LOCAL, *,
               shards: int | None = None, on_record: Callable[[CallRecord], None] | None = None,
               on_notice: Callable[[str], None] | None = None) -> Outcome:
    """Run the plan as shards on the Ray cluster at ``address`` (`LOCAL`: this machine);
    returns the whole run's outcome. ``shards``: how many (default: the cluster's CPUs)."""
    notify = on_notice or (lambda _line: None)
    run_id = options.run_id or new_run_id()
    _check_new_run(store, run_id)
    ray, started = _connect(address)
    limits = None
    try:
        check_cluster_store(store, ray.nodes())
        count = _shard_count(plan, shards, int(ray.cluster_resources().get("CPU", 1)))
        limits = ray.remote(ClusterLimits).options(name=f"evalkit-limits-{run_id}", max_concurrency=LIMITER_CALLS,
                                                   num_cpus=0).remote(_model_limits(plan))
        submit = ray.remote(run_shard).options(max_retries=TASK_RETRIES, retry_exceptions=False, num_cpus=1)
        # One copy of the plan (every suite's items) in the object store, for all the tasks.
        keyless = ray.put(replace(plan, keys={label: None for label in plan.keys}))
        pending = {submit.remote(keyless, ShardTask(Shard(i, count), run_id, _full_url(store), options.tag, limits)): i
                   for i in range(1, count + 1)}
        notify(f"Run {run_id}: {count} shards on the Ray cluster ({_describe(ray)}).")
        results = _collect(ray, pending, _StoreProgress(store, run_id, on_record), store, run_id, notify)
        concurrency = ray.get(limits.snapshot.remote())  # the whole cluster's, as the provider saw it
    finally:
        if limits is not None:
            ray.kill(limits)
        if started:
            ray.shutdown()
    return _outcome(store, run_id, results, concurrency)


def _check_new_run(store: Store, run_id: str) -> None:
    """A Ray run starts a run: its shards would otherwise continue one that exists."""
    with store.engine.connect() as conn:
        exists = conn.execute(sa.select(runs_table.c.status).where(runs_table.c.run_id == run_id)).first()
    if exists is not None:
        raise UsageError(f"run {run_id} already exists in store {store.url} ({exists.status}); choose another "
                         f"--run-id, or continue it on one machine with evalkit compare --resume {run_id}")


def _connect(address: str) -> tuple[Any, bool]:
    """Ray, connected: to ``address``, else to a new instance on this machine; and whether
    evalkit started the connection (and so ends it). An existing connection is used."""
    if address == LOCAL and not os.environ.get("RAY_ADDRESS"):
        # A cluster of this machine alone serves on loopback: nothing outside needs to reach it.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return ray, False
    try:
        if address == LOCAL and not os.environ.get("RAY_ADDRESS"):
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING)
        else:  # Ray reads RAY_ADDRESS itself when no address is given
            ray.init(address=None if address == LOCAL else address, log_to_driver=False,
                     logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UsageError(f"--ray {address}: cannot reach a Ray cluster there ({exc}); give the head's address "
                         "(host:6379, ray://host:10001, or auto for the cluster this machine is part of)") from None
    return ray, True


def _shard_count(plan: Plan, requested: int | None, cpus: int) -> int:
    """One shard per CPU of the cluster (or as asked), never more than the largest suite has
    items: shards deal each suite's items, so a larger count would leave shards idle."""
    largest = max((len(items) for items in plan.samples.values()), default=1)
    if requested is not None and requested < 1:
        raise UsageError(f"shards={requested}: give at least 1")
    return max(1, min(requested or cpus, largest))


def _model_limits(plan: Plan) -> list[ModelLimit]:
    run = plan.config.run
    return [ModelLimit(m.display, m.max_concurrency, m.requests_per_minute, m.adapts_concurrency(run))
            for m in plan.config.models]


def _full_url(store: Store) -> str:
    """The store's URL for the tasks: with its password, and a SQLite path made absolute
    (a worker's working directory is not the driver's)."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)


def _describe(ray: Any) -> str:
    nodes = [node for node in ray.nodes() if node.get("Alive", True)]
    return f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}, {int(ray.cluster_resources().get('CPU', 0))} CPUs"


def _collect(ray: Any, pending: dict[Any, int], progress: _StoreProgress, store: Store, run_id: str,
             notify: Callable[[str], None]) -> list[ShardResult]:
    """Wait for every shard, advancing the progress bar from the store meanwhile. A shard
    whose retries ran out is reported interrupted (the run can be resumed); an error a
    task raised is raised here once every other shard has ended."""
    results: list[ShardResult] = []
    errors: list[BaseException] = []
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            progress.poll()
            for ref in done:
                shard = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as error:
                    errors.append(_cause(error, shard))
                    continue
                except ray.exceptions.RayError as error:
                    notify(f"Shard {shard} stopped: its worker died {TASK_RETRIES + 1} times ({type(error).__name__}); "
                           f"its finished calls are stored: continue with evalkit compare --resume {run_id}")
                    store.finish_shard(run_id, shard, "interrupted")
                    continue
                results.append(result)
                for line in result.notices:
                    notify(f"shard {shard} on {result.host}: {line}")
    except BaseException:
        for ref in pending:  # interrupted: the tasks stop too; their finished calls are stored
            ray.cancel(ref, force=True)
        raise
    progress.poll()
    if errors:
        raise errors[0]
    return results


def _cause(error: Any, shard: int) -> BaseException:
    """The exception a task raised, as evalkit's own if it was one."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, EvalkitError):
        return cause
    return RunStopped(f"shard {shard} failed on the Ray cluster: {type(cause).__name__ if cause else 'error'}: "
                      f"{cause or error}")


def _outcome(store: Store, run_id: str, results: list[ShardResult],
             concurrency: dict[str, ConcurrencyReport]) -> Outcome:
    """The whole run's outcome from its shards': counts summed, the status the run ended
    with, the concurrency each model ran at across the cluster."""
    outcomes = [result.outcome for result in results]
    return Outcome(run_id=run_id, status=store.run(run_id).status,
                   records=sum(o.records for o in outcomes), already_done=sum(o.already_done for o in outcomes),
                   repeated=sum(o.repeated for o in outcomes), unsent=sum(o.unsent for o in outcomes),
                   complete=store.run(run_id).status != "running", concurrency=concurrency)


class _StoreProgress:
    """Feeds the progress bar from the run's records as the shards commit them, each call
    once (a call redone after its shard's worker died is counted the first time)."""

    _COLUMNS = ("id", "model", "model_id", "suite", "sample_id", "epoch", "error_class")

    def __init__(self, store: Store, run_id: str, on_record: Callable[[CallRecord], None] | None) -> None:
        self.store, self.run_id, self.on_record = store, run_id, on_record
        self.last_id = 0
        self.seen: set[CallKey] = set()

    def poll(self) -> None:
        if self.on_record is None:
            return
        query = (sa.select(*(records_table.c[name] for name in self._COLUMNS))
                 .where(records_table.c.run_id == self.run_id, records_table.c.id > self.last_id)
                 .order_by(records_table.c.id))
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            self.last_id = row.id
            key = CallKey(row.model, row.suite, row.sample_id, row.epoch)
            if key in self.seen:
                continue
            self.seen.add(key)
            # the record as the bar needs it: which call, and whether it failed
            self.on_record(CallRecord(run_id=self.run_id, model=row.model, model_id=row.model_id, suite=row.suite,
                                      sample_id=row.sample_id, request_hash="", epoch=row.epoch,
                                      error_class=row.error_class))

