"""The `code` scorer: runs the reply's code against the item's tests in the sandbox.

The reply's code is its fenced Python blocks (```python, ```py or bare ```), else the
whole reply. The program run is HumanEval's: the item's ``prefix`` (its prompt: imports,
helpers, the signature and docstring; empty by default), the code, the item's tests (the
reference) and, when the item names an ``entry_point``, ``check(entry_point)``. A reply
that writes only the function's body completes the prefix; one that writes the whole
function replaces the prefix's stub. It scores 1 when the program exits cleanly within
the sandbox's limits, else 0 with the reason and the tail of the failing test's output.

Running tests takes seconds, so the entry says `runs_code`: the runner scores it in a
worker thread, off the event loop, and stores the time the tests took (``tests_s``)
apart from the model's latency, with the isolation they ran under (``sandbox``).
"""

from __future__ import annotations

import dataclasses
import keyword
import math
import re
import subprocess
from typing import Any

from evalkit.scoring import sandbox
from evalkit.scoring.registry import OptionSpec, Score, ScorerEntry, is_number, register

DETAIL_CHARS = 800
"""What a score's detail keeps of the failing run's output: its end, where the failing
assertion is."""

_FENCE = re.compile(r"```[ \t]*(python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def extract_code(reply: str) -> str:
    """The code a reply holds: its Python-fenced blocks joined (else its bare-fenced
    blocks), or the whole reply when it has no fence."""
    blocks = _FENCE.findall(reply)
    python = [body for language, body in blocks if language]
    chosen = python or [body for _, body in blocks]
    return "\n\n".join(block.rstrip() for block in chosen) if chosen else reply


def build_program(code: str, tests: str, entry_point: str | None, prefix: str = "") -> str:
    """The program the sandbox runs (HumanEval's convention: prompt + completion + tests +
    ``check(entry_point)``)."""
    defines_entry = entry_point is not None and re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code,
                                                          re.MULTILINE)
    # A whole function goes after the prefix on a line of its own; a body continues it.
    if not prefix:
        body = code
    else:
        body = prefix + ("\n\n" + code if defines_entry else code)
    call = f"\n\ncheck({entry_point})\n" if entry_point else "\n"
    return f"{body}\n\n{tests}{call}"


def score_code(response: str, reference: Any, entry_point: str | None = None, prefix: str = "",
               timeout_s: float | None = None) -> Score:
    """Pass (1) or fail (0) of the reply's code against the tests in `reference`."""
    code = extract_code(response)
    config = sandbox.SandboxConfig.from_environment()
    if timeout_s is not None:  # the item's own limit
        limits = dataclasses.replace(config.limits, wall_s=float(timeout_s), cpu_s=max(1, math.ceil(timeout_s)))
        config = dataclasses.replace(config, limits=limits)
    try:
        result = sandbox.run_program(build_program(code, reference, entry_point, prefix), config)
    except (OSError, RecursionError, subprocess.SubprocessError, ValueError) as error:
        # whatever a hostile program leaves behind, it fails its item, never the run
        return Score(0.0, code, f"tests failed: the sandbox could not run the program ({type(error).__name__}: "
                                f"{error})")
    detail = "" if result.passed else f"tests failed: {result.reason}\n{result.output[-DETAIL_CHARS:]}".rstrip()
    return Score(1.0 if result.passed else 0.0, code, detail, run_s=result.elapsed_s, sandbox=result.isolation)


def _tests_reference(reference: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(reference, str) or not reference.strip():
        return "must be the tests as Python source (asserts, or def check(candidate) with entry_point)"
    try:
        compile(reference, "<tests>", "exec")
    except SyntaxError as error:
        return f"is not valid Python: {error.msg} at line {error.lineno} of the tests"
    entry_point = options.get("entry_point")
    if entry_point and not re.search(r"^def\s+check\s*\(", reference, re.MULTILINE):
        return f"must define check(candidate) when entry_point is set (it is called as check({entry_point}))"
    return None


def _is_identifier(value: Any) -> bool:
    return isinstance(value, str) and value.isidentifier() and not keyword.iskeyword(value)


register(ScorerEntry(
    "code",
    _tests_reference,
    score_code,
    {
        "entry_point": OptionSpec("the name of the function under test, e.g. 'has_close_elements'",
                                  _is_identifier),
        "prefix": OptionSpec("Python source put before the reply's code (the prompt's imports and signature)",
                             lambda v: isinstance(v, str)),
        "timeout_s": OptionSpec("seconds > 0 the tests may run", lambda v: is_number(v) and 0 < v <= 600),
    },
    runs_code=True,
))
