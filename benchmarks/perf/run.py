"""Run every performance benchmark against the benchmark server process and write README.md.

    python -m benchmarks.perf            # full run, about half an hour on 2 cores
    python -m benchmarks.perf --quick    # smaller N, for a smoke test
    python -m benchmarks.perf --only 1 8 # some of them, printed only

Every figure is a ratio against a baseline measured in the same run, on the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.perf.clients import (
    MESSAGES,
    PARAMS,
    LagMonitor,
    Measured,
    make_aiohttp,
    make_httpx,
    make_openai,
    make_provider,
    median,
    run_batch,
    server_lateness,
)

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ROUNDS = 3
ANSWER = "The answer is 4 and that is all"  # 8 words: 8 content chunks


class Server:
    """The benchmark server (benchmarks/perf/server.py) in its own process."""

    def __init__(self, ttft: float = 0.0, token_delay: float = 0.0, text: str = ANSWER) -> None:
        self.args = ["--ttft", str(ttft), "--token-delay", str(token_delay), "--text", text]

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.perf.server", "--port", "0",
                                      *self.args], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def run_runner(base_url: str, n: int, concurrency: int, transport: str = "fast", store: bool = False) -> Measured:
    """evalkit's whole runner: jobs, semaphore, first-call gate, scoring, records; with
    `store`, also what `evalkit compare` adds: each call journalled in SQLite before it is
    sent and its record committed by the writer thread."""
    from evalkit.economics.pricing import ModelPrice
    from evalkit.run.runner import Job, RetryPolicy, Runner, Target
    from evalkit.store import RecordWriter, Store
    from evalkit.suites.base import Sample

    os.environ["EVALKIT_TRANSPORT"] = transport
    price = ModelPrice(model="m", model_id="openai/scripted", input=1e-6, output=2e-6, source="bench")
    target = Target(label="m", model_id="openai/scripted", config_id="openai/scripted", price=price,
                    params=PARAMS, api_base=base_url, api_key="k", max_concurrency=concurrency)
    samples = [Sample(id=f"q{i}", suite="s", messages=MESSAGES, reference=4, scorer="numeric") for i in range(n)]
    records: list = []
    folder = tempfile.TemporaryDirectory()
    writer = RecordWriter(Store(f"sqlite:///{folder.name}/runs.db")) if store else None

    def sink(record) -> None:
        records.append(record)
        if writer is not None:
            writer.put(record)

    def runner(run_id: str) -> Runner:
        async def journal(job: Job) -> None:
            await asyncio.wrap_future(writer.mark_sent(run_id, job.key))

        return Runner(run_id, 30, RetryPolicy(retries=0), sink, journal=journal if store else None)

    # Warm-up through the same path: first use of the store compiles its statements.
    await runner("warm").run([Job(target, s) for s in samples[:5]])
    records.clear()
    monitor = LagMonitor()
    monitor.start()
    cpu, wall = time.process_time(), time.perf_counter()
    await runner("bench").run([Job(target, s) for s in samples])
    result = Measured(f"evalkit {'compare path' if store else 'runner'} ({transport})", concurrency)
    result.loop_lag_p99_ms = monitor.stop()
    if writer is not None:
        writer.close()  # every record committed is part of the time (but blocks the loop: not lag)
    result.wall, result.cpu = time.perf_counter() - wall, time.process_time() - cpu
    folder.cleanup()
    for r in records:
        if r.error_class:
            result.errors += 1
        elif r.e2e_s is not None:
            result.e2e.append(r.e2e_s)
            if r.ttft_s is not None:
                result.ttft.append(r.ttft_s)
    return result


def clients(base_url: str) -> dict:
    return {
        "raw httpx": make_httpx(base_url),
        "raw aiohttp": make_aiohttp(base_url),
        "raw openai.AsyncOpenAI": make_openai(base_url),
        "evalkit transport.complete (fast path)": make_provider(base_url, "fast"),
        "evalkit transport.complete (litellm)": make_provider(base_url, "litellm"),
    }


def ms(x: float) -> str:
    return f"{1000 * x:.1f}"


# --- 1. overhead ---------------------------------------------------------------------------


async def bench_overhead(scale: float) -> list[str]:
    rows = ["| client | concurrency | calls | p50 e2e ms | p99 e2e ms | added p50 ms | added p99 ms "
            "| calls/s | × openai calls/s | client CPU ms/call | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    with Server() as base:
        for concurrency, n in ((1, int(300 * scale)), (64, int(1280 * scale))):
            # Rounds interleave the clients, so drift in a shared machine's load hits all alike.
            pooled: dict[str, Measured] = {}
            made = clients(base)
            for _ in range(ROUNDS):
                batches = [await run_batch(call, n // ROUNDS // (4 if "litellm" in kind else 1), concurrency, kind)
                           for kind, call in made.items()]
                batches.append(await run_runner(base, n // ROUNDS, concurrency))
                batches.append(await run_runner(base, n // ROUNDS, concurrency, store=True))
                batches.append(await run_runner(base, n // ROUNDS // 4, concurrency, "litellm"))
                for batch in batches:
                    pooled[batch.kind] = pooled[batch.kind].merge(batch) if batch.kind in pooled else batch
            measured = list(pooled.values())
            ref = pooled["raw openai.AsyncOpenAI"]
            for m in measured:
                rows.append(
                    f"| {m.kind} | {concurrency} | {len(m.e2e)} | {ms(m.pct(m.e2e, .5))} | {ms(m.pct(m.e2e, .99))} "
                    f"| {ms(m.pct(m.e2e, .5) - ref.pct(ref.e2e, .5))} "
                    f"| {ms(m.pct(m.e2e, .99) - ref.pct(ref.e2e, .99))} "
                    f"| {m.calls_per_s:.0f} | {m.calls_per_s / ref.calls_per_s:.2f} "
                    f"| {ms(m.cpu / max(1, len(m.e2e) + m.errors))} | {m.errors} |")
    return rows


# --- 2. efficiency -------------------------------------------------------------------------


async def bench_efficiency(scale: float) -> list[str]:
    latency = 0.1
    rows = ["| client | N | C | ideal s (N·L/C) | actual s | ideal ÷ actual | loop lag p99 ms | errors |",
            "|---|---|---|---|---|---|---|---|"]
    with Server(ttft=latency, text="4") as base:
        for concurrency in (64, 256):
            n = int(2000 * scale)
            runs = [await run_batch(make_openai(base), n, concurrency, "raw openai.AsyncOpenAI"),
                    await run_batch(make_httpx(base), n, concurrency, "raw httpx"),
                    await run_batch(make_aiohttp(base), n, concurrency, "raw aiohttp"),
                    await run_runner(base, n, concurrency),
                    await run_runner(base, n, concurrency, store=True)]
            if concurrency == 64:
                runs.append(await run_runner(base, n // 4, concurrency, "litellm"))
            for m in runs:
                count = len(m.e2e) + m.errors
                ideal = count * latency / concurrency
                rows.append(f"| {m.kind} | {count} | {concurrency} | {ideal:.2f} | {m.wall:.2f} "
                            f"| {ideal / m.wall:.2f} | {m.loop_lag_p99_ms:.1f} | {m.errors} |")
    return rows


# --- 3. timing accuracy --------------------------------------------------------------------


async def bench_timing(scale: float) -> list[str]:
    ttft, gap = 0.05, 0.01
    gaps = len(ANSWER.split()) - 1
    rows = ["| client | C | calls | TTFT error p50 ms | TTFT error p99 ms | server late p50 / p99 ms "
            "| inter-token total error p50 ms | loop lag p99 ms |", "|---|---|---|---|---|---|---|---|"]
    with Server(ttft=ttft, token_delay=gap) as base:
        for concurrency, n in ((1, int(100 * scale)), (256, int(768 * scale))):
            runs = [(kind, make(base)) for kind, make in (("raw openai.AsyncOpenAI", make_openai),
                                                          ("raw aiohttp", make_aiohttp))]
            for m, late in [await timed_run(base, run_batch(call, n, concurrency, kind)) for kind, call in runs] + [
                    await timed_run(base, run_runner(base, n, concurrency)),
                    await timed_run(base, run_runner(base, max(concurrency, n // 3), concurrency, "litellm"))]:
                err = [t - ttft for t in m.ttft]
                inter = [e - t - gaps * gap for t, e in zip(m.ttft, m.e2e)] if "raw" in m.kind else []
                rows.append(f"| {m.kind} | {concurrency} | {len(m.ttft)} | {ms(m.pct(err, .5))} "
                            f"| {ms(m.pct(err, .99))} | {late['p50']} / {late['p99']} "
                            f"| {ms(median(inter)) if inter else 'n/a'} | {m.loop_lag_p99_ms:.1f} |")
    return rows


async def timed_run(base_url: str, batch) -> tuple[Measured, dict]:
    """A batch and how late the server sent its first chunks meanwhile (warm-up included)."""
    server_lateness(base_url)  # starts the count afresh
    measured = await batch
    return measured, server_lateness(base_url)


# --- 4. start-up ---------------------------------------------------------------------------


def bench_startup() -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import evalkit'": [sys.executable, "-c", "import evalkit"],
        "evalkit --help": [sys.executable, "-m", "evalkit", "--help"],
        "python -c 'import openai'": [sys.executable, "-c", "import openai"],
        "python -c 'import litellm'": [sys.executable, "-c", "import litellm"],
    }
    times = {}
    for label, cmd in commands.items():
        runs = []
        for _ in range(5 if "litellm" not in label else 2):
            started = time.perf_counter()
            subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
            runs.append(time.perf_counter() - started)
        times[label] = median(runs)
    base = times["python -c pass"]
    rows = ["| command | median s | minus `python -c pass` s |", "|---|---|---|"]
    rows += [f"| `{label}` | {t:.3f} | {t - base:+.3f} |" for label, t in times.items()]
    return rows


# --- 5. memory -----------------------------------------------------------------------------


async def bench_memory(scale: float) -> list[str]:
    import psutil

    proc = psutil.Process()
    n = int(100_000 * scale)
    rows = ["| client | calls after warm-up | RSS before MB | RSS after MB | growth MB |", "|---|---|---|---|---|"]
    with Server() as base:
        # The slower clients get fewer calls: the openai SDK a tenth, litellm a fiftieth.
        for kind, call, calls in (("evalkit transport.complete (fast path)", make_provider(base, "fast"), n),
                                  ("raw aiohttp", make_aiohttp(base), n),
                                  ("raw openai.AsyncOpenAI", make_openai(base), n // 10),
                                  ("evalkit transport.complete (litellm)", make_provider(base, "litellm"), n // 50)):
            await run_batch(call, 500, 64, kind)
            before = proc.memory_info().rss
            await run_batch(call, calls, 64, kind, warm=0)
            after = proc.memory_info().rss
            rows.append(f"| {kind} | {calls} | {before / 2**20:.0f} | {after / 2**20:.0f} "
                        f"| {(after - before) / 2**20:+.1f} |")
    return rows


# --- 6. reports ----------------------------------------------------------------------------

REPORT_SCRIPT = """
import resource, sys, time
from pathlib import Path
from evalkit.store import Store
from evalkit.testing.synthetic_run import make_run, model_lineup
from evalkit.analysis.run_analysis import analyse_run
from evalkit.report.formats import write_reports
d = Path(sys.argv[1]); models, suites, items = 10, 2, int(sys.argv[2]) // 20
store = Store("sqlite:///" + str(d / "runs.db"))
run_id = make_run(store, d / "suites", model_lineup(models), suites, items)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
analysis = analyse_run(store, run_id)
t_analyse = time.perf_counter() - t
write_reports(analysis, ["html", "pdf", "md"], d / "out", "50000/day")
total = time.perf_counter() - t
print(models * suites * items, round(t_analyse, 2), round(total, 2), before // 1024,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def bench_reports(records: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", REPORT_SCRIPT, tmp, str(records)], env=env, cwd=ROOT,
                             check=True, capture_output=True, text=True).stdout.split()
    n, analyse, total, before, peak = out
    return ["| records | analyse s | analyse + html + pdf + md s | peak RSS MB (after building the run: "
            f"{before}) |", "|---|---|---|---|", f"| {n} | {analyse} | {total} | {peak} |"]


