"""The code sandbox against hostile programs: each ends as a failed run with its reason,
and evalkit's process, its secrets and the machine are left as they were."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from evalkit.scoring.sandbox import (
    Limits,
    SandboxConfig,
    container_command,
    container_runtime,
    run_program,
)

FAST = SandboxConfig(limits=Limits(cpu_s=3, wall_s=6))
SECRET = "sk-test-SANDBOX-SECRET-31415"


def _netns_available() -> bool:
    return "netns" in run_program("pass", FAST).isolation


def test_a_correct_program_passes_and_reports_its_isolation():
    result = run_program("assert sum([1, 2]) == 3\nprint('ok')", FAST)
    assert result.passed and result.reason is None and result.output == "ok\n"
    assert result.isolation.startswith("process: rlimits")
    assert 0 < result.elapsed_s < FAST.limits.wall_s


def test_a_failing_assertion_fails_with_its_traceback():
    result = run_program("def f():\n    return 2\nassert f() == 3, 'f() should be 3'", FAST)
    assert not result.passed and result.reason == "exit status 1"
    assert "AssertionError: f() should be 3" in result.output


def test_the_program_sees_no_inherited_environment(monkeypatch):
    monkeypatch.setenv("EVALKIT_SANDBOX_TEST_KEY", SECRET)
    result = run_program(textwrap.dedent(f"""
        import os
        values = " ".join(os.environ.values())
        assert {SECRET!r} not in values, "secret leaked"
        assert "EVALKIT_SANDBOX_TEST_KEY" not in os.environ
        raise SystemExit("read environment: " + repr(sorted(os.environ)))
    """), FAST)
    assert not result.passed and result.reason == "exit status 1"
    assert "read environment:" in result.output and SECRET not in result.output
    assert "secret leaked" not in result.output


_PARENT = """
import json, subprocess, sys
from evalkit.scoring.sandbox import Limits, SandboxConfig, run_program
probe = "import os\\nprint(open(f'/proc/{os.getppid()}/environ').read())"
plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
result = run_program(probe, SandboxConfig(limits=Limits(cpu_s=3, wall_s=6)))
print(json.dumps({"plain": plain, "passed": result.passed, "reason": result.reason, "output": result.output}))
"""


def test_the_program_cannot_read_its_parents_proc_environ():
    # /proc/<pid>/environ holds the environment a process started with (a key set later
    # by os.environ is not there), so the parent is a fresh evalkit process given the key.
    env = {**os.environ, "EVALKIT_SANDBOX_TEST_KEY": SECRET}
    done = subprocess.run([sys.executable, "-c", _PARENT], env=env, capture_output=True, text=True, timeout=60)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert SECRET in seen["plain"]  # the attack is real: an ordinary child reads the key
    assert not seen["passed"] and SECRET not in seen["output"]
    # closed to it (PermissionError), or, behind its own hidepid /proc, not there at all
    assert ("PermissionError" in seen["output"] or "FileNotFoundError" in seen["output"])
    assert seen["reason"] == "exit status 1"


def test_the_program_cannot_write_outside_its_folder(tmp_path):
    if "uid" not in run_program("pass", FAST).isolation:
        pytest.skip("evalkit is not run by root: the program runs as your user and can write where you can "
                    "(README, the sandbox's limits); use a container runtime there")
    sibling = tmp_path / "sibling.txt"
    home = Path.home() / "evalkit-sandbox-escape.txt"
    result = run_program(textwrap.dedent(f"""
        open("mine.txt", "w").write("a file of its own folder is fine")
        for target in ({str(sibling)!r}, {str(home)!r}):
            try:
                open(target, "w").write("escaped")
            except OSError as error:
                print("refused:", target, type(error).__name__)
            else:
                print("WROTE", target)
        raise SystemExit(1)
    """), FAST)
    assert not result.passed and "WROTE" not in result.output
    assert result.output.count("refused:") == 2
    assert not sibling.exists() and not home.exists()


def test_a_file_written_to_tmp_stays_inside_the_sandbox():
    if "tmpfs" not in run_program("pass", FAST).isolation:
        pytest.skip("no mount namespace here: /tmp is the machine's own (see README, sandbox limits)")
    name = f"/tmp/evalkit-sandbox-probe-{os.getpid()}"
    result = run_program(f"open({name!r}, 'w').write('x')\nraise SystemExit(3)", FAST)
    assert result.reason == "exit status 3" and not os.path.exists(name)


def _live_processes_of(uid: int) -> list[int]:
    """Processes of `uid` that still run (a killed one is a zombie until init reaps it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if entry.stat().st_uid == uid and state != "Z":
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return found


def test_a_fork_bomb_is_stopped_and_leaves_no_process_behind():
    # RLIMIT_NPROC caps the bomb at a few processes; the wall timeout and the kill by
    # uid end them all. A short CPU limit keeps a shared machine responsive.
    bomb = textwrap.dedent("""
        import os
        print("uid", os.getuid(), flush=True)
        while True:
            try:
                if os.fork() == 0:
                    os.setsid()
            except OSError:
                pass
    """)
    result = run_program(bomb, SandboxConfig(limits=Limits(cpu_s=2, wall_s=3, processes=8)))
    assert not result.passed and result.reason is not None
    uid = int(result.output.split()[1])
    if "uid" in result.isolation:
        assert uid != os.getuid() and _live_processes_of(uid) == []
    assert run_program("print('still fine')", FAST).passed  # the machine can still start processes


def test_an_infinite_loop_is_stopped_by_the_cpu_limit():
    result = run_program("while True:\n    pass", SandboxConfig(limits=Limits(cpu_s=1, wall_s=10)))
    assert not result.passed and result.reason == "CPU time limit of 1 s reached"
    assert result.elapsed_s < 10


def test_a_sleeping_program_is_killed_at_the_wall_clock_limit():
    result = run_program("import time\ntime.sleep(60)", SandboxConfig(limits=Limits(cpu_s=5, wall_s=1)))
    assert not result.passed and result.reason == "wall-clock timeout after 1 s (process group killed)"
    assert 1 <= result.elapsed_s < 10


def test_a_10_gb_allocation_fails_on_the_memory_limit():
    result = run_program("block = bytearray(10 * 1024 ** 3)\nprint('allocated')", FAST)
    assert not result.passed and "allocated" not in result.output
    assert result.reason == "memory limit of 1024 MiB reached (MemoryError)"


def test_a_socket_to_a_loopback_server_cannot_connect():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[object] = []
    server.settimeout(8)

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(server.accept())

    waiter = threading.Thread(target=accept)
    waiter.start()
    port = server.getsockname()[1]
    result = run_program(textwrap.dedent(f"""
        import socket
        connection = socket.create_connection(("127.0.0.1", {port}), timeout=3)
        print("connected")
    """), FAST)
    server.close()
    waiter.join()
    if "netns" not in result.isolation:
        pytest.skip("no network namespace on this machine: the sandbox cannot cut the network here")
    assert not result.passed and "connected" not in result.output and accepted == []
    assert "Network is unreachable" in result.output


def test_output_is_kept_to_its_tail():
    result = run_program("print('x' * 100000)\nprint('the end')\nraise SystemExit(2)", FAST)
    assert result.reason == "exit status 2" and len(result.output) == 2000
    assert result.output.endswith("the end\n")


def test_a_container_runtime_is_used_only_when_its_command_is_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert container_runtime(SandboxConfig(runtime="docker")) is None
    result = run_program("print('ran')", SandboxConfig(runtime="docker", limits=FAST.limits))
    assert result.passed and result.isolation.endswith("; docker is not installed")
    fake = tmp_path / "docker"  # records its arguments and runs the mounted program itself
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, subprocess, sys
        args = sys.argv[1:]
        open({str(tmp_path / 'args.json')!r}, "w").write(json.dumps(args))
        folder = args[args.index("-v") + 1].split(":")[0]
        sys.exit(subprocess.run([{sys.executable!r}, "program.py"], cwd=folder).returncode)
    """))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert container_runtime(SandboxConfig(runtime="docker")) == str(fake)
    result = run_program("print('in a container')", SandboxConfig(runtime="docker", limits=FAST.limits))
    assert result.passed and result.output == "in a container\n" and result.isolation == "docker"
    args = json.loads((tmp_path / "args.json").read_text())
    assert args[:2] == ["run", "--rm"] and args[args.index("--network") + 1] == "none"
    assert "--read-only" in args and args[-4:] == ["-I", "-S", "-B", "program.py"]


def test_the_container_command_carries_every_limit():
    command = container_command("podman", "python:3.11-slim", Limits(processes=16, memory_bytes=1 << 29),
                               Path("/work/x"), "evalkit-sandbox-1")
    assert command[:5] == ["podman", "run", "--rm", "--name", "evalkit-sandbox-1"]
    assert command[command.index("--pids-limit") + 1] == "16"
    assert command[command.index("--memory") + 1] == str(1 << 29)
    assert "cpu=10" in command and "/work/x:/work:rw" in command and "python:3.11-slim" in command


def test_an_unknown_runtime_is_refused(monkeypatch):
    from evalkit.errors import UsageError
    monkeypatch.setenv("EVALKIT_SANDBOX", "chroot")
    with pytest.raises(UsageError, match="EVALKIT_SANDBOX must be process, docker or podman"):
        SandboxConfig.from_environment()


_UNPRIVILEGED = """
import json, subprocess, sys
sys.path.insert(0, {root!r})
from evalkit.scoring.sandbox import Limits, SandboxConfig, run_program
config = SandboxConfig(limits=Limits(cpu_s=2, wall_s=5))
probe = "import os\\nprint(open(f'/proc/{{os.getppid()}}/environ').read())"
plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
stolen = run_program(probe, config)
network = run_program("import socket\\nsocket.create_connection(('127.0.0.1', 9), timeout=2)", config)
print(json.dumps({{"plain": plain, "stolen": stolen.output, "isolation": stolen.isolation,
                   "network": network.output}}))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists()
                    or not Path("/usr/bin/python3").exists(),
                    reason="needs root, setpriv and /usr/bin/python3 to start evalkit as an unprivileged user")
