"""Hold off Python's cyclic garbage collector while a run is analysed and its reports are made.

Analysing a run and writing its reports allocate millions of objects that stay alive to
the end: the records, a row per answer shown, paragraphs, chart drawings. CPython's
generational collector re-walks every live object in each full collection, and the
allocations trigger about ten of them on 100,000 records: two seconds spent finding no
garbage. Reference counting still frees almost everything at once; the few cycles made
meanwhile (closed matplotlib figures) wait for the collector to run again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; re-enable it after, if it was on.

    Nested blocks leave it to the outermost one to turn collection back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
