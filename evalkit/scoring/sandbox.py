"""The sandbox: runs a program evalkit did not write (a model's code and its tests) so that
it cannot read evalkit's secrets, reach the network, fill the machine or outlive its run.

One call, `run_program(source)`, returns a `SandboxResult`: passed or not, why not, the
tail of what it printed, its wall time and the isolation that applied. Two runtimes:

- ``process`` (the default): a child process started through a small launcher that sets
  the limits and the isolation and then execs ``python -I -S`` on a harness that runs the
  program and, only when its last line has run, hands back a token it was given (so an
  early ``exit(0)`` is no pass): an empty environment; its own temporary folder as the
  working directory; a new session (its process group is killed at the wall-clock
  timeout); ``RLIMIT_CPU``, ``RLIMIT_AS`` (memory), ``RLIMIT_NPROC`` (processes),
  ``RLIMIT_FSIZE`` (file size), ``RLIMIT_NOFILE``; on Linux a new network namespace (no
  interface but a down loopback: no network at all) and a new mount namespace with
  private, size-capped tmpfs over ``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/run`` (its
  Unix sockets), its own SysV IPC, and where it may (root) a ``/proc`` with ``hidepid=2``
  that shows it no other user's processes. Run by root, the child drops to a uid of its
  own that owns no file and no other process (so it can neither read evalkit's
  ``/proc/<pid>/environ`` nor write where only root may, and every process it leaves is
  killed by uid when it ends); run by another user, the namespaces come from a user
  namespace and evalkit makes itself non-dumpable so a process of the same user cannot
  read its ``/proc/<pid>/environ``. What was applied is detected on each run and reported
  in `SandboxResult.isolation`.
- ``docker`` / ``podman`` (``EVALKIT_SANDBOX=docker``): the same program in a container
  with no network, a read-only root, a pids, memory and CPU cap, used when that runtime's
  command is installed; otherwise the process runtime is used and the isolation says so.

Runs are limited to one per core at a time, so scoring a suite cannot swamp the machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import math
import os
import queue
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import UsageError

PROGRAM_FILE = "program.py"
OUTPUT_TAIL_CHARS = 2000
"""What a result keeps of the program's output: its last characters, where a failing
assertion's traceback ends."""

_UID_BASE = 1_000_000_000
"""Sandbox uids (root only) start here: far above any account, one per evalkit process
and slot (``base + pid * _MAX_SLOTS + slot``, below 2**31 for any Linux pid) so two runs
never share one and the uid-wide kill at the end of a run can only reach that run's own
processes."""
_MAX_SLOTS = 256


@dataclass(frozen=True)
class Limits:
    """What one program may use."""

    cpu_s: int = 10
    """CPU seconds (``RLIMIT_CPU``): an endless loop is stopped by SIGXCPU."""
    wall_s: float = 20.0
    """Wall-clock seconds before the whole process group is killed (a program that sleeps
    uses no CPU)."""
    memory_bytes: int = 1 << 30
    """Address space (``RLIMIT_AS``): a larger allocation raises MemoryError."""
    processes: int = 32
    """Processes of the sandbox's user (``RLIMIT_NPROC``): a fork bomb stops here."""
    file_bytes: int = 16 << 20
    """Largest file it may write, its output included (``RLIMIT_FSIZE``)."""
    open_files: int = 64
    """Open file descriptors (``RLIMIT_NOFILE``)."""


@dataclass(frozen=True)
class SandboxResult:
    """How one program run ended."""

    passed: bool
    """It exited with status 0 within every limit."""
    reason: str | None
    """Why it did not pass ("wall-clock timeout after 20 s", "exit status 1", ...)."""
    output: str
    """The tail of its stdout and stderr together (`OUTPUT_TAIL_CHARS`)."""
    elapsed_s: float
    """Wall time from start to the end of the run."""
    isolation: str
    """What applied, e.g. ``process: rlimits, netns, tmpfs, uid`` or ``docker``."""


