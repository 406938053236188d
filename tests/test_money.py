"""Money: the budget is a hard limit, the estimate comes before any call, the cache never
serves one model's answers to another."""

from __future__ import annotations

import re
import sqlite3

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.run.budget import Budget
from evalkit.testing.scripted_server import Reply, ScriptedServer

ITEMS = 20


@pytest.fixture
def config(bench_config, items_file):
    """``config(server, models=("a",))``: ITEMS items at prices per 1M tokens chosen so that
    cents add up quickly."""

    def write(server, models=("a",), input_price=1000.0, output_price=1000.0):
        return bench_config(server, items_file(ITEMS), labels=models, price=(input_price, output_price),
                            max_concurrency=4, run={"max_tokens": 20})

    return write


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def test_budget_is_never_exceeded_and_the_run_stops_cleanly(tmp_path, config):
    # each call: 10 prompt + 5 completion tokens at $1000/1M = $0.015; worst case reserved
    # per call is the whole prompt and 20 answer tokens
    with ScriptedServer(Reply("ok", prompt_tokens=10, completion_tokens=5, ttft=0.02)) as server:
        db = tmp_path / "h.db"
        result = invoke("compare", "-c", str(config(server)), "--max-cost", "0.15",
                        "--store", str(db), "--results-dir", str(tmp_path / "r"), "-q")
        sent = len(server.chat_requests())
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as con:
        spent, stored = con.execute("select sum(cost_usd), count(*) from records").fetchone()
        status, = con.execute("select status from runs").fetchone()
    assert spent <= 0.15
    assert 0 < stored == sent < ITEMS
    assert status == "stopped: budget"
    assert "Stopped on the budget" in result.output and "--resume" in result.output


def test_budget_resume_with_more_money_finishes_the_rest(tmp_path, config):
    with ScriptedServer(Reply("ok", prompt_tokens=10, completion_tokens=5)) as server:
        db = tmp_path / "h.db"
        common = ["--store", str(db), "--results-dir", str(tmp_path / "r"), "-q"]
        invoke("compare", "-c", str(config(server)), "--max-cost", "0.1", *common)
        with sqlite3.connect(db) as con:
            (run_id,), = con.execute("select run_id from runs").fetchall()
        result = invoke("compare", "--resume", run_id, "--max-cost", "10", *common)
        assert result.exit_code == 0, result.output
        assert len(server.chat_requests()) == ITEMS  # nothing asked twice
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from records").fetchone() == (ITEMS,)


def test_budget_needs_known_prices(tmp_path, items_file):
    items = items_file(ITEMS)
    result = CliRunner().invoke(main, ["compare", "-m", "openai/no-such-price-model", "-s", str(items),
                                       "--max-cost", "1", "--store", str(tmp_path / "h.db")],
                                env={"OPENAI_API_KEY": "sk-" "test-000000000000000000000"})
    assert result.exit_code == 2 and "--max-cost needs every price" in result.output
    assert not (tmp_path / "h.db").exists()


def test_budget_reserves_worst_case_for_calls_in_flight():
    budget = Budget(limit=1.0)
    assert budget.try_reserve(0.4) and budget.try_reserve(0.4)
    assert not budget.try_reserve(0.4)  # 0.8 reserved: a third could exceed the limit
    budget.settle(0.4, 0.1)
    assert budget.spent == 0.1 and budget.reserved == 0.4
    assert not budget.try_reserve(0.1)  # once refused, the run stops: no piecemeal calls


def test_estimate_and_dry_run_send_nothing_and_need_no_key(tmp_path, config):
    with ScriptedServer(Reply("ok")) as server:
        est = invoke("estimate", "-c", str(config(server, models=("a", "b"))))
        dry = invoke("compare", "-c", str(config(server, models=("a", "b"))), "--dry-run",
                     "--store", str(tmp_path / "h.db"))
        sent = len(server.chat_requests())
    assert est.exit_code == 0 and dry.exit_code == 0
    assert sent == 0 and not (tmp_path / "h.db").exists()
    for output in (est.output, dry.output):
        assert "Estimate before any call: 20 items × 2 models" in output
        assert "All models" in output and "$" in output
    est_keys = invoke("estimate", "-m", "openai/gpt-4.1-mini", "-s", "arithmetic", "--limit", "5")
    assert est_keys.exit_code == 0 and "openai/gpt-4.1-mini" in est_keys.output


