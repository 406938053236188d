"""Capacity sweep and self-hosted $/token: a scripted server with known throughput, and
one real sweep of the embedded local model."""

from __future__ import annotations

import pytest

from evalkit.console import capacity as capacity_view
from evalkit.economics import capacity, sweep
from evalkit.economics.capacity import SLO, SweepOptions, TimedRequest
from evalkit.economics.sweep import Endpoint
from evalkit.run import capacity as capacity_run
from evalkit.testing.scripted_server import Reply, ScriptedServer
from evalkit.testing.slots import SlottedScript

PROMPTS = [({"role": "user", "content": f"question {i}"},) for i in range(7)]
WORDS = " ".join(f"w{i}" for i in range(10))  # 10 deltas, 10 completion tokens


def test_price_split_is_the_stated_formula():
    # 1000 input tok/s and 100 output tok/s on a $3.60/hour machine, ratio 1:4:
    # $0.001/s = p_out × (0.25 × 1000 + 100)  =>  p_out = 0.001 / 350.
    samples = [TimedRequest(start=0.0, end=0.5 + i * 0.1, ttft=0.1, prompt_tokens=100, completion_tokens=10)
               for i in range(10)]
    step = capacity.summarise(samples, load=1, mode="closed", w0=0.0, w1=1.0)
    assert step.n == 6 and step.requests_per_s == pytest.approx(6.0)
    step.input_tokens_per_s, step.output_tokens_per_s = 1000.0, 100.0
    price = capacity.derive_price(step, hourly_cost=3.6)
    assert price.output == pytest.approx(0.001 / 350)
    assert price.input == pytest.approx(0.25 * 0.001 / 350)
    assert price.blended == pytest.approx(0.001 / 1100)
    # At these prices the measured workload costs exactly the hourly cost.
    assert (1000 * price.input + 100 * price.output) * 3600 == pytest.approx(3.6)


def test_percentiles_and_slo_judgement():
    assert capacity.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert capacity.percentile([], 95) is None
    samples = [TimedRequest(start=0, end=1.0, ttft=0.9, completion_tokens=5)]
    step = capacity.check_target(capacity.summarise(samples, 1, "closed", 0, 2), SLO(ttft_p95_s=0.5))
    assert not step.meets_slo and "TTFT p95" in step.failures[0]


def test_sweep_against_known_throughput_matches_hand_computed_price(tmp_path):
    # 2 slots; each request holds one for 0.05 + 9 × 0.03 = 0.32 s. Closed loop:
    # c=1 → 1/0.32 req/s, c=2 → 2/0.32 req/s, c=4 → still 2/0.32, and TTFT grows by a
    # whole service time of queueing, breaking the 0.2 s target. The price comes from c=2.
    script = SlottedScript(Reply(WORDS, ttft=0.05, token_delay=0.03, prompt_tokens=200, completion_tokens=10), 2)
    assert script.service_time == pytest.approx(0.32)
    options = SweepOptions(concurrency=(1, 2, 4), step_seconds=3.0, warmup_seconds=0.5, max_tokens=16)
    with ScriptedServer(script) as server:
        result = sweep.sweep(Endpoint("openai/scripted", server.base_url, "test"), PROMPTS,
                                hourly_cost=3.6, slo=SLO(ttft_p95_s=0.2), options=options, suite="t")
    print("\n".join(capacity_view.step_table(result)))
    loads = [s.load for s in result.steps]
    assert loads == [1, 2, 4], capacity_view.step_table(result)
    assert result.chosen == 1 and "target broken at c=4" in result.stop_reason
    # The server holds each request 0.32 s; the client adds its own overhead per request
    # (litellm on a shared 2-core machine: tens of ms), measured by the c=1 step, where
    # nothing queues. With 2 slots, c=2 then gives twice c=1's rate and c=4 no more.
    cycle = 1 / result.steps[0].requests_per_s
    assert 0.32 <= cycle < 0.32 + 0.15
    rps = 2 / cycle
    step = result.steps[1]
    assert step.requests_per_s == pytest.approx(rps, rel=0.12)
    assert step.output_tokens_per_s == pytest.approx(10 * rps, rel=0.12)
    # c=4: the slots never idle (client overhead overlaps the queue), so the server's own
    # bound of 2/0.32 req/s is what caps it.
    assert result.steps[2].requests_per_s <= 2 / 0.32 * 1.1
    # Hand-computed: $3.60/h = $0.001/s ÷ (0.25 × 200 × rps + 10 × rps) tokens/s; with no
    # client overhead at all (rps = 6.25) that is $2.67 per 1M output tokens.
    assert pytest.approx(2.6667, rel=1e-3) == 0.001 / (60 * 6.25) * 1e6
    expected_out = 0.001 / (0.25 * 200 * rps + 10 * rps)
    assert result.price.output == pytest.approx(expected_out, rel=0.12)
    assert result.price.input == pytest.approx(0.25 * expected_out, rel=0.12)
    # And exactly the stated formula applied to what was measured.
    measured = 0.001 / (0.25 * step.input_tokens_per_s + step.output_tokens_per_s)
    assert result.price.output == pytest.approx(measured, rel=1e-9)
    assert result.price.prompt_tokens_per_request == pytest.approx(200)
    assert result.steps[2].ttft_p95 > 0.3  # queued behind a full service time
    loaded = capacity.load_capacity(result.save(tmp_path))
    assert loaded.price == result.price and loaded.steps[1].n == step.n


