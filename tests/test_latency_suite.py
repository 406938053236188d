"""The latency suite: prompts of exact token counts, unique per run, timed per tier at
concurrency 1 (really one at a time) and at the stated concurrency, and the reports' table.

The scripted server plays a provider whose first token and token pace depend on the
prompt's size (as a real one's do), and bills the prompt as OpenAI would: the o200k_base
tokens of the message plus the 7 of the chat template. The 100k tier is built and counted
here, never streamed through the server: the runs give the models a 16k context window,
so it is skipped, with its reason.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
from html import unescape
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.config.models import SuiteConfig
from evalkit.errors import UsageError
from evalkit.store.database import Store
from evalkit.suites import load_samples
from evalkit.suites.latency import fixed_tiers, parse_item, percentile, profile_tiers
from evalkit.suites.latency_prompt import build_prompt, latency_data, nonce_for, offline_tokenizer
from evalkit.testing.scripted_server import Reply, ScriptedServer

_BUNDLED = Path(__import__("litellm").__file__).parent / "litellm_core_utils" / "tokenizers"
ANSWER_WORDS = 30
TIERS = {  # prompt chars below -> (TTFT s, seconds between tokens)
    2_000: (0.03, 0.004),     # the 100-token tier (~450 characters)
    20_000: (0.06, 0.006),    # 1k (~4,500)
    200_000: (0.12, 0.008),   # 10k (~44,000)
}


def _reference_counter(name: str):
    """Counts tokens with the library itself, not through evalkit's wrapper."""
    if name == "deepseek-v3":
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(_BUNDLED / "deepseek_tokenizer.json"))
        return lambda text: len(tok.encode(text, add_special_tokens=False).ids)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(_BUNDLED)
    import tiktoken

    encoding = tiktoken.get_encoding(name)
    return lambda text: len(encoding.encode(text, disallowed_special=()))


@pytest.mark.parametrize(("model", "tokenizer", "template"), [
    ("openai/gpt-4.1-mini", "o200k_base", 7), ("openai/gpt-4", "cl100k_base", 7),
    ("deepseek/deepseek-chat", "deepseek-v3", 3)])
def test_prompts_are_exactly_the_tiers_tokens_of_the_models_tokenizer(model, tokenizer, template):
    tok = offline_tokenizer(model)
    assert tok.name == tokenizer and tok.tokenizer is not None and tok.template_tokens == template
    count = _reference_counter(tokenizer)
    sizes = [t.prompt_tokens for t in fixed_tiers()] + [16, 17, 331, 6_000]
    assert sizes[:4] == [100, 1_000, 10_000, 100_000]
    for n in sizes:
        built = build_prompt(n, nonce_for("run-1", "m", n), f"latency:{n}", tok)
        assert built.exact and count(built.text) == n, (n, count(built.text))
        assert built.how == f"exact: {n:,} tokens of {tokenizer} (+{template} chat-template tokens)"
        assert built.text.startswith(f"Request {nonce_for('run-1', 'm', n)}. ")


def test_a_model_without_an_offline_tokenizer_gets_a_character_budget():
    tok = offline_tokenizer("anthropic/claude-sonnet-4-5")
    assert tok.tokenizer is None
    built = build_prompt(1_000, "ab" * 8, "latency:1k", tok)
    assert not built.exact and len(built.text) == 1_000 * latency_data()["chars_per_token"] == 4_000
    assert built.how == ("character budget: 4,000 characters for 1,000 tokens "
                         "(no offline tokenizer known for this model)")
    assert built.text.startswith("Request abababababababab. Read the notes below")


def test_tiers_come_from_the_data_file_and_a_profiles_percentiles():
    data = latency_data()
    assert data["source"].startswith("https://artificialanalysis.ai/") and data["as_of"]
    assert [(t.name, t.prompt_tokens, t.answer_tokens) for t in fixed_tiers()] == [
        ("100", 100, 300), ("1k", 1_000, 1_000), ("10k", 10_000, 1_500), ("100k", 100_000, 2_000)]
    # p50 of 1..10 is 5.5, p90 9.1 (linear between closest ranks, as numpy)
    assert percentile(list(range(1, 11)), 50) == 5.5 and percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    p50, p90 = profile_tiers([100, 200, 300, 400, 6_000], [10, 20, 30, 40, 500])
    assert (p50.name, p50.prompt_tokens, p50.answer_tokens) == ("p50", 300, 30)
    assert (p90.prompt_tokens, p90.answer_tokens) == (3_760, 316)  # 400 + 0.6 x 5,600; 40 + 0.6 x 460


