"""File suites: samples written by users as JSONL or CSV, checked in full before any call.

This module owns the suite file format (one sample per JSONL line or CSV row), turning
rows into `Sample`s, and reporting every malformed row at once, each as
``path:line: what is wrong (how to fix it)``, in a single `UsageError`.

Fields of a row: ``id`` (required, unique in the file); ``prompt`` (a string) or
``messages`` (a list of ``{"role", "content"}``, the last one from the user), exactly one;
``reference`` (required); ``scorer`` (default ``exact``); ``scorer_options`` (object);
``cluster``; ``metadata`` (object); ``tools`` (OpenAI function-calling definitions,
``[{"type": "function", "function": {"name", "description", "parameters"}}]``) and
``tool_choice`` (``auto``, ``none``, ``required`` or ``{"type": "function", "function":
{"name": ...}}``), sent with the request; ``environment`` (a multi-turn task: ``{"toolkit":
"lookup", "data": {tool: [{"arguments": {...}, "result": ...}]}, "max_turns": 8}``, the
results evalkit sends back when the model calls a tool; needs ``tools``). In CSV, ``messages``, ``scorer_options``,
``metadata``, ``tools`` and ``environment`` cells hold JSON (and a ``tool_choice`` cell that starts with
``{``), and a ``reference`` cell that looks like JSON (``{...}``,
``[...]`` or a number) is parsed as JSON; an empty cell means the field is absent.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from evalkit.errors import UsageError
from evalkit.scoring.registry import check_reference, find_scorer
from evalkit.suites.base import Sample
from evalkit.suites.environment import (
    DEFAULT_MAX_TURNS,
    LOOKUP,
    MAX_TURNS,
    ToolEnvironment,
    schema_problem,
    toolkit_names,
)

MAX_ERRORS = 20
"""Errors listed in one report; the rest are counted, since the first few show the pattern."""


def _id_to_str(value: Any) -> Any:
    # Numbered ids ({"id": 7}) are common in JSONL; a bool is never meant as an id.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


_Id = Annotated[str, BeforeValidator(_id_to_str)]


class Message(BaseModel):
    """One chat message of a ``messages`` field."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["system", "user", "assistant"]
    content: str


