"""`Store.records_frame` reads stored records in typed column chunks: the frame must be what
`pandas.read_sql` made of the same rows (values, dtypes, order), whatever a column holds."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from evalkit.store import database
from evalkit.store.database import Store
from evalkit.store.records import CallRecord
from evalkit.store.schema import records_table
from evalkit.testing.synthetic_run import make_run, model_lineup


def read_sql(store: Store, run_id: str, columns: list[str] | None = None) -> pd.DataFrame:
    """How records were read before: every cell a Python object, then pandas' inference."""
    selected = [records_table.c[name] for name in columns] if columns else [records_table]
    query = sa.select(*selected).where(records_table.c.run_id == run_id).order_by(records_table.c.id)
    with store.engine.connect() as conn:
        return pd.read_sql(query, conn).drop(columns=["id"], errors="ignore")


@pytest.fixture
def store(any_store_url, monkeypatch):
    monkeypatch.setattr(database, "_CHUNK_ROWS", 7)  # many chunks, some columns null in one only
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
