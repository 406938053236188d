"""Extension points: a scorer, a built-in suite and a report format, each defined and
registered in this file alone, then used through the library and the real CLI against
the scripted server. Each registration is removed when its test ends."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evalkit import scoring
from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.report.formats import ReportFormat, ReportParts, register_format, unregister_format
from evalkit.run.estimate import typical_answer
from evalkit.scoring import JudgeError, Judgement, OptionSpec, Score, ScorerEntry
from evalkit.scoring.registry import any_reference
from evalkit.suites.builtin import Item, register_generated
from evalkit.suites.files import load_file_suite
from evalkit.suites.registry import builtin_suites, unregister_suite
from evalkit.testing.scripted_server import Reply, ScriptedServer

SECRET = "sk-" "test-extending-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def sum_of(prompt: str) -> int:
    return sum(int(n) for n in re.findall(r"\d+", prompt))


@pytest.fixture
def server():
    # "strong" adds up every number in the prompt; "weak" is always off by one.
    def answer(request):
        total = sum_of(request.prompt) + (0 if request.body["model"] == "strong" else 1)
        return Reply(f"Answer: {total}", ttft=0.01, prompt_tokens=20, completion_tokens=4)

    with ScriptedServer(answer, api_key=SECRET) as running:
        yield running


@pytest.fixture
def config(tmp_path, server, monkeypatch):
    """A config of two models on the scripted server; the suites come from -s."""
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)
    models = "".join(
        f"  - id: openai/{label}\n    label: {label}\n    api_base: {server.base_url}\n"
        f"    api_key_env: EVALKIT_TEST_KEY\n    price: {{input: 1.0, output: 2.0}}\n"
        for label in ("strong", "weak"))
    path = tmp_path / "bench.yaml"
    path.write_text(f"models:\n{models}", encoding="utf-8")
    return path


def compare(tmp_path, config, *args: str):
    return invoke("compare", "-c", str(config), *args, "--store", str(tmp_path / "h.db"),
                  "--results-dir", str(tmp_path / "results"), "-q")


def records(tmp_path) -> list[dict[str, Any]]:
    with sqlite3.connect(tmp_path / "h.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("select * from records order by model, sample_id")]


# ---------------------------------------------------------------------------
# A scorer


def _count_reference(reference: Any, options: dict[str, Any]) -> str | None:
    ok = isinstance(reference, int) and not isinstance(reference, bool) and reference >= 0
    return None if ok else "must be a whole number >= 0"


@pytest.fixture
def word_count():
    """``word_count``: 1 when the reply has the reference's number of words (give or take `slack`)."""

    @scoring.scorer("word_count", reference=_count_reference,
                    options={"slack": OptionSpec("a whole number >= 0", lambda v: isinstance(v, int) and v >= 0)})
    def score(response: str, reference: int, slack: int = 0) -> Score:
        words = len(response.split())
        return Score(1.0 if abs(words - reference) <= slack else 0.0, str(words))

    yield score
    scoring.unregister("word_count")


