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
from collections.abc import Callable, Mapping, Sequence
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

    def __post_init__(self) -> None:
        if not isinstance(self.max_turns, int) or not 1 <= self.max_turns <= MAX_TURNS:
            raise UsageError(f"a task's max_turns must be 1 to {MAX_TURNS}, got {self.max_turns!r}")

    def call(self, name: str, arguments: str, offered: Sequence[dict[str, Any]] | None = None) -> str:
        """The text sent back for one call: the function's result as JSON, or ``{"error": ...}``.

        With `offered` (the item's tool definitions), only an offered function can be
        called, and its arguments must keep to its JSON Schema, as an API server's
        function would check them (the `jsonschema` package). Nothing a call does ends
        the task: whatever goes wrong is the model's to read."""
        schemas = _parameters(offered)
        function = self._function(name, schemas)
        if function is None:
            return _error(f"there is no tool named {name!r}")
        try:
            parsed = json.loads(arguments or "{}")
        except (json.JSONDecodeError, RecursionError) as error:
            where = f", character {error.pos}" if isinstance(error, json.JSONDecodeError) else ""
            return _error(f"the arguments are not valid JSON ({getattr(error, 'msg', 'nested too deeply')}{where})")
        if not isinstance(parsed, dict):
            return _error("the arguments must be a JSON object")
        problem = _schema_problem(parsed, schemas.get(name) if schemas else None)
        if problem:
            return _error(f"the arguments do not fit {name}'s parameters: {problem}")
        try:
            return json.dumps(function(self.data, parsed), ensure_ascii=False, sort_keys=True)
        except ToolFailure as failure:
            return _error(str(failure))
        except Exception as error:  # a tool that breaks on these arguments answers so, never ends the run
            return _error(f"the tool could not use these arguments ({type(error).__name__}: {error})")

    def _function(self, name: str, schemas: dict[str, Any] | None) -> ToolFunction | None:
        if schemas is not None and name not in schemas:
            return None  # not offered: the model cannot call it, whatever the toolkit has
        if self.toolkit == LOOKUP:  # a file suite's item: its offered tools answer from its cases
            return _lookup(name) if schemas is not None or name in self.data else None
        return get_toolkit(self.toolkit).get(name)

    def identity(self) -> dict[str, Any]:
        """What of the environment shapes the conversation, for the request hash."""
        return {"toolkit": self.toolkit, "data": self.data, "max_turns": self.max_turns}


def _parameters(offered: Sequence[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The offered functions' parameter schemas by name; None when nothing says what was offered."""
    if offered is None:
        return None
    functions = (tool.get("function") for tool in offered if isinstance(tool, dict))
    return {f["name"]: f.get("parameters") or {} for f in functions if isinstance(f, dict) and "name" in f}


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a JSON Schema a validator can use (jsonschema's own check), or None."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as error:
        where = ".".join(str(part) for part in error.absolute_path)
        return f"{where}: {error.message}" if where else error.message
    return None


def _schema_problem(arguments: dict[str, Any], schema: Any) -> str | None:
    """Why `arguments` break `schema` (the error jsonschema ranks first), or None."""
    if not isinstance(schema, dict) or not schema:
        return None
    import jsonschema  # imported before a run's first call (`evalkit.run.runner`)

    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(arguments))
    except Exception:  # a definition no validator can apply: the tool gets the arguments as they are
        return None
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


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
    """`value` as JSON compares it: 40 and 40.0 are one number, true is not 1."""
    return json.dumps(_numbers_as_floats(value), sort_keys=True, ensure_ascii=False)


def _numbers_as_floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {key: _numbers_as_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_floats(item) for item in value]
    return value
