"""The history database: schema, migrations, durable writes as results arrive, reads.

SQLAlchemy Core over any URL; by default a SQLite file `results/evalkit.db`, or a
PostgreSQL server a team shares (`postgresql://user:pass@host/db`, through psycopg 3).
Each record is committed on its own as its call finishes (from a writer thread, so the
event loop that times calls never waits on the disk). The schema carries a version;
migrations are append-only.

A run may be split into shards (`--shard I/N`) run by several machines: every shard
joins the same run row, registers itself in `run_shards`, and the run is finished once
every shard has reported. While a run (or a shard) executes, its process holds a lease in
`run_leases` (`evalkit.store.lease`), so a second process cannot run the same calls.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from evalkit import redaction
from evalkit.errors import UsageError
from evalkit.store.records import CallRecord, output_speed_tps

DEFAULT_STORE = "results/evalkit.db"
SCHEMA_VERSION = 6

metadata = sa.MetaData()

meta_table = sa.Table(
    "evalkit_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs_table = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("config_json", sa.Text, nullable=False),
    sa.Column("config_hash", sa.String(64), nullable=False),
    sa.Column("evalkit_version", sa.String(32), nullable=False),
    sa.Column("price_snapshot_json", sa.Text, nullable=False),
    sa.Column("models", sa.Text, nullable=False),
    sa.Column("suites", sa.Text, nullable=False),
    sa.Column("fingerprint_json", sa.Text),
    # schema 2
    sa.Column("tag", sa.String(64)),
    sa.Column("shard_count", sa.Integer),
)

inflight_table = sa.Table(
    "inflight",
    metadata,
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("suite", sa.String(255), nullable=False),
    sa.Column("sample_id", sa.String(255), nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("sent_at", sa.Float, nullable=False),
    sa.Index("ix_inflight_run", "run_id"),
)
"""Calls sent whose record has not landed yet: after a crash, the calls that may repeat."""

shards_table = sa.Table(
    "run_shards",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("shard_count", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
)
"""One row per shard of a sharded run; shards are numbered 1..shard_count."""

leases_table = sa.Table(
    "run_leases",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""Schema 6: who is executing a run (shard 0) or one shard of it right now; see `evalkit.store.lease`."""

_SHARD_REPORTED = ("finished", "failed", "interrupted")

_TEXT = {"response_text", "score_detail", "error_message", "extracted", "judge_rubric", "judge_verdict"}
_FLOAT = {
    "score", "ttft_s", "reasoning_ttft_s", "e2e_s", "output_speed_tps", "cost_usd", "started_at", "finished_at",
    "judge_cost_usd", "loop_lag_ms",
}
_INT = {"epoch", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "attempts",
        "judge_prompt_tokens", "judge_completion_tokens"}
_BOOL = {"from_cache"}


def _record_column(name: str) -> sa.Column:
    if name in _TEXT:
        kind: Any = sa.Text
    elif name in _FLOAT:
        kind = sa.Float
    elif name in _INT:
        kind = sa.Integer
    elif name in _BOOL:
        kind = sa.Boolean
    else:
        kind = sa.String(255)
    return sa.Column(name, kind)


records_table = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *(_record_column(name) for name in CallRecord.field_names()),
    sa.Index("ix_records_run", "run_id", "model", "suite"),
)


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: float
    finished_at: float | None
    status: str
    config: dict
    config_hash: str
    evalkit_version: str
    price_snapshot: dict
    models: list[str]
    suites: list[str]
    fingerprint: dict | None = None
    """What determined the requests (see `evalkit.run.fingerprint`); resume compares it."""
    tag: str | None = None
    """A label shared by a series of runs (e.g. ``nightly``); ``last:nightly`` finds the latest."""
    shard_count: int | None = None
    """N for a run split with ``--shard I/N``; None for an unsharded run."""


