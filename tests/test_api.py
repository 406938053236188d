"""The Python API (`import evalkit`) against the scripted server: run a comparison, load
what is stored as DataFrames, analyse it, write reports, check for regressions.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import evalkit
from evalkit import api
from evalkit.testing.scripted_server import Reply

QUESTIONS = {"2+2?": "4", "3*3?": "9", "10-7?": "3", "5+6?": "11"}
WRONG = {"3*3?": "6", "5+6?": "12"}
"""The weak model's wrong answers: two of four."""


@pytest.fixture
def server(scripted_server):
    def answer(request):
        wrong = request.body["model"] == "weak" and request.prompt in WRONG
        text = WRONG[request.prompt] if wrong else QUESTIONS[request.prompt]
        return Reply(f"Answer: {text}", prompt_tokens=100, completion_tokens=10)

    return scripted_server(answer)


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": q, "reference": int(a), "scorer": "numeric"}) + "\n"
                            for i, (q, a) in enumerate(QUESTIONS.items())), encoding="utf-8")
    return path


@pytest.fixture
def models(server):
    return [evalkit.ModelConfig(id="openai/strong", label="strong", api_base=server.base_url,
                                price={"input": 1.0, "output": 2.0}),
            evalkit.ModelConfig(id="openai/weak", label="weak", api_base=server.base_url,
                                price={"input": 0.1, "output": 0.2})]


def test_import_evalkit_is_light_and_every_public_name_is_documented():
    code = ("import sys, evalkit; heavy = [m for m in ('litellm', 'pandas') if m in sys.modules]; "
            "names = [n for n in evalkit.__all__ if n != '__version__']; "
            "print(heavy, [n for n in names if not (getattr(evalkit, n).__doc__ or '').strip()])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[] []", done.stderr
    assert "compare" in dir(evalkit)
    assert set(evalkit.__all__) == {*api.__all__, "__version__"}  # the light list names the API exactly
    with pytest.raises(AttributeError):
        evalkit.no_such_function  # noqa: B018


def test_compare_from_python_objects_then_load_analyse_and_report(models, suite, store_path, tmp_path):
    notices = []
    result = evalkit.compare(models=models, suites=[str(suite)], store=str(store_path),
                             results_dir=tmp_path / "results", reports=["md"], on_notice=notices.append)
    assert result.outcome.status == "finished" and result.outcome.records == 8
    assert result.verdict.good.model == "strong" and not result.verdict.nothing_answered
    accuracy = result.analysis.summary.by_model.set_index("model")["accuracy"]
    assert accuracy["strong"] == 1.0 and accuracy["weak"] == 0.5
    # the run folder, written from the analysis: the Markdown decision report is its report.md
    assert sorted(p.name for p in result.run_dir.iterdir() if p.is_file()) == ["records.jsonl", "report.md",
                                                                              "summary.csv"]
    assert result.reports == [result.run_dir / "report.md"]
    report = (result.run_dir / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# ") and "## Verdict" not in report  # the decision report, not the summary
    assert len((result.run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()) == 8
    assert notices == []  # both prices known, nothing taken over

    runs = evalkit.runs(str(store_path))
    assert list(runs["run_id"]) == [result.run_id] and runs.loc[0, "status"] == "finished"
    assert runs.loc[0, "records"] == 8 and runs.loc[0, "models"] == ["strong", "weak"]
    calls = evalkit.records("last", store=str(store_path))
    assert len(calls) == 8 and calls.groupby("model")["score"].sum().to_dict() == {"strong": 4.0, "weak": 2.0}
    assert evalkit.verdict(result.run_id[:8], store=str(store_path)).good.model == "strong"
    analysis = evalkit.analyse(store=str(store_path))
    assert analysis.run.run_id == result.run_id and len(analysis.records) == 8

    written = evalkit.write_report(result.run_id, ["html"], store=str(store_path), results_dir=tmp_path / "results")
    assert written == [result.run_dir / "report.html"] and "strong" in written[0].read_text(encoding="utf-8")
    single = evalkit.write_report(analysis, ["md"], output=tmp_path / "decision.md")
    assert single == [tmp_path / "decision.md"] and single[0].read_text(encoding="utf-8").startswith("# ")


def test_compare_from_a_config_file_with_run_options_and_a_warning(server, suite, store_path, tmp_path,
                                                                  bench_config):
    config = bench_config(server, suite, labels=("strong",))
    notices = []
    result = evalkit.compare(config, store=str(store_path), results_dir=tmp_path / "results", limit=2,
                             on_notice=notices.append)
    assert result.outcome.records == 2 and result.analysis.run.config["run"]["limit"] == 2
    # the run's own summary is its report.md when no decision report is asked for
    assert "## Verdict" in (result.run_dir / "report.md").read_text(encoding="utf-8")
    unpriced = evalkit.ModelConfig(id="openai/no-such-price-model", label="unpriced", api_base=server.base_url)
    evalkit.compare(models=[unpriced], suites=[evalkit.SuiteConfig(name="sums", path=str(suite))],
                    store=str(store_path), results_dir=tmp_path / "results", on_notice=notices.append)
    assert [line for line in notices if line.startswith("warning: price of openai/no-such-price-model is unknown")]


def test_a_tagged_series_regression_check_and_history(models, suite, store_path, tmp_path, server):
    common = {"models": models, "suites": [str(suite)], "store": str(store_path), "results_dir": tmp_path / "r",
              "tag": "nightly", "baseline": "last:nightly"}
    first = evalkit.compare(**common)
    assert first.regression is None and first.baseline_note.startswith("No baseline yet (last:nightly")
    second = evalkit.compare(**common, thresholds=evalkit.Thresholds(max_latency_increase=10.0))
    assert second.regression is not None and not second.regression.regressed
    assert second.regression.report.baseline.run_id == first.run_id
    assert second.regression.markdown_path == second.run_dir / "regression.md"
    assert second.regression.junit_path.is_file()
    # a series of two runs: the run's report.md ends with the history chart of its tag
    assert "![history](history.png)" in (second.run_dir / "report.md").read_text(encoding="utf-8")
    assert (second.run_dir / "history.png").read_bytes()[:4] == b"\x89PNG"
    trend = evalkit.history(str(store_path), suite="sums")
    assert set(trend["run_id"]) == {first.run_id, second.run_id} and set(trend["model"]) == {"strong", "weak"}
    again = evalkit.regress(first.run_id, second.run_id, store=str(store_path), results_dir=tmp_path / "r",
                            thresholds=evalkit.Thresholds(max_latency_increase=10.0))
    assert not again.regressed and {c.metric for c in again.report.checks} == {"accuracy", "latency_p95", "cost"}
    with pytest.raises(evalkit.UsageError, match="same run"):
        evalkit.regress(second.run_id, second.run_id, store=str(store_path))