def test_samples_name_their_tier_and_concurrency_and_ask_the_answer_size():
    samples = load_samples(SuiteConfig(name="latency", size=2, concurrency=4), _options())
    ids = [s.id for s in samples]
    assert ids[:6] == ["100-100x300-c1-01", "100-100x300-c1-02", "100-100x300-c4-01", "100-100x300-c4-02",
                       "100-100x300-c4-03", "100-100x300-c4-04"]
    assert len(samples) == 4 * (2 + 4)
    item = parse_item("10k-10000x1500-c4-03")
    assert (item.tier, item.prompt_tokens, item.answer_tokens, item.concurrency) == ("10k", 10_000, 1_500, 4)
    assert {s.params["max_tokens"] for s in samples if s.id.startswith("1k-")} == {1_000}
    assert {s.scorer for s in samples} == {"timed"}


def test_bad_latency_configs_are_refused_naming_the_field(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="concurrency is an option of the latency suites only"):
        load_samples(SuiteConfig(name="arithmetic", concurrency=4), _options())
    with pytest.raises(UsageError, match="latency:PROFILE with the name of an imported workload"):
        load_samples(SuiteConfig(name="latency:"), _options())
    monkeypatch.setenv("EVALKIT_STORE", str(tmp_path / "empty.db"))
    with pytest.raises(UsageError, match="latency:nope: no workload profile 'nope'"):
        load_samples(SuiteConfig(name="latency:nope"), _options())
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        SuiteConfig(name="latency", concurrency=1)


def _options():
    from evalkit.config.models import RunOptions

    return RunOptions()


# --------------------------------------------------------------------------- runs on the scripted server

def _tier_of(prompt: str) -> tuple[float, float]:
    return next(timing for limit, timing in TIERS.items() if len(prompt) < limit)


def _billed(request) -> int:
    """Prompt tokens as the provider counts them: exact for the o200k model, roughly otherwise."""
    if request.body.get("model") == "gpt-4.1-mini":
        return _reference_counter("o200k_base")(request.prompt) + 7
    return len(request.prompt) // 4


def _provider(request) -> Reply:
    ttft, delay = _tier_of(request.prompt)
    if not request.prompt.startswith("Request "):  # a benchmark item
        return Reply("ok", prompt_tokens=5)
    return Reply(" ".join(["word"] * ANSWER_WORDS), ttft=ttft, token_delay=delay, prompt_tokens=_billed(request))


def _config(tmp_path, server, suites) -> Path:
    models = [{"id": model_id, "label": label, "api_base": server.base_url, "api_key_env": "EVALKIT_TEST_KEY",
               "price": {"input": 1.0, "output": 2.0}, "facts": {"context_window": 16_384}}
              for model_id, label in (("openai/gpt-4.1-mini", "gpt"), ("openai/house-model", "house"))]
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump({"models": models, "suites": suites}), encoding="utf-8")
    return path


def _duration(prompt: str) -> float:
    ttft, delay = _tier_of(prompt)
    return ttft + (ANSWER_WORDS - 1) * delay


