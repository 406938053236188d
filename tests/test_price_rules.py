"""Price rules: every call costed by the rules that apply to it, at the wire and in the projection.

Expected costs are worked out by hand in each test from the rates it names (litellm
1.110.2's local map, evalkit/data/prices.yaml), to the cent at sizes where cents show.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import urllib.request
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.config.models import ModelConfig, RunConfig, SuiteConfig
from evalkit.economics.price_file import load_price_file, stale
from evalkit.economics.pricing import ModelPrice, from_snapshot, resolve_price, snapshot
from evalkit.economics.purchase import parse_purchase
from evalkit.errors import UsageError
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.store.database import Store
from evalkit.store.records import CallRecord
from evalkit.store.schema import SCHEMA_VERSION
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer

SATURDAY_NOON = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc).timestamp()
MONDAY_2AM = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc).timestamp()


def price(model_id: str) -> ModelPrice:
    return resolve_price(ModelConfig(id=model_id))


def cents(value: float | None) -> float:
    assert value is not None
    return round(value, 2)


# --- the rules, call by call ------------------------------------------------------------


def test_anthropic_cache_reads_and_writes_each_pay_their_own_rate():
    haiku = price("anthropic/claude-haiku-4-5")  # $1 in, $5 out, $0.10 read, $1.25 write per 1M
    # 1M prompt tokens: 600k read from the cache, 200k written to it, 200k neither; 30k out
    cost = haiku.cost(1_000_000, 30_000, 600_000, cache_write_tokens=200_000)
    assert cost == pytest.approx(0.20 + 0.06 + 0.25 + 0.15)
    assert cents(cost) == 0.66
    # the same call bought in a batch: $0.50 in, $2.50 out, $0.05 read, $0.625 write
    batch = haiku.cost(1_000_000, 30_000, 600_000, cache_write_tokens=200_000, purchase="batch")
    assert batch == pytest.approx(0.10 + 0.03 + 0.125 + 0.075) and cents(batch) == 0.33
    assert haiku.cost(1_000_000, 30_000, purchase="flex") is None  # no flex price: unavailable


def test_qwen_plus_is_billed_by_its_input_length_tier_and_its_thinking_rate():
    qwen = price("dashscope/qwen-plus")  # prices.yaml: $0.4/$1.2, thinking $4; above 256k $1.2/$3.6, thinking $12
    assert qwen.rule_sources["tiers"]["source"].startswith("https://www.alibabacloud.com/")
    # 100k prompt tokens, 50k output of which 40k thinking: the whole output at the thinking rate
    assert cents(qwen.cost(100_000, 50_000, reasoning_tokens=40_000)) == 0.24  # 0.04 + 0.20
    assert cents(qwen.cost(100_000, 50_000)) == 0.10  # no thinking: 0.04 + 50k at the output rate 0.06
    # 300k prompt tokens: every token at the tier above 256k
    assert cents(qwen.cost(300_000, 50_000, reasoning_tokens=40_000)) == 0.96  # 0.36 + 0.60
    assert cents(qwen.cost(300_000, 50_000)) == 0.54  # 0.36 + 0.18
    assert cents(qwen.cost(300_000, 50_000, purchase="batch")) == 0.27  # 0.18 + 0.09


def test_gpt_prices_above_272k_tokens_and_its_purchase_options():
    gpt = price("openai/gpt-5.4")  # $2.5/$15, above 272k $5/$22.5; batch above 272k $2.5/$11.25
    assert cents(gpt.cost(200_000, 10_000)) == 0.65  # 0.50 + 0.15
    assert gpt.cost(300_000, 10_000) == pytest.approx(1.50 + 0.225)
    assert gpt.cost(300_000, 10_000, purchase="batch") == pytest.approx(0.75 + 0.1125)
    assert gpt.cost(200_000, 10_000, purchase="priority") == pytest.approx(1.00 + 0.30)
    # the map has no priority price above 272k tokens: unknown, never the standard price
    assert gpt.cost(300_000, 10_000, purchase="priority") is None


def test_a_separate_reasoning_token_rate_from_the_map():
    turbo = price("dashscope/qwen-turbo")  # $0.05 in, $0.2 out, reasoning tokens $0.5 per 1M
    assert turbo.reasoning_output == pytest.approx(0.5e-6) and turbo.reasoning_billing == "reasoning_tokens"
    # 1M prompt, 1M output of which 600k reasoning: 0.05 + 0.4 * 0.2 + 0.6 * 0.5
    assert turbo.cost(1_000_000, 1_000_000, reasoning_tokens=600_000) == pytest.approx(0.05 + 0.08 + 0.30)


def test_deepseek_cache_hits_and_off_peak_windows():
    flash = price("deepseek/deepseek-v4-flash")  # $0.30 in, $1.20 out, $0.006 hit; off-peak $0.15/$0.60/$0.003
    assert flash.cache_write is None  # the map's 0 means "no separate write price", not free writes
    # 1M prompt of which 800k cache hits, 100k out, sent Monday 02:00 UTC (peak)
    assert flash.cost(1_000_000, 100_000, 800_000, at=MONDAY_2AM) == pytest.approx(0.06 + 0.0048 + 0.12)
    assert cents(flash.cost(1_000_000, 100_000, 800_000, at=MONDAY_2AM)) == 0.18
    # the same call on Saturday noon (off-peak all weekend)
    assert flash.cost(1_000_000, 100_000, 800_000, at=SATURDAY_NOON) == pytest.approx(0.03 + 0.0024 + 0.06)
    assert flash.cost(1_000_000, 100_000, purchase="batch") is None  # DeepSeek sells no batch option


def test_the_resolved_rules_are_kept_in_the_run_price_snapshot(tmp_path):
    prices = [price(m) for m in ("dashscope/qwen-plus", "anthropic/claude-haiku-4-5", "openai/gpt-5.4")]
    store = Store(str(tmp_path / "h.db"))
    store.start_run("r1", {"models": [], "suites": []}, "hash", "0.1.0", snapshot(prices))
    stored = from_snapshot(store.run("r1").price_snapshot)
    for original in prices:
        kept = stored[original.model]
        assert asdict(kept) == asdict(original)
        assert kept.cost(300_000, 50_000, 1000, reasoning_tokens=40_000, cache_write_tokens=500) == \
            original.cost(300_000, 50_000, 1000, reasoning_tokens=40_000, cache_write_tokens=500)
    old_style = {"m": {"model": "m", "model_id": "x", "input": 1e-6, "output": 2e-6, "cached_input": None,
                       "hourly_cost": None, "hourly_slots": 1, "source": "s", "as_of": "2026-01-01"}}
    assert from_snapshot(old_style)["m"].cost(100, 10) == pytest.approx(120e-6)  # a schema-6 run's snapshot


# --- at the wire: each provider's usage shape, through the fast path and litellm --------


def _run(target: Target, prompt: str = "q") -> CallRecord:
    records: list[CallRecord] = []
    runner = Runner("r", 10.0, RetryPolicy(retries=0, base_delay=0.01), records.append)
    sample = Sample(id=prompt, suite="s", messages=({"role": "user", "content": prompt},), reference=4,
                    scorer="numeric")
    asyncio.run(runner.run([Job(target, sample)]))
    return records[0]


def _target(server: ScriptedServer, model_id: str, api_base: str | None = None) -> Target:
    return Target(label=model_id, model_id=model_id, config_id=model_id, price=price(model_id),
                  params={"max_tokens": 64}, api_base=api_base or server.base_url, api_key="k")


@pytest.mark.parametrize(("model_id", "shape", "expected", "off_peak"), [
    # 1M prompt tokens, 750k of them cached, 10k out
    ("deepseek/deepseek-v4-flash", "deepseek", 0.25e6 * 0.30e-6 + 0.75e6 * 0.006e-6 + 1e4 * 1.2e-6,  # $0.09
     0.25e6 * 0.15e-6 + 0.75e6 * 0.003e-6 + 1e4 * 0.6e-6),  # $0.05 when sent off-peak
    ("moonshot/kimi-k2.6", "moonshot", 0.25e6 * 0.95e-6 + 0.75e6 * 0.16e-6 + 1e4 * 4e-6, None),  # $0.40
    ("zai/glm-4.6", "zai", 0.25e6 * 0.6e-6 + 0.75e6 * 0.11e-6 + 1e4 * 2.2e-6, None),  # $0.25
    # 1M prompt tokens is above 272k: the whole call at that tier's $5 / $0.50 cached / $22.50 out
    ("openai/gpt-5.4", "openai", 0.25e6 * 5e-6 + 0.75e6 * 0.5e-6 + 1e4 * 22.5e-6, None),  # $1.85
])
def test_cached_tokens_from_each_providers_usage_shape_on_the_fast_path(model_id, shape, expected, off_peak):
    from evalkit.economics.pricing import is_off_peak

    reply = Reply("The answer is 4", prompt_tokens=1_000_000, completion_tokens=10_000, cached_tokens=750_000,
                  usage_shape=shape)
    with ScriptedServer(reply, api_key="k") as server:
        record = _run(_target(server, model_id))
        (request,) = server.chat_requests()
    assert request.path.endswith("/chat/completions")
    assert (record.score, record.prompt_tokens, record.cached_tokens) == (1.0, 1_000_000, 750_000)
    if off_peak is not None and is_off_peak(record.started_at, price(model_id).off_peak):
        expected = off_peak
    assert record.cost_usd == pytest.approx(expected)
    assert cents(record.cost_usd) == round(expected, 2)


def test_the_scripted_server_sends_each_usage_shape_as_the_provider_does():
    shapes = {shape: Reply("x", prompt_tokens=100, completion_tokens=5, cached_tokens=60, usage_shape=shape).usage()
              for shape in ("openai", "deepseek", "moonshot", "zai")}
    assert shapes["deepseek"]["prompt_cache_hit_tokens"] == 60 and shapes["deepseek"]["prompt_cache_miss_tokens"] == 40
    assert "prompt_tokens_details" not in shapes["deepseek"]
    assert shapes["moonshot"]["cached_tokens"] == 60 and "prompt_tokens_details" not in shapes["moonshot"]
    assert shapes["zai"]["prompt_tokens_details"] == shapes["openai"]["prompt_tokens_details"] == {"cached_tokens": 60}
    with pytest.raises(ValueError, match="usage_shape"):
        Reply(usage_shape="nonsense")


def _anthropic_reply() -> Reply:
    return Reply("The answer is 4", reasoning="two plus two", prompt_tokens=1_000_000, completion_tokens=30_000,
                 cached_tokens=600_000, cache_write_tokens=200_000, ttft=0.05)


def test_anthropic_messages_stream_at_http():
    body = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": "2+2?"}]}).encode()
    with ScriptedServer(_anthropic_reply(), api_key="k") as server:
        request = urllib.request.Request(f"{server.url}/v1/messages", body, method="POST",
                                         headers={"x-api-key": "k", "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
    events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in text.strip().split("\n\n")]
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert all(payload["type"] == name for name, payload in events)
    usage = events[0][1]["message"]["usage"]
    assert usage == {"input_tokens": 200_000, "cache_creation_input_tokens": 200_000,
                     "cache_read_input_tokens": 600_000, "output_tokens": 1}
    deltas = [p["delta"] for n, p in events if n == "content_block_delta"]
    assert "".join(d.get("thinking", "") for d in deltas) == "two plus two"
    assert "".join(d.get("text", "") for d in deltas) == "The answer is 4"
    assert events[-2][1]["usage"] == {"output_tokens": 30_000}
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_litellm_anthropic_route_at_http_reads_cache_reads_and_writes_and_costs_them():
    """litellm 1.110.2 hands Anthropic's usage back as prompt_tokens = all three kinds of
    prompt token, with cache reads in prompt_tokens_details.cached_tokens and writes in
    its cache_write_tokens; the thinking block arrives as reasoning_content."""
    with ScriptedServer(_anthropic_reply(), api_key="k") as server:
        record = _run(_target(server, "anthropic/claude-haiku-4-5", api_base=server.url), prompt="2+2?")
        (request,) = server.chat_requests()
    assert request.path == "/v1/messages" and request.headers["x-api-key"] == "k"
    assert record.error_class is None and record.score == 1.0 and record.response_text == "The answer is 4"
    assert (record.prompt_tokens, record.cached_tokens, record.cache_write_tokens) == (1_000_000, 600_000, 200_000)
    # 200k uncached at $1 + 600k read at $0.10 + 200k written at $1.25 + 30k out at $5 per 1M
    assert record.cost_usd == pytest.approx(0.20 + 0.06 + 0.25 + 0.15)
    assert cents(record.cost_usd) == 0.66


def test_litellm_drops_moonshots_top_level_cached_tokens_so_they_read_as_not_reported():
    """The known litellm gap: Moonshot's `usage.cached_tokens` (top level) does not survive
    litellm 1.110.2's usage object. Moonshot takes the fast path, which reads it; through
    litellm (EVALKIT_TRANSPORT=litellm) the call's cache use is unknown (None), never 0."""
    from evalkit.transport import litellm as litellm_transport
    from evalkit.transport.base import Request

    reply = Reply("4", prompt_tokens=1000, completion_tokens=3, cached_tokens=600, usage_shape="moonshot")
    with ScriptedServer(reply, api_key="k") as server:
        attempt = asyncio.run(litellm_transport.complete(Request(
            "moonshot/kimi-k2.6", ({"role": "user", "content": "q"},), {"max_tokens": 8}, 10.0,
            api_base=server.base_url, api_key="k")))
    assert attempt.prompt_tokens == 1000 and attempt.cached_tokens is None


