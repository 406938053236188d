"""The `lm_eval` scorer, and the lm-eval task lookup it shares with the ``lm-eval:`` suites.

A reply to an lm-eval task is scored by the task's own answer filters (e.g. GSM8K's
``#### N`` regex) and ``process_results``, so the number is lm-eval's. The scorer finds
the task its sample came from by name (`get_task`), loaded once per process; the suites
(`evalkit.suites.lm_eval`) load their documents through the same lookup.

lm-eval is imported only here, only when a task is asked for. Listing every task walks
thousands of YAML files (tens of seconds), so the index is cached on disk per lm-eval
version; a task in ``--lm-eval-include`` directories needs no index at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.config.cache import cache_root
from evalkit.errors import UsageError
from evalkit.scoring.registry import OptionSpec, Score, any_reference, is_str_list, scorer

REFUSED = {
    "loglikelihood": "it scores log-likelihoods of given continuations, which chat APIs do not return",
    "loglikelihood_rolling": "it measures perplexity from token log-likelihoods, which chat APIs do not return",
}
"""Output types that have no meaning over a chat API, with the reason."""

_TASKS: dict[tuple[str, tuple[str, ...]], Any] = {}
"""Loaded lm-eval task objects, so the scorer finds the task its samples came from."""


def _require_lm_eval() -> Any:
    try:
        import lm_eval
    except ImportError:
        raise UsageError("lm-eval suites need lm-eval: pip install 'lm-eval[api]==0.4.13'") from None
    return lm_eval


# ---------------------------------------------------------------------------
# Task index (cached on disk)


def _cache_path() -> Path:
    lm_eval = _require_lm_eval()
    return cache_root() / f"lm_eval_index-{getattr(lm_eval, '__version__', 'unknown')}.json"


def task_index(include: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Task name -> {kind, output_type, dataset, runnable, reason}: lm-eval's own tasks from
    the disk cache (built on first use), plus any in the `include` directories (never cached)."""
    path = _cache_path()
    if path.is_file():
        index = json.loads(path.read_text(encoding="utf-8"))
    else:
        index = _build_index(include_paths=None, defaults=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    if include:
        index.update(_build_index(include_paths=list(include), defaults=False))
    return index


def _task_manager(include_paths: list[str] | None, defaults: bool) -> Any:
    _require_lm_eval()
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=include_paths, include_defaults=defaults)


def _build_index(include_paths: list[str] | None, defaults: bool) -> dict[str, dict[str, Any]]:
    manager = _task_manager(include_paths, defaults)
    index = {}
    for name, entry in manager.task_index.items():
        cfg = entry.cfg or {}
        kind = entry.kind.name.lower()
        output_type = cfg.get("output_type")
        index[name] = {
            "kind": kind,
            "output_type": output_type,
            "dataset": cfg.get("dataset_path"),
            "dataset_name": cfg.get("dataset_name"),
            "reason": _refusal(kind, output_type),
        }
    return index


def _refusal(kind: str, output_type: str | None) -> str | None:
    if kind in ("group", "tag"):
        return f"it is a {kind} of tasks; run its tasks one by one"
    if output_type in REFUSED:
        return REFUSED[output_type]
    return None


# ---------------------------------------------------------------------------
# Loading a task


def get_task(task_name: str, include: tuple[str, ...]) -> Any:
    """The lm-eval task object (dataset loaded), loaded once per process."""
    key = (task_name, tuple(str(Path(p).resolve()) for p in include))
    if key in _TASKS:
        return _TASKS[key]
    manager = _manager_for(task_name, include)
    from lm_eval.api.task import Task

    try:
        loaded = manager.load([task_name])
    except Exception as error:
        raise _dataset_error(task_name, manager, error) from None
    tasks = loaded["tasks"] if isinstance(loaded, dict) and "tasks" in loaded else loaded
    task = tasks.get(task_name) if isinstance(tasks, dict) else None
    if not isinstance(task, Task):
        raise UsageError(f"lm-eval: {task_name} is a group or tag of tasks; run its tasks one by one")
    _TASKS[key] = task
    return task


