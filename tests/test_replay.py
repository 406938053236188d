"""Replay suites: candidates judged against the answers production logged, the verdict's line
about the incumbent, and the judge's calls counted by `estimate` and `--max-cost`.

The scripted server plays the candidates and the judge. The judge reads which answer is
whose from the answers themselves ("CHEAP-07", "POOR-07" against the logged "INC-07"),
so each item's win, tie or loss is known before the run.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.config.models import JudgeConfig, RunOptions, SuiteConfig
from evalkit.store.database import Store
from evalkit.suites.replay import load_replay_samples
from evalkit.testing.scripted_server import Reply
from evalkit.workload.profile import WorkloadProfile

KEY = "sk-" "replay-test-0123456789abcdef"
ITEMS = 28
PROFILE = "support"
LOGGED_MODEL = "openai/gpt-4o"
_ANSWERS = re.compile(r"\[Answer A\]\n(.*?)\n\n\[Answer B\]\n(.*?)\n\nExplain", re.S)


def number(text: str) -> int:
    return int(text.rsplit("-", 1)[1])


def judge_verdict(prompt: str) -> str:
    """cheap: wins items 1-4, a judge biased to position A on 5-8 (a split: a tie), a win in
    one order and a tie in the other on 9-10 (no decision: a tie), ties the rest; poor: loses
    items 1-20 and ties 21-28."""
    first, second = _ANSWERS.search(prompt).groups()
    candidate_first = not first.startswith("INC-")
    candidate = first if candidate_first else second
    item = number(candidate)
    if candidate.startswith("CHEAP"):
        if item <= 4:
            return "The candidate's answer is better.\nWinner: " + ("A" if candidate_first else "B")
        if item <= 8:
            return "The first one.\nWinner: A"
        if item <= 10 and candidate_first:
            return "The candidate's answer is better.\nWinner: A"
        return "Both fine.\nWinner: tie"
    if item <= 20:
        return "The logged answer is better.\nWinner: " + ("B" if candidate_first else "A")
    return "Same.\nWinner: tie"


def save_profile(store: str, with_text: bool = True, items: int = ITEMS) -> None:
    sample = [{"messages": [{"role": "system", "content": "You are a support assistant."},
                            {"role": "user", "content": f"question-{i:02d}"}],
               "response": f"INC-{i:02d}", "model": LOGGED_MODEL, "prompt_tokens": 1000, "completion_tokens": 200,
               "language": "en"} for i in range(1, items + 1)]
    profile = WorkloadProfile(name=PROFILE, source="traffic.jsonl", format="openai-jsonl",
                              prompt_tokens=[1000] * items, completion_tokens=[200] * items,
                              logged_models={LOGGED_MODEL: items}, has_text=with_text)
    Store(store).save_workload(PROFILE, "traffic.jsonl", "openai-jsonl", profile.to_dict(),
                               sample if with_text else None)


@pytest.fixture
def server(scripted_server):
    def answer(request):
        model = request.body["model"]
        if model == "judge":
            return Reply(judge_verdict(request.prompt), prompt_tokens=300, completion_tokens=20)
        item = request.prompt.rsplit("-", 1)[1]
        return Reply(f"{model.upper()}-{item}", prompt_tokens=1000, completion_tokens=200)

    return scripted_server(answer, api_key=KEY)


def write_config(tmp_path, server, *, judge_price=(3.0, 15.0), prices=((1.0, 2.0), (0.5, 1.0)),
                 judge: bool = True, run: dict | None = None, **suite_fields) -> str:
    models = [{"id": f"openai/{label}", "label": label, "api_base": server.base_url,
               "api_key_env": "EVALKIT_TEST_KEY", "price": {"input": price[0], "output": price[1]}}
              for label, price in zip(("cheap", "poor"), prices)]
    suite = {"name": f"replay:{PROFILE}", "size": ITEMS, "incumbent_price": {"input": 2.0, "output": 4.0},
             **suite_fields}
    if judge:
        suite["judge"] = {"judge_model": "openai/judge", "api_base": server.base_url,
                          "api_key_env": "EVALKIT_TEST_KEY",
                          "price": {"input": judge_price[0], "output": judge_price[1]}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump({"models": models, "suites": [suite], **({"run": run} if run else {})},
                                   sort_keys=False), encoding="utf-8")
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def env(tmp_path, monkeypatch):
    store = str(tmp_path / "h.db")
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    monkeypatch.setenv("EVALKIT_STORE", store)
    monkeypatch.chdir(tmp_path)
    return store


def test_candidates_against_the_logged_answers_win_tie_loss_and_the_verdict_line(tmp_path, server, env):
    save_profile(env)
    result = invoke("compare", "-c", write_config(tmp_path, server), "-q", "--report", "md", "--report", "html")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("cheap is not significantly worse than the incumbent (openai/gpt-4o) on your traffic at 50% of its "
            "cost: 4 wins, 24 ties, 0 losses of 28 (replay:support; preference 0.57 [") in text
    assert ("poor is worse than the incumbent (openai/gpt-4o) on your traffic at 25% of its cost: "
            "0 wins, 8 ties, 20 losses of 28 (replay:support; preference 0.14 [") in text

    with sqlite3.connect(env) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("select * from records")]
    assert len(rows) == 2 * ITEMS
    cheap = {r["sample_id"]: r for r in rows if r["model"] == "cheap"}
    # both orders asked: the judge biased to position A splits its vote, a tie, not a win
    biased = [r for r in cheap.values() if r["extracted"] == "A/A"]
    assert len(biased) == 4 and all(r["score"] == 0.5 for r in biased)
    half_won = [r for r in cheap.values() if r["extracted"] == "A/tie"]
    assert len(half_won) == 2 and all(r["score"] == 0.5 for r in half_won)
    assert all(len(json.loads(r["judge_verdict"])) == 2 for r in rows)
    # the judge's cost stays apart: 2 calls x (300 x $3 + 20 x $15) per 1M tokens
    assert all(r["cost_usd"] == pytest.approx(1000 * 1e-6 + 200 * 2e-6) for r in cheap.values())
    assert all(r["judge_cost_usd"] == pytest.approx(2 * (300 * 3e-6 + 20 * 15e-6)) for r in rows)
    judged = [r for r in server.requests if r.body["model"] == "judge"]
    assert len(judged) == 2 * 2 * ITEMS

    run_dir = next((tmp_path / "results").iterdir())
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "Against what you run today" in report and "$0.0014" in report and "$0.0028" in report
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Against what you run today" in html and "not significantly worse" in html


def test_the_analysis_counts_and_decides_by_the_stated_margin(tmp_path, server, env):
    from evalkit import api
    from evalkit.analysis.incumbent import NONINFERIORITY_MARGIN, decide

    save_profile(env)
    assert invoke("compare", "-c", write_config(tmp_path, server), "-q").exit_code == 0
    results = {r.model: r for r in api.analyse("last").incumbent}
    cheap, poor = results["cheap"], results["poor"]
    assert (cheap.wins, cheap.ties, cheap.losses, cheap.items) == (4, 24, 0, 28)
    assert (poor.wins, poor.ties, poor.losses) == (0, 8, 20)
    assert cheap.mean == pytest.approx(0.5 + 2 / 28) and poor.mean == pytest.approx(4 / 28)
    # the sign-flip interval: the 24 tied items keep its lower end at 0.5, which is above 0.5 - margin
    # (not worse) but not above 0.5 (better would need it)
    assert cheap.low == pytest.approx(0.5, abs=1e-6) and 0.5 < cheap.high < 0.5 + 4 / 28
    assert cheap.low > 0.5 - NONINFERIORITY_MARGIN and cheap.decision == "not worse"
    assert poor.high < 0.5 and poor.decision == "worse"
    assert cheap.cost_per_request == pytest.approx(0.0014) and cheap.incumbent_cost_per_request == pytest.approx(0.0028)
    assert cheap.cost_share == pytest.approx(0.5) and cheap.cost_basis == "measured on the replayed prompts"
    assert cheap.e2e_median_s is not None and cheap.incumbent == LOGGED_MODEL
    assert [decide(0.51, 0.7), decide(0.46, 0.6), decide(0.46, 0.49), decide(0.3, 0.49), decide(0.3, 0.6)] == [
        "better", "not worse", "within margin", "worse", "undecided"]


def test_a_few_items_cannot_be_told_apart(tmp_path, server, env):
    save_profile(env)
    result = invoke("compare", "-c", write_config(tmp_path, server, size=3), "-q", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert "cannot be told apart from the incumbent (openai/gpt-4o) with 3 items" in " ".join(result.output.split())


def test_the_sample_is_seeded_and_its_size_an_option(tmp_path, env):
    save_profile(env)
    judge = JudgeConfig(judge_model="openai/judge")

    def ids(seed: int, size: int = 10) -> list[str]:
        suite = SuiteConfig(name=f"replay:{PROFILE}", size=size, seed=seed, judge=judge)
        return [s.id for s in load_replay_samples(suite, RunOptions(), lambda f: f"suite {f}", env)]

    assert ids(1) == ids(1) and len(ids(1)) == 10 and ids(1) != ids(2)
    samples = load_replay_samples(SuiteConfig(name=f"replay:{PROFILE}", size=5, judge=judge), RunOptions(),
                                  lambda f: f, env)
    first = samples[0]
    assert first.scorer == "judge" and first.scorer_options["mode"] == "pairwise"
    assert first.reference.startswith("INC-") and first.messages[0]["role"] == "system"
    assert "serves that user better" in first.scorer_options["rubric"]


def test_a_profile_without_text_is_refused_with_how_to_keep_it(tmp_path, server, env):
    save_profile(env, with_text=False)
    result = invoke("compare", "-c", write_config(tmp_path, server), "-q")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "bench.yaml" in message and "holds no text" in message and "--keep-text" in message
    assert not [r for r in server.requests], "a call went out for a refused suite"
    with sqlite3.connect(env) as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 0


def test_a_replay_suite_without_a_judge_or_a_missing_profile_is_refused(tmp_path, server, env):
    save_profile(env)
    result = invoke("compare", "-c", write_config(tmp_path, server, judge=False), "-q")
    assert result.exit_code == 2 and "needs a judge" in result.output
    result = invoke("compare", "-m", "openai/x", "-s", "replay:nosuch", "-q")
    assert result.exit_code == 2 and "needs a judge" in result.output
    config = write_config(tmp_path, server)
    path = Path(config)
    path.write_text(path.read_text(encoding="utf-8").replace("replay:support", "replay:other"), encoding="utf-8")
    result = invoke("estimate", "-c", config)
    assert result.exit_code == 2 and "no workload profile 'other'" in result.output


def test_estimate_counts_the_judges_calls_and_dollars(tmp_path, server, env):
    """Judge at $0 input and $10 per 1M output tokens: its dollars are its verdicts alone,
    2 calls per answer x 28 items x 2 models = 112 calls of 50 / 100 / 1,024 tokens."""
    save_profile(env)
    result = invoke("estimate", "-c", write_config(tmp_path, server, judge_price=(0.0, 10.0)))
    assert result.exit_code == 0, result.output
    line = next(row for row in result.output.splitlines() if "Judge openai/judge" in row)
    cells = [c.strip() for c in line.split("│") if c.strip()]
    assert cells[1] == "112"
    assert cells[3] == "5,600–11,200–114,688"
    assert cells[4:7] == ["$0.06", "$0.11", "$1.15"]  # 112 x 50, x 100, x 1,024 tokens at $10 / 1M
    from evalkit import api
    from evalkit.run.estimate import answer_lengths
    from evalkit.run.judge_cost import estimate_judges

    plan = api.estimate_plan(write_config(tmp_path, server, judge_price=(0.0, 10.0))).plan
    samples = [s for items in plan.samples.values() for s in items]
    [judge] = estimate_judges([answer_lengths(m, samples, 512) for m in plan.config.models], samples)
    assert (judge.cost_low, judge.cost_expected, judge.cost_high) == pytest.approx((0.056, 0.112, 1.14688))
    assert "pairwise: 2 calls per answer" in result.output and "All, judging included" in result.output
    # a replayed request's answer is expected as long as the logged one (200 tokens), half of it at least
    cheap = next(row for row in result.output.splitlines() if row.startswith("│ cheap"))
    assert "2,800–5,600–14,336" in cheap
    dry = invoke("compare", "-c", write_config(tmp_path, server, judge_price=(0.0, 10.0)), "--dry-run")
    assert "Judge openai/judge" in dry.output and not server.requests


def test_max_cost_reserves_the_judge_and_stops_before_it_would_be_exceeded(tmp_path, server, env):
    """Each item's worst case is the answer (100 tokens at $2 / 1M: $0.0002) and its judging
    (2 calls x 1,024 tokens at $10 / 1M: $0.02048): $0.02068. The judge really writes 1,000
    tokens per call ($0.02 per item), so $0.07 takes three items: a fourth reservation would
    pass it (3 x $0.0201 + $0.02068 > $0.07). Counting the answers alone would have sent all 56."""
    save_profile(env)

    def answer(request):
        if request.body["model"] == "judge":
            return Reply("Same.\nWinner: tie", prompt_tokens=300, completion_tokens=1000)
        return Reply("CHEAP-01", prompt_tokens=1000, completion_tokens=50)

    costly = type(server)(answer, api_key=KEY).start()
    try:
        config = write_config(tmp_path, costly, judge_price=(0.0, 10.0), prices=((0.0, 2.0), (0.0, 2.0)),
                              run={"max_tokens": 100})
        refused = invoke("compare", "-c", config, "-q", "--max-cost", "0.01")
        assert refused.exit_code == 2
        assert "its judging" in refused.output and "$0.02068" in refused.output
        assert not costly.requests
        result = invoke("compare", "-c", config, "-q", "--max-cost", "0.07")
    finally:
        costly.stop()
    with sqlite3.connect(env) as db:
        spent = db.execute("select count(*), sum(cost_usd), sum(judge_cost_usd) from records").fetchone()
    assert spent[0] == 3, result.output
    assert spent[1] + spent[2] == pytest.approx(3 * (50 * 2e-6 + 2 * 1000 * 10e-6)) and spent[1] + spent[2] <= 0.07
    assert "budget" in result.output


def test_max_cost_refuses_a_judge_without_a_price(tmp_path, server, env, monkeypatch):
    save_profile(env)
    config = write_config(tmp_path, server)
    data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    del data["suites"][0]["judge"]["price"]
    data["suites"][0]["judge"]["judge_model"] = "openai/no-such-judge-model"
    Path(config).write_text(yaml.safe_dump(data), encoding="utf-8")
    result = invoke("compare", "-c", config, "-q", "--max-cost", "5")
    assert result.exit_code == 2 and "judge" in result.output and "price" in result.output


def test_a_failed_call_is_a_loss_and_an_item_the_judge_could_not_decide_is_left_out():
    import pandas as pd

    from evalkit.analysis.incumbent import ReplaySource, compare_incumbent
    from evalkit.config.models import ModelConfig, Price
    from evalkit.economics.pricing import resolve_price

    logged = {f"i{i}": {"model": LOGGED_MODEL, "prompt_tokens": 1000, "completion_tokens": 200} for i in range(4)}
    records = pd.DataFrame([
        {"model": "m", "suite": "replay:p", "sample_id": "i0", "score": 1.0, "error_class": None, "cost_usd": 0.001},
        {"model": "m", "suite": "replay:p", "sample_id": "i1", "score": 0.5, "error_class": None, "cost_usd": 0.001},
        {"model": "m", "suite": "replay:p", "sample_id": "i2", "score": 0.0, "error_class": "timeout",
         "cost_usd": 0.0},
        {"model": "m", "suite": "replay:p", "sample_id": "i3", "score": 0.0, "error_class": "judge",
         "cost_usd": 0.001},
    ])
    price = resolve_price(ModelConfig(id="openai/x", price=Price(input=1.0, output=5.0)))
    [result] = compare_incumbent(records, [ReplaySource("replay:p", "p", logged, price)])
    assert (result.wins, result.ties, result.losses, result.failed, result.unjudged) == (1, 1, 1, 1, 1)
    # the candidate's mean over its three judged calls; the incumbent's 1,000 x $1 + 200 x $5 per 1M
    assert result.cost_per_request == pytest.approx(0.002 / 3)
    assert result.incumbent_cost_per_request == pytest.approx(0.002)
    assert result.decision == "undecided"


def test_a_judge_that_fails_counts_its_worst_case_against_the_budget(tmp_path, server, env):
    """A judge that gives no verdict may still have been paid: its item settles at the
    judge's worst case ($0.02048 of the item's $0.02068), so $0.07 takes at most three items
    of one model. Settled at $0, the same budget would have taken all 28."""
    save_profile(env)

    def answer(request):
        if request.body["model"] == "judge":
            return Reply("I cannot decide.", prompt_tokens=300, completion_tokens=20)
        return Reply("CHEAP-01", prompt_tokens=1000, completion_tokens=50)

    failing = type(server)(answer, api_key=KEY).start()
    try:
        config = write_config(tmp_path, failing, judge_price=(0.0, 10.0), prices=((0.0, 2.0), (0.0, 2.0)),
                              run={"max_tokens": 100})
        data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        data["models"] = [{**data["models"][0], "max_concurrency": 1}]
        Path(config).write_text(yaml.safe_dump(data), encoding="utf-8")
        result = invoke("compare", "-c", config, "-q", "--max-cost", "0.07")
    finally:
        failing.stop()
    with sqlite3.connect(env) as db:
        rows = db.execute("select error_class from records").fetchall()
    assert 1 <= len(rows) <= 3 and all(cls == "judge" for (cls,) in rows), result.output
    assert "Stopped on the budget" in " ".join(result.output.split())


def test_the_profile_comes_from_the_store_named_by_store_and_a_stopped_run_resumes(tmp_path, server, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    monkeypatch.delenv("EVALKIT_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    store = str(tmp_path / "team.db")
    save_profile(store)
    config = write_config(tmp_path, server, size=6, judge_price=(0.0, 10.0), run={"max_tokens": 100})
    assert invoke("estimate", "-c", config, "--store", store).exit_code == 0
    assert invoke("estimate", "-c", config).exit_code == 2  # the default store holds no such profile
    stopped = invoke("compare", "-c", config, "-q", "--store", store, "--max-cost", "0.05")
    assert "Stopped on the budget" in " ".join(stopped.output.split())
    resumed = invoke("compare", "--resume", "last", "-q", "--store", store, "--max-cost", "5")
    assert resumed.exit_code == 0, resumed.output
    with sqlite3.connect(store) as db:
        assert db.execute("select count(*) from records").fetchone()[0] == 2 * 6
