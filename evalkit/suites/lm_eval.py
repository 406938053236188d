"""lm-evaluation-harness tasks as evalkit suites: ``-s lm-eval:<task>``.

lm-eval owns everything but the transport: its documents, the prompt it builds (few-shot
examples as chat turns, the task's description as the system message), the generation
settings, the answer filters and the metrics. evalkit sends the requests through its own
runner (latency, tokens, cost, history) and scores each reply with the ``lm_eval`` scorer,
which runs the task's own filters and ``process_results`` on it.

- ``generate_until`` tasks run as lm-eval builds them. The task's ``until`` (first four,
  the OpenAI limit, as lm-eval's own chat model does), ``max_gen_toks`` and temperature
  travel as the sample's request params (`Sample.params`), which win over the run's.
- ``multiple_choice`` tasks (log-likelihood in lm-eval) have no meaning over a chat API;
  they run zero-shot as a letter-answer prompt scored by evalkit's ``choice`` scorer.
- ``loglikelihood`` / ``loglikelihood_rolling`` tasks, groups and tasks whose metric is a
  corpus-level aggregate are refused with the reason.

lm-eval is imported only here, only when an lm-eval suite is asked for. Listing every
task walks thousands of YAML files (tens of seconds), so the index is cached on disk per
lm-eval version; a task in ``--lm-eval-include`` directories needs no index at all.
"""

from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.suites.base import Sample

PREFIX = "lm-eval:"
FEWSHOT_SEED = 1234
"""lm-eval's default ``fewshot_random_seed``: the same few-shot examples as its own runs."""
MAX_STOP_SEQUENCES = 4
GENERATIVE = "generate_until"
LETTER_ANSWER = "multiple_choice"
REFUSED = {
    "loglikelihood": "it scores log-likelihoods of given continuations, which chat APIs do not return",
    "loglikelihood_rolling": "it measures perplexity from token log-likelihoods, which chat APIs do not return",
}

_TASKS: dict[tuple[str, tuple[str, ...]], Any] = {}
"""Loaded lm-eval task objects, so the scorer finds the task its samples came from."""


def is_lm_eval(name: str) -> bool:
    return name.startswith(PREFIX)


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
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evalkit"
    return root / f"lm_eval_index-{getattr(lm_eval, '__version__', 'unknown')}.json"


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


