"""A run being executed holds a lease, on SQLite and PostgreSQL alike: a second process
resuming it is refused, saying who holds it and since when; a lease left by a killed
process (`kill -9`) or by a machine whose heartbeat stopped is taken over, saying so.

The two-process tests run real `evalkit compare` subprocesses against a scripted server
that holds every answer until the test lets it go, so the first process is mid-run for as
long as the test needs. The PostgreSQL cases need EVALKIT_TEST_POSTGRES_URL (see
tests/test_team_store.py); without it they are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from evalkit.store.lease import Lease, RunHeld, live_holders
from evalkit.store.database import Store, leases_table, store_url
from evalkit.testing.scripted_server import Reply, ScriptedServer

ITEMS = 12
POSTGRES_URL = os.environ.get("EVALKIT_TEST_POSTGRES_URL")
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="EVALKIT_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against "
                             "(.ci/run installs and starts one)"))]


@pytest.fixture(params=STORES)
def store_url_for_test(request, tmp_path):
    """A fresh store: a SQLite file, or a new database on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield str(tmp_path / "h.db")
        return
    admin = sa.create_engine(store_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"evalkit_test_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(store_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class HeldServer:
    """A scripted server whose answers wait until `release()`: the run stays mid-flight."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.server = ScriptedServer(self._answer)

    def _answer(self, request):
        self.gate.wait(60)
        return Reply("ok")

    def release(self) -> None:
        self.gate.set()

    def __enter__(self) -> HeldServer:
        self.server.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
        self.server.stop()


def write_config(tmp_path, server):
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"item {i}", "reference": "ok"}) + "\n"
                             for i in range(ITEMS)), encoding="utf-8")
    path = tmp_path / "bench.yaml"
    path.write_text(f"""
models:
  - id: openai/scripted
    label: m
    api_base: {server.base_url}
    price: {{input: 1.0, output: 1.0}}
    max_concurrency: 2
suites:
  - {{name: items, path: {items}}}
run: {{retries: 0}}
""", encoding="utf-8")
    return path


def evalkit(*args):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.Popen([sys.executable, "-m", "evalkit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_until(condition, process, deadline=120.0):
    started = time.monotonic()
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - started < deadline, "timed out"
        time.sleep(0.05)


def query(url, sql):
    engine = sa.create_engine(store_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql))
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def test_resuming_a_run_another_process_is_running_is_refused(tmp_path, store_url_for_test):
    url = store_url_for_test
    with HeldServer() as held:
        common = ["--store", url, "--results-dir", str(tmp_path / "results"), "-q"]
        first = evalkit("compare", "-c", str(write_config(tmp_path, held.server)), *common)
        wait_until(lambda: held.server.chat_requests(), first)  # mid-run, holding its lease
        (run_id,), = query(url, "select run_id from runs")
        second = evalkit("compare", "--resume", run_id, *common)
        out, err = second.communicate(timeout=120)
        sent_while_refused = len(held.server.chat_requests())
        held.release()
        first_out, first_err = first.communicate(timeout=120)
    assert second.returncode == 2, out + err
    assert err.startswith(f"error: run {run_id} is being run by {socket.gethostname()} (pid {first.pid}) since ")
    assert "last heartbeat" in err and len(err.strip().splitlines()) == 1
    assert sent_while_refused <= 2  # the first's concurrency: the second sent nothing
    assert first.returncode == 0, first_err
    counts = {}
    for request in held.server.chat_requests():
        counts[request.prompt] = counts.get(request.prompt, 0) + 1
    assert counts == {f"item {i}": 1 for i in range(ITEMS)}
    assert query(url, "select count(*), count(distinct sample_id) from records") == [(ITEMS, ITEMS)]
    assert query(url, "select status from runs") == [("finished",)]
    assert query(url, "select count(*) from run_leases") == [(0,)]  # released at the end


def test_a_lease_left_by_a_killed_process_is_taken_over(tmp_path, store_url_for_test):
    url = store_url_for_test
    with HeldServer() as held:
        common = ["--store", url, "--results-dir", str(tmp_path / "results"), "-q"]
        first = evalkit("compare", "-c", str(write_config(tmp_path, held.server)), *common)
        wait_until(lambda: held.server.chat_requests(), first)
        first.send_signal(signal.SIGKILL)
        first.wait()
        held.release()
        (run_id,), = query(url, "select run_id from runs")
        second = evalkit("compare", "--resume", run_id, *common)
        out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert f"Taking over run {run_id} from {socket.gethostname()} (pid {first.pid}) since " in out
    assert "its process is gone" in out
    assert query(url, "select count(*), count(distinct sample_id) from records") == [(ITEMS, ITEMS)]
    assert query(url, "select status from runs") == [("finished",)]


def finished_run(tmp_path, url):
    with ScriptedServer(Reply("ok")) as server:
        run = subprocess.run([sys.executable, "-m", "evalkit", "compare", "-c", str(write_config(tmp_path, server)),
                              "--store", url, "--results-dir", str(tmp_path / "results"), "-q"],
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (run_id,), = query(url, "select run_id from runs")
    return run_id


def plant_lease(url, run_id, host, heartbeat_age, ttl=60.0):
    engine = sa.create_engine(store_url(url))
    now = time.time()
    with engine.begin() as conn:
        conn.execute(sa.insert(leases_table).values(
            run_id=run_id, shard=0, token=secrets.token_hex(16), host=host, pid=4242,
            acquired_at=now - heartbeat_age - 5, heartbeat_at=now - heartbeat_age,
            expires_at=now - heartbeat_age + ttl))
    engine.dispose()


def test_another_machines_lease_holds_while_its_heartbeat_is_fresh_and_is_taken_over_once_expired(
        tmp_path, store_url_for_test):
    url = store_url_for_test
    run_id = finished_run(tmp_path, url)
    plant_lease(url, run_id, "gpu-box-7", heartbeat_age=3)
    with ScriptedServer(Reply("ok")) as server:
        held = subprocess.run([sys.executable, "-m", "evalkit", "compare", "--resume", run_id, "--store", url,
                               "-q", "--results-dir", str(tmp_path / "results")],
                              capture_output=True, text=True, timeout=120)
        assert held.returncode == 2 and "is being run by gpu-box-7 (pid 4242) since " in held.stderr
        query(url, "delete from run_leases")
        plant_lease(url, run_id, "gpu-box-7", heartbeat_age=90)
        taken = subprocess.run([sys.executable, "-m", "evalkit", "compare", "--resume", run_id, "--store", url,
                                "-q", "--results-dir", str(tmp_path / "results")],
                               capture_output=True, text=True, timeout=120)
        assert server.chat_requests() == []  # everything was already done
    assert taken.returncode == 0, taken.stderr
    assert f"Taking over run {run_id} from gpu-box-7 (pid 4242)" in taken.stdout
    assert re.search(r"its heartbeat stopped 9\d s ago \(the lease expired 60 s after the last one\)", taken.stdout)


def test_the_heartbeat_keeps_a_lease_live_and_a_stopped_one_expires(store_url_for_test):
    store = Store(store_url_for_test)
    holder = Lease(store, "r1", ttl=1.0, heartbeat=0.2)
    holder.acquire()
    time.sleep(1.5)  # longer than the time to live: only the heartbeat keeps it
    with pytest.raises(RunHeld, match=r"run r1 is being run by .* \(pid \d+\) since "):
        Lease(store, "r1").acquire()
    assert len(live_holders(store, "r1")) == 1
    holder._stop.set()  # the heartbeat stops, as when the machine hangs; the row stays
    holder._thread.join()
    time.sleep(1.3)
    assert live_holders(store, "r1") == []
    taker = Lease(store, "r1", ttl=1.0, heartbeat=0.2)
    stale = taker.acquire()
    assert [h.token for h in stale] == [holder.token] and "heartbeat stopped" in stale[0].gone(time.time())
    holder._stop.clear()  # the old holder wakes up: its next beat finds the lease gone
    holder._thread = threading.Thread(target=holder._beat, daemon=True)
    holder._thread.start()
    deadline = time.monotonic() + 5
    while not holder.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holder.lost
    holder.release()  # releases nothing of the new holder's
    assert [h.token for h in live_holders(store, "r1")] == [taker.token]
    taker.release()


def test_shard_leases_conflict_only_with_their_own_shard_and_the_whole_run(store_url_for_test):
    store = Store(store_url_for_test)
    one, two = Lease(store, "team", shard=1), Lease(store, "team", shard=2)
    one.acquire()
    two.acquire()  # another shard of the same run: no conflict
    with pytest.raises(RunHeld, match="shard 1"):
        Lease(store, "team", shard=1).acquire()
    with pytest.raises(RunHeld):
        Lease(store, "team").acquire()  # a resume of the whole run waits for every shard
    one.release()
    two.release()
    whole = Lease(store, "team")
    whole.acquire()
    with pytest.raises(RunHeld):
        Lease(store, "team", shard=3).acquire()
    whole.release()


def test_a_plain_rerun_never_offers_to_resume_a_run_some_process_is_running(tmp_path, store_url_for_test):
    from evalkit.run import resume

    url = store_url_for_test
    run_id = finished_run(tmp_path, url)
    query(url, "update runs set status = 'running'")  # as a run mid-flight, or one whose process died
    store = Store(url)
    plan = resume.plan_for_resume(store.run(run_id))
    plant_lease(url, run_id, "gpu-box-7", heartbeat_age=3)
    assert resume.find_resumable(plan, store) is None  # being run: not interrupted
    query(url, "delete from run_leases")
    plant_lease(url, run_id, "gpu-box-7", heartbeat_age=90)
    assert resume.find_resumable(plan, store).run_id == run_id  # its holder is gone: offer it
