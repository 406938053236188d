"""Model families: the same open weights served by several hosts, compared as hosts.

`evalkit/data/model_families.yaml` names each family, the repository of its weights, and
the model names its hosts give it. `family_of(model_id)` finds a model's family (or None:
it stands alone). `host_comparisons(analysis)` takes every family that two or more models
of a run belong to and judges them as the run judges models — the same scorecard columns,
paired tests and verdict, on their records alone — so "which host should we buy these
weights from?" gets the answer "which model?" gets.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
from dataclasses import dataclass
from typing import Any

from evalkit import data
from evalkit.analysis.run_analysis import RunAnalysis
from evalkit.report.facts import UNKNOWN, facts_rows
from evalkit.report.tables import SCORECARD, Table, scorecard_rows

TITLE = "Same model, different hosts"
"""The report section that compares the hosts of each family (only in runs that have one)."""


@dataclass(frozen=True)
class Family:
    name: str
    weights: str
    """Where the weights are published."""
    match: tuple[str, ...]
    source: str
    as_of: str


@dataclass
class HostComparison:
    """The hosts of one family in one run, judged as models are judged."""

    family: Family
    models: list[str]
    """The run's models (labels) of this family, most accurate first."""
    table: Table
    """Host, model id, then the scorecard's columns, one row per model."""
    verdict: list[str]
    """The verdict sentences and frontiers over these models alone."""
    frame: Any = dataclasses.field(repr=False, default=None)
    """Their rows of the run's summary (`Summary.by_model`), in the table's order."""

    def text(self) -> list[str]:
        cells = [c for row in self.table.rows for c in row]
        return [self.family.name, self.family.weights, *self.table.headers, *cells, *self.verdict]


@functools.lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    out = []
    for i, entry in enumerate(data.load("model_families.yaml")["families"]):
        missing = {"family", "weights", "match", "source", "as_of"} - set(entry)
        if missing:
            raise ValueError(f"evalkit/data/model_families.yaml: family {i + 1}: missing {sorted(missing)}")
        out.append(Family(entry["family"], entry["weights"], tuple(p.lower() for p in entry["match"]),
                          entry["source"], str(entry["as_of"])))
    return tuple(out)


def family_name(model_id: str) -> str:
    """The name a family's patterns are tried on: the id's last part, without `:provider`."""
    return model_id.rsplit("/", 1)[-1].split(":", 1)[0].lower()


def family_of(model_id: str) -> Family | None:
    name = family_name(model_id)
    return next((f for f in families() if any(fnmatch.fnmatchcase(name, p) for p in f.match)), None)


def host_comparisons(analysis: RunAnalysis) -> list[HostComparison]:
    """One comparison per family that two or more of the run's models belong to, in the
    order of the family's most accurate model."""
    by_model = analysis.summary.by_model
    if by_model.empty:
        return []
    models = {str(m.get("label") or m["id"]): m for m in analysis.run.config.get("models", [])}
    ids = {label: m["id"] for label, m in models.items()}
    members: dict[Family, list[str]] = {}
    for label in by_model["model"]:  # most accurate first
        family = family_of(ids.get(str(label), str(label)))
        if family is not None:
            members.setdefault(family, []).append(str(label))
    hosts = {row.model: row.api_host for row in facts_rows(analysis.run)}

    def served_by_several(labels: list[str]) -> bool:
        # one endpoint's model under two settings (say, thinking on and off) is not two hosts
        return len({(ids.get(label), (models.get(label) or {}).get("api_base")) for label in labels}) > 1

    return [_compare(analysis, family, labels, ids, hosts) for family, labels in members.items()
            if served_by_several(labels)]


def _compare(analysis: RunAnalysis, family: Family, labels: list[str], ids: dict[str, str],
             hosts: dict[str, str]) -> HostComparison:
    from evalkit.analysis.verdict import verdict
    from evalkit.report.verdict_lines import verdict_lines

    summary = analysis.summary
    frame = summary.by_model[summary.by_model["model"].isin(labels)]
    records = analysis.records[analysis.records["model"].isin(labels)]
    # each model's figures are its own records' alone: the run's summary rows, filtered
    sub = dataclasses.replace(summary, by_model=frame,
                              by_model_suite=summary.by_model_suite[summary.by_model_suite["model"].isin(labels)])
    judged = RunAnalysis(run=analysis.run, records=records, summary=sub, verdict=verdict(records, sub))
    rows = [[hosts.get(label, UNKNOWN), ids.get(label, label), *cells]
            for label, cells in zip(frame["model"], scorecard_rows(frame))]
    table = Table(["Host", "Id", *(h for h, _ in SCORECARD)], rows)
    return HostComparison(family, [str(m) for m in frame["model"]], table, verdict_lines(judged), frame)