# --- 8. the streaming scenario at concurrency 32 -------------------------------------------------


async def bench_streaming_32(scale: float) -> list[str]:
    """400 streamed items, server TTFT 50 ms then 8 words 20/7 ms apart (70 ms a call), at
    concurrency 32: efficiency and TTFT error measured on the same calls."""
    ttft, gap, concurrency = 0.05, 0.02 / 7, 32
    n = max(64, int(1000 * scale))
    rows = ["| client | N | ideal s | actual s | ideal ÷ actual | TTFT error p50 ms | TTFT error p99 ms "
            "| server late p50 / p99 ms | client CPU ms/call | loop lag p99 ms | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    with Server(ttft=ttft, token_delay=gap) as base:
        runs = [await timed_run(base, run_batch(make_openai(base), n, concurrency, "raw openai.AsyncOpenAI")),
                await timed_run(base, run_batch(make_aiohttp(base), n, concurrency, "raw aiohttp")),
                await timed_run(base, run_runner(base, n, concurrency)),
                await timed_run(base, run_runner(base, n, concurrency, store=True)),
                await timed_run(base, run_runner(base, n // 4, concurrency, "litellm"))]
    for m, late in runs:
        count = len(m.e2e) + m.errors
        ideal = count * (ttft + 7 * gap) / concurrency
        err = [t - ttft for t in m.ttft]
        rows.append(f"| {m.kind} | {count} | {ideal:.2f} | {m.wall:.2f} | {ideal / m.wall:.2f} "
                    f"| {ms(m.pct(err, .5))} | {ms(m.pct(err, .99))} | {late['p50']} / {late['p99']} "
                    f"| {ms(m.cpu / max(1, count))} | {m.loop_lag_p99_ms:.1f} | {m.errors} |")
    return rows


# --- README --------------------------------------------------------------------------------


def machine() -> str:
    import psutil

    load = os.getloadavg()
    return (f"{platform.node()}: {platform.machine()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.1f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average {load[0]:.1f} at the start")


PEER_TASK = """task: perf_peer
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}}"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n\\n"]
  max_gen_toks: 16
metric_list:
  - metric: exact_match
"""


def bench_peers(scale: float) -> list[str]:
    """lm-eval's OpenAI-compatible chat model type and evalkit's runner on the same items."""
    try:
        from lm_eval import simple_evaluate
        from lm_eval.tasks import TaskManager
    except ImportError:
        return ["lm-eval is not installed in this environment: the peer comparison was not run."]
    latency, concurrency, n = 0.1, 16, max(32, int(400 * scale))
    rows = ["| harness | N | C | ideal s (N·L/C) | actual s | ideal ÷ actual | per-call latency recorded |",
            "|---|---|---|---|---|---|---|"]
    with Server(ttft=latency, text="4") as base, tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "items.jsonl"
        data.write_text("".join(f'{{"question": "What is {i}+0?", "answer": "{i}"}}\n' for i in range(n)))
        (Path(folder) / "task.yaml").write_text(PEER_TASK.format(data=data))
        os.environ.setdefault("OPENAI_API_KEY", "bench")
        started = time.perf_counter()
        simple_evaluate(model="local-chat-completions",
                        model_args={"model": "scripted", "base_url": f"{base}/chat/completions",
                                    "num_concurrent": concurrency, "max_retries": 1},
                        tasks=["perf_peer"], apply_chat_template=True,
                        task_manager=TaskManager(include_path=folder, include_defaults=False))
        lm_eval_wall = time.perf_counter() - started
        evalkit = asyncio.run(run_runner(base, n, concurrency))
    ideal = n * latency / concurrency
    rows.append(f"| lm-eval local-chat-completions (non-streaming) | {n} | {concurrency} | {ideal:.2f} "
                f"| {lm_eval_wall:.2f} | {ideal / lm_eval_wall:.2f} | none |")
    rows.append(f"| {evalkit.kind} (streaming) | {n} | {concurrency} | {ideal:.2f} | {evalkit.wall:.2f} "
                f"| {ideal / evalkit.wall:.2f} | TTFT, E2E, tokens, cost per call |")
    rows.append("")
    rows.append("Actual is the wall-clock time of each harness's whole call, lm-eval's task set-up included "
                "(evalkit's suite is built before the clock starts, and it warms up first).")
    return rows


def bench_cold(scale: float) -> list[str]:
    """`python -m benchmarks.perf.cold` for this tree: whole processes, so in processes of their own."""
    items = str(max(200, int(2000 * scale)))
    done = subprocess.run([sys.executable, "-m", "benchmarks.perf.cold", "--rounds", "3", "--items", items],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True,
                          text=True)
    return done.stdout.splitlines()[1:]  # the first line is the machine, in this file's header already


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf")
    parser.add_argument("--quick", action="store_true", help="a tenth of the calls: a smoke test")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every call count by this")
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="stored run sizes for the report benchmark")
    parser.add_argument("--only", nargs="+", default=None, metavar="N",
                        help="run only these benchmarks (numbers) and print them; README.md is left alone")
    parser.add_argument("--out", default=str(HERE / "README.md"),
                        help="file whose results section (between the markers) is replaced")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else args.scale
    started = datetime.datetime.now(datetime.timezone.utc)
    header = machine()
    benchmarks = [
        ("1. Overhead per call (streaming, server answers at once, 8 content chunks)",
         lambda: asyncio.run(bench_overhead(scale))),
        ("2. Efficiency against the ideal (server latency L = 100 ms)", lambda: asyncio.run(bench_efficiency(scale))),
        ("3. Timing accuracy (server TTFT 50 ms, 7 gaps of 10 ms)", lambda: asyncio.run(bench_timing(scale))),
        ("4. Start-up", bench_startup),
        ("5. Memory over streamed calls (concurrency 64)", lambda: asyncio.run(bench_memory(scale))),
        *((f"6. Analysis and reports for {records:,} records", lambda records=records: bench_reports(records))
          for records in args.records),
        ("7. Against peers (server latency L = 100 ms, same items, same concurrency)", lambda: bench_peers(scale)),
        ("8. Streaming at concurrency 32: efficiency and TTFT error on the same calls "
         "(server TTFT 50 ms, 8 words, 70 ms a call)", lambda: asyncio.run(bench_streaming_32(scale))),
        ("9. Cold start and fixed costs (whole processes; before/after: python -m benchmarks.perf.cold --before DIR)",
         lambda: bench_cold(scale)),
    ]
    sections = []
    for title, produce in benchmarks:
        if args.only and title.split(".")[0] not in args.only:
            continue
        print(title, flush=True)
        t = time.perf_counter()
        rows = produce()
        print("\n".join(rows), f"\n({time.perf_counter() - t:.0f} s)\n", flush=True)
        sections.append(f"### {title}\n\n" + "\n".join(rows))
    if args.only:
        return 0  # a partial run is printed, never written over the full table
    scale = f" --scale {args.scale}" if args.scale != 1 else ""
    command = "python -m benchmarks.perf" + (" --quick" if args.quick else scale)
    command += f" --records {' '.join(map(str, args.records))}" if args.records != [100_000, 1_000_000] else ""
    text = (f"Measured {started:%Y-%m-%d %H:%M} UTC on {header}.\n\nCommand: `{command}`\n\n"
            + "\n\n".join(sections) + "\n")
    write_results(Path(args.out), text)
    print(f"wrote {args.out}")
    return 0


BEGIN, END = "<!-- results: written by python -m benchmarks.perf -->", "<!-- /results -->"


def write_results(path: Path, text: str) -> None:
    """Replace the results between the markers, keeping the prose around them."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = f"{head}{BEGIN}\n{text}{END}{rest.split(END, 1)[1]}"
    else:
        new = f"{old}{BEGIN}\n{text}{END}\n"
    path.write_text(new, encoding="utf-8")
