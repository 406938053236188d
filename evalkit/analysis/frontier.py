"""Pareto frontiers: the models no other model beats on both a figure and accuracy."""

from __future__ import annotations

import pandas as pd


def frontier(by_model: pd.DataFrame, x: str, y: str = "accuracy",
             lower_x_is_better: bool = True) -> list[str]:
    """Models on the Pareto frontier of ``x`` against ``y`` (higher ``y`` is better).

    A model is on it when no other model is at least as good on both and strictly better
    on one. Models with NaN ``x`` or ``y`` are left out. Ordered best ``x`` first.
    """
    data = by_model[["model", x, y]].dropna()
    xs = data[x].to_numpy(float) * (1.0 if lower_x_is_better else -1.0)
    ys = data[y].to_numpy(float)
    # Pairwise: dominated[i] if some j is <= on x, >= on y and strictly better on one.
    no_worse = (xs[None, :] <= xs[:, None]) & (ys[None, :] >= ys[:, None])
    better = (xs[None, :] < xs[:, None]) | (ys[None, :] > ys[:, None])
    dominated = (no_worse & better).any(axis=1)
    keep = data.loc[~dominated].assign(_x=xs[~dominated], _y=-ys[~dominated])
    return keep.sort_values(["_x", "_y", "model"])["model"].astype(str).tolist()
