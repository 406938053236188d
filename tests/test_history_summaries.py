"""History from stored per-run summaries: the same figures as from the records, kept when a
run ends, computed and stored for runs that have none, recomputed when the run changes.

Runs go through `evalkit.compare` against the scripted loopback server; the reference is
history as it was computed before summaries existed: `summarize` over each run's records.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

import evalkit
from evalkit.analysis import run_summary
from evalkit.analysis.history import HISTORY_COLUMNS, history_frame
from evalkit.analysis.summary import summarize
from evalkit.economics.pricing import time_priced
from evalkit.store.database import Store
from evalkit.store.schema import records_table, run_summaries_table
from evalkit.testing.scripted_server import Reply

SUMS = {"2+2?": "4", "3*3?": "9", "10-7?": "3", "5+6?": "11"}
WORDS = {"one?": "1", "two?": "2", "three?": "3"}
WRONG = {"3*3?": "6", "5+6?": "12", "two?": "5"}


@pytest.fixture
def server(scripted_server):
    state = {"weak_fails": set()}

    def answer(request):
        model, prompt = request.body["model"], request.prompt
        if model == "weak" and prompt in state["weak_fails"]:
            return Reply(status=400)  # a failed call: counts in n, scores 0
        text = WRONG[prompt] if model == "weak" and prompt in WRONG else {**SUMS, **WORDS}[prompt]
        # the strong model's answers vary in length, so costs and latencies are not all alike
        return Reply(f"Answer: {text}", prompt_tokens=100 + len(prompt), completion_tokens=7 + len(text),
                     ttft=0.002 * len(prompt))

    started = scripted_server(answer)
    started.state = state
    return started


@pytest.fixture
def suites(tmp_path):
    paths = []
    for name, questions in (("sums", SUMS), ("words", WORDS)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": q, "reference": int(a), "scorer": "numeric"})
                                + "\n" for i, (q, a) in enumerate(questions.items())), encoding="utf-8")
        paths.append(str(path))
    return paths


@pytest.fixture
def compare(server, suites, any_store_url, tmp_path):
    models = [evalkit.ModelConfig(id="openai/strong", label="strong", api_base=server.base_url,
                                  price={"input": 1.0, "output": 2.0}),
              evalkit.ModelConfig(id="openai/weak", label="weak", api_base=server.base_url,
                                  price={"input": 0.1, "output": 0.2}),
              # no price: its costs are unknown (null in the summary, NaN in history)
              evalkit.ModelConfig(id="openai/no-such-price-model", label="unpriced", api_base=server.base_url)]

    def run(tag="nightly", **options):
        return evalkit.compare(models=models, suites=suites, store=any_store_url, results_dir=tmp_path / "r",
                               tag=tag, retries=0, **options)

    return run


def history_from_records(store: Store, **filters) -> pd.DataFrame:
    """History as computed before stored summaries: `summarize` over every run's records."""
    model, suite = filters.get("model"), filters.get("suite")
    rows = []
    for run in reversed(store.runs(filters.get("limit"), tag=filters.get("tag"))):
        records = store.records_frame(run.run_id, columns=run_summary.RECORD_COLUMNS)
        if model is not None:
            records = records[records["model"] == model]
        if suite is not None:
            records = records[records["suite"] == suite]
        if records.empty:
            continue
        summary = summarize(records, time_priced(run.price_snapshot))
        frames = [summary.by_model_suite] + ([] if suite else [summary.by_model.assign(suite="ALL")])
        rows += [f.assign(run_id=run.run_id, started_at=run.started_at, tag=run.tag, status=run.status)
                 for f in frames]
    return pd.concat(rows, ignore_index=True)[HISTORY_COLUMNS]


def stored(store: Store) -> dict[str, dict]:
    return store.run_summaries()