@dataclass(frozen=True)
class SandboxConfig:
    """Which runtime runs programs (``EVALKIT_SANDBOX``: process, docker or podman) and
    the wall-clock limit (``EVALKIT_SANDBOX_TIMEOUT``, seconds; the CPU limit follows it down)."""

    runtime: str = "process"
    image: str = "python:3.11-slim"
    """The container image (``EVALKIT_SANDBOX_IMAGE``) for docker or podman."""
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_environment(cls) -> SandboxConfig:
        runtime = os.environ.get("EVALKIT_SANDBOX", "process").strip().lower() or "process"
        if runtime not in ("process", "docker", "podman"):
            raise UsageError(f"EVALKIT_SANDBOX must be process, docker or podman, got {runtime!r}")
        limits = Limits()
        timeout = os.environ.get("EVALKIT_SANDBOX_TIMEOUT", "").strip()
        if timeout:
            try:
                wall_s = float(timeout)
            except ValueError:
                wall_s = 0.0
            if not 0 < wall_s <= 600:
                raise UsageError(f"EVALKIT_SANDBOX_TIMEOUT must be seconds between 0 and 600, got {timeout!r}")
            limits = dataclasses.replace(limits, wall_s=wall_s, cpu_s=max(1, min(limits.cpu_s, math.ceil(wall_s))))
        return cls(runtime, os.environ.get("EVALKIT_SANDBOX_IMAGE", cls.image), limits)


# ---------------------------------------------------------------------------
# The launcher: runs in the child, applies limits and isolation, then execs the program.
# It reports what applied on the descriptor it is given and closes it before the exec, so the program cannot
# forge the report.

_LAUNCHER = r"""
import ctypes, json, os, resource, sys
cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
if cfg["mode"] == "reap":
    os.setgroups([]); os.setgid(cfg["uid"]); os.setuid(cfg["uid"])
    for _ in range(20):
        try:
            os.kill(-1, 9)
        except ProcessLookupError:
            break
    sys.exit(0)
applied, unset = [], []
prctl = getattr(libc, "prctl", None)  # Linux only
if prctl:
    prctl(1, 9, 0, 0, 0)
for name, value in cfg["limits"].items():
    # the CPU soft limit sends SIGXCPU (a reason to report); the hard one, a second later, SIGKILL
    try:
        resource.setrlimit(getattr(resource, name), (value, value + 1 if name == "RLIMIT_CPU" else value))
    except (ValueError, OSError, AttributeError):
        unset.append(name)  # macOS refuses some (RLIMIT_AS): say so rather than fail
applied.append("rlimits" + (" except " + " ".join(unset) if unset else ""))
root = os.geteuid() == 0
if sys.platform.startswith("linux"):
    user = 0 if root else 0x10000000
    # CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC: no network, its own mounts, its own SysV IPC
    if libc.unshare(user | 0x40000000 | 0x00020000 | 0x08000000) == 0:
        applied.append("netns")
        # The program is opened before /tmp is covered: its folder may lie under /tmp.
        program = os.open(cfg["program"], os.O_RDONLY)
        os.set_inheritable(program, True)
        if libc.mount(b"none", b"/", None, 16384 | (1 << 18), None) == 0:
            # /run too: its lock folder is writable and its Unix sockets (databases, docker)
            # are not behind the network namespace
            mounted = [p for p in (b"/tmp", b"/var/tmp", b"/dev/shm", b"/run")
                       if os.path.isdir(p) and libc.mount(b"tmpfs", p, b"tmpfs", 0, b"size=16m") == 0]
            if mounted:
                applied.append("tmpfs")
                cfg["program"] = "/dev/fd/%d" % program
            # a /proc of its own that shows it no other user's processes (their command lines)
            if libc.mount(b"proc", b"/proc", b"proc", 2 | 4 | 8, b"hidepid=2") == 0:
                applied.append("hidepid")
    elif libc.unshare(user | 0x40000000) == 0:
        applied.append("netns")
if root and cfg.get("uid"):
    os.setgroups([]); os.setgid(cfg["uid"]); os.setuid(cfg["uid"])
    applied.append("uid")
if prctl:
    prctl(38, 1, 0, 0, 0)
os.write(cfg["report_fd"], json.dumps(applied).encode()); os.close(cfg["report_fd"])
os.execve(cfg["python"], [cfg["python"], "-I", "-S", "-B", "-c", cfg["harness"], str(cfg["token_fd"]),
                          str(cfg["done_fd"]), cfg["program"]], {})
"""

_HARNESS = r"""
import os, sys
def _run(token_fd, done_fd, path):
    token = os.read(token_fd, 64)
    os.close(token_fd)
    with open(path, encoding="utf-8") as program:
        source = program.read()
    sys.argv = [path]
    try:
        exec(compile(source, path, "exec"), {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})
    except BaseException:
        os.close(done_fd)  # an exit, even exit(0), before the end is no pass
        raise
    os.write(done_fd, token)
    os.close(done_fd)
_run(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
"""
"""Runs the program and, only once its last line has run, writes back the token it was
given (read and closed before the program starts): a program that exits early — exit(0),
os._exit(0), an atexit or excepthook trick — ends without it and does not pass."""

