"""litellm-routed models run in a worker process of their own, under the runner's guarantees.

`lambda_ai/` (Lambda's inference API) is an OpenAI-compatible host that `evalkit/data/routes.yaml` leaves to
litellm, so litellm's real provider code runs, in the worker, against the scripted server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from evalkit import transport
from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer
from evalkit.transport import worker as litellm_worker

MODEL = "lambda_ai/m"
PRICE = ModelPrice(model="m", model_id=MODEL, input=1e-6, output=2e-6, source="test")
CLIENT_MARGIN = 0.1
"""Seconds of client-side overhead tolerated (litellm builds each request in Python)."""


def sample(prompt: str, reference: float = 5) -> Sample:
    return Sample(id=prompt, suite="s", messages=({"role": "user", "content": prompt},), reference=reference,
                  scorer="numeric")


def target(server: ScriptedServer, model_id: str = MODEL, label: str = "m", **kwargs) -> Target:
    return Target(label=label, model_id=model_id, config_id=model_id, price=PRICE, params={"max_tokens": 16},
                  api_base=server.base_url, api_key="k", **kwargs)


def run(jobs, retries=0, timeout=10.0, also=None):
    records = []
    runner = Runner("r", timeout, RetryPolicy(retries=retries, base_delay=0.05), records.append)

    async def main():
        await asyncio.gather(runner.run(jobs), *(also or ()))

    asyncio.run(main())
    return {r.sample_id: r for r in records}


def test_the_worker_scores_and_times_the_call_as_scripted_and_reports_its_own_lag():
    script = Reply("Answer: 5 apples", ttft=0.2, token_delay=0.02, prompt_tokens=30, completion_tokens=3)
    with ScriptedServer(script) as server:
        record = run([Job(target(server), sample("q"))])["q"]
    assert transport.uses_fast_path(MODEL) is False
    assert record.error_class is None and record.score == 1.0
    assert 0.2 <= record.ttft_s <= 0.2 + CLIENT_MARGIN
    assert 0.2 + 2 * 0.02 <= record.e2e_s <= 0.2 + 2 * 0.02 + CLIENT_MARGIN
    assert (record.prompt_tokens, record.completion_tokens, record.usage_source) == (30, 3, "provider")
    assert record.loop_lag_ms is not None


def test_the_runner_process_never_imports_litellm_for_a_worker_routed_model():
    code = f"""
import asyncio, sys
from evalkit.economics.pricing import ModelPrice
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer
with ScriptedServer(Reply("Answer: 5")) as server:
    target = Target(label="m", model_id="{MODEL}", config_id="{MODEL}", params={{}}, api_base=server.base_url,
                    api_key="k", price=ModelPrice(model="m", model_id="m", input=1e-6, output=1e-6, source="t"))
    records = []
    asyncio.run(Runner("r", 10, RetryPolicy(retries=0), records.append).run(
        [Job(target, Sample(id="q", suite="s", messages=({{"role": "user", "content": "q"}},), reference=5,
                            scorer="numeric"))]))
print(records[0].score, "litellm" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["1.0", "False"], out.stderr[-2000:]


def test_a_busy_runner_loop_does_not_reach_the_workers_clock():
    """The runner's loop stalls for 300 ms while both calls wait for their first chunk: the
    fast-path call's TTFT takes the stall, the worker-timed call's does not (its clock is
    elsewhere)."""
    script = Reply("Answer: 5", ttft=0.4)

    with ScriptedServer(script) as server:
        async def stall():
            while len(server.chat_requests()) < 3:  # the warm-up call and the two measured ones
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.2)
            time.sleep(0.3)  # CPU-bound work in the runner's loop, over both first chunks (at 0.4 s)

        warm = Job(target(server), sample("warm"))  # the worker's first call pays its lazy imports
        run([warm])
        jobs = [Job(target(server), sample("via-worker")),
                Job(target(server, model_id="openai/m", label="fast"), sample("via-fast-path"))]
        records = run(jobs, also=[stall()])
    worker, fast = records["via-worker"], records["via-fast-path"]
    assert fast.ttft_s >= 0.5 and fast.loop_lag_ms >= 250
    assert 0.4 <= worker.ttft_s <= 0.4 + CLIENT_MARGIN
    assert worker.loop_lag_ms < 250


