"""The process that reads a run's records out of a SQLite file with the ADBC driver and
writes them as an Arrow IPC file (see `evalkit.store.columns` for why a process of its own).

    python -m evalkit.store.sqlite_reader DATABASE RUN_ID OUT_FILE COLUMN,COLUMN,... BATCH_ROWS

BATCH_ROWS: rows per batch, the run's record count from the caller. The driver infers each
column's type from its first batch (a column null throughout it reads as integers), so one
batch of every row is what makes the inference see every value.

Exit 0: OUT_FILE holds the records in commit order, one column per name. Exit
``TYPES_DISAGREE``: a later batch disagreed with the types the first inferred (rows
committed while it read); the caller reads them another way.
"""

from __future__ import annotations

import contextlib
import sys

TYPES_DISAGREE = 3


def read(database: str, run_id: str, out_file: str, columns: list[str], batch_rows: int) -> None:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    names = ", ".join(f'"{name}"' for name in columns)
    with contextlib.closing(adbc.connect(database)) as conn, contextlib.closing(conn.cursor()) as cursor:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(max(batch_rows, 1))})
        cursor.execute(f"SELECT {names} FROM records WHERE run_id = ? ORDER BY id", (run_id,))
        table = cursor.fetch_arrow_table()
    with pa.OSFile(out_file, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def main(argv: list[str]) -> int:
    database, run_id, out_file, columns, batch_rows = argv
    try:
        read(database, run_id, out_file, columns.split(","), int(batch_rows))
    except OSError as exc:  # the driver's own errors are OSErrors: "[SQLite] Type mismatch in column 0: ..."
        if "type mismatch" not in str(exc).lower():
            raise
        return TYPES_DISAGREE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