class EnvironmentRow(BaseModel):
    """The ``environment`` of a multi-turn item (`evalkit.suites.environment.ToolEnvironment`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    toolkit: str = LOOKUP
    """``lookup`` (the item's own cases in ``data``) or a toolkit a built-in suite registered."""
    data: dict[str, Any] = Field(default_factory=dict)
    max_turns: int = Field(default=DEFAULT_MAX_TURNS, ge=1, le=MAX_TURNS)


class SampleRow(BaseModel):
    """One sample as written in a suite file, before it becomes a `Sample`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: _Id
    """Unique within the file; numbers are accepted and kept as text."""
    prompt: str | None = None
    """The user message to send; give this or ``messages``."""
    messages: list[Message] | None = None
    """A whole conversation to send; the last message must be from the user."""
    reference: Any
    """The expected answer, in the form the scorer expects."""
    scorer: str = "exact"
    """Name of a registered scorer (`evalkit.scoring.scorers`)."""
    scorer_options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options for the scorer."""
    cluster: _Id | None = None
    """Samples sharing a cluster are correlated (same document, same template)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free facts for reports (difficulty, language, ...)."""
    tools: list[dict[str, Any]] | None = None
    """Functions the model may call, in OpenAI's function-calling format."""
    tool_choice: str | dict[str, Any] | None = None
    """Whether (or which) function the model must call; needs ``tools``."""
    environment: EnvironmentRow | None = None
    """Makes the item a multi-turn task: what evalkit answers when the model calls a tool."""


FIELDS = list(SampleRow.model_fields)
_MISSING_HINTS = {"id": "give each sample a unique id", "reference": "give the expected answer"}

Problem = tuple[int, str]
"""(line number, what is wrong there)."""


# ---------------------------------------------------------------------------
# Public entry point


def load_file_suite(path: str | Path, name: str | None = None) -> list[Sample]:
    """Load and validate a JSONL or CSV suite file; the suite is named `name` or the file stem.

    Raises `UsageError` listing every problem in the file, one per line.
    """
    shown = os.fspath(path)
    path = Path(path)
    read_rows = _READERS.get(path.suffix.lower())
    if read_rows is None:
        kinds = ", ".join(_READERS)
        raise UsageError(f"{shown}: unsupported suite file type {path.suffix or '(none)'!r}; use one of {kinds}")
    samples, problems = _samples(read_rows(_read_text(path, shown)), name or path.stem)
    if not samples and not problems:
        problems.append((0, "no samples found; write one sample per line (JSONL) or per row under a header (CSV)"))
    if problems:
        raise UsageError(_report(shown, problems))
    return samples


def _read_text(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such suite file; check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory; give the path of a .jsonl or .csv file") from None
    if b"\x00" in data[:8192]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UsageError(f"{shown}:{line}: binary data (a NUL byte), not a text file; give a .jsonl or .csv file")
    try:
        # utf-8-sig: spreadsheet programs put a byte-order mark in front of CSV exports.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"{shown}:{line}: not UTF-8 text (bad byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def _report(shown: str, problems: list[Problem]) -> str:
    lines = [f"{shown}:{line}: {what}" if line else f"{shown}: {what}" for line, what in problems]
    if len(lines) > MAX_ERRORS:
        lines = lines[:MAX_ERRORS] + [f"and {len(lines) - MAX_ERRORS} more errors in {shown}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Rows -> samples (shared by both formats)


def _samples(rows: Iterator[tuple[int, dict[str, Any] | str]], suite: str) -> tuple[list[Sample], list[Problem]]:
    samples: list[Sample] = []
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    for line, raw in rows:
        if isinstance(raw, str):
            problems.append((line, raw))
            continue
        row, row_problems = _validate(raw)
        problems += [(line, what) for what in row_problems]
        if row is None:
            continue
        if row.id in first_line:
            where = f"first used on line {first_line[row.id]}"
            problems.append((line, f"duplicate id {row.id!r} ({where}); ids must be unique within a file"))
            continue
        first_line[row.id] = line
        if not row_problems:
            samples.append(_to_sample(row, suite))
    return samples, problems


CODE_FIELDS = ("tests", "entry_point", "language")
"""A code item's own fields: its tests (the `code` scorer's reference), the function they
call, and the language of the code (Python, the one evalkit runs)."""


def _code_item(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A row written with `CODE_FIELDS` as the row the `code` scorer reads: ``tests`` is the
    reference, ``entry_point`` a scorer option, the scorer ``code``; and what is wrong."""
    if raw.keys().isdisjoint(CODE_FIELDS):  # most rows (a generator per row: a third of a second at 100,000)
        return raw, []
    row = {key: value for key, value in raw.items() if key not in CODE_FIELDS}
    problems = []
    language = raw.get("language", "python")
    if not isinstance(language, str) or language.strip().lower() not in ("python", "py"):
        problems.append(f"'language' is {language!r}; evalkit runs Python code only (write \"python\")")
    if "tests" not in raw:
        problems.append("'entry_point' or 'language' given without 'tests'; give the tests the code must pass")
        return row, problems
    if "reference" in raw:
        problems.append("both 'tests' and 'reference' given; a code item's tests are its reference, keep 'tests'")
    row["reference"] = raw["tests"]
    row.setdefault("scorer", "code")
    if row["scorer"] != "code":
        problems.append(f"'tests' given with scorer {row['scorer']!r}; tests are run by scorer 'code'")
    if "entry_point" in raw:
        options = row.get("scorer_options")
        row["scorer_options"] = {**(options if isinstance(options, dict) else {}), "entry_point": raw["entry_point"]}
    return row, problems


def _validate(raw: dict[str, Any]) -> tuple[SampleRow | None, list[str]]:
    """The row and what is wrong with it; the row is None when its fields are malformed."""
    converted, code_problems = _code_item(raw)
    row, problems = _validate_row(converted)
    if "tests" in raw:  # the author wrote 'tests', not a reference: name what they wrote
        problems = [problem.replace("reference for scorer 'code'", "'tests'") for problem in problems]
    return (None if code_problems else row), code_problems + problems


def _validate_row(raw: dict[str, Any]) -> tuple[SampleRow | None, list[str]]:
    try:
        row = SampleRow.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        # Still check the scorer when its own fields are well-formed, so one pass shows all.
        if not {error["loc"][0] for error in exc.errors()} & {"scorer", "scorer_options", "reference"}:
            problems += _scorer_problems(raw.get("scorer", "exact"), raw.get("scorer_options", {}), raw["reference"])
        return None, problems
    problems = _shape_problems(row) + _scorer_problems(row.scorer, row.scorer_options, row.reference)
    return row, problems


def _scorer_problems(scorer: str, options: dict[str, Any], reference: Any) -> list[str]:
    if reference is None:
        return []  # reported as a null reference; the scorer's complaint would repeat it
    try:
        check_reference(scorer, reference, options)
    except UsageError as exc:
        return [str(exc)]
    return []


def _shape_problems(row: SampleRow) -> list[str]:
    problems = []
    if not row.id.strip():
        problems.append("'id' is empty; give each sample a unique id")
    if row.prompt is not None and row.messages is not None:
        problems.append("both 'prompt' and 'messages' given; keep one of them")
    elif row.prompt is None and row.messages is None:
        problems.append("missing 'prompt' (or 'messages'); give the text to send")
    elif row.prompt is not None and not row.prompt.strip():
        problems.append("'prompt' is empty; give the text to send")
    elif row.messages is not None and not row.messages:
        problems.append("'messages' is empty; give at least one user message")
    elif row.messages is not None and row.messages[-1].role != "user":
        problems.append(f"the last message has role {row.messages[-1].role!r}; end 'messages' with a 'user' message")
    if row.reference is None:
        problems.append("'reference' is null; give the expected answer")
    return problems + _tool_problems(row) + _environment_problems(row)


TOOL_CHOICES = ("auto", "none", "required")


def _tool_problems(row: SampleRow) -> list[str]:
    """What is wrong with the row's tools and tool_choice, as the API would refuse them."""
    if row.tools is None:
        return ["'tool_choice' given without 'tools'; offer the tools it chooses among"] if row.tool_choice else []
    problems, names = [], []
    shape = '{"type": "function", "function": {"name": "...", "parameters": {...}}}'
    for position, tool in enumerate(row.tools):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, dict) or set(tool) - {"type", "function"}:
            problems.append(f"'tools.{position}' is not a function tool; write it as {shape}")
            continue
        name = function.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"'tools.{position}.function.name' is missing; give each function a name")
        elif name in names:
            problems.append(f"'tools.{position}' repeats function {name!r}; names must be unique")
        names.append(name)
        parameters = function.get("parameters", {})
        if not isinstance(parameters, dict):
            problems.append(f"'tools.{position}.function.parameters' must be a JSON Schema object such as "
                            '{"type": "object", "properties": {...}}')
        elif problem := schema_problem(parameters):
            problems.append(f"'tools.{position}.function.parameters' is not a valid JSON Schema ({problem})")
    if not row.tools:
        problems.append("'tools' is empty; offer at least one function, or leave the field out")
    choice = row.tool_choice
    if isinstance(choice, str) and choice not in TOOL_CHOICES:
        problems.append(f"'tool_choice' is {choice!r}; use one of {', '.join(TOOL_CHOICES)} or "
                        '{"type": "function", "function": {"name": "..."}}')
    elif isinstance(choice, dict):
        chosen = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else None
        if choice.get("type") != "function" or chosen not in names:
            problems.append(f"'tool_choice' must name one of the offered functions ({', '.join(map(str, names))}) "
                            'as {"type": "function", "function": {"name": "..."}}')
    return problems


def _environment_problems(row: SampleRow) -> list[str]:
    """What keeps the row's environment from answering the model's calls."""
    environment = row.environment
    if environment is None:
        return []
    if row.tools is None:
        return ["'environment' given without 'tools'; offer the functions whose results it holds"]
    scorer = find_scorer(row.scorer)
    if scorer is not None and scorer.reads_tool_calls:
        return [f"scorer {row.scorer!r} checks the calls of one reply, but a multi-turn task is scored on its "
                "final answer; give a scorer for the answer (numeric, exact, ...)"]
    if environment.toolkit != LOOKUP:
        from evalkit.suites.registry import builtin_suites

        builtin_suites()  # built-in suites register their toolkits as they load
        if environment.toolkit not in toolkit_names():
            return [f"'environment.toolkit' is {environment.toolkit!r}; use one of {', '.join(toolkit_names())}"]
        return []
    problems = []
    offered = {tool.get("function", {}).get("name") for tool in row.tools if isinstance(tool.get("function"), dict)}
    for tool, cases in environment.data.items():
        where = f"'environment.data.{tool}'"
        if tool not in offered:
            problems.append(f"{where} answers for a function the item does not offer; add it to 'tools' or remove it")
        elif not isinstance(cases, list) or not all(
                isinstance(case, dict) and set(case) <= {"arguments", "result"} and "result" in case
                and isinstance(case.get("arguments", {}), dict) for case in cases):
            problems.append(f'{where} must be a list of {{"arguments": {{...}}, "result": ...}} cases')
    return problems


def _describe(error: Any) -> str:
    """One pydantic error as a sentence a suite author can act on."""
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"missing {where!r}; {_MISSING_HINTS.get(where, 'add it')}"
    if error["type"] == "extra_forbidden" and error["loc"][0] == "messages":
        return f"unknown field {where!r}; a message has only 'role' and 'content'"
    if error["type"] == "extra_forbidden":
        return f"unknown field {where!r}{_suggest(where, FIELDS)}; put other facts in 'metadata'"
    got = repr(error["input"])
    got = got if len(got) <= 60 else got[:57] + "..."
    return f"{where!r}: {error['msg'][0].lower()}{error['msg'][1:]}, got {got}"


def _suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word.casefold(), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"


def _to_sample(row: SampleRow, suite: str) -> Sample:
    if row.messages is not None:
        messages = tuple(message.model_dump() for message in row.messages)
    else:
        messages = ({"role": "user", "content": row.prompt or ""},)
    return Sample(
        id=row.id,
        suite=suite,
        messages=messages,
        reference=row.reference,
        scorer=row.scorer,
        scorer_options=row.scorer_options,
        cluster=row.cluster,
        metadata=row.metadata,
        params=_request_params(row),
        environment=ToolEnvironment(row.environment.toolkit, row.environment.data, row.environment.max_turns)
        if row.environment is not None else None,
    )


def _request_params(row: SampleRow) -> dict[str, Any]:
    """The item's own request parameters: its tools and tool choice, as the API spells them."""
    params: dict[str, Any] = {}
    if row.tools is not None:
        params["tools"] = row.tools
    if row.tool_choice is not None:
        params["tool_choice"] = row.tool_choice
    return params


# ---------------------------------------------------------------------------
# JSONL

_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null"}


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    # Split on "\n" only: str.splitlines would also break at U+2028 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"invalid JSON: {exc.msg} at column {exc.colno} (each line must be one complete JSON object)"
            continue
        if not isinstance(value, dict):
            kind = _JSON_TYPES.get(type(value), "a number")
            yield number, f"expected a JSON object {{...}}, got {kind}; write one sample object per line"
            continue
        yield number, value


# ---------------------------------------------------------------------------
# CSV

_JSON_COLUMNS = {"messages", "scorer_options", "metadata", "tools", "environment"}
_TRIMMED_COLUMNS = {"id", "scorer", "cluster"}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    columns = [column.strip() for column in header]
    header_problems = _header_problems(columns)
    if header_problems:
        yield from ((1, what) for what in header_problems)
        return
    previous = reader.line_num
    for cells in reader:
        # line_num is where the row ends; a quoted cell can span lines, so report where it starts.
        start, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            count = f"{len(cells)} cells but the header has {len(columns)} columns"
            yield start, f"{count}; quote cells that contain commas or line breaks"
            continue
        row, problems = _csv_row(dict(zip(columns, cells)))
        yield from ((start, what) for what in problems)
        if not problems:
            yield start, row


def _header_problems(columns: list[str]) -> list[str]:
    required = [column for column in ("id", "reference") if column not in columns
                and not (column == "reference" and "tests" in columns)]  # a code suite's reference is its tests
    problems = [f"CSV header lacks a {column!r} column; add it" for column in required]
    if "prompt" not in columns and "messages" not in columns:
        problems.append("CSV header lacks a 'prompt' (or 'messages') column; add it")
    for column in dict.fromkeys(columns):
        if columns.count(column) > 1:
            problems.append(f"CSV header repeats column {column!r}; keep one")
        elif column not in FIELDS and column not in CODE_FIELDS:
            hint = _suggest(column, [*FIELDS, *CODE_FIELDS])
            problems.append(f"CSV header has unknown column {column!r}{hint}; put other facts in 'metadata'")
    return problems


def _csv_row(cells: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    row: dict[str, Any] = {}
    problems: list[str] = []
    for column, cell in cells.items():
        if not cell.strip():
            continue  # an empty cell is an absent field, so defaults apply
        if column in _JSON_COLUMNS:
            _parse_json_cell(column, cell, row, problems)
        else:
            row[column] = cell.strip() if column in _TRIMMED_COLUMNS else cell
    if "reference" in row:
        _parse_reference_cell(row, problems)
    if str(row.get("tool_choice", "")).strip().startswith("{"):
        _parse_json_cell("tool_choice", row["tool_choice"], row, problems)
    elif "tool_choice" in row:
        row["tool_choice"] = row["tool_choice"].strip()
    return row, problems


def _parse_json_cell(column: str, cell: str, row: dict[str, Any], problems: list[str]) -> None:
    try:
        row[column] = json.loads(cell)
    except json.JSONDecodeError as exc:
        example = '[{"role": "user", "content": "..."}]' if column == "messages" else '{"key": "value"}'
        problems.append(f"column {column!r} is not valid JSON ({exc.msg}); write it like {example}")


def _parse_reference_cell(row: dict[str, Any], problems: list[str]) -> None:
    cell = row["reference"].strip()
    if cell[:1] in ("{", "["):
        try:
            row["reference"] = json.loads(cell)
        except json.JSONDecodeError as exc:
            problems.append(f"column 'reference' starts like JSON but is not valid JSON ({exc.msg}); fix the JSON")
    elif _JSON_NUMBER.fullmatch(cell) and not _compares_text(row.get("scorer", "exact")):
        row["reference"] = json.loads(cell)


def _compares_text(scorer: str) -> bool:
    # A scorer that compares text needs a reference such as "1.50" or "007" as written.
    entry = find_scorer(scorer)
    return entry is not None and entry.compares_text


_READERS: dict[str, Callable[[str], Iterator[tuple[int, dict[str, Any] | str]]]] = {
    ".jsonl": _jsonl_rows,
    ".csv": _csv_rows,
}