def store_url(store: str | None = None) -> str:
    """A SQLAlchemy URL from --store, $EVALKIT_STORE, or the default SQLite file."""
    value = store or os.environ.get("EVALKIT_STORE") or DEFAULT_STORE
    if "://" in value:
        # A bare postgresql:// means psycopg 3, the driver evalkit installs.
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix):]
        return value
    path = Path(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class Store:
    def __init__(self, url: str | None = None) -> None:
        full_url = store_url(url)
        redaction.remember_url(full_url)
        try:
            self.engine = sa.create_engine(full_url, pool_pre_ping=True)
        except Exception as exc:  # a malformed URL or a missing driver
            raise UsageError(f"cannot open store {_hide_password(full_url)}: {exc}") from None
        self.url = _hide_password(full_url)
        """The URL for messages: a password in it is shown as ***."""
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._migrate()
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise UsageError(f"cannot open store {self.url}: {reason}") from None

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Several shards may open a fresh shared store at once: migrate one at a time.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(20240917)"))
            metadata.create_all(conn, tables=[meta_table])
            row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise UsageError(
                    f"store {self.url} has schema version {version}, newer than this evalkit "
                    f"({SCHEMA_VERSION}); upgrade evalkit"
                )
            if version == 0:
                metadata.create_all(conn)  # a new store gets the current schema at once
            for target in range(version + 1, SCHEMA_VERSION + 1) if version else ():
                MIGRATIONS[target](conn)
            if version != SCHEMA_VERSION:
                conn.execute(sa.delete(meta_table).where(meta_table.c.key == "schema_version"))
                conn.execute(sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))

    # --- writes ---

    def start_run(self, run_id: str, config: dict, config_hash: str, version: str, prices: dict,
                  fingerprint: dict | None = None, tag: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._run_insert(run_id, config, config_hash, version, prices, tag, None, fingerprint))

    def _run_insert(self, run_id, config, config_hash, version, prices, tag, shard_count, fingerprint=None):
        return sa.insert(runs_table).values(
                    fingerprint_json=json.dumps(fingerprint, ensure_ascii=False) if fingerprint else None,
                    run_id=run_id,
                    started_at=time.time(),
                    status="running",
                    config_json=json.dumps(config, ensure_ascii=False),
                    config_hash=config_hash,
                    evalkit_version=version,
                    price_snapshot_json=json.dumps(prices),
                    models=json.dumps([m["label"] or m["id"] for m in config["models"]]),
                    suites=json.dumps([s["name"] for s in config["suites"]]),
                    tag=tag,
                    shard_count=shard_count,
                )

    def join_run(self, run_id: str, config: dict, config_hash: str, version: str, prices: dict,
                 shard: int, shard_count: int, tag: str | None = None, fingerprint: dict | None = None) -> None:
        """Register shard ``shard`` of ``shard_count`` in run ``run_id``, creating the run
        if this is the first shard to arrive. Refuses a shard whose config differs from
        the run's, a different shard count, and a shard that already started (its records
        would be doubled)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    self._run_insert(run_id, config, config_hash, version, prices, tag, shard_count, fingerprint)
                )
        except sa.exc.IntegrityError:
            pass  # another shard created it first
        run = self.run(run_id)
        if run.run_id != run_id:
            raise UsageError(f"run id {run_id!r} is a prefix of run {run.run_id}; choose another --run-id")
        if run.config_hash != config_hash:
            raise UsageError(
                f"run {run_id} was started with config {run.config_hash}, this shard has {config_hash}; "
                "every shard must run the same benchmark with the same options")
        if run.shard_count != shard_count:
            raise UsageError(f"run {run_id} is split into {run.shard_count or 1} shard(s), not {shard_count}")
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(shards_table).values(
                    run_id=run_id, shard=shard, shard_count=shard_count, status="running",
                    started_at=time.time()))
        except sa.exc.IntegrityError:
            raise UsageError(
                f"shard {shard}/{shard_count} of run {run_id} has already started; "
                "running it again would store its items twice") from None

    def finish_shard(self, run_id: str, shard: int, status: str) -> bool:
        """Record that a shard ended; finish the run once every shard has reported.

        Returns True for exactly one shard: the one whose report completed the run.
        """
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(shards_table)
                .where((shards_table.c.run_id == run_id) & (shards_table.c.shard == shard))
                .values(status=status, finished_at=time.time()))
        # A separate transaction: the last shard to commit sees every other shard's report.
        reported, total, statuses = self.shard_progress(run_id)
        if reported < total:
            return False
        overall = next((s for s in ("failed", "interrupted") if s in statuses), "finished")
        # Two shards ending together may both see every report; the conditional update
        # lets only one of them flip the run from running, so only one completes it.
        with self.engine.begin() as conn:
            flipped = conn.execute(
                sa.update(runs_table)
                .where((runs_table.c.run_id == run_id) & (runs_table.c.status == "running"))
                .values(status=overall, finished_at=time.time())
            ).rowcount
        return flipped == 1

    def shard_progress(self, run_id: str) -> tuple[int, int, list[str]]:
        """(shards reported, shards in the run, their statuses) of a sharded run."""
        with self.engine.connect() as conn:
            total = conn.execute(
                sa.select(runs_table.c.shard_count).where(runs_table.c.run_id == run_id)).scalar()
            statuses = [row[0] for row in conn.execute(
                sa.select(shards_table.c.status).where(shards_table.c.run_id == run_id))]
        reported = sum(status in _SHARD_REPORTED for status in statuses)
        return reported, int(total or 1), statuses

    def finish_run(self, run_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(runs_table)
                .where(runs_table.c.run_id == run_id)
                .values(status=status, finished_at=time.time())
            )

    def reopen_run(self, run_id: str) -> None:
        """A resumed run is running again; its failed records will be redone, so they go."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(runs_table).where(runs_table.c.run_id == run_id).values(status="running"))
            conn.execute(
                sa.delete(records_table).where(
                    records_table.c.run_id == run_id, records_table.c.error_class.is_not(None)
                )
            )
            conn.execute(sa.delete(inflight_table).where(inflight_table.c.run_id == run_id))

    def add_record(self, record: CallRecord) -> None:
        """Commit one record, and clear its sent-call mark in the same transaction."""
        self.write_batch([], [record])

    def mark_sent(self, run_id: str, key: tuple[str, str, str, int]) -> None:
        self.write_batch([(run_id, key)], [])

    def write_batch(self, sent: list[tuple[str, tuple[str, str, str, int]]], records: list[CallRecord]) -> None:
        """In one transaction: journal calls about to be sent, then commit finished records
        and clear their marks. One statement per kind: at hundreds of calls a second, a
        commit per call is CPU the event loop's thread would lose to the writer's."""
        with self.engine.begin() as conn:
            if sent:
                now = time.time()
                conn.execute(sa.insert(inflight_table), [
                    dict(run_id=run_id, model=model, suite=suite, sample_id=sample_id, epoch=epoch, sent_at=now)
                    for run_id, (model, suite, sample_id, epoch) in sent])
            if records:
                conn.execute(sa.insert(records_table), [record.to_dict() for record in records])
                conn.execute(_DELETE_MARK, [_mark_params(record) for record in records])

    # --- reads ---

    def runs(self, limit: int | None = None, tag: str | None = None) -> list[RunRow]:
        """Runs, newest first; only those labelled ``tag`` if given."""
        query = sa.select(runs_table).order_by(runs_table.c.started_at.desc())
        if tag is not None:
            query = query.where(runs_table.c.tag == tag)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_run_row(row) for row in conn.execute(query)]

    def run(self, ref: str) -> RunRow:
        """A run by id, unique id prefix, `last`, or `last:TAG` (the newest finished run
        labelled TAG)."""
        if ref.startswith("last:"):
            found = self.last_tagged(ref.removeprefix("last:"))
            if found is None:
                raise UsageError(f"no finished run tagged {ref.removeprefix('last:')!r} in store {self.url}")
            return found
        runs = self.runs()
        if not runs:
            raise UsageError(f"no runs in store {self.url}; run `evalkit compare` first")
        if ref == "last":
            return runs[0]
        matches = [r for r in runs if r.run_id == ref] or [r for r in runs if r.run_id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UsageError(f"no run {ref!r} in store {self.url}; `evalkit runs` lists them")
        raise UsageError(f"run prefix {ref!r} matches {len(matches)} runs; give more of the id")

    def last_tagged(self, tag: str, before: str | None = None) -> RunRow | None:
        """The newest finished run labelled ``tag`` (other than run ``before``), or None."""
        for run in self.runs(tag=tag):
            if run.status == "finished" and run.run_id != before:
                return run
        return None

    def record_count(self, run_id: str) -> int:
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(records_table).where(records_table.c.run_id == run_id)
            return int(conn.execute(query).scalar_one())

    def completed_keys(self, run_id: str) -> set[tuple[str, str, str, int]]:
        """(model, suite, sample_id, epoch) of the calls that finished successfully."""
        columns = [records_table.c.model, records_table.c.suite, records_table.c.sample_id, records_table.c.epoch]
        query = sa.select(*columns).where(records_table.c.run_id == run_id, records_table.c.error_class.is_(None))
        with self.engine.connect() as conn:
            return {tuple(row) for row in conn.execute(query)}

    def has_success(self, run_id: str) -> bool:
        """Whether any call of the run succeeded."""
        query = sa.select(records_table.c.id).where(
            records_table.c.run_id == run_id, records_table.c.error_class.is_(None)).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def inflight_count(self, run_id: str) -> int:
        """Calls sent but never recorded: in flight when the run stopped."""
        query = sa.select(sa.func.count()).select_from(inflight_table).where(inflight_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def spent(self, run_id: str) -> float:
        query = sa.select(sa.func.coalesce(sa.func.sum(records_table.c.cost_usd), 0.0)).where(
            records_table.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return float(conn.execute(query).scalar_one())

    def records_frame(self, run_id: str, columns: list[str] | None = None):
        """The run's records as a DataFrame, in commit order; only ``columns`` if given
        (history over many runs need not read every response text)."""
        import pandas as pd

        selected = [records_table.c[name] for name in columns] if columns else [records_table]
        query = sa.select(*selected).where(records_table.c.run_id == run_id).order_by(records_table.c.id)
        with self.engine.connect() as conn:
            frame = pd.read_sql(query, conn)
        return frame.drop(columns=["id"], errors="ignore")


def _without_password(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: print nothing of it that could be a secret
        return url.split("://", 1)[0] + "://…"


def _run_row(row: Any) -> RunRow:
    return RunRow(
        run_id=row.run_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        config=json.loads(row.config_json),
        config_hash=row.config_hash,
        evalkit_version=row.evalkit_version,
        price_snapshot=json.loads(row.price_snapshot_json),
        models=json.loads(row.models),
        suites=json.loads(row.suites),
        fingerprint=json.loads(row.fingerprint_json) if row.fingerprint_json else None,
        tag=row.tag,
        shard_count=row.shard_count,
    )


def _key(record: CallRecord) -> tuple[str, str, str, int]:
    return (record.model, record.suite, record.sample_id, record.epoch)


_DELETE_MARK = sa.delete(inflight_table).where(
    inflight_table.c.run_id == sa.bindparam("m_run_id"), inflight_table.c.model == sa.bindparam("m_model"),
    inflight_table.c.suite == sa.bindparam("m_suite"), inflight_table.c.sample_id == sa.bindparam("m_sample_id"),
    inflight_table.c.epoch == sa.bindparam("m_epoch"))


def _mark_params(record: CallRecord) -> dict[str, Any]:
    return {"m_run_id": record.run_id, "m_model": record.model, "m_suite": record.suite,
            "m_sample_id": record.sample_id, "m_epoch": record.epoch}


def _key_clause(table: sa.Table, run_id: str, key: tuple[str, str, str, int]) -> list:
    model, suite, sample_id, epoch = key
    return [
        table.c.run_id == run_id,
        table.c.model == model,
        table.c.suite == suite,
        table.c.sample_id == sample_id,
        table.c.epoch == epoch,
    ]


def _hide_password(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: create_engine will say why
        return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (evalkit runs) never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable against process death
    cursor.close()


def _migration_2(conn: sa.Connection) -> None:
    """Resume, cache, tags and shards: run fingerprints, the sent-call journal, the cache
    flag, run tags, shard counts and the run_shards table."""
    metadata.create_all(conn)  # new tables (and any a damaged store lacks), at this schema
    columns = {
        "runs": (runs_table.c.fingerprint_json, runs_table.c.tag, runs_table.c.shard_count),
        "records": (records_table.c.from_cache,),
    }
    for table, wanted in columns.items():
        existing = {column["name"] for column in sa.inspect(conn).get_columns(table)}
        for column in wanted:
            if column.name not in existing:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"))
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_runs_tag ON runs (tag)"))


def _migration_3(conn: sa.Connection) -> None:
    """LLM-as-judge: the judge model, rubric, raw verdict, and the judge's own tokens and cost."""
    names = ("judge_model", "judge_rubric", "judge_verdict", "judge_prompt_tokens",
             "judge_completion_tokens", "judge_cost_usd")
    existing = {column["name"] for column in sa.inspect(conn).get_columns("records")}
    for name in names:
        if name not in existing:
            kind = records_table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE records ADD COLUMN {name} {kind}"))


def _migration_4(conn: sa.Connection) -> None:
    """Client event-loop lag per record, so latencies taken under load can be flagged."""
    existing = {column["name"] for column in sa.inspect(conn).get_columns("records")}
    if "loop_lag_ms" not in existing:
        kind = records_table.c.loop_lag_ms.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE records ADD COLUMN loop_lag_ms {kind}"))


def _migration_5(conn: sa.Connection) -> None:
    """Output speed counts the tokens after the first, (completion tokens − 1) ÷ (e2e − TTFT),
    and a one-token reply has none: stored speeds are recomputed from the stored times and
    tokens, so an old run's records say what its reports now say."""
    table = records_table.c
    rows = conn.execute(sa.select(table.id, table.completion_tokens, table.ttft_s, table.e2e_s)
                        .where(table.output_speed_tps.is_not(None))).all()
    updates = [{"row_id": row.id, "speed": output_speed_tps(row.completion_tokens, row.ttft_s, row.e2e_s)}
               for row in rows]
    if updates:
        conn.execute(sa.update(records_table).where(table.id == sa.bindparam("row_id"))
                     .values(output_speed_tps=sa.bindparam("speed")), updates)


def _migration_6(conn: sa.Connection) -> None:
    """Run leases: a run being executed is held by one process at a time."""
    metadata.create_all(conn, tables=[leases_table])


MIGRATIONS = {2: _migration_2, 3: _migration_3, 4: _migration_4, 5: _migration_5, 6: _migration_6}
"""schema version -> the step that brings a store of the previous version to it. Append
only. A new store is created at the current version directly."""


class RecordWriter:
    """Commits records one by one from a background thread, in arrival order.

    `put` never blocks the event loop on the disk; `close` waits until every record put so
    far is committed, and re-raises the first write error.
    """

    _STOP = object()
    BATCH = 100
    """Most items committed in one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.written = 0
        self.thread = threading.Thread(target=self._loop, name="evalkit-record-writer", daemon=True)
        self.thread.start()

    def put(self, record: CallRecord) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(record)

    def mark_sent(self, run_id: str, key: tuple[str, str, str, int]) -> concurrent.futures.Future:
        """Journal a call before it is sent; the future resolves once that is committed."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        self.queue.put((run_id, key, done))
        return done

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            # Whatever else is waiting goes in the same transaction: under load one commit
            # serves many calls, and with one call at a time nothing waits for a batch.
            while len(batch) < self.BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            stop = self._STOP in batch
            self._write([item for item in batch if item is not self._STOP])
            if stop:
                return

    def _write(self, batch: list) -> None:
        marks = [item for item in batch if isinstance(item, tuple)]
        records = [item for item in batch if not isinstance(item, tuple)]
        # Marks first, in their own commit: each holds a call back until it is journalled,
        # so it must not also wait for the (larger) records behind it.
        if marks:
            try:
                self.store.write_batch([(run_id, key) for run_id, key, _done in marks], [])
            except BaseException as exc:
                for _run_id, _key, done in marks:
                    done.set_exception(exc)
            else:
                for _run_id, _key, done in marks:
                    done.set_result(None)
        if records:
            try:
                self.store.write_batch([], records)
            except BaseException as exc:  # surfaced to the caller on the next put/close
                self.error = exc
                return
            self.written += len(records)

    def close(self) -> None:
        self.queue.put(self._STOP)
        self.thread.join()
        if self.error is not None:
            raise self.error
