"""A run being executed holds a lease, on SQLite and PostgreSQL alike: a second process
resuming it is refused, saying who holds it and since when; a lease left by a killed
process (`kill -9`) or by a machine whose heartbeat stopped is taken over, saying so.

The two-process tests run real `evalkit compare` subprocesses against a scripted server
that holds every answer until the test lets it go, so the first process is mid-run for as
long as the test needs. The PostgreSQL cases need EVALKIT_TEST_POSTGRES_URL (see
tests/conftest.py); without it they are skipped, saying so.
"""

from __future__ import annotations

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

from evalkit.store import Store, store_url
from evalkit.store.lease import Lease, RunHeld, live_holders
from evalkit.store.schema import leases_table
from evalkit.testing.scripted_server import Reply, ScriptedServer

ITEMS = 12


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


@pytest.fixture
def write_config(bench_config, items_file):
    """``write_config(server)``: a benchmark of ITEMS items, two calls at a time, on ``server``."""
    return lambda server: bench_config(server, items_file(ITEMS), max_concurrency=2, run={"retries": 0})


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


def test_resuming_a_run_another_process_is_running_is_refused(tmp_path, any_store_url, write_config, start_evalkit):
    url = any_store_url
    with HeldServer() as held:
        common = ["--store", url, "--results-dir", str(tmp_path / "results"), "-q"]
        first = start_evalkit("compare", "-c", str(write_config(held.server)), *common)
        wait_until(lambda: held.server.chat_requests(), first)  # mid-run, holding its lease
        (run_id,), = query(url, "select run_id from runs")
        second = start_evalkit("compare", "--resume", run_id, *common)
        out, err = second.communicate(timeout=120)
        sent_while_refused = len(held.server.chat_requests())
        held.release()
        _, first_err = first.communicate(timeout=120)
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


def test_a_lease_left_by_a_killed_process_is_taken_over(tmp_path, any_store_url, write_config, start_evalkit):
    url = any_store_url
    with HeldServer() as held:
        common = ["--store", url, "--results-dir", str(tmp_path / "results"), "-q"]
        first = start_evalkit("compare", "-c", str(write_config(held.server)), *common)
        wait_until(lambda: held.server.chat_requests(), first)
        first.send_signal(signal.SIGKILL)
        first.wait()
        held.release()
        (run_id,), = query(url, "select run_id from runs")
        second = start_evalkit("compare", "--resume", run_id, *common)
        out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert f"Taking over run {run_id} from {socket.gethostname()} (pid {first.pid}) since " in out
    assert "its process is gone" in out
    assert query(url, "select count(*), count(distinct sample_id) from records") == [(ITEMS, ITEMS)]
    assert query(url, "select status from runs") == [("finished",)]


@pytest.fixture
def finished_run(tmp_path, scripted_server, write_config, start_evalkit):
    """``finished_run(url)``: the id of a run of the benchmark, finished into the store at ``url``."""

    def run(url):
        done = start_evalkit("compare", "-c", str(write_config(scripted_server(Reply("ok")))), "--store", url,
                             "--results-dir", str(tmp_path / "results"), "-q")
        _, err = done.communicate(timeout=120)
        assert done.returncode == 0, err
        (run_id,), = query(url, "select run_id from runs")
        return run_id

    return run


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
        tmp_path, any_store_url, finished_run):
    url = any_store_url
    run_id = finished_run(url)
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


def test_the_heartbeat_keeps_a_lease_live_and_a_stopped_one_expires(any_store_url):
    store = Store(any_store_url)
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


def test_shard_leases_conflict_only_with_their_own_shard_and_the_whole_run(any_store_url):
    store = Store(any_store_url)
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


def test_a_plain_rerun_never_offers_to_resume_a_run_some_process_is_running(any_store_url, finished_run):
    from evalkit.run import resume

    url = any_store_url
    run_id = finished_run(url)
    query(url, "update runs set status = 'running'")  # as a run mid-flight, or one whose process died
    store = Store(url)
    plan = resume.plan_for_resume(store.run(run_id))
    plant_lease(url, run_id, "gpu-box-7", heartbeat_age=3)
    assert resume.find_resumable(plan, store) is None  # being run: not interrupted
    query(url, "delete from run_leases")
    plant_lease(url, run_id, "gpu-box-7", heartbeat_age=90)
    assert resume.find_resumable(plan, store).run_id == run_id  # its holder is gone: offer it