_RLIMITS = {"RLIMIT_CPU": "cpu_s", "RLIMIT_AS": "memory_bytes", "RLIMIT_NPROC": "processes",
            "RLIMIT_FSIZE": "file_bytes", "RLIMIT_NOFILE": "open_files"}

_slots: queue.Queue[int] = queue.Queue()
for _slot in range(min(_MAX_SLOTS, max(1, os.cpu_count() or 1))):
    _slots.put(_slot)


def run_program(source: str, config: SandboxConfig | None = None) -> SandboxResult:
    """Run `source` as a Python program in the sandbox and say how it ended.

    Blocks until it ends (at most the wall-clock limit plus clean-up); call it off the
    event loop. Waits for a free slot when one run per core is already going."""
    config = config or SandboxConfig.from_environment()
    if os.name == "nt" and container_runtime(config) is None:
        raise UsageError("the code sandbox needs POSIX resource limits, which Windows lacks: install docker or "
                         "podman and set EVALKIT_SANDBOX=docker (or podman)")
    slot = _slots.get()
    try:
        with _folder() as base:
            folder = Path(base) / "work"
            folder.mkdir()
            (folder / PROGRAM_FILE).write_text(source, encoding="utf-8")
            runtime = container_runtime(config)
            if runtime is not None:
                return _run_container(runtime, config, folder, Path(base) / "output")
            return _run_process(config.limits, folder, Path(base) / "output", slot,
                                f"; {config.runtime} is not installed" if config.runtime != "process" else "")
    finally:
        _slots.put(slot)


@contextlib.contextmanager
def _folder() -> Iterator[str]:
    """A temporary folder for one run, removed afterwards whatever the program left in it
    (a tree too deep for Python's recursive removal goes with ``rm -rf``)."""
    base = tempfile.mkdtemp(prefix="evalkit-sandbox-")
    try:
        yield base
    finally:
        with contextlib.suppress(OSError, RecursionError):  # Python 3.11's removal recurses
            shutil.rmtree(base)
        if os.path.exists(base):
            subprocess.run(["rm", "-rf", "--", base], check=False, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def container_runtime(config: SandboxConfig) -> str | None:
    """The container command to use: the configured one when it is installed, else None."""
    if config.runtime == "process":
        return None
    return shutil.which(config.runtime)


def _run_process(limits: Limits, folder: Path, output_path: Path, slot: int, note: str) -> SandboxResult:
    uid = _UID_BASE + os.getpid() * _MAX_SLOTS + slot if os.geteuid() == 0 else None
    python = sandbox_python(as_root=uid is not None)
    if uid is not None:
        os.chown(folder, uid, uid)
        os.chown(folder / PROGRAM_FILE, uid, uid)
    else:
        _make_undumpable()
    launch = {"mode": "run", "uid": uid, "python": python, "program": PROGRAM_FILE, "harness": _HARNESS,
              "limits": {name: getattr(limits, attr) for name, attr in _RLIMITS.items()}}
    report_r, report_w = os.pipe()
    token_r, token_w = os.pipe()
    done_r, done_w = os.pipe()
    token = secrets.token_hex(16).encode()
    os.write(token_w, token)
    os.close(token_w)
    launch.update(report_fd=report_w, token_fd=token_r, done_fd=done_w)
    started = time.monotonic()
    with open(output_path, "wb") as output:
        try:
            # pass_fds keeps the report pipe's number in the child; no preexec hook, which
            # is unsafe in a threaded program (scoring runs in worker threads).
            child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps(launch)],
                cwd=folder, env={}, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True, pass_fds=(report_w, token_r, done_w))
        finally:
            for end in (report_w, token_r, done_w):
                os.close(end)
        timed_out = _wait(child, limits.wall_s)
        if uid is not None:
            _reap(uid)
    elapsed = time.monotonic() - started
    with os.fdopen(report_r, "rb") as report:
        applied = json.loads(report.read() or b"[]")
    with os.fdopen(done_r, "rb") as done:
        finished = done.read() == token
    text = _tail(output_path)
    isolation = "process: " + (", ".join(applied) or "none (the launcher failed)") + note
    reason = _reason(child.returncode, timed_out, limits, text)
    if reason is None and not finished:
        reason = "the program exited before its last line ran (exit(0), os._exit or the like): no pass"
    return SandboxResult(reason is None, reason, text, elapsed, isolation)