@pytest.mark.parametrize(
    "reply, error_class",
    [(Reply(status=503), "server"), (Reply(status=429, headers={"Retry-After": "0.2"}), "rate_limit"),
     (Reply("Answer: 5 and more", fault="reset_after_chunks", fault_after=2), "stream_cut")],
    ids=["503", "429", "reset"],
)
def test_a_fault_through_the_worker_is_classified_and_retried_by_the_runner(reply, error_class):
    good = Reply("Answer: 5")
    with ScriptedServer({"q": [reply, good]}) as server:
        failed = run([Job(target(server), sample("q"))])["q"]
        assert failed.error_class == error_class and failed.attempts == 1
    with ScriptedServer({"q": [reply, good]}) as server:
        recovered = run([Job(target(server), sample("q"))], retries=1)["q"]
    assert recovered.error_class is None and recovered.attempts == 2 and recovered.score == 1.0


def test_a_bad_key_through_the_worker_costs_one_call_and_is_not_retried():
    with ScriptedServer(Reply("Answer: 5"), api_key="right") as server:
        records = run([Job(target(server, max_concurrency=4), sample(f"q{i}")) for i in range(4)], retries=3)
        sent = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(sent) == 1 and records["q0"].error_class == "auth" and records["q0"].attempts == 1
    assert sum(r.error_class == "skipped" for r in records.values()) == 3


def test_the_other_calls_go_once_the_worker_reports_the_first_accepted():
    script = {"q0": Reply("Answer: 5", ttft=1.5), "default": Reply("Answer: 5")}
    with ScriptedServer(script) as server:
        records = run([Job(target(server, max_concurrency=4), sample(f"q{i}")) for i in range(4)])
        arrived = {r.prompt: r.arrived_perf for r in server.chat_requests()}
    assert all(r.score == 1.0 for r in records.values())
    assert max(arrived.values()) - arrived["q0"] < 1.0


def test_a_call_that_hangs_times_out_inside_the_worker():
    with ScriptedServer({"q": Reply(fault="hang")}) as server:
        record = run([Job(target(server), sample("q"))], timeout=1.0)["q"]
    assert record.error_class == "timeout" and 1.0 <= record.e2e_s < 3.0


def test_a_worker_that_dies_mid_call_fails_the_call_and_the_retry_starts_a_new_worker():
    killed = []

    def script(request):
        if request.attempt == 1:
            for workers in list(litellm_worker._workers.values()):
                for worker in workers.values():
                    killed.append(worker.process.pid)
                    os.kill(worker.process.pid, signal.SIGKILL)
            return Reply(fault="hang")
        return Reply("Answer: 5")

    with ScriptedServer(script) as server:
        record = run([Job(target(server), sample("q"))], retries=1)["q"]
    assert killed and record.error_class is None and record.attempts == 2 and record.score == 1.0


def test_the_worker_ends_when_the_process_that_started_it_is_killed():
    code = f"""
import asyncio, sys
from evalkit.transport import worker as litellm_worker
async def main():
    worker = litellm_worker.worker_for("{MODEL}", None)
    await worker.ready()
    print(worker.process.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        worker_pid = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker_pid):
        time.sleep(0.1)
    assert not _alive(worker_pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # reaped by init or not, a zombie is not running
        return stat.read().split()[2] != "Z"


def test_a_worker_that_cannot_start_fails_every_call_of_its_model_at_once_and_starts_once(tmp_path, monkeypatch):
    broken = tmp_path / "litellm"
    broken.mkdir()
    starts = tmp_path / "starts"
    (broken / "__init__.py").write_text(
        f"open({str(starts)!r}, 'a').write('start\\n')\nraise ImportError('litellm is broken here')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p))
    with ScriptedServer(Reply("Answer: 5")) as server:
        records = run([Job(target(server, max_concurrency=4), sample(f"q{i}")) for i in range(8)], retries=3)
        sent = server.chat_requests()
    assert sent == [] and starts.read_text().count("start") == 1
    assert {r.error_class for r in records.values()} == {"config"}
    assert all("did not start" in r.error_message and "litellm is broken here" in r.error_message
               for r in records.values())


def test_a_worker_is_stopped_with_the_run():
    processes = []

    def sink(record):
        loop_workers = litellm_worker._workers.get(asyncio.get_running_loop(), {})
        processes.extend(worker.process for worker in loop_workers.values())

    with ScriptedServer(Reply("Answer: 5")) as server:
        asyncio.run(Runner("r", 10, RetryPolicy(retries=0), sink).run([Job(target(server), sample("q"))]))
    assert len(processes) == 1 and processes[0].returncode == 0  # closed with the run's clients
