"""Regression checks, history, epochs and shards: on DataFrames, and end to end through
`evalkit compare` / `regress` / `history` against the scripted loopback server, whose
answers depend on a per-test state (a provider that silently got worse between runs)."""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from evalkit.analysis import epoch_spread, paired_runs
from evalkit.analysis.regress import Thresholds, check_runs, parse_fraction
from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.run.shards import Shard
from evalkit.store.database import RunRow
from evalkit.testing.scripted_server import Reply

ITEMS = 60


# ---------------------------------------------------------------------------- on frames


def run_row(run_id: str, price_in: float = 1.0) -> RunRow:
    price = {"model": "m", "model_id": "openai/m", "input": price_in * 1e-6, "output": 2e-6,
             "cached_input": None, "hourly_cost": None, "hourly_slots": 1, "source": "config override",
             "as_of": "2026-01-01"}
    return RunRow(run_id, 0.0, 1.0, "finished", {}, "h", "0", {"m": price}, ["m"], ["s"])


def frame(scores, e2e=1.0, cost=0.0012, model="m", suite="s", epoch=0) -> pd.DataFrame:
    n = len(scores)
    e2e = np.broadcast_to(np.asarray(e2e, float), (n,))
    return pd.DataFrame({
        "model": model, "suite": suite, "sample_id": [f"q{i}" for i in range(n)], "cluster": None,
        "epoch": epoch, "score": list(map(float, scores)), "error_class": None, "e2e_s": e2e,
        "ttft_s": 0.1, "output_speed_tps": 50.0, "prompt_tokens": 1000, "completion_tokens": 100,
        "cached_tokens": None, "cost_usd": cost,
    })


def check(report, metric, model="m", suite="s"):
    return next(c for c in report.checks if (c.metric, c.model, c.suite) == (metric, model, suite))


def test_identical_runs_are_clean():
    scores = [1] * 150 + [0] * 50
    report = check_runs(run_row("a"), frame(scores), run_row("b"), frame(scores), Thresholds())
    assert not report.regressed
    acc = check(report, "accuracy")
    assert acc.change == 0 and acc.p_value == 1.0 and acc.method == "mcnemar-exact"


def test_significant_accuracy_drop_beyond_threshold_is_a_regression():
    base = [1] * 150 + [0] * 50
    cand = [1] * 130 + [0] * 70  # 20 items newly wrong
    report = check_runs(run_row("a"), frame(base), run_row("b"), frame(cand), Thresholds())
    acc = check(report, "accuracy")
    assert acc.regressed and acc.change == pytest.approx(-0.10)
    assert acc.p_value < 1e-5 and acc.low < -0.10 < acc.high < 0
    assert (acc.baseline, acc.candidate) == (0.75, 0.65)
    # the same drop under a 15-point allowance is not a regression
    lenient = check_runs(run_row("a"), frame(base), run_row("b"), frame(cand), Thresholds(max_accuracy_drop=0.15))
    assert not lenient.regressed


def test_small_drop_that_is_not_significant_is_no_regression():
    base = [1] * 15 + [0] * 5
    cand = [1] * 13 + [0] * 7
    report = check_runs(run_row("a"), frame(base), run_row("b"), frame(cand), Thresholds())
    acc = check(report, "accuracy")
    assert acc.change == pytest.approx(-0.10) and acc.p_value == pytest.approx(0.5) and not acc.regressed


def test_holm_correction_over_many_suites():
    base = pd.concat([frame([1] * 40 + [0] * 10, suite=f"s{i}") for i in range(10)])
    drop = [1] * 33 + [0] * 17  # 7 newly wrong: p = 2 * 0.5**7 = 0.0156 alone
    cand = pd.concat([frame(drop if i == 0 else [1] * 40 + [0] * 10, suite=f"s{i}") for i in range(10)])
    report = check_runs(run_row("a"), base, run_row("b"), cand, Thresholds())
    acc = check(report, "accuracy", suite="s0")
    assert acc.p_value == pytest.approx(0.015625)
    assert acc.p_adjusted == pytest.approx(0.15625) and not acc.regressed


def test_latency_p95_increase_is_a_regression_with_its_interval():
    rng = np.random.default_rng(1)
    scores = [1] * 100
    base = frame(scores, e2e=rng.uniform(0.9, 1.1, 100))
    slow = frame(scores, e2e=rng.uniform(1.35, 1.65, 100))
    report = check_runs(run_row("a"), base, run_row("b"), slow, Thresholds())
    lat = check(report, "latency_p95")
    assert lat.regressed and 0.4 < lat.change < 0.6 and 0.2 < lat.low < lat.change < lat.high
    same = frame(scores, e2e=rng.uniform(0.9, 1.1, 100))
    assert not check(check_runs(run_row("a"), base, run_row("b"), same, Thresholds()), "latency_p95").regressed


