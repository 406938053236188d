"""A company's own traffic, end to end: a generated log of 2,000 requests imported as a
profile, two candidates run on the scripted server against a replay suite and a latency
suite drawn from it, and the HTML and PDF reports with the bill per month, the token
inflation, latency per tier and the comparison with the incumbent.

The scripted server bills the incumbent's tokenizer exactly (o200k_base, as the log's
gpt-4.1-mini did) and the other candidate 1.10x that on English and 1.25x on Chinese
prompts, so the inflation the reports print is known; the bill is then worked out here
by hand from the stored profile.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import yaml
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.store.database import Store
from evalkit.testing.scripted_server import Reply
from evalkit.testing.workload_log import generate_log, write_log
from evalkit.workload.language import request_language
from evalkit.workload.profile import WorkloadProfile
from evalkit.workload.tokens import count_messages

KEY = "sk-" "workload-e2e-0123456789abcdef"
PRICES = {"gpt-4.1-mini": {"input": 0.4, "output": 1.6, "cached_input": 0.1},
          "glm": {"input": 0.6, "output": 2.2, "cached_input": 0.11}}
INFLATION = {"en": 1.10, "zh": 1.25}
REPLAYED = 16
_CANDIDATE = re.compile(r"\[Answer (A|B)\]\n(GPT|GLM) answer")


def billed(request) -> int:
    """Prompt tokens as each provider reports them: the incumbent's tokenizer exactly (its
    chat counting rule), the other's inflated by the request's language."""
    messages = request.body["messages"]
    tokens = count_messages(messages)
    if request.body["model"] == "gpt-4.1-mini":
        return tokens
    return round(tokens * INFLATION["zh" if request_language(messages) == "zh" else "en"])


def answer(request) -> Reply:
    model = request.body["model"]
    prompt = request.prompt
    if model == "judge":  # the candidate holds its own on every item: a tie in both orders
        return Reply("Both serve the user.\nWinner: tie", prompt_tokens=400, completion_tokens=12)
    if prompt.startswith("Request "):  # a latency item
        return Reply(" ".join(["word"] * 40), ttft=0.02, token_delay=0.002, prompt_tokens=billed(request))
    label = "GPT" if model == "gpt-4.1-mini" else "GLM"
    return Reply(f"{label} answer to the request.", prompt_tokens=billed(request), completion_tokens=120)


@pytest.fixture
def env(tmp_path, monkeypatch, scripted_server):
    monkeypatch.setenv("EVALKIT_TEST_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return scripted_server(answer, api_key=KEY)


def test_a_generated_log_becomes_a_bill_inflation_latency_and_an_incumbent_verdict(tmp_path, env):
    store = str(tmp_path / "history.db")
    log = tmp_path / "traffic.jsonl"
    write_log(log, generate_log(n=2000, seed=0), "openai-jsonl")
    imported = CliRunner().invoke(main, ["workload", "import", str(log), "--name", "prod", "--keep-text",
                                         "--redact", "--store", store], catch_exceptions=False)
    assert imported.exit_code == 0, imported.output
    assert "Requests: 2,000" in imported.output and "gpt-4.1-mini" in imported.output

    models = [{"id": f"openai/{name}", "label": name, "api_base": env.base_url, "api_key_env": "EVALKIT_TEST_KEY",
               "price": price, "facts": {"context_window": 32_768}} for name, price in PRICES.items()]
    suites = [{"name": "replay:prod", "size": REPLAYED,
               "judge": {"judge_model": "openai/judge", "api_base": env.base_url, "api_key_env": "EVALKIT_TEST_KEY",
                         "price": {"input": 1.0, "output": 4.0}, "max_tokens": 64}},
              {"name": "latency:prod", "size": 2, "concurrency": 2}]
    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump({"models": models, "suites": suites}, sort_keys=False), encoding="utf-8")
    compared = CliRunner().invoke(main, ["compare", "-c", str(config), "--store", store, "-q", "--workload", "prod",
                                         "--report", "html", "--report", "pdf", "--max-cost", "5"],
                                  catch_exceptions=False, env={"COLUMNS": "200"})
    assert compared.exit_code == 0, compared.output
    terminal = " ".join(compared.output.split())

    # The incumbent comparison: every item a tie, so neither is worse; its verdict line.
    for name in PRICES:
        assert (f"{name} is not significantly worse than the incumbent (gpt-4.1-mini) on your traffic at "
                in terminal), terminal
    assert f"0 wins, {REPLAYED} ties, 0 losses of {REPLAYED}" in terminal

    # Token inflation: the incumbent is in the run, so it is the reference.
    from evalkit import api

    bill = api.workload_bill("last", "prod", store=store)
    assert bill is not None and bill.reference == "gpt-4.1-mini"
    assert bill.measured is not None
    ratios = bill.measured.ratios["glm"]
    assert {"en", "zh"} <= set(ratios)  # the replayed items keep the language of the logged request
    for language, factor in INFLATION.items():
        assert not ratios[language].estimated
        assert ratios[language].ratio == pytest.approx(factor, rel=2e-3), language

    # The bill per month, by hand from the stored profile: the incumbent at its own counts.
    profile = WorkloadProfile.from_dict(Store(store).workload("prod").profile)
    price = PRICES["gpt-4.1-mini"]
    cached = profile.cached_tokens or [0] * profile.requests
    per_request = sum((p - c) * price["input"] + c * price["cached_input"] + q * price["output"]
                      for p, c, q in zip(profile.prompt_tokens, cached, profile.completion_tokens)) / 1e6
    per_request /= profile.requests
    mine = next(b for b in bill.bills if b.model == "gpt-4.1-mini")
    assert mine.per_request.value == pytest.approx(per_request, rel=1e-9)
    assert mine.monthly.value == pytest.approx(per_request * profile.requests_per_month, rel=1e-9)
    glm = next(b for b in bill.bills if b.model == "glm")
    assert glm.inflation is not None and 1.10 <= glm.inflation <= 1.25

    # The reports: bill per month, inflation, latency per tier, the incumbent section.
    (run_dir,) = (tmp_path / "results").iterdir()
    html = unescape((run_dir / "report.html").read_text(encoding="utf-8"))
    from pypdf import PdfReader

    pdf = " ".join(page.extract_text() for page in PdfReader(run_dir / "report.pdf").pages)
    monthly = f"${mine.monthly.value:,.2f}"
    for text in (html, " ".join(pdf.split())):
        flat = " ".join(text.split())
        assert "the projected bill" in flat.lower()
        assert monthly in flat, monthly
        assert "glm bills" in flat.lower()
        assert "Latency at your prompt sizes" in flat and "p50" in flat and "p90" in flat
        assert "Against what you run today" in flat
