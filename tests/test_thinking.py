"""Thinking models at the wire: the switch each provider expects, the reasoning kept out of the
answer, the two clocks, the thinking tokens and the replies max_tokens cut.

Every run goes through `evalkit compare` to the scripted server, speaking one provider's
reasoning dialect at a time (DeepSeek's `reasoning_content` deltas, DashScope's
`enable_thinking` with `<think>` in the content, Z.ai's `thinking` parameter, OpenAI's
`reasoning_effort` with hidden reasoning counted in `reasoning_tokens`, vLLM's chat-template
switch with `reasoning` deltas); the figures are read back from the store and the reports.
The embedded local model cannot think (SmolLM2-135M's chat template has no switch): that is
refused at validation, tested here too.
"""

from __future__ import annotations

import itertools
import json

import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.config import thinking
from evalkit.config.models import ModelConfig, load_config
from evalkit.console.scorecard import render
from evalkit.store.database import Store
from evalkit.testing.scripted_server import Reply
from evalkit.transport import UNFINISHED_THINKING, CallError, count_tokens
from evalkit.transport.base import Attempt, absorb_delta, check_complete

ITEMS = 3
TTFT, GAP, PAUSE = 0.05, 0.01, 0.6
"""Scripted: first delta after TTFT, GAP between deltas, and PAUSE more before the answer."""
THOUGHT = "two and two make four"  # five reasoning deltas
SLACK = 0.5
"""Client-side time a clock may add on top of the scripted one (on 2 cores shared with other
work); the scripted gaps are larger, so that the clocks stay apart."""


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env={"COLUMNS": "250"})


def write_config(tmp_path, server, models: list[dict], suite, **run) -> str:
    for model in models:
        model.setdefault("api_base", server.base_url)
        model.setdefault("price", {"input": 1000.0, "output": 1000.0})
    config = {"models": models, "suites": [{"name": "items", "path": str(suite)}], "run": {"max_tokens": 512, **run}}
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return str(path)


def compare(tmp_path, config: str, *extra: str):
    result = invoke("compare", "-c", config, "--store", str(tmp_path / "h.db"),
                    "--results-dir", str(tmp_path / "results"), *extra)
    assert result.exit_code == 0, result.output
    store = Store(str(tmp_path / "h.db"))
    return result.output, store, analyse_run(store, "last")


def thinking_reply(**options) -> Reply:
    return Reply("ok", reasoning=THOUGHT, ttft=TTFT, token_delay=GAP, answer_delay=PAUSE, **options)


def stored(analysis) -> list[dict]:
    """The run's records as stored: not measured is None."""
    frame = analysis.records.astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def by_label(analysis) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for row in stored(analysis):
        rows.setdefault(row["model"], []).append(row)
    return rows


def assert_thinking_clocks(record: dict, reasoning_deltas: int = 5) -> None:
    """first token at TTFT; the answer after the reasoning deltas and the pause."""
    answer_at = TTFT + reasoning_deltas * GAP + PAUSE
    assert TTFT <= record["first_token_s"] < TTFT + SLACK
    assert record["reasoning_ttft_s"] == record["first_token_s"]
    assert answer_at <= record["ttft_s"] < answer_at + SLACK
    assert record["thinking_s"] == pytest.approx(record["ttft_s"] - record["reasoning_ttft_s"])
    assert answer_at - TTFT - SLACK <= record["thinking_s"] < answer_at - TTFT + SLACK


def assert_plain_clocks(record: dict) -> None:
    assert TTFT <= record["ttft_s"] < TTFT + SLACK
    assert record["first_token_s"] == record["ttft_s"]
    assert record["thinking_s"] is None and record["reasoning_text"] is None


# --- the setting ------------------------------------------------------------------------


