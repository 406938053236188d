"""End to end: `evalkit compare` as a real process against the real embedded local model."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
pytestmark = pytest.mark.local_model


def llama_servers() -> set[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listing.splitlines() if "llama_cpp.server" in line}


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
    for model, suite, error, ttft, e2e, completion, usage_source, cost in rows:
        assert error is None
        assert 0 < ttft <= e2e
        # llama.cpp streams no usage: counted with the model's own tokenizer, and flagged
        assert usage_source == "estimated" and completion > 0
        # self-hosted cost: $0.10/hour x the call's time, one request at a time
        assert cost == pytest.approx(0.10 * e2e / 3600)
    assert json.loads(snapshot)["local/smollm2-135m-q4_0"]["hourly_cost"] == 0.10
    assert (tmp_path / "results" / run_id / "report.md").exists()
    # the servers are stopped when the run ends
    assert llama_servers() <= already_running
