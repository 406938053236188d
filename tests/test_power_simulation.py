"""Simulation: the paired tests do not cry wolf, and the power analysis keeps its promise.

Null comparisons (no true difference) must raise a false alarm (p < 0.05) 5% ± 1.5% of
the time, counted over more than 2,000 simulated comparisons of three kinds: independent
0/1 items (exact McNemar), clustered 0/1 items and partial-credit scores (sign-flip
test). With few clusters (5, 8, 20, 100 of uneven size) the false-alarm rate must stay at
or under 5%, where a cluster bootstrap raised 14%, 8% and 6.5% at 5, 8 and 20. A true
difference of the size `min_detectable_difference` promises must be found (significant,
right direction) at least 80% of the time.

Every comparison goes through the same functions the product uses (`mcnemar_exact_p`,
`paired_units_test`); only the data generation is vectorised here. Fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.analysis import (
    ALPHA,
    POWER,
    items_needed,
    mcnemar_exact_p,
    mcnemar_power,
    min_detectable_difference,
    paired_units_test,
)

ITEMS, DISCORDANCE = 1000, 0.30


def mcnemar_p_many(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The product's exact McNemar p-value for many tables (equal tables computed once)."""
    cache: dict[tuple[int, int], float] = {}
    return np.array([cache.setdefault((int(x), int(y)), mcnemar_exact_p(int(x), int(y)))
                     for x, y in zip(b, c)])


def binary_null(rng, sims: int) -> np.ndarray:
    """Independent 0/1 items; either side right on a discordant item with probability 1/2."""
    counts = rng.multinomial(ITEMS, [DISCORDANCE / 2, DISCORDANCE / 2, 1 - DISCORDANCE], size=sims)
    return mcnemar_p_many(counts[:, 0], counts[:, 1]) < ALPHA


def clustered_null(rng, sims: int, clusters: int = 80, size: int = 5) -> np.ndarray:
    """0/1 items in clusters that share a difficulty (strong within-cluster correlation)."""
    difficulty = np.repeat(rng.beta(2, 2, size=(sims, clusters)), size, axis=1)
    a = rng.random(difficulty.shape) < difficulty
    b = rng.random(difficulty.shape) < difficulty
    sums = (a.astype(float) - b).reshape(sims, clusters, size).sum(axis=2)
    sizes = np.full(clusters, float(size))
    return np.array([paired_units_test(row, sizes).p_value < ALPHA for row in sums])


def partial_null(rng, sims: int, items: int = 300) -> np.ndarray:
    """Partial-credit scores in quarters (e.g. json_fields), item difficulty shared by both."""
    q = rng.random((sims, items))
    diff = (rng.binomial(4, q) - rng.binomial(4, q)) / 4
    ones = np.ones(items)
    return np.array([paired_units_test(row, ones).p_value < ALPHA for row in diff])


def test_false_alarm_rate_stays_near_five_percent():
    rng = np.random.default_rng(20_240_917)
    alarms = {
        "independent 0/1 (McNemar)": binary_null(rng, 2000),
        "clustered 0/1 (sign flip)": clustered_null(rng, 600),
        "partial credit (sign flip)": partial_null(rng, 400),
    }
    total = np.concatenate(list(alarms.values()))
    assert len(total) >= 2000
    rates = {name: float(np.mean(a)) for name, a in alarms.items()}
    print(f"false alarm rate over {len(total)} null comparisons: {np.mean(total):.4f}; {rates}")
    assert 0.035 <= np.mean(total) <= 0.065
    for name, rate in rates.items():  # each kind alone, with room for its smaller count
        assert 0.025 <= rate <= 0.075, name


def few_clusters_null(rng, sims: int, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster sums of differences for ``sims`` null comparisons on ``clusters`` clusters
    of 1 to 7 items (one draw of sizes for all), each cluster with its own difficulty that
    both models share: strongly correlated items, and models that do not differ."""
    sizes = rng.integers(1, 8, size=clusters)
    member = np.repeat(np.arange(clusters), sizes)
    difficulty = rng.beta(2, 2, size=(sims, clusters))[:, member]
    diff = (rng.random(difficulty.shape) < difficulty).astype(float) - (rng.random(difficulty.shape) < difficulty)
    sums = np.zeros((sims, clusters))
    for cluster in range(clusters):
        sums[:, cluster] = diff[:, member == cluster].sum(axis=1)
    return sums, sizes.astype(float)


@pytest.mark.parametrize("clusters, sims", [(5, 3000), (8, 3000), (20, 3000), (100, 2000)])
def test_false_alarm_rate_stays_at_or_under_five_percent_with_few_clusters(clusters, sims):
    rng = np.random.default_rng(1000 + clusters)
    sums, sizes = few_clusters_null(rng, sims, clusters)
    results = [paired_units_test(row, sizes) for row in sums]
    rate = float(np.mean([r.p_value < ALPHA for r in results]))
    print(f"{clusters} clusters: false alarm rate {rate:.4f} over {sims} null comparisons "
          f"({results[0].method})")
    # at or under 5%, with room for the simulation's own noise (2.33 standard errors)
    assert rate <= ALPHA + 2.33 * np.sqrt(ALPHA * (1 - ALPHA) / sims)
    if clusters <= 5:  # 2^5 sign patterns: the smallest p is 2/32, no alarm is possible
        assert min(r.p_value for r in results) >= 2 / 2**clusters and rate == 0
    # and the interval agrees with the test: 0 lies outside it exactly when p < 0.05
    assert all((r.p_value < ALPHA) == (not r.low <= 0 <= r.high) for r in results)


def test_promised_difference_is_detected_at_least_80_percent_of_the_time():
    promised = min_detectable_difference(ITEMS, DISCORDANCE)
    assert 0.04 < promised < 0.06
    assert mcnemar_power(ITEMS, DISCORDANCE, promised) >= POWER
    rng = np.random.default_rng(7)
    sims = 20_000  # cheap: many comparisons share a table
    p_b, p_c = (DISCORDANCE - promised) / 2, (DISCORDANCE + promised) / 2
    counts = rng.multinomial(ITEMS, [p_b, p_c, 1 - DISCORDANCE], size=sims)
    found = (mcnemar_p_many(counts[:, 0], counts[:, 1]) < ALPHA) & (counts[:, 1] > counts[:, 0])
    rate = float(found.mean())
    print(f"promised difference {promised:.3f} found in {rate:.4f} of {sims} comparisons")
    assert rate >= POWER
    # and the exact power calculation agrees with the simulation (4 standard errors)
    exact = mcnemar_power(ITEMS, DISCORDANCE, promised)
    assert abs(rate - exact) < 4 * np.sqrt(exact * (1 - exact) / sims)


@pytest.mark.parametrize("diff, discordance", [(0.05, 0.3), (0.02, 0.06), (0.10, 0.42)])
def test_items_needed_is_the_smallest_suite_with_the_power(diff, discordance):
    n = items_needed(diff, discordance)
    assert mcnemar_power(n, discordance, diff) >= POWER
    assert mcnemar_power(n - 1, discordance, diff) < POWER or mcnemar_power(n - 2, discordance, diff) < POWER


def test_clustered_design_needs_more_items():
    assert items_needed(0.05, 0.3, design_effect=2.0) == pytest.approx(2 * items_needed(0.05, 0.3), abs=1)
    assert min_detectable_difference(ITEMS / 2, DISCORDANCE) > min_detectable_difference(ITEMS, DISCORDANCE)