# --- storage ------------------------------------------------------------------------------


def test_a_schema_6_store_gains_the_cache_write_column_and_keeps_its_records(older_store):
    path = older_store(6)
    reopened = Store(str(path))
    frame = reopened.records_frame("r1")
    assert list(frame["cost_usd"]) == [0.25] and frame["cache_write_tokens"].isna().all()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM evalkit_meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)


# --- purchase options and cache-hit rate in the projection --------------------------------


def _priced_run(tmp_path) -> tuple[Store, str]:
    """Two models, ten calls each of 100k prompt tokens (60k cached on haiku) and 1k out."""
    models = [ModelConfig(id="anthropic/claude-haiku-4-5", label="haiku"),
              ModelConfig(id="deepseek/deepseek-v4-flash", label="flash")]
    suite = tmp_path / "s.jsonl"
    suite.write_text("".join(json.dumps({"id": f"q{k}", "prompt": f"{k}+0?", "reference": k, "scorer": "numeric"})
                             + "\n" for k in range(10)), encoding="utf-8")
    config = RunConfig(models=models, suites=[SuiteConfig(name="s", path=str(suite))], source="test")
    prices = {m.display: resolve_price(m) for m in models}
    store = Store(str(tmp_path / "h.db"))
    store.start_run("r1", config.model_dump(mode="json"), config.config_hash(), "0.1.0",
                    snapshot(list(prices.values())))
    from evalkit.store.writer import RecordWriter

    writer = RecordWriter(store)
    for model in models:
        for k in range(10):
            record = CallRecord(run_id="r1", model=model.display, model_id=model.id, suite="s", sample_id=f"q{k}",
                                request_hash="h", response_text=str(k), extracted=str(k), score=1.0, ttft_s=0.1,
                                e2e_s=0.5, prompt_tokens=100_000, completion_tokens=1_000,
                                cached_tokens=60_000 if model.display == "haiku" else 0, usage_source="provider",
                                started_at=MONDAY_2AM, finished_at=MONDAY_2AM + 1)
            record.cost_usd = prices[model.display].record_cost(record.to_dict())
            writer.put(record)
    writer.close()
    store.finish_run("r1", "finished")
    return store, "r1"


