"""`compare --ray`: shards as Ray tasks on a local cluster (2 CPUs, started once for the
module) against the scripted server and PostgreSQL: every item stored exactly once, a
worker killed mid-run retried and its shard continued, one concurrency limit for the whole
cluster; the SQLite refusal; the refusals of options a cluster cannot honour; the
Kubernetes recipe's command.

The cluster tests need Ray (`pip install 'evalkit[ray]'`, which dev includes) and
PostgreSQL (EVALKIT_TEST_POSTGRES_URL); without either they are skipped, saying which.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from evalkit import api
from evalkit.errors import UsageError
from evalkit.run.shards import Shard
from evalkit.store.database import Store, store_url
from evalkit.testing.scripted_server import Reply

MANIFEST = Path(__file__).parent.parent / "docs" / "kubernetes-indexed-job.yaml"
NO_RAY = "ray is not installed (pip install 'evalkit[ray]'; the dev extra includes it)"


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray cluster of 2 CPUs for the module, serving on loopback."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback, as evalkit's own local start
    ray = pytest.importorskip("ray", reason=NO_RAY)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _records(url: str, run_id: str) -> list[tuple]:
    engine = sa.create_engine(store_url(url))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select model, sample_id, epoch, error_class from records "
                                    "where run_id = :r"), {"r": run_id}).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _assert_each_item_once(url: str, run_id: str, labels: str, n_items: int) -> None:
    rows = _records(url, run_id)
    keys = [(model, sample, epoch) for model, sample, epoch, _ in rows]
    assert len(keys) == len(set(keys)), "a call was stored twice"
    assert set(keys) == {(m, f"i{i}", 0) for m in labels for i in range(n_items)}
    assert [row for row in rows if row[3] is not None] == []


def test_a_worker_killed_mid_run_is_retried_and_every_item_is_stored_once(
        ray_cluster, postgres_url, scripted_server, items_file, bench_config):
    n_items, hung = 30, "item 7"
    # The hung item's first attempt never answers: its shard's worker is killed while it waits.
    server = scripted_server({hung: [Reply(fault="hang"), Reply("ok")], "default": Reply("ok", ttft=0.02)})
    config = bench_config(server, items_file(n_items), labels=("a", "b"), max_concurrency=2,
                          run={"timeout": 120, "retries": 0})
    prepared = api.prepare_comparison(str(config), store=postgres_url, run_id="ray-kill", ray="local",
                                      ray_shards=2, results_dir=str(config.parent / "results"))
    victim_shard = next(i for i in (1, 2) if any(s.id == "i7" for s in Shard(i, 2).select(prepared.plan.samples)
                                                  ["items"]))
    killed: list[int] = []

    def kill_the_hung_shard() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r.prompt == hung for r in server.requests):
            time.sleep(0.05)
        store = Store(postgres_url)
        with store.engine.connect() as conn:
            pid = conn.execute(sa.text("select pid from run_leases where run_id = 'ray-kill' and shard = :s"),
                               {"s": victim_shard}).scalar_one()
        store.engine.dispose()
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_hung_shard, daemon=True)
    killer.start()
    notices: list[str] = []
    result = api.run_comparison(prepared, on_notice=notices.append)
    killer.join(timeout=5)

    assert killed, "the hung request never arrived"
    assert result.outcome.status == "finished" and result.outcome.complete
    _assert_each_item_once(postgres_url, "ray-kill", "ab", n_items)
    # the retry took the dead worker's lease over at once (same machine: its pid is gone)
    assert any(f"shard {victim_shard}" in line and "Taking over run ray-kill" in line
               and f"pid {killed[0]}" in line and "its process is gone" in line for line in notices), notices
    asked = [r.body["model"] for r in server.requests if r.prompt == hung]
    assert asked.count(asked[0]) == 2  # the hung call was sent again, once
    # Sent again: only calls journalled as in flight when the worker died (the retry counts them).
    assert 2 * n_items + 1 <= len(server.chat_requests()) <= 2 * n_items + result.outcome.repeated
    with Store(postgres_url).engine.connect() as conn:
        shards = conn.execute(sa.text("select shard, status from run_shards where run_id = 'ray-kill' "
                                      "order by shard")).all()
    assert [tuple(s) for s in shards] == [(1, "finished"), (2, "finished")]


def test_max_concurrency_holds_across_the_cluster_not_per_task(
        ray_cluster, postgres_url, scripted_server, items_file, bench_config):
    n_items, limit = 24, 3
    lock = threading.Lock()
    in_flight = {"now": 0, "peak": 0}

    def slow_answer(_request) -> Reply:
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        time.sleep(0.15)  # the answer is held here, so the server sees every call in flight
        with lock:
            in_flight["now"] -= 1
        return Reply("ok")

    server = scripted_server(slow_answer)
    config = bench_config(server, items_file(n_items), max_concurrency=limit, adaptive_concurrency=False)
    seen: list[str] = []

    def progress(total):
        @contextlib.contextmanager
        def bar():
            yield lambda record: seen.append(record.sample_id)

        assert total == n_items
        return bar()

    prepared = api.prepare_comparison(str(config), store=postgres_url, run_id="ray-limit", ray="local",
                                      ray_shards=2, results_dir=str(config.parent / "results"))
    result = api.run_comparison(prepared, progress=progress)

    assert result.outcome.status == "finished"
    _assert_each_item_once(postgres_url, "ray-limit", "m", n_items)
    # Two tasks of 3 slots each would reach 6; the cluster's one limiter keeps them to 3 together.
    assert in_flight["peak"] == limit
    assert result.outcome.concurrency["m"].max_in_flight == limit  # as the cluster's limiter saw it
    assert sorted(seen) == sorted(f"i{i}" for i in range(n_items))  # one bar: every call once
    again = api.prepare_comparison(str(config), store=postgres_url, run_id="ray-limit", ray="local")
    with pytest.raises(UsageError, match=r"run ray-limit already exists .* evalkit compare --resume ray-limit"):
        api.run_comparison(again)  # its shards would continue the finished run


def test_a_retried_shard_takes_back_the_permits_its_dead_attempt_held():
    from evalkit.run.cluster_limits import ClusterLimits
    from evalkit.run.limits import CallOutcome, ModelLimit

    async def play() -> None:
        limits = ClusterLimits([ModelLimit("m", 2, adaptive=False)])
        held = [await limits.acquire("m", 1, "dead") for _ in range(2)]  # then its worker is killed
        other = asyncio.create_task(limits.acquire("m", 2, "alive"))
        await asyncio.sleep(0.05)
        assert not other.done()  # both slots are the dead attempt's
        assert await limits.take_over(1, "retry") == 2
        assert (await asyncio.wait_for(other, 1)).model == "m"  # a slot came back to the cluster
        assert await limits.acquire("m", 1, "dead") is None  # the dead attempt gets no more
        await limits.release(held[0], CallOutcome("ok"), 1, "dead")  # nor gives back twice
        assert (await limits.in_flight()) == {"m": 1}
        assert (await limits.acquire("m", 1, "retry")) is not None

    asyncio.run(play())


def test_a_node_without_the_key_fails_the_run_naming_the_node_and_the_variable(
        ray_cluster, scripted_server, items_file, bench_config, store_path, monkeypatch):
    # Set after the cluster started: the driver has the key, the workers' environment does not.
    monkeypatch.setenv("EVALKIT_TEST_DRIVER_ONLY_KEY", "sk-driver-only")
    config = bench_config(scripted_server(), items_file(2), api_key_env="EVALKIT_TEST_DRIVER_ONLY_KEY")
    prepared = api.prepare_comparison(str(config), store=str(store_path), ray="local", ray_shards=1,
                                      results_dir=str(config.parent / "results"))
    with pytest.raises(UsageError, match=r"^on Ray node \S+: model openai/m needs an API key: set the "
                                         r"EVALKIT_TEST_DRIVER_ONLY_KEY environment variable"):
        api.run_comparison(prepared)


def test_a_sqlite_store_is_refused_on_a_cluster_of_several_nodes(ray_cluster, store_path):
    from evalkit.run.cluster import check_cluster_store

    store = Store(str(store_path))
    here = ray_cluster.nodes()
    check_cluster_store(store, here)  # one node, this machine: the file is there for every task
    other = {**here[0], "NodeID": "b" * 56, "NodeManagerHostname": "gpu-node-2", "Alive": True}
    with pytest.raises(UsageError) as refused:
        check_cluster_store(store, [*here, other])
    message = str(refused.value)
    assert message.startswith(f"--ray with the SQLite store {store.url}: the cluster has 2 nodes (")
    assert "gpu-node-2" in message and "cannot be written by the others" in message
    assert "--store postgresql://user:pass@host/db" in message


def test_the_cli_runs_on_a_ray_instance_of_its_own_into_sqlite(scripted_server, items_file, bench_config,
                                                               store_path, tmp_path, start_evalkit):
    pytest.importorskip("ray", reason=NO_RAY)
    server = scripted_server(Reply("ok", ttft=0.01))
    config = bench_config(server, items_file(6))
    process = start_evalkit("compare", "-c", str(config), "--ray", "--store", str(store_path), "-q",
                            "--results-dir", str(tmp_path / "results"), "--run-id", "cli-ray")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "Run cli-ray: 2 shards on the Ray cluster (1 node, 2 CPUs)." in out
    assert "Run cli-ray: 6 records" in out
    run = Store(str(store_path)).run("cli-ray")
    assert run.status == "finished" and run.shard_count == 2


@pytest.mark.parametrize("flags, refusal", [
    ({"shard": "1/2", "run_id": "x"}, "--ray splits the run into shards itself"),
    ({"max_cost": 5.0}, "--max-cost is enforced by one process"),
    ({"cache": True}, "--cache replays answers from a file on this machine"),
    ({"workers": 2}, "--workers 2 splits one process's calls"),
])
def test_options_a_cluster_cannot_honour_are_refused_before_anything_runs(
        flags, refusal, scripted_server, items_file, bench_config, store_path):
    pytest.importorskip("ray", reason=NO_RAY)
    config = bench_config(scripted_server(), items_file(2))
    with pytest.raises(UsageError, match=refusal):
        api.prepare_comparison(str(config), store=str(store_path), ray="local", **flags)
    assert not store_path.exists()  # nothing written


def test_the_kubernetes_recipe_runs_shard_k_plus_1_of_n_from_the_completion_index():
    from evalkit.cli import compare

    documents = [doc for doc in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if doc]
    cron = next(doc for doc in documents if doc["kind"] == "CronJob")
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["completionMode"] == "Indexed" and job["completions"] == job["parallelism"]
    container = job["template"]["spec"]["containers"][0]
    script = container["args"][0]
    assert "$((JOB_COMPLETION_INDEX+1))" in script
    evalkit_command = script[script.index("evalkit compare"):]
    shards = set()
    for index in range(job["completions"]):  # what the shell of pod `index` runs, parsed as evalkit would
        expanded = subprocess.run(["sh", "-c", f"printf '%s\\n' {evalkit_command.removeprefix('evalkit ')}"],
                                  env={"JOB_COMPLETION_INDEX": str(index), "JOB_NAME": "evalkit-nightly-29"},
                                  capture_output=True, text=True, check=True).stdout.splitlines()
        params = compare.make_context("compare", expanded[1:]).params
        shard = Shard.parse(params["shard_text"])
        assert shard.count == job["completions"] and params["run_id"] == "evalkit-nightly-29"
        shards.add(shard.index)
    assert shards == set(range(1, job["completions"] + 1))  # every shard once: every item once
    env = {item["name"]: item for item in container["env"]}
    assert env["JOB_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['batch.kubernetes.io/job-name']"
    assert shlex.split(script)[0] == "pip"