def _wait(child: subprocess.Popen[bytes], wall_s: float) -> bool:
    """Wait for the child; at the wall-clock limit kill its whole process group. True
    when it was killed for time."""
    try:
        child.wait(timeout=wall_s)
        return False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return True


def _reap(uid: int) -> None:
    """Kill every process left under the sandbox's uid (one that left its process group:
    a fork bomb's children, a daemon), from a process that is that uid and nothing else."""
    subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps({"mode": "reap", "uid": uid})],
                   env={}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30, check=False)


def _reason(code: int | None, timed_out: bool, limits: Limits, output: str) -> str | None:
    if timed_out:
        return f"wall-clock timeout after {limits.wall_s:g} s (process group killed)"
    if code == 0:
        return None
    if code is not None and code < 0 and -code == getattr(signal, "SIGXCPU", None):
        return f"CPU time limit of {limits.cpu_s} s reached"
    if code is not None and code < 0 and -code == getattr(signal, "SIGXFSZ", None):
        return f"file size limit of {limits.file_bytes} bytes reached"
    if "MemoryError" in output:
        return f"memory limit of {limits.memory_bytes >> 20} MiB reached (MemoryError)"
    if code is not None and code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    return f"exit status {code}"


def _tail(path: Path) -> str:
    size = path.stat().st_size
    with open(path, "rb") as output:
        output.seek(max(0, size - OUTPUT_TAIL_CHARS * 4))
        text = output.read().decode("utf-8", errors="replace")
    return text[-OUTPUT_TAIL_CHARS:]


def sandbox_python(as_root: bool) -> str:
    """The interpreter that runs programs: evalkit's own, or run as root (the sandbox then
    drops to a uid of its own) the first of evalkit's and the system's that any user may
    execute, since a venv under ``/root`` is closed to other users."""
    candidates = [sys.executable, shutil.which("python3") or "", "/usr/bin/python3", "/usr/local/bin/python3"]
    if not as_root:
        return sys.executable
    for candidate in candidates:
        if candidate and _world_executable(candidate):
            return os.path.realpath(candidate)
    raise UsageError("the code sandbox needs a Python any user may run (its child drops root); "
                     "install python3 in /usr/bin or run evalkit as a user other than root")


def _world_executable(path: str) -> bool:
    real = Path(os.path.realpath(path))
    if not real.is_file() or not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in real.parents)


_undumpable = False


def _make_undumpable() -> None:
    # Run by a user other than root, the child has the same uid as evalkit: without this,
    # it could read evalkit's /proc/<pid>/environ (the API keys). A non-dumpable process's
    # /proc files belong to root.
    global _undumpable
    if _undumpable or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    _undumpable = True


# ---------------------------------------------------------------------------
# Containers


def container_command(runtime: str, image: str, limits: Limits, folder: Path, name: str) -> list[str]:
    """The command that runs the program in container `name`: no network, read-only root,
    its folder the only writable mount, an unprivileged user, and the same caps."""
    return [runtime, "run", "--rm", "--name", name, "--network", "none", "--read-only", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--user", "65534:65534",
            "--pids-limit", str(limits.processes), "--memory", str(limits.memory_bytes),
            "--cpus", "1", "--ulimit", f"cpu={limits.cpu_s}", "--ulimit", f"fsize={limits.file_bytes}",
            "--ulimit", f"nofile={limits.open_files}", "--tmpfs", "/tmp:size=16m",
            "-v", f"{folder}:/work:rw", "-w", "/work",
            image, "python", "-I", "-S", "-B", PROGRAM_FILE]


def _run_container(runtime: str, config: SandboxConfig, folder: Path, output_path: Path) -> SandboxResult:
    os.chmod(folder, 0o777)  # the container's unprivileged user writes here
    name = f"evalkit-sandbox-{uuid.uuid4().hex[:12]}"
    command = container_command(runtime, config.image, config.limits, folder, name)
    started = time.monotonic()
    with open(output_path, "wb") as output:
        child = subprocess.Popen(command, env={"PATH": os.environ.get("PATH", "")}, stdin=subprocess.DEVNULL,
                                 stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        timed_out = _wait(child, config.limits.wall_s + 10)  # a container takes a while to start
    if timed_out:  # killing the client leaves the container running: kill it by name
        subprocess.run([runtime, "kill", name], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
    text = _tail(output_path)
    return SandboxResult(child.returncode == 0 and not timed_out,
                         _reason(child.returncode, timed_out, config.limits, text), text,
                         time.monotonic() - started, Path(runtime).name)
