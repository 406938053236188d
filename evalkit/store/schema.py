"""The store's tables at the current schema version (SQLAlchemy Core).

The records table is `CallRecord` itself: one column per field, of the type the field's
annotation names (see `record_columns`), so a field added to the record is stored as what
it is, and a type the store cannot hold is refused when evalkit starts rather than stored
as something else. The sent-call journal is keyed by the fields of `CallKey` the same way.
`evalkit.store.migrations` brings an older store to this version.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from evalkit.store.records import LONG_TEXT, CallKey, CallRecord

SCHEMA_VERSION = 12
"""Version of the tables below; a store records its own in ``evalkit_meta``."""

_COLUMN_TYPES: dict[type, Callable[[], sa.types.TypeEngine[Any]]] = {
    str: lambda: sa.String(255),
    int: lambda: sa.Integer(),
    float: lambda: sa.Float(),
    bool: lambda: sa.Boolean(),
}
"""Python type of a record field -> the column type it is stored as."""


def column_type(owner: str, name: str, hint: Any) -> sa.types.TypeEngine[Any]:
    """The column type of a field annotated ``hint`` (``X`` or ``X | None``)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = members[0] if len(members) == 1 else hint
    if typing.get_origin(hint) is typing.Annotated:
        hint, *marks = typing.get_args(hint)
        if hint is str and LONG_TEXT in marks:
            return sa.Text()
    if hint not in _COLUMN_TYPES:
        raise TypeError(f"{owner}.{name}: the store has no column type for {hint!r}; "
                        f"annotate it as one of {', '.join(t.__name__ for t in _COLUMN_TYPES)} "
                        "(optionally | None), or LongText")
    return _COLUMN_TYPES[hint]()


def record_columns(record_type: type = CallRecord) -> list[sa.Column]:
    """One nullable column per field of the dataclass ``record_type``, in field order,
    typed by its annotation."""
    hints = typing.get_type_hints(record_type, include_extras=True)
    return [sa.Column(f.name, column_type(record_type.__name__, f.name, hints[f.name]))
            for f in dataclasses.fields(record_type)]


def _key_columns() -> list[sa.Column]:
    """The fields of `CallKey` as required columns."""
    hints = typing.get_type_hints(CallKey)
    return [sa.Column(name, column_type("CallKey", name, hints[name]), nullable=False) for name in CallKey._fields]


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
    *_key_columns(),
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

records_table = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *record_columns(),
    sa.Index("ix_records_run", "run_id", "model", "suite"),
    # schema 12: a run's records in commit order straight from the index, not sorted afresh
    # (a million rows of every column through a temporary B-tree) on each read
    sa.Index("ix_records_run_order", "run_id", "id"),
)
"""One row per `CallRecord`, in commit order (``id``)."""

workloads_table = sa.Table(
    "workloads",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("imported_at", sa.Float, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("profile_json", sa.Text, nullable=False),
    sa.Column("sample_json", sa.Text),
)
"""Schema 11: workload profiles imported from production logs (`evalkit workload import`);
``sample_json`` holds the traffic's text only where the user asked to keep it."""

run_summaries_table = sa.Table(
    "run_summaries",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("computed_at", sa.Float, nullable=False),
    sa.Column("evalkit_version", sa.String(32), nullable=False),
    sa.Column("summary_json", sa.Text, nullable=False),
)
"""Schema 11: a finished run's figures per model and suite, kept so `evalkit history` reads
one row per run instead of re-analysing its records."""