def runnable_tasks(include: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The tasks evalkit can run over a chat API (for `evalkit suites --lm-eval`)."""
    return {name: entry for name, entry in sorted(task_index(include).items()) if entry["reason"] is None}


# ---------------------------------------------------------------------------
# Loading a task's samples


def load_lm_eval_samples(name: str, include: tuple[str, ...] = (), limit: int | None = None) -> list[Sample]:
    """The samples of suite ``lm-eval:<task>``, built by lm-eval, cut to `limit` documents."""
    task_name = name[len(PREFIX):]
    task = get_task(task_name, include)
    output_type = task.OUTPUT_TYPE
    if output_type in REFUSED:
        raise UsageError(f"lm-eval task {task_name} cannot run over a chat API: {REFUSED[output_type]}")
    _check_metrics(task, task_name)
    if output_type == LETTER_ANSWER:
        return _letter_samples(task, name, task_name, include, limit)
    return _generative_samples(task, name, task_name, include, limit)


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


def _check_metrics(task: Any, task_name: str) -> None:
    aggregations = task.aggregation()
    for metric in task._metric_fn_list:  # noqa: SLF001 - lm-eval exposes no public list
        aggregation = aggregations.get(metric)
        if getattr(aggregation, "__name__", "mean") != "mean":
            raise UsageError(
                f"lm-eval task {task_name}: metric {metric} is aggregated over the whole corpus "
                f"({aggregation.__name__}), not per item; evalkit scores item by item"
            )


def _json_chat(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    # The chat "template" of an API model: the messages themselves, as lm-eval's own
    # chat-completions model encodes them.
    return json.dumps(messages, ensure_ascii=False)


def _generative_samples(task: Any, suite: str, task_name: str, include: tuple[str, ...], limit: int | None):
    # Few-shot sampling is stateful: seed, then build every document once, in order.
    random.seed(0)
    task.set_fewshot_seed(seed=FEWSHOT_SEED)
    task.build_all_requests(limit=limit, apply_chat_template=True, fewshot_as_multiturn=True,
                            chat_template=_json_chat)
    samples = []
    for instance in task.instances:
        context, gen_kwargs = instance.args[0], dict(instance.args[1])
        messages = tuple(json.loads(context))
        samples.append(Sample(
            id=str(instance.doc_id),
            suite=suite,
            messages=messages,
            reference=_text(task.doc_to_target(instance.doc)),
            scorer="lm_eval",
            scorer_options=_scorer_options(task_name, include, instance.doc_id),
            metadata={"lm_eval_task": task_name, "output_type": GENERATIVE},
            params=_request_params(gen_kwargs),
        ))
    return samples


def _request_params(gen_kwargs: dict[str, Any]) -> dict[str, Any]:
    """lm-eval's generation settings as OpenAI request parameters (as `local-chat-completions`
    maps them)."""
    until = gen_kwargs.pop("until", None) or []
    until = [until] if isinstance(until, str) else list(until)
    gen_kwargs.pop("do_sample", None)
    params: dict[str, Any] = {
        "max_tokens": int(gen_kwargs.pop("max_gen_toks", gen_kwargs.pop("max_tokens", 256))),
        "temperature": gen_kwargs.pop("temperature", 0),
    }
    if until:
        params["stop"] = until[:MAX_STOP_SEQUENCES]
    return params


def _scorer_options(task_name: str, include: tuple[str, ...], doc_id: int) -> dict[str, Any]:
    options: dict[str, Any] = {"task": task_name, "doc_id": int(doc_id)}
    if include:
        options["include"] = [str(Path(p).resolve()) for p in include]
    return options


def _letter_samples(task: Any, suite: str, task_name: str, include: tuple[str, ...], limit: int | None):
    letters = string.ascii_uppercase
    samples = []
    for doc_id, doc in task.doc_iterator(limit=limit):
        choices = [str(c) for c in task.doc_to_choice(doc)]
        if len(choices) > len(letters):
            raise UsageError(f"lm-eval task {task_name}: {len(choices)} choices, more than letters A-Z")
        target = task.doc_to_target(doc)
        index = target if isinstance(target, int) else choices.index(str(target).strip())
        names = list(letters[: len(choices)])
        options = "\n".join(f"{name}. {choice}" for name, choice in zip(names, choices))
        question = str(task.doc_to_text(doc)).rstrip()
        prompt = f"{question}\n\n{options}\n\nAnswer with the letter of the correct option only."
        messages: tuple[dict[str, str], ...] = ({"role": "user", "content": prompt},)
        if task.config.description:
            messages = ({"role": "system", "content": str(task.config.description).strip()},) + messages
        samples.append(Sample(
            id=str(doc_id), suite=suite, messages=messages, reference=names[index], scorer="choice",
            scorer_options={"choices": names},
            metadata={"lm_eval_task": task_name, "output_type": LETTER_ANSWER},
        ))
    return samples


def _text(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value)


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
    for ensemble in task._filters:  # noqa: SLF001 - apply_filters works on task.instances only
        ensemble.apply([instance])
    results = {key: task.process_results(doc, [value]) for key, value in instance.filtered_resps.items()}
    chosen_filter = filter or next(iter(results))
    metrics = results[chosen_filter]
    chosen_metric = metric or next(iter(metrics))
    value = float(metrics[chosen_metric])
    extracted = instance.filtered_resps[chosen_filter]
    detail = json.dumps({f: m for f, m in results.items()}, ensure_ascii=False, default=str)
    return value, None if extracted is None else str(extracted), detail
