"""The log formats `evalkit workload import` reads, telling them apart, and reading a file
line by line into `LogEntry`s.

A file is streamed, never read whole. With ``auto`` the first non-blank line decides the
format (a litellm payload, an OpenRouter generation record, an OpenAI-format line, or a
CSV header), and every line is then read as that format. Each bad line is collected as
``path:line: field: what is wrong (how to fix it)``; the reader keeps going, so one report
lists them all (the first `MAX_ERRORS`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from evalkit.errors import UsageError
from evalkit.workload import csv_log, litellm_log, openai_jsonl, openrouter
from evalkit.workload.entry import LineProblem, LogEntry

JSON_READERS = {reader.NAME: reader for reader in (litellm_log, openrouter, openai_jsonl)}
"""In the order ``auto`` tries them: the most specific shape first."""
FORMATS = (openai_jsonl.NAME, litellm_log.NAME, openrouter.NAME, csv_log.NAME)
MAX_ERRORS = 20


def report(shown: str, problems: list[str]) -> str:
    lines = problems[:MAX_ERRORS]
    if len(problems) > MAX_ERRORS:
        lines.append(f"and {len(problems) - MAX_ERRORS} more errors in {shown}")
    return f"{len(problems)} bad line(s) in {shown}, nothing stored:\n" + "\n".join(lines)


def _text_lines(path: Path, shown: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line, decoded as UTF-8 (a BOM is dropped)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file; check the path") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory; give a .jsonl or .csv log file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if b"\x00" in raw:
                raise UsageError(f"{shown}:{number}: binary data (a NUL byte), not a text log; "
                                 "give a JSONL or CSV file (decompress it first)")
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                raise UsageError(f"{shown}:{number}: not UTF-8 text (byte {error.start + 1} of the line); "
                                 "convert the file to UTF-8") from None
            if text.strip():
                yield number, text


def _json_object(text: str) -> dict | None:
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def detect(first: str, shown: str, number: int) -> str:
    """The format of a log whose first non-blank line is ``first``."""
    record = _json_object(first)
    if record is not None:
        for name, reader in JSON_READERS.items():
            if reader.looks_like(record):
                return name
    elif csv_log.looks_like(next(csv.reader([first]), [])):
        return csv_log.NAME
    tried = "; ".join(f"{reader.NAME} ({reader.SHAPE})" for reader in (*JSON_READERS.values(), csv_log))
    raise UsageError(f"{shown}:{number}: not a log format evalkit reads; tried {tried}. "
                     "Give --format to read it as one of them and see what is missing")


class LogReader:
    """Reads one log file into entries; bad lines go to `problems` instead of stopping it."""

    def __init__(self, path: str | Path, fmt: str = "auto") -> None:
        self.path, self.shown = Path(path), str(path)
        if fmt != "auto" and fmt not in FORMATS:
            raise UsageError(f"unknown log format {fmt!r}; use one of auto, {', '.join(FORMATS)}")
        self.requested = fmt
        self.format: str | None = None
        self.problems: list[str] = []

    def entries(self) -> Iterator[tuple[int, LogEntry]]:
        lines = _text_lines(self.path, self.shown)
        first = next(lines, None)
        if first is None:
            raise UsageError(f"{self.shown}: empty: no requests in it; give a log with at least one request")
        number, text = first
        self.format = detect(text, self.shown, number) if self.requested == "auto" else self.requested
        restored = _chain(first, lines)
        if self.format == csv_log.NAME:
            yield from self._csv(restored)
        else:
            yield from self._json(restored, JSON_READERS[self.format].read)

    def _problem(self, number: int, text: str) -> None:
        self.problems.append(f"{self.shown}:{number}: {text}")

    def _json(self, lines: Iterator[tuple[int, str]],
              read: Callable[[dict], LogEntry]) -> Iterator[tuple[int, LogEntry]]:
        for number, text in lines:
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                self._problem(number, f"not JSON ({error.msg} at column {error.colno}); "
                                      "give one JSON object per line")
                continue
            if not isinstance(record, dict):
                self._problem(number, f"a JSON {type(record).__name__}, not an object; give one object per line")
                continue
            try:
                yield number, read(record)
            except LineProblem as problem:
                self._problem(number, str(problem))

    def _csv(self, lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, LogEntry]]:
        numbers: list[int] = []

        def texts() -> Iterator[str]:
            for number, text in lines:
                numbers.append(number)
                yield text

        rows = csv.reader(texts())
        header = next(rows)
        names = csv_log.check_header(header, f"{self.shown}:{numbers[0]}")
        for cells in rows:
            number = numbers[-1] if numbers else 0
            try:
                yield number, csv_log.read(names, cells)
            except LineProblem as problem:
                self._problem(number, str(problem))


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest
