"""The development response cache (`--cache`): replay successful answers, never errors.

Keyed on everything that shapes an answer: the model as configured, its endpoint, the
messages, every sampling parameter (seed included) and the sample and epoch, so one
model's answers can never serve another. Only complete, successful answers are stored.
Replayed records are flagged `from_cache`; their timings are the first call's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from evalkit.suites.base import Sample
from evalkit.transport.base import Attempt


class CachedCall(Protocol):
    """What the cache needs of a call besides its request hash (the runner's `Job` is one)."""

    @property
    def sample(self) -> Sample: ...

    @property
    def epoch(self) -> int: ...

DEFAULT_CACHE = "results/response-cache.db"


class ResponseCache:
    def __init__(self, path: str | Path = DEFAULT_CACHE) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, attempt TEXT NOT NULL)")
        self.hits = 0

    @staticmethod
    def key(request_hash: str, job: CachedCall) -> str:
        parts = [request_hash, job.sample.suite, job.sample.id, str(job.epoch)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def get(self, request_hash: str, job: CachedCall) -> Attempt | None:
        with self.lock:
            row = self.db.execute(
                "SELECT attempt FROM responses WHERE key = ?", (self.key(request_hash, job),)
            ).fetchone()
        if row is None:
            return None
        self.hits += 1
        return Attempt(**json.loads(row[0]))

    def put(self, request_hash: str, job: CachedCall, attempt: Attempt) -> None:
        blob = json.dumps(dataclasses.asdict(attempt), ensure_ascii=False)
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO responses (key, attempt) VALUES (?, ?)", (self.key(request_hash, job), blob)
            )
            self.db.commit()

    def close(self) -> None:
        self.db.close()
