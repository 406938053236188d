"""`--workers N`: the same run from N processes, at HTTP against the scripted server, with
the store, journal, budget, lease and limiter in the parent."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from evalkit import api
from evalkit.errors import UsageError
from evalkit.run.workers import free_cores, parse_workers
from evalkit.testing.scripted_server import Reply

ITEMS = 30


def answer(request) -> Reply:
    """Every third item wrong, and a little latency, so scores and timing both differ per item."""
    number = int(request.prompt.split()[1])
    return Reply("ok" if number % 3 else "no", ttft=0.005 * (number % 4), prompt_tokens=10, completion_tokens=1)


def rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


def stored(db: Path) -> list[tuple]:
    return sorted(rows(db, "select model, suite, sample_id, epoch, score, error_class, attempts from records"))


def test_two_workers_store_the_same_records_as_one(tmp_path, scripted_server, items_file, bench_config):
    server = scripted_server(answer)
    config = bench_config(server, items_file(ITEMS), labels=("a", "b"), max_concurrency=4, run={"epochs": 2})
    results = {}
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.db"
        result = api.compare(config, store=str(db), results_dir=tmp_path / "results", workers=workers)
        assert result.outcome.status == "finished"
        results[workers] = (db, result)
    one, two = stored(results[1][0]), stored(results[2][0])
    assert len(one) == 2 * ITEMS * 2 and one == two  # same keys, scores, errors and attempts
    reports = results[2][1].outcome.workers
    assert [w.index for w in reports] == [1, 2] and sum(w.records for w in reports) == len(two)
    assert all(w.lag_p99_ms is not None for w in reports)  # each worker measured its own loop
    # the limiter is the parent's: a model's max_concurrency is shared, not multiplied
    for report in results[2][1].outcome.concurrency.values():
        assert report.calls == ITEMS * 2 and 1 <= report.max_in_flight <= 4
    assert max(_in_flight_at_server(server, "a")) <= 4


def _in_flight_at_server(server, label: str) -> list[int]:
    """Requests of one model open at once at the server, at each arrival."""
    spans = sorted((r.arrived_perf, r.arrived_perf + 0.005 * (int(r.prompt.split()[1]) % 4))
                   for r in server.chat_requests() if r.body.get("model") == label)
    return [sum(1 for start, end in spans if start <= arrived < end) for arrived, _ in spans] or [0]


def test_a_budget_holds_across_workers(tmp_path, scripted_server, items_file, bench_config):
    """$1 per 1M tokens both ways: a call's worst case is (prompt + max_tokens=100) tokens; the
    budget lets some calls out and holds the rest, however they are spread over the workers."""
    server = scripted_server(answer)
    config = bench_config(server, items_file(ITEMS), labels=("a",), max_concurrency=4,
                          run={"max_tokens": 100, "retries": 0})
    db = tmp_path / "h.db"
    budget = 0.0006  # the worst case of a call is about $0.00011: a handful of calls, not 30
    result = api.compare(config, store=str(db), results_dir=tmp_path / "results", workers=2, max_cost=budget)
    assert result.outcome.status == "stopped: budget" and result.outcome.unsent > 0
    spent = rows(db, "select sum(cost_usd) from records")[0][0]
    assert spent == pytest.approx(result.outcome.spent) and spent <= budget
    sent = len(server.chat_requests())
    assert 0 < sent < ITEMS and sent == len(stored(db))  # no call went out that was not stored
    assert sent * 11e-6 <= budget  # each answered call cost (10 + 1) tokens at $1/1M


def worker_pids(parent: int) -> list[int]:
    """The `--workers` processes of an evalkit process (multiprocessing's spawned children)."""
    pids = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        children = (task / "children").read_text().split()
        for pid in children:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"spawn_main" in cmdline.read():
                    pids.append(int(pid))
    return pids


def test_a_worker_killed_mid_run_leaves_a_run_resumed_exactly_once(tmp_path, scripted_server, items_file,
                                                                   bench_config, start_evalkit):
    server = scripted_server(lambda request: Reply("ok", ttft=0.15))
    config = bench_config(server, items_file(ITEMS), max_concurrency=4, run={"retries": 0})
    db = tmp_path / "h.db"
    common = ["--store", str(db), "--results-dir", str(tmp_path / "results"), "-q"]
    first = start_evalkit("compare", "-c", str(config), "--workers", "2", *common)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        try:
            done = rows(db, "select count(*) from records")[0][0]
        except sqlite3.OperationalError:
            done = 0  # not created yet
        if done >= 4 and len(worker_pids(first.pid)) == 2:
            break
        time.sleep(0.02)
    victim = worker_pids(first.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 1, err  # a run stopped from outside, as a lost lease
    assert re.search(r"worker \d was killed by signal 9 before finishing its share", err)
    (run_id,), = rows(db, "select run_id from runs")
    assert f"evalkit compare --resume {run_id}" in err
    done_before = {r[0] for r in rows(db, "select sample_id from records where error_class is null")}
    assert 0 < len(done_before) < ITEMS

    second = start_evalkit("compare", "--resume", run_id, "--workers", "2", *common)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert f"{len(done_before)} calls were already done" in out
    counts: dict[str, int] = {}
    for request in server.chat_requests():
        counts[request.prompt] = counts.get(request.prompt, 0) + 1
    assert all(counts[f"item {sample_id[1:]}"] == 1 for sample_id in done_before)
    per_item = rows(db, "select sample_id, count(*) from records group by sample_id")
    assert len(per_item) == ITEMS and all(n == 1 for _, n in per_item)


def test_workers_option_is_checked(tmp_path, scripted_server, items_file, bench_config):
    assert parse_workers("3") == 3 and parse_workers(None) == 1 and 1 <= parse_workers("auto") == free_cores()
    with pytest.raises(UsageError, match="--workers 0: at least 1"):
        parse_workers("0")
    with pytest.raises(UsageError, match="give a number of processes"):
        parse_workers("many")
    config = bench_config(scripted_server(answer), items_file(2))
    with pytest.raises(UsageError, match="cannot be combined with --cache"):
        api.prepare_comparison(config, store=str(tmp_path / "h.db"), workers=2, cache=True)
    with pytest.raises(UsageError, match="local/smollm2-135m-q4_1 runs on this machine's own server"):
        api.prepare_comparison(models=["local/smollm2-135m-q4_1"], suites=["arithmetic"],
                               store=str(tmp_path / "h.db"), workers=2)


def test_capacity_with_two_workers_measures_the_stated_concurrency():
    """Each request holds the server 0.05 + 9 × 0.01 = 0.14 s. Split over two processes, a
    step of c requests in flight is still c at the server: by Little's law (rate × time in
    the system) as the client measured it, and as counted at the server."""
    from evalkit.economics.capacity import SLO, SweepOptions
    from evalkit.run import capacity as capacity_run
    from evalkit.testing.scripted_server import ScriptedServer

    prompts = [({"role": "user", "content": f"question {i}"},) for i in range(7)]
    reply = Reply(" ".join(f"w{i}" for i in range(10)), ttft=0.05, token_delay=0.01, prompt_tokens=20,
                  completion_tokens=10)
    options = SweepOptions(concurrency=(1, 2, 4), step_seconds=1.5, warmup_seconds=0.3, max_tokens=16)
    lags = []
    with ScriptedServer(reply) as server:
        result = capacity_run.run_sweep("openai/scripted", server.base_url, None, prompts, 1.0, SLO(), options,
                                        workers=2, on_lag=lags.append)
        arrivals = sorted(r.arrived_perf for r in server.chat_requests())
    assert [step.load for step in result.steps] == [1, 2, 4]
    for step in result.steps:
        in_system = step.requests_per_s * step.e2e_p50
        assert in_system == pytest.approx(step.load, rel=0.2), (step.load, in_system)
    held = 0.14
    at_once = max(sum(1 for other in arrivals if t - held < other <= t) for t in arrivals)
    assert at_once == 4  # the largest step's, not twice it
    assert len(lags[0]) == 3 and lags[0][0][1] is None  # c=1: the second worker idle
