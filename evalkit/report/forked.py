"""Run one piece of report making in a forked child while the parent does the rest.

Much of a report's time goes to work of a fixed size that splits cleanly: drawing the
charts (matplotlib lays out each one twice, about 2 s for all) and the PDF (svglib
converts every chart, reportlab lays out every page: about 1.5 s), which shares nothing
with the HTML and Markdown once content, fonts and charts exist. A forked child has all
the parent's data and imports already, without pickling, so with a second core that work
costs little wall time. Where fork is unsafe or missing (macOS, Windows) or there is one
core, the caller does the work itself.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from typing import Any


def can_fork() -> bool:
    """Whether `Forked` may be used: Linux (fork is safe there with the libraries a report
    uses) and more than one core to run the child on."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    return len(os.sched_getaffinity(0)) > 1


class Forked:
    """``work()`` running in a forked child; `wait` returns what it returned (pickled
    back), or raises the child's exception. Always call `wait`, or the child is never
    reaped."""

    def __init__(self, work: Callable[[], Any]) -> None:
        reader, writer = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            os.close(reader)
            _run_child(work, writer)
        os.close(writer)
        self._reader = reader

    def wait(self) -> Any:
        with os.fdopen(self._reader, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if not payload:  # killed before it could report
            raise RuntimeError(f"the forked report writer ended with exit code {code}")
        failed, value, text = pickle.loads(payload)
        if not failed:
            return value
        try:
            error = pickle.loads(value)
        except Exception:  # e.g. an exception class that cannot be rebuilt from its args
            error = RuntimeError(text)
        raise error


def _run_child(work: Callable[[], Any], writer: int) -> None:
    code = 0
    try:
        payload = pickle.dumps((False, work(), ""))
    except BaseException as exc:  # sent to the parent, which raises it
        code = 1
        text = f"{type(exc).__name__}: {exc}"
        try:
            pickled = pickle.dumps(exc)
        except Exception:  # an exception that cannot be pickled: its text will do
            pickled = pickle.dumps(RuntimeError(text))
        payload = pickle.dumps((True, pickled, text))
    try:
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
    finally:
        # No atexit handlers, no flushing of buffers copied from the parent, no closing
        # of the parent's database connections: the child only wrote its file.
        os._exit(code)
