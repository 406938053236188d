"""The commands that need no litellm call never import litellm (seconds, hundreds of MB).

Each command runs in a fresh interpreter, in-process through the click entry point, which
then reports which heavy packages ended up in `sys.modules`: the seam a user meets (the
`evalkit` command), with nothing imported beforehand by the test process itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evalkit.testing.scripted_server import Reply

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("litellm", "pandas", "scipy")

PROBE = """
import json, sys
from evalkit.cli import main
code = 0
try:
    main(sys.argv[1:], prog_name="evalkit")
except SystemExit as stop:
    code = stop.code or 0
heavy = HEAVY_NAMES
print("PROBE " + json.dumps({"exit": code, "imported": sorted(n for n in heavy if n in sys.modules)}), file=sys.stderr)
""".replace("HEAVY_NAMES", repr(HEAVY))


def run_probe(args: list[str], tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EVALKIT_HOME": str(tmp_path / "home"), "BENCH_KEY": "k",
           "EVALKIT_STORE": f"sqlite:///{tmp_path / 'evalkit.db'}"}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=180)
    probe = [line for line in done.stderr.splitlines() if line.startswith("PROBE ")]
    assert probe, done.stderr[-3000:]
    result = json.loads(probe[-1].removeprefix("PROBE "))
    result["stdout"], result["stderr"] = done.stdout, done.stderr
    return result


@pytest.mark.parametrize("args", [
    ["models"],
    ["models", "--all", "--filter", "gpt-4.1"],
    ["estimate", "-s", "arithmetic", "-m", "openai/gpt-4.1-mini"],
    ["prices", "openai/gpt-4.1-mini", "deepseek/deepseek-chat"],
], ids=lambda args: " ".join(args[:2]))
def test_catalogue_estimate_and_price_commands_import_neither_litellm_nor_the_analysis(args, tmp_path):
    result = run_probe(args, tmp_path)
    assert result["exit"] == 0, result["stderr"][-3000:]
    assert result["imported"] == []
    assert "openai/gpt-4.1-mini" in result["stdout"] or "gpt-4.1" in result["stdout"]


def test_the_estimate_prices_an_openai_model_from_the_map_and_counts_its_tokens(tmp_path):
    result = run_probe(["estimate", "-s", "arithmetic", "--limit", "3", "-m", "openai/gpt-4.1-mini"], tmp_path)
    assert result["exit"] == 0, result["stderr"][-3000:]
    row = next(line for line in result["stdout"].splitlines() if "openai/gpt-4.1-mini" in line)
    assert "unknown" not in row and "$" in row


def compare_probe(tmp_path, model: str, api_base: str, limit: int) -> dict:
    """A probed `evalkit compare` of ``limit`` arithmetic items against one model."""
    config = tmp_path / "bench.yaml"
    config.write_text(yaml.safe_dump({
        "models": [{"id": model, "api_base": api_base, "api_key_env": "BENCH_KEY"}],
        "suites": [{"name": "arithmetic"}], "run": {"limit": limit, "retries": 0}}))
    return run_probe(["compare", "-c", str(config), "-q", "--results-dir", str(tmp_path / "results")], tmp_path)


def test_a_fast_path_compare_never_imports_litellm(tmp_path, scripted_server):
    server = scripted_server(Reply("4"), api_key="k")
    result = compare_probe(tmp_path, "openai/gpt-4.1-mini", server.base_url, limit=2)
    assert result["exit"] == 0, result["stderr"][-3000:]
    assert "litellm" not in result["imported"]
    assert len(server.requests) == 2


def test_a_litellm_routed_model_still_goes_through_litellm(tmp_path, scripted_server):
    server = scripted_server(Reply("4"), api_key="k")
    result = compare_probe(tmp_path, "anthropic/claude-haiku-4-5", server.url, limit=1)
    assert result["exit"] == 0, result["stderr"][-3000:]
    assert [request.path for request in server.requests] == ["/v1/messages"]
    assert "claude-haiku-4-5" in result["stdout"]


def test_a_typed_threshold_is_still_checked_without_a_baseline(tmp_path):
    # untyped, the thresholds are left unparsed (parsing them loads pandas) until a baseline needs them
    result = run_probe(["compare", "-m", "openai/gpt-4.1-mini", "--max-accuracy-drop", "banana", "--dry-run"],
                       tmp_path)
    assert result["exit"] == 2
    assert "--max-accuracy-drop 'banana'" in result["stderr"]
