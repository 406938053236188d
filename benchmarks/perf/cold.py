"""Cold start and fixed costs: whole `evalkit` processes, side by side with their baselines.

    PYTHONPATH=. python -m benchmarks.perf.cold                       # this tree only
    PYTHONPATH=. python -m benchmarks.perf.cold --before ../main      # and another tree, same run
    PYTHONPATH=. python -m benchmarks.perf.cold --items 200           # a smaller run for the last table

Three goals, each a difference or a ratio measured in one run:

- `evalkit models`, `evalkit estimate -s arithmetic -m openai/gpt-4.1-mini` and `evalkit
  prices openai/gpt-4.1-mini` against `evalkit runs` (median of interleaved rounds);
- the time from process start to the first request a 1-item `evalkit compare` sends to
  the benchmark server, against a raw openai script's (the server stamps the request);
- a whole `evalkit compare` of N items at concurrency 128 against its own request phase,
  first request -> last response, both stamped by the server.

Each process runs with bytecode caching on (as an installed package has it) after one
warm-up run, and whether it imported litellm or pandas is read from ``-X importtime``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.perf.run import ROOT, Server, machine

COMMANDS = {
    "evalkit runs": ["runs"],
    "evalkit models": ["models"],
    "evalkit estimate -s arithmetic -m openai/gpt-4.1-mini": ["estimate", "-s", "arithmetic", "-m",
                                                              "openai/gpt-4.1-mini"],
    "evalkit prices openai/gpt-4.1-mini": ["prices", "openai/gpt-4.1-mini"],
}
RAW_OPENAI = """
import openai
client = openai.OpenAI(base_url={base!r}, api_key="k")
stream = client.chat.completions.create(model="scripted", stream=True, stream_options={{"include_usage": True}},
                                        messages=[{{"role": "user", "content": "What is 2 + 2?"}}], max_tokens=16)
for _ in stream:
    pass
"""
CONFIG = """models:
  - id: openai/scripted
    api_base: {base}
    api_key_env: BENCH_KEY
    max_concurrency: {concurrency}
suites:
  - name: arithmetic
run:
  limit: {items}
  retries: 0
"""
HEAVY = ("litellm", "pandas", "scipy", "sqlalchemy")


class Tree:
    """One evalkit source tree, run as `python -m evalkit` with it first on PYTHONPATH."""

    def __init__(self, label: str, path: Path, home: Path) -> None:
        self.label, self.path = label, path
        self.env = {**os.environ, "PYTHONPATH": str(path), "EVALKIT_HOME": str(home), "BENCH_KEY": "k",
                    "LITELLM_LOCAL_MODEL_COST_MAP": "True", "EVALKIT_STORE": f"sqlite:///{home}/evalkit.db"}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files

    def run(self, args: list[str], cwd: Path, importtime: bool = False) -> tuple[float, int, str]:
        """(wall seconds, peak RSS in MB, stderr) of one `evalkit` process."""
        cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "evalkit", *args]
        return _timed(cmd, self.env, cwd)


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stderr) of one process, reaped here for its own rusage."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        err = errors.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err[-2000:]}")
    return wall, usage.ru_maxrss // 1024, err


def heavy_imports(stderr: str) -> str:
    """Which heavy packages an ``-X importtime`` log shows imported."""
    lines = [line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]
    found = [name for name in HEAVY if name in lines]
    return ", ".join(found) or "none"


def bench_commands(trees: list[Tree], rounds: int, cwd: Path) -> list[str]:
    """Each command of each tree, `rounds` interleaved rounds; medians and their difference from `runs`."""
    for tree in trees:  # warm-up: .pyc files written, the store created
        for args in COMMANDS.values():
            tree.run(args, cwd)
    walls: dict[tuple[str, str], list[float]] = {}
    peaks: dict[tuple[str, str], int] = {}
    for _ in range(rounds):
        for tree in trees:
            for label, args in COMMANDS.items():
                wall, peak, _err = tree.run(args, cwd)
                walls.setdefault((tree.label, label), []).append(wall)
                peaks[(tree.label, label)] = max(peaks.get((tree.label, label), 0), peak)
    rows = ["| tree | command | median s | minus `evalkit runs` s | peak MB | imports |", "|---|---|---|---|---|---|"]
    for tree in trees:
        base = statistics.median(walls[(tree.label, "evalkit runs")])
        for label, args in COMMANDS.items():
            median = statistics.median(walls[(tree.label, label)])
            imported = heavy_imports(tree.run(args, cwd, importtime=True)[2])
            rows.append(f"| {tree.label} | `{label}` | {median:.2f} | {median - base:+.2f} | "
                        f"{peaks[(tree.label, label)]} | {imported} |")
    return rows


def server_phase(base: str) -> dict:
    """The benchmark server's stamps since the last read (and a fresh start)."""
    with urllib.request.urlopen(base.removesuffix("/v1") + "/v1/stats", timeout=10) as answer:
        return json.loads(answer.read())


def first_request(cmd: list[str], env: dict[str, str], cwd: Path, base: str) -> tuple[float, float, str]:
    """(seconds from process start to the server's first request, whole process s, stderr)."""
    server_phase(base)
    started = time.time()
    wall, _peak, err = _timed(cmd, env, cwd)
    return server_phase(base)["first_request_at"] - started, wall, err


def bench_first_request(trees: list[Tree], rounds: int, folder: Path) -> list[str]:
    """1-item compare of each tree against a raw openai script streaming one call."""
    rows = ["| client | to first request s (median) | minus raw openai s | whole process s | imports |",
            "|---|---|---|---|---|"]
    with Server(ttft=0.0) as base:
        config = folder / "one.yaml"
        config.write_text(CONFIG.format(base=base, concurrency=1, items=1))
        raw = [sys.executable, "-c", RAW_OPENAI.format(base=base)]
        env = {k: v for k, v in trees[0].env.items() if k != "PYTHONPATH"}
        compare = ["compare", "-c", str(config), "-q", "--results-dir", str(folder / "results")]
        for tree in trees:
            tree.run(compare, folder)  # warm-up
        _timed(raw, env, folder)
        times: dict[str, list[tuple[float, float]]] = {}
        for _ in range(rounds):
            times.setdefault("raw openai script", []).append(first_request(raw, env, folder, base)[:2])
            for tree in trees:
                cmd = [sys.executable, "-m", "evalkit", *compare]
                times.setdefault(f"evalkit compare ({tree.label})", []).append(
                    first_request(cmd, tree.env, folder, base)[:2])
        imported = {f"evalkit compare ({tree.label})": heavy_imports(tree.run(compare, folder, importtime=True)[2])
                    for tree in trees}
        imported["raw openai script"] = heavy_imports(
            _timed([sys.executable, "-X", "importtime", *raw[1:]], env, folder)[2])
    raw_first = statistics.median(first for first, _ in times["raw openai script"])
    for label, pairs in times.items():
        first = statistics.median(f for f, _ in pairs)
        whole = statistics.median(w for _, w in pairs)
        rows.append(f"| {label} | {first:.2f} | {first - raw_first:+.2f} | {whole:.2f} | {imported[label]} |")
    return rows


def bench_fixed_costs(trees: list[Tree], items: int, concurrency: int, folder: Path, rounds: int) -> list[str]:
    """A whole compare of `items` items against its request phase (first request -> last
    response), each tree's process run ``rounds`` times, interleaved; medians."""
    rows = ["| tree | items | C | whole process s | request phase s | whole ÷ phase | before the first request s "
            "| after the last response s |", "|---|---|---|---|---|---|---|---|"]
    with Server(ttft=0.0) as base:
        items_file = folder / "items.jsonl"  # the built-in suites have 50 items: N of our own
        items_file.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + 4 - {i}?", "reference": 4,
                                                  "scorer": "numeric"}) + "\n" for i in range(items)))
        config = folder / "many.yaml"
        config.write_text(CONFIG.format(base=base, concurrency=concurrency, items=items).replace(
            "  - name: arithmetic", f"  - {{name: items, path: {items_file}}}"))
        compare = [sys.executable, "-m", "evalkit", "compare", "-c", str(config), "-q",
                   "--results-dir", str(folder / "results")]
        runs: dict[str, list[tuple[float, float, float, float]]] = {}
        for _ in range(rounds):
            for tree in trees:
                server_phase(base)
                started = time.time()
                wall, _peak, _err = _timed(compare, tree.env, folder)
                ended = time.time()
                phase = server_phase(base)
                request_phase = phase["last_response_at"] - phase["first_request_at"]
                runs.setdefault(tree.label, []).append(
                    (wall, request_phase, phase["first_request_at"] - started, ended - phase["last_response_at"]))
    for label, measured in runs.items():
        wall, request_phase, before, after = (statistics.median(m[i] for m in measured) for i in range(4))
        ratio = statistics.median(m[0] / m[1] for m in measured)
        rows.append(f"| {label} | {items} | {concurrency} | {wall:.2f} | {request_phase:.2f} | {ratio:.2f} | "
                    f"{before:.2f} | {after:.2f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf.cold")
    parser.add_argument("--before", type=Path, help="another evalkit tree to measure in the same run (e.g. main)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of each process")
    parser.add_argument("--items", type=int, default=2000, help="items of the fixed-cost compare")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--only", nargs="+", choices=["commands", "first", "fixed"],
                        default=["commands", "first", "fixed"])
    args = parser.parse_args(argv)
    print(f"{machine()}; the benchmark server shares the cores with the client", flush=True)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        trees = [Tree("before", args.before.resolve(), folder / "home-before")] if args.before else []
        trees.append(Tree("after" if args.before else "this tree", ROOT, folder / "home-after"))
        for tree in trees:
            Path(tree.env["EVALKIT_HOME"]).mkdir()
        for name, produce in (("commands", lambda: bench_commands(trees, args.rounds, folder)),
                              ("first", lambda: bench_first_request(trees, args.rounds, folder)),
                              ("fixed", lambda: bench_fixed_costs(trees, args.items, args.concurrency, folder,
                                                                  args.rounds))):
            if name in args.only:
                print("\n".join(produce()) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
