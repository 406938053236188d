"""Real tests of the embedded local model: real GGUF files, real llama.cpp servers, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (pip install 'llama-cpp-python[server]')"
)

import httpx  # noqa: E402

from evalkit.errors import UsageError  # noqa: E402
from evalkit.local import (  # noqa: E402
    DEFAULT_VARIANT,
    LocalServer,
    LocalServerError,
    bundled_model_path,
    ensure_variant,
)

# Registered in pyproject.toml, so `-m "not local_model"` leaves out real inference.
pytestmark = pytest.mark.local_model

QUICK = "smollm2-135m-q4_0"
PROMPT = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Quantised variants go to a fresh cache, so the first ensure_variant really creates one."""
    root = tmp_path_factory.mktemp("evalkit-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVALKIT_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(DEFAULT_VARIANT, n_threads=2) as running:
        yield running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); stop() reaps, so a zombie would be a real leak too.
    return True


def _body(server: LocalServer, **extra: object) -> dict[str, object]:
    return {"model": server.model_alias, "messages": PROMPT, "temperature": 0, **extra}


def _stream(server: LocalServer, body: dict[str, object]) -> list[dict]:
    """The JSON chunks of one streamed chat completion."""
    chunks = []
    url = f"{server.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, timeout=60) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: {"):
                chunks.append(json.loads(line[len("data: ") :]))
    return chunks


def test_bundled_model_is_a_gguf_file() -> None:
    path = bundled_model_path()
    assert path.is_file()
    assert path.read_bytes()[:4] == b"GGUF"


def test_ensure_variant_creates_once_then_reuses(private_cache: Path) -> None:
    first = ensure_variant(QUICK)
    assert first.parent == private_cache / "models"
    assert first.read_bytes()[:4] == b"GGUF"
    made = first.stat().st_mtime_ns
    again = ensure_variant(QUICK)
    assert again == first
    assert again.stat().st_mtime_ns == made
    assert not list(first.parent.glob("*.partial")), "temporary file left behind"


def test_variants_are_different_files() -> None:
    bundled, requantised = ensure_variant(DEFAULT_VARIANT), ensure_variant(QUICK)
    assert bundled == bundled_model_path()
    assert requantised.stat().st_size < bundled.stat().st_size


def test_unknown_variant_suggests_the_close_name() -> None:
    with pytest.raises(UsageError, match="did you mean smollm2-135m-q4_0"):
        ensure_variant("smollm2-135m-q4_00")


def test_server_answers_a_chat_completion(server: LocalServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    response = httpx.post(
        f"{server.base_url}/chat/completions", json=_body(server, max_tokens=16), timeout=60
    )
    response.raise_for_status()
    data = response.json()
    assert data["choices"][0]["message"]["content"].strip()
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0


def test_server_streams(server: LocalServer) -> None:
    chunks = _stream(server, _body(server, max_tokens=16, stream=True))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip()
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


def test_server_is_gone_after_the_with_block() -> None:
    with LocalServer(QUICK) as server:
        pid = server.pid
        assert pid is not None and _alive(pid)
        assert server.log_path is not None and server.log_path.exists()
        log = server.log_path
    assert not _alive(pid)
    assert not log.exists()


def test_server_is_gone_when_the_body_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with LocalServer(QUICK) as server:
            pid = server.pid
            raise RuntimeError("boom")
    assert pid is not None and not _alive(pid)


def test_streams_carry_no_usage_even_when_asked(server: LocalServer) -> None:
    """llama_cpp.server 0.3.x ignores stream_options.include_usage; streamed token counts
    must come from elsewhere. When an upgrade starts sending usage, this fails on purpose."""
    body = _body(server, max_tokens=8, stream=True, stream_options={"include_usage": True})
    chunks = _stream(server, body)
    assert chunks and not any(chunk.get("usage") for chunk in chunks)


def test_concurrent_streams_are_not_cut_short(server: LocalServer) -> None:
    """A queued request must wait, not cancel the stream in progress (llama_cpp's default)."""
    from concurrent.futures import ThreadPoolExecutor

    def finish_reason() -> str:
        body = _body(server, max_tokens=12, min_tokens=12, stream=True)
        return str(_stream(server, body)[-1]["choices"][0]["finish_reason"])

    with ThreadPoolExecutor(2) as pool:
        reasons = list(pool.map(lambda _: finish_reason(), range(2)))
    assert reasons == ["length", "length"]


def _server_pids(port: int) -> list[int]:
    """Pids of llama_cpp.server processes listening on `port`, found in /proc."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # exited while we looked
        if b"llama_cpp.server" in args and str(port).encode() in args:
            pids.append(int(cmdline.parent.name))
    return pids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_forever_stops_its_server_on_a_signal(sig: signal.Signals) -> None:
    code = f"from evalkit.local import serve_forever; serve_forever({QUICK!r}, n_threads=1)"
    cli = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert cli.stdout is not None
        first = cli.stdout.readline()
        base_url = first.split(" at ")[-1].strip()
        assert base_url.startswith("http://127.0.0.1:"), first
        assert f"openai/{QUICK}" in cli.stdout.readline()
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        pids = _server_pids(port)
        assert len(pids) == 1
        assert httpx.get(f"{base_url}/models", timeout=5).status_code == 200
        # Also when this test runs in the background of a shell without job control, which
        # starts it (and so the CLI) with SIGINT ignored.
        cli.send_signal(sig)
        assert cli.wait(timeout=20) == 0
    finally:
        cli.kill()
        cli.wait()
    assert not _alive(pids[0])


def test_a_server_that_cannot_start_reports_its_log() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = LocalServer(QUICK, port=port)
        with pytest.raises(LocalServerError, match="(?s)exited with code.*address already in use"):
            server.start()
    assert not _server_pids(port)
    # The log is kept for the person reading the error, so the test removes it.
    assert server.log_path is not None and server.log_path.exists()
    server.log_path.unlink()