def test_changed_price_is_named_as_the_cause_of_a_cost_increase():
    scores = [1] * 50
    # 1000 prompt tokens at $1 -> $1.25 per 1M, 100 completion tokens at $2 per 1M
    base = frame(scores, cost=1000 * 1e-6 + 100 * 2e-6)
    cand = frame(scores, cost=1000 * 1.25e-6 + 100 * 2e-6)
    report = check_runs(run_row("a"), base, run_row("b", price_in=1.25), cand, Thresholds())
    cost = check(report, "cost")
    assert cost.regressed and cost.cause == "price change"
    assert cost.change == pytest.approx(0.25 / 1.2)
    assert "price +20.8%" in cost.note and "token usage +0.0%" in cost.note
    assert any("price changed from $1.000 in" in note for note in report.notes)


def test_token_usage_increase_without_price_change():
    base = frame([1] * 50, cost=0.001)
    cand = frame([1] * 50, cost=0.0013)
    cost = check(check_runs(run_row("a"), base, run_row("b"), cand, Thresholds()), "cost")
    assert cost.regressed and cost.cause == "token usage"
    unknown = frame([1] * 50, cost=None)
    skipped = check(check_runs(run_row("a"), base, run_row("b"), unknown, Thresholds()), "cost")
    assert skipped.skipped and not skipped.regressed and "unknown" in skipped.note


def test_clustered_checks_rest_on_clusters_and_say_when_they_are_few():
    """Accuracy and cost flip the same units: 40 items in 4 clusters are 4 pieces of evidence."""
    clusters = [f"c{i // 10}" for i in range(40)]
    base = frame([1] * 40, cost=0.001).assign(cluster=clusters)
    # one whole cluster got worse and 4x dearer: as items, a clear regression ...
    cand = frame([0] * 10 + [1] * 30, cost=[0.004] * 10 + [0.001] * 30).assign(cluster=clusters)
    unclustered = check_runs(run_row("a"), base.assign(cluster=None), run_row("b"), cand.assign(cluster=None),
                             Thresholds())
    assert check(unclustered, "cost").regressed and check(unclustered, "accuracy").regressed
    # ... as clusters, one cluster in four moved: nothing 4 clusters can tell apart from noise
    report = check_runs(run_row("a"), base, run_row("b"), cand, Thresholds())
    acc, cost = check(report, "accuracy"), check(report, "cost")
    assert (acc.method, cost.method) == ("sign-flip-exact", "sign-flip-exact")
    assert not acc.regressed and not cost.regressed and acc.p_value == 1.0
    assert cost.change == pytest.approx(0.75) and cost.low < 0 < cost.high
    for c in (acc, cost):
        assert "rests on 4 independent clusters, fewer than 20: only a large change can be significant" in c.note


def test_cost_from_estimated_token_counts_is_noted():
    base = frame([1] * 50, cost=0.001).assign(usage_source="provider")
    cand = frame([1] * 50, cost=0.0013).assign(usage_source="estimated")
    cost = check(check_runs(run_row("a"), base, run_row("b"), cand, Thresholds()), "cost")
    assert cost.regressed
    assert "≈ candidate: 50 of 50 calls costed from estimated token counts (no usage reported)" in cost.note
    assert "baseline" not in cost.note


def test_runs_without_shared_model_and_suite_are_bad_input():
    with pytest.raises(UsageError, match="share no model"):
        check_runs(run_row("a"), frame([1], model="x"), run_row("b"), frame([1], model="y"), Thresholds())


def test_thresholds_read_percent_or_fraction():
    assert parse_fraction("20%", "--x") == pytest.approx(0.2)
    assert parse_fraction("0.02", "--x") == pytest.approx(0.02)
    assert parse_fraction("2", "--x") == pytest.approx(0.02)
    with pytest.raises(UsageError, match="percentage"):
        parse_fraction("lots", "--x")


def test_paired_runs_flips_whole_items_with_epochs():
    base = pd.concat([frame([1] * 30 + [0] * 10, epoch=e) for e in range(3)])
    cand = pd.concat([frame([1] * 20 + [0] * 20, epoch=e) for e in range(3)])
    result = paired_runs(base, cand, "m")
    # an item's three epochs are one unit: 40 units, not 120 independent pairs
    assert result.method == "sign-flip" and result.n == 120 and result.units == 40
    assert result.mean_diff == pytest.approx(-0.25) and result.high < 0


