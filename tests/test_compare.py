"""The rules of the compare use case, through the library: a Python caller is refused
exactly as `evalkit compare` is, before anything is sent or written.

Each rule is tested at `evalkit.compare` (what a notebook calls) and, where a caller could
skip the checks by building a plan itself, at `evalkit.run.compare.execute` too.
"""

from __future__ import annotations

import os

import pytest

import evalkit
from evalkit.config.lineup import DEFAULT_LOCAL_VARIANTS
from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig
from evalkit.run.compare import CompareOptions, execute
from evalkit.run.prepare import prepare
from evalkit.run.selection import LOCAL_DEMO, select
from evalkit.run.shards import Shard
from evalkit.store.database import Store
from evalkit.testing.scripted_server import Reply

ITEMS = 6


@pytest.fixture
def server(scripted_server):
    return scripted_server(Reply("ok", prompt_tokens=10, completion_tokens=5))


@pytest.fixture
def suite(items_file):
    return SuiteConfig(name="items", path=str(items_file(ITEMS)))


def priced(server, label="m", price=(1000.0, 1000.0)) -> ModelConfig:
    """A model on the scripted server, at prices per 1M tokens that make cents add up fast."""
    return ModelConfig(id=f"openai/{label}", label=label, api_base=server.base_url,
                       price={"input": price[0], "output": price[1]})


def unpriced(server) -> ModelConfig:
    return ModelConfig(id="openai/no-such-price-model", label="unpriced", api_base=server.base_url)


def test_a_budget_with_an_unknown_price_is_refused_and_nothing_is_sent(server, suite, store_path):
    with pytest.raises(evalkit.UsageError, match="--max-cost needs every price; unknown for unpriced"):
        evalkit.compare(models=[unpriced(server)], suites=[suite], max_cost=1.0, store=str(store_path))
    # a plan built by hand is refused by execute itself, before the run is opened
    plan = prepare(RunConfig(models=[unpriced(server)], suites=[suite]))
    with pytest.raises(evalkit.UsageError, match="--max-cost needs every price"):
        execute(plan, Store(str(store_path)), options=CompareOptions(max_cost=1.0))
    assert server.chat_requests() == []
    assert Store(str(store_path)).runs() == []


@pytest.mark.parametrize("cap", [0.0, -1.0, float("nan"), float("inf")])
def test_a_budget_is_a_positive_amount(server, suite, store_path, cap):
    with pytest.raises(evalkit.UsageError, match="give the budget in US dollars, above 0"):
        evalkit.compare(models=[priced(server)], suites=[suite], max_cost=cap, store=str(store_path))
    assert server.chat_requests() == [] and not store_path.exists()


def test_a_budget_below_one_calls_worst_case_is_refused_by_execute_too(server, suite, store_path):
    plan = prepare(RunConfig(models=[priced(server)], suites=[suite], run={"max_tokens": 20}))
    with pytest.raises(evalkit.UsageError, match="cannot pay for one call of m, whose worst case"):
        execute(plan, Store(str(store_path)), options=CompareOptions(max_cost=0.001))
    assert server.chat_requests() == []


def test_a_shard_needs_a_run_id_and_cannot_resume(server, suite, store_path):
    with pytest.raises(evalkit.UsageError, match="--shard needs --run-id"):
        evalkit.compare(models=[priced(server)], suites=[suite], shard="1/2", store=str(store_path))
    with pytest.raises(evalkit.UsageError, match="--shard and --resume cannot be combined"):
        evalkit.compare(models=[priced(server)], suites=[suite], shard="1/2", run_id="night", resume="last",
                        store=str(store_path))
    sharded = prepare(RunConfig(models=[priced(server)], suites=[suite]), shard=Shard(1, 2))
    with pytest.raises(evalkit.UsageError, match="--shard needs --run-id"):
        execute(sharded, Store(str(store_path)))
    assert server.chat_requests() == []