def _manager_for(task_name: str, include: tuple[str, ...]) -> Any:
    # A task in the user's directories loads without indexing lm-eval's thousands of YAMLs.
    if include:
        manager = _task_manager(list(include), defaults=False)
        if task_name in manager.task_index:
            return manager
    index = task_index(include)
    if task_name not in index:
        import difflib

        close = difflib.get_close_matches(task_name, list(index), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"unknown lm-eval task {task_name!r}.{hint} `evalkit suites --lm-eval` lists them")
    reason = index[task_name]["reason"]
    if reason:
        raise UsageError(f"lm-eval task {task_name} cannot run over a chat API: {reason}")
    return _task_manager(list(include) or None, defaults=True)


def _dataset_error(task_name: str, manager: Any, error: Exception) -> UsageError:
    entry = manager.task_index.get(task_name)
    cfg = (entry.cfg if entry else None) or {}
    dataset = cfg.get("dataset_path", "?")
    config = cfg.get("dataset_name")
    spec = f"{dataset!r}" + (f", {config!r}" if config else "")
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return UsageError(
        f"lm-eval task {task_name}: its dataset {dataset}"
        + (f" (config {config})" if config else "")
        + f" is not in the local Hugging Face cache and could not be fetched ({first_line}). "
        f"On a machine with access run: python -c \"import datasets; datasets.load_dataset({spec})\" and copy "
        "~/.cache/huggingface/ (or $HF_HOME) here; or write a task YAML with dataset_path: json and "
        "dataset_kwargs: {data_files: ...} pointing at local files, and pass its folder with --lm-eval-include"
    )


# ---------------------------------------------------------------------------
# Scoring: lm-eval's filters and process_results on one reply


def score_reply(response: str, task_name: str, doc_id: int, include: list[str] | None = None,
                filter: str | None = None, metric: str | None = None) -> tuple[float, str | None, str]:
    """(value, what the filter extracted, detail) for one reply, by the task's own functions.

    The value is the task's first metric under its first filter (lm-eval lists them in the
    task's order), unless `filter` / `metric` name others; every metric under every filter
    goes in the detail."""
    from lm_eval.api.instance import Instance

    task = get_task(task_name, tuple(include or ()))
    doc = task.eval_docs[doc_id]
    instance = Instance(request_type=task.OUTPUT_TYPE, doc=doc, arguments=("", {}), idx=0,
                        metadata=(task_name, doc_id, 1))
    instance.resps.append(response)
    for ensemble in task._filters:
        ensemble.apply([instance])
    results = {key: task.process_results(doc, [value]) for key, value in instance.filtered_resps.items()}
    chosen_filter = filter or next(iter(results))
    metrics = results[chosen_filter]
    chosen_metric = metric or next(iter(metrics))
    value = float(metrics[chosen_metric])
    extracted = instance.filtered_resps[chosen_filter]
    detail = json.dumps({f: m for f, m in results.items()}, ensure_ascii=False, default=str)
    return value, None if extracted is None else str(extracted), detail


def _is_doc_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@scorer(
    "lm_eval",
    # The reference is lm-eval's target, shown in reports; the task's own code decides the score.
    reference=any_reference,
    options={
        "task": OptionSpec("an lm-eval task name", lambda v: isinstance(v, str) and bool(v), required=True),
        "doc_id": OptionSpec("a document index >= 0", _is_doc_id, required=True),
        "include": OptionSpec("a list of task folders", is_str_list),
        "filter": OptionSpec("the name of one of the task's filters", lambda v: isinstance(v, str)),
        "metric": OptionSpec("the name of one of the task's metrics", lambda v: isinstance(v, str)),
    },
)
def lm_eval_score(response: str, reference: Any, task: str, doc_id: int, include: Sequence[str] = (),
                  filter: str | None = None, metric: str | None = None) -> Score:
    """An lm-eval task's own answer filters and metric on one reply (see `score_reply`)."""
    value, extracted, detail = score_reply(response, task, doc_id, list(include), filter, metric)
    return Score(value, extracted, "" if value >= 1 else f"lm-eval: {detail}")
