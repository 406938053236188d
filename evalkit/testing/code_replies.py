"""Replies to code items for tests: one that passes an item's hidden tests whatever the
function is, and one that fails them."""

from __future__ import annotations

import ast
from typing import Any


def lookup_table_reply(tests: str, entry_point: str) -> str:
    """A fenced reply defining `entry_point` as a table of the values the `tests` (HumanEval
    style ``assert candidate(args) == expected``) expect, so it passes exactly those."""
    table: dict[str, Any] = {}
    for node in ast.walk(ast.parse(tests)):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
            call, expected = node.test.left, node.test.comparators[0]
            if isinstance(call, ast.Call):
                table[repr(tuple(ast.literal_eval(arg) for arg in call.args))] = ast.literal_eval(expected)
    return f"```python\ndef {entry_point}(*args):\n    return {table!r}[repr(args)]\n```"


def wrong_reply(entry_point: str) -> str:
    """A reply defining `entry_point` to return None: it fails any test of a value."""
    return f"```python\ndef {entry_point}(*args):\n    return None\n```"
