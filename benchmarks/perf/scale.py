"""History over many stored runs, and reports for a run of a million records: before and after.

    PYTHONPATH=. python -m benchmarks.perf.scale history --runs 1000
    PYTHONPATH=. python -m benchmarks.perf.scale report --records 1000000
    PYTHONPATH=. python -m benchmarks.perf.scale report --records 100000 --before none   # after only

"Before" is the code of another git revision (``--before``, default ``main``), exported
with ``git archive`` into a temporary folder; "after" is this working tree. Both run the
same script, one subprocess each, on the same store built once, one after the other in
this run, so the machine's load falls on both alike. Each subprocess reports its wall time,
its CPU time (on a machine shared with others, what it cost rather than how long it waited
for a core) and its peak RSS (``ru_maxrss``), and for reports that of the largest child it
forked to draw charts and write the PDF (a forked child shares the parent's pages, and
counts those it touches as its own).

- **history**: a synthetic store of ``--runs`` finished runs tagged ``nightly`` (3 models,
  2 suites, 20 items each: 120 records a run), written by
  `evalkit.testing.synthetic_run.make_run` without summaries, as a store from before
  summaries looks. Timed: `history_frame` of every run before; after, its first call (which
  computes and stores every run's summary: the in-place migration), then a second call
  (summaries only), and the whole `evalkit history` process (table and chart).
- **report**: one run of ``--records`` synthetic records (10 models, 2 suites), analysed
  and written as HTML, PDF and Markdown by `evalkit.write_report`, what `evalkit report`
  calls, from the imports on.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent

BUILD_HISTORY = """
import sys, time
from pathlib import Path
from evalkit.store import Store
from evalkit.testing.synthetic_run import make_run, model_lineup
store, folder, runs = Store(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
models = model_lineup(3, long_names=False)
for i in range(runs):
    make_run(store, folder, models, 2, 20, seed=i, run_id=f"night-{i:05d}")
# a nightly series, from before summaries: the runs' records only
from evalkit.store.schema import run_summaries_table, runs_table
with store.engine.begin() as conn:
    conn.execute(runs_table.update().values(tag="nightly"))
    conn.execute(run_summaries_table.delete())
"""

TIME_HISTORY = """
import resource, sys, time
t = time.perf_counter()
from evalkit.analysis.history import history_frame
from evalkit.store import Store
store = Store(sys.argv[1])
first = history_frame(store, tag="nightly")
t_first = time.perf_counter() - t
t = time.perf_counter()
second = history_frame(store, tag="nightly") if sys.argv[2] == "twice" else first
t_second = time.perf_counter() - t
assert first.equals(second)
print(first["run_id"].nunique(), len(first), round(t_first, 2), round(t_second, 2),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""

BUILD_REPORT = """
import sys
from pathlib import Path
from evalkit.store import Store
from evalkit.testing.synthetic_run import make_run, model_lineup
folder, records = Path(sys.argv[1]), int(sys.argv[2])
make_run(Store(str(folder / "runs.db")), folder / "suites", model_lineup(10), 2, records // 20)
"""

TIME_REPORT = """
import resource, sys, time
t = time.perf_counter()
import evalkit
evalkit.write_report("last", ["html", "pdf", "md"], store=sys.argv[1], results_dir=sys.argv[2], volume="50000/day")
total = time.perf_counter() - t
usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
cpu = sum(u.ru_utime + u.ru_stime for u in usage)  # its own and its forked writers'
print(round(total, 2), round(cpu, 2), usage[0].ru_maxrss // 1024, usage[1].ru_maxrss // 1024)
"""


def python(code_root: Path, script: str, *args: str) -> list[str]:
    """Run ``script`` with evalkit imported from ``code_root``; its printed fields."""
    env = {**os.environ, "PYTHONPATH": str(code_root), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=code_root, check=True,
                          capture_output=True, text=True)
    return done.stdout.split()


def export(revision: str, folder: Path) -> Path:
    """The evalkit package of git ``revision``, written into ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "evalkit"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def bench_history(runs: int, before: str | None) -> list[str]:
    rows = ["| code | runs | rows | history s (first call) | history s (next call) | peak RSS MB |",
            "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = str(folder / "history.db")
        started = time.perf_counter()
        python(ROOT, BUILD_HISTORY, store, str(folder / "suites"), str(runs))
        print(f"built {runs} runs in {time.perf_counter() - started:.0f} s", flush=True)
        if before:
            n, count, first, _, peak = python(export(before, _fresh(folder, "before")), TIME_HISTORY, store, "once")
            rows.append(f"| {before}: every run's records, each call | {n} | {count} | {first} | {first} | {peak} |")
        n, count, first, second, peak = python(ROOT, TIME_HISTORY, store, "twice")
        rows.append(f"| this tree: stored summaries (first call computes and stores them) | {n} | {count} "
                    f"| {first} | {second} | {peak} |")
        started, cpu = time.perf_counter(), _children_cpu()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        subprocess.run([sys.executable, "-m", "evalkit", "history", "--store", store, "--tag", "nightly",
                        "--chart", str(folder / "history.png")], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        rows += ["", f"The whole `evalkit history --tag nightly` process over the {n} runs (table and chart), "
                 f"summaries stored: {time.perf_counter() - started:.2f} s wall, "
                 f"{_children_cpu() - cpu:.2f} s of CPU (user + system)."]
    return rows


def bench_report(records: int, before: str | None) -> list[str]:
    rows = ["| code | records | `evalkit.write_report` html + pdf + md: wall s | CPU s (with its forked writers) "
            "| peak RSS MB | largest forked writer's peak RSS MB |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        old = export(before, _fresh(folder, "before")) if before else None
        # built by the older code, so it can open the store (a newer schema is refused)
        python(old or ROOT, BUILD_REPORT, str(folder), str(records))
        print(f"built {records:,} records in {time.perf_counter() - started:.0f} s", flush=True)
        store = str(folder / "runs.db")
        trees = ([(before, old)] if old else []) + [("this tree", ROOT)]
        for name, code in trees:
            if code == ROOT:  # its schema upgrade (once per store, in place) is not the report's time
                python(ROOT, "import sys; from evalkit.store import Store; Store(sys.argv[1])", store)
            total, cpu, peak, child = python(code, TIME_REPORT, store, str(_fresh(folder, f"out-{len(rows)}")))
            rows.append(f"| {name} | {records:,} | {total} | {cpu} | {peak} | {child} |")
    return rows


def _children_cpu() -> float:
    """CPU seconds of the finished child processes so far: on a shared machine, what a
    process cost rather than how long it waited for a core."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fresh(folder: Path, name: str) -> Path:
    path = folder / name
    path.mkdir()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf.scale")
    parser.add_argument("what", choices=["history", "report"])
    parser.add_argument("--runs", type=int, default=1000, help="stored runs for the history benchmark")
    parser.add_argument("--records", type=int, default=1_000_000, help="records of the reported run")
    parser.add_argument("--before", default="main", help="git revision measured as before; none: skip it")
    args = parser.parse_args(argv)
    before = None if args.before == "none" else args.before
    print(f"{platform.node()}: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start",
          flush=True)
    rows = bench_history(args.runs, before) if args.what == "history" else bench_report(args.records, before)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
