"""Calls/s per client core and TTFT error with `--workers` 1, 2 and N, at 256 and 1,024 streams.

    PYTHONPATH=. python -m benchmarks.perf.workers            # prints the markdown table
    PYTHONPATH=. python -m benchmarks.perf.workers --quick    # shorter windows: smoke test

Each row is one closed-loop capacity step (`evalkit.run.step_workers`, what
`evalkit capacity --workers` runs): C streams held open against the benchmark server
(`benchmarks/perf/server.py`, its own process: TTFT 50 ms, then 8 words 10 ms apart, so a
call takes 120 ms at the server), for a warm-up and a measured window. One worker is the
sweep's own loop, as `--workers 1` runs it; more are spawned processes splitting C.

- calls/s: calls that ended in the window, per second;
- client CPU s: CPU time of the processes sending the load during the step (warm-up and
  window), from `time.process_time` in each; "per client core" is calls/s divided by the
  cores that CPU time amounts to (CPU s / step s), so it does not depend on how many cores
  were free;
- TTFT error: measured TTFT minus the server's 50 ms, p50 and p99;
- server CPU: the benchmark server's CPU time over the step (psutil), in cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time

from benchmarks.perf.run import Server, machine

TTFT_S = 0.05
GAP_S = 0.01
PROMPTS = [({"role": "user", "content": f"question {i}"},) for i in range(16)]


async def _in_process(endpoint, options, load: float):
    """One step on this process's own loop: the step, its CPU seconds and the loop's lag p99."""
    from evalkit import transport
    from evalkit.economics.capacity import summarise
    from evalkit.economics.sweep import measure_requests
    from evalkit.transport.lag import LagMonitor

    await transport.warm_up({(endpoint.model_id, endpoint.api_base, endpoint.api_key)})
    lag = LagMonitor()
    lag.start()
    cpu = time.process_time()
    try:
        requests = await measure_requests(endpoint, PROMPTS, options, load, 1, time.perf_counter())
    finally:
        lag.stop()
        await transport.close_clients()
    cpu = time.process_time() - cpu
    ordered = sorted(lag.lags)
    w0 = options.warmup_seconds
    step = summarise(requests, load, "closed", w0, w0 + options.step_seconds)
    return step, cpu, ordered[int(0.99 * (len(ordered) - 1))] if ordered else None


async def _in_workers(endpoint, options, load: float, workers: int):
    """One step split over spawned workers: the step, their CPU seconds, the worst worker's lag p99."""
    from evalkit.run.step_workers import StepWorkers

    measurer = StepWorkers(workers, endpoint, PROMPTS)
    async with measurer:
        step = await measurer.measure(endpoint, PROMPTS, options, load, random.Random(1))
    lags = [lag for lag in measurer.lag_p99_ms[0] if lag is not None]
    return step, measurer.cpu_s[0], max(lags) if lags else None


def measure(base_url: str, server_pid: int, workers: int, streams: int, options) -> dict:
    """One row: the step's calls/s, client and server CPU, TTFT error (in the window)."""
    import psutil

    from evalkit.economics.sweep import Endpoint

    endpoint = Endpoint("openai/scripted", base_url, "test")
    server = psutil.Process(server_pid)
    run = _in_process(endpoint, options, streams) if workers == 1 else _in_workers(endpoint, options, streams,
                                                                                   workers)
    before, started = server.cpu_times(), time.perf_counter()
    step, cpu_s, lag = asyncio.run(run)
    wall, after = time.perf_counter() - started, server.cpu_times()
    client_cores = cpu_s / (options.warmup_seconds + options.step_seconds)

    def error_ms(value):
        return (value - TTFT_S) * 1000 if value is not None else float("nan")

    return {"n": step.n, "errors": step.errors, "calls_per_s": step.requests_per_s, "client_cpu_s": cpu_s,
            "client_cores": client_cores,
            "per_core": step.requests_per_s / client_cores if client_cores else float("nan"),
            "ttft_p50_ms": error_ms(step.ttft_p50), "ttft_p99_ms": error_ms(step.ttft_p99),
            "server_cores": (after.user + after.system - before.user - before.system) / wall, "lag_p99_ms": lag}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf.workers")
    parser.add_argument("--quick", action="store_true", help="1 s windows instead of 5 s")
    parser.add_argument("--workers", type=int, nargs="*", help="worker counts (default: 1, 2 and auto)")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from evalkit.economics.capacity import SweepOptions
    from evalkit.run.workers import free_cores

    auto = free_cores()
    counts = args.workers or sorted({1, 2, max(auto, 4)})
    step_s, warmup_s = (1.0, 0.5) if args.quick else (5.0, 1.0)
    options = SweepOptions(concurrency=(1,), step_seconds=step_s, warmup_seconds=warmup_s, max_tokens=16)
    print(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}; "
          f"--workers auto here gave {auto}.")
    print()
    print("| workers | streams | calls in window | calls/s | client CPU s | client cores | calls/s per client core "
          "| TTFT error p50 ms | TTFT error p99 ms | worst worker loop lag p99 ms | server cores | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    server = Server(ttft=TTFT_S, token_delay=GAP_S)
    with server as base_url:
        for streams in (256, 1024):
            for workers in counts:
                row = measure(base_url, server.proc.pid, workers, streams, options)
                lag = f"{row['lag_p99_ms']:.1f}" if row["lag_p99_ms"] is not None else "n/a"
                print(f"| {workers} | {streams} | {row['n']} | {row['calls_per_s']:.0f} | {row['client_cpu_s']:.2f} "
                      f"| {row['client_cores']:.2f} | {row['per_core']:.0f} | {row['ttft_p50_ms']:.1f} "
                      f"| {row['ttft_p99_ms']:.1f} | {lag} | {row['server_cores']:.2f} | {row['errors']} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