def test_epoch_spread():
    # item q0 flips between epochs, the others are stable
    rows = pd.concat([frame([e % 2, 1, 0, 1], epoch=e) for e in range(4)])
    spread = epoch_spread(rows).iloc[0]
    assert spread["epochs"] == 4 and spread["items"] == 4
    assert spread["inconsistent"] == pytest.approx(0.25)
    assert spread["accuracy_sd"] == pytest.approx(np.std([0.5, 0.75, 0.5, 0.75], ddof=1))
    by_suite = epoch_spread(rows, ("model", "suite")).iloc[0]  # the suite as a key of its own
    assert (by_suite["suite"], by_suite["items"], by_suite["inconsistent"]) == ("s", 4, pytest.approx(0.25))


def test_shards_cover_every_item_once_and_are_balanced():
    from evalkit.suites.base import Sample

    items = {"s": [Sample(id=f"q{i}", suite="s", messages=({"role": "user", "content": "x"},),
                          reference="1", scorer="exact") for i in range(31)]}
    shares = [Shard(i, 3).select(items)["s"] for i in (1, 2, 3)]
    ids = [s.id for share in shares for s in share]
    assert sorted(ids) == sorted(s.id for s in items["s"]) and len(set(ids)) == 31
    assert sorted(len(share) for share in shares) == [10, 10, 11]
    assert [s.id for s in Shard(2, 3).select(items)["s"]] == [s.id for s in shares[1]]
    with pytest.raises(UsageError, match="I/N"):
        Shard.parse("2-3")
    with pytest.raises(UsageError, match="between 1 and N"):
        Shard.parse("4/3")


# ---------------------------------------------------------------------------- end to end


