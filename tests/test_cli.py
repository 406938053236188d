"""`evalkit compare`, `runs` and `show` at the CLI seam, against the scripted loopback server.

The numbers in the table must trace back to the stored per-call records, bad input must
exit 2 before any call with nothing written, and no key may reach a file.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.testing.scripted_server import Reply

SECRET = "sk-" "test-0123456789abcdefghijklmnop"


@pytest.fixture
def suite_file(tmp_path):
    path = tmp_path / "math.jsonl"
    rows = [
        {"id": "a", "prompt": "2+2?", "reference": 4, "scorer": "numeric"},
        {"id": "b", "prompt": "3*3?", "reference": 9, "scorer": "numeric"},
        {"id": "c", "prompt": "10-7?", "reference": 3, "scorer": "numeric"},
        {"id": "d", "prompt": "Capital of France?", "reference": "Paris", "scorer": "exact"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def server(scripted_server):
    # "strong" answers all four right, "weak" two of four; tokens are fixed per reply.
    def answer(request):
        strong = request.body["model"] == "strong"
        right = {"2+2?": "4", "3*3?": "9", "10-7?": "3", "Capital of France?": "Paris"}[request.prompt]
        wrong = {"2+2?": "4", "3*3?": "6", "10-7?": "3", "Capital of France?": "Lyon"}[request.prompt]
        return Reply(f"Answer: {right if strong else wrong}", ttft=0.01, prompt_tokens=100, completion_tokens=10)

    return scripted_server(answer, api_key=SECRET)


def config_file(tmp_path, server, suite_file):
    path = tmp_path / "bench.yaml"
    path.write_text(
        f"""
models:
  - id: openai/strong
    label: strong
    api_base: {server.base_url}
    api_key_env: EVALKIT_TEST_KEY
    price: {{input: 1.0, output: 2.0}}
  - id: openai/weak
    label: weak
    api_base: {server.base_url}
    api_key_env: EVALKIT_TEST_KEY
    price: {{input: 0.1, output: 0.2}}
suites:
  - name: math
    path: {suite_file.name}
