"""LLM-as-judge: the judge scorer inside a compare run, pairwise order swapping, judge-check."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.scoring.judge import cohen_kappa, parse_score, parse_winner
from evalkit.testing.scripted_server import Reply

KEY = "sk-" "judge-test-0123456789abcdef"


def judge_reply_for(prompt: str) -> str:
    """A scripted judge: 5 for an answer naming Paris or 巴黎, 1 otherwise; in pairwise
    mode it always prefers whatever stands in position A (a biased judge)."""
    if "[Answer A]" in prompt:
        return "A looks better.\nWinner: A"
    graded = prompt.split("[Answer to grade]", 1)[1]
    return "Correct.\nScore: 5" if ("Paris" in graded or "巴黎" in graded) else "Wrong city.\nScore: 1"


@pytest.fixture
def server(scripted_server):
    def answer(request):
        if request.body["model"] == "judge":
            return Reply(judge_reply_for(request.prompt), prompt_tokens=200, completion_tokens=20)
        replies = {"Capital of France?": "Paris", "法国的首都是哪里？": "巴黎", "Capital of Italy?": "Milan"}
        return Reply(replies.get(request.prompt, "Paris is lovely"), prompt_tokens=10, completion_tokens=5)

    return scripted_server(answer, api_key=KEY)


def write_suite(tmp_path, server):
    judge = {"judge_model": "openai/judge", "api_base": server.base_url, "api_key_env": "EVALKIT_TEST_KEY",
             "rubric": "The answer names the right city.", "price": {"input": 3.0, "output": 15.0}}
    rows = [
        {"id": "fr", "prompt": "Capital of France?", "reference": "Paris", "scorer": "judge", "scorer_options": judge},
        {"id": "zh", "prompt": "法国的首都是哪里？", "reference": "巴黎", "scorer": "judge",
         "scorer_options": {**judge, "rubric": "答案必须说出正确的城市。"}},
        {"id": "it", "prompt": "Capital of Italy?", "reference": "Rome", "scorer": "judge", "scorer_options": judge},
        {"id": "pair", "prompt": "Describe Paris.", "reference": "A city.", "scorer": "judge",
         "scorer_options": {**judge, "mode": "pairwise"}},
    ]
    path = tmp_path / "open.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    config = tmp_path / "bench.yaml"
    config.write_text(
        f"""
models:
  - id: openai/tested
    label: tested
    api_base: {server.base_url}
    api_key_env: EVALKIT_TEST_KEY
    price: {{input: 1.0, output: 2.0}}
suites:
  - name: open
    path: {path.name}