def test_run_by_an_unprivileged_user_the_keys_and_the_network_stay_out_of_reach():
    # The same user owns evalkit and the program: what keeps /proc/<parent>/environ closed
    # is evalkit making itself non-dumpable; the namespaces come from a user namespace.
    script = _UNPRIVILEGED.format(root=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           "/usr/bin/python3", "-c", script], env={"EVALKIT_SANDBOX_TEST_KEY": SECRET, "HOME": "/tmp"},
                          capture_output=True, text=True, timeout=60, cwd="/tmp")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert SECRET in seen["plain"]  # before the sandbox ran, a child of the same user could read the key
    assert SECRET not in seen["stolen"] and "PermissionError" in seen["stolen"]
    if "netns" not in seen["isolation"]:
        pytest.skip(f"user namespaces are closed here ({seen['isolation']}): the network stays open to the program")
    assert "uid" not in seen["isolation"] and "Network is unreachable" in seen["network"]


# --- a reply cannot pass without its tests having run to the end ------------------------------


@pytest.mark.parametrize("trick", [
    "import os\nos._exit(0)",
    "raise SystemExit(0)",
    "import atexit, os\natexit.register(lambda: os._exit(0))\nassert False",
    "import os, sys\nsys.excepthook = lambda *a: os._exit(0)\nassert False",
])
def test_a_program_that_exits_early_does_not_pass(trick):
    result = run_program(trick + "\nprint('the tests would run here')\n", FAST)
    assert not result.passed and "the tests would run here" not in result.output
    assert result.reason in ("the program exited before its last line ran (exit(0), os._exit or the like): no pass",
                             "exit status 1")