def test_on_and_off_are_two_candidates_labelled_apart_and_sent_in_the_providers_spelling(tmp_path):
    path = tmp_path / "bench.yaml"
    # unquoted on/off are YAML booleans: both spellings mean the same
    path.write_text("models:\n  - {id: dashscope/qwen3-max, thinking: on}\n"
                    "  - {id: dashscope/qwen3-max, thinking: off}\n  - {id: zai/glm-4.6, thinking: 'on'}\n"
                    "  - {id: deepseek/deepseek-v4-flash, thinking: high}\n", encoding="utf-8")
    models = load_config(path).models
    assert [m.display for m in models] == ["dashscope/qwen3-max:thinking", "dashscope/qwen3-max",
                                           "zai/glm-4.6:thinking", "deepseek/deepseek-v4-flash:thinking-high"]
    assert [m.thinking_params for m in models] == [
        {"enable_thinking": True}, {"enable_thinking": False}, {"thinking": {"type": "enabled"}},
        {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}]
    assert ModelConfig(id="openai/gpt-5.1", thinking="off").thinking_params == {"reasoning_effort": "none"}
    assert ModelConfig(id="hosted_vllm/qwen3", thinking="on").thinking_params == {
        "chat_template_kwargs": {"enable_thinking": True}}
    assert ModelConfig(id="anthropic/claude-haiku-4-5", thinking="low").thinking_params == {
        "thinking": {"type": "enabled", "budget_tokens": 1024}, "temperature": 1}


@pytest.mark.parametrize(("model", "setting", "message"), [
    ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "on",
     "knows no thinking switch for provider 'together_ai'"),
    ("local/smollm2-135m-q4_1", "on", "the embedded SmolLM2-135M-Instruct has no thinking mode"),
    ("dashscope/qwen3-max", "high", "takes no thinking effort 'high'; its efforts: none"),
    ("dashscope/qwq-plus", "off", "the model only thinks (thinking-only mode)"),
    ("deepseek/deepseek-v4-flash", "medium", "its efforts: low, high, max"),
    ("deepseek/deepseek-chat", "on", "deepseek-chat never thinks; use deepseek/deepseek-reasoner"),
    ("openai/gpt-4.1-mini", "on", "the model does not think"),
])
def test_a_setting_the_provider_has_no_switch_for_exits_2_naming_file_line_and_field(
        tmp_path, scripted_server, items_file, model, setting, message):
    server = scripted_server(Reply("ok"))
    config = write_config(tmp_path, server, [{"id": "openai/other", "label": "other"},
                                             {"id": model, "thinking": setting}], items_file(ITEMS))
    with open(config, encoding="utf-8") as lines:
        line = next(i for i, text in enumerate(lines, 1) if "thinking:" in text)
    result = invoke("compare", "-c", config, "--store", str(tmp_path / "h.db"))
    assert result.exit_code == 2
    assert f"bench.yaml:{line}: models[1].thinking: " in result.output and message in result.output
    assert server.chat_requests() == [] and not (tmp_path / "h.db").exists()


def test_thinking_parameters_also_in_params_and_a_budget_max_tokens_cannot_hold_are_refused(
        tmp_path, scripted_server, items_file):
    server = scripted_server(Reply("ok"))
    suite = items_file(ITEMS)
    both = write_config(tmp_path, server, [{"id": "zai/glm-4.6", "thinking": "on",
                                            "params": {"thinking": {"type": "disabled"}}}], suite)
    result = invoke("compare", "-c", both, "--store", str(tmp_path / "h.db"))
    assert result.exit_code == 2 and "params ['thinking'] are what thinking: on sets for zai/glm-4.6" in result.output
    budget = write_config(tmp_path, server, [{"id": "anthropic/claude-haiku-4-5", "thinking": "low"}], suite)
    result = invoke("compare", "-c", budget, "--store", str(tmp_path / "h.db"))
    assert result.exit_code == 2
    assert ("models[0].thinking: thinking low gives anthropic/claude-haiku-4-5 a thinking budget of 1024"
            in result.output)
    assert "max_tokens (512) must be larger" in result.output
    assert server.chat_requests() == []


def test_every_provider_with_a_switch_is_one_evalkit_routes_and_every_entry_is_dated():
    from evalkit.config import routes

    for provider, entry in thinking.table().items():
        assert entry.source.startswith("http") and entry.as_of == "2026-12-01", provider
        assert provider == "local" or provider in routes.routes(), provider


# --- reasoning out of the answer ----------------------------------------------------------


