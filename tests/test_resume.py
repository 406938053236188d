"""Resume, exactly once: SIGKILL a real `evalkit compare` at random moments, resume it, and
count at the server how often each item was requested.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import time

import pytest

from evalkit.testing.scripted_server import Reply

TRIALS = int(os.environ.get("EVALKIT_KILL_TRIALS", "3"))
ITEMS = 24


@pytest.fixture
def write_config(bench_config):
    def write(server, suite, temperature=0.0):
        return bench_config(server, suite, max_concurrency=4, run={"temperature": temperature, "retries": 0})

    return write


def rows(db_path, query):
    with sqlite3.connect(db_path) as db:
        return db.execute(query).fetchall()


def wait_for_first_send(db_path, process, deadline=60.0):
    started = time.monotonic()
    while time.monotonic() - started < deadline and process.poll() is None:
        try:
            sent = rows(db_path, "select count(*) from inflight")[0][0]
            if sent or rows(db_path, "select count(*) from records")[0][0]:
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.02)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_then_resume_requests_every_completed_item_exactly_once(
        tmp_path, trial, scripted_server, items_file, write_config, store_path, start_evalkit):
    rng = random.Random(trial)
    delays = {f"item {i}": rng.uniform(0.05, 0.3) for i in range(ITEMS)}
    server = scripted_server(lambda request: Reply("ok", ttft=delays[request.prompt]))
    db = store_path
    common = ["--store", str(db), "--results-dir", str(tmp_path / "results"), "-q"]
    first = start_evalkit("compare", "-c", str(write_config(server, items_file(ITEMS))), *common)
    wait_for_first_send(db, first)
    time.sleep(rng.uniform(0.0, 0.8))  # the whole run takes about 1.1 s
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = {r[0] for r in rows(db, "select sample_id from records where error_class is null")}
    (run_id,), = rows(db, "select run_id from runs")

    second = start_evalkit("compare", "--resume", run_id, *common)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    counts = {}
    for request in server.chat_requests():
        counts[request.prompt] = counts.get(request.prompt, 0) + 1

    repeated = int(re.search(r"(\d+) were in flight", out).group(1))
    assert f"{len(done_before)} calls were already done" in out
    if first.returncode == -signal.SIGKILL:  # (not when the run had finished before the kill)
        # the killed process's lease is taken over at once, and the user is told
        assert f"Taking over run {run_id} from " in out and f"(pid {first.pid})" in out
        assert "its process is gone" in out
    # every item completed before the kill was requested exactly once
    assert all(counts[f"item {sample_id[1:]}"] == 1 for sample_id in done_before)
    # every item was answered in the end, once in the store
    stored = rows(db, "select sample_id, count(*) from records group by sample_id")
    assert len(stored) == ITEMS and all(n == 1 for _, n in stored)
    assert rows(db, "select status from runs") == [("finished",)]
    # only calls in flight at the kill were sent twice, and the run said how many
    extra = sum(n - 1 for n in counts.values())
    print(f"trial {trial}: {len(done_before)} done before the kill, {repeated} in flight, {extra} sent twice")
    assert extra <= repeated <= 4  # never more than the concurrency limit


def test_resume_refuses_a_changed_config_and_says_what_changed(
        tmp_path, scripted_server, items_file, write_config, store_path, start_evalkit):
    server = scripted_server(Reply("ok"))
    suite = items_file(ITEMS)
    common = ["--store", str(store_path), "--results-dir", str(tmp_path / "results"), "-q"]
    done = start_evalkit("compare", "-c", str(write_config(server, suite)), *common)
    done.communicate(timeout=120)
    (run_id,), = rows(store_path, "select run_id from runs")
    changed = write_config(server, suite, temperature=0.7)
    refused = start_evalkit("compare", "--resume", run_id, "-c", str(changed), *common)
    _, err = refused.communicate(timeout=120)
    assert refused.returncode == 2
    assert f"cannot resume {run_id}" in err and "temperature 0.0 → 0.7" in err
    assert rows(store_path, "select count(*) from records") == [(ITEMS,)]  # history untouched