def test_poisson_mode_reports_achieved_rate():
    reply = Reply(WORDS, ttft=0.02, token_delay=0.01, prompt_tokens=50, completion_tokens=10)
    options = SweepOptions(rates=(5.0,), step_seconds=2.0, warmup_seconds=0.3)
    with ScriptedServer(reply) as server:
        result = sweep.sweep(Endpoint("openai/scripted", server.base_url, "test"), PROMPTS,
                                hourly_cost=1.0, options=options)
    step = result.steps[0]
    assert step.mode == "poisson" and 1.5 < step.requests_per_s < 12
    assert step.cv is not None and result.price is not None


def test_local_model_end_to_end(tmp_path):
    """A real sweep of the embedded llama.cpp model: 2 steps of a few seconds each."""
    pytest.importorskip("xllamacpp")
    # Short answers and a window long enough to hold several on a busy 2-core machine,
    # where one request takes seconds; the first (uncounted) request is the warm-up.
    prompts = capacity_run.suite_prompts("arithmetic", size=6)
    options = SweepOptions(concurrency=(1, 2), step_seconds=10.0, warmup_seconds=0.0, max_tokens=8)
    result = capacity_run.run_sweep("local/smollm2-135m-q4_0", None, None, prompts, 0.10, SLO(ttft_p95_s=30),
                                options, suite="arithmetic")
    print("\n".join(capacity_view.step_table(result) + capacity_view.price_lines(result)))
    assert result.steps[0].load == 1 and result.chosen is not None
    step = result.steps[result.chosen]
    assert step.n > 0 and step.output_tokens_per_s > 0 and step.ttft_p50 is not None
    assert step.usage_estimated == 0  # llama.cpp's server streams its own usage
    hourly_per_second = 0.10 / 3600
    assert result.price.output == pytest.approx(
        hourly_per_second / (0.25 * step.input_tokens_per_s + step.output_tokens_per_s))
    assert capacity.load_capacity(result.save(tmp_path)).price == result.price


def test_config_prices_a_model_from_a_capacity_run(tmp_path):
    from evalkit.config.models import ModelConfig
    from evalkit.economics.pricing import resolve_price

    samples = [TimedRequest(start=0, end=0.5, ttft=0.1, prompt_tokens=100, completion_tokens=50)]
    step = capacity.check_target(capacity.summarise(samples, 4, "closed", 0, 1), SLO())
    result = capacity.CapacityResult(
        id="t", model="m", api_base=None, created="", suite="s", mode="closed", hourly_cost=3.6, slo=SLO(),
        options=SweepOptions(), steps=[step], stop_reason="", chosen=0, price=capacity.derive_price(step, 3.6))
    price = resolve_price(ModelConfig(id="hosted_vllm/m", price_from_capacity=str(result.save(tmp_path))))
    assert price.output == pytest.approx(0.001 / (25 + 50)) and "self-hosted" in price.source
    with pytest.raises(ValueError):
        ModelConfig(id="x", hourly_cost=1.0, price_from_capacity="y.json")