""",
        encoding="utf-8",
    )
    return config


def test_judge_scores_inline_and_counts_its_cost_apart(tmp_path, server, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    store = tmp_path / "h.db"
    result = CliRunner().invoke(main, ["compare", "-c", str(write_suite(tmp_path, server)), "--store", str(store),
                                       "--results-dir", str(tmp_path / "results"), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(store) as db:
        db.row_factory = sqlite3.Row
        rows = {r["sample_id"]: r for r in db.execute("select * from records")}
    assert rows["fr"]["score"] == 1.0 and rows["zh"]["score"] == 1.0 and rows["it"]["score"] == 0.0
    assert rows["zh"]["judge_rubric"] == "答案必须说出正确的城市。"
    assert "Score: 5" in rows["zh"]["judge_verdict"]
    assert rows["it"]["extracted"] == "1/5" and rows["it"]["judge_model"] == "openai/judge"
    # the tested model pays for its own 10 + 5 tokens only; the judge's 200 + 20 are apart
    assert rows["fr"]["cost_usd"] == pytest.approx(10e-6 + 5 * 2e-6)
    assert rows["fr"]["prompt_tokens"] == 10
    assert rows["fr"]["judge_prompt_tokens"] == 200 and rows["fr"]["judge_completion_tokens"] == 20
    assert rows["fr"]["judge_cost_usd"] == pytest.approx(200 * 3e-6 + 20 * 15e-6)
    # a judge that always picks position A is caught by asking in both orders: a draw
    pair = rows["pair"]
    assert pair["score"] == 0.5 and pair["extracted"] == "A/A"
    assert pair["judge_prompt_tokens"] == 400 and len(json.loads(pair["judge_verdict"])) == 2


def test_a_judge_whose_key_variable_is_unset_names_it_instead_of_sending_no_key(tmp_path, server, monkeypatch):
    """The judge's key goes through the same lookup as every model's: an unset variable is
    an error of the item naming the variable, not a call sent without a key."""
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    config = write_suite(tmp_path, server)
    suite = tmp_path / "open.jsonl"
    text = suite.read_text(encoding="utf-8")
    suite.write_text(text.replace('"api_key_env": "EVALKIT_TEST_KEY"', '"api_key_env": "EVALKIT_JUDGE_KEY_UNSET"'),
                     encoding="utf-8")
    monkeypatch.delenv("EVALKIT_JUDGE_KEY_UNSET", raising=False)
    store = tmp_path / "h.db"
    CliRunner().invoke(main, ["compare", "-c", str(config), "--store", str(store),
                              "--results-dir", str(tmp_path / "results"), "-q"], catch_exceptions=False)
    with sqlite3.connect(store) as db:
        errors = db.execute("select error_class, error_message from records").fetchall()
    assert errors and all(cls == "judge" and "EVALKIT_JUDGE_KEY_UNSET" in message for cls, message in errors)
    judged = [r for r in server.requests if r.body["model"] == "judge"]
    assert not judged, "a judge call went out without its key"


def test_judge_check_reports_cohens_kappa(tmp_path, server, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    labels = tmp_path / "labels.jsonl"
    rows = [
        {"prompt": "Capital of France?", "response": "Paris", "label": 5},
        {"prompt": "法国的首都是哪里？", "response": "巴黎", "label": 5},
        {"prompt": "Capital of Italy?", "response": "Milan", "label": 1},
        {"prompt": "Capital of Spain?", "response": "Madrid", "label": 5},  # the judge says 1
    ]
    labels.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = CliRunner().invoke(main, ["judge-check", str(labels), "--judge-model", "openai/judge",
                                       "--api-base", server.base_url, "--api-key-env", "EVALKIT_TEST_KEY"])
    assert result.exit_code == 0, result.output
    # human 5,5,1,5 vs judge 5,5,1,1: po = .75, pe = .75*.5 + .25*.5 = .5, kappa = .5
    assert "agreement: 75.0%" in result.output and "Cohen's kappa: 0.500" in result.output
    assert "4: human 5, judge 1  <- differs" in result.output


def test_judge_check_names_a_bad_label_line(tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"prompt": "q", "response": "r", "label": 9}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["judge-check", str(labels), "--judge-model", "openai/judge"])
    assert result.exit_code == 2 and "labels.jsonl:1: field 'label' must be an integer from 1 to 5" in result.output


def test_parsers_and_kappa():
    assert parse_score("reasoning...\nScore: 4", 5) == 4
    assert parse_score("评分：3", 5) == 3
    assert parse_score("Score: 9", 5) is None
    assert parse_winner("Winner: B") == "B" and parse_winner("胜者：平局") == "tie"
    assert cohen_kappa([1, 2, 1, 2], [1, 2, 1, 2]) == 1.0
    assert cohen_kappa([1, 1], [1, 1]) is None


def test_schema_2_store_gains_the_judge_columns(tmp_path):
    from evalkit.store import SCHEMA_VERSION, Store

    path = tmp_path / "old.db"
    Store(str(path)).engine.dispose()
    judge_columns = ["judge_model", "judge_rubric", "judge_verdict", "judge_prompt_tokens",
                     "judge_completion_tokens", "judge_cost_usd"]
    with sqlite3.connect(path) as db:  # make it a schema-2 store
        for column in judge_columns:
            db.execute(f"alter table records drop column {column}")
        db.execute("update evalkit_meta set value='2' where key='schema_version'")
    Store(str(path)).engine.dispose()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("pragma table_info(records)")}
        version = db.execute("select value from evalkit_meta where key='schema_version'").fetchone()[0]
    assert set(judge_columns) <= columns and version == str(SCHEMA_VERSION)
