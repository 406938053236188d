"""`RecordWriter`: records committed from a background thread, in arrival order.

The event loop that times calls must never wait on the disk: it hands each finished
record, and each call about to be sent, to this writer, whose thread commits them in
batches (`Store.write_batch`). A record is durable once its batch commits.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from typing import NamedTuple

from evalkit.store.database import Store
from evalkit.store.records import CallKey, CallRecord


class _Mark(NamedTuple):
    """A call to journal before it is sent, and the future its sender waits on."""

    run_id: str
    key: CallKey
    done: concurrent.futures.Future


class RecordWriter:
    """Commits records and sent-call marks from a background thread, in arrival order.

    `put` never blocks the event loop on the disk; `close` waits until every record put so
    far is committed, and re-raises the first write error.
    """

    _STOP = object()
    BATCH = 100
    """Most items committed in one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.written = 0
        self.thread = threading.Thread(target=self._loop, name="evalkit-record-writer", daemon=True)
        self.thread.start()

    def put(self, record: CallRecord) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(record)

    def mark_sent(self, run_id: str, key: CallKey) -> concurrent.futures.Future:
        """Journal a call before it is sent; the future resolves once that is committed."""
        done: concurrent.futures.Future = concurrent.futures.Future()
        self.queue.put(_Mark(run_id, key, done))
        return done

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            # Whatever else is waiting goes in the same transaction: under load one commit
            # serves many calls, and with one call at a time nothing waits for a batch.
            while len(batch) < self.BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            stop = self._STOP in batch
            self._write([item for item in batch if item is not self._STOP])
            if stop:
                return

    def _write(self, batch: list[_Mark | CallRecord]) -> None:
        marks = [item for item in batch if isinstance(item, _Mark)]
        records = [item for item in batch if not isinstance(item, _Mark)]
        # Marks first, in their own commit: each holds a call back until it is journalled,
        # so it must not also wait for the (larger) records behind it.
        if marks:
            try:
                self.store.write_batch([(mark.run_id, mark.key) for mark in marks], [])
            except BaseException as exc:
                for mark in marks:
                    mark.done.set_exception(exc)
            else:
                for mark in marks:
                    mark.done.set_result(None)
        if records:
            try:
                self.store.write_batch([], records)
            except BaseException as exc:  # surfaced to the caller on the next put/close
                self.error = exc
                return
            self.written += len(records)

    def close(self) -> None:
        self.queue.put(self._STOP)
        self.thread.join()
        if self.error is not None:
            raise self.error
