"""Fixtures the test files share: a scripted server, suite and config writers, stores,
and `evalkit` as a real process.

Each writer is a fixture that returns a function, so a test can make several files
(a config, then the same config changed) in its own `tmp_path`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from evalkit import redaction
from evalkit.store.database import store_url
from evalkit.testing.scripted_server import ScriptedServer

POSTGRES_URL = os.environ.get("EVALKIT_TEST_POSTGRES_URL")
NO_POSTGRES = ("EVALKIT_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
               "(.ci/run installs and starts one)")


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """The secrets a test makes evalkit remember (the test store's password, a scripted
    key) are forgotten after it: one that is also a plain word ("evalkit") would otherwise
    mask that word in every later test's output."""
    before = set(redaction._known)
    yield
    redaction._known.clear()
    redaction._known.update(before)


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    """``scripted_server(script, api_key=...)`` starts a `ScriptedServer` on loopback and
    returns it; every server started is stopped after the test."""
    started: list[ScriptedServer] = []

    def start(script=None, **options) -> ScriptedServer:
        server = ScriptedServer(script, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def items_file(tmp_path) -> Callable[..., Path]:
    """``items_file(n)`` writes a JSONL suite of ``n`` items ``i0, i1, ...`` with prompts
    ``item 0, item 1, ...``, each answered right by ``ok``; returns its path."""

    def write(n: int, name: str = "items.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"item {i}", "reference": "ok"}) + "\n"
                                for i in range(n)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def bench_config(tmp_path) -> Callable[..., Path]:
    """``bench_config(server, suite, labels=("m",), price=(in, out), run={...}, **fields)``
    writes a benchmark YAML of one model per label, ``openai/<label>`` on the scripted
    ``server`` at ``price`` USD per 1M tokens (with ``fields`` such as max_concurrency),
    over the suite file ``suite``; returns its path."""

    def write(server: ScriptedServer, suite: Path, *, labels: Sequence[str] = ("m",),
              price: tuple[float, float] = (1.0, 1.0), run: dict | None = None, name: str = "bench.yaml",
              **fields) -> Path:
        models = [{"id": f"openai/{label}", "label": label, "api_base": server.base_url,
                   "price": {"input": price[0], "output": price[1]}, **fields} for label in labels]
        config = {"models": models, "suites": [{"name": suite.stem, "path": str(suite)}]}
        path = tmp_path / name
        path.write_text(yaml.safe_dump({**config, **({"run": run} if run else {})}, sort_keys=False),
                        encoding="utf-8")
        return path

    return write


@pytest.fixture
def store_path(tmp_path) -> Path:
    """The test's own SQLite history database (created by the first run that uses it)."""
    return tmp_path / "h.db"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL test server, dropped afterwards; without
    EVALKIT_TEST_POSTGRES_URL the test is skipped, saying so."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    admin = sa.create_engine(store_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"evalkit_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(store_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: sa.Engine, name: str, attempts: int = 20) -> None:
    """Drop a test database, closing the test's own sessions. PostgreSQL's autovacuum may be
    working in it just then, a session of the server's own that FORCE may not end: wait for
    it to finish (it is short on a database this small) and try again."""
    for attempt in range(attempts):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sa.exc.DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture(params=["sqlite", "postgres"])
def any_store_url(request, store_path) -> str:
    """A fresh store of each kind in turn: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(store_path)
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def start_evalkit() -> Callable[..., subprocess.Popen]:
    """``start_evalkit("compare", ...)`` runs `python -m evalkit` as a process of its own,
    with no provider key in its environment; stdout and stderr are piped, as text."""

    def start(*args: str, **options) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        return subprocess.Popen([sys.executable, "-m", "evalkit", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, **options)

    return start


@pytest.fixture
def older_store(tmp_path) -> Callable[[int], Path]:
    """``older_store(version)`` writes the SQLite store an evalkit of that schema version
    left: one run ``r1`` with one record (``q1``, cost $0.25), without the record columns
    later versions added; returns its path."""

    def write(version: int) -> Path:
        import sqlite3

        from evalkit.store.database import Store
        from evalkit.store.migrations import CODE_COLUMNS, SCHEMA_7_COLUMNS, TOOL_CALL_COLUMNS, TURN_COLUMNS

        added_after = {7: SCHEMA_7_COLUMNS, 8: TOOL_CALL_COLUMNS, 9: TURN_COLUMNS, 10: CODE_COLUMNS}
        path = tmp_path / "old.db"
        store = Store(str(path))
        store.start_run("r1", {"models": [], "suites": []}, "hash", "0.1.0", {})
        store.engine.dispose()
        with sqlite3.connect(path) as db:
            for later, columns in added_after.items():
                for name in columns if later > version else ():
                    db.execute(f"ALTER TABLE records DROP COLUMN {name}")
            db.execute("INSERT INTO records (run_id, model, model_id, suite, sample_id, request_hash, epoch, "
                       "score, attempts, from_cache, started_at, finished_at, cost_usd) "
                       "VALUES ('r1', 'm', 'x/m', 's', 'q1', 'h', 0, 1.0, 1, 0, 0, 0, 0.25)")
            for table in ("workloads", "run_summaries") if version < 11 else ():
                db.execute(f"DROP TABLE {table}")
            db.execute(f"UPDATE evalkit_meta SET value='{version}' WHERE key='schema_version'")
        return path

    return write
