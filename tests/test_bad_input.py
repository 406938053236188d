"""A corpus of broken inputs: each gives one clear error naming the file, line and field,
exits 2 before any call, and leaves the stored history exactly as it was."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.testing.scripted_server import Reply, ScriptedServer

GOOD = '{"id": "a", "prompt": "2+2?", "reference": 4, "scorer": "numeric"}\n'

JSONL_CASES = {
    "malformed_json": (GOOD + '{"id": "b", "prompt": "x", "reference": }\n', ":2:", "JSON"),
    "invalid_utf8": (GOOD.encode() + b'{"id": "b", "prompt": "\xff\xfe", "reference": 1}\n', ":2:", "UTF-8"),
    "binary": (b"\x00\x01\x02\x03" * 100, ":1:", "binary"),
    "duplicate_id": (GOOD + GOOD, ":2:", "duplicate"),
    "missing_reference": (GOOD + '{"id": "b", "prompt": "x"}\n', ":2:", "reference"),
    "missing_prompt": (GOOD + '{"id": "b", "reference": 1}\n', ":2:", "prompt"),
    "wrong_type": (GOOD + '{"id": "b", "prompt": ["not", "text"], "reference": 1}\n', ":2:", "prompt"),
    "unknown_scorer": (GOOD + '{"id": "b", "prompt": "x", "reference": 1, "scorer": "numerc"}\n', ":2:", "numeric"),
    "empty": ("", "", "no samples"),
    "not_an_object": (GOOD + '[1, 2, 3]\n', ":2:", "object"),
}

YAML_CASES = {
    "unknown_key": ("models:\n  - id: openai/x\n    temprature: 0\n", "models[0].temprature", "unknown field"),
    "wrong_type": ("models:\n  - id: openai/x\n    max_concurrency: many\n", "models[0].max_concurrency", "integer"),
    "syntax": ("models:\n  - id: [unclosed\n", ":", "invalid YAML"),
    "not_a_mapping": ("- just\n- a list\n", "", "mapping"),
    "api_key_in_config": ("models:\n  - id: openai/x\n    api_key: sk-" "canary-123456789012345678901234\n",
                          "models[0].api_key", "unknown field"),
}


@pytest.fixture
def history(tmp_path):
    """A store holding one real run, to prove bad input leaves it untouched."""
    items = tmp_path / "ok.jsonl"
    items.write_text(GOOD, encoding="utf-8")
    store = tmp_path / "h.db"
    with ScriptedServer(Reply("Answer: 4")) as server:
        config = tmp_path / "ok.yaml"
        config.write_text(f"models:\n  - id: openai/x\n    api_base: {server.base_url}\n"
                          f"suites:\n  - name: ok\n    path: {items}\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["compare", "-c", str(config), "--store", str(store),
                                           "--results-dir", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    return store


def fingerprint(store):
    """The stored history's content (WAL checkpoints may rewrite the file's bytes)."""
    with sqlite3.connect(store) as db:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()


def run_bad(args, store):
    before = fingerprint(store)
    result = CliRunner().invoke(main, [*args, "--store", str(store)],
                                env={"OPENAI_API_KEY": "sk-" "test-00000000000000000000000"})
    assert fingerprint(store) == before, "the stored history changed"
    return result


@pytest.mark.parametrize("case", JSONL_CASES)
def test_broken_suite_file(tmp_path, history, case):
    content, where, what = JSONL_CASES[case]
    path = tmp_path / f"{case}.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run_bad(["compare", "-m", "openai/x", "-s", str(path)], history)
    assert result.exit_code == 2, result.output
    assert f"error: {path}{where}" in result.output
    assert what.lower() in result.output.lower()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", YAML_CASES)
def test_broken_config(tmp_path, history, case):
    content, where, what = YAML_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(content, encoding="utf-8")
    result = run_bad(["compare", "-c", str(path)], history)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}") and where in result.output and what in result.output
    if case == "syntax":
        assert re.match(rf"error: {re.escape(str(path))}:\d+:\d+: ", result.output)
    assert "sk-canary" not in result.output  # a key written into a config is never echoed


def test_csv_with_missing_column_and_bad_json_cell(tmp_path, history):
    path = tmp_path / "items.csv"
    path.write_text("id,prompt\na,hello\n", encoding="utf-8")
    result = run_bad(["compare", "-m", "openai/x", "-s", str(path)], history)
    assert result.exit_code == 2 and f"{path}:1:" in result.output and "reference" in result.output
    path.write_text('id,prompt,reference,scorer_options\na,hello,1,"{not json"\n', encoding="utf-8")
    result = run_bad(["compare", "-m", "openai/x", "-s", str(path)], history)
    assert result.exit_code == 2 and f"{path}:2:" in result.output and "scorer_options" in result.output


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    result = CliRunner().invoke(main, ["estimate", "-m", "openai/gpt-4.1-mini", "-s", str(path)])
    assert result.exit_code == 0, result.output


def test_huge_file_reports_the_right_line(tmp_path, history):
    lines = [json.dumps({"id": f"i{i}", "prompt": f"q {i}", "reference": i}) for i in range(200_000)]
    lines[150_000] = '{"id": "broken"'
    path = tmp_path / "huge.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_bad(["compare", "-m", "openai/x", "-s", str(path)], history)
    assert result.exit_code == 2 and f"{path}:150001:" in result.output


@pytest.mark.parametrize(
    "args, what",
    [
        (["-m", "nonexistent-model-xyz", "-s", "arithmetic"], "unknown model id"),
        (["-m", "openai/x", "-s", "arithmatic"], "did you mean 'arithmetic'"),
        (["-m", "openai/x", "-s", "arithmetic", "--limit", "0"], "--limit 0: "),
    ],
)
def test_unknown_names_and_bad_flags(history, args, what):
    result = run_bad(["compare", *args], history)
    assert result.exit_code == 2 and what in result.output


CONFIG_FIELD_CASES = {
    # the file's text (MISSING is replaced by a path that does not exist), where, what
    "missing_suite_file": ("models:\n  - id: openai/x\nsuites:\n  - name: mine\n    path: MISSING\n",
                           ":5: suites[0].path: ", "not found"),
    "unknown_suite": ("models:\n  - id: openai/x\nsuites:\n  - name: arithmetic\n  - name: arithmatic\n",
                      ":5: suites[1].name: ", "did you mean 'arithmetic'"),
    "unknown_model_id": ("suites:\n  - name: arithmetic\nmodels:\n  - id: openai/x\n  - id: no-such-model-xyz\n",
                         ":5: models[1].id: ", "unknown model id"),
    "missing_key": ("models:\n  - id: openai/x\n    api_key_env: EVALKIT_NO_SUCH_KEY\n",
                    ":3: models[0].api_key_env: ", "EVALKIT_NO_SUCH_KEY"),
    "empty_models": ("models: []\nsuites:\n  - name: arithmetic\n", ":1: models: ", "the list is empty"),
}


@pytest.mark.parametrize("case", CONFIG_FIELD_CASES)
def test_later_checks_name_the_config_file_line_and_field(tmp_path, history, case):
    text, where, what = CONFIG_FIELD_CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text.replace("MISSING", str(tmp_path / "gone.jsonl")), encoding="utf-8")
    result = run_bad(["compare", "-c", str(path)], history)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}{where}") and what in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_flag_is_blamed_on_the_flag_not_the_config_file(tmp_path, history):
    path = tmp_path / "good.yaml"
    path.write_text("models:\n  - id: openai/x\nsuites:\n  - name: arithmetic\nrun:\n  limit: 5\n", encoding="utf-8")
    result = run_bad(["compare", "-c", str(path), "--limit", "-5"], history)
    assert result.exit_code == 2
    assert result.output == "error: --limit -5: Input should be greater than or equal to 1\n"
