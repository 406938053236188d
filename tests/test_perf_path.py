"""The fast path's routing, and the runner's own event-loop lag stored with each record."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from evalkit import transport
from evalkit.config import routes
from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.store import SCHEMA_VERSION, Store
from evalkit.store.records import CallRecord
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer

PRICE = ModelPrice(model="m", model_id="openai/scripted", input=1e-6, output=2e-6, source="test")


def test_the_route_is_the_providers_whatever_the_api_base(monkeypatch):
    monkeypatch.delenv(routes.TRANSPORT_ENV, raising=False)
    for model_id in ("openai/scripted", "hosted_vllm/qwen", "openai/gpt-4o-mini", "deepseek/deepseek-chat",
                     "dashscope/qwen-plus", "moonshot/kimi-k2.6", "zai/glm-4.6", "openrouter/qwen/qwen3-8b"):
        assert transport.uses_fast_path(model_id), model_id
    for model_id in ("anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash", "bedrock/x", "lambda_ai/x"):
        assert not transport.uses_fast_path(model_id), model_id
    monkeypatch.setenv(routes.TRANSPORT_ENV, "litellm")
    assert not transport.uses_fast_path("openai/scripted")


def _run(server, blocker_s: float) -> CallRecord:
    sample = Sample(id="q", suite="s", messages=({"role": "user", "content": "q"},), reference=5, scorer="numeric")
    target = Target(label="m", model_id="openai/scripted", config_id="openai/scripted", price=PRICE,
                    params={"max_tokens": 16}, api_base=server.base_url, api_key="k")
    records = []
    runner = Runner("r", 5.0, RetryPolicy(retries=0), records.append)

    async def block_the_loop():
        await asyncio.sleep(0.1)
        time.sleep(blocker_s)  # a CPU-bound stretch on the client while the call is in flight

    async def main():
        await asyncio.gather(runner.run([Job(target, sample)]), block_the_loop())

    asyncio.run(main())
    return records[0]


def test_each_record_carries_the_loop_lag_while_it_was_in_flight():
    with ScriptedServer(Reply("Answer: 5", ttft=0.4)) as server:
        _run(server, 0.0)  # the first call in a process pays lazy imports inside the loop
        calm = _run(server, 0.0)
        busy = _run(server, 0.15)
    assert calm.error_class is None and calm.loop_lag_ms is not None and calm.loop_lag_ms < 100
    assert busy.loop_lag_ms is not None and busy.loop_lag_ms >= 100


def test_the_loop_lag_migration_adds_the_column_to_an_older_store(tmp_path):
    # Written against the store just before the loop-lag migration (schema 4; migrations are
    # append-only, so the number holds), whatever migrations come after it.
    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}")
    lag_step = 4
    with sqlite3.connect(path) as db:  # make it look like the store before the lag column
        db.execute("ALTER TABLE records DROP COLUMN loop_lag_ms")
        db.execute(f"UPDATE evalkit_meta SET value='{lag_step - 1}' WHERE key='schema_version'")
    store = Store(f"sqlite:///{path}")
    store.add_record(CallRecord(run_id="r", model="m", model_id="x", suite="s", sample_id="q",
                                request_hash="h", loop_lag_ms=12.5))
    frame = store.records_frame("r")
    assert list(frame["loop_lag_ms"]) == [12.5]
    with sqlite3.connect(path) as db:
        version = db.execute("SELECT value FROM evalkit_meta WHERE key='schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)


def test_latency_taken_under_client_lag_is_marked_in_the_scorecard():
    import pandas as pd

    from evalkit.analysis import summarize
    from evalkit.report.tables import scorecard_rows

    rows = [dict(run_id="r", model="m", model_id="x", suite="s", sample_id=f"q{i}", request_hash="h",
                 score=1.0, ttft_s=0.2, e2e_s=0.5, loop_lag_ms=lag) for i, lag in enumerate([1.0, 2.0, 50.0, None])]
    summary = summarize(pd.DataFrame(rows))
    assert int(summary.by_model["lagged_n"].iloc[0]) == 1
    assert "client lagged on 25%" in scorecard_rows(summary.by_model)[0][3]
