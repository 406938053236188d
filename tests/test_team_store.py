"""The store a team shares: schema 2 migration, PostgreSQL through the same code, and three
shard processes writing one run into one PostgreSQL database.

The PostgreSQL tests need a server: `.ci/run` installs and starts one and sets
EVALKIT_TEST_POSTGRES_URL (a role that may create databases); each test gets a fresh
database of its own (`postgres_url` in tests/conftest.py). Without the variable they are
skipped, saying so.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import sqlalchemy as sa

from evalkit.store import SCHEMA_VERSION, CallRecord, RecordWriter, Store, store_url
from evalkit.testing.scripted_server import Reply, ScriptedServer

CONFIG = {"models": [{"id": "openai/m", "label": None}], "suites": [{"name": "s"}]}


def test_postgresql_urls_use_psycopg3_and_hide_the_password():
    assert store_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert store_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert store_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"


def test_schema_1_store_migrates_to_2_keeping_its_runs(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # what evalkit 0.1 with schema 1 wrote
        db.executescript("""
            CREATE TABLE evalkit_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO evalkit_meta VALUES ('schema_version', '1');
            CREATE TABLE runs (run_id VARCHAR(64) PRIMARY KEY, started_at FLOAT NOT NULL,
                finished_at FLOAT, status VARCHAR(16) NOT NULL, config_json TEXT NOT NULL,
                config_hash VARCHAR(64) NOT NULL, evalkit_version VARCHAR(32) NOT NULL,
                price_snapshot_json TEXT NOT NULL, models TEXT NOT NULL, suites TEXT NOT NULL);
            INSERT INTO runs VALUES ('old-run', 1.0, 2.0, 'finished', '{}', 'h', '0.1.0', '{}', '["m"]', '["s"]');
        """)
    store = Store(str(path))
    run = store.run("old-run")
    assert run.tag is None and run.shard_count is None and run.status == "finished"
    with sqlite3.connect(path) as db:
        assert db.execute("select value from evalkit_meta").fetchone() == (str(SCHEMA_VERSION),)
        assert db.execute("select count(*) from run_shards").fetchone() == (0,)


def test_postgres_store_round_trip_and_tags(postgres_url):
    store = Store(postgres_url)
    assert "***" in store.url and "evalkit:evalkit@" not in store.url
    store.start_run("r1", CONFIG, "h", "0", {}, tag="nightly")
    store.finish_run("r1", "finished")
    store.start_run("r2", CONFIG, "h", "0", {}, tag="adhoc")
    writer = RecordWriter(store)
    for i in range(3):
        writer.put(CallRecord(run_id="r1", model="m", model_id="openai/m", suite="s", sample_id=f"x{i}",
                              request_hash="h", score=i / 2, e2e_s=0.5, cost_usd=None, epoch=i))
    writer.close()
    frame = store.records_frame("r1")
    assert list(frame["score"]) == [0.0, 0.5, 1.0] and frame["cost_usd"].isna().all()
    assert store.run("last:nightly").run_id == "r1"
    assert store.run("last").run_id == "r2"
    assert Store(postgres_url).run("r1").tag == "nightly"  # reopening migrates nothing twice


def test_three_shard_processes_write_one_complete_run(postgres_url, tmp_path):
    items = tmp_path / "items.jsonl"
    n_items = 45
    items.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"{i}+1?", "reference": i + 1,
                                         "scorer": "numeric"}) + "\n" for i in range(n_items)))

    def answer(request):
        return Reply(f"Answer: {int(request.prompt.split('+')[0]) + 1}", ttft=0.01,
                     prompt_tokens=20, completion_tokens=5)

    with ScriptedServer(answer) as server:
        config = tmp_path / "bench.yaml"
        config.write_text(f"""
models:
  - {{id: openai/a, label: a, api_base: {server.base_url}, price: {{input: 1, output: 2}}}}
  - {{id: openai/b, label: b, api_base: {server.base_url}, price: {{input: 1, output: 2}}}}
suites:
  - {{name: items, path: {items}}}
run: {{epochs: 2}}
""")
        shards = [
            subprocess.Popen(
                [sys.executable, "-m", "evalkit", "compare", "-c", str(config), "--shard", f"{i}/3",
                 "--run-id", "team-night", "--tag", "nightly", "--store", postgres_url,
                 "--results-dir", str(tmp_path / f"results-{i}"), "-q"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for i in (1, 2, 3)
        ]
        outputs = [shard.communicate(timeout=240)[0] for shard in shards]
    for shard, output in zip(shards, outputs):
        assert shard.returncode == 0, output

    engine = sa.create_engine(store_url(postgres_url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select model, sample_id, epoch, score from records "
                                    "where run_id = 'team-night'")).all()
        status = conn.execute(sa.text("select status, shard_count, tag from runs")).all()
        shard_rows = conn.execute(sa.text("select shard, status from run_shards order by shard")).all()
    engine.dispose()
    keys = [(m, s, e) for m, s, e, _ in rows]
    expected = {(m, f"q{i}", e) for m in "ab" for i in range(n_items) for e in (0, 1)}
    assert len(keys) == len(set(keys)), "a record was written twice"
    assert set(keys) == expected, f"missing: {sorted(expected - set(keys))[:5]}"
    assert all(score == 1.0 for *_, score in rows)
    assert status == [("finished", 3, "nightly")]
    assert shard_rows == [(1, "finished"), (2, "finished"), (3, "finished")]
    # exactly one shard saw the run complete
    assert sum("shards have reported" not in out for out in outputs) == 1
