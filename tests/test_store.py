"""The history database: versioned schema, durable writes as calls finish, run lookup."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig
from evalkit.errors import UsageError
from evalkit.run.compare import execute
from evalkit.run.prepare import prepare
from evalkit.store import SCHEMA_VERSION, CallKey, CallRecord, RecordWriter, Store, store_url
from evalkit.testing.scripted_server import Reply, ScriptedServer


def record(run_id: str, sample_id: str, score: float = 1.0) -> CallRecord:
    return CallRecord(run_id=run_id, model="m", model_id="openai/m", suite="s", sample_id=sample_id,
                      request_hash="h", score=score, e2e_s=0.5, cost_usd=0.001)


def test_schema_is_versioned_and_a_newer_one_is_refused(tmp_path):
    path = tmp_path / "h.db"
    Store(str(path))
    with sqlite3.connect(path) as db:
        assert db.execute("select value from evalkit_meta where key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        db.execute("update evalkit_meta set value='99' where key='schema_version'")
    with pytest.raises(UsageError, match="newer than this evalkit"):
        Store(str(path))


def test_records_round_trip_through_a_frame(tmp_path):
    store = Store(str(tmp_path / "h.db"))
    store.start_run("r1", {"models": [{"id": "openai/m", "label": None}], "suites": [{"name": "s"}]},
                    "hash", "0.1.0", {})
    writer = RecordWriter(store)
    for i in range(3):
        writer.put(record("r1", f"x{i}", score=i / 2))
    writer.close()
    frame = store.records_frame("r1")
    assert list(frame["sample_id"]) == ["x0", "x1", "x2"]
    assert list(frame["score"]) == [0.0, 0.5, 1.0]
    assert frame["ttft_s"].isna().all()  # unmeasured stays missing, not 0
    assert store.record_count("r1") == 3


def test_run_lookup_by_id_prefix_and_last(tmp_path):
    store = Store(str(tmp_path / "h.db"))
    config = {"models": [{"id": "a", "label": None}], "suites": [{"name": "s"}]}
    store.start_run("20260101-000000-aaaa", config, "h", "0", {})
    time.sleep(0.01)
    store.start_run("20260102-000000-bbbb", config, "h", "0", {})
    assert store.run("last").run_id == "20260102-000000-bbbb"
    assert store.run("20260101").run_id == "20260101-000000-aaaa"
    with pytest.raises(UsageError, match="matches 2 runs"):
        store.run("2026")
    with pytest.raises(UsageError, match="no run 'zzz'"):
        store.run("zzz")


def test_store_location_from_option_environment_or_default(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALKIT_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert store_url() == "sqlite:///results/evalkit.db"
    monkeypatch.setenv("EVALKIT_STORE", "sqlite:///elsewhere.db")
    assert store_url() == "sqlite:///elsewhere.db"
    assert store_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"


def test_each_record_is_durable_as_soon_as_its_call_finishes(tmp_path):
    """While the slow item is still in flight, the fast one is already in the database."""
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "fast", "prompt": "fast", "reference": "ok"}\n'
                     '{"id": "slow", "prompt": "slow", "reference": "ok"}\n', encoding="utf-8")
    script = {"fast": Reply("ok"), "slow": Reply("ok", ttft=3.0)}
    path = tmp_path / "h.db"
    with ScriptedServer(script) as server:
        config = RunConfig(
            models=[ModelConfig(id="openai/m", api_base=server.base_url, price={"input": 1, "output": 1})],
            suites=[SuiteConfig(name="items", path=str(items))],
        )
        plan = prepare(config)
        run = threading.Thread(target=execute, args=(plan, Store(str(path))))
        run.start()
        seen_during_run = []
        deadline = time.monotonic() + 20
        while run.is_alive() and time.monotonic() < deadline:
            if path.exists():
                with sqlite3.connect(path) as db:
                    rows = db.execute("select sample_id from records").fetchall() if _has_records(db) else []
                if rows:
                    seen_during_run = [r[0] for r in rows]
                    break
            time.sleep(0.05)
        still_running = run.is_alive()
        run.join()
    assert seen_during_run == ["fast"] and still_running


def _has_records(db: sqlite3.Connection) -> bool:
    return db.execute("select 1 from sqlite_master where name='records'").fetchone() is not None


def test_a_burst_of_journal_marks_and_records_is_committed_whole_and_in_order(tmp_path):
    # Hundreds of calls a second: the writer batches what is waiting into few transactions.
    store = Store(str(tmp_path / "h.db"))
    store.start_run("r1", {"models": [{"id": "openai/m", "label": None}], "suites": [{"name": "s"}]},
                    "hash", "0.1.0", {})
    writer = RecordWriter(store)
    marks = [writer.mark_sent("r1", CallKey("m", "s", f"x{i}", 0)) for i in range(450)]
    for i in range(300):  # 150 calls are still in flight when the writer closes
        writer.put(record("r1", f"x{i}", score=i % 2))
    writer.close()
    assert all(mark.done() and mark.exception() is None for mark in marks)
    assert writer.written == 300 and store.record_count("r1") == 300
    assert store.inflight_count("r1") == 150  # each finished call cleared its own mark
    assert list(store.records_frame("r1")["sample_id"]) == [f"x{i}" for i in range(300)]