def split(pieces: list[str]) -> Attempt:
    attempt = Attempt()
    for i, piece in enumerate(pieces):
        attempt.chunks += 1
        absorb_delta(attempt, piece, None, float(i))
    attempt.finish_reason = "stop"
    check_complete(attempt)
    return attempt


REPLY = "\n<think>is 6 < 7? yes</think>\n\n42 is < 43"


def test_think_tags_cut_anywhere_across_chunks_never_reach_the_answer():
    every_cut = [c for n in (1, 2) for c in itertools.combinations(range(1, len(REPLY)), n)]
    assert len(every_cut) == 820  # each place, and each pair of places, a chunk may end
    for cuts in every_cut:
        bounds = (0, *cuts, len(REPLY))
        attempt = split([REPLY[a:b] for a, b in itertools.pairwise(bounds)])
        assert (attempt.text, attempt.reasoning) == ("42 is < 43", "is 6 < 7? yes"), cuts
        assert attempt.first_token_s == 0.0 and attempt.reasoning_ttft_s == 0.0, cuts
        # the answer's first token is in the chunk holding "4" (chunk i arrives at i seconds)
        assert attempt.ttft_s == float(sum(1 for c in cuts if c <= REPLY.index("42"))), cuts


PROMPTED = "is 6 < 7? yes</think>\n\n42 is < 43"
"""A reply whose template put ``<think>`` in the prompt (DeepSeek-R1 distils): only the close."""


def test_a_reply_that_only_closes_its_thought_is_split_at_the_close_wherever_chunks_end():
    every_cut = [c for n in (1, 2) for c in itertools.combinations(range(1, len(PROMPTED)), n)]
    for cuts in every_cut:
        bounds = (0, *cuts, len(PROMPTED))
        attempt = split([PROMPTED[a:b] for a, b in itertools.pairwise(bounds)])
        assert (attempt.text, attempt.reasoning) == ("42 is < 43", "is 6 < 7? yes"), cuts
        assert attempt.first_token_s == 0.0 and attempt.reasoning_ttft_s == 0.0, cuts
        assert attempt.ttft_s == float(sum(1 for c in cuts if c <= PROMPTED.index("42"))), cuts
    bare = split(["</think>", "4"])  # nothing before the close: no thought, just the answer
    assert (bare.text, bare.reasoning, bare.reasoning_ttft_s, bare.ttft_s) == ("4", "", None, 1.0)
    with pytest.raises(CallError) as caught:
        split(["still thinking", "</think>"])
    assert caught.value.error_class == UNFINISHED_THINKING


def test_text_that_only_looks_like_a_tag_stays_the_answer():
    assert split(["<th", "ead> is HTML"]).text == "<thead> is HTML"
    assert split(["the <think> tag ", "mid-answer</think>"]).text == "the <think> tag mid-answer</think>"
    held = split(["  ", "<thi"])
    assert (held.text, held.ttft_s, held.reasoning) == ("  <thi", 0.0, "")


@pytest.mark.parametrize(("pieces", "reasoning", "finish"), [
    (["<think>still ", "going</th"], "still going</th", "length"),
    (["<think>done</think>", "\n\n"], "done", "stop"),
])
def test_a_reply_that_is_all_thinking_is_classified_not_answered(pieces, reasoning, finish):
    attempt = Attempt(chunks=1)
    for piece in pieces:
        absorb_delta(attempt, piece, None, 0.1)
    attempt.finish_reason = finish
    with pytest.raises(CallError) as caught:
        check_complete(attempt)
    assert caught.value.error_class == UNFINISHED_THINKING and not caught.value.retryable
    assert attempt.reasoning == reasoning and attempt.text == ""


# --- the dialects at the wire ------------------------------------------------------------


