"""The process that reads a run's records out of a SQLite file with the ADBC driver and
writes them as an Arrow IPC file (see `evalkit.store.columns` for why a process of its own).

    python -m evalkit.store.sqlite_reader DATABASE RUN_ID OUT_FILE COLUMN,COLUMN,...

Exit 0: OUT_FILE holds the records in commit order, one column per name. Exit
``TYPES_DISAGREE``: the driver inferred a column's type from its first batch and a later
batch disagreed (rows committed while it read); the caller reads them another way.
"""

from __future__ import annotations

import contextlib
import sys

TYPES_DISAGREE = 3

BATCH_ROWS: int | None = None
"""Rows per batch; None: all the run's rows in one batch. The driver infers each column's
type from its first batch (a column null throughout it reads as integers), so one batch
is what makes the inference see every value. Tests set ``EVALKIT_ADBC_BATCH_ROWS``."""


def read(database: str, run_id: str, out_file: str, columns: list[str], batch_rows: int | None = None) -> None:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    names = ", ".join(f'"{name}"' for name in columns)
    where = "FROM records WHERE run_id = ?"
    with contextlib.closing(adbc.connect(database)) as conn, contextlib.closing(conn.cursor()) as cursor:
        cursor.execute(f"SELECT count(*) {where}", (run_id,))
        rows = int(cursor.fetchall()[0][0])
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows or max(rows, 1))})
        cursor.execute(f"SELECT {names} {where} ORDER BY id", (run_id,))
        table = cursor.fetch_arrow_table()
    with pa.OSFile(out_file, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def main(argv: list[str]) -> int:
    import os

    database, run_id, out_file, columns = argv
    batch_rows = int(os.environ.get("EVALKIT_ADBC_BATCH_ROWS") or 0) or BATCH_ROWS
    try:
        read(database, run_id, out_file, columns.split(","), batch_rows)
    except OSError as exc:  # the driver's own errors are OSErrors: "[SQLite] Type mismatch in column 0: ..."
        if "type mismatch" not in str(exc).lower():
            raise
        return TYPES_DISAGREE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