def test_purchase_options_and_cache_hit_rate_reprice_the_verdict_and_mark_what_is_unavailable(tmp_path):
    from evalkit.analysis.run_analysis import analyse_run

    store, run_id = _priced_run(tmp_path)
    measured = analyse_run(store, run_id).summary.by_model.set_index("model")
    # haiku per call: 40k at $1 + 60k at $0.10 + 1k at $5 per 1M = $0.051; ten calls $0.51
    assert cents(measured.loc["haiku", "cost_total"]) == 0.51
    # flash per call (peak): 100k at $0.30 + 1k at $1.20 per 1M = $0.0312; ten calls $0.312
    assert measured.loc["flash", "cost_total"] == pytest.approx(0.312)
    batch = analyse_run(store, run_id, parse_purchase("batch", "90%"))
    by_model = batch.summary.by_model.set_index("model")
    # haiku in a batch, 90% hits: 10k at $0.50 + 90k at $0.05 + 1k at $2.50 per 1M = $0.012 a call
    assert by_model.loc["haiku", "cost_total"] == pytest.approx(0.12)
    assert batch.unavailable == ["flash"] and by_model["cost_total"].isna()["flash"]
    assert analyse_run(store, run_id).verdict.cheap.model == "flash"
    assert batch.verdict.cheap.model == "haiku"  # flash has no batch price: not the cheapest at it
    # a cache-hit rate alone keeps the standard option: flash at 50% hits
    half = analyse_run(store, run_id, parse_purchase(None, 0.5)).summary.by_model.set_index("model")
    assert half.loc["flash", "cost_total"] == pytest.approx(10 * (50_000 * 0.3e-6 + 50_000 * 0.006e-6 + 1_000 * 1.2e-6))


