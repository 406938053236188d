"""The per-call decode metrics worked out on whole columns (`evalkit.analysis.frame`) are the
per-call definitions of `evalkit.store.records`, value for value, missing values included."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evalkit.analysis.frame import prepare
from evalkit.store.records import decode_start_s, inter_token_latency_s, output_speed_tps


def test_column_decode_metrics_equal_the_per_call_functions():
    rng = np.random.default_rng(3)
    n = 4000

    def sometimes_missing(values):
        return np.where(rng.random(n) < 0.15, np.nan, values)

    frame = pd.DataFrame({
        "model": "m", "suite": "s", "sample_id": [f"q{i}" for i in range(n)], "score": 1.0,
        "ttft_s": sometimes_missing(rng.uniform(0, 2, n)),
        "first_token_s": sometimes_missing(rng.uniform(0, 2, n)),
        "e2e_s": sometimes_missing(rng.uniform(0, 4, n)),
        # 0, 1 and 2 tokens (no gap, none, one), and many
        "completion_tokens": sometimes_missing(rng.choice([0, 1, 2, 3, 50, 700], n).astype(float)),
        "turns": sometimes_missing(rng.choice([0, 1, 2, 5], n).astype(float)),
    })
    prep = prepare(frame)
    for row, speed, itl in zip(frame.to_dict("records"), prep["output_speed_tps"], prep["itl_s"]):
        call = (row["completion_tokens"], decode_start_s(row["first_token_s"], row["ttft_s"]), row["e2e_s"],
                row["turns"])
        for got, expected in ((speed, output_speed_tps(*call)), (itl, inter_token_latency_s(*call))):
            assert (math.isnan(got) and expected is None) or got == expected, (row, got, expected)
    assert prep["output_speed_tps"].notna().sum() > n / 4  # the case with a figure is covered too
