"""End to end: `evalkit compare` as a real process against the real embedded local model."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytest.importorskip("xllamacpp", reason="xllamacpp is not installed")
pytestmark = pytest.mark.local_model


def llama_servers() -> set[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listing.splitlines() if "evalkit.transport.local.process" in line}


def test_compare_two_local_quantisations(tmp_path):
    already_running = llama_servers()  # other programs' servers are not ours to judge
    store = tmp_path / "history.db"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "compare",
         "-m", "local/smollm2-135m-q4_1", "-m", "local/smollm2-135m-q4_0",
         "-s", "classification", "-s", "arithmetic-zh", "--limit", "2", "--max-tokens", "24",
         "--store", str(store), "--results-dir", str(tmp_path / "results"), "-q"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "smollm2-135m-q4_1" in done.stdout and "good:" in done.stdout

    with sqlite3.connect(store) as db:
        rows = db.execute(
            "select model, suite, error_class, ttft_s, e2e_s, completion_tokens, usage_source, cost_usd "
            "from records").fetchall()
        (run_id, snapshot), = db.execute("select run_id, price_snapshot_json from runs")
    assert len(rows) == 8  # 2 models x 2 suites x 2 items
    for _model, _suite, error, ttft, e2e, completion, usage_source, cost in rows:
        assert error is None
        assert 0 < ttft <= e2e
        # llama.cpp's server streams its own usage: billed on it, not on an estimate
        assert usage_source == "provider" and completion > 0
        # self-hosted cost: $0.10/hour x the call's time, one request at a time
        assert cost == pytest.approx(0.10 * e2e / 3600)
    assert json.loads(snapshot)["local/smollm2-135m-q4_0"]["hourly_cost"] == 0.10
    assert (tmp_path / "results" / run_id / "report.md").exists()
    # the servers are stopped when the run ends
    assert llama_servers() <= already_running


def test_a_server_that_dies_mid_run_is_named_with_its_fix(tmp_path):
    """llama.cpp killed under a run (here by SIGILL, as an instruction the CPU lacks would):
    the run stops that model at once, prints one line with the cause, the command that
    fixes it and how to resume, exits 2, and keeps what was already answered."""
    import signal
    import time

    store = tmp_path / "history.db"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    compare = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "compare", "-m", "local/smollm2-135m-q4_0",
         "-s", "arithmetic", "--limit", "8", "--max-tokens", "48",
         "--store", str(store), "--results-dir", str(tmp_path / "results"), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 300
        while _stored_records(store) < 1:
            assert compare.poll() is None and time.monotonic() < deadline, compare.communicate()
            time.sleep(0.2)
        server, = [pid for pid in llama_servers() if _parent(int(pid)) == compare.pid]
        os.kill(int(server), signal.SIGILL)
        out, err = compare.communicate(timeout=120)
    finally:
        compare.kill()
    assert compare.returncode == 2, (out, err)
    line, = err.strip().splitlines()
    assert "SIGILL (illegal instruction)" in line
    assert "pip install --force-reinstall --no-cache-dir 'xllamacpp==" in line
    assert "evalkit compare --resume " in line
    with sqlite3.connect(store) as db:
        (status,), = db.execute("select status from runs")
        answered = db.execute("select count(*) from records where error_class is null").fetchone()[0]
    assert status == "failed" and answered >= 1


def _stored_records(store) -> int:
    try:
        with sqlite3.connect(store) as db:
            return db.execute("select count(*) from records").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_the_local_models_structured_output_mode_keeps_every_finished_reply_to_the_schema(tmp_path):
    # llama.cpp turns `response_format`'s schema into a grammar: a reply that finishes
    # (is not cut at max_tokens) cannot break the schema, whatever a 135M model gets wrong.
    config = tmp_path / "schema.yaml"
    config.write_text("models:\n"
                      "  - {id: local/smollm2-135m-q4_0, label: prompted}\n"
                      "  - {id: local/smollm2-135m-q4_0, label: schema, structured_output: schema}\n"
                      "suites:\n  - {name: extraction-schema}\n"
                      "run: {limit: 3, max_tokens: 200}\n", encoding="utf-8")
    store = tmp_path / "history.db"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    done = subprocess.run([sys.executable, "-m", "evalkit", "compare", "-c", str(config), "--store", str(store),
                           "--results-dir", str(tmp_path / "results"), "-q"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(store) as db:
        rows = db.execute("select model, error_class, finish_reason, score_detail from records").fetchall()
    assert len(rows) == 6 and all(error is None for _, error, _, _ in rows)
    finished = [detail or "" for model, _, reason, detail in rows if model == "schema" and reason == "stop"]
    assert finished, rows  # at least one reply ended by itself
    assert not any(d.startswith(("breaks the schema", "no JSON object")) for d in finished), finished


def test_the_code_suites_run_on_the_local_model_and_its_code_in_the_sandbox(tmp_path):
    """`evalkit compare -s humaneval -s coding` on the embedded model: every reply is run
    against its tests in the sandbox, and the record keeps the tests' time and the isolation."""
    from evalkit.api import compare

    store = tmp_path / "history.db"
    compare(models=["local/smollm2-135m-q4_0"], suites=["humaneval", "coding", "coding-zh"], store=str(store),
            results_dir=str(tmp_path / "results"), max_tokens=64, limit=1)
    with sqlite3.connect(store) as db:
        db.row_factory = sqlite3.Row
        records = [dict(row) for row in db.execute("select * from records")]
    assert sorted(r["suite"] for r in records) == ["coding", "coding-zh", "humaneval"]
    for record in records:
        assert record["error_class"] is None, record["error_message"]
        assert record["score"] in (0.0, 1.0) and record["tests_s"] is not None and record["tests_s"] >= 0
        assert record["sandbox"].startswith(("process:", "docker", "podman"))
        assert record["score"] == 1.0 or record["score_detail"]  # a failure says why