""",
        encoding="utf-8",
    )
    return path


def invoke(*args):
    # a wide terminal, so table cells are not wrapped
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def test_compare_end_to_end_traces_to_records(tmp_path, server, suite_file, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)
    store = tmp_path / "history.db"
    result = invoke("compare", "-c", str(config_file(tmp_path, server, suite_file)),
                    "--store", str(store), "--results-dir", str(tmp_path / "results"), "-q")
    assert result.exit_code == 0, result.output
    assert "good: strong" in result.output

    with sqlite3.connect(store) as db:
        (run_id, status, config_json), = db.execute("select run_id, status, config_json from runs")
        rows = db.execute("select model, score, prompt_tokens, completion_tokens, cost_usd from records").fetchall()
    assert status == "finished"
    assert len(rows) == 8
    strong = [r for r in rows if r[0] == "strong"]
    weak = [r for r in rows if r[0] == "weak"]
    assert sum(r[1] for r in strong) == 4 and sum(r[1] for r in weak) == 2
    assert all(r[4] == pytest.approx(100 * 1e-6 + 10 * 2e-6) for r in strong)

    run_dir = tmp_path / "results" / run_id
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert len(records) == 8
    summary = (run_dir / "summary.csv").read_text()
    assert "strong,ALL,4,1.0," in summary and "weak,ALL,4,0.5," in summary
    report = (run_dir / "report.md").read_text()
    assert "## Verdict" in report and "strong" in report
    # $ per 1k tasks for strong: 1000 * 4 calls * $0.00012 / 4 tasks = $0.12
    assert "$0.12" in result.output

    # the key never reaches a file, and the config records only the variable's name
    assert SECRET not in store.read_bytes().decode("latin-1")
    assert all(SECRET not in p.read_text() for p in run_dir.iterdir())
    assert "EVALKIT_TEST_KEY" in config_json


def test_runs_and_show_read_the_history(tmp_path, server, suite_file, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)
    store = str(tmp_path / "history.db")
    invoke("compare", "-c", str(config_file(tmp_path, server, suite_file)), "--store", store,
           "--results-dir", str(tmp_path / "results"), "-q")
    listing = invoke("runs", "--store", store)
    assert listing.exit_code == 0 and "finished" in listing.output and "strong, weak" in listing.output
    shown = invoke("show", "last", "--store", store, "--by-suite")
    assert shown.exit_code == 0 and "good: strong" in shown.output and "By suite" in shown.output


def test_wrong_key_stops_model_and_a_run_with_no_answer_has_no_verdict(tmp_path, server, suite_file, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", "sk-" "wrong-key-0000000000000000")
    store = tmp_path / "history.db"
    result = invoke("compare", "-c", str(config_file(tmp_path, server, suite_file)), "--report", "html",
                    "--store", str(store), "--results-dir", str(tmp_path / "results"), "-q")
    assert result.exit_code == 3, result.output
    refused = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(refused) == 2  # one per model, not one per item
    with sqlite3.connect(store) as db:
        classes = sorted({row[0] for row in db.execute("select error_class from records")})
        (status,), = db.execute("select status from runs").fetchall()
    assert classes == ["auth", "skipped"]
    assert status == "failed"  # never a baseline for last:TAG
    assert "no verdict — no model had a successful call" in result.output
    assert "strong: 4 of 4 calls failed (auth 1, skipped 3)" in result.output
    assert not any(line.startswith(("good:", "fast:", "cheap:", "best value:", "frontier"))
                   for line in result.output.splitlines())
    assert "compare --resume" in result.output and not list((tmp_path / "results").rglob("report.html"))
    shown = invoke("show", "last", "--store", str(store))
    assert shown.exit_code == 3 and "no verdict — no model had a successful call" in shown.output


def test_a_model_whose_every_call_failed_is_never_picked(tmp_path, server, suite_file, monkeypatch):
    # weak is cheaper, and at 4 items not significantly less accurate than strong: had its
    # refused calls ($0, no time) counted, it would be "cheap" and first on the cost frontier
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)
    monkeypatch.setenv("EVALKIT_WRONG_KEY", "sk-" "wrong-key-0000000000000000")
    config = config_file(tmp_path, server, suite_file)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "api_key_env: EVALKIT_TEST_KEY\n    price: {input: 0.1",
        "api_key_env: EVALKIT_WRONG_KEY\n    price: {input: 0.1"),
        encoding="utf-8")
    result = invoke("compare", "-c", str(config), "--store", str(tmp_path / "h.db"),
                    "--results-dir", str(tmp_path / "results"), "-q", "--report", "md")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for role in ("good:", "fast:", "cheap:", "best value:"):
        assert next(line for line in lines if line.startswith(role)).startswith(f"{role} strong — "), role
    assert not any(line.startswith("frontier") and "weak" in line for line in lines)
    assert "left out of the verdict: weak — 4 of 4 calls failed (auth 1, skipped 3)" in result.output
    report = next((tmp_path / "results").rglob("report.md")).read_text(encoding="utf-8")
    assert "Left out of the verdict: weak, none of whose calls succeeded" in report


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "openai/gpt-4.1-mini", "-s", "arithmetc"], "unknown suite 'arithmetc'; did you mean 'arithmetic'?"),
        (["-m", "foo-model-that-does-not-exist", "-s", "arithmetic"], "unknown model id"),
        (["-m", "deepseek/deepseek-chat", "-s", "arithmetic"], "DEEPSEEK_API_KEY"),
    ],
)
def test_bad_input_exits_2_before_any_call_and_writes_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-" "unused-000000000000000000")
    store = tmp_path / "history.db"
    result = CliRunner().invoke(main, ["compare", *args, "--store", str(store), "-q"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not store.exists()


def test_malformed_suite_file_names_file_and_line(tmp_path):
    bad = tmp_path / "items.jsonl"
    bad.write_text('{"id": "a", "prompt": "x", "reference": 1}\n{"id": "b", "prompt": \n', encoding="utf-8")
    store = tmp_path / "history.db"
    result = CliRunner().invoke(main, ["compare", "-m", "openai/x", "-s", str(bad), "--store", str(store)])
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output
    assert not store.exists()


def test_malformed_yaml_exits_2_as_a_real_process(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("models:\n  - id: [unclosed\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "evalkit", "compare", "-c", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {config}:") and "invalid YAML" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_does_not_import_litellm_or_pandas():
    code = ("import sys; from click.testing import CliRunner; from evalkit.cli import main; "
            "CliRunner().invoke(main, ['--help']); CliRunner().invoke(main, ['compare', '--help']); "
            "print(sorted(m for m in ('litellm', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_suites_lists_every_builtin_with_a_sample_and_its_reference():
    result = invoke("suites")
    assert result.exit_code == 0
    for name in ("arithmetic", "arithmetic-zh", "extraction", "extraction-zh",
                 "classification", "classification-zh", "instructions", "instructions-zh"):
        assert name in result.output
    assert "→" in result.output


def test_models_shows_prices_per_million_and_unknown_never_zero():
    result = invoke("models", "--all", "--filter", "deepseek/deepseek-v4-flash")
    assert result.exit_code == 0 and "$0.300" in result.output and "$1.200" in result.output
    defaults = invoke("models")
    assert "openrouter/qwen/qwen3-235b-a22b-2507" in defaults.output and "unknown" in defaults.output
    assert "local/smollm2-135m-q4_1" in defaults.output


def test_no_keys_means_the_local_models_alone_said_in_one_line(monkeypatch):
    for name in list(__import__("os").environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    result = invoke("compare", "--dry-run")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("No provider API key set (OPENAI_API_KEY") and "local models alone" in first
    assert "smollm2-135m-q4_1" in result.output and "smollm2-135m-q4_0" in result.output
    assert "3 items per suite" in first and "30 items × 2 models" in result.output  # 10 suites


def test_a_set_key_adds_that_providers_default_model(monkeypatch):
    for name in list(__import__("os").environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-" "test-00000000000000000000")
    result = invoke("compare", "--dry-run", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "No provider API key set" not in result.output
    assert "deepseek-v4-flash" in result.output and "smollm2-135m-q4_1" in result.output