def test_history_from_summaries_equals_history_from_records(compare, server, any_store_url):
    first = compare()
    server.state["weak_fails"] = {"2+2?", "one?"}
    second = compare(tag="other")
    store = Store(any_store_url)
    # each run's summary was kept when it finished, by the evalkit that ran it
    summaries = stored(store)
    assert set(summaries) == {first.run_id, second.run_id}
    assert summaries[first.run_id]["format"] == run_summary.SUMMARY_FORMAT
    assert summaries[first.run_id]["evalkit_version"] == evalkit.__version__
    for filters in ({}, {"tag": "other"}, {"limit": 1}):
        pd.testing.assert_frame_equal(history_frame(store, **filters), history_from_records(store, **filters),
                                      check_exact=True)
    # Filtering the records first summed a model's costs in another order: the last bit
    # could differ (1e-17 of a dollar); a summary holds the figures of all the run's records.
    for filters in ({"model": "weak"}, {"suite": "words"}, {"model": "strong", "suite": "sums"}):
        pd.testing.assert_frame_equal(history_frame(store, **filters), history_from_records(store, **filters),
                                      check_exact=False, rtol=1e-12, atol=0)
    frame = history_frame(store).set_index(["run_id", "model", "suite"])
    weak = frame.loc[(second.run_id, "weak", "ALL")]
    assert weak["n"] == 7 and weak["accuracy"] == pytest.approx(2 / 7)  # two failed, three wrong
    # strong on sums: 4 calls at (100 + len(prompt)) in, 7 + len(answer) out, $1 / $2 per 1M tokens -> per 1k tasks
    prompts = sum(100 + len(q) for q in SUMS)
    completions = sum(7 + len(a) for a in SUMS.values())
    assert frame.loc[(first.run_id, "strong", "sums"), "cost_per_1k_tasks"] == pytest.approx(
        1000 * (prompts * 1e-6 + completions * 2e-6) / 4, abs=1e-12)
    assert frame.loc[(first.run_id, "unpriced", "ALL"), ["cost_per_1k_tasks"]].isna().all()


def test_history_reads_summaries_not_records(compare, any_store_url):
    first = compare()
    store = Store(any_store_url)
    before = history_frame(store)
    with store.engine.begin() as conn:  # records gone: only the summaries can answer
        conn.execute(sa.delete(records_table))
    pd.testing.assert_frame_equal(history_frame(store), before, check_exact=True)
    assert set(history_frame(store)["run_id"]) == {first.run_id}


def test_runs_stored_before_summaries_get_theirs_on_first_use(compare, any_store_url):
    runs = [compare().run_id, compare().run_id]
    store = Store(any_store_url)
    expected = history_from_records(store)
    with store.engine.begin() as conn:  # a store from before summaries: records only
        conn.execute(sa.delete(run_summaries_table))
    pd.testing.assert_frame_equal(history_frame(store, limit=1), history_from_records(store, limit=1),
                                  check_exact=True)
    assert set(stored(store)) == {runs[1]}  # only the runs history needed
    pd.testing.assert_frame_equal(history_frame(store), expected, check_exact=True)
    assert set(stored(store)) == set(runs)


def test_a_summary_of_another_format_or_run_state_is_recomputed(compare, any_store_url):
    run_id = compare().run_id
    store = Store(any_store_url)
    expected = history_frame(store)
    good = stored(store)[run_id]
    wrong = [dict(row, accuracy=0.0) for row in good["rows"]]
    for tampered in ({**good, "format": run_summary.SUMMARY_FORMAT - 1, "rows": wrong},
                     {**good, "state": {"status": "interrupted", "finished_at": 1.0}, "rows": wrong}):
        store.save_run_summary(run_id, "0.0.1", tampered)
        pd.testing.assert_frame_equal(history_frame(store), expected, check_exact=True)
        assert stored(store)[run_id]["rows"] == good["rows"]  # and stored again, current


def test_a_reopened_run_loses_its_summary_and_a_running_run_keeps_none(compare, any_store_url):
    run_id = compare().run_id
    store = Store(any_store_url)
    assert run_id in stored(store)
    store.reopen_run(run_id)  # what --resume does before it redoes the failed calls
    assert run_id not in stored(store)
    running = history_frame(store)  # figures from the records while it runs, nothing stored
    assert set(running["status"]) == {"running"} and run_id not in stored(store)
    store.finish_run(run_id, "finished")
    assert set(history_frame(store)["status"]) == {"finished"} and run_id in stored(store)


def test_a_sharded_run_is_summarised_once_its_last_shard_reports(compare, any_store_url):
    first = compare(shard="1/2", run_id="night-1")
    store = Store(any_store_url)
    assert not first.outcome.complete and stored(store) == {}
    partial = history_frame(store)
    second = compare(shard="2/2", run_id="night-1")
    assert second.outcome.complete and set(stored(store)) == {"night-1"}
    whole = history_frame(store)
    assert whole.query("suite == 'ALL'")["n"].sum() > partial.query("suite == 'ALL'")["n"].sum()
    pd.testing.assert_frame_equal(whole, history_from_records(store), check_exact=True)