def test_the_report_says_what_each_figure_assumes_and_flags_stale_prices(tmp_path):
    from evalkit import api

    _, run_id = _priced_run(tmp_path)
    (path,) = api.write_report(run_id, ["md"], store=str(tmp_path / "h.db"), output=tmp_path / "r.md",
                               volume="1000/day", purchase="batch", cache_hit_rate="90%")
    text = path.read_text(encoding="utf-8")
    assert "Every figure assumes the batch price, 90% of prompt tokens from the cache" in text
    assert "Every cost in this report assumes the batch price, 90% of prompt tokens from the cache" in text
    assert "--purchase batch --cache-hit-rate 90%" in text
    assert "Unavailable at the batch price" in text and "flash" in text
    row = next(line for line in text.splitlines() if line.startswith("| flash") and "unavailable" in line)
    assert "$" not in row  # no standard price passed off as a batch price
    # haiku: $0.012 a call x 30,000 calls a month = $360
    assert any(line.startswith("| haiku") and "$360.00" in line for line in text.splitlines())
    assert "off-peak" in text  # every rule the run used is listed with its source


def test_stale_prices_are_flagged_past_the_configured_age(monkeypatch):
    assert stale("2025-04-22", today=dt.date(2026, 12, 1), max_age_days=180)
    assert not stale("2026-11-01", today=dt.date(2026, 12, 1), max_age_days=180)
    assert not stale("undated (the map gives no date per price)")
    monkeypatch.setenv("EVALKIT_MAX_PRICE_AGE_DAYS", "9999")
    assert load_price_file().max_age_days == 9999
    monkeypatch.setenv("EVALKIT_MAX_PRICE_AGE_DAYS", "soon")
    with pytest.raises(UsageError, match="EVALKIT_MAX_PRICE_AGE_DAYS"):
        _ = load_price_file().max_age_days