def test_a_resume_without_a_config_runs_the_stored_one_and_a_changed_one_is_refused(
        server, suite, store_path, tmp_path):
    stopped = evalkit.compare(models=[priced(server)], suites=[suite], max_cost=0.1, max_tokens=20,
                              store=str(store_path), results_dir=tmp_path / "results")
    assert stopped.outcome.status == "stopped: budget" and 0 < stopped.outcome.records < ITEMS
    # no config, model or suite: the config stored with the run, and its calls done stay done
    resumed = evalkit.compare(resume=stopped.run_id, max_cost=10.0, store=str(store_path),
                              results_dir=tmp_path / "results")
    assert resumed.run_id == stopped.run_id and resumed.outcome.status == "finished"
    assert resumed.outcome.already_done == stopped.outcome.records
    assert len(server.chat_requests()) == ITEMS
    # a config given with the resume must make the same requests
    warmer = priced(server).model_copy(update={"params": {"top_p": 0.5}})
    with pytest.raises(evalkit.UsageError, match=f"cannot resume {stopped.run_id}: the config changed "
                                                 r"\(model m: top_p None → 0.5\)"):
        evalkit.compare(models=[warmer], suites=[suite], max_tokens=20, resume=stopped.run_id,
                        store=str(store_path))
    changed = prepare(RunConfig(models=[warmer], suites=[suite]))
    history = Store(str(store_path))
    with pytest.raises(evalkit.UsageError, match="the config changed"):
        execute(changed, history, options=CompareOptions(resume=history.run(stopped.run_id)))
    assert len(server.chat_requests()) == ITEMS


def test_a_rerun_of_an_interrupted_config_may_continue_it(server, suite, store_path, tmp_path):
    arguments = {"models": [priced(server)], "suites": [suite], "max_cost": 0.1, "max_tokens": 20,
                 "store": str(store_path), "results_dir": tmp_path / "results"}
    stopped = evalkit.compare(**arguments)
    questions, notices = [], []
    declined = evalkit.compare(**arguments, on_notice=notices.append)
    assert declined.run_id != stopped.run_id
    assert any(f"Run {stopped.run_id} of this same config stopped (stopped: budget)" in line
               and f"evalkit compare --resume {stopped.run_id}" in line for line in notices)
    prepared = evalkit.prepare_comparison(**{**arguments, "max_cost": 10.0})
    accepted = evalkit.run_comparison(prepared, ask_resume=lambda question: questions.append(question) or True)
    assert questions and questions[0].endswith("Resume it?")
    # the latest unfinished run of the config is the one continued
    assert accepted.run_id == declined.run_id and accepted.options.resume.run_id == declined.run_id
    assert accepted.outcome.status == "finished" and accepted.outcome.already_done == declined.outcome.records


@pytest.fixture
def no_keys(monkeypatch):
    for name in list(os.environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)


def test_nothing_named_and_no_key_is_the_offline_demo(no_keys):
    demo = select()
    assert [m.id for m in demo.config.models] == [f"local/{v}" for v in DEFAULT_LOCAL_VARIANTS]
    assert demo.config.run.limit == LOCAL_DEMO["limit"] and demo.config.run.max_tokens == LOCAL_DEMO["max_tokens"]
    assert len(demo.notices) == 1 and demo.notices[0].startswith("No provider API key set (OPENAI_API_KEY")
    assert select(limit=5).config.run.limit == 5  # an option given wins over the demo's


def test_a_config_without_models_gets_the_lineup_but_keeps_its_own_options(no_keys, tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text("suites:\n  - name: arithmetic\nrun: {max_tokens: 300}\n", encoding="utf-8")
    chosen = select(config)
    assert [m.id for m in chosen.config.models] == [f"local/{v}" for v in DEFAULT_LOCAL_VARIANTS]
    assert chosen.config.run.limit is None and chosen.config.run.max_tokens == 300
    assert chosen.notices  # still told that no key is set


def test_models_and_suites_given_as_objects_or_names_replace_the_configs(tmp_path, suite):
    config = tmp_path / "bench.yaml"
    config.write_text("models:\n  - id: openai/gpt-4.1-mini\nsuites:\n  - name: arithmetic\n", encoding="utf-8")
    chosen = select(config, models=["deepseek/deepseek-chat", ModelConfig(id="openai/gpt-4o", label="four")],
                    suites=[suite, "classification"], limit=4)
    assert [m.display for m in chosen.config.models] == ["deepseek/deepseek-chat", "four"]
    assert [s.name for s in chosen.config.suites] == ["items", "classification"]
    assert chosen.config.run.limit == 4 and chosen.notices == []
