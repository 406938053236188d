"""The tools of a multi-turn task: deterministic functions evalkit runs when the model calls them.

An agent item (`Sample.environment`) names a *toolkit* and carries its own data (the
orders, the policy, the exchange rates of that one task). When the model calls a tool,
the runner asks the environment for the result and sends it back as a ``tool`` message;
the same call on the same item always gives the same result, so every candidate faces
the very same world and a rerun reproduces it.

A toolkit is a mapping from function name to a pure function ``(data, arguments) ->
result``. A function raises `ToolFailure` for an error the model should read and may
recover from (no such order, an unknown currency); a call evalkit cannot run at all (a
tool no kit has, arguments that are not a JSON object) gets an ``{"error": ...}`` result
too. Neither is evalkit's failure: the conversation goes on, and the final answer is
scored as usual.

Built-in suites register their own toolkits (`register_toolkit`) when imported, which is
before any of their items exists; the ``lookup`` kit here serves file suites, whose items
list each tool's answers by arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import UsageError

ToolFunction = Callable[[Mapping[str, Any], dict[str, Any]], Any]
"""``(the item's data, the call's parsed arguments) -> a JSON-serialisable result``."""

DEFAULT_MAX_TURNS = 8
"""Model turns a task may take (each tool round is one) before it is stopped unanswered."""
MAX_TURNS = 50
"""The most turns an item may allow: a budget reserves every one of them."""


class ToolFailure(Exception):
    """A tool's own error (no such order): its message goes back to the model."""


LOOKUP = "lookup"
"""The toolkit of file suites: each tool answers from the item's own cases (`_lookup`)."""

_TOOLKITS: dict[str, Mapping[str, ToolFunction]] = {}


def register_toolkit(name: str, functions: Mapping[str, ToolFunction]) -> None:
    """Make toolkit `name` available to items; its functions by the names the model calls."""
    _TOOLKITS[name] = dict(functions)


def toolkit_names() -> list[str]:
    return sorted([*_TOOLKITS, LOOKUP])


def get_toolkit(name: str) -> Mapping[str, ToolFunction]:
    if name not in _TOOLKITS:
        raise UsageError(f"no toolkit named {name!r}; known: {', '.join(toolkit_names())}")
    return _TOOLKITS[name]


@dataclass(frozen=True)
class ToolEnvironment:
    """The world of one multi-turn task: which toolkit answers, over which data, for how many turns."""

    toolkit: str
    data: Mapping[str, Any] = field(default_factory=dict)
    """The task's own facts, JSON-serialisable; what the toolkit's functions read."""
    max_turns: int = DEFAULT_MAX_TURNS

    def call(self, name: str, arguments: str) -> str:
        """The text sent back for one call: the function's result as JSON, or ``{"error": ...}``."""
        function = self._function(name)
        if function is None:
            return _error(f"there is no tool named {name!r}")
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as error:
            return _error(f"the arguments are not valid JSON ({error.msg}, character {error.pos})")
        if not isinstance(parsed, dict):
            return _error("the arguments must be a JSON object")
        try:
            result = function(self.data, parsed)
        except ToolFailure as failure:
            return _error(str(failure))
        except (KeyError, TypeError, ValueError) as error:  # an argument of the wrong shape
            return _error(f"the tool could not use these arguments ({type(error).__name__}: {error})")
        return json.dumps(result, ensure_ascii=False, sort_keys=True)

    def _function(self, name: str) -> ToolFunction | None:
        if self.toolkit == LOOKUP:  # a file suite's item: the tools are the ones its data answers for
            return _lookup(name) if name in self.data else None
        return get_toolkit(self.toolkit).get(name)

    def identity(self) -> dict[str, Any]:
        """What of the environment shapes the conversation, for the request hash."""
        return {"toolkit": self.toolkit, "data": self.data, "max_turns": self.max_turns}


def _error(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


def _lookup(tool: str) -> ToolFunction:
    """A ``lookup`` function: the result of the case whose arguments equal the call's."""

    def answer(data: Mapping[str, Any], arguments: dict[str, Any]) -> Any:
        for case in data.get(tool, []):
            if _canonical(case.get("arguments", {})) == _canonical(arguments):
                return case.get("result")
        raise ToolFailure(f"no result for {tool} with arguments {json.dumps(arguments, ensure_ascii=False)}")

    return answer


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
