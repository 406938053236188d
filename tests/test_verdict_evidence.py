"""What the verdict rests on, at the CLI seam against the scripted loopback server.

- Few clusters: 30 items in 8 clusters, where a cluster bootstrap declared a model 16.7
  points below the best significantly worse (p=0.009; McNemar on the items: 0.18) and
  picked one 20 points below as cheap and fast (p=0.051). The sign-flip test finds
  neither significantly worse, the pick does not hang on how the misses fall into
  clusters, and the verdict warns that 8 clusters are few.
- Estimated usage: a provider that reports no usage is costed from a tokenizer's count;
  every cost that rests on such counts is marked, in the table, the verdict, the reports,
  the monthly projection and the history, and a model priced by the hour is not.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit.analysis import paired_units_test, summarize
from evalkit.analysis.verdict import verdict
from evalkit.cli import main
from evalkit.testing.scripted_server import Reply, ScriptedServer

KEY = "sk-test-evidence"
CLUSTER_SIZES = [4, 4, 4, 4, 4, 4, 3, 3]
CLUSTER_OF = [c for c, size in enumerate(CLUSTER_SIZES) for _ in range(size)]
WRONG = {
    # best: 24 of 30 right
    "best": {3, 7, 11, 15, 23, 29},
    # 7 items lost and 2 won against best, spread so that the cluster sums are
    # (-2, 0, 0, -1, -1, 0, -1, 0): 19 of 30, 16.7 points below
    "spread": {3, 15, 23, 29, 0, 1, 4, 8, 12, 16, 24},
    # 7 lost and 1 won, cluster sums (0, 0, -2, -1, -1, 1, -1, -2): 18 of 30, 20 points below
    "bunched": {3, 7, 11, 15, 29, 8, 9, 12, 16, 24, 27, 28},
}
SPEED = {"best": 0.15, "bunched": 0.08, "spread": 0.02}
"""Seconds to the first token: the further below the best, the faster."""
PRICE = {"best": (3.0, 12.0), "bunched": (1.0, 4.0), "spread": (0.5, 2.0)}


def invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250", **(env or {})})


def write_config(tmp_path, server, models: dict[str, str], suite_rows: list[dict]) -> str:
    """A benchmark of one file suite; ``models`` maps a label to its price/hourly YAML."""
    suite = tmp_path / "items.jsonl"
    suite.write_text("".join(json.dumps(r) + "\n" for r in suite_rows), encoding="utf-8")
    config = tmp_path / "bench.yaml"
    config.write_text("models:\n" + "".join(
        f"  - {{id: openai/{label}, label: {label}, api_base: '{server.base_url}', api_key_env: "
        f"EVALKIT_TEST_KEY, {pricing}}}\n" for label, pricing in models.items())
        + f"suites:\n  - {{name: items, path: {suite}}}\n", encoding="utf-8")
    return str(config)


# ---------------------------------------------------------------------------- few clusters


@pytest.fixture
def clustered_run(tmp_path, monkeypatch):
    def answer(request):
        model, item = request.body["model"], int(request.prompt.split()[1].rstrip(":"))
        text = f"Answer: {-1 if item in WRONG[model] else item}"
        return Reply(text, ttft=SPEED[model], prompt_tokens=40, completion_tokens=4)

    rows = [{"id": f"q{i}", "prompt": f"Item {i}: reply with the number {i}.", "reference": i,
             "scorer": "numeric", "cluster": f"topic-{CLUSTER_OF[i]}"} for i in range(30)]
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    with ScriptedServer(answer, api_key=KEY) as server:
        models = {m: f"price: {{input: {i}, output: {o}}}" for m, (i, o) in PRICE.items()}
        config = write_config(tmp_path, server, models, rows)
        result = invoke("compare", "-c", config, "--store", str(tmp_path / "h.db"),
                        "--results-dir", str(tmp_path / "results"), "-q")
    assert result.exit_code == 0, result.output
    return result.output, tmp_path


def verdict_line(output: str, role: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{role}:"))


def test_few_clusters_neither_model_is_declared_worse_and_the_verdict_warns(clustered_run):
    output, tmp_path = clustered_run
    assert verdict_line(output, "good").startswith("good: best — 80.0% accuracy")
    # the cluster bootstrap put "spread" (p=0.009) out of the running and picked "bunched",
    # 20 points below, as cheap and fast (p=0.051); the exact test: p=0.125 and p=0.16
    cheap, fast = verdict_line(output, "cheap"), verdict_line(output, "fast")
    assert cheap.startswith("cheap: spread —") and "not significantly below best (−16.7 pts, p=0.12)" in cheap
    assert fast.startswith("fast: spread —")
    warning = verdict_line(output, "few clusters")
    assert "rest on 8 independent clusters of items, fewer than 20" in warning
    assert "only large differences can be significant" in warning
    (run_dir,) = (tmp_path / "results").iterdir()
    run_report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "- few clusters: the paired tests against best rest on 8 independent clusters" in run_report
    decision = tmp_path / "decision.md"
    result = invoke("report", "last", "-f", "md", "-o", str(decision), "--store", str(tmp_path / "h.db"))
    assert result.exit_code == 0, result.output
    assert "- Few clusters: the paired tests against best rest on 8 independent clusters" in decision.read_text()


def test_few_clusters_pick_does_not_hang_on_where_the_misses_fall():
    """The same item-level results ('spread': 7 items lost, 2 won), dealt into the 8
    clusters in 300 different ways: the sign-flip test never finds the model significantly
    worse, so it stays in the running for cheap and fast; the cluster bootstrap did in
    27% of the deals."""
    rng = np.random.default_rng(5)
    sizes = np.array(CLUSTER_SIZES, float)
    significant = 0
    for _ in range(300):
        sums = np.zeros(len(sizes))
        for place, change in zip(rng.choice(30, 9, replace=False), [-1] * 7 + [1] * 2):
            sums[CLUSTER_OF[place]] += change
        significant += paired_units_test(sums, sizes).p_value < 0.05
    assert significant == 0


def test_few_clusters_verdict_on_records_matches_the_cli():
    rows = []
    for model in WRONG:
        rows += [{"model": model, "suite": "items", "sample_id": f"q{i}", "cluster": f"topic-{CLUSTER_OF[i]}",
                  "score": float(i not in WRONG[model]), "e2e_s": SPEED[model], "cost_usd": sum(PRICE[model])}
                 for i in range(30)]
    records = pd.DataFrame(rows)
    result = verdict(records, summarize(records))
    assert result.indistinguishable == {"best": ["bunched", "spread"]}
    assert {m: t.method for m, t in result.comparisons.items()} == {"bunched": "sign-flip-exact",
                                                                     "spread": "sign-flip-exact"}
    assert result.comparisons["spread"].p_value == pytest.approx(32 / 256)  # 32 of the 2^8 patterns
    assert result.cheap.model == result.fast.model == "spread"
    assert len(result.notes) == 1 and result.notes[0].startswith("few clusters:")


# ---------------------------------------------------------------------------- estimated usage


@pytest.fixture
def estimated_run(tmp_path, monkeypatch):
    """'measured' reports usage; 'silent' and 'selfhosted' (priced by the hour) report none."""
    def answer(request):
        model, item = request.body["model"], int(request.prompt.split()[1].rstrip(":"))
        return Reply(f"Answer: {item}", ttft=0.01, prompt_tokens=40, completion_tokens=4,
                     include_usage=model == "measured")

    rows = [{"id": f"q{i}", "prompt": f"Item {i}: reply with the number {i}.", "reference": i,
             "scorer": "numeric"} for i in range(6)]
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    with ScriptedServer(answer, api_key=KEY) as server:
        models = {"measured": "price: {input: 2.0, output: 8.0}", "silent": "price: {input: 0.5, output: 2.0}",
                  "selfhosted": "hourly_cost: 50.0"}
        config = write_config(tmp_path, server, models, rows)
        result = invoke("compare", "-c", config, "--store", str(tmp_path / "h.db"), "--results-dir",
                        str(tmp_path / "results"), "-q", "--report", "html", "--report", "pdf",
                        "--volume", "2M-tokens/month")
        assert result.exit_code == 0, result.output
        decision = invoke("report", "last", "-f", "md", "-o", str(tmp_path / "decision.md"), "--volume",
                          "2M-tokens/month", "--store", str(tmp_path / "h.db"))
    assert decision.exit_code == 0, decision.output
    (run_dir,) = (tmp_path / "results").iterdir()
    return result.output, run_dir, tmp_path


def table_row(output: str, model: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"│ {model} "))


def test_estimated_costs_are_marked_in_the_table_and_the_verdict(estimated_run):
    output, _, _ = estimated_run
    silent, measured, selfhosted = (table_row(output, m) for m in ("silent", "measured", "selfhosted"))
    assert re.search(r"≈\$[0-9.]+ │ +≈\$[0-9.]+ │", silent), silent  # $ / 1k tasks and $ / correct
    assert "≈" not in measured and "≈" not in selfhosted  # hourly: its cost is machine time, not tokens
    assert "≈ cost from estimated token counts (the provider reported no usage): silent (6 of 6 calls)" in output
    cheap = verdict_line(output, "cheap")
    assert cheap.startswith("cheap: silent — ≈$") and "(cost from estimated token counts" in cheap
    value = verdict_line(output, "best value")
    assert value.startswith("best value: silent — ≈$") and "estimated token counts" in value


def test_estimated_costs_are_marked_in_every_report(estimated_run):
    from pypdf import PdfReader

    _, run_dir, _ = estimated_run
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    markdown = (run_dir.parent.parent / "decision.md").read_text(encoding="utf-8")
    pdf = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(str(run_dir / "report.pdf")).pages))
    for name, text in (("html", html), ("md", markdown), ("pdf", pdf)):
        expected = "≈ cost from estimated token counts (the provider reported no usage): silent (6 of 6 calls)"
        assert expected in text, name
        assert "Costs of silent rest on token counts evalkit estimated" in text, name
        # the projection per token divides by estimated tokens, even the hourly model's
        assert "from token counts evalkit estimated (no usage reported) for selfhosted, silent" in text, name
        assert "measured" in text and "≈$" in text, name
    # the monthly projection: silent's cost per token and month are marked, measured's not
    assert re.search(r"^\| silent \| ≈\$[0-9.,]+ \| (\*\*)?≈\$[0-9.,]+", markdown, re.M)
    assert re.search(r"^\| measured \| \$[0-9.,]+ \| \$[0-9.,]+ \|", markdown, re.M)
    run_report = (run_dir / "report.md").read_text(encoding="utf-8")  # the run folder's own
    assert "- cheap: silent — ≈$" in run_report and "≈ cost from estimated token counts" in run_report


def test_history_marks_estimated_costs(estimated_run):
    _, _, tmp_path = estimated_run
    result = invoke("history", "--store", str(tmp_path / "h.db"), "--chart", str(tmp_path / "h.png"))
    assert result.exit_code == 0, result.output
    silent = next(line for line in result.output.splitlines() if "silent" in line and "ALL" in line)
    assert "≈$" in silent
    measured = next(line for line in result.output.splitlines() if "measured" in line and "ALL" in line)
    assert "≈" not in measured
    assert "≈ cost from estimated token counts" in result.output