def test_deepseek_reasoning_deltas_both_clocks_and_provider_reasoning_tokens(tmp_path, scripted_server, items_file):
    def script(request):
        if request.body.get("thinking") == {"type": "enabled"}:
            return thinking_reply(prompt_tokens=10, completion_tokens=42, reasoning_tokens=40)
        return Reply("ok", ttft=TTFT, prompt_tokens=10, completion_tokens=2)

    server = scripted_server(script)
    config = write_config(tmp_path, server, [{"id": "deepseek/deepseek-v4-flash", "thinking": "on"},
                                             {"id": "deepseek/deepseek-v4-flash", "thinking": "off"}],
                          items_file(ITEMS))
    output, _, analysis = compare(tmp_path, config)
    bodies = [r.body for r in server.chat_requests()]
    assert sorted(json.dumps(b["thinking"]) for b in bodies) == [json.dumps({"type": "disabled"})] * ITEMS + [
        json.dumps({"type": "enabled"})] * ITEMS
    assert all(b["model"] == "deepseek-v4-flash" and "reasoning_effort" not in b for b in bodies)
    records = by_label(analysis)
    for record in records["deepseek/deepseek-v4-flash:thinking"]:
        assert record["response_text"] == "ok" and record["score"] == 1.0
        assert record["reasoning_text"] == THOUGHT
        assert (record["reasoning_tokens"], record["reasoning_tokens_source"], record["completion_tokens"]) == (
            40, "provider", 42)
        assert record["cost_usd"] == pytest.approx((10 * 1000 + 42 * 1000) / 1e6)  # $0.052 a call
        assert_thinking_clocks(record)
    for record in records["deepseek/deepseek-v4-flash"]:
        assert_plain_clocks(record)
        assert record["reasoning_tokens"] is None and record["response_text"] == "ok"
    row = analysis.summary.by_model.set_index("model").loc["deepseek/deepseek-v4-flash:thinking"]
    assert (row["thinking_per_item"], row["thinking_per_correct"], row["truncated"]) == (40.0, 40.0, 0)
    assert row["first_token_p50"] < TTFT + SLACK <= TTFT + 5 * GAP + PAUSE <= row["ttft_p50"]
    assert "Thinking and truncation" in output and "deepseek/deepseek-v4-flash:thinking" in output


def test_dashscope_enable_thinking_and_think_tags_in_the_content(tmp_path, scripted_server, items_file):
    chunks = ["<thi", "nk>two and", " two</th", "ink>\n\n", "ok"]

    def script(request):
        if request.body.get("enable_thinking") is True:
            return Reply("".join(chunks), chunks=chunks, ttft=TTFT, token_delay=0.2, prompt_tokens=10,
                         completion_tokens=9)
        return Reply("ok", ttft=TTFT, prompt_tokens=10, completion_tokens=1)

    server = scripted_server(script)
    config = write_config(tmp_path, server, [{"id": "dashscope/qwen3-max", "thinking": True},
                                             {"id": "dashscope/qwen3-max", "thinking": False}], items_file(ITEMS))
    output, _, analysis = compare(tmp_path, config)
    assert sorted(r.body["enable_thinking"] for r in server.chat_requests()) == [False] * ITEMS + [True] * ITEMS
    estimated = count_tokens("dashscope/qwen3-max", "two and two")
    for record in by_label(analysis)["dashscope/qwen3-max:thinking"]:
        assert (record["response_text"], record["score"], record["reasoning_text"]) == ("ok", 1.0, "two and two")
        # DashScope bills the tags' tokens as completion tokens and reports none apart: counted, flagged
        assert (record["reasoning_tokens"], record["reasoning_tokens_source"]) == (estimated, "estimated")
        assert TTFT <= record["first_token_s"] < TTFT + SLACK and record["reasoning_ttft_s"] == record["first_token_s"]
        assert TTFT + 4 * 0.2 <= record["ttft_s"] < TTFT + 4 * 0.2 + SLACK  # "ok" is the fifth chunk
        # output speed counts from the first token: completion tokens include the thinking
        assert record["output_speed_tps"] == pytest.approx(8 / (record["e2e_s"] - record["first_token_s"]))
    assert "≈ thinking tokens counted from the reasoning text" in output and f"≈{estimated}" in output


