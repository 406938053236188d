"""Replay suites: real prompts from a stored workload profile, judged against the logged answers.

``replay:PROFILE`` draws a seeded sample of the profile's kept text (`Store.workload`).
Each item sends the logged conversation as it was and takes the answer the model in
production gave (the *incumbent*) as its reference; the `judge` scorer compares the two
in pairwise mode, once in each order, so every item scores 1 (the candidate wins both
times), 0 (it loses both) or 0.5. Item ids are a hash of the logged request and answer:
the same traffic gives the same ids however often the profile is re-imported, so resume
and the incumbent analysis (`evalkit.analysis.incumbent`) find the same items again.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

from evalkit.config.models import JudgeConfig, RunOptions, SuiteConfig
from evalkit.errors import UsageError
from evalkit.scoring.registry import check_reference
from evalkit.suites.base import Sample

PREFIX = "replay:"
DEFAULT_SIZE = 50
"""Prompts drawn when a replay suite does not give ``size``."""
DEFAULT_RUBRIC = (
    "The two answers reply to a real request a user sent. Prefer the answer that serves that user "
    "better: it is correct, does what was asked, and is complete without padding; follow any "
    "instructions in the conversation (format, language, length). Length or style alone is no reason "
    "to prefer an answer; say tie when neither serves the user better."
)
"""What the judge weighs when a replay suite gives no rubric of its own."""

Locate = Callable[[str], str]


def is_replay(suite: SuiteConfig) -> bool:
    return suite.name.startswith(PREFIX) and not suite.path


def profile_name(suite: SuiteConfig) -> str:
    return suite.name.removeprefix(PREFIX)


def item_id(row: dict[str, Any]) -> str:
    """A logged request's id: a hash of what was sent and what was answered."""
    content = json.dumps([row.get("messages"), row.get("response")], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def load_replay_samples(suite: SuiteConfig, options: RunOptions, locate: Locate,
                        store: str | None = None) -> list[Sample]:
    """The drawn items of ``replay:PROFILE`` from the store at ``store`` (a URL or path;
    None: ``$EVALKIT_STORE`` or the default); `UsageError` naming the suite's field when
    the profile is missing, holds no text, or the suite names no judge."""
    from evalkit.store.database import Store

    name = profile_name(suite)
    if not name:
        raise UsageError(f"{locate('name')}: name the workload profile to replay, as replay:PROFILE")
    if suite.judge is None:
        raise UsageError(f"{locate('name')}: suite {suite.name} needs a judge to compare answers with the logged "
                         "ones: add judge: {judge_model: provider/model} to the suite in the config file")
    try:
        row = Store(store).workload(name)
    except UsageError as error:
        raise UsageError(f"{locate('name')}: {error}") from None
    if not row.sample:
        raise UsageError(f"{locate('name')}: workload profile {name!r} holds no text (its prompts and answers "
                         f"were not kept at import), so there is nothing to replay; re-import it with "
                         f"`evalkit workload import {row.source} --name {name} --keep-text`")
    size = suite.size or DEFAULT_SIZE
    if options.limit:
        size = min(size, options.limit)
    seed = suite.seed if suite.seed is not None else options.seed
    chosen = sorted(random.Random(seed).sample(range(len(row.sample)), min(size, len(row.sample))))
    scorer_options = judge_options(suite.judge)
    return [_item(suite.name, row.sample[index], index, scorer_options, f"{locate('name')}: profile {name!r}")
            for index in chosen]


def judge_options(judge: JudgeConfig) -> dict[str, Any]:
    """The `judge` scorer's options for a replay item: pairwise, at temperature 0, with a
    verdict of at most ``judge.max_tokens`` (what a budget reserves for it)."""
    options: dict[str, Any] = {"judge_model": judge.judge_model, "mode": "pairwise",
                               "rubric": judge.rubric or DEFAULT_RUBRIC,
                               "params": {"temperature": 0, "max_tokens": judge.max_tokens}}
    if judge.api_base:
        options["api_base"] = judge.api_base
    if judge.api_key_env:
        options["api_key_env"] = judge.api_key_env
    if judge.price is not None:
        options["price"] = {"input": judge.price.input, "output": judge.price.output}
    return options


def _item(suite: str, row: dict[str, Any], index: int, scorer_options: dict[str, Any], where: str) -> Sample:
    messages, response = row.get("messages"), row.get("response")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        raise UsageError(f"{where}, text item {index + 1}: 'messages' is not a list of chat messages; "
                         "re-import the log")
    if messages[-1].get("role") != "user":
        raise UsageError(f"{where}, text item {index + 1}: the logged request does not end with a user message")
    try:
        check_reference("judge", response, scorer_options)  # a blank logged answer has nothing to compare with
    except UsageError as error:
        raise UsageError(f"{where}, text item {index + 1}: the logged answer ('response'): {error}") from None
    return Sample(
        id=item_id(row), suite=suite,
        messages=tuple({"role": m.get("role", "user"), "content": m["content"]} for m in messages),
        reference=response, scorer="judge", scorer_options=scorer_options,
        metadata={"incumbent": row.get("model"), "language": row.get("language"),
                  "incumbent_prompt_tokens": row.get("prompt_tokens"),
                  "incumbent_completion_tokens": row.get("completion_tokens")},
    )