def test_cache_replays_answers_but_never_across_models(tmp_path, config):
    def answer(request):
        return Reply(f"answer of {request.body['model']}")

    with ScriptedServer(answer) as server:
        path = config(server, models=("a", "b"))
        db = tmp_path / "h.db"
        common = ["--store", str(db), "--results-dir", str(tmp_path / "r"), "-q", "--cache"]
        invoke("compare", "-c", str(path), *common)
        first = len(server.chat_requests())
        replay = invoke("compare", "-c", str(path), *common)
        second = len(server.chat_requests()) - first
    assert first == 2 * ITEMS and second == 0
    assert f"Cache: {2 * ITEMS} answers replayed" in replay.output
    with sqlite3.connect(db) as con:
        rows = con.execute("select model, response_text, from_cache from records").fetchall()
    assert all(text == f"answer of {model}" for model, text, _ in rows)
    assert sum(cached for _, _, cached in rows) == 2 * ITEMS


def test_cache_never_stores_errors(tmp_path, config):
    with ScriptedServer(Reply(status=500)) as server:
        path = config(server)
        common = ["--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "r"), "-q", "--cache",
                  "--retries", "0"]
        invoke("compare", "-c", str(path), *common)
        server.script = Reply("ok")
        invoke("compare", "-c", str(path), *common)
        assert len(server.chat_requests()) == 2 * ITEMS  # the errors were asked again


def test_a_plain_rerun_of_an_unfinished_config_offers_resume(tmp_path, config):
    with ScriptedServer(Reply("ok", prompt_tokens=10, completion_tokens=5)) as server:
        path = config(server)
        common = ["--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "r"), "-q"]
        invoke("compare", "-c", str(path), "--max-cost", "0.1", *common)
        again = invoke("compare", "-c", str(path), "--max-cost", "0.1", *common)
    assert "of this same config stopped (stopped: budget)" in again.output
    assert "evalkit compare --resume" in again.output


def test_a_budget_is_a_positive_amount(tmp_path, config):
    with ScriptedServer(Reply("ok")) as server:
        for cap in ("-1", "0", "nan"):
            result = invoke("compare", "-c", str(config(server)), "--max-cost", cap,
                            "--store", str(tmp_path / "h.db"), "-q")
            assert result.exit_code == 2 and result.output.startswith(f"error: --max-cost {cap}: "), result.output
        assert server.chat_requests() == []
    assert not (tmp_path / "h.db").exists()


def test_a_cap_below_one_calls_worst_case_is_refused_before_the_run(tmp_path, config):
    # the worst case of a call here is about 34 prompt tokens (with the tokenizer margin) and
    # max_tokens=20 of answer at $1000/1M: some $0.05; before, the run sent nothing, silently
    with ScriptedServer(Reply("ok", prompt_tokens=10, completion_tokens=5)) as server:
        result = invoke("compare", "-c", str(config(server)), "--max-cost", "0.01",
                        "--store", str(tmp_path / "h.db"), "-q")
        assert server.chat_requests() == []
    assert result.exit_code == 2
    assert result.output.startswith("error: --max-cost $0.01 cannot pay for one call of a, whose worst case "
                                    "(its whole prompt and max_tokens=20 of answer) is $0.0")
    assert "raise --max-cost to at least $0.0" in result.output
    assert not (tmp_path / "h.db").exists()


def test_the_budget_line_shows_the_cap_as_given(tmp_path, config):
    with ScriptedServer(Reply("ok", prompt_tokens=10, completion_tokens=5)) as server:
        result = invoke("compare", "-c", str(config(server)), "--max-cost", "0.155",
                        "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "r"), "-q")
    assert result.exit_code == 0, result.output
    assert re.search(r"Spent \$0\.\d+ of the \$0\.155 budget\.", result.output), result.output


def test_a_volume_is_checked_and_needs_a_report(tmp_path, config):
    with ScriptedServer(Reply("ok")) as server:
        path = config(server)
        bad = invoke("compare", "-c", str(path), "--volume", "lots", "--store", str(tmp_path / "h.db"))
        unused = invoke("compare", "-c", str(path), "--volume", "5000/day", "--store", str(tmp_path / "h.db"))
        assert server.chat_requests() == []
    assert bad.exit_code == 2 and bad.output.startswith("error: --volume 'lots': expected requests or tokens")
    assert unused.exit_code == 2 and "add --report html" in unused.output
    assert not (tmp_path / "h.db").exists()
