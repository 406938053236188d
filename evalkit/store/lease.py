"""Run leases: one process at a time executes a run, or one shard of it.

A run being executed holds a lease row in the store (SQLite and PostgreSQL alike): who
holds it (host, pid and a random token), since when, a heartbeat that a background thread
renews every `HEARTBEAT_S`, and an expiry `TTL_S` after the last heartbeat. A second
process that wants the same run (``--resume``) is refused while the lease is live, and
told who holds it and since when. A lease whose heartbeat stopped is stale and is taken
over, with a line saying so: on the holder's own machine as soon as its pid is gone
(``kill -9``), elsewhere once it expires. Times are read from the store's clock, so
machines whose clocks disagree still agree on what has expired.

An unsharded run's lease covers the whole run (shard `WHOLE_RUN`); a shard's covers that
shard, and conflicts with a whole-run lease of the same run, so a resume cannot start
while shards are still running.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from evalkit.errors import UsageError
from evalkit.store.database import Store, leases_table

TTL_S = 60.0
"""Seconds after its last heartbeat that a lease expires."""
HEARTBEAT_S = 10.0
"""Seconds between heartbeats: several chances to renew before the lease could expire."""
WHOLE_RUN = 0
"""The shard number of a lease on a whole (unsharded) run; shards are numbered from 1."""


class RunHeld(UsageError):
    """The run is being executed by another process whose lease is live."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lease."""

    run_id: str
    shard: int
    host: str
    pid: int
    token: str
    acquired_at: float
    heartbeat_at: float
    expires_at: float

    def describe(self, now: float) -> str:
        """``gpu-box (pid 4242) since 2026-03-01 09:49:37, last heartbeat 3 s ago``."""
        part = f" shard {self.shard}" if self.shard != WHOLE_RUN else ""
        return (f"{self.host} (pid {self.pid}){part} since {_clock(self.acquired_at)}, "
                f"last heartbeat {max(0.0, now - self.heartbeat_at):.0f} s ago")

    def gone(self, now: float) -> str | None:
        """Why the holder is no longer running the run, or None while it may be."""
        if self.host == socket.gethostname() and self.pid != os.getpid() and not _pid_alive(self.pid):
            return "its process is gone"
        if self.expires_at <= now:
            return (f"its heartbeat stopped {now - self.heartbeat_at:.0f} s ago "
                    f"(the lease expired {self.ttl:.0f} s after the last one)")
        return None

    @property
    def ttl(self) -> float:
        return self.expires_at - self.heartbeat_at


class Lease:
    """This process's claim on a run (or a shard of it), renewed while it runs.

    Use it as a context manager: ``acquire`` on entry (raises `RunHeld` if another live
    holder has it; returns the stale holders it took over), heartbeats while inside,
    ``release`` on exit. ``lost`` turns True if another process took it over meanwhile.
    """

    def __init__(self, store: Store, run_id: str, shard: int = WHOLE_RUN,
                 ttl: float = TTL_S, heartbeat: float = HEARTBEAT_S) -> None:
        self.store, self.run_id, self.shard = store, run_id, shard
        self.ttl, self.heartbeat = ttl, heartbeat
        self.token = secrets.token_hex(16)
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> list[Holder]:
        """Take the lease, or raise `RunHeld` naming the live holder; stale leases in the
        way are removed and returned, so the caller can say whose run it took over."""
        with self.store.engine.begin() as conn:
            _serialise(conn, self.run_id)
            now = store_now(conn)
            holders = [_holder(row) for row in conn.execute(self._conflicts())]
            live = [h for h in holders if h.gone(now) is None]
            if live:
                raise RunHeld(
                    f"run {self.run_id} is being run by {live[0].describe(now)}; wait for it to finish "
                    f"or stop that process (its lease is taken over once its heartbeat has stopped for "
                    f"{live[0].ttl:.0f} s, or at once on its own machine when its process is gone)")
            for holder in holders:
                conn.execute(sa.delete(leases_table).where(leases_table.c.token == holder.token))
            conn.execute(sa.insert(leases_table).values(
                run_id=self.run_id, shard=self.shard, host=socket.gethostname(), pid=os.getpid(),
                token=self.token, acquired_at=now, heartbeat_at=now, expires_at=now + self.ttl))
        self._thread = threading.Thread(target=self._beat, name="evalkit-lease", daemon=True)
        self._thread.start()
        return holders

    def _conflicts(self) -> sa.Select:
        query = sa.select(leases_table).where(leases_table.c.run_id == self.run_id)
        if self.shard != WHOLE_RUN:
            query = query.where(leases_table.c.shard.in_([self.shard, WHOLE_RUN]))
        return query

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                with self.store.engine.begin() as conn:
                    now = store_now(conn)
                    renewed = conn.execute(
                        sa.update(leases_table).where(leases_table.c.token == self.token)
                        .values(heartbeat_at=now, expires_at=now + self.ttl)).rowcount
            except sa.exc.SQLAlchemyError:
                continue  # the store is briefly unreachable: the next beat tries again
            if not renewed:
                self.lost = True
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self.store.engine.begin() as conn:
            conn.execute(sa.delete(leases_table).where(leases_table.c.token == self.token))

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def live_holders(store: Store, run_id: str) -> list[Holder]:
    """The live leases on a run: non-empty while some process is running it."""
    with store.engine.connect() as conn:
        now = store_now(conn)
        rows = conn.execute(sa.select(leases_table).where(leases_table.c.run_id == run_id)).all()
    return [h for h in map(_holder, rows) if h.gone(now) is None]


def takeover_line(run_id: str, holders: list[Holder], now: float) -> str:
    """What to tell the user when `Lease.acquire` took over stale leases."""
    whose = "; ".join(f"{h.describe(now)} — {h.gone(now) or 'stale'}" for h in holders)
    return f"Taking over run {run_id} from {whose}."


def store_now(conn: sa.Connection) -> float:
    """Seconds since the epoch by the store's clock (this machine's for SQLite)."""
    name = conn.dialect.name
    if name == "postgresql":
        return float(conn.execute(sa.text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    if name == "sqlite":
        return float(conn.execute(sa.text("SELECT (julianday('now') - 2440587.5) * 86400.0")).scalar_one())
    import time

    return time.time()


def _serialise(conn: sa.Connection, run_id: str) -> None:
    """Make lease acquisitions of one run take turns, so two cannot both see it free."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"evalkit-lease:{run_id}"})
    else:
        # A write as the transaction's first statement takes SQLite's write lock at once,
        # before the read that decides (a read first would let two readers both decide).
        conn.execute(sa.update(leases_table).where(leases_table.c.run_id == run_id)
                     .values(run_id=leases_table.c.run_id))


def _holder(row: sa.Row) -> Holder:
    return Holder(row.run_id, row.shard, row.host, row.pid, row.token, row.acquired_at,
                  row.heartbeat_at, row.expires_at)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # a killed process its parent has not reaped yet is a zombie: gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _clock(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