def test_zai_thinking_parameter_and_its_reasoning_deltas(tmp_path, scripted_server, items_file):
    def script(request):
        if request.body.get("thinking", {}).get("type") == "enabled":
            return thinking_reply(prompt_tokens=10, completion_tokens=7)
        return Reply("ok", ttft=TTFT, prompt_tokens=10, completion_tokens=1)

    server = scripted_server(script)
    config = write_config(tmp_path, server, [{"id": "zai/glm-4.6", "thinking": "on"},
                                             {"id": "zai/glm-4.6", "thinking": "off"}], items_file(ITEMS))
    _, _, analysis = compare(tmp_path, config)
    bodies = [r.body for r in server.chat_requests()]
    assert sorted(b["thinking"]["type"] for b in bodies) == ["disabled"] * ITEMS + ["enabled"] * ITEMS
    assert all("seed" not in b for b in bodies)  # Z.ai takes no seed: the route drops it
    records = by_label(analysis)
    for record in records["zai/glm-4.6:thinking"]:
        assert (record["response_text"], record["reasoning_text"], record["score"]) == ("ok", THOUGHT, 1.0)
        assert (record["reasoning_tokens"], record["reasoning_tokens_source"]) == (5, "provider")  # the deltas
        assert_thinking_clocks(record)
    for record in records["zai/glm-4.6"]:
        assert_plain_clocks(record)


def test_openai_reasoning_effort_and_hidden_reasoning_counted_from_usage(tmp_path, scripted_server, items_file):
    def script(request):
        thinks = request.body.get("reasoning_effort") == "high"
        return Reply("ok", ttft=TTFT, prompt_tokens=10, completion_tokens=66 if thinks else 1,
                     reasoning_tokens=64 if thinks else None)

    server = scripted_server(script)
    config = write_config(tmp_path, server, [{"id": "openai/gpt-5.1", "thinking": "high"},
                                             {"id": "openai/gpt-5.1", "thinking": "off"}], items_file(ITEMS))
    output, _, analysis = compare(tmp_path, config)
    bodies = [r.body for r in server.chat_requests()]
    assert sorted(b["reasoning_effort"] for b in bodies) == ["high"] * ITEMS + ["none"] * ITEMS
    assert all(b["max_completion_tokens"] == 512 and "max_tokens" not in b for b in bodies)
    records = by_label(analysis)
    for record in records["openai/gpt-5.1:thinking-high"]:
        # OpenAI streams no reasoning: the tokens are known, thinking time is not
        assert (record["reasoning_tokens"], record["reasoning_tokens_source"]) == (64, "provider")
        assert record["reasoning_text"] is None and record["thinking_s"] is None
        assert record["first_token_s"] == record["ttft_s"] and record["cost_usd"] == pytest.approx(0.076)
    row = analysis.summary.by_model.set_index("model").loc["openai/gpt-5.1:thinking-high"]
    assert bool(row["thinking"]) and row["thinking_per_item"] == 64.0
    table = next(line for line in output.splitlines() if "gpt-5.1:thinking-high" in line and "n/a" in line)
    assert "64" in table  # thinking p50 n/a (nothing streamed), 64 thinking tokens per item


def test_vllm_chat_template_switch_and_reasoning_field(tmp_path, scripted_server, items_file):
    def script(request):
        if request.body["model"] == "Qwen/Qwen3-8B-no-parser":  # <think> in the content, 0 reasoning tokens
            return Reply("<think>two and two</think>ok", prompt_tokens=10, completion_tokens=8, reasoning_tokens=0)
        switch = request.body["chat_template_kwargs"]["enable_thinking"]
        return thinking_reply(reasoning_field="reasoning") if switch else Reply("ok", ttft=TTFT)

    server = scripted_server(script)
    config = write_config(tmp_path, server, [
        {"id": "hosted_vllm/Qwen/Qwen3-8B", "thinking": "on", "label": "qwen3"},
        {"id": "hosted_vllm/Qwen/Qwen3-8B", "thinking": "off", "label": "qwen3-instant"},
        {"id": "hosted_vllm/Qwen/Qwen3-8B-no-parser", "thinking": "on", "label": "no-parser"}], items_file(ITEMS))
    _, _, analysis = compare(tmp_path, config)
    assert {r.body["model"] for r in server.chat_requests()} == {"Qwen/Qwen3-8B", "Qwen/Qwen3-8B-no-parser"}
    records = by_label(analysis)
    for record in records["qwen3"]:
        assert (record["response_text"], record["reasoning_text"]) == ("ok", THOUGHT)
        assert_thinking_clocks(record)
    for record in records["no-parser"]:
        # a reported 0 beside reasoning the tags carried is no count: counted, and flagged
        assert (record["response_text"], record["reasoning_text"], record["score"]) == ("ok", "two and two", 1.0)
        assert record["reasoning_tokens_source"] == "estimated" and record["reasoning_tokens"] > 0