def test_bad_purchase_options_are_refused():
    with pytest.raises(UsageError, match=r"--purchase 'bulk'"):
        parse_purchase("bulk")
    with pytest.raises(UsageError, match=r"--cache-hit-rate '1\.5'"):
        parse_purchase("standard", "1.5")
    assert parse_purchase("flex", "60%").cache_hit_rate == pytest.approx(0.6)


# --- evalkit prices -------------------------------------------------------------------------


def _prices(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["prices", *args], env={"COLUMNS": "250", **(env or {})})


def test_evalkit_prices_shows_every_rule_with_its_source_and_date():
    result = _prices("deepseek/deepseek-v4-flash", "dashscope/qwen-plus", "anthropic/claude-haiku-4-5")
    assert result.exit_code == 0, result.output
    out = result.output
    for rule in ("standard", "cache read", "off-peak", "reasoning", "prompt > 256,000 tokens", "batch",
                 "cache write (5 min)", "cache write (1 hour)"):
        assert rule in out
    assert "litellm 1.110.2 local price map (citing https://api-docs.deepseek.com/quick_start/pricing)" in out
    assert "https://www.alibabacloud.com/help/en/model-studio/billing-for-model-studio" in out
    assert "2025-04-22 (stale: older than 180 days)" in out
    assert "unavailable (no price for this option)" in out  # DeepSeek's batch, Anthropic's flex
    assert "$12 reasoning" in out and "$1.25 per 1M prompt tokens" in out