@pytest.fixture
def suite_file(tmp_path):
    path = tmp_path / "sums.jsonl"
    rows = [{"id": f"q{i}", "prompt": f"{i}+{i}?", "reference": 2 * i, "scorer": "numeric"} for i in range(ITEMS)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def provider(scripted_server):
    """A model whose answers and speed follow `state`: flip it to simulate a silent change."""
    state = {"wrong_from": ITEMS, "ttft": 0.2}

    def answer(request):
        i = int(request.prompt.split("+")[0])
        right = i < state["wrong_from"]
        return Reply(f"Answer: {2 * i if right else 2 * i + 1}", ttft=state["ttft"],
                     prompt_tokens=100, completion_tokens=10)

    server = scripted_server(answer)
    server.state = state
    return server


def bench(tmp_path, server, suite_file, price_in=1.0, name="nightly.yaml"):
    path = tmp_path / name
    path.write_text(f"""
models:
  - id: openai/scripted
    label: m
    api_base: {server.base_url}
    price: {{input: {price_in}, output: 2.0}}
suites:
  - name: sums
    path: {suite_file}
""", encoding="utf-8")
    return str(path)


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def nightly(tmp_path, config, *extra):
    # These runs check accuracy: the loopback server's latency moves with the machine's load
    # (other tests, other jobs), so latency gets room that a real provider would not.
    return invoke("compare", "-c", config, "--store", str(tmp_path / "h.db"), "--results-dir",
                  str(tmp_path / "results"), "-q", "--tag", "nightly", "--baseline", "last:nightly",
                  "--max-latency-increase", "400%", *extra)


def run_ids(tmp_path):
    with sqlite3.connect(tmp_path / "h.db") as db:
        return [r[0] for r in db.execute("select run_id from runs order by started_at")]


def test_nightly_fails_only_on_a_real_regression(tmp_path, provider, suite_file):
    config = bench(tmp_path, provider, suite_file)
    first = nightly(tmp_path, config)
    assert first.exit_code == 0, first.output
    assert "No baseline yet" in first.output

    second = nightly(tmp_path, config)
    assert second.exit_code == 0, second.output
    assert "No regression" in second.output

    provider.state["wrong_from"] = 40  # the provider silently gets 20 of 60 items wrong
    third = nightly(tmp_path, config)
    assert third.exit_code == 1, third.output
    assert "REGRESSION: m / sums: accuracy 100.0% → 66.7% (−33.3 pts, 95% CI [" in third.output

    ids = run_ids(tmp_path)
    run_dir = tmp_path / "results" / ids[2]
    summary = (run_dir / "regression.md").read_text()
    assert "**1 regression(s)**" in summary and f"baseline `{ids[1]}`" in summary
    suite = ET.parse(run_dir / "regression.junit.xml").getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    failed = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["accuracy"]
    assert "![history](history.png)" in (run_dir / "report.md").read_text()
    assert (run_dir / "history.png").read_bytes()[:4] == b"\x89PNG"

    # the same comparison from `evalkit regress`, and bad input exits 2
    store = str(tmp_path / "h.db")
    again = invoke("regress", "--baseline", ids[0], "--candidate", ids[2], "--store", store,
                   "--results-dir", str(tmp_path / "results"))
    assert again.exit_code == 1 and "accuracy" in again.output
    clean = invoke("regress", "--baseline", ids[0], "--candidate", ids[1], "--store", store,
                   "--junit", str(tmp_path / "clean.xml"), "--markdown", str(tmp_path / "clean.md"))
    assert clean.exit_code == 0 and (tmp_path / "clean.xml").exists()
    for args in (["--baseline", "nope"], ["--baseline", ids[0], "--max-cost-increase", "lots"],
                 ["--baseline", ids[2], "--candidate", ids[2]]):
        bad = CliRunner().invoke(main, ["regress", *args, "--store", store])
        assert bad.exit_code == 2 and bad.output.startswith("error: "), bad.output

    # history: a trend per model and suite, and a chart
    chart = tmp_path / "trend.svg"
    shown = invoke("history", "--store", store, "--suite", "sums", "--chart", str(chart), "--by-run")
    assert shown.exit_code == 0, shown.output
    assert "66.7%" in shown.output and f"Chart: {chart}" in shown.output
    assert chart.read_text().lstrip().startswith("<?xml")


def test_a_price_change_fails_the_nightly_and_is_named(tmp_path, provider, suite_file):
    assert nightly(tmp_path, bench(tmp_path, provider, suite_file)).exit_code == 0
    dearer = nightly(tmp_path, bench(tmp_path, provider, suite_file, price_in=1.5, name="dearer.yaml"))
    assert dearer.exit_code == 1, dearer.output
    assert "REGRESSION: m / sums: cost per task (price change)" in dearer.output
    assert "note: m: price changed from $1.000 in / $2.000 out per 1M tokens" in dearer.output


def test_epochs_ask_each_item_k_times(tmp_path, provider, suite_file):
    result = invoke("compare", "-c", bench(tmp_path, provider, suite_file), "--epochs", "3", "--limit", "5",
                    "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "results"), "-q")
    assert result.exit_code == 0, result.output
    assert "epochs: m — 3 answers per item" in result.output
    with sqlite3.connect(tmp_path / "h.db") as db:
        rows = db.execute("select sample_id, epoch from records").fetchall()
        (config,), = db.execute("select config_json from runs").fetchall()
    assert len(rows) == 15 and len(set(rows)) == 15 and {e for _, e in rows} == {0, 1, 2}
    assert json.loads(config)["run"]["epochs"] == 3


def test_shards_into_one_sqlite_run(tmp_path, provider, suite_file):
    config = bench(tmp_path, provider, suite_file)
    store = str(tmp_path / "h.db")

    def shard(i):
        return CliRunner().invoke(main, ["compare", "-c", config, "--shard", f"{i}/3", "--run-id", "night-1",
                                         "--store", store, "--results-dir", str(tmp_path / "results"), "-q"])

    first = shard(1)
    assert first.exit_code == 0 and "1 of 3 shards have reported" in first.output
    assert shard(2).exit_code == 0
    with sqlite3.connect(store) as db:
        assert db.execute("select status from runs").fetchone() == ("running",)
    assert shard(3).exit_code == 0
    with sqlite3.connect(store) as db:
        assert db.execute("select status from runs").fetchone() == ("finished",)
        ids = [r[0] for r in db.execute("select sample_id from records")]
    assert sorted(ids) == sorted(f"q{i}" for i in range(ITEMS))
    again = shard(2)
    assert again.exit_code == 2 and "already started" in again.output
    missing = CliRunner().invoke(main, ["compare", "-c", config, "--shard", "1/3", "--store", store])
    assert missing.exit_code == 2 and "--run-id" in missing.output


def test_latency_timed_under_client_lag_is_left_out_of_the_latency_check():
    rng = np.random.default_rng(2)
    scores = [1] * 100
    base = frame(scores, e2e=rng.uniform(0.9, 1.1, 100)).assign(loop_lag_ms=1.0)
    # Same provider; a fifth of the candidate's calls were slow because evalkit's loop lagged.
    cand = frame(scores, e2e=np.r_[rng.uniform(0.9, 1.1, 80), rng.uniform(3, 4, 20)])
    cand = cand.assign(loop_lag_ms=[1.0] * 80 + [250.0] * 20)
    lat = check(check_runs(run_row("a"), base, run_row("b"), cand, Thresholds()), "latency_p95")
    assert not lat.regressed and lat.n == 80 and "20 call(s) timed under client lag left out" in lat.note
