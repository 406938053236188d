"""Multi-turn tasks per model and suite: how many turns, the turn limit, latency per task and per turn.

Definitions (those of the README's metric section), over a run's records (the columns of
`evalkit.store.records.CallRecord`); only records of multi-turn tasks (``turns`` set) count:

- ``tasks``: the tasks run; ``turns_mean`` / ``turns_max``: model turns per task, over every
  task (a failed one counts the turns it reached);
- ``at_limit``: tasks that reached their turn limit still calling tools, with no answer;
- ``task_e2e_p50``: median end-to-end time of a successful task (the sum of its turns);
  ``turn_e2e_p50``: median end-to-end time of one turn, over every turn of those tasks;
- ``tokens_per_task``: mean prompt + completion tokens of a task (every turn's prompt
  carries the conversation so far, so it grows with the turns); ``cost_per_task``: mean
  cost, None when any task's cost is unknown.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["model", "suite", "tasks", "turns_mean", "turns_max", "at_limit", "task_e2e_p50", "turn_e2e_p50",
           "tokens_per_task", "cost_per_task"]


def task_table(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, suite) with multi-turn tasks, by model then suite; empty when the run has none."""
    if "turns" not in records.columns:
        return pd.DataFrame(columns=COLUMNS)
    tasks = records[pd.to_numeric(records["turns"], errors="coerce").notna()]
    if tasks.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = [_row(str(model), str(suite), group)
            for (model, suite), group in tasks.groupby(["model", "suite"], sort=True, observed=True)]
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(model: str, suite: str, group: pd.DataFrame) -> dict[str, Any]:
    turns = pd.to_numeric(group["turns"], errors="coerce")
    ok = group["error_class"].isna()
    logs = [_log(text) for text in group["turn_log"]]
    at_limit = sum(1 for success, log in zip(ok, logs) if success and log and log[-1].get("tool_calls"))
    turn_times = [t["e2e_s"] for success, log in zip(ok, logs) if success for t in log if t.get("e2e_s") is not None]
    tokens = pd.to_numeric(group["prompt_tokens"], errors="coerce").fillna(0) + pd.to_numeric(
        group["completion_tokens"], errors="coerce").fillna(0)
    costs = pd.to_numeric(group["cost_usd"], errors="coerce")
    return {
        "model": model, "suite": suite, "tasks": len(group), "turns_mean": float(turns.mean()),
        "turns_max": int(turns.max()), "at_limit": at_limit,
        "task_e2e_p50": _median(pd.to_numeric(group.loc[ok, "e2e_s"], errors="coerce").dropna().to_numpy(float)),
        "turn_e2e_p50": _median(np.array(turn_times, dtype=float)),
        "tokens_per_task": float(tokens.mean()),
        "cost_per_task": None if costs.isna().any() else float(costs.mean()),
    }


def _log(text: Any) -> list[dict[str, Any]]:
    if not isinstance(text, str):
        return []
    try:
        log = json.loads(text)
    except ValueError:
        return []
    return [turn for turn in log if isinstance(turn, dict)] if isinstance(log, list) else []


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None
