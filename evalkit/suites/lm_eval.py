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

Finding and loading a task (and its cached index) belongs to the scorer, which needs the
task its sample came from: `evalkit.scoring.lm_eval`. This module builds the samples.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.scoring.lm_eval import REFUSED, get_task, task_index
from evalkit.suites.base import Sample

PREFIX = "lm-eval:"
FEWSHOT_SEED = 1234
"""lm-eval's default ``fewshot_random_seed``: the same few-shot examples as its own runs."""
MAX_STOP_SEQUENCES = 4
GENERATIVE = "generate_until"
LETTER_ANSWER = "multiple_choice"


def is_lm_eval(name: str) -> bool:
    return name.startswith(PREFIX)


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


def _check_metrics(task: Any, task_name: str) -> None:
    aggregations = task.aggregation()
    for metric in task._metric_fn_list:
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
