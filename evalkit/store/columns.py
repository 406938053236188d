"""A run's records as typed Arrow columns, read without one Python object per cell where the
backend allows it.

A large run in a SQLite file is read by the ADBC SQLite driver (`adbc-driver-sqlite`, Apache
Arrow), which steps through the rows in C and hands back Arrow columns: for a million
records of 33 columns, ~2.5 s instead of ~7 s, and no 33 million Python objects on the way.
The driver carries a SQLite library of its own, and two copies of SQLite in one process
break each other's file locks (closing one's connection drops the other's locks and can
delete the write-ahead log under it: https://www.sqlite.org/howtocorrupt.html, section
2.2.1). So it runs in a process of its own (`evalkit.store.sqlite_reader`), which hands the
table over as an Arrow IPC file that this process maps without copying; starting that
process costs ~0.3 s, so runs of fewer than ``ADBC_MIN_ROWS`` records are not worth it.

Any other store (PostgreSQL, an in-memory SQLite) and a small run is read through
SQLAlchemy, ``CHUNK_ROWS`` rows at a time, each chunk turned into typed Arrow columns
before the next is fetched. Either way the table has the types of
`evalkit.store.schema`'s columns (`arrow_type`), so the frame made of it does not depend
on which rows happened to be null.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from evalkit.store.schema import records_table

if TYPE_CHECKING:
    import pyarrow as pa

CHUNK_ROWS = 10_000
"""Rows fetched at a time through SQLAlchemy."""

ADBC_MIN_ROWS = 50_000
"""Runs with at least this many records are read through the ADBC reader process."""

READER_BATCH_ROWS: int | None = None
"""Rows per batch of the reader; None: the run's count (one batch). Tests set a small one to
see the read fall back when a later batch disagrees with the types the first inferred."""


def arrow_type(column_type: sa.types.TypeEngine[Any]) -> Any:
    """The pyarrow type of a records column (see `evalkit.store.schema.column_type`)."""
    import pyarrow as pa

    for sa_type, arrow in ((sa.Boolean, pa.bool_()), (sa.Integer, pa.int64()), (sa.Float, pa.float64()),
                           (sa.String, pa.string())):
        if isinstance(column_type, sa_type):
            return arrow
    raise TypeError(f"the records table has a column of type {column_type!r} records_frame cannot read")


def read_records(engine: sa.Engine, run_id: str, columns: list[str] | None = None) -> pa.Table:
    """Run ``run_id``'s records, in commit order, as an Arrow table of ``columns`` (all but
    the row id if None), each typed as the schema types it."""
    import pyarrow as pa

    selected = [records_table.c[name] for name in columns] if columns else \
        [column for column in records_table.columns if column.name != "id"]
    schema = pa.schema([(column.name, arrow_type(column.type)) for column in selected])
    path = _sqlite_file(engine)
    table = None
    if path is not None and (rows := _count(engine, run_id)) >= ADBC_MIN_ROWS:
        table = _read_in_reader_process(path, run_id, schema, batch_rows=rows)
    return table if table is not None else _read_chunked(engine, run_id, selected, schema)


def _count(engine: sa.Engine, run_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(records_table).where(records_table.c.run_id == run_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _sqlite_file(engine: sa.Engine) -> Path | None:
    """The database file of a SQLite store; None for another backend or an in-memory one."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def _read_in_reader_process(path: Path, run_id: str, schema: pa.Schema, batch_rows: int) -> pa.Table | None:
    """The records as `evalkit.store.sqlite_reader` reads them, ``batch_rows`` at a time (the
    run's count: one batch, see there); None when it could not give them in the schema's
    types (the caller then reads them through SQLAlchemy)."""
    import pyarrow as pa

    from evalkit.store import sqlite_reader

    with tempfile.TemporaryDirectory(prefix="evalkit-records-") as folder:
        table_file = Path(folder) / "records.arrow"
        try:
            done = subprocess.run([sys.executable, "-m", "evalkit.store.sqlite_reader", str(path), run_id,
                                   str(table_file), ",".join(schema.names), str(READER_BATCH_ROWS or batch_rows)],
                                  capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        except OSError as exc:  # no interpreter to start (an embedded one): the slower way still works
            warnings.warn(f"cannot start the ADBC reader ({exc}); reading {path} through SQLAlchemy",
                          RuntimeWarning, stacklevel=3)
            return None
        if done.returncode != 0:
            if done.returncode != sqlite_reader.TYPES_DISAGREE:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                warnings.warn(f"reading {path} through ADBC failed ({last}); read through SQLAlchemy instead",
                              RuntimeWarning, stacklevel=3)
            return None
        # mapped, not read: the columns are the file's pages (which outlive its name) until
        # pandas copies them; a column null throughout reads as integers, cast to its type
        table = pa.ipc.open_file(pa.memory_map(str(table_file))).read_all()
    return table.cast(schema)


def _read_chunked(engine: sa.Engine, run_id: str, selected: list[sa.Column[Any]], schema: pa.Schema) -> pa.Table:
    """The records through SQLAlchemy, ``CHUNK_ROWS`` at a time, each chunk typed at once."""
    import pyarrow as pa

    query = sa.select(*selected).where(records_table.c.run_id == run_id).order_by(records_table.c.id)
    batches = []
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=CHUNK_ROWS).execute(query)
        for rows in result.partitions():
            batches.append(pa.record_batch(
                [pa.array(values, field.type) for values, field in zip(zip(*rows), schema)], schema=schema))
    return pa.Table.from_batches(batches, schema=schema)
