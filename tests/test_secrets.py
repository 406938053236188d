"""Canary keys planted everywhere a user might put one never reach a file or the terminal.

The scripted server echoes the key it received in its error messages, as real providers
do ("Incorrect API key provided: sk-..."), and evalkit runs through successes, retried
failures, a refused key and an unexpected error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from evalkit.testing.scripted_server import Reply, ScriptedServer

ENV_CANARY = "sk-" "canary-env-0123456789abcdefghij"
OTHER_ENV_CANARY = "sk-" "canary-other-9876543210zyxwvuts"
URL_PASSWORD = "canary-url-password-4242"
QUERY_CANARY = "canary-query-key-1717"
STORE_PASSWORD = "canary-db-password-5151"
CANARIES = [ENV_CANARY, OTHER_ENV_CANARY, URL_PASSWORD, QUERY_CANARY, STORE_PASSWORD]


def echoing_server_script(request):
    """Answers by prompt; its errors quote the credentials it was sent."""
    seen = request.headers.get("authorization", "")
    if request.prompt == "fail":
        return Reply(status=500, error_body={"error": {"message": f"upstream failed for {seen} at {request.path}"}})
    if request.prompt == "refuse":
        return Reply(status=401, error_body={"error": {"message": f"Incorrect API key provided: {seen}"}})
    return Reply(f"ok, you sent {seen}")


def evalkit(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True,
                          timeout=180, env=env, cwd=cwd)


def test_no_canary_anywhere(tmp_path):
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": p, "prompt": p, "reference": "ok", "scorer": "contains"}) + "\n"
                             for p in ("hello", "fail", "world")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(CANARY_KEY=ENV_CANARY, OPENAI_API_KEY=OTHER_ENV_CANARY)
    outputs = []
    with ScriptedServer(echoing_server_script) as server:
        host = server.base_url.split("://", 1)[1]
        config = tmp_path / "bench.yaml"
        config.write_text(f"""
models:
  - id: openai/scripted
    label: with-env-key
    api_base: {server.base_url}
    api_key_env: CANARY_KEY
  - id: openai/scripted-url
    label: with-url-key
    api_base: http://{host}?key={QUERY_CANARY}
suites:
  - name: items
    path: {items}
run: {{retries: 1}}
""", encoding="utf-8")
        common = ["--store", str(tmp_path / "h.db"), "--results-dir", str(tmp_path / "results")]
        outputs.append(evalkit(["compare", "-c", str(config), *common], env, tmp_path))
        refused = tmp_path / "refused.jsonl"
        refused.write_text(json.dumps({"id": "r", "prompt": "refuse", "reference": "ok"}) + "\n", encoding="utf-8")
        outputs.append(evalkit(["compare", "-c", str(config), "-s", str(refused), *common], env, tmp_path))
        (run_id, *_), = [line.split()[1].rstrip(":") for line in outputs[0].stdout.splitlines()
                         if line.startswith("Run ")] or [["?"]]
        outputs.append(evalkit(["show", run_id, "--store", str(tmp_path / "h.db")], env, tmp_path))
        outputs.append(evalkit(["runs", "--store", str(tmp_path / "h.db")], env, tmp_path))
        # a password in an endpoint URL is refused before any call, without repeating it
        with_password = tmp_path / "with-password.yaml"
        with_password.write_text(config.read_text(encoding="utf-8").replace(
            f"http://{host}?key=", f"http://user:{URL_PASSWORD}@{host}?key="), encoding="utf-8")
        calls_before = len(server.chat_requests())
        outputs.append(evalkit(["compare", "-c", str(with_password), *common], env, tmp_path))
        assert outputs[-1].returncode == 2 and "carries credentials" in outputs[-1].stderr
        assert len(server.chat_requests()) == calls_before
    # an unexpected error with a password in the store URL
    outputs.append(evalkit(["runs", "--store", f"postgresql://evalkit:{STORE_PASSWORD}@127.0.0.1:1/none"],
                           env, tmp_path))

    assert outputs[0].returncode == 0, outputs[0].stderr
    assert outputs[-1].returncode in (1, 2)
    texts = [o.stdout + o.stderr for o in outputs]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*")
              if p.is_file() and p.name not in ("bench.yaml", "with-password.yaml")]
    leaks = {canary for canary in CANARIES for text in texts if canary in text}
    assert leaks == set()
    # the runs really went through failures and refusals, with their messages stored
    stored = "\n".join(texts)
    assert "upstream failed for" in stored and "Incorrect API key provided" in stored