# --- truncation --------------------------------------------------------------------------


def test_truncation_is_counted_and_thinking_that_used_the_budget_is_classified_and_billed(
        tmp_path, scripted_server, items_file):
    max_tokens = 800
    long_thought = "hmm " * 40
    script = {
        "item 0": Reply("", reasoning=long_thought, finish_reason="length", prompt_tokens=10,
                        completion_tokens=max_tokens, reasoning_tokens=max_tokens),
        "item 1": Reply("o", reasoning=long_thought, finish_reason="length", prompt_tokens=10,
                        completion_tokens=max_tokens, reasoning_tokens=max_tokens - 1),
        "default": Reply("ok", reasoning="short", prompt_tokens=10, completion_tokens=700, reasoning_tokens=690),
    }
    server = scripted_server(script)
    config = write_config(tmp_path, server, [{"id": "deepseek/deepseek-v4-flash", "thinking": "on"}],
                          items_file(4), max_tokens=max_tokens)
    output, _, analysis = compare(tmp_path, config)
    records = {r["sample_id"]: r for r in stored(analysis)}
    cut = records["i0"]
    assert (cut["error_class"], cut["finish_reason"], cut["score"]) == (UNFINISHED_THINKING, "length", 0.0)
    assert "max_tokens ran out while it was still thinking" in cut["error_message"]
    # the provider billed every token: so does evalkit, at $1000 per 1M in and out
    assert cut["cost_usd"] == pytest.approx((10 + 800) * 1000 / 1e6)
    assert (cut["reasoning_tokens"], cut["reasoning_text"]) == (800, long_thought)
    assert len(server.chat_requests("item 0")) == 1  # final: the same request thinks as long again
    assert (records["i1"]["error_class"], records["i1"]["finish_reason"]) == (None, "length")
    row = analysis.summary.by_model.iloc[0]
    assert (row["truncated"], row["thinking_exhausted"]) == (2, 1)
    # suggested: at least 2 x 800, and 1.25 x the 95th percentile (700) of the finished replies,
    # rounded up to a multiple of 256: max(1600, 875) -> 1792
    assert ("2 of 4 replies stopped at max_tokens, 1 of them while still thinking (no answer began); "
            "max_tokens 800 is too small for it: try at least 1792.") in " ".join(output.split())
    assert "2 of 4 (1 no answer)" in output


# --- the reports -------------------------------------------------------------------------


@pytest.fixture
def thinking_pair_run(tmp_path, scripted_server, items_file):
    def script(request):
        if request.body.get("thinking") == {"type": "enabled"}:
            return thinking_reply(prompt_tokens=10, completion_tokens=42, reasoning_tokens=40)
        return Reply("ok", ttft=TTFT, prompt_tokens=10, completion_tokens=2)

    server = scripted_server(script)
    models = [{"id": "deepseek/deepseek-v4-flash", "thinking": "on", "label": "ds:thinking"},
              {"id": "deepseek/deepseek-v4-flash", "thinking": "off", "label": "ds"}]
    config = write_config(tmp_path, server, models, items_file(ITEMS))
    return compare(tmp_path, config)


def test_the_terminal_shows_both_clocks_and_thinking_tokens_in_80_columns(thinking_pair_run):
    _, _, analysis = thinking_pair_run
    console = Console(width=80, record=True, force_terminal=False)
    render(analysis, console)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "Thinking and truncation" in text  # its headers wrap over three lines at 80 columns
    row = next(line for line in text.splitlines() if "ds:thinking" in line and "of 3" in line)
    model, ttft, first, thought, per_item, per_correct, truncated = [c.strip() for c in row.strip("│").split("│")]
    assert (model, per_item, per_correct, truncated) == ("ds:thinking", "40", "40", "0 of 3")
    seconds = {cell: float(cell.split()[0]) / (1000 if cell.endswith(" ms") else 1) for cell in (ttft, first, thought)}
    assert seconds[first] < TTFT + SLACK <= TTFT + 5 * GAP + PAUSE <= seconds[ttft]  # the answer after the thinking
    assert seconds[thought] >= 5 * GAP + PAUSE - SLACK
    assert not any("│ ds " in line and "of 3" in line for line in text.splitlines())  # no thinking, not cut