def test_evalkit_prices_refuses_an_unknown_model_and_a_bad_price_file(tmp_path):
    result = _prices("deepseek/deepseek-v4-flsh")
    assert result.exit_code == 2 and "did you mean deepseek/deepseek-v4-flash" in result.output
    bad = tmp_path / "prices.yaml"
    bad.write_text("models:\n  dashscope/qwen-plus:\n    source: https://example.com/p\n    as_of: 2026-01-01\n"
                   "    input: -1\n    output: 2\n", encoding="utf-8")
    result = _prices("dashscope/qwen-plus", env={"EVALKIT_PRICES": str(bad)})
    assert result.exit_code == 2
    # the file's own name and line (the path's folders may be masked: the run's secrets are redacted)
    assert "prices.yaml:5: models.dashscope/qwen-plus.input: Input should be greater than or equal to 0" \
        in result.output
    undated = tmp_path / "undated.yaml"
    undated.write_text("models:\n  x/y:\n    source: https://example.com\n    input: 1\n    output: 2\n",
                       encoding="utf-8")
    result = _prices("x/y", env={"EVALKIT_PRICES": str(undated)})
    assert result.exit_code == 2 and "undated.yaml:2: models.x/y.as_of: Field required" in result.output
    unsourced = tmp_path / "unsourced.yaml"
    unsourced.write_text("models:\n  x/y:\n    source: my notes\n    as_of: 2026-11-01\n    input: 1\n"
                         "    output: 2\n", encoding="utf-8")
    result = _prices("x/y", env={"EVALKIT_PRICES": str(unsourced)})
    assert result.exit_code == 2 and "source 'my notes' is not a URL" in result.output


def test_evalkit_prices_reads_a_team_price_file_over_the_map(tmp_path):
    own = tmp_path / "prices.yaml"
    own.write_text("models:\n  deepseek/deepseek-v4-flash:\n    source: https://example.com/contract\n"
                   "    as_of: 2026-11-30\n    batch: {input: 0.1, output: 0.4}\n", encoding="utf-8")
    result = _prices("deepseek/deepseek-v4-flash", env={"EVALKIT_PRICES": str(own)})
    assert result.exit_code == 0, result.output
    batch = next(line for line in result.output.splitlines() if "batch" in line)
    assert "$0.1 in / $0.4 out" in batch and "https://example.com/contract" in batch and "2026-11-30" in batch