def test_a_registered_scorer_validates_file_suites_with_its_own_reference_check(tmp_path, word_count):
    path = tmp_path / "words.jsonl"
    rows = [
        {"id": "ok", "prompt": "Say two words.", "reference": 2, "scorer": "word_count"},
        {"id": "slack", "prompt": "Say three words.", "reference": 3, "scorer": "word_count",
         "scorer_options": {"slack": 1}},
        {"id": "text", "prompt": "Say two words.", "reference": "two", "scorer": "word_count"},
        {"id": "typo", "prompt": "Say two words.", "reference": 2, "scorer": "word_count",
         "scorer_options": {"slak": 1}},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_file_suite(path)
    lines = str(raised.value).splitlines()
    assert lines == [
        f"{path}:3: reference for scorer 'word_count' must be a whole number >= 0, got 'two'",
        f"{path}:4: scorer 'word_count' has no option 'slak'; did you mean 'slack'? Options: slack",
    ]

    path.write_text("\n".join(json.dumps(row) for row in rows[:2]) + "\n", encoding="utf-8")
    samples = load_file_suite(path)
    assert [scoring.score_item(reply, s).value for reply, s in zip(["hello world", "a b c d"], samples)] == [1, 1]


def test_a_scorer_that_does_not_compare_text_gets_numbers_from_csv_cells(tmp_path, word_count):
    # word_count leaves compares_text off, so the CSV cell "2" is read as the number 2
    # (a text scorer would keep "2", and this scorer's check would refuse it).
    path = tmp_path / "words.csv"
    path.write_text("id,prompt,reference,scorer\na,Say two words.,2,word_count\n", encoding="utf-8")
    (sample,) = load_file_suite(path)
    assert sample.reference == 2


def test_a_registered_scorer_scores_a_compare_run(tmp_path, config, word_count):
    suite = tmp_path / "words.jsonl"
    suite.write_text(json.dumps({"id": "two", "prompt": "Add 1 and 1.", "reference": 2, "scorer": "word_count"}) + "\n",
                     encoding="utf-8")
    result = compare(tmp_path, config, "-s", str(suite))
    assert result.exit_code == 0, result.output
    # every reply is "Answer: N": two words
    assert [(r["model"], r["score"], r["extracted"]) for r in records(tmp_path)] == [
        ("strong", 1.0, "2"), ("weak", 1.0, "2")]


class _Tally:
    """A test-only async scorer: it "asks" a model that counts the reply's characters."""

    model = "test/tally"
    rubric = "at most `limit` characters"

    def __init__(self, options: dict[str, Any]) -> None:
        self.limit = options.get("limit", 10)

    async def grade(self, question: str, response: str, reference: Any, timeout: float) -> Judgement:
        if "refuse" in question:
            raise JudgeError("tally refused to count")
        verdict = f"{len(response)} characters"
        return Judgement(Score(float(len(response) <= self.limit), str(len(response))), self.model,
                         self.rubric, verdict, prompt_tokens=3, completion_tokens=2, cost_usd=0.0)


@pytest.fixture
def tally():
    scoring.register(ScorerEntry("tally", any_reference, async_scorer=_Tally,
                                 options={"limit": OptionSpec("a whole number", lambda v: isinstance(v, int))}))
    yield
    scoring.unregister("tally")


def test_the_runner_awaits_any_async_scorer_through_its_entry(tmp_path, config, tally):
    suite = tmp_path / "tally.jsonl"
    rows = [{"id": "short", "prompt": "Add 2 and 3.", "reference": "", "scorer": "tally",
             "scorer_options": {"limit": 9}},
            {"id": "refused", "prompt": "Add 2 and 3, or refuse.", "reference": "", "scorer": "tally"}]
    suite.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    result = compare(tmp_path, config, "-s", str(suite))
    assert result.exit_code == 0, result.output
    by_item = {(r["model"], r["sample_id"]): r for r in records(tmp_path)}
    short = by_item[("strong", "short")]  # "Answer: 5" has 9 characters
    assert (short["score"], short["extracted"], short["judge_verdict"]) == (1.0, "9", "9 characters")
    assert (short["judge_model"], short["judge_rubric"], short["judge_prompt_tokens"]) == (
        "test/tally", "at most `limit` characters", 3)
    refused = by_item[("weak", "refused")]
    assert (refused["error_class"], refused["error_message"], refused["judge_model"]) == (
        "judge", "tally refused to count", "test/tally")
    with pytest.raises(UsageError, match="calls a model"):
        scoring.score_item("x", load_file_suite(suite)[0])


# ---------------------------------------------------------------------------
# A built-in suite


def _build_sum(rng, level: int, language: str) -> Item:
    numbers = [rng.randint(1, 10 * level) for _ in range(level + 1)]
    return Item(prompt=f"What is {' + '.join(map(str, numbers))}?", reference=sum(numbers), scorer="numeric",
                template=f"terms-{len(numbers)}")


@pytest.fixture
def sums_suite():
    suites = register_generated("sums", _build_sum, description="Add up a few numbers (test only).",
                                typical_answer_tokens=7, default_size=5, languages=("en",))
    yield suites
    for suite in suites:
        unregister_suite(suite.name)


def test_a_registered_suite_is_listed_and_generated_like_the_others(sums_suite):
    assert list(builtin_suites())[-1] == "sums"
    listing = invoke("suites")
    assert listing.exit_code == 0
    (row,) = [line for line in listing.output.splitlines() if "sums" in line]
    assert "Add up a few numbers (test only). (English)" in row and "numeric" in row
    first = builtin_suites()["sums"].generate(3, seed=7)
    assert first == builtin_suites()["sums"].generate(3, seed=7)
    assert [s.id for s in first] == ["sums-0001", "sums-0002", "sums-0003"]
    assert typical_answer(first[0]) == 7


def test_compare_runs_a_registered_suite_against_the_scripted_server(tmp_path, config, sums_suite):
    result = compare(tmp_path, config, "-s", "sums")
    assert result.exit_code == 0, result.output
    rows = records(tmp_path)
    assert {r["suite"] for r in rows} == {"sums"} and len(rows) == 10  # default_size 5, two models
    assert [r["score"] for r in rows if r["model"] == "strong"] == [1.0] * 5
    assert [r["score"] for r in rows if r["model"] == "weak"] == [0.0] * 5
    assert "good: strong" in result.output


# ---------------------------------------------------------------------------
# A report format


def _write_text_report(parts: ReportParts, path) -> None:
    table = parts.content.scorecard
    lines = [parts.content.title, *("\t".join(row) for row in [table.headers, *table.rows])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def text_format():
    register_format(ReportFormat("txt", "report.txt", _write_text_report, order=50))
    yield
    unregister_format("txt")


def test_a_registered_format_is_written_by_evalkit_report(tmp_path, config, sums_suite, text_format):
    assert compare(tmp_path, config, "-s", "sums").exit_code == 0
    assert "[html|pdf|md|txt]" in invoke("report", "--help").output
    result = invoke("report", "last", "-f", "txt", "--store", str(tmp_path / "h.db"),
                    "--results-dir", str(tmp_path / "results"))
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "results").rglob("report.txt")
    assert f"wrote {written}" in result.output
    lines = written.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("Model\t") and {line.split("\t")[0] for line in lines[2:]} == {"strong", "weak"}

    unregister_format("txt")
    try:
        refused = CliRunner().invoke(main, ["report", "last", "-f", "txt", "--store", str(tmp_path / "h.db")])
        assert refused.exit_code == 2 and "'txt' is not one of 'html', 'pdf', 'md'" in refused.output
    finally:
        register_format(ReportFormat("txt", "report.txt", _write_text_report, order=50))


# ---------------------------------------------------------------------------
# The manual's examples: each one file, dropped into its folder, and nothing else


def readme_examples() -> dict[str, str]:
    """Path -> code of each example in the README's "Extending evalkit" section."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Extending evalkit\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return dict(re.findall(r"`(evalkit/[\w/]+\.py)`:\n\n```python\n(.*?)```", section, re.DOTALL))


def test_each_readme_example_is_one_file_that_the_real_cli_picks_up(tmp_path):
    examples = readme_examples()
    assert sorted(examples) == ["evalkit/report/formats/text.py", "evalkit/scoring/word_count.py",
                                "evalkit/suites/builtin/sums.py"]
    shutil.copytree(ROOT / "evalkit", tmp_path / "evalkit", ignore=shutil.ignore_patterns("__pycache__"))
    for path, code in examples.items():
        (tmp_path / path).write_text(code, encoding="utf-8")
    suite = tmp_path / "words.jsonl"
    suite.write_text(json.dumps({"id": "q", "prompt": "Two words?", "reference": "two", "scorer": "word_count"}),
                     encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "250"}

    def evalkit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)

    listed = evalkit("suites")
    assert listed.returncode == 0, listed.stderr
    assert "Add up a few numbers; exact numeric answer. (English)" in listed.stdout
    assert "Add up a few numbers; exact numeric answer. (Chinese)" in listed.stdout
    assert "[html|pdf|md|txt]" in evalkit("report", "--help").stdout
    checked = evalkit("estimate", "-m", "openai/gpt-4o-mini", "-s", str(suite))
    assert checked.returncode == 2
    assert f"{suite}:1: reference for scorer 'word_count' must be a whole number >= 0, got 'two'" in checked.stderr
