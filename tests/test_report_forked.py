"""The forked report writer: the parent learns of the child's failure, and the GC pause
puts the collector back as it found it."""

from __future__ import annotations

import gc

import pytest

from evalkit.analysis import gc_paused
from evalkit.errors import UsageError
from evalkit.report.forked import Forked, can_fork

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork, or a single core: reports write inline")


@needs_fork
def test_the_child_writes_and_the_parent_waits(tmp_path):
    target = tmp_path / "made-by-child.txt"
    child = Forked(lambda: target.write_text("from the child"))
    assert child.wait() == len("from the child")
    assert target.read_text() == "from the child"


@needs_fork
def test_a_large_result_comes_back_whole():
    # more than a pipe holds at once: the child blocks until the parent reads
    child = Forked(lambda: ["x" * 100_000, {"key": list(range(50_000))}])
    text, data = child.wait()
    assert text == "x" * 100_000 and data["key"][-1] == 49_999


@needs_fork
def test_the_childs_error_is_raised_in_the_parent():
    def fail() -> None:
        raise UsageError("the PDF could not be written")

    child = Forked(fail)
    with pytest.raises(UsageError, match="could not be written"):
        child.wait()


@needs_fork
def test_an_error_that_cannot_be_pickled_still_reaches_the_parent():
    class Local(Exception):  # a local class cannot be pickled
        pass

    def fail() -> None:
        raise Local("odd failure")

    child = Forked(fail)
    with pytest.raises(RuntimeError, match="Local: odd failure"):
        child.wait()


def test_gc_pause_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outer one
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()
