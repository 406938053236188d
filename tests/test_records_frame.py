"""`Store.records_frame` reads stored records in typed column chunks: the frame must be what
`pandas.read_sql` made of the same rows (values, dtypes, order), whatever a column holds."""

from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest
import sqlalchemy as sa

from evalkit.store import columns as record_columns
from evalkit.store.database import Store
from evalkit.store.records import CallRecord
from evalkit.store.schema import SCHEMA_VERSION, records_table
from evalkit.testing.synthetic_run import make_run, model_lineup


def read_sql(store: Store, run_id: str, columns: list[str] | None = None) -> pd.DataFrame:
    """How records were read before: every cell a Python object, then pandas' inference."""
    selected = [records_table.c[name] for name in columns] if columns else [records_table]
    query = sa.select(*selected).where(records_table.c.run_id == run_id).order_by(records_table.c.id)
    with store.engine.connect() as conn:
        return pd.read_sql(query, conn).drop(columns=["id"], errors="ignore")


@pytest.fixture(params=["through SQLAlchemy", "by the reader process", "by the reader in small batches"])
def store(request, any_store_url, monkeypatch):
    """Small runs (and PostgreSQL stores) are read through SQLAlchemy, in chunks (small ones
    here: some columns null in one chunk only); a large run in a SQLite file by ADBC in a
    process of its own, in one batch: in small batches a later one disagrees with the types
    the first inferred, and the read falls back to SQLAlchemy."""
    monkeypatch.setattr(record_columns, "CHUNK_ROWS", 7)
    if request.param != "through SQLAlchemy":
        monkeypatch.setattr(record_columns, "ADBC_MIN_ROWS", 0)
    if request.param == "by the reader in small batches":
        monkeypatch.setattr(record_columns, "READER_BATCH_ROWS", 7)
    return Store(any_store_url)


def test_a_synthetic_run_reads_as_read_sql_read_it(store, tmp_path):
    run_id = make_run(store, tmp_path / "suites", model_lineup(3), 2, 12)
    pd.testing.assert_frame_equal(store.records_frame(run_id), read_sql(store, run_id), check_exact=True)
    columns = ["model", "score", "cost_usd", "error_class", "epoch"]
    pd.testing.assert_frame_equal(store.records_frame(run_id, columns), read_sql(store, run_id, columns),
                                  check_exact=True)


def test_sparse_columns_keep_their_types(store):
    store.start_run("r", {"models": [{"label": "m", "id": "openai/m"}], "suites": [{"name": "s"}]}, "h", "0", {})
    records = []
    for i in range(20):
        late = i >= 15  # set only after the first chunks: a chunk of nothing but nulls
        records.append(CallRecord(
            run_id="r", model="m", model_id="openai/m", suite="s", sample_id=f"q{i}", request_hash=str(i),
            cluster=f"c{i % 3}" if late else None, score=0.5 * (i % 3), ttft_s=0.1 * i if i % 2 else None,
            cached_tokens=i if late else None, from_cache=bool(i % 2), loop_lag_ms=1.5 if late else None,
            response_text="答案 <b>" if i % 4 else None, cost_usd=1e-6 * i))
    for record in records:
        store.add_record(record)
    got, expected = store.records_frame("r"), read_sql(store, "r")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["cached_tokens"].dtype == float and got["judge_model"].tolist() == [None] * 20


def test_no_records_is_an_empty_frame_with_every_column(store):
    assert store.records_frame("nothing").empty
    assert list(store.records_frame("nothing").columns) == list(read_sql(store, "nothing").columns)


def test_a_large_run_in_a_sqlite_file_is_read_by_adbc_and_the_store_stays_whole(tmp_path, monkeypatch):
    """ADBC's SQLite is a second copy of the library: in this process it would drop the locks of
    Python's sqlite3 and delete the write-ahead log under it ("database disk image is malformed"
    at the next write). Read in its own process, the store can be written and read on."""
    store = Store(str(tmp_path / "runs.db"))
    run_id = make_run(store, tmp_path / "suites", model_lineup(2), 1, 5)
    monkeypatch.setattr(record_columns, "ADBC_MIN_ROWS", 0)
    monkeypatch.setattr(record_columns, "_read_chunked", lambda *args: pytest.fail("read through SQLAlchemy"))
    wal = tmp_path / "runs.db-wal"
    assert wal.exists()  # the writes are in the log, not yet in the file; the pool holds a connection
    frame = store.records_frame(run_id)
    monkeypatch.undo()
    assert wal.exists()  # read in this process, ADBC's SQLite would have deleted it on closing
    pd.testing.assert_frame_equal(frame, read_sql(store, run_id), check_exact=True)
    store.save_run_summary(run_id, "0", {"models": []})  # a write right after the read
    again = make_run(store, tmp_path / "suites-2", model_lineup(2), 1, 5, run_id="second")
    assert len(store.records_frame(again)) == len(read_sql(store, again)) > 0
    with sqlite3.connect(tmp_path / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_store_of_schema_11_gets_the_commit_order_index_and_reads_unsorted(tmp_path):
    path = tmp_path / "runs.db"
    Store(str(path))
    with sqlite3.connect(path) as db:  # as schema 11 left it
        db.execute("DROP INDEX ix_records_run_order")
        db.execute("UPDATE evalkit_meta SET value = '11' WHERE key = 'schema_version'")
    Store(str(path))
    with sqlite3.connect(path) as db:
        plan = " ".join(row[-1] for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM records WHERE run_id = 'r' ORDER BY id"))
        version = db.execute("SELECT value FROM evalkit_meta WHERE key = 'schema_version'").fetchone()
    assert "ix_records_run_order" in plan and "TEMP B-TREE" not in plan
    assert version == (str(SCHEMA_VERSION),)


@pytest.mark.parametrize("interpreter", ["/nonexistent/python", "false"])
def test_a_reader_process_that_cannot_run_leaves_the_read_to_sqlalchemy_and_says_so(tmp_path, monkeypatch,
                                                                                  interpreter):
    store = Store(str(tmp_path / "runs.db"))
    run_id = make_run(store, tmp_path / "suites", model_lineup(2), 1, 5)
    monkeypatch.setattr(record_columns, "ADBC_MIN_ROWS", 0)
    monkeypatch.setattr(record_columns.sys, "executable", shutil.which(interpreter) or interpreter)
    with pytest.warns(RuntimeWarning, match="through SQLAlchemy"):
        frame = store.records_frame(run_id)
    pd.testing.assert_frame_equal(frame, read_sql(store, run_id), check_exact=True)