def test_a_tree_too_deep_to_remove_recursively_neither_crashes_evalkit_nor_stays_on_disk():
    import glob
    import tempfile

    before = set(glob.glob(f"{tempfile.gettempdir()}/evalkit-sandbox-*"))
    result = run_program(textwrap.dedent("""
        import os
        fd = os.open(".", os.O_RDONLY)
        for _ in range(1200):
            os.mkdir("d", dir_fd=fd)
            deeper = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = deeper
    """), FAST)
    assert result.passed
    assert set(glob.glob(f"{tempfile.gettempdir()}/evalkit-sandbox-*")) <= before


def test_other_processes_unix_sockets_and_shared_memory_are_out_of_reach():
    isolation = run_program("pass", FAST).isolation
    if "tmpfs" not in isolation or "hidepid" not in isolation:
        pytest.skip(f"this machine's sandbox has no private /run and /proc ({isolation})")
    run = Path("/run")
    path = run / f"evalkit-sandbox-test-{os.getpid()}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    os.chmod(path, 0o777)
    server.listen(1)
    try:
        result = run_program(textwrap.dedent(f"""
            import ctypes, os, socket
            problems = []
            try:
                socket.socket(socket.AF_UNIX).connect({str(path)!r})
                problems.append("connected to the host's socket")
            except OSError:
                pass
            others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
            for pid in others:
                try:
                    open(f"/proc/{{pid}}/cmdline").read()
                    if int(pid) == os.getppid() or os.stat(f"/proc/{{pid}}").st_uid != os.getuid():
                        problems.append("read another user's command line")
                except OSError:
                    pass
            open("/run/lock-probe", "w").write("x")
            segment = ctypes.CDLL(None).shmget(0x5B5B5B5B, 4096, 0o1000 | 0o666)
            print("segment", segment)
            assert not problems, problems
        """), FAST)
        assert result.passed, result.output
        assert not Path("/run/lock-probe").exists()
        ipcs = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout if shutil.which("ipcs") else ""
        assert "0x5b5b5b5b" not in ipcs.lower()
    finally:
        server.close()
        path.unlink()
