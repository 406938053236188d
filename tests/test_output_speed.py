"""Output speed and inter-token latency against the scripted server streaming at a known rate.

Output speed = (completion tokens − 1) ÷ (E2E − TTFT) and ITL = (E2E − TTFT) ÷ (completion
tokens − 1): the first token arrives inside TTFT, so only the tokens after it are timed.
A one-token reply has neither (*n/a*, never a huge number). The server sleeps to absolute
deadlines, so a reply of k tokens at 80 tok/s spends exactly (k − 1) × 12.5 ms between its
first and last token; the client may add or hide a little of that on a busy machine.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import statistics
from html import unescape

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.console import capacity as capacity_view
from evalkit.economics import sweep
from evalkit.economics.capacity import SLO, SweepOptions
from evalkit.economics.pricing import ModelPrice
from evalkit.economics.sweep import Endpoint
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.store.database import Store
from evalkit.store.records import CallRecord, inter_token_latency_s, output_speed_tps
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer

RATE = 80.0
"""Tokens per second the scripted server streams at: one delta every 12.5 ms."""
TTFT = 0.05
SLACK = 0.003
"""Seconds by which the median measured first-to-last-token time may differ from the
scripted one (measured: about 0.1 ms on a shared 2-core machine, single calls off by up to
45 ms when the process is descheduled, hence medians). Calls go one at a time: streams
started together would have their chunks due together and time each other's parsing."""
TOKEN_COUNTS = (1, 2, 4, 64)
CALLS_PER_COUNT = 5


def reply(tokens: int, answer: int, rate: float = RATE, ttft: float = TTFT) -> Reply:
    """`tokens` streamed deltas, one token each, the last carrying the answer."""
    chunks = ["word "] * (tokens - 1) + [str(answer)]
    return Reply("".join(chunks), chunks=chunks, ttft=ttft, token_delay=1 / rate,
                 prompt_tokens=100, completion_tokens=tokens)


def test_the_definition_counts_the_tokens_after_the_first():
    assert output_speed_tps(4, 0.05, 0.0875) == pytest.approx(80.0)
    assert inter_token_latency_s(4, 0.05, 0.0875) == pytest.approx(0.0125)
    for tokens, ttft, e2e in ((1, 0.05, 0.05004), (8, 0.05, 0.05), (None, 0.05, 0.1), (4, None, 0.1),
                              (float("nan"), 0.05, 0.1), (4, 0.05, float("nan")), (0, 0.05, 0.1)):
        assert output_speed_tps(tokens, ttft, e2e) is None
        assert inter_token_latency_s(tokens, ttft, e2e) is None


def test_speed_and_itl_per_call_pinned_against_the_scripted_rate():
    script = {f"{k}-{i}": reply(k, 7) for k in TOKEN_COUNTS for i in range(CALLS_PER_COUNT)}
    price = ModelPrice(model="m", model_id="openai/scripted", input=1e-6, output=2e-6, source="test")
    records: list[CallRecord] = []
    with ScriptedServer(script) as server:
        target = Target(label="m", model_id="openai/scripted", config_id="openai/scripted", price=price,
                        params={"max_tokens": 128}, api_base=server.base_url, api_key="test", max_concurrency=1)
        jobs = [Job(target, Sample(id=p, suite="s", messages=({"role": "user", "content": p},),
                                   reference=7, scorer="numeric")) for p in script]
        asyncio.run(Runner("run-1", 10.0, RetryPolicy(retries=0), records.append).run(jobs))
    by_count = {k: [r for r in records if r.sample_id.startswith(f"{k}-")] for k in TOKEN_COUNTS}
    assert all(r.error_class is None and r.score == 1.0 for r in records)
    assert all(r.completion_tokens == k for k, rs in by_count.items() for r in rs)

    # One token: nothing to time after it. (The old n ÷ (E2E − TTFT) gave 18,000+ tok/s here.)
    assert all(r.output_speed_tps is None and r.itl_s is None for r in by_count[1])
    for k in (2, 4, 64):
        gap = (k - 1) / RATE  # scripted time from the first token to the last
        speed = statistics.median(r.output_speed_tps for r in by_count[k])
        itl = statistics.median(r.itl_s for r in by_count[k])
        # 80 tok/s within the slack; n ÷ (E2E − TTFT) would give 160, 107 and 81.3 tok/s.
        assert (k - 1) / (gap + SLACK) <= speed <= (k - 1) / (gap - SLACK), (k, speed)
        assert (gap - SLACK) / (k - 1) <= itl <= (gap + SLACK) / (k - 1), (k, itl)
        for r in by_count[k]:  # the record's two figures are one measurement
            assert r.output_speed_tps * r.itl_s == pytest.approx(1.0)


SUITE = [{"id": f"q{i}", "prompt": f"q{i}", "reference": 7, "scorer": "numeric"} for i in range(6)]


def _answer(request):
    """steady: 80 tok/s, 64-token replies, all right. quick: 160 tok/s, 4-token replies but a
    one-token q5, wrong. labels: one-token replies, q5 wrong."""
    i = int(request.prompt[1:])
    answer = 8 if i == 5 and request.body["model"] != "steady" else 7
    return {"steady": reply(64, answer),
            "quick": reply(1 if i == 5 else 4, answer, rate=2 * RATE),
            "labels": reply(1, answer, ttft=0.15)}[request.body["model"]]


