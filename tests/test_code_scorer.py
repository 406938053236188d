"""The `code` scorer, the humaneval and coding suites, and `evalkit compare` running them
against the scripted server with correct, wrong and hostile replies."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from click.testing import CliRunner

from evalkit.analysis import analyse_run
from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.scoring import check_reference, score_item
from evalkit.scoring.code import build_program, extract_code
from evalkit.store import Store
from evalkit.suites.base import Sample
from evalkit.suites.builtin.humaneval import _problems
from evalkit.suites.registry import get_builtin
from evalkit.testing import code_replies
from evalkit.testing.scripted_server import ReceivedRequest, Reply

ADD_TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5, 'add(2, 3) should be 5'\n"


def _item(reference: str = ADD_TESTS, **options) -> Sample:
    return Sample(id="t-1", suite="t", messages=({"role": "user", "content": "add"},), reference=reference,
                  scorer="code", scorer_options={"entry_point": "add", **options})


def test_the_code_is_the_python_fenced_blocks_else_bare_fences_else_the_reply():
    reply = "Here:\n```python\ndef a():\n    return 1\n```\nand a shell line\n```\nls\n```\n```py\nB = 2\n```"
    assert extract_code(reply) == "def a():\n    return 1\n\nB = 2"
    assert extract_code("```\nx = 1\n```") == "x = 1"
    assert extract_code("def f():\n    return 3") == "def f():\n    return 3"
    assert extract_code("```python\ndef f():\n    return 3") == "def f():\n    return 3"  # unclosed fence


def test_the_program_is_prompt_code_tests_and_the_check_call():
    prefix = "import math\n\ndef add(a, b):\n    \"\"\"Sum.\"\"\"\n"
    whole = build_program("def add(a, b):\n    return a + b", ADD_TESTS, "add", prefix)
    assert whole.startswith(prefix + "\n\ndef add(a, b):") and whole.endswith("\n\ncheck(add)\n")
    body = build_program("    return a + b\n", ADD_TESTS, "add", prefix)
    assert body.startswith(prefix + "    return a + b") and "check(add)" in body
    assert build_program("x = 1", "assert x == 1", None) == "x = 1\n\nassert x == 1\n"


def test_a_correct_reply_scores_1_and_reports_its_run():
    score = score_item("```python\ndef add(a, b):\n    return a + b\n```", _item())
    assert score.value == 1.0 and score.detail == "" and score.extracted == "def add(a, b):\n    return a + b"
    assert score.run_s is not None and 0 < score.run_s < 10 and score.sandbox.startswith("process: rlimits")


def test_a_wrong_reply_scores_0_with_the_failing_assertion():
    score = score_item("def add(a, b):\n    return a - b", _item())
    assert score.value == 0.0
    assert score.detail.startswith("tests failed: exit status 1\n")
    assert "AssertionError: add(2, 3) should be 5" in score.detail and len(score.detail) < 900


def test_a_reply_that_loops_forever_fails_on_its_timeout():
    score = score_item("def add(a, b):\n    while True:\n        pass", _item(timeout_s=1))
    assert score.value == 0.0 and re.match(r"tests failed: (CPU time limit|wall-clock timeout)", score.detail)


@pytest.mark.parametrize(("reference", "options", "problem"), [
    ("def check(candidate):\n    assert candidate(1) ==\n", {"entry_point": "f"}, "is not valid Python"),
    ("assert True", {"entry_point": "f"}, "must define check(candidate) when entry_point is set"),
    ("", {}, "must be the tests as Python source"),
])
def test_bad_tests_are_refused_before_any_call(reference, options, problem):
    with pytest.raises(UsageError, match=re.escape(problem)):
        check_reference("code", reference, options)


def test_a_bad_entry_point_is_refused():
    with pytest.raises(UsageError, match="option 'entry_point' of scorer 'code' must be the name of the function"):
        check_reference("code", ADD_TESTS, {"entry_point": "not a name"})


def test_humaneval_has_its_164_items_and_every_canonical_solution_passes_in_the_sandbox():
    samples = get_builtin("humaneval").generate(164, seed=0)
    assert len(samples) == 164 and samples[0].id == "humaneval-0000" and samples[-1].id == "humaneval-0163"
    assert samples[0].scorer_options["entry_point"] == "has_close_elements"
    assert "```python\nfrom typing import List" in samples[0].messages[0]["content"]
    canonical = [problem["canonical_solution"] for problem in _problems()]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        scores = list(pool.map(score_item, canonical, samples))
    failed = [(sample.id, score.detail) for sample, score in zip(samples, scores, strict=True) if score.value != 1]
    assert failed == []


def test_humaneval_has_no_difficulty_levels():
    with pytest.raises(UsageError, match="suite humaneval has no difficulty levels"):
        get_builtin("humaneval").generate(5, seed=0, difficulty=2)


def lookup_table_reply(sample: Sample) -> str:
    return code_replies.lookup_table_reply(sample.reference, sample.scorer_options["entry_point"])


def test_the_coding_suite_is_seeded_spread_over_levels_and_bilingual():
    first, again = get_builtin("coding").generate(10, seed=3), get_builtin("coding").generate(10, seed=3)
    assert [s.reference for s in first] == [s.reference for s in again]
    assert [s.metadata["difficulty"] for s in first] == [1, 2, 3, 4, 5] * 2
    assert first[0].id == "coding-0001" and first[0].scorer == "code"
    assert get_builtin("coding").generate(10, seed=4)[0].reference != first[0].reference
    chinese = get_builtin("coding-zh").generate(5, seed=3)
    assert all("编写一个 Python 函数" in s.messages[0]["content"] for s in chinese)
    for sample in first:
        check_reference(sample.scorer, sample.reference, sample.scorer_options)
        assert score_item(lookup_table_reply(sample), sample).value == 1.0
        assert score_item(code_replies.wrong_reply(sample.scorer_options["entry_point"]), sample).value == 0.0


def test_code_suites_run_only_when_named():
    from evalkit.run.prepare import default_suites
    names = [suite.name for suite in default_suites()]
    assert names and not {"humaneval", "coding", "coding-zh"} & set(names)


# ---------------------------------------------------------------------------
# The seam: evalkit compare against the scripted server

HOSTILE = ("```python\nimport subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\n"
           "while True:\n    pass\n```")
"""A reply that would hang the scorer if it could: a child outside its process group, then
an endless loop."""


def _replies() -> dict[str, str]:
    """Prompt -> reply for the first HumanEval items and coding items."""
    humaneval = get_builtin("humaneval").generate(3, seed=0)
    coding = get_builtin("coding").generate(2, seed=0)
    first = _problems()[0]
    return {
        humaneval[0].messages[0]["content"]: f"```python\n{first['prompt']}{first['canonical_solution']}```",
        humaneval[1].messages[0]["content"]: "```python\ndef separate_paren_groups(paren_string):\n    return []\n```",
        humaneval[2].messages[0]["content"]: HOSTILE,
        coding[0].messages[0]["content"]: lookup_table_reply(coding[0]),
        coding[1].messages[0]["content"]: ("```python\nimport os\n"
                                           "print(open(f'/proc/{os.getppid()}/environ').read())\n```"),
    }


def test_compare_scores_humaneval_and_coding_with_correct_wrong_and_hostile_replies(tmp_path, scripted_server,
                                                                                   monkeypatch):
    monkeypatch.setenv("EVALKIT_SANDBOX_TEST_KEY", "sk-never-seen")
    replies = _replies()

    def answer(request: ReceivedRequest) -> Reply:
        return Reply(replies.get(request.prompt, "no code here"), prompt_tokens=100, completion_tokens=50)

    server = scripted_server(answer)
    config = {"models": [{"id": "openai/m", "label": "m", "api_base": server.base_url,
                          "price": {"input": 1.0, "output": 2.0}}],
              "suites": [{"name": "humaneval"}, {"name": "coding"}], "run": {"retries": 0}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("EVALKIT_SANDBOX_TIMEOUT", "2")
    result = CliRunner().invoke(main, ["compare", "-c", str(path), "--limit", "3", "--seed", "0",
                                       "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "results")],
                                catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    frame = analyse_run(Store(str(tmp_path / "h.db")), "last").records.astype(object)
    records = {r["sample_id"]: r for r in frame.where(frame.notna(), None).to_dict("records")}
    assert {k: records[k]["score"] for k in sorted(records)} == {  # coding-0003 replied "no code here"
        "coding-0001": 1.0, "coding-0002": 0.0, "coding-0003": 0.0,
        "humaneval-0000": 1.0, "humaneval-0001": 0.0, "humaneval-0002": 0.0}
    hostile = records["humaneval-0002"]
    assert re.match(r"tests failed: (CPU time limit|wall-clock timeout)", hostile["score_detail"])
    assert hostile["error_class"] is None  # a failed item, not an evalkit error
    assert "AssertionError" in records["humaneval-0001"]["score_detail"]
    assert re.search(r"PermissionError|FileNotFoundError", records["coding-0002"]["score_detail"])  # hidepid
    assert "sk-never-seen" not in json.dumps(records, default=str)
    for record in records.values():
        assert record["tests_s"] is not None and record["tests_s"] > 0
        assert record["sandbox"].startswith("process: rlimits")
    assert hostile["tests_s"] >= 2 and hostile["e2e_s"] < 1  # the tests' time is not the model's latency


# ---------------------------------------------------------------------------
# pass@k


def test_the_pass_at_k_estimator_is_chen_et_al_s_unbiased_one():
    from math import comb

    from evalkit.analysis.pass_at_k import pass_at_k_estimate
    for n, c, k in [(5, 2, 1), (5, 2, 2), (5, 2, 3), (10, 3, 5), (10, 0, 4), (4, 4, 4), (10, 9, 2)]:
        assert pass_at_k_estimate(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)
    assert pass_at_k_estimate(5, 2, 1) == pytest.approx(0.4)  # pass@1 is the pass rate
    assert pass_at_k_estimate(5, 2, 4) == 1.0  # 3 failures cannot fill 4 draws
    with pytest.raises(ValueError, match="0 < k <= n"):
        pass_at_k_estimate(3, 1, 4)


def test_pass_at_k_averages_items_and_its_interval_resamples_items():
    import pandas as pd

    from evalkit.analysis.pass_at_k import pass_at_k
    # 4 items x 4 epochs: passes 4, 2, 1, 0; an errored call counts as a failed answer.
    passes = {"q1": [1, 1, 1, 1], "q2": [1, 0, 1, 0], "q3": [0, 0, 1, 0], "q4": [0, 0, 0, 0]}
    rows = [{"model": "m", "suite": "coding", "sample_id": item, "epoch": epoch, "score": float(score),
             "error_class": "timeout" if item == "q4" and epoch == 0 else None, "tests_s": 0.1}
            for item, scores in passes.items() for epoch, score in enumerate(scores)]
    rows.append({"model": "m", "suite": "arithmetic", "sample_id": "a1", "epoch": 0, "score": 1.0,
                 "error_class": None, "tests_s": None})
    table = pass_at_k(pd.DataFrame(rows), ks=(1, 2, 5)).set_index("k")
    assert list(table.index) == [1, 2]  # no pass@5 from 4 answers; arithmetic is no code suite
    assert table.loc[1, "pass_at_k"] == pytest.approx((1 + 0.5 + 0.25 + 0) / 4)
    # pass@2 per item: 1, 1 - C(2,2)/C(4,2) = 5/6, 1 - C(3,2)/C(4,2) = 1/2, 0
    assert table.loc[2, "pass_at_k"] == pytest.approx((1 + 5 / 6 + 1 / 2 + 0) / 4)
    assert table.loc[1, "items"] == 4 and table.loc[1, "epochs"] == 4
    assert 0 <= table.loc[1, "low"] < table.loc[1, "pass_at_k"] < table.loc[1, "high"] <= 1
    assert table.loc[1, "method"] == "bootstrap"


def test_pass_at_k_of_all_or_nothing_items_has_wilsons_interval_not_a_zero_width_one():
    import pandas as pd

    from evalkit.analysis.pass_at_k import pass_at_k
    from evalkit.analysis.stats import wilson
    rows = [{"model": "m", "suite": "humaneval", "sample_id": f"q{i}", "epoch": 0, "score": 0.0,
             "error_class": None, "tests_s": 0.1} for i in range(3)]
    (row,) = pass_at_k(pd.DataFrame(rows)).itertuples()
    assert (row.pass_at_k, row.low, row.method) == (0.0, 0.0, "wilson")
    assert row.high == pytest.approx(wilson(0.0, 3)[1]) and row.high > 0.5


def test_compare_with_epochs_prints_pass_at_k_with_intervals(tmp_path, scripted_server):
    first, second = get_builtin("humaneval").generate(2, seed=0)
    solution = _problems()[0]
    right = f"```python\n{solution['prompt']}{solution['canonical_solution']}```"
    asked: dict[str, int] = {}

    def answer(request: ReceivedRequest) -> Reply:  # item 1: right, wrong, right; item 2: always wrong
        asked[request.prompt] = asked.get(request.prompt, 0) + 1
        passes = request.prompt == first.messages[0]["content"] and asked[request.prompt] % 2 == 1
        return Reply(right if passes else "def nothing():\n    pass", prompt_tokens=10, completion_tokens=5)

    server = scripted_server(answer)
    config = {"models": [{"id": "openai/m", "label": "m", "api_base": server.base_url,
                          "price": {"input": 1.0, "output": 2.0}}],
              "suites": [{"name": "humaneval"}], "run": {"retries": 0}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", "-c", str(path), "--limit", "2", "--epochs", "3",
                                       "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "results")],
                                catch_exceptions=False, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert asked == {first.messages[0]["content"]: 3, second.messages[0]["content"]: 3}
    # pass@1 = (2/3 + 0) / 2, bootstrapped over the 2 items; pass@3 = (1 + 0) / 2, per-item
    # values all 0 or 1: Wilson's interval for 1 of 2
    line = next(line for line in result.output.splitlines() if line.startswith("code: m on humaneval"))
    assert re.search(r"pass@1 33\.3% \[0\.0–66\.7\]; pass@3 50\.0% \[9\.5–90\.5\] \(2 items, 3 answers each\)",
                     line), line
    assert "apart from the model's latency" in line and "process: rlimits" in line


def test_the_report_shows_both_code_suites_and_the_failing_tests_output_where_models_disagree(
        tmp_path, scripted_server):
    humaneval, coding = get_builtin("humaneval").generate(1, seed=0)[0], get_builtin("coding").generate(1, seed=0)[0]
    solution = _problems()[0]
    right = {humaneval.messages[0]["content"]: f"```python\n{solution['prompt']}{solution['canonical_solution']}```",
             coding.messages[0]["content"]: lookup_table_reply(coding)}

    def answer(request: ReceivedRequest) -> Reply:  # model "good" is right, model "bad" returns None
        good = request.body["model"] == "good"
        reply = right[request.prompt] if good else code_replies.wrong_reply(
            "has_close_elements" if "has_close_elements" in request.prompt else coding.scorer_options["entry_point"])
        return Reply(reply, prompt_tokens=10, completion_tokens=5)

    server = scripted_server(answer)
    models = [{"id": f"openai/{name}", "label": name, "api_base": server.base_url,
               "price": {"input": 1.0, "output": 2.0}} for name in ("good", "bad")]
    config = {"models": models, "suites": [{"name": "humaneval"}, {"name": "coding"}], "run": {"retries": 0}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", "-c", str(path), "--limit", "1", "--seed", "0", "--report", "md",
                                       "--report", "html", "--report", "pdf",
                                       "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "results")],
                                catch_exceptions=False, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "code: good on humaneval — pass@1 100.0%" in result.output
    assert "code: bad on coding — pass@1 0.0%" in result.output
    report = next((tmp_path / "results").rglob("*.md")).read_text(encoding="utf-8")
    disagreements = report.split("## Where models disagree", 1)[1]
    assert "### humaneval · humaneval-0000" in disagreements and "### coding · coding-0001" in disagreements
    assert "tests passed" in disagreements
    assert "tests failed: exit status 1" in disagreements and "AssertionError" in disagreements
    code_part = report.split("### Code suites", 1)[1].split("\n## ", 1)[0]
    assert "| good | humaneval | pass@1 | 100.0% [21–100] | 1 × 1 |" in code_part
    assert "| bad | coding | pass@1 | 0.0% [0–79] | 1 × 1 |" in code_part and "process: rlimits" in code_part
    html = next((tmp_path / "results").rglob("*.html")).read_text(encoding="utf-8")
    assert "<h3>Code suites</h3>" in html and "100.0% [21–100]" in html
    from pypdf import PdfReader
    pdf = "".join(page.extract_text() for page in PdfReader(next((tmp_path / "results").rglob("*.pdf"))).pages)
    assert "Code suites" in pdf and "pass@1" in pdf


# ---------------------------------------------------------------------------
# File suites with code items

def _write_items(tmp_path, *rows: dict) -> str:
    path = tmp_path / "team-code.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def test_a_file_suite_holds_code_items_with_tests_entry_point_and_language(tmp_path):
    from evalkit.suites.files import load_file_suite
    path = _write_items(
        tmp_path,
        {"id": "add", "prompt": "Write add(a, b).", "tests": ADD_TESTS, "entry_point": "add", "language": "python"},
        {"id": "plain", "prompt": "Set x to 1.", "tests": "assert x == 1"},
        {"id": "old-style", "prompt": "Write add.", "scorer": "code", "reference": ADD_TESTS,
         "scorer_options": {"entry_point": "add", "timeout_s": 5}})
    add, plain, old_style = load_file_suite(path)
    assert add.scorer == "code" and add.reference == ADD_TESTS and add.scorer_options == {"entry_point": "add"}
    assert plain.scorer_options == {} and old_style.scorer_options["timeout_s"] == 5
    assert score_item("def add(a, b):\n    return a + b", add).value == 1.0
    assert score_item("x = 2", plain).value == 0.0


def test_bad_code_items_are_named_by_file_and_line(tmp_path):
    from evalkit.suites.files import load_file_suite
    path = _write_items(
        tmp_path,
        {"id": "ok", "prompt": "p", "tests": ADD_TESTS, "entry_point": "add"},
        {"id": "syntax", "prompt": "p", "tests": "def check(candidate):\n    assert candidate(1) ==\n",
         "entry_point": "f"},
        {"id": "go", "prompt": "p", "tests": "assert True", "language": "go"},
        {"id": "no-check", "prompt": "p", "tests": "assert True", "entry_point": "f"},
        {"id": "no-tests", "prompt": "p", "entry_point": "f"},
        {"id": "both", "prompt": "p", "tests": "assert True", "reference": "assert True"},
        {"id": "bad-name", "prompt": "p", "tests": ADD_TESTS, "entry_point": "two words"})
    with pytest.raises(UsageError) as caught:
        load_file_suite(path)
    message = str(caught.value)
    assert f"{path}:2: 'tests' is not valid Python: invalid syntax at line 2 of the tests" in message
    assert f"{path}:3: 'language' is 'go'; evalkit runs Python code only" in message
    assert f"{path}:4: 'tests' must define check(candidate) when entry_point is set" in message
    assert f"{path}:5: 'entry_point' or 'language' given without 'tests'" in message
    assert f"{path}:6: both 'tests' and 'reference' given" in message
    assert f"{path}:7: option 'entry_point' of scorer 'code' must be the name of the function" in message
    assert f"{path}:1:" not in message


def test_a_csv_suite_holds_code_items(tmp_path):
    from evalkit.suites.files import load_file_suite
    path = tmp_path / "code.csv"
    path.write_text('id,prompt,tests,entry_point\n'
                    'add,Write add.,"def check(candidate):\n    assert candidate(1, 2) == 3\n",add\n', encoding="utf-8")
    (add,) = load_file_suite(path)
    assert add.scorer == "code" and add.scorer_options == {"entry_point": "add"}
    assert score_item("def add(a, b):\n    return a + b", add).value == 1.0
