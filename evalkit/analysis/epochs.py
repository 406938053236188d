"""How much answers vary when each item is asked several times (``--epochs K``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from evalkit.analysis.frame import prepare


def epoch_spread(records: pd.DataFrame, keys: Sequence[str] = ("model",)) -> pd.DataFrame:
    """How much answers vary when each item is asked several times (``--epochs K``).

    Columns per group of ``keys``: ``epochs`` (most epochs of any item), ``items``,
    ``accuracy_sd`` (standard deviation of the accuracy of each epoch taken alone: how
    much a single run would have moved), ``item_sd`` (mean over items of the standard
    deviation of its scores across epochs) and ``inconsistent`` (share of items whose
    epochs did not all score the same). Intervals in `summarize` and the paired tests
    already treat an item's epochs as one unit; these figures say how noisy one pass is.
    """
    prep = prepare(records)
    keys = list(keys)
    item_keys = [*keys, *(k for k in ("suite", "sample_id") if k not in keys)]  # keys may name the suite
    per_item = prep.groupby(item_keys, observed=True)["score"].agg(
        ["size", "std", "min", "max"]).reset_index()
    per_item["std"] = per_item["std"].fillna(0.0)
    per_epoch = prep.groupby([*keys, "epoch"], observed=True)["score"].mean().reset_index()
    items = per_item.groupby(keys, observed=True).agg(
        epochs=("size", "max"), items=("size", "size"), item_sd=("std", "mean"),
        inconsistent=("max", "size"))
    flips = (per_item["max"] > per_item["min"]).groupby(
        [per_item[k] for k in keys], observed=True).mean()
    items["inconsistent"] = flips
    items["accuracy_sd"] = per_epoch.groupby(keys, observed=True)["score"].std(ddof=1)
    out = items.reset_index()
    for key in keys:
        out[key] = out[key].astype(str)
    return out[[*keys, "epochs", "items", "accuracy_sd", "item_sd", "inconsistent"]]
