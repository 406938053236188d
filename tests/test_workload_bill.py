"""The projected bill for a workload profile, and token inflation.

Inflation is measured on a real run: two models on the scripted server report different
prompt tokens for the very same English and Chinese prompts (a third reports no usage, so
evalkit counts and the ratio is flagged). The bill's arithmetic is pinned to the cent on
small profiles computed by hand: a cache read, a context tier, an unavailable purchase
option, the interval, machines paid all month. The CLI writes real HTML and PDF with the
section, and an unknown profile name exits 2 before any call.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml
from click.testing import CliRunner

from evalkit.analysis.inflation import TokenInflation, choose_reference, item_languages, measure
from evalkit.analysis.run_analysis import analyse_run
from evalkit.cli import main
from evalkit.economics.pricing import ModelPrice
from evalkit.economics.volume import parse_volume
from evalkit.economics.workload_bill import Machine, candidate_bill, mean_interval, requests_per_month
from evalkit.errors import UsageError
from evalkit.store.database import Store
from evalkit.testing.scripted_server import Reply
from evalkit.workload.profile import WorkloadProfile

T_975 = {2: 4.302652729749464, 3: 3.182446305284263, 9: 2.262157162798205}
"""Student-t 0.975 quantiles by degrees of freedom (printed tables; scipy.stats.t.ppf agrees)."""

ITEMS = [  # id, prompt, reference's prompt tokens, GLM's prompt tokens
    ("en1", "Name the capital of France.", 100, 110),
    ("en2", "List three primary colours, please.", 300, 330),
    ("zh1", "法国的首都是哪里？", 100, 125),
    ("zh2", "请列出三种原色。", 100, 125),
]
"""English: 440 / 400 = 1.10x; Chinese: 250 / 200 = 1.25x."""


def _price(**rules) -> ModelPrice:
    return ModelPrice(model="m", model_id="x/m", **rules)


def _profile(prompts, completions, **fields) -> WorkloadProfile:
    return WorkloadProfile(name="p", source="p.jsonl", format="openai-jsonl", prompt_tokens=list(prompts),
                           completion_tokens=list(completions), **fields)


# ---------------------------------------------------------------------------- the arithmetic


TIERED = dict(input=2e-6, output=8e-6, cached_input=0.5e-6,
              tiers=({"above_tokens": 200_000, "input": 4e-6, "output": 12e-6, "cached_input": 1e-6},),
              options={"batch": {"input": 1e-6, "output": 4e-6}})
"""$2 / $8 per 1M, cache read $0.50; above 200k prompt tokens $4 / $12, cache read $1; batch
$1 / $4 at the base tier only."""


def test_bill_applies_inflation_cache_reads_and_the_context_tier_to_the_cent():
    profile = _profile([1000, 150_000, 10_000], [200, 1000, 500], cache_hit_estimate=0.2, requests_per_month=30_000)
    bill = candidate_bill("m", _price(**TIERED), profile, 1.5, monthly_requests=30_000)
    # × 1.5: prompts 1,500 / 225,000 (above 200k: the tier) / 15,000; answers 300 / 1,500 / 750; 20% cached
    costs = [1200 * 2e-6 + 300 * 0.5e-6 + 300 * 8e-6,          # $0.00495
             180_000 * 4e-6 + 45_000 * 1e-6 + 1500 * 12e-6,    # $0.783
             12_000 * 2e-6 + 3000 * 0.5e-6 + 750 * 8e-6]       # $0.0315
    assert bill.status == "priced" and bill.tiers == {"base": 2, "> 200,000 tokens": 1}
    assert bill.per_request.value == pytest.approx(0.27315)
    assert round(bill.monthly.value, 2) == 8194.50  # 30,000 × $0.27315
    mean = sum(costs) / 3
    sd = math.sqrt(sum((c - mean) ** 2 for c in costs) / 2)
    high = mean + T_975[2] * sd / math.sqrt(3)
    assert round(bill.monthly.high, 2) == round(30_000 * high, 2) == 41114.98
    assert bill.monthly.low == 0  # the t interval of three skewed costs reaches below $0: kept at 0


def test_a_purchase_option_missing_at_a_tier_or_at_all_is_unavailable_never_standard():
    long = _profile([1000, 150_000], [200, 1000])
    at_tier = candidate_bill("m", _price(**TIERED), long, 1.5, purchase="batch", monthly_requests=1000)
    assert at_tier.status == "unavailable" and at_tier.monthly is None
    assert at_tier.reason == "unavailable: no batch price for prompts above 200,000 tokens"
    flex = candidate_bill("m", _price(**TIERED), long, 1.0, purchase="flex", monthly_requests=1000)
    assert (flex.status, flex.reason) == ("unavailable", "unavailable: no flex price")
    short = _profile([1000], [200], cache_hit_estimate=0.5)
    batch = candidate_bill("m", _price(**TIERED), short, 1.5, purchase="batch", monthly_requests=1000)
    # batch has no cache-read rate: the cached half is at batch's input rate; one request, no interval
    assert batch.per_request.value == pytest.approx(1500 * 1e-6 + 300 * 4e-6)
    assert round(batch.monthly.value, 2) == 2.70 and batch.monthly.low is None


def test_logged_cached_tokens_and_the_cache_hit_override():
    price = _price(input=1e-6, output=2e-6, cached_input=0.1e-6)
    logged = _profile([1000, 2000], [100, 100], cached_tokens=[500, 0], cache_hit_estimate=0.9)
    bill = candidate_bill("m", price, logged, 1.0, monthly_requests=10_000)
    first, second = 500 * 1e-6 + 500 * 0.1e-6 + 100 * 2e-6, 2000 * 1e-6 + 100 * 2e-6  # per request as logged
    assert round(bill.monthly.value, 2) == round(10_000 * (first + second) / 2, 2) == 14.75
    override = candidate_bill("m", price, logged, 1.0, cache_hit_rate=0.0, monthly_requests=10_000)
    assert round(override.monthly.value, 2) == round(10_000 * (3000 * 1e-6 + 200 * 2e-6) / 2, 2) == 17.00


def test_the_interval_is_the_student_t_interval_of_the_mean_request():
    costs = [0.010, 0.012, 0.009, 0.011, 0.013, 0.010, 0.008, 0.012, 0.011, 0.014]
    estimate = mean_interval(costs)
    mean = sum(costs) / 10
    half = T_975[9] * math.sqrt(sum((c - mean) ** 2 for c in costs) / 9) / math.sqrt(10)
    assert estimate.value == pytest.approx(0.011)
    assert (estimate.low, estimate.high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert round(1e6 * estimate.low, 2) == 9693.94 and round(1e6 * estimate.high, 2) == 12306.06


def test_self_hosted_months_buy_whole_machines_and_hourly_only_is_not_available():
    swept = _price(input=1e-6, output=4e-6, source="self-hosted: capacity run abc")
    profile = _profile([800] * 4, [50] * 4)  # $0.001 a request at full use of the machine
    machine = Machine(hourly_cost=2.0, utilisation=0.5)  # $1,460 a month, carrying $730 of full-use work
    busy = candidate_bill("s", swept, profile, 1.0, monthly_requests=1_000_000, machine=machine)
    assert busy.replicas == 2 and round(busy.monthly.value, 2) == 2920.00  # ceil($1,000 / $730) machines
    assert busy.monthly.low == busy.monthly.high == 2920.00  # every request costs the same: no spread
    quiet = candidate_bill("s", swept, profile, 1.0, monthly_requests=1000, machine=machine)
    assert quiet.replicas == 1 and round(quiet.monthly.value, 2) == 1460.00  # never below one machine all month
    assert round(quiet.per_request.value, 2) == 1.46
    hourly = candidate_bill("h", _price(hourly_cost=3.0), profile, 1.0, monthly_requests=1000)
    assert hourly.status == "n/a" and "capacity" in hourly.reason and hourly.monthly is None


def test_the_volume_comes_from_the_option_or_the_profile_else_it_is_unknown():
    profile = _profile([900, 1100], [100, 100], requests_per_month=12_345.0)
    assert requests_per_month(profile, None) == (12_345.0, "the profile's own rate (its first to last timestamp)")
    assert requests_per_month(profile, parse_volume("1000/day"))[0] == 30_000
    tokens = parse_volume("1.1M-tokens/month")  # at the profile's 1,100 tokens a request
    assert requests_per_month(profile, tokens)[0] == pytest.approx(1000)
    amount, why = requests_per_month(_profile([1], [1]), None)
    assert amount is None and "--volume" in why
    unknown_volume = candidate_bill("m", _price(input=1e-6, output=1e-6), profile, 1.0)
    assert unknown_volume.status == "priced" and unknown_volume.monthly is None


# ---------------------------------------------------------------------------- languages, reference


def test_the_incumbent_is_the_reference_when_it_is_in_the_run():
    models = [("glm", "openai/glm-4.6"), ("gpt", "openai/gpt-4.1")]
    assert choose_reference(models, "gpt-4.1")[0] == "gpt"
    label, why = choose_reference(models, "gpt-4.1", "glm")
    assert label == "gpt" and "--reference glm is not used" in why
    assert choose_reference(models, "claude", "glm")[0] == "glm"
    assert choose_reference(models, None)[0] == "glm"  # the run's first model
    with pytest.raises(UsageError, match="not a model of this run"):
        choose_reference(models, None, "nope")


def test_a_multi_turn_task_pairs_its_first_turn_and_unpaired_or_failed_calls_count_nothing():
    import pandas as pd

    def call(model, sample_id, prompt, epoch=0, error=None, turns=None):
        return {"model": model, "suite": "agent", "sample_id": sample_id, "epoch": epoch, "prompt_tokens": prompt,
                "usage_source": "provider", "error_class": error,
                "turn_log": None if turns is None else json.dumps([{"prompt_tokens": t} for t in turns])}

    records = pd.DataFrame([
        call("ref", "t1", 900, turns=[200, 700]), call("glm", "t1", 1500, turns=[230, 1270]),  # first turns
        call("ref", "t2", 100), call("glm", "t2", None, error="timeout"),  # failed: no pair
        call("glm", "t1", 999, epoch=1),  # the reference has no epoch 1: no pair
    ])
    glm = measure(records, {}, "ref").ratios["glm"]
    assert set(glm) == {"unknown", "all"}  # no language known for these items
    assert (glm["all"].ratio, glm["all"].pairs) == (230 / 200, 1)


# ---------------------------------------------------------------------------- on the scripted server


def _answer(request):
    """Each model reports its own prompt tokens for the same prompt; `est` reports no usage."""
    model = request.body["model"]
    row = next(item for item in ITEMS if item[1] == request.prompt)
    if model == "est":
        return Reply("ok", include_usage=False)
    return Reply("ok", prompt_tokens=row[2] if model == "ref" else row[3], completion_tokens=5)


@pytest.fixture
def bench(tmp_path, monkeypatch, scripted_server):
    """A benchmark of ref, GLM and est on the scripted server, and a store holding profile `prod`."""
    suite = tmp_path / "mixed.jsonl"
    suite.write_text("".join(json.dumps({"id": i, "prompt": p, "reference": "ok"}) + "\n" for i, p, _, _ in ITEMS),
                     encoding="utf-8")
    server = scripted_server(_answer, api_key="sk-test")
    monkeypatch.setenv("EVALKIT_TEST_KEY", "sk-test")
    prices = {"ref": {"input": 1.0, "output": 2.0, "cached_input": 0.25}, "GLM": {"input": 0.5, "output": 1.0},
              "est": {"input": 1.0, "output": 1.0}}
    models = [{"id": f"openai/{label.lower()}", "label": label, "api_base": server.base_url,
               "api_key_env": "EVALKIT_TEST_KEY", "price": price} for label, price in prices.items()]
    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump({"models": models, "suites": [{"name": "mixed", "path": str(suite)}]}),
                      encoding="utf-8")
    store_path = tmp_path / "h.db"
    profile = _profile([1000, 2000, 3000, 6000], [100, 200, 300, 400], cache_hit_estimate=0.5,
                       requests_per_month=100_000.0, languages={"zh": 0.6, "en": 0.4}, logged_models={"ref": 4})
    Store(str(store_path)).save_workload("prod", "prod.jsonl", "openai-jsonl", profile.to_dict())
    return {"config": config, "store": str(store_path), "server": server, "results": tmp_path / "results"}


def _compare(bench, *extra):
    return CliRunner().invoke(main, ["compare", "-c", str(bench["config"]), "--store", bench["store"], "-q",
                                     "--results-dir", str(bench["results"]), *extra], catch_exceptions=False)


def test_inflation_is_the_ratio_of_prompt_tokens_on_the_same_prompts_per_language(bench):
    assert _compare(bench).exit_code == 0
    store = Store(bench["store"])
    analysis = analyse_run(store, "last")
    keys = set(zip(analysis.records["suite"], analysis.records["sample_id"]))
    languages = item_languages(analysis.run.config, keys)
    assert languages == {("mixed", "en1"): "en", ("mixed", "en2"): "en", ("mixed", "zh1"): "zh",
                         ("mixed", "zh2"): "zh"}
    measured = measure(analysis.records, languages, "ref")
    glm = measured.ratios["GLM"]
    assert glm["zh"].ratio == 1.25 and glm["en"].ratio == pytest.approx(1.10)
    assert (glm["zh"].pairs, glm["zh"].candidate_tokens, glm["zh"].reference_tokens) == (2, 250, 200)
    assert glm["all"].ratio == pytest.approx(690 / 600) and not glm["zh"].estimated
    assert measured.ratios["ref"]["all"].ratio == 1.0
    assert measured.ratios["est"]["zh"].estimated  # counted by a tokenizer: flagged
    mixed = measured.for_mix("GLM", {"zh": 0.6, "en": 0.4, "fr": 0.0})
    assert mixed.value == pytest.approx(0.6 * 1.25 + 0.4 * 1.10) and mixed.pooled_for == ["fr"]
    assert isinstance(measured, TokenInflation) and measured.languages == ["en", "zh"]


def test_compare_and_report_with_a_workload_write_the_bill_into_html_and_pdf(bench, tmp_path):
    from pypdf import PdfReader

    result = _compare(bench, "--workload", "prod", "--report", "html", "--report", "pdf")
    assert result.exit_code == 0, result.output
    # ref per request: (0.625 × prompt + 2 × completion) / 1M, mean $0.002375; × 100,000 requests a month
    # GLM: inflation 0.6 × 1.25 + 0.4 × 1.10 = 1.19, no cache-read price: 1.19 × (0.5 × prompt + completion) / 1M
    assert "ref: $237.50" in result.output and "GLM: $208.25" in result.output
    (run_dir,) = bench["results"].iterdir()
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Your workload: the projected bill" in html and 'id="table-workload-bill"' in html
    assert "GLM bills 1.10x the prompt tokens of ref on these English prompts" in html
    assert "1.25x on these Chinese prompts (2 pairs)" in html
    assert "$237.50 [" in html and "$208.25 [" in html
    pdf = " ".join(page.extract_text() for page in PdfReader(str(run_dir / "report.pdf")).pages)
    assert "Your workload: the projected bill" in pdf and "$208.25" in pdf
    out = tmp_path / "bill.md"
    again = CliRunner().invoke(main, ["report", "last", "--store", bench["store"], "--workload", "prod",
                                      "--volume", "1000/day", "-f", "md", "-o", str(out)])
    assert again.exit_code == 0, again.output
    markdown = out.read_text(encoding="utf-8")
    assert "## Your workload: the projected bill" in markdown and "$71.25 [" in markdown  # 30,000 × $0.002375
    assert "30,000 requests/month, from --volume 1000/day" in markdown


def test_an_unknown_profile_exits_2_naming_the_stored_ones_before_any_call(bench):
    result = CliRunner().invoke(main, ["compare", "-c", str(bench["config"]), "--store", bench["store"], "-q",
                                       "--results-dir", str(bench["results"]), "--workload", "nope"])
    assert result.exit_code == 2 and "no workload profile 'nope'" in result.output and "stored: prod" in result.output
    assert bench["server"].chat_requests() == [] and not bench["results"].exists()
    assert _compare(bench).exit_code == 0
    report = CliRunner().invoke(main, ["report", "last", "--store", bench["store"], "--workload", "nope"])
    assert report.exit_code == 2 and "stored: prod" in report.output
    stray = CliRunner().invoke(main, ["report", "last", "--store", bench["store"], "--reference", "ref"])
    assert stray.exit_code == 2 and "add --workload NAME" in stray.output


def test_a_capacity_priced_model_in_a_report_pays_whole_machines(tmp_path):
    from evalkit.config.models import ModelConfig
    from evalkit.economics import capacity
    from evalkit.economics.capacity import SLO, SweepOptions, TimedRequest
    from evalkit.report.workload_bill import WorkloadRequest, workload_bill
    from evalkit.testing.synthetic_run import make_run

    # a sweep step of 10 requests of 100 + 50 tokens a second at $3.60/hour: $0.0001 a request at full use
    samples = [TimedRequest(start=0, end=0.5 + i * 0.04, ttft=0.1, prompt_tokens=100, completion_tokens=50)
               for i in range(10)]
    step = capacity.check_target(capacity.summarise(samples, 8, "closed", 0, 1), SLO())
    sweep = capacity.CapacityResult(
        id="t", model="hosted_vllm/own", api_base=None, created="2026-12-01", suite="s", mode="closed",
        hourly_cost=3.6, slo=SLO(), options=SweepOptions(), steps=[step], stop_reason="", chosen=0,
        price=capacity.derive_price(step, 3.6))
    models = [ModelConfig(id="openai/gpt-4o", label="gpt-4o", price={"input": 5.0, "output": 15.0}),
              ModelConfig(id="hosted_vllm/own", label="own", price_from_capacity=str(sweep.save(tmp_path)))]
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    run_id = make_run(store, tmp_path / "suites", models, suites=1, items=6)
    profile = _profile([100] * 4, [50] * 4, requests_per_month=1e8, logged_models={"openai/gpt-4o": 4})
    section = workload_bill(analyse_run(store, run_id), WorkloadRequest("p", profile))
    own = section.bills[1]
    assert section.reference == "gpt-4o"
    # 1e8 requests × $0.0001 × inflation of full-use machine time; a machine carries half of $2,628 a month
    machines = math.ceil(own.inflation * 1e8 * 0.0001 / (3.6 * 730 * 0.5))
    assert own.replicas == machines > 1 and own.monthly.value == pytest.approx(machines * 3.6 * 730)
    assert "throughput (their capacity sweeps)" in section.lines[-1]
    assert f"self-hosted: {machines} machine(s) paid all month" in section.bill.rows[1][4]


def test_an_imported_log_of_2000_requests_is_billed_per_request_and_month(bench, tmp_path):
    from evalkit.report.tables import usd
    from evalkit.testing.workload_log import generate_log, write_log

    log = write_log(tmp_path / "gateway.jsonl", generate_log(n=2000, seed=3), "openai-jsonl")
    imported = CliRunner().invoke(main, ["workload", "import", str(log), "--name", "gateway", "--store",
                                         bench["store"]])
    assert imported.exit_code == 0, imported.output
    assert _compare(bench).exit_code == 0
    out = tmp_path / "bill.md"
    # the log's incumbent (gpt-4.1-mini) is not in the run: --reference chooses GLM
    result = CliRunner().invoke(main, ["report", "last", "--store", bench["store"], "--workload", "gateway",
                                       "--reference", "GLM", "-f", "md", "-o", str(out)])
    assert result.exit_code == 0, result.output
    profile = WorkloadProfile.from_dict(Store(bench["store"]).workload("gateway").profile)
    assert profile.requests == 2000 and profile.cached_tokens is not None
    markdown = out.read_text(encoding="utf-8")
    assert "ref bills 0.91x the prompt tokens of GLM on these English prompts (2 pairs); 0.80x on these " \
           "Chinese prompts (2 pairs)" in markdown  # 400 / 440 and 200 / 250
    rows = list(zip(profile.prompt_tokens, profile.completion_tokens, profile.cached_tokens))
    month = profile.requests_per_month
    # GLM, the reference (×1): $0.50 in (no cache-read price: cached tokens at the input rate), $1 out
    glm = sum(0.5 * p + 1.0 * q for p, q, _ in rows) / 2000 / 1e6
    # ref: every count × its mix-weighted ratio; $1 in, $0.25 cache read, $2 out
    k = profile.languages.get("zh", 0) * 200 / 250 + profile.languages.get("en", 0) * 400 / 440
    ref = k * sum((p - c) * 1.0 + c * 0.25 + 2.0 * q for p, q, c in rows) / 2000 / 1e6
    assert f"| GLM | 1.00x | {usd(glm)} [" in markdown and f"| {usd(glm * month)} [" in markdown
    assert f"| ref | {k:.2f}x | {usd(ref)} [" in markdown and f"| {usd(ref * month)} [" in markdown
    assert "sample" not in markdown.split("**Profile**")[1].split("\n")[0]  # all 2,000 requests priced
