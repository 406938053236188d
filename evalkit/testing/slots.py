"""A scripted server with a fixed number of serving slots, for capacity tests.

`SlottedScript` is a callable script for `ScriptedServer`: a request holds one of
``slots`` slots for its whole service time (``ttft + (deltas - 1) × token_delay``);
requests beyond the slots queue, first come first served, and the wait is added to their
TTFT. Throughput is then known by hand: with c requests kept in flight, a closed loop
gets ``min(c, slots) / service_time`` requests per second (plus the client's own overhead
per request), and TTFT grows by the queueing once c > slots, which gives the sweep its knee.
The scripted server itself is untouched: the queue is computed, not slept in a lock.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from evalkit.testing.scripted_server import ReceivedRequest, Reply


class SlottedScript:
    def __init__(self, reply: Reply, slots: int) -> None:
        self.reply = reply
        self.slots = slots
        self._free_at = [0.0] * slots
        self._lock = threading.Lock()

    @property
    def service_time(self) -> float:
        """Seconds one request holds its slot: first delta, then one gap per further delta."""
        deltas = len(self.reply.content_chunks())
        return self.reply.ttft + max(deltas - 1, 0) * self.reply.token_delay

    def __call__(self, request: ReceivedRequest) -> Reply:
        arrived = request.arrived_perf
        with self._lock:
            slot = min(range(self.slots), key=self._free_at.__getitem__)
            start = max(arrived, self._free_at[slot])
            self._free_at[slot] = start + self.service_time
        return replace(self.reply, ttft=self.reply.ttft + (start - arrived))
