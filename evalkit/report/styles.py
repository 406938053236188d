"""Each model's look in every chart: a colour, a marker and a hatch, kept across charts.

Assigned in sorted name order, so a model's style never depends on how it ranked; markers
and hatches carry the distinction in greyscale.
"""

from __future__ import annotations

from dataclasses import dataclass

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#637939"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p"]
HATCHES = ["", "//", "\\\\", "xx", "..", "--", "++", "oo", "||", "**", "OO", "//.."]
WIDTH_IN = 7.5


@dataclass(frozen=True)
class ModelStyle:
    color: str
    marker: str
    hatch: str


def model_styles(models: list[str]) -> dict[str, ModelStyle]:
    """One style per model, assigned in sorted name order so it never depends on ranking."""
    out = {}
    for i, model in enumerate(sorted(models)):
        out[model] = ModelStyle(PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)], HATCHES[i % len(HATCHES)])
    return out
