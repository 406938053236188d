"""Reader of CSV token logs: one request per row, under a header row.

Columns (names are matched without regard to case or surrounding spaces; others are
ignored): ``prompt_tokens`` and ``completion_tokens`` (required), ``timestamp`` (unix
seconds or ISO 8601), ``cached_tokens`` (cached prompt tokens; an empty cell means not
reported) and ``model``.
"""

from __future__ import annotations

from evalkit.errors import UsageError
from evalkit.workload import entry as fields
from evalkit.workload.entry import LineProblem, LogEntry

NAME = "csv"
REQUIRED = ("prompt_tokens", "completion_tokens")
OPTIONAL = ("timestamp", "cached_tokens", "model")
SHAPE = "CSV with a header naming prompt_tokens and completion_tokens"


def columns(header: list[str]) -> list[str]:
    return [name.strip().lower() for name in header]


def looks_like(header: list[str]) -> bool:
    return all(name in columns(header) for name in REQUIRED)


def check_header(header: list[str], where: str) -> list[str]:
    """The header's column names; a UsageError naming a required column that is missing."""
    names = columns(header)
    for required in REQUIRED:
        if required not in names:
            raise UsageError(f"{where}: the CSV header has no {required!r} column (it has: {', '.join(names)}); "
                             f"name the columns {', '.join(REQUIRED)} (required) and {', '.join(OPTIONAL)} (optional)")
    return names


def read(names: list[str], cells: list[str]) -> LogEntry:
    if len(cells) != len(names):
        raise LineProblem("row", f"{len(cells)} cells under a header of {len(names)} columns",
                          "give one cell per column; quote cells that hold commas")
    row = dict(zip(names, cells, strict=True))
    entry = LogEntry(prompt_tokens=fields.count(row["prompt_tokens"], "prompt_tokens", required=True),
                     completion_tokens=fields.count(row["completion_tokens"], "completion_tokens", required=True),
                     cached_tokens=fields.count(row.get("cached_tokens"), "cached_tokens"),
                     timestamp=fields.timestamp(row.get("timestamp"), "timestamp"),
                     model=row.get("model") or None)
    return fields.checked(entry, "cached_tokens")
