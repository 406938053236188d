"""Bringing a store of any earlier schema version to the current one (`SCHEMA_VERSION`).

Append-only: each step brings a store of the previous version to its own, and is never
edited once released. A new store is created at the current version directly. A store
newer than this evalkit is refused (its records might be misread).
"""

from __future__ import annotations

import sqlalchemy as sa

from evalkit.errors import UsageError
from evalkit.store.records import output_speed_tps
from evalkit.store.schema import (
    SCHEMA_VERSION,
    leases_table,
    meta_table,
    metadata,
    records_table,
    run_summaries_table,
    runs_table,
    workloads_table,
)

_POSTGRES_MIGRATION_LOCK = 20240917
"""Advisory lock id: several shards may open a fresh shared store at once."""


def migrate(engine: sa.Engine, url: str) -> None:
    """Create or upgrade the store at ``engine`` (``url``, password hidden, for messages)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # migrate one process at a time
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_POSTGRES_MIGRATION_LOCK})"))
        metadata.create_all(conn, tables=[meta_table])
        row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")).first()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise UsageError(
                f"store {url} has schema version {version}, newer than this evalkit "
                f"({SCHEMA_VERSION}); upgrade evalkit"
            )
        if version == 0:
            metadata.create_all(conn)  # a new store gets the current schema at once
        for target in range(version + 1, SCHEMA_VERSION + 1) if version else ():
            MIGRATIONS[target](conn)
        if version != SCHEMA_VERSION:
            conn.execute(sa.delete(meta_table).where(meta_table.c.key == "schema_version"))
            conn.execute(sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))


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


THINKING_COLUMNS = ("reasoning_text", "first_token_s", "thinking_s", "reasoning_tokens_source")
"""Schema 7, thinking models: the reasoning kept apart from the answer, the clock of the
first token of any kind, thinking time, and whether reasoning tokens were reported or estimated."""

PRICE_RULE_COLUMNS = ("cache_write_tokens",)
"""Schema 7, price rules: the prompt tokens a call wrote to the provider's cache."""

SCHEMA_7_COLUMNS = (*THINKING_COLUMNS, *PRICE_RULE_COLUMNS)
"""Every record column schema 7 adds, in `CallRecord`'s order, by the part that needs them."""


def _migration_7(conn: sa.Connection) -> None:
    """Thinking models and price rules; old records keep None there: not measured."""
    _add_record_columns(conn, SCHEMA_7_COLUMNS)


TOOL_CALL_COLUMNS = ("tool_calls",)
"""Schema 8, tool calling: the function calls a reply made."""


def _migration_8(conn: sa.Connection) -> None:
    """Tool calling; old records keep None there: they called no function."""
    _add_record_columns(conn, TOOL_CALL_COLUMNS)


TURN_COLUMNS = ("turns", "turn_log")
"""Schema 9, multi-turn tasks: how many model turns a task took, and each turn's figures."""


def _migration_9(conn: sa.Connection) -> None:
    """Multi-turn tasks; old records keep None there: each was a single call."""
    _add_record_columns(conn, TURN_COLUMNS)


CODE_COLUMNS = ("tests_s", "sandbox")
"""Schema 10, code scoring: the time the item's tests ran, and the isolation they ran under."""


def _migration_10(conn: sa.Connection) -> None:
    """Code scoring; old records keep None there: their scorers ran no code."""
    _add_record_columns(conn, CODE_COLUMNS)


def _migration_11(conn: sa.Connection) -> None:
    """Workload profiles and per-run summaries: two new tables; summaries of runs stored
    before are computed the first time history needs them."""
    metadata.create_all(conn, tables=[workloads_table, run_summaries_table])


def _migration_12(conn: sa.Connection) -> None:
    """An index that gives a run's records in commit order without sorting them on each read."""
    next(index for index in records_table.indexes if index.name == "ix_records_run_order").create(
        conn, checkfirst=True)


def _add_record_columns(conn: sa.Connection, names: tuple[str, ...]) -> None:
    """Add these `records` columns, typed as the schema types them, where they are missing."""
    existing = {column["name"] for column in sa.inspect(conn).get_columns("records")}
    for name in names:
        if name not in existing:
            kind = records_table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE records ADD COLUMN {name} {kind}"))


MIGRATIONS = {2: _migration_2, 3: _migration_3, 4: _migration_4, 5: _migration_5, 6: _migration_6,
              7: _migration_7, 8: _migration_8, 9: _migration_9,
              10: _migration_10, 11: _migration_11, 12: _migration_12}
"""schema version -> the step that brings a store of the previous version to it. Append
only. A new store is created at the current version directly."""
