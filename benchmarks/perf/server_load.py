"""How much load a benchmark server sustains: streamed calls per second and server CPU per call.

    python -m benchmarks.perf.server_load --server fast --client aiohttp -n 5000 -c 64
    python -m benchmarks.perf.server_load --server scripted --client httpx -n 2000 -c 64
    python -m benchmarks.perf.server_load --server fast --ttft 0.1 --text 4 -n 2000 -c 256

Starts the server as its own process (``fast``: benchmarks.perf.server, ``scripted``:
evalkit.testing.scripted_server), runs one client process against it and prints calls/s,
client and server CPU per call (psutil, workers included) and ideal ÷ actual when there is
a TTFT. It exists to choose and tune the server, not as one of the benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

import psutil

from benchmarks.perf.clients import make_aiohttp, make_httpx, run_batch
from benchmarks.perf.run import ANSWER, ROOT

MODULES = {"fast": "benchmarks.perf.server", "scripted": "evalkit.testing.scripted_server"}


def server_cpu(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf.server_load")
    parser.add_argument("--server", choices=sorted(MODULES), default="fast")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp")
    parser.add_argument("-n", type=int, default=2000, help="calls")
    parser.add_argument("-c", type=int, default=64, help="concurrency")
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--text", default=ANSWER)
    parser.add_argument("server_args", nargs="*", help="passed on to the server, after --")
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", MODULES[args.server], "--port", "0", "--ttft", str(args.ttft),
               "--token-delay", str(args.token_delay), "--text", args.text, *args.server_args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        base_url = proc.stdout.readline().strip()
        server = psutil.Process(proc.pid)
        call = (make_aiohttp if args.client == "aiohttp" else make_httpx)(base_url)

        async def measure():
            await run_batch(call, 2 * args.c, args.c, "warm-up")  # connections opened, code paths hot
            before = server_cpu(server)
            measured = await run_batch(call, args.n, args.c, args.client, warm=0)
            if hasattr(call, "close"):
                await call.close()
            return measured, server_cpu(server) - before

        measured, cpu = asyncio.run(measure())
    finally:
        proc.terminate()
        proc.wait(10)
    calls = len(measured.e2e) + measured.errors
    line = (f"{args.server} {' '.join(args.server_args)} | {args.client} | N={calls} C={args.c} "
            f"| {measured.calls_per_s:.0f} calls/s | wall {measured.wall:.2f} s "
            f"| server CPU {1000 * cpu / calls:.2f} ms/call | client CPU {1000 * measured.cpu / calls:.2f} ms/call "
            f"| p50 e2e {1000 * measured.pct(measured.e2e, .5):.1f} ms | errors {measured.errors}")
    if args.ttft:
        ideal = calls * args.ttft / args.c
        line += (f" | ideal {ideal:.2f} s, ideal/actual {ideal / measured.wall:.2f}"
                 f" | TTFT p50 {1000 * measured.pct(measured.ttft, .5):.0f} ms"
                 f" p99 {1000 * measured.pct(measured.ttft, .99):.0f} ms")
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
