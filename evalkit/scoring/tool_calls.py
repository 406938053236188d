"""The `tool_call` scorer: the function calls a reply made, against the expected ones.

In the style of BFCL's AST checker: the reply must call exactly the expected functions
(parallel calls in any order), each with arguments that, parsed as JSON, match the
reference's: numbers within a tolerance (a number given as a string is a wrong type, as
the function would receive it), strings with the `exact` normalisation, lists in order,
objects key by key. An argument the reference leaves out is not required (an optional
one the model may give or omit), unless the tool's schema requires it. A reference of
``[]`` means no tool applies: any call is wrong.

Where several values are right for one argument, as BFCL's possible-answer lists allow,
the reference writes ``{"any_of": [v1, v2, ...]}`` in its place (at any depth: an
argument, a key of an object argument, an element of a list): any one of the values
matches, each compared as above. A ``null`` among them means the argument may also be
left out (or sent as null): ``{"any_of": ["celsius", null]}`` accepts the default said
aloud or left implicit, but not ``"fahrenheit"``. An object whose only key is ``any_of``
is always this marker, never a literal value.

Where the request offered tools, the calls are also checked against their schemas: a
name no offered tool has, a required argument missing, an argument the tool does not
take. Those, and arguments that are not a JSON object, are the model's errors: the item
scores 0 with a detail that says which, never a failure of evalkit.
"""

from __future__ import annotations

import json
from typing import Any

from evalkit.scoring.json_fields import compact
from evalkit.scoring.registry import TOLERANCE, Score, is_number, scorer
from evalkit.scoring.text import normalise_answer

ParsedCall = tuple[str, dict[str, Any]]
"""(function name, its arguments parsed)."""


