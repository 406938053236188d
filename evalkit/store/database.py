"""The history database: `Store`, the reads and writes of runs, shards and records.

SQLAlchemy Core over any URL; by default a SQLite file `results/evalkit.db`, or a
PostgreSQL server a team shares (`postgresql://user:pass@host/db`, through psycopg 3).
Opening a store creates or upgrades its tables (`evalkit.store.schema`,
`evalkit.store.migrations`). During a run each record is committed as its call finishes,
from a writer thread (`evalkit.store.writer`), so the event loop that times calls never
waits on the disk.

A run may be split into shards (`--shard I/N`) run by several machines: every shard
joins the same run row, registers itself in `run_shards`, and the run is finished once
every shard has reported. While a run (or a shard) executes, its process holds a lease in
`run_leases` (`evalkit.store.lease`), so a second process cannot run the same calls.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from evalkit import redaction
from evalkit.errors import UsageError
from evalkit.store.migrations import migrate
from evalkit.store.records import CallKey, CallRecord
from evalkit.store.schema import (
    inflight_table,
    records_table,
    run_summaries_table,
    runs_table,
    shards_table,
    workloads_table,
)

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_STORE = "results/evalkit.db"

_SHARD_REPORTED = ("finished", "failed", "interrupted")


@dataclass(frozen=True)
class RunRow:
    """One stored run: what was asked (the resolved config and its hash), with which prices,
    by which evalkit, and how it ended."""

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
    """One history database, opened (and created or upgraded) from a URL or file path."""

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
            migrate(self.engine, self.url)
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise UsageError(f"cannot open store {self.url}: {reason}") from None

    def connect_url(self) -> str:
        """The URL another process opens this store with: its password included, a SQLite
        path made absolute (that process's working directory may differ)."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database:
            url = url.set(database=str(Path(url.database).resolve()))
        return url.render_as_string(hide_password=False)

    # --- writes ---

    def start_run(self, run_id: str, config: dict, config_hash: str, version: str, prices: dict,
                  fingerprint: dict | None = None, tag: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._run_insert(run_id, config, config_hash, version, prices, tag, None, fingerprint))

    def _run_insert(self, run_id: str, config: dict, config_hash: str, version: str, prices: dict,
                    tag: str | None, shard_count: int | None, fingerprint: dict | None = None) -> sa.Insert:
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

    def shard_started(self, run_id: str, shard: int) -> bool:
        """Whether shard ``shard`` of run ``run_id`` has joined it (by any process, ever)."""
        query = sa.select(shards_table.c.status).where(
            (shards_table.c.run_id == run_id) & (shards_table.c.shard == shard))
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def reopen_shard(self, run_id: str, shard: int, keys: Collection[CallKey]) -> int:
        """A shard whose process died runs again (the caller holds its lease): it is
        running again, and of its calls (``keys``) the failed records go, to be redone, as
        do the sent-call marks of those in flight when it died. Returns how many were in
        flight. Other shards' records and marks are left alone: they may be running."""
        mine = set(keys)
        with self.engine.begin() as conn:
            conn.execute(sa.update(shards_table)
                         .where((shards_table.c.run_id == run_id) & (shards_table.c.shard == shard))
                         .values(status="running", finished_at=None))
            key_columns = [records_table.c[name] for name in CallKey._fields]
            failed = [row.id for row in conn.execute(
                sa.select(records_table.c.id, *key_columns).where(
                    records_table.c.run_id == run_id, records_table.c.error_class.is_not(None)))
                if CallKey(*row[1:]) in mine]
            if failed:
                conn.execute(sa.delete(records_table).where(records_table.c.id.in_(failed)))
            marks = [CallKey(*row) for row in conn.execute(
                sa.select(*(inflight_table.c[name] for name in CallKey._fields))
                .where(inflight_table.c.run_id == run_id))]
            inflight = [key for key in marks if key in mine]
            if inflight:
                conn.execute(_DELETE_MARK, [_key_params(run_id, key) for key in inflight])
        return len(inflight)

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
            # its figures will change: history recomputes them once it ends again
            conn.execute(sa.delete(run_summaries_table).where(run_summaries_table.c.run_id == run_id))

    def add_record(self, record: CallRecord) -> None:
        """Commit one record, and clear its sent-call mark in the same transaction."""
        self.write_batch([], [record])

    def write_batch(self, sent: list[tuple[str, CallKey]], records: list[CallRecord]) -> None:
        """In one transaction: journal calls about to be sent, then commit finished records
        and clear their marks. One statement per kind: at hundreds of calls a second, a
        commit per call is CPU the event loop's thread would lose to the writer's."""
        with self.engine.begin() as conn:
            if sent:
                now = time.time()
                conn.execute(sa.insert(inflight_table), [
                    dict(run_id=run_id, **key._asdict(), sent_at=now) for run_id, key in sent])
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

    def completed_keys(self, run_id: str) -> set[CallKey]:
        """The calls of the run that finished successfully."""
        columns = [records_table.c[name] for name in CallKey._fields]
        query = sa.select(*columns).where(records_table.c.run_id == run_id, records_table.c.error_class.is_(None))
        with self.engine.connect() as conn:
            return {CallKey(*row) for row in conn.execute(query)}

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

    def records_frame(self, run_id: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The run's records as a DataFrame, in commit order; only ``columns`` if given
        (history over many runs need not read every response text).

        Read as typed Arrow columns (`evalkit.store.columns`: floats, integers, booleans,
        strings), so a million records never stand as one Python object per cell. The frame
        is what ``pandas.read_sql`` made of the same rows: an integer column with a missing
        value is float (NaN), a text column ``str``, and a column with no value at all holds
        None (object).
        """
        import numpy as np
        import pandas as pd

        from evalkit.store.columns import read_records

        table = read_records(self.engine, run_id, columns)
        schema = table.schema
        rows = table.num_rows
        empty = [name for name in schema.names if table.column(name).null_count == rows]
        # each column's Arrow memory is released as soon as it is converted
        frame = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
        # One array of None for every such column: copy-on-write keeps them apart if one is
        # ever written to (a million records leave a dozen columns empty: 8 MB each otherwise).
        nothing = np.full(rows, None, dtype=object)
        nothing.flags.writeable = False
        for name in empty:
            frame[name] = pd.Series(nothing, index=frame.index, copy=False)
        return frame

    # --- workload profiles ---

    def save_workload(self, name: str, source: str, fmt: str, profile: dict,
                      sample: list[dict] | None = None) -> None:
        """Store the profile ``name`` (replacing one of that name) in one transaction;
        ``sample`` is the traffic's text, kept only when the user asked."""
        row = dict(name=name, imported_at=time.time(), source=source, format=fmt,
                   profile_json=json.dumps(profile, ensure_ascii=False),
                   sample_json=None if sample is None else json.dumps(sample, ensure_ascii=False))
        with self.engine.begin() as conn:
            conn.execute(sa.delete(workloads_table).where(workloads_table.c.name == name))
            conn.execute(sa.insert(workloads_table).values(**row))

    def workload(self, name: str) -> WorkloadRow:
        """The stored profile ``name``; a UsageError listing the stored ones otherwise."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(workloads_table).where(workloads_table.c.name == name)).first()
        if row is None:
            known = ", ".join(w.name for w in self.workloads()) or "none yet"
            raise UsageError(f"no workload profile {name!r} in store {self.url} (stored: {known}); "
                             "create one with `evalkit workload import FILE`")
        return _workload_row(row)

    def workloads(self) -> list[WorkloadRow]:
        """Every stored profile, newest first."""
        query = sa.select(workloads_table).order_by(workloads_table.c.imported_at.desc())
        with self.engine.connect() as conn:
            return [_workload_row(row) for row in conn.execute(query)]

    def delete_workload(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(sa.delete(workloads_table).where(workloads_table.c.name == name)).rowcount)

    # --- run summaries ---

    def save_run_summary(self, run_id: str, version: str, summary: dict) -> None:
        """Keep (or replace) the figures of a finished run, for history."""
        row = dict(run_id=run_id, computed_at=time.time(), evalkit_version=version,
                   summary_json=json.dumps(summary, ensure_ascii=False))
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(run_summaries_table).where(run_summaries_table.c.run_id == run_id))
                conn.execute(sa.insert(run_summaries_table).values(**row))
        except sa.exc.IntegrityError:
            pass  # a concurrent reader stored the same run's summary first: figures of the same records

    def run_summaries(self, run_ids: list[str] | None = None) -> dict[str, dict]:
        """run_id -> stored summary (with ``evalkit_version`` and ``computed_at``), for the
        given runs or all; a run without one is absent."""
        query = sa.select(run_summaries_table)
        if run_ids is not None:
            query = query.where(run_summaries_table.c.run_id.in_(run_ids))
        with self.engine.connect() as conn:
            return {row.run_id: {**json.loads(row.summary_json), "evalkit_version": row.evalkit_version,
                                 "computed_at": row.computed_at} for row in conn.execute(query)}


@dataclass(frozen=True)
class WorkloadRow:
    """A stored workload profile, as `Store.workload` returns it."""

    name: str
    imported_at: float
    source: str
    format: str
    profile: dict
    sample: list[dict] | None
    """The traffic's text (messages and logged answers), when it was kept."""


def _workload_row(row: Any) -> WorkloadRow:
    return WorkloadRow(name=row.name, imported_at=row.imported_at, source=row.source, format=row.format,
                       profile=json.loads(row.profile_json),
                       sample=None if row.sample_json is None else json.loads(row.sample_json))


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


# Bind names differ from the column names: SQLAlchemy reserves those for the row's values.
_DELETE_MARK = sa.delete(inflight_table).where(
    inflight_table.c.run_id == sa.bindparam("m_run_id"),
    *(inflight_table.c[name] == sa.bindparam(f"m_{name}") for name in CallKey._fields))


def _mark_params(record: CallRecord) -> dict[str, Any]:
    """The parameters of `_DELETE_MARK` that clear ``record``'s sent-call mark."""
    return _key_params(record.run_id, record.key)


def _key_params(run_id: str, key: CallKey) -> dict[str, Any]:
    return {"m_run_id": run_id, **{f"m_{name}": value for name, value in key._asdict().items()}}


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