def _max_overlap(requests) -> int:
    events = sorted([(r.arrived_perf, 1) for r in requests] + [(r.arrived_perf + _duration(r.prompt), -1)
                                                                 for r in requests])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def test_a_run_times_each_tier_one_at_a_time_then_concurrently(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", "sk-test")
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"item {i}", "reference": "ok"}) + "\n"
                             for i in range(4)), encoding="utf-8")
    store = tmp_path / "h.db"
    with ScriptedServer(_provider, api_key="sk-test") as server:
        config = _config(tmp_path, server, [{"name": "items", "path": str(items)},
                                            {"name": "latency", "size": 3, "concurrency": 3}])
        result = CliRunner().invoke(main, [
            "compare", "-c", str(config), "--store", str(store), "--results-dir", str(tmp_path / "results"),
            "--report", "html", "--report", "pdf", "--report", "md"], catch_exceptions=False, env={"COLUMNS": "250"})
        requests = server.chat_requests()
    assert result.exit_code == 0, result.output

    for model in ("gpt-4.1-mini", "house-model"):
        mine = [r for r in requests if r.body.get("model") == model]
        bench, timed = mine[:4], mine[4:]
        assert all(not r.prompt.startswith("Request ") for r in bench)  # the other suites go first
        assert len(timed) == 3 * 3 + 3 * 3 and max(len(r.prompt) for r in timed) < 200_000  # no 100k prompt sent
        alone = timed[:9]
        for before, after in itertools.pairwise(alone):  # concurrency 1: the next arrives after the last is done
            assert after.arrived_perf >= before.arrived_perf + _duration(before.prompt) - 0.002
        for wave in (timed[9:12], timed[12:15], timed[15:18]):  # then each tier, 3 at once
            assert len({_tier_of(r.prompt) for r in wave}) == 1 and _max_overlap(wave) == 3
        prompts = [r.prompt for r in timed]
        assert len(set(prompts)) == len(prompts) and all(re.match(r"Request [0-9a-f]{16}\. ", p) for p in prompts)

    # Per tier, the figures are the scripted ones: TTFT, speed 1/delay, ITL = delay, E2E.
    with sqlite3.connect(store) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("select * from records where suite = 'latency'").fetchall()
    by_tier: dict[tuple, list] = {}
    for row in rows:
        item = parse_item(row["sample_id"])
        by_tier.setdefault((row["model"], item.tier, item.concurrency), []).append(row)
    for (model, tier, concurrency), calls in by_tier.items():
        if tier == "100k":
            assert {c["error_class"] for c in calls} == {"skipped"} and len(calls) == 3  # size 3, and max(3, 3) at once
            assert "context window 16,384" in calls[0]["error_message"]
            continue
        limit = {"100": 2_000, "1k": 20_000, "10k": 200_000}[tier]
        ttft, delay = TIERS[limit]
        ok = sorted(calls, key=lambda c: c["ttft_s"])
        median = ok[len(ok) // 2]
        # the client's share on a busy 2-core machine: parsing three streams at once costs more
        slack = 0.03 if concurrency == 1 else 0.06
        assert ttft <= median["ttft_s"] <= ttft + slack, (model, tier, concurrency)
        assert median["completion_tokens"] == ANSWER_WORDS and median["error_class"] is None
        expected = "o200k_base (+7" if model == "gpt" else "character budget"
        assert all(expected in c["score_detail"] for c in calls)
        if model == "gpt":  # the message is exactly the tier's tokens: billed = N + the template's 7
            n = {"100": 100, "1k": 1_000, "10k": 10_000}[tier]
            assert {c["prompt_tokens"] for c in calls} == {n + 7}

    from evalkit import api

    analysis = api.analyse("last", str(store))
    assert list(analysis.summary.by_model["n"]) == [4, 4]  # accuracy: the benchmark items only
    assert list(analysis.summary.by_model["accuracy"]) == [1.0, 1.0]
    for tier_row in analysis.latency.rows:
        if tier_row.skipped:
            continue
        limit = {"100": 2_000, "1k": 20_000, "10k": 200_000}[tier_row.tier]
        ttft, delay = TIERS[limit]
        assert tier_row.speed_p50 == pytest.approx(1 / delay, rel=0.2), tier_row
        assert tier_row.itl_p50 == pytest.approx(delay, rel=0.2), tier_row
        assert tier_row.e2e_p50 == pytest.approx(ttft + (ANSWER_WORDS - 1) * delay, abs=0.04), tier_row
        assert tier_row.n == 3 and tier_row.received_p50 == ANSWER_WORDS
    assert analysis.latency.prompts == {"gpt": "exact tokens of o200k_base (+7 chat-template tokens)",
                                        "house": "character budget (no offline tokenizer known for this model)"}

    # Terminal: under the scorecard; reports: the section with the prompt construction per model.
    assert result.output.index("Latency at your prompt sizes") > result.output.index("Accuracy")
    (run_dir,) = (tmp_path / "results").iterdir()
    md = (run_dir / "report.md").read_text(encoding="utf-8")
    html = unescape((run_dir / "report.html").read_text(encoding="utf-8"))
    pdf = _pdf_text(run_dir / "report.pdf")
    for text in (md, html, pdf):
        assert "Latency at your prompt sizes" in text
        assert "gpt: prompts built to exact tokens of o200k_base (+7 chat-template tokens)." in text
        assert "house: prompts built to character budget" in text
        assert "benchmark suites" in text and "1k (1,000/1,000)" in text
        assert "skipped: needs 102,007 tokens, context window 16,384" in text
        assert "30 of 1,500" in text
    records = (run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(records) == 2 * (4 + 4 * 6)  # every record, the latency suite's too


def _pdf_text(path) -> str:
    from pypdf import PdfReader

    return re.sub(r"\s+", " ", "".join(page.extract_text() for page in PdfReader(str(path)).pages))


def test_a_profiles_suite_is_unique_per_run(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_TEST_KEY", "sk-test")
    store = tmp_path / "h.db"
    monkeypatch.setenv("EVALKIT_STORE", str(tmp_path / "other.db"))  # the profile is read from --store
    Store(str(store)).save_workload("rag", "logs.jsonl", "csv", {
        "name": "rag", "source": "logs.jsonl", "format": "csv",
        "prompt_tokens": [40, 60, 80, 90, 200], "completion_tokens": [4, 6, 8, 9, 12]})
    prompts = []
    with ScriptedServer(_provider, api_key="sk-test") as server:
        config = _config(tmp_path, server, [{"name": "latency:rag", "size": 1, "concurrency": 2}])
        for _ in range(2):
            result = CliRunner().invoke(main, ["compare", "-c", str(config), "--store", str(store),
                                               "--results-dir", str(tmp_path / "results")], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            prompts.append({r.prompt for r in server.chat_requests()} - set().union(*prompts))
            server_requests = len(server.chat_requests())
    assert server_requests == 2 * 2 * 2 * 3  # two runs of two models x two tiers x (1 + 2)
    assert len(prompts[0]) == len(prompts[1]) == 12  # every prompt of a run its own, and none repeated
    with sqlite3.connect(store) as db:
        ids = {row[0] for row in db.execute("select sample_id from records")}
    assert ids == {"p50-80x8-c1-01", "p50-80x8-c2-01", "p50-80x8-c2-02",
                   "p90-156x11-c1-01", "p90-156x11-c2-01", "p90-156x11-c2-02"}


def test_the_budget_reserves_each_tiers_answer_size_not_the_runs_max_tokens():
    from evalkit.config.models import ModelConfig
    from evalkit.economics.pricing import ModelPrice
    from evalkit.run.estimate import prompt_tokens, worst_case_cost

    model = ModelConfig(id="openai/gpt-4.1-mini")
    price = ModelPrice("gpt", "openai/gpt-4.1-mini", input=0.0, output=1e-6)  # USD per token: $1 per 1M
    sample = next(s for s in load_samples(SuiteConfig(name="latency", size=1, concurrency=2), _options())
                  if s.id.startswith("10k-"))
    assert prompt_tokens(model, sample) > 8_000  # the plan's prompt: 40,000 characters
    # 1,500 answer tokens at $1/M (the run's max_tokens is 512), the tokenizer margin on the prompt only
    assert worst_case_cost(model, price, sample, 512, 60.0) == pytest.approx(1_500 / 1e6)


class _Vocabulary:
    """A llama.cpp server's /tokenize and /detokenize (the shape its README gives, and the
    embedded server answered in): one token per character, enough to check the client."""

    def __init__(self) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/tokenize":
                    answer = {"tokens": [ord(c) for c in body["content"]]}
                else:
                    answer = {"content": "".join(map(chr, body["tokens"]))}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.api_base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def test_the_embedded_models_prompts_are_counted_by_its_own_server_or_fall_back():
    from types import SimpleNamespace

    from evalkit.config.models import ModelConfig
    from evalkit.run.latency import LOCAL_TOKENIZER, context_window, model_tokenizer

    vocabulary = _Vocabulary()
    model = ModelConfig(id="local/smollm2-135m-q4_1")
    server = SimpleNamespace(api_base=vocabulary.api_base, server=SimpleNamespace(n_ctx=8192))
    try:
        tok = model_tokenizer(model, server)
        built = build_prompt(1_000, "cd" * 8, "latency:1k", tok)
    finally:
        vocabulary.server.shutdown()
    assert tok.name == LOCAL_TOKENIZER and tok.template_tokens == 30
    assert built.exact and len(built.text) == 1_000  # one token per character on this server
    assert built.how == f"exact: 1,000 tokens of {LOCAL_TOKENIZER} (+30 chat-template tokens)"
    assert context_window(model, server) == 8192  # the server's context per slot
    gone = model_tokenizer(model, server)  # its server no longer answers: a character budget, and why
    assert gone.tokenizer is None and "/tokenize did not answer" in gone.why_not