def test_html_pdf_and_markdown_reports_show_the_thinking_table(tmp_path, thinking_pair_run):
    from evalkit.economics.volume import parse_volume
    from evalkit.report.content import build_content

    _, _, analysis = thinking_pair_run
    out = tmp_path / "reports"
    for fmt in ("md", "html", "pdf"):
        result = invoke("report", "last", "--store", str(tmp_path / "h.db"), "-f", fmt, "-o", str(out / f"r.{fmt}"))
        assert result.exit_code == 0, result.output
    markdown = (out / "r.md").read_text(encoding="utf-8")
    html = (out / "r.html").read_text(encoding="utf-8")
    for text in (markdown, html):
        assert "Thinking and truncation" in text and "1st token p50" in text and "Think tok/correct" in text
    assert "| ds:thinking |" in markdown and '<table id="table-thinking">' in html
    from pypdf import PdfReader

    pdf = " ".join(page.extract_text() for page in PdfReader(out / "r.pdf").pages)
    assert "Thinking and truncation" in pdf and "ds:thinking" in pdf and "tok/correct" in pdf
    folder = (tmp_path / "results" / analysis.run.run_id / "report.md").read_text(encoding="utf-8")
    assert "## Thinking and truncation" in folder and "| ds:thinking |" in folder  # the run folder's own
    content = build_content(analysis, parse_volume(None))
    assert [row[0] for row in content.thinking.rows] == ["ds:thinking"]
    assert content.thinking.rows[0][4] == "40" and content.thinking.rows[0][5] == "40"
    assert "Thinking and truncation" in content.all_text()
    sentence = next(p for p in content.summary if p.startswith("ds:thinking thinks before it answers"))
    assert sentence.endswith("40 thinking tokens per correct answer (see Thinking and truncation).")
    assert not any(p.startswith("ds thinks") for p in content.summary)


# --- through litellm ---------------------------------------------------------------------


def test_through_litellm_the_switch_reaches_the_wire_as_the_provider_expects(
        tmp_path, scripted_server, items_file, monkeypatch):
    """Kimi's `thinking` goes in extra_body (litellm would drop it), Z.ai's as is, and
    Anthropic's budget on the Messages request, which the scripted server answers in
    Anthropic's own event stream (a thinking block, then the text)."""
    monkeypatch.setenv("EVALKIT_TRANSPORT", "litellm")
    server = scripted_server(thinking_reply(prompt_tokens=10, completion_tokens=7))
    config = write_config(tmp_path, server, [
        {"id": "moonshot/kimi-k2.6", "thinking": "off"},
        {"id": "zai/glm-4.6", "thinking": "on"},
        {"id": "anthropic/claude-haiku-4-5", "thinking": "low", "api_base": server.url},
    ], items_file(1), max_tokens=2048)
    _, _, analysis = compare(tmp_path, config)
    bodies = {r.body["model"]: r.body for r in server.requests}
    assert bodies["kimi-k2.6"]["thinking"] == {"type": "disabled"}
    assert bodies["glm-4.6"]["thinking"] == {"type": "enabled"}
    claude = bodies["claude-haiku-4-5"]
    assert (claude["thinking"], claude["temperature"], claude["max_tokens"]) == (
        {"type": "enabled", "budget_tokens": 1024}, 1, 2048)
    records = by_label(analysis)
    glm = records["zai/glm-4.6:thinking"][0]
    assert (glm["response_text"], glm["reasoning_text"]) == ("ok", THOUGHT)
    assert glm["first_token_s"] < glm["ttft_s"] and glm["thinking_s"] >= 5 * GAP + PAUSE - SLACK
    # Anthropic's thinking block (its own event stream, through litellm's anthropic/ route)
    # reaches the record as reasoning, timed by both clocks; litellm reports 0 reasoning
    # tokens for it, so they are counted and flagged
    claude_record = records["anthropic/claude-haiku-4-5:thinking-low"][0]
    assert claude_record["error_class"] is None
    assert (claude_record["response_text"], claude_record["reasoning_text"]) == ("ok", THOUGHT)
    assert claude_record["first_token_s"] < claude_record["ttft_s"]
    assert claude_record["thinking_s"] >= 5 * GAP + PAUSE - SLACK
    assert claude_record["reasoning_tokens_source"] == "estimated" and claude_record["reasoning_tokens"] > 0
    assert claude_record["cost_usd"] == pytest.approx((10 + 7) * 1000 / 1e6)  # $1000 per 1M in and out