def _config(tmp_path, server) -> str:
    suite = tmp_path / "items.jsonl"
    suite.write_text("".join(json.dumps(row) + "\n" for row in SUITE), encoding="utf-8")
    prices = {"steady": (1.0, 2.0), "quick": (0.5, 1.0), "labels": (0.1, 0.2)}
    config = tmp_path / "bench.yaml"
    config.write_text("models:\n" + "".join(
        f"  - {{id: openai/{m}, label: {m}, api_base: '{server.base_url}', api_key_env: EVALKIT_TEST_KEY,"
        f" max_concurrency: 1, price: {{input: {i}, output: {o}}}}}\n" for m, (i, o) in prices.items())
        + f"suites:\n  - {{name: items, path: {suite}}}\n", encoding="utf-8")
    return str(config)


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_compare_reports_speed_itl_and_their_ratio_by_the_definition(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", "sk-test")
    store = tmp_path / "h.db"
    with ScriptedServer(_answer, api_key="sk-test") as server:
        result = CliRunner().invoke(main, [
            "compare", "-c", _config(tmp_path, server), "--store", str(store), "--results-dir",
            str(tmp_path / "results"), "--report", "html", "--report", "pdf", "--report", "md"],
            catch_exceptions=False, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output

    # The terminal scorecard: median speed with its n, ITL, and n/a for one-token replies.
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.startswith("│")}
    speeds = {m: re.search(r"(\d+) tok/s \(n=(\d+)\)", rows[m]) for m in ("steady", "quick")}
    assert 80 * 0.95 <= int(speeds["steady"][1]) <= 80 * 1.05 and speeds["steady"][2] == "6"
    assert 160 * 0.85 <= int(speeds["quick"][1]) <= 160 * 1.15 and speeds["quick"][2] == "5"
    assert re.search(r"\b12\.\d ms\b", rows["steady"])  # ITL 12.5 ms
    labels = [cell.strip() for cell in rows["labels"].split("│")]
    assert labels.count("n/a") == 2 and "tok/s" not in rows["labels"]

    with sqlite3.connect(store) as db:
        stored = dict(db.execute("select model, max(output_speed_tps) from records group by model"))
    assert stored["labels"] is None and stored["steady"] == pytest.approx(80, rel=0.2)

    (run_dir,) = (tmp_path / "results").iterdir()
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    html = unescape((run_dir / "report.html").read_text(encoding="utf-8"))
    pdf = re.sub(r"\s+", " ", _pdf_text(run_dir / "report.pdf"))
    for text in (md, html, pdf):
        # fast = quick, compared with the most accurate, steady: 160 vs 80 tok/s, true ratio 2.0
        # (n ÷ (E2E − TTFT) said 2.6x); cheap = labels, whose one-token replies have no speed.
        ratio = re.search(r"(\d+\.\d)x the output speed of steady \(medians over 5 and 6 calls\)", text)
        assert ratio and 1.7 <= float(ratio[1]) <= 2.3, text[:3000]
        assert "its output speed cannot be compared with steady's (n/a for labels" in text
        assert "(n=6)" in text and "(n=5)" in text and "n/a" in text and "ITL p50" in text
        assert "(completion tokens − 1) ÷ (end-to-end − TTFT)" in text
        assert "inf" not in re.findall(r"\binf\b", text.lower())
    summary = (run_dir / "summary.csv").read_text(encoding="utf-8").splitlines()
    header = summary[0].split(",")
    assert {"speed_n", "itl_p50", "itl_p95"} <= set(header)
    labels_all = next(line.split(",") for line in summary if line.startswith("labels,ALL,"))
    assert labels_all[header.index("speed_n")] == "0" and labels_all[header.index("speed_p50")] == ""


def test_a_store_from_before_schema_5_has_its_speeds_recomputed(tmp_path):
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    old = [("one", 1, 0.05, 0.05004, 1 / 0.00004), ("four", 4, 0.05, 0.0875, 4 / 0.0375),
           ("failed", None, None, None, None)]
    for sample_id, tokens, ttft, e2e, speed in old:  # speeds as n ÷ (E2E − TTFT) stored them
        store.add_record(CallRecord(run_id="r", model="m", model_id="x", suite="s", sample_id=sample_id,
                                    request_hash="h", completion_tokens=tokens, ttft_s=ttft, e2e_s=e2e,
                                    output_speed_tps=speed))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE evalkit_meta SET value='4' WHERE key='schema_version'")
    frame = Store(f"sqlite:///{path}").records_frame("r").set_index("sample_id")
    assert frame.loc["four", "output_speed_tps"] == pytest.approx(80.0)
    assert frame[["output_speed_tps"]].loc[["one", "failed"]].isna().all().all()


def test_capacity_steps_share_the_definition_and_say_n_a_for_one_token_replies():
    options = SweepOptions(concurrency=(1,), step_seconds=1.0, warmup_seconds=0.1, max_tokens=16)
    steps = {}
    for tokens in (1, 9):
        with ScriptedServer(reply(tokens, 7)) as server:
            result = sweep.sweep(Endpoint("openai/scripted", server.base_url, "test"),
                                    [({"role": "user", "content": "q"},)], hourly_cost=1.0,
                                    slo=SLO(speed_p50_tps=20), options=options, suite="t")
        steps[tokens] = result.steps[0]
        print("\n".join(capacity_view.step_table(result)))
    one, nine = steps[1], steps[9]
    assert one.n > 0 and one.decode_n == 0 and one.speed_p50 is None and one.itl_p50 is None
    assert not one.meets_slo and "n/a" in one.failures[0]
    assert capacity_view.step_table_lines(one)[0].split()[7:10:2] == ["n/a", "n/a"]  # ITL p50, speed p50
    assert nine.decode_n == nine.n and nine.meets_slo
    assert nine.speed_p50 == pytest.approx(RATE, rel=0.1)  # 8 ÷ 0.1 s; 9 ÷ 0.1 s said 90
    assert nine.itl_p50 == pytest.approx(1 / RATE, rel=0.1)
