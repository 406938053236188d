"""Tests for `evalkit.analysis` on small data whose expected numbers are worked out here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evalkit.analysis import mcnemar_exact_p, paired_test, summarize
from evalkit.analysis.frontier import frontier
from evalkit.analysis.sign_flip import DRAWS as SIGN_FLIP_DRAWS
from evalkit.analysis.sign_flip import sign_flip
from evalkit.analysis.verdict import verdict

Z = 1.959963984540054


def rec(model: str, sample: str, score: float, **extra) -> dict:
    """One record with harmless defaults; ``extra`` overrides any column."""
    row = dict(
        run_id="r1", model=model, model_id=f"x/{model}", suite="s", sample_id=sample,
        request_hash="h", cluster=None, epoch=0, score=score, ttft_s=0.1, e2e_s=1.0,
        output_speed_tps=50.0, prompt_tokens=10, completion_tokens=5, cost_usd=0.001,
        error_class=None,
    )
    row.update(extra)
    return row


def wilson(p: float, n: float) -> tuple[float, float]:
    """Textbook Wilson interval, written out independently of the module."""
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def row_of(frame: pd.DataFrame, model: str, suite: str | None = None) -> pd.Series:
    mask = frame["model"] == model
    if suite is not None:
        mask &= frame["suite"] == suite
    return frame.loc[mask].iloc[0]


# ----------------------------------------------------------------------------- summarize


@pytest.fixture()
def two_models() -> pd.DataFrame:
    """4 samples x 2 models; model b has one failed call (s2)."""
    rows = [
        rec("a", "s0", 1, ttft_s=0.1, e2e_s=1.0),
        rec("a", "s1", 1, ttft_s=0.2, e2e_s=2.0),
        rec("a", "s2", 1, ttft_s=0.3, e2e_s=3.0),
        rec("a", "s3", 0, ttft_s=0.4, e2e_s=4.0),
        rec("b", "s0", 1, e2e_s=0.5, cost_usd=0.002),
        rec("b", "s1", 1, e2e_s=1.5, cost_usd=0.002),
        # A failed call: no latency, not billed; its score is forced to 0 even if a
        # scorer slipped and gave it 1.
        rec("b", "s2", 1, ttft_s=None, e2e_s=None, output_speed_tps=None, prompt_tokens=None,
            completion_tokens=None, cost_usd=0.0, error_class="timeout"),
        rec("b", "s3", 0, e2e_s=2.5, cost_usd=0.002),
    ]
    return pd.DataFrame(rows)


def test_accuracy_counts_and_tokens(two_models):
    by = summarize(two_models).by_model
    a, b = row_of(by, "a"), row_of(by, "b")
    assert a["n"] == 4 and b["n"] == 4
    assert a["accuracy"] == pytest.approx(0.75)
    assert b["accuracy"] == pytest.approx(0.5)  # 2 of 4: the failed call counts as wrong
    assert (a["errors"], a["error_rate"]) == (0, 0.0)
    assert (b["errors"], b["error_rate"]) == (1, 0.25)
    assert a["prompt_tokens"] == 40 and a["completion_tokens"] == 20
    assert b["prompt_tokens"] == 30 and b["completion_tokens"] == 15


def test_latency_percentiles_over_successes_only(two_models):
    by = summarize(two_models).by_model
    a, b = row_of(by, "a"), row_of(by, "b")
    # a: e2e 1,2,3,4 -> median 2.5; p95 at position 0.95*3 = 2.85 -> 3 + 0.85 = 3.85
    assert a["e2e_p50"] == pytest.approx(2.5)
    assert a["e2e_p95"] == pytest.approx(3.85)
    assert a["ttft_p50"] == pytest.approx(0.25)
    assert a["ttft_p95"] == pytest.approx(0.385)
    assert a["latency_n"] == 4
    # b: the failed call is left out: e2e 0.5,1.5,2.5 -> median 1.5; p95 at 1.9 -> 2.4
    assert b["e2e_p50"] == pytest.approx(1.5)
    assert b["e2e_p95"] == pytest.approx(2.4)
    assert b["latency_n"] == 3
    # 5 tokens: 4 timed after the first, over e2e - ttft = 0.4, 1.4, 2.4 s. The stale
    # output_speed_tps=50 the records carry is not read: speed comes from times and tokens.
    assert b["speed_p50"] == pytest.approx(4 / 1.4)
    assert b["speed_n"] == 3
    assert b["itl_p50"] == pytest.approx(1.4 / 4)
    assert b["itl_p95"] == pytest.approx(0.35 + 0.9 * (0.6 - 0.35))


def test_one_token_replies_have_no_speed_or_itl_and_the_median_says_its_n():
    from evalkit.report.tables import scorecard_rows

    rows = [rec("labels", f"s{i}", 1, ttft_s=0.05, e2e_s=0.05 + 1e-5, completion_tokens=1) for i in range(3)]
    rows += [rec("mixed", "s0", 1, ttft_s=0.05, e2e_s=0.05 + 1e-5, completion_tokens=1),
             rec("mixed", "s1", 1, ttft_s=0.05, e2e_s=0.0625, completion_tokens=2),
             rec("mixed", "s2", 1, ttft_s=0.05, e2e_s=0.0875, completion_tokens=4),
             # all of a reply at one instant: no time to divide by
             rec("mixed", "s3", 1, ttft_s=0.05, e2e_s=0.05, completion_tokens=8)]
    by = summarize(pd.DataFrame(rows)).by_model
    labels, mixed = row_of(by, "labels"), row_of(by, "mixed")
    assert math.isnan(labels["speed_p50"]) and math.isnan(labels["itl_p50"]) and labels["speed_n"] == 0
    assert labels["latency_n"] == 3
    assert mixed["speed_n"] == 2 and mixed["latency_n"] == 4
    assert mixed["speed_p50"] == pytest.approx(80.0) and mixed["itl_p50"] == pytest.approx(0.0125)
    cells = dict(zip(by["model"], scorecard_rows(by)))
    assert cells["labels"][6:8] == ["n/a", "n/a"]
    assert cells["mixed"][6:8] == ["80 tok/s (n=2)", "12.5 ms"]


def test_costs(two_models):
    by = summarize(two_models).by_model
    a, b = row_of(by, "a"), row_of(by, "b")
    assert a["cost_total"] == pytest.approx(0.004)
    assert a["cost_per_1k_tasks"] == pytest.approx(1.0)  # 1000 * 0.004 / 4
    assert a["cost_per_correct"] == pytest.approx(0.004 / 3)
    assert b["cost_total"] == pytest.approx(0.006)
    assert b["cost_per_1k_tasks"] == pytest.approx(1.5)
    assert b["cost_per_correct"] == pytest.approx(0.003)


def test_unknown_cost_is_nan_not_zero(two_models):
    frame = two_models.copy()
    frame.loc[(frame["model"] == "a") & (frame["sample_id"] == "s1"), "cost_usd"] = None
    by = summarize(frame).by_model
    a = row_of(by, "a")
    assert math.isnan(a["cost_total"])
    assert math.isnan(a["cost_per_1k_tasks"])
    assert math.isnan(a["cost_per_correct"])
    assert a["cost_unknown"] == 1
    assert row_of(by, "b")["cost_per_1k_tasks"] == pytest.approx(1.5)


def test_cost_per_correct_nan_without_correct_answers():
    frame = pd.DataFrame([rec("z", f"s{i}", 0) for i in range(3)])
    z = row_of(summarize(frame).by_model, "z")
    assert z["cost_per_1k_tasks"] == pytest.approx(1.0)
    assert math.isnan(z["cost_per_correct"])


def test_wilson_interval_eight_of_ten():
    frame = pd.DataFrame([rec("m", f"s{i}", 1 if i < 8 else 0) for i in range(10)])
    m = row_of(summarize(frame).by_model, "m")
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["accuracy_low"] == pytest.approx(0.4902, abs=1e-4)
    assert m["accuracy_high"] == pytest.approx(0.9433, abs=1e-4)
    assert m["accuracy_method"] == "wilson"


def test_overall_accuracy_weighs_suites_by_size():
    rows = [rec("m", f"x{i}", 1, suite="x") for i in range(2)]
    rows += [rec("m", f"y{i}", 1 if i < 2 else 0, suite="y") for i in range(8)]
    summary = summarize(pd.DataFrame(rows))
    assert row_of(summary.by_model_suite, "m", "x")["accuracy"] == pytest.approx(1.0)
    assert row_of(summary.by_model_suite, "m", "y")["accuracy"] == pytest.approx(0.25)
    # 4 correct of 10 records, not the mean of the suite means (0.625)
    assert row_of(summary.by_model, "m")["accuracy"] == pytest.approx(0.4)
    assert list(summary.by_model_suite["suite"]) == ["x", "y"]


def test_bootstrap_for_partial_scores_is_deterministic():
    scores = [0.0, 0.25, 0.5, 0.75, 1.0, 0.5, 0.5, 0.25, 1.0, 0.75]
    frame = pd.DataFrame([rec("m", f"s{i}", s) for i, s in enumerate(scores)])
    first = row_of(summarize(frame).by_model, "m")
    second = row_of(summarize(frame).by_model, "m")
    assert first["accuracy_method"] == "bootstrap"
    assert first["accuracy"] == pytest.approx(0.55)
    assert first["accuracy_low"] < 0.55 < first["accuracy_high"]
    interval = lambda r: (r["accuracy_low"], r["accuracy_high"])  # noqa: E731
    assert interval(first) == interval(second)


# ----------------------------------------------------------------------------- clusters


def clustered_binary(with_clusters: bool) -> pd.DataFrame:
    """10 clusters of 10 records; clusters 0-4 all right, 5-9 all wrong (ICC = 1)."""
    return pd.DataFrame([
        rec("m", f"s{c}-{i}", 1 if c < 5 else 0, cluster=f"c{c}" if with_clusters else None)
        for c in range(10) for i in range(10)
    ])


def test_clustered_binary_interval_uses_effective_n():
    plain = row_of(summarize(clustered_binary(False)).by_model, "m")
    clustered = row_of(summarize(clustered_binary(True)).by_model, "m")
    # MSB = 10 * 10 * 0.25 / 9, MSW = 0 -> ICC = 1; deff = 1 + (10 - 1) * 1 = 10,
    # so the effective n is 100 / 10 = 10.
    assert (plain["accuracy_low"], plain["accuracy_high"]) == pytest.approx(wilson(0.5, 100))
    interval = (clustered["accuracy_low"], clustered["accuracy_high"])
    assert interval == pytest.approx(wilson(0.5, 10))
    assert clustered["accuracy_high"] - clustered["accuracy_low"] > 2 * (
        plain["accuracy_high"] - plain["accuracy_low"])
    assert clustered["accuracy_method"] == "wilson-design-effect"


def test_epochs_of_one_sample_are_not_independent():
    # 10 samples x 3 epochs with identical answers across epochs: deff = 3, n_eff = 10.
    frame = pd.DataFrame([
        rec("m", f"s{i}", 1 if i < 5 else 0, epoch=e) for i in range(10) for e in range(3)
    ])
    m = row_of(summarize(frame).by_model, "m")
    assert (m["accuracy_low"], m["accuracy_high"]) == pytest.approx(wilson(0.5, 10))


def test_independent_answers_in_clusters_keep_plain_wilson():
    # Within each cluster of 2, one right and one wrong: negative ICC, clipped to 0.
    frame = pd.DataFrame([
        rec("m", f"s{c}-{i}", i, cluster=f"c{c}") for c in range(10) for i in range(2)
    ])
    m = row_of(summarize(frame).by_model, "m")
    assert (m["accuracy_low"], m["accuracy_high"]) == pytest.approx(wilson(0.5, 20))


def test_clustered_bootstrap_wider_for_partial_scores():
    rng = np.random.default_rng(7)

    def build(with_clusters: bool) -> pd.DataFrame:
        rows = []
        for c in range(10):
            level = 0.9 if c < 5 else 0.1
            for i in range(10):
                score = float(np.clip(level + rng.normal(0, 0.02), 0, 1))
                cluster = f"c{c}" if with_clusters else None
                rows.append(rec("m", f"s{c}-{i}", score, cluster=cluster))
        return pd.DataFrame(rows)

    plain = row_of(summarize(build(False)).by_model, "m")
    clustered = row_of(summarize(build(True)).by_model, "m")
    assert plain["accuracy_method"] == "bootstrap"
    assert clustered["accuracy_method"] == "cluster-bootstrap"
    width = lambda r: r["accuracy_high"] - r["accuracy_low"]  # noqa: E731
    assert width(clustered) > 2 * width(plain)


# ----------------------------------------------------------------------------- paired


def mcnemar_table(both: int, only_a: int, only_b: int, neither: int) -> pd.DataFrame:
    pattern = [(1, 1)] * both + [(1, 0)] * only_a + [(0, 1)] * only_b + [(0, 0)] * neither
    rows = []
    for i, (sa, sb) in enumerate(pattern):
        rows += [rec("A", f"s{i}", sa), rec("B", f"s{i}", sb)]
    return pd.DataFrame(rows)


def test_mcnemar_exact_known_table():
    result = paired_test(mcnemar_table(5, 1, 9, 5), "A", "B")
    # 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024
    assert result.p_value == pytest.approx(22 / 1024)
    assert result.p_value == pytest.approx(0.021484375)
    assert result.n == 20
    assert result.mean_diff == pytest.approx((1 - 9) / 20)
    assert result.method == "mcnemar-exact"
    assert result.low < result.mean_diff < result.high < 0  # agrees with p < 0.05


def test_mcnemar_p_helper():
    assert mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(5, 5) == 1.0
    assert mcnemar_exact_p(0, 20) == pytest.approx(2 * 0.5**20)
    assert mcnemar_exact_p(9, 1) == mcnemar_exact_p(1, 9)
    # large table: symmetric counts stay near 1 without overflow
    assert 0.9 < mcnemar_exact_p(5000, 5001) <= 1.0


def test_newcombe_interval_matches_reference():
    # Fagerland, Lydersen & Laake's example (Cavo et al. 2012): table 59, 6 / 16, 80.
    result = paired_test(mcnemar_table(59, 6, 16, 80), "A", "B")
    assert result.mean_diff == pytest.approx(-0.0621, abs=1e-4)
    assert result.low == pytest.approx(-0.1186, abs=1e-4)
    assert result.high == pytest.approx(-0.0046, abs=1e-4)


def test_paired_joins_only_shared_samples():
    rows = [rec("A", "s0", 1), rec("A", "s1", 0), rec("A", "only-a", 1),
            rec("B", "s0", 0), rec("B", "s1", 0), rec("B", "only-b", 1)]
    result = paired_test(pd.DataFrame(rows), "A", "B")
    assert result.n == 2
    assert result.mean_diff == pytest.approx(0.5)


def test_paired_sign_flip_constant_shift():
    rows = []
    for i in range(30):
        base = 0.3 + 0.02 * i
        rows += [rec("A", f"s{i}", base - 0.1), rec("B", f"s{i}", base)]
    result = paired_test(pd.DataFrame(rows), "A", "B")
    assert result.method == "sign-flip" and result.units == 30  # 30 units: random patterns
    assert result.mean_diff == pytest.approx(-0.1)
    # only the all-minus and all-plus patterns reach |-3|: none among the random draws,
    # so p = (0 + 1) / (draws + 1)
    assert result.p_value == pytest.approx(1 / (SIGN_FLIP_DRAWS + 1))
    # any other shift leaves every unit on one side: rejected, so the interval is the point
    assert (result.low, result.high) == pytest.approx((-0.1, -0.1), abs=1e-5)


def test_paired_sign_flip_no_difference_and_determinism():
    rows = []
    for i in range(30):
        score = (i % 5) / 4
        rows += [rec("A", f"s{i}", score), rec("B", f"s{i}", score if i % 3 else 1 - score)]
    frame = pd.DataFrame(rows)
    first, second = paired_test(frame, "A", "B"), paired_test(frame, "A", "B")
    assert first == second
    assert first.low <= first.mean_diff <= first.high
    same = paired_test(frame, "A", "A")
    assert (same.mean_diff, same.p_value) == (0.0, 1.0)


def test_paired_with_clusters_flips_whole_clusters():
    rows = []
    for i in range(40):
        cluster = f"c{i // 10}"
        rows += [rec("A", f"s{i}", 1, cluster=cluster), rec("B", f"s{i}", 1 if i < 30 else 0,
                                                              cluster=cluster)]
    result = paired_test(pd.DataFrame(rows), "A", "B")
    assert result.method == "sign-flip-exact" and result.units == 4
    assert result.mean_diff == pytest.approx(0.25)
    # 10 discordant pairs would give McNemar p = 0.002; all sit in one of 4 clusters:
    # every one of the 16 sign patterns of the cluster sums (0, 0, 0, 10) reaches |10|,
    # so one cluster's worth of evidence gives p = 1.
    assert result.p_value == 1.0
    assert (result.low, result.high) == (-1.0, 1.0)  # 4 clusters cannot bound a difference


@pytest.mark.parametrize("units", [3, 8, 12, 16])
def test_sign_flip_p_value_is_scipys_exact_permutation_test(units):
    from scipy.stats import permutation_test

    rng = np.random.default_rng(units)
    for _ in range(5):
        sums = rng.integers(-4, 5, size=units).astype(float)
        sizes = rng.integers(1, 6, size=units).astype(float)
        ours = sign_flip(sums, sizes)
        theirs = permutation_test((sums,), lambda x, axis: np.sum(x, axis=axis), permutation_type="samples",
                                  n_resamples=np.inf, alternative="two-sided")
        assert ours.method == "sign-flip-exact"
        assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)


def test_sign_flip_random_patterns_agree_with_the_exact_test():
    from scipy.stats import permutation_test

    rng = np.random.default_rng(3)
    sums, sizes = rng.integers(-3, 4, size=18).astype(float), np.full(18, 3.0)
    exact = permutation_test((sums,), lambda x, axis: np.sum(x, axis=axis), permutation_type="samples",
                             n_resamples=np.inf).pvalue
    ours = sign_flip(sums, sizes)
    assert ours.method == "sign-flip" and abs(ours.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / 10_000)


def test_sign_flip_interval_inverts_the_test():
    rng = np.random.default_rng(11)
    sums, sizes = rng.integers(-2, 5, size=12).astype(float), np.full(12, 4.0)
    result = sign_flip(sums, sizes)
    shifted = lambda d: sign_flip(sums - d * sizes, sizes).p_value  # noqa: E731
    assert result.low < result.estimate < result.high
    # just inside the interval the shifted data are not rejected, just outside they are
    assert shifted(result.low + 1e-4) > 0.05 and shifted(result.low - 1e-3) <= 0.05
    assert shifted(result.high - 1e-4) > 0.05 and shifted(result.high + 1e-3) <= 0.05
    assert (result.p_value < 0.05) == (not result.low <= 0 <= result.high)


def test_sign_flip_normal_limit_for_very_many_distinct_units():
    rng = np.random.default_rng(2)
    sums = rng.normal(0.05, 1.0, size=5000)
    result = sign_flip(sums, np.ones(5000))
    assert result.method == "sign-flip-normal" and result.units == 5000
    se = math.sqrt(np.sum(sums**2)) / 5000
    assert result.p_value == pytest.approx(math.erfc(abs(sums.mean()) / se / math.sqrt(2)), rel=1e-9)
    assert result.low == pytest.approx(sums.mean() - Z * np.std(sums) / math.sqrt(5000), abs=2e-3)


# ----------------------------------------------------------------------------- frontier


def test_frontier_excludes_dominated_and_unknown():
    by_model = pd.DataFrame({
        "model": ["A", "B", "C", "D", "E"],
        "cost_per_1k_tasks": [1.0, 2.0, 3.0, 1.0, np.nan],
        "accuracy": [0.8, 0.9, 0.85, 0.7, 0.99],
    })
    # C is beaten by B (cheaper, more accurate); D ties A on cost and is less accurate;
    # E has no price.
    assert frontier(by_model, "cost_per_1k_tasks") == ["A", "B"]


def test_frontier_higher_x_better():
    by_model = pd.DataFrame({
        "model": ["A", "B", "C"], "speed_p50": [100.0, 50.0, 40.0], "accuracy": [0.7, 0.9, 0.8],
    })
    assert frontier(by_model, "speed_p50", lower_x_is_better=False) == ["A", "B"]


# ----------------------------------------------------------------------------- verdict


def verdict_records(cost_known: bool = True) -> pd.DataFrame:
    """40 shared samples. best 36 right; tied 35 (a subset: 1 discordant pair); bad 10;
    worse 20. Per call: best $0.002 / 3 s, tied $0.001 / 2 s, bad $0.0001 / 1 s,
    worse $0.003 / 5 s."""
    spec = {"best": (36, 0.002, 3.0), "tied": (35, 0.001, 2.0),
            "bad": (10, 0.0001, 1.0), "worse": (20, 0.003, 5.0)}
    rows = []
    for model, (right, cost, e2e) in spec.items():
        for i in range(40):
            rows.append(rec(model, f"s{i}", 1 if i < right else 0, e2e_s=e2e,
                            cost_usd=cost if cost_known else None))
    return pd.DataFrame(rows)


def test_verdict_picks():
    records = verdict_records()
    v = verdict(records, summarize(records))
    assert v.good.model == "best"
    assert v.good.sentence.startswith("good: best — 90.0% accuracy (95% CI ")
    assert "n=40" in v.good.sentence
    # bad is cheaper and faster but significantly worse (26 discordant pairs, none its way)
    assert v.cheap.model == "tied"
    assert v.fast.model == "tied"
    assert v.indistinguishable == {"best": ["tied"]}
    assert v.comparisons["bad"].p_value < 0.05
    assert v.comparisons["tied"].p_value == pytest.approx(1.0)
    assert v.cheap.sentence == (
        "cheap: tied — $1.00 per 1,000 tasks, accuracy not significantly below best "
        "(−2.5 pts, p=1.00)")
    assert v.fast.sentence.startswith("fast: tied — 2.00 s median end-to-end")
    # cost per correct: best 0.08/36, tied 0.04/35, bad 0.004/10 = 0.0004, worse 0.12/20
    assert v.best_value.model == "bad"
    assert v.best_value.numbers["cost_per_correct"] == pytest.approx(0.0004)
    assert "$0.000400 per correct answer" in v.best_value.sentence
    # worse (5 s, $3/1k, 50%) is dominated by best on both frontiers
    assert v.frontier_cost == ["bad", "tied", "best"]
    assert v.frontier_latency == ["bad", "tied", "best"]


def test_verdict_cheap_is_best_when_nothing_tied_is_cheaper():
    records = verdict_records()
    records.loc[records["model"] == "tied", "cost_usd"] = 0.01
    v = verdict(records, summarize(records))
    assert v.cheap.model == "best"
    assert "the most accurate model" in v.cheap.sentence


def test_verdict_unknown_prices():
    records = verdict_records(cost_known=False)
    v = verdict(records, summarize(records))
    assert v.good.model == "best"
    assert v.cheap.model is None and "unknown" in v.cheap.sentence
    assert v.best_value.model is None and "unknown" in v.best_value.sentence
    assert v.frontier_cost == []
    assert v.fast.model == "tied"


def test_verdict_single_model():
    records = pd.DataFrame([rec("solo", f"s{i}", i % 2) for i in range(6)])
    v = verdict(records, summarize(records))
    assert v.good.model == v.fast.model == v.cheap.model == v.best_value.model == "solo"
    for line in (v.fast, v.cheap):
        assert "significant" not in line.sentence
    assert v.indistinguishable == {"solo": []}


def test_verdict_warns_when_clusters_are_few():
    rows = [rec("A", f"s{i}", float(i % 4 > 0), cluster=f"c{i // 4}") for i in range(30)]
    rows += [rec("B", f"s{i}", float(i % 3 > 0), cluster=f"c{i // 4}") for i in range(30)]
    records = pd.DataFrame(rows)
    (note,) = verdict(records, summarize(records)).notes
    assert note.startswith("few clusters: the paired tests against A rest on 8 independent clusters of items")
    single = records[records["model"] == "A"]
    (note,) = verdict(single, summarize(single)).notes
    assert note.startswith("few clusters: the accuracy of A rests on 8 independent clusters of items")
    # 20 clusters or none: no warning
    many = pd.DataFrame([rec(m, f"s{i}", float((i + k) % 3 > 0), cluster=f"c{i // 2}")
                         for k, m in enumerate("AB") for i in range(40)])
    assert verdict(many, summarize(many)).notes == []
    plain = records.assign(cluster=None)
    assert verdict(plain, summarize(plain)).notes == []