def _call_reference(reference: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(reference, list):
        return 'must be a list of calls such as [{"name": "get_weather", "arguments": {"city": "Paris"}}] (or [])'
    for position, call in enumerate(reference):
        if not isinstance(call, dict) or set(call) - {"name", "arguments"} or not isinstance(call.get("name"), str):
            return (f'has call {position} that is not {{"name": ..., "arguments": {{...}}}}: {call!r}; '
                    "write each expected call with its name and arguments")
        if not isinstance(call.get("arguments", {}), dict):
            return f"has call {position} ({call['name']}) whose 'arguments' is not an object"
        problem = _any_of_problem(call.get("arguments", {}), "")
        if problem:
            return f"has call {position} ({call['name']}) with {problem}"
    return None


ANY_OF = "any_of"
"""The key of a reference value that lists several acceptable ones."""


def is_any_of(value: Any) -> bool:
    """Whether a reference value is ``{"any_of": [...]}`` (the key may come with others only
    by mistake, which the reference check refuses)."""
    return isinstance(value, dict) and ANY_OF in value


def _any_of_problem(value: Any, path: str) -> str:
    """What is wrong with the ``any_of`` markers in one reference value ('' when nothing)."""
    where = f"argument {path!r}" if path else "its arguments"
    if is_any_of(value):
        options = value[ANY_OF]
        if set(value) != {ANY_OF} or not isinstance(options, list) or not options:
            return (f'{where} written as {compact(value)}; write several acceptable values as '
                    '{"any_of": [value, value, ...]} (null among them: may be left out), with no other key')
        if any(is_any_of(option) for option in options):
            return f"{where} nesting an any_of inside an any_of; list every acceptable value in one"
        return next((problem for option in options if (problem := _any_of_problem(option, path))), "")
    if isinstance(value, dict):
        items = [(f"{path}.{key}" if path else str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    else:
        return ""
    return next((problem for where_next, item in items if (problem := _any_of_problem(item, where_next))), "")


def resolve_any_of(value: Any, which: int = 0) -> Any:
    """`value` with every ``any_of`` replaced by its option number `which` (counted round
    the list), an object key whose chosen option is null left out: one concrete call the
    reference accepts, e.g. to check against the tool's schema or to script a reply."""
    if is_any_of(value):
        options = value[ANY_OF]
        return resolve_any_of(options[which % len(options)], which)
    if isinstance(value, dict):
        resolved = {key: resolve_any_of(item, which) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not None or not is_any_of(value[key])}
    if isinstance(value, list):
        return [resolve_any_of(item, which) for item in value]
    return value


def may_be_left_out(value: Any) -> bool:
    """Whether a reference argument is satisfied by its absence (an any_of with null)."""
    return is_any_of(value) and None in value[ANY_OF]


@scorer("tool_call", reference=_call_reference, options={"tolerance": TOLERANCE}, reads_tool_calls=True)
def tool_call(response: str, reference: list[dict[str, Any]], tolerance: float = 1e-6) -> Score:
    """1 when the reply made exactly the expected calls with matching arguments, else 0."""
    reply = _reply(response)
    made = reply.get("tool_calls") or []
    parsed, problem = _parse_calls(made, _offered(reply.get("tools")))
    extracted = compact([{"name": c.get("name"), "arguments": c.get("arguments")} for c in made]) if made else None
    if problem:
        return Score(0.0, extracted, problem)
    if not reference:
        if parsed:
            return Score(0.0, extracted, f"called {_names(parsed)} where no tool applies")
        return Score(1.0, None)
    if not parsed:
        return Score(0.0, None, f"made no tool call; expected {_names(_expected(reference))}")
    if len(parsed) != len(reference):
        return Score(0.0, extracted, f"made {len(parsed)} call(s) ({_names(parsed)}), "
                                     f"expected {len(reference)} ({_names(_expected(reference))})")
    why = _unmatched(_expected(reference), parsed, tolerance)
    return Score(0.0, extracted, why) if why else Score(1.0, extracted)


def _reply(response: str) -> dict[str, Any]:
    """The reply as `reply_json` wrote it; a plain text reply (a record written before
    tool calls were kept) made no call."""
    try:
        value = json.loads(response)
    except ValueError:
        return {"text": response, "tool_calls": []}
    return value if isinstance(value, dict) else {"text": response, "tool_calls": []}


def _expected(reference: list[dict[str, Any]]) -> list[ParsedCall]:
    return [(call["name"], call.get("arguments") or {}) for call in reference]


def _names(calls: list[ParsedCall]) -> str:
    return ", ".join(name or "(no name)" for name, _ in calls)


def _offered(tools: Any) -> dict[str, dict[str, Any]] | None:
    """The offered functions' parameter schemas by name; None when the request offered none."""
    if not isinstance(tools, list):
        return None
    offered = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            offered[function["name"]] = parameters if isinstance(parameters, dict) else {}
    return offered


def _parse_calls(made: list[dict[str, Any]], offered: dict[str, dict[str, Any]] | None) -> tuple[list[ParsedCall], str]:
    """The calls with their arguments parsed, or the first of the model's errors in them."""
    parsed: list[ParsedCall] = []
    for call in made:
        name, text = str(call.get("name") or ""), call.get("arguments")
        try:
            arguments = json.loads(text) if isinstance(text, str) and text.strip() else {}
        except json.JSONDecodeError as error:
            return parsed, f"the arguments of {name or 'a call'} are not valid JSON ({error.msg}): {_cut(text)}"
        if not isinstance(arguments, dict):
            return parsed, f"the arguments of {name or 'a call'} are not a JSON object: {_cut(text)}"
        problem = _schema_problem(name, arguments, offered) if offered is not None else ""
        if problem:
            return parsed, problem
        parsed.append((name, arguments))
    return parsed, ""


def _schema_problem(name: str, arguments: dict[str, Any], offered: dict[str, dict[str, Any]]) -> str:
    if name not in offered:
        return f"called unknown tool {name!r} (offered: {', '.join(sorted(offered)) or 'none'})"
    schema = offered[name]
    missing = [arg for arg in schema.get("required") or () if arg not in arguments]
    if missing:
        return f"the call to {name} lacks required argument(s) {', '.join(map(repr, missing))}"
    properties = schema.get("properties")
    if isinstance(properties, dict):
        unknown = [arg for arg in arguments if arg not in properties]
        if unknown:
            return f"the call to {name} passes argument(s) {', '.join(map(repr, unknown))} the tool does not take"
    return ""


def _unmatched(expected: list[ParsedCall], made: list[ParsedCall], tolerance: float) -> str:
    """Why the calls cannot be paired one to one with the expected ones ('' when they can):
    parallel calls may come in any order, so every pairing is tried (a handful of calls)."""
    def pairs(left: list[ParsedCall], right: list[ParsedCall]) -> bool:
        if not left:
            return True
        first, rest = left[0], left[1:]
        return any(not _mismatch(first, call, tolerance) and pairs(rest, right[:i] + right[i + 1:])
                   for i, call in enumerate(right))

    if pairs(expected, made):
        return ""
    for want in expected:  # explain with the closest call: the one of the same name
        same_name = [call for call in made if call[0] == want[0]]
        if not same_name:
            return f"no call to {want[0]}; the reply called {_names(made)}"
        reasons = [_mismatch(want, call, tolerance) for call in same_name]
        if all(reasons):
            return reasons[0]
    return "the calls do not pair one to one with the expected ones"


def _mismatch(want: ParsedCall, got: ParsedCall, tolerance: float) -> str:
    """Why call `got` is not call `want` ('' when it is)."""
    if want[0] != got[0]:
        return f"called {got[0]}, expected {want[0]}"
    for arg, value in want[1].items():
        if arg not in got[1]:
            if may_be_left_out(value):
                continue
            return f"{want[0]}: argument {arg!r} is missing (expected {_shown(value)})"
        if not same_argument(value, got[1][arg], tolerance):
            return f"{want[0]}: argument {arg!r} is {compact(got[1][arg])}, expected {_shown(value)}"
    return ""


def _shown(value: Any) -> str:
    """A reference value as a detail reads it: ``"celsius" or left out`` for an any_of."""
    if not is_any_of(value):
        return compact(value)
    shown = [compact(option) for option in value[ANY_OF] if option is not None]
    if None in value[ANY_OF]:
        shown.append("left out")
    return "one of " + ", ".join(shown) if len(shown) > 2 else " or ".join(shown)


def same_argument(expected: Any, got: Any, tolerance: float) -> bool:
    """Whether an argument's value matches the reference's, type for type; an ``any_of``
    reference when any of its values does."""
    if is_any_of(expected):
        return any(same_argument(option, got, tolerance) if option is not None else got is None
                   for option in expected[ANY_OF])
    if is_number(expected):
        return is_number(got) and abs(got - expected) <= tolerance
    if isinstance(expected, str):
        return isinstance(got, str) and normalise_answer(got) == normalise_answer(expected)
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(same_argument(e, g, tolerance) for e, g in zip(expected, got)))
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            same_argument(value, got[key], tolerance) if key in got else may_be_left_out(value)
            for key, value in expected.items())
    return expected is got or (expected == got and type(expected) is type(got))


def _cut(text: Any, limit: int = 80) -> str:
    shown = str(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
