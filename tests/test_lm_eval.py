"""lm-eval tasks through evalkit: same prompts, same scores as lm-eval's own evaluator."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.testing.scripted_server import Reply

lm_eval = pytest.importorskip("lm_eval")

TASKS = Path(__file__).parent / "data" / "lm_eval_tasks"
KEY = "sk-" "lmeval-test-0123456789abcdef"

# The reply to each test question: strict-match (#### N) right for 0, 3, 4, 5; item 1 is
# right only for the flexible filter; item 2 is wrong. Item 3 is Chinese.
REPLIES = {
    "Tom has 3 apples": "3 + 4 = 7\n#### 7",
    "A box holds 12 pens": "There are 24 pens.",
    "Sara had 10 sweets": "10 - 3 = 8\n#### 8",
    "小明有5本书": "5 + 6 = 11，所以\n#### 11",
    "A train travels": "60 * 3 = 180\n#### 180.",
    "There are 9 birds": "#### 5",
    "中国的首都": "B",
    "Which number is even": "The answer is A",
}


def reply_for(prompt: str) -> str:
    return next((text for start, text in REPLIES.items() if start in prompt), "no idea")


@pytest.fixture
def server(scripted_server):
    return scripted_server(lambda request: Reply(reply_for(request.prompt), prompt_tokens=50, completion_tokens=8),
                           api_key=KEY)


@pytest.fixture
def task_dir(tmp_path, monkeypatch):
    # lm-eval's `data_files` resolve against the working folder (datasets' rule).
    folder = tmp_path / "tasks"
    shutil.copytree(TASKS, folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return folder


def run_evalkit(tmp_path, server, task_dir, suite, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    config = tmp_path / "bench.yaml"
    config.write_text(
        f"""
models:
  - id: openai/evalkit
    label: evalkit
    api_base: {server.base_url}
    api_key_env: EVALKIT_TEST_KEY
    price: {{input: 1.0, output: 2.0}}
""",
        encoding="utf-8",
    )
    store = tmp_path / "h.db"
    result = CliRunner().invoke(main, ["compare", "-c", str(config), "-s", suite, "--lm-eval-include", str(task_dir),
                                       "--store", str(store), "--results-dir", str(tmp_path / "results"), "-q"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(store) as db:
        db.row_factory = sqlite3.Row
        return {int(r["sample_id"]): r for r in db.execute("select * from records")}


def run_lm_eval(server, task_dir, monkeypatch):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return simple_evaluate(
        model="local-chat-completions",
        model_args={"model": "lmeval", "base_url": f"{server.base_url}/chat/completions",
                    "num_concurrent": 1, "max_retries": 1},
        tasks=["tiny_math"],
        task_manager=TaskManager(include_path=str(task_dir), include_defaults=False),
        apply_chat_template=True,
        fewshot_as_multiturn=True,
    )


def sent(server, model):
    return sorted(
        (repr(r.body["messages"]), r.body.get("stop"), r.body.get("max_tokens"), r.body.get("temperature"))
        for r in server.requests if r.body and r.body.get("model") == model
    )


def test_accuracy_and_prompts_equal_lm_evals_own_run(tmp_path, server, task_dir, monkeypatch):
    records = run_evalkit(tmp_path, server, task_dir, "lm-eval:tiny_math", monkeypatch)
    results = run_lm_eval(server, task_dir, monkeypatch)["results"]["tiny_math"]

    evalkit_accuracy = sum(r["score"] for r in records.values()) / len(records)
    assert len(records) == 6
    assert evalkit_accuracy == pytest.approx(results["exact_match,strict-match"]) == pytest.approx(4 / 6)
    # the same requests, few-shot turns and generation settings included
    assert sent(server, "evalkit") == sent(server, "lmeval")
    assert len(sent(server, "evalkit")) == 6
    # evalkit adds what lm-eval has not: tokens, cost, latency per item
    assert all(r["cost_usd"] == pytest.approx(50e-6 + 8 * 2e-6) and r["e2e_s"] is not None for r in records.values())
    # the Chinese item, scored by lm-eval's filter
    assert records[3]["score"] == 1.0 and records[3]["extracted"] == "11"
    assert records[1]["score"] == 0.0 and '"flexible-extract": {"exact_match": 1.0}' in records[1]["score_detail"]


def test_multiple_choice_task_runs_as_letter_answers(tmp_path, server, task_dir, monkeypatch):
    records = run_evalkit(tmp_path, server, task_dir, "lm-eval:tiny_choice", monkeypatch)
    assert records[0]["score"] == 1.0 and records[0]["extracted"] == "B"  # 北京, in Chinese
    assert records[1]["score"] == 0.0
    prompt = next(r.body["messages"][-1]["content"] for r in server.requests if "中国" in r.prompt)
    assert "A. 上海\nB. 北京\nC. 广州" in prompt


def test_log_likelihood_task_is_refused_with_the_reason(task_dir):
    result = CliRunner().invoke(main, ["estimate", "-m", "openai/gpt-4o-mini", "-s", "lm-eval:tiny_perplexity",
                                       "--lm-eval-include", str(task_dir)])
    assert result.exit_code == 2
    assert "tiny_perplexity cannot run over a chat API" in result.output and "log-likelihoods" in result.output


def test_missing_dataset_names_it_and_how_to_get_it(tmp_path, task_dir):
    (task_dir / "remote_task.yaml").write_text(
        "task: remote_task\ndataset_path: no-such-org/no-such-dataset\ndataset_name: main\n"
        "output_type: generate_until\ntest_split: test\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["estimate", "-m", "openai/gpt-4o-mini", "-s", "lm-eval:remote_task",
                                       "--lm-eval-include", str(task_dir)])
    assert result.exit_code == 2, result.output
    assert "no-such-org/no-such-dataset" in result.output
    assert "datasets.load_dataset('no-such-org/no-such-dataset', 'main')" in result.output
    assert "--lm-eval-include" in result.output


def test_suites_lists_runnable_tasks_only(task_dir, tmp_path):
    # A pre-built (empty) index stands for lm-eval's own tasks: the test does not walk them.
    from evalkit.scoring import lm_eval as tasks

    cache = tasks._cache_path()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["suites", "--lm-eval", "--lm-eval-include", str(task_dir)])
    assert result.exit_code == 0, result.output
    assert "lm-eval:tiny_math\tgenerative" in result.output
    assert "lm-eval:tiny_choice\tletter-answer prompt" in result.output
    assert "tiny_perplexity" not in result.output
