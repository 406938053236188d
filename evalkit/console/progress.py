"""The progress bar shown while a run works: calls done, errors so far, time left."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from evalkit.store.records import CallRecord


@contextlib.contextmanager
def progress_bar(total: int, console: Console, disabled: bool = False) -> Iterator[Callable[[CallRecord], None]]:
    """Yields the callback to call once per finished record."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors: {task.fields[errors]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disabled,
        transient=True,
    )
    task = progress.add_task("calls", total=total, errors=0)
    errors = 0

    def advance(record: CallRecord) -> None:
        nonlocal errors
        errors += record.error_class is not None
        progress.update(task, advance=1, errors=errors)

    with progress:
        yield advance