def test_compare_with_a_purchase_option_at_http_says_what_the_verdict_assumes(tmp_path, monkeypatch):
    """`evalkit compare --purchase batch --cache-hit-rate 50%` against the scripted server:
    Claude through litellm's anthropic/ route (/v1/messages), DeepSeek on the fast path."""
    monkeypatch.setenv("EVALKIT_PRICE_TEST_KEY", "sk-" "price-test-0000000000000000")
    suite = tmp_path / "s.jsonl"
    suite.write_text("".join(json.dumps({"id": f"q{k}", "prompt": f"{k}+0?", "reference": k, "scorer": "numeric"})
                             + "\n" for k in range(3)), encoding="utf-8")
    script = {f"{k}+0?": Reply(f"The answer is {k}", prompt_tokens=10_000, completion_tokens=1_000,
                               cached_tokens=4_000) for k in range(3)}
    with ScriptedServer(script, api_key="sk-" "price-test-0000000000000000") as server:
        config = tmp_path / "bench.yaml"
        config.write_text(
            "models:\n"
            f"  - {{id: anthropic/claude-haiku-4-5, label: haiku, api_base: '{server.url}', "
            "api_key_env: EVALKIT_PRICE_TEST_KEY}\n"
            f"  - {{id: deepseek/deepseek-v4-flash, label: flash, api_base: '{server.base_url}', "
            "api_key_env: EVALKIT_PRICE_TEST_KEY}\n"
            f"suites:\n  - {{name: s, path: '{suite}'}}\n", encoding="utf-8")
        result = CliRunner().invoke(main, [
            "compare", "-c", str(config), "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "r"),
            "-q", "--purchase", "batch", "--cache-hit-rate", "50%", "--report", "md", "--volume", "1000/day"],
            env={"COLUMNS": "250"})
        paths = sorted({r.path for r in server.requests})
    assert result.exit_code == 0, result.output
    assert paths == ["/v1/chat/completions", "/v1/messages"]
    assert "Costs and the verdict assume the batch price, 50% of prompt tokens from the cache." in result.output
    assert "Unavailable at the batch price (no such price; not costed at the standard price): flash." in result.output
    assert "cheap: haiku" in result.output
    records = [json.loads(line) for line in next((tmp_path / "r").rglob("records.jsonl")).read_text().splitlines()]
    # records.jsonl keeps what was measured: haiku 6k at $1 + 4k read at $0.10 + 1k out at $5 per 1M = $0.0114
    assert {r["model"]: r["cost_usd"] for r in records if r["sample_id"] == "q0"}["haiku"] == pytest.approx(0.0114)
    report = next((tmp_path / "r").rglob("report.md")).read_text(encoding="utf-8")
    # batch at 50% hits: 5k at $0.50 + 5k at $0.05 + 1k at $2.50 per 1M = $0.00525 a call; x 30,000 = $157.50
    assert any(line.startswith("| haiku") and "$157.50" in line for line in report.splitlines())
    shown = CliRunner().invoke(main, ["show", "last", "--store", str(tmp_path / "h.db"), "--purchase", "batch",
                                      "--cache-hit-rate", "50%"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output  # a stored run is re-costed the same way
    assert "Costs and the verdict assume the batch price, 50% of prompt tokens from the cache." in shown.output
    assert "cheap: haiku" in shown.output


def test_off_peak_windows_are_read_as_litellm_reads_them():
    from evalkit.economics.pricing import is_off_peak

    def utc(day: int, hour: int, minute: int = 0) -> float:
        return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.timezone.utc).timestamp()

    nightly = {"hours_utc": ["16:30-00:30"]}  # wraps past midnight, every day
    assert is_off_peak(utc(30, 23), nightly) and is_off_peak(utc(30, 0, 15), nightly)
    assert not is_off_peak(utc(30, 0, 30), nightly) and not is_off_peak(utc(30, 12), nightly)
    weekend = {"windows": [{"weekdays": ["sat", "sun"], "hours_utc": "00:00-00:00"}],
               "weekday_timezone": "Asia/Shanghai"}
    assert is_off_peak(utc(27, 17), weekend)  # Friday 17:00 UTC is Saturday 01:00 in Shanghai
    assert not is_off_peak(utc(27, 15), weekend)


def test_evalkit_prices_shows_a_configs_own_prices_as_the_config(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text("models:\n  - {id: deepseek/deepseek-v4-flash, label: ours, price: {input: 0.2, output: 0.8}}\n"
                      "  - {id: hosted_vllm/llama, hourly_cost: 2.5}\n", encoding="utf-8")
    result = _prices("-c", str(config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "ours (deepseek/deepseek-v4-flash)" in result.output
    assert any("$0.2 in / $0.8 out" in line and "config override" in line for line in lines)
    assert any("$2.50/hour" in line and "config hourly_cost" in line for line in lines)
    vllm = _prices("hosted_vllm/llama")  # no hourly_cost given: priced by machine time, say how
    assert vllm.exit_code == 0 and "set hourly_cost" in vllm.output


def test_an_estimate_prices_each_call_at_its_own_tier_and_the_budget_assumes_thinking():
    from evalkit.run.estimate import estimate_model, worst_case_cost

    qwen = price("dashscope/qwen-plus")
    samples = [Sample(id=f"q{k}", suite="s", messages=({"role": "user", "content": "word " * 2000},), reference=1,
                      scorer="numeric") for k in range(200)]  # ~2k tokens each: 400k together, never 256k in one
    model = ModelConfig(id="dashscope/qwen-plus")
    estimate = estimate_model(model, qwen, samples, max_tokens=100, timeout=30)
    per_call_prompt = estimate.prompt_tokens / 200
    # the worst case: every call's prompt at $0.4 and 100 tokens at the $1.2 rate ($4 if it thinks)
    assert estimate.prompt_tokens > 256_000
    assert estimate.cost_high == pytest.approx(200 * (per_call_prompt * 0.4e-6 + 100 * 1.2e-6))
    one = worst_case_cost(model, qwen, samples[0], max_tokens=100, timeout=30)
    assert one >= 100 * 4e-6  # a thinking call bills its whole output at the thinking rate


def test_a_call_that_streamed_thinking_is_a_thinking_call_even_without_a_reasoning_count():
    qwen = price("dashscope/qwen-plus")
    row = {"prompt_tokens": 100_000, "completion_tokens": 50_000, "reasoning_tokens": None, "reasoning_ttft_s": 0.4}
    assert cents(qwen.record_cost(row)) == 0.24  # 0.04 + 50k at the $4 thinking rate
    assert cents(qwen.record_cost({**row, "reasoning_ttft_s": None})) == 0.10