def _capacity_file(tmp_path, requests_per_s: int = 10):
    """A stored sweep of one step: ``requests_per_s`` requests of 100 + 50 tokens in 1 s, $3.60/hour."""
    samples = [TimedRequest(start=0, end=0.5 + i * 0.04, ttft=0.1, prompt_tokens=100, completion_tokens=50)
               for i in range(requests_per_s)]
    step = capacity.check_target(capacity.summarise(samples, 8, "closed", 0, 1), SLO(ttft_p95_s=1.0))
    result = capacity.CapacityResult(
        id="t", model="hosted_vllm/qwen3-8b", api_base=None, created="2026-11-28", suite="s", mode="closed",
        hourly_cost=3.6, slo=SLO(ttft_p95_s=1.0), options=SweepOptions(), steps=[step], stop_reason="",
        chosen=0, price=capacity.derive_price(step, 3.6))
    return result.save(tmp_path)


def test_reports_show_self_hosting_against_the_apis(tmp_path):
    from evalkit.analysis.run_analysis import analyse_run
    from evalkit.config.models import ModelConfig
    from evalkit.economics import selfhost
    from evalkit.economics.pricing import resolve_price
    from evalkit.economics.volume import parse_volume
    from evalkit.report.formats import write_reports
    from evalkit.store.database import Store
    from evalkit.testing.synthetic_run import make_run

    path = _capacity_file(tmp_path)
    api = ModelConfig(id="openai/gpt-4o", label="gpt-4o", price={"input": 5.0, "output": 15.0})
    own = ModelConfig(id="hosted_vllm/qwen3-8b", label="Qwen3-8B on our GPU", price_from_capacity=str(path))
    store = Store(f"sqlite:///{tmp_path / 'history.db'}")
    run_id = make_run(store, tmp_path / "suites", [api, own], suites=1, items=6)
    paths = write_reports(analyse_run(store, run_id), ["html", "pdf", "md"], tmp_path / "out", "50000/day")
    html, pdf, md = (p for p in sorted(paths, key=lambda p: ["html", "pdf", "md"].index(p.suffix[1:])))

    # the figure the section must show is selfhost.project's, at the report's volume
    projection = selfhost.project(capacity.load_capacity(path), [resolve_price(api)], parse_volume("50000/day"))
    even = projection.apis[0].break_even_requests
    assert even == pytest.approx(3.6 * 730 / (100 * 5e-6 + 50 * 15e-6))  # one replica's month ÷ API $/request
    figure = f"{even:,.0f}"

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(str(pdf)).pages)
    squashed = "".join(text.split())
    for needle in ("Self-hosting vs APIs", "$3.60 per hour", "TTFT p95 ≤ 1 s", "concurrency 8", figure,
                   "requests per month", f"break-even {figure}/month"):  # the last two: the chart's own text
        assert "".join(needle.split()) in squashed, needle
    page = html.read_text(encoding="utf-8")
    assert 'id="self-hosting-vs-apis"' in page and figure in page
    assert '<figure class="chart" id="chart-self-hosting-0"><svg' in page
    assert f"{projection.self_hosted.replicas}" in page and "50%" in page
    markdown = md.read_text(encoding="utf-8")
    assert "## Self-hosting vs APIs" in markdown and figure in markdown
    assert (md.parent / "report-charts" / "self-hosting-0.svg").is_file()
    # the other charts stay where they were: one figure of the section, not under Charts
    charts_section = page.split('id="charts"')[1].split("</section>")[0]
    assert "self-hosting" not in charts_section


def test_capacity_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    from evalkit.config.models import load_config
    from evalkit.errors import UsageError

    folder = tmp_path / "bench"
    folder.mkdir()
    path = _capacity_file(folder / "results")
    config = folder / "c.yaml"
    config.write_text("models:\n  - id: hosted_vllm/qwen3-8b\n    price_from_capacity: results/capacity-t.json\n"
                      "suites:\n  - name: arithmetic\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    assert load_config(config).models[0].price_from_capacity == str(path.resolve())
    config.write_text(config.read_text().replace("capacity-t.json", "capacity-gone.json"), encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_config(config)
    message = str(exc.value)
    assert "\n" not in message and str(config) in message and "models[0].price_from_capacity" in message