# --- old stores --------------------------------------------------------------------------


def test_a_schema_6_store_gains_the_thinking_columns_and_keeps_its_records(tmp_path):
    import sqlite3

    from evalkit.store import SCHEMA_VERSION, CallRecord
    from evalkit.store.migrations import THINKING_COLUMNS

    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    store.add_record(CallRecord(run_id="r", model="m", model_id="x", suite="s", sample_id="old",
                                request_hash="h", ttft_s=0.2, reasoning_ttft_s=0.1, completion_tokens=5, e2e_s=0.4))
    with sqlite3.connect(path) as db:  # the store as schema 6 left it
        for name in THINKING_COLUMNS:
            db.execute(f"ALTER TABLE records DROP COLUMN {name}")
        db.execute("UPDATE evalkit_meta SET value='6' WHERE key='schema_version'")
    store = Store(f"sqlite:///{path}")
    store.add_record(CallRecord(run_id="r", model="m", model_id="x", suite="s", sample_id="new", request_hash="h",
                                reasoning_text="hm", first_token_s=0.1, thinking_s=0.3,
                                reasoning_tokens=3, reasoning_tokens_source="estimated"))
    frame = store.records_frame("r").set_index("sample_id")
    assert frame.loc["old", "ttft_s"] == 0.2 and frame.loc["old", "completion_tokens"] == 5
    assert frame.loc[["old"], list(THINKING_COLUMNS)].isna().all().all()  # not measured, never 0
    assert tuple(frame.loc["new", list(THINKING_COLUMNS)]) == ("hm", 0.1, 0.3, "estimated")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM evalkit_meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)


# --- the embedded model ------------------------------------------------------------------


@pytest.mark.local_model
def test_the_embedded_model_cannot_think_but_its_truncations_are_counted(tmp_path):
    """SmolLM2-135M has no thinking mode (refused above); a max_tokens too small for its
    answers shows in the same table, with a max_tokens that would fit."""
    pytest.importorskip("xllamacpp", reason="xllamacpp is not installed")
    result = invoke("compare", "-m", "local/smollm2-135m-q4_1", "-s", "arithmetic", "--limit", "2",
                    "--max-tokens", "8", "--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    analysis = analyse_run(Store(str(tmp_path / "h.db")), "last")
    assert all(r["finish_reason"] == "length" and r["reasoning_text"] is None for r in stored(analysis))
    row = analysis.summary.by_model.iloc[0]
    assert (row["truncated"], row["thinking_exhausted"], bool(row["thinking"])) == (2, 0, False)
    # 2 x 8 = 16 (no reply finished on its own), rounded up to a multiple of 256
    assert "2 of 2 replies stopped at max_tokens; max_tokens 8 is too small for it: try at least 256." in (
        " ".join(result.output.split()))


def test_an_answer_that_begins_with_blank_chunks_is_timed_from_the_first_of_them():
    attempt = Attempt()
    absorb_delta(attempt, None, "reasoning in its own field", 0.5)
    for at, piece in ((1.0, "\n"), (2.0, " "), (3.0, "42")):
        absorb_delta(attempt, piece, None, at)
    assert (attempt.text, attempt.ttft_s, attempt.first_token_s, attempt.reasoning_ttft_s) == ("\n 42", 1.0, 0.5, 0.5)
