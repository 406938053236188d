"""The records table is derived from `CallRecord`'s annotations, and is the schema stores have.

The expected columns below are the schema-6 tables as they were written out by hand
before the derivation: a store made today must be column for column what stores already
in use are, or every migration and every shared PostgreSQL store would drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from evalkit.errors import UsageError
from evalkit.store import CallKey, CallRecord, LongText, RecordWriter, Store
from evalkit.store.schema import record_columns

NOT_NULL, KEY = "not null", "primary key"

SCHEMA_6_RECORDS = [
    ("id", "INTEGER", NOT_NULL, KEY), ("run_id", "VARCHAR(255)"), ("model", "VARCHAR(255)"),
    ("model_id", "VARCHAR(255)"), ("suite", "VARCHAR(255)"), ("sample_id", "VARCHAR(255)"),
    ("request_hash", "VARCHAR(255)"), ("cluster", "VARCHAR(255)"), ("epoch", "INTEGER"),
    ("response_text", "TEXT"), ("extracted", "TEXT"), ("score", "FLOAT"), ("score_detail", "TEXT"),
    ("ttft_s", "FLOAT"), ("reasoning_ttft_s", "FLOAT"), ("e2e_s", "FLOAT"), ("output_speed_tps", "FLOAT"),
    ("prompt_tokens", "INTEGER"), ("completion_tokens", "INTEGER"), ("cached_tokens", "INTEGER"),
    ("reasoning_tokens", "INTEGER"), ("usage_source", "VARCHAR(255)"), ("cost_usd", "FLOAT"),
    ("error_class", "VARCHAR(255)"), ("error_message", "TEXT"), ("attempts", "INTEGER"),
    ("finish_reason", "VARCHAR(255)"), ("from_cache", "BOOLEAN"), ("loop_lag_ms", "FLOAT"),
    ("started_at", "FLOAT"), ("finished_at", "FLOAT"), ("judge_model", "VARCHAR(255)"),
    ("judge_rubric", "TEXT"), ("judge_verdict", "TEXT"), ("judge_prompt_tokens", "INTEGER"),
    ("judge_completion_tokens", "INTEGER"), ("judge_cost_usd", "FLOAT"),
]
SCHEMA_7_THINKING = [
    ("reasoning_text", "TEXT"), ("first_token_s", "FLOAT"), ("thinking_s", "FLOAT"),
    ("reasoning_tokens_source", "VARCHAR(255)"),
]
"""The columns schema 7 adds for thinking models, after the schema-6 ones."""
SCHEMA_6_INFLIGHT = [
    ("run_id", "VARCHAR(64)", NOT_NULL), ("model", "VARCHAR(255)", NOT_NULL), ("suite", "VARCHAR(255)", NOT_NULL),
    ("sample_id", "VARCHAR(255)", NOT_NULL), ("epoch", "INTEGER", NOT_NULL), ("sent_at", "FLOAT", NOT_NULL),
]


def _described(columns: list[dict]) -> list[tuple]:
    return [(c["name"], str(c["type"]), *([NOT_NULL] if not c["nullable"] else []),
             *([KEY] if c.get("primary_key") else [])) for c in columns]


SCHEMA_7_PRICE_RULES = [("cache_write_tokens", "INTEGER")]
"""Schema 7's price-rule columns, after its thinking ones (as migration 7 adds them)."""
SCHEMA_8_TOOL_CALLS = [("tool_calls", "TEXT")]
"""Schema 8's column for the function calls a reply made."""
SCHEMA_9_TURNS = [("turns", "INTEGER"), ("turn_log", "TEXT")]
"""Schema 9's columns for multi-turn tasks."""
SCHEMA_10_CODE = [("tests_s", "FLOAT"), ("sandbox", "VARCHAR(255)")]
"""Schema 10's columns for code scoring."""


def test_a_new_store_has_the_schema_10_records_and_journal_tables(tmp_path):
    store = Store(str(tmp_path / "h.db"))
    inspector = sa.inspect(store.engine)
    expected = (SCHEMA_6_RECORDS + SCHEMA_7_THINKING + SCHEMA_7_PRICE_RULES + SCHEMA_8_TOOL_CALLS
                + SCHEMA_9_TURNS + SCHEMA_10_CODE)
    assert _described(inspector.get_columns("records")) == expected
    assert _described(inspector.get_columns("inflight")) == SCHEMA_6_INFLIGHT


def test_a_schema_10_store_gains_workload_profiles_and_run_summaries_and_keeps_its_run(older_store):
    store = Store(str(older_store(10)))
    assert {"workloads", "run_summaries"} <= set(sa.inspect(store.engine).get_table_names())
    assert store.run("r1").run_id == "r1" and store.spent("r1") == 0.25
    store.save_workload("rag", "logs.jsonl", "openai-jsonl", {"requests": 2}, [{"messages": [], "response": "ok"}])
    store.save_workload("rag", "logs2.jsonl", "csv", {"requests": 3})  # a second import replaces the first
    saved = store.workload("rag")
    assert (saved.source, saved.format, saved.profile, saved.sample) == ("logs2.jsonl", "csv", {"requests": 3}, None)
    store.save_run_summary("r1", "0.9", {"rows": [{"model": "m"}]})
    assert store.run_summaries(["r1"])["r1"]["rows"] == [{"model": "m"}]
    with pytest.raises(UsageError, match=r"no workload profile 'chat'.*stored: rag.*evalkit workload import"):
        store.workload("chat")


def test_a_field_is_stored_as_the_type_its_annotation_names():
    @dataclass
    class Extended(CallRecord):
        energy_j: float | None = None
        retried: bool = False
        rationale: LongText | None = None
        region: str | None = None

    types = {column.name: column.type for column in record_columns(Extended)}
    assert isinstance(types["energy_j"], sa.Float)  # not a VARCHAR because no list named it
    assert isinstance(types["retried"], sa.Boolean)
    assert isinstance(types["rationale"], sa.Text)
    assert isinstance(types["region"], sa.String) and types["region"].length == 255
    assert list(types)[-4:] == ["energy_j", "retried", "rationale", "region"]


def test_a_field_the_store_cannot_hold_is_refused_by_name():
    @dataclass
    class Tagged(CallRecord):
        tags: list[str] | None = None

    with pytest.raises(TypeError, match=r"Tagged\.tags: the store has no column type"):
        record_columns(Tagged)


def test_the_key_of_a_record_is_a_call_key_and_resume_reads_them_back(tmp_path):
    record = CallRecord(run_id="r1", model="m", model_id="openai/m", suite="s", sample_id="q1",
                        request_hash="h", epoch=2)
    assert record.key == CallKey("m", "s", "q1", 2) == ("m", "s", "q1", 2)
    store = Store(str(tmp_path / "h.db"))
    store.start_run("r1", {"models": [{"id": "openai/m", "label": "m"}], "suites": [{"name": "s"}]},
                    "hash", "0.1.0", {})
    writer = RecordWriter(store)
    writer.mark_sent("r1", record.key).result(timeout=10)
    assert store.inflight_count("r1") == 1
    writer.put(record)
    writer.close()
    assert store.inflight_count("r1") == 0  # the record cleared its own mark
    (done,) = store.completed_keys("r1")
    assert isinstance(done, CallKey) and done == record.key and done.sample_id == "q1"
