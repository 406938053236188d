"""The embedded model's server process: llama.cpp's own HTTP server, through xllamacpp.

`evalkit.transport.local.server.LocalServer` starts `python -m evalkit.transport.local.process ...` as a process of
its own: a crash inside llama.cpp (a signal such as SIGILL) then ends this process, never
evalkit's, and its exit status tells the parent what happened. xllamacpp ships llama.cpp
prebuilt for x86-64 with AVX2 (no AVX-512, no AMX), so nothing here depends on the CPU of
the machine that built it, and nothing is compiled at install time.

Once the server listens, its base URL is written to `--ready-file` (atomically); the
process then serves until SIGTERM or SIGINT, or until its parent is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from evalkit.transport.local.template import chat_template

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_PARENT_CHECK_S = 0.5


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Blocked before llama.cpp starts its threads, which inherit the mask: the signals then
    # wait for sigtimedwait below instead of landing in a C++ thread.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    parent = os.getppid()
    # Below evalkit's priority: on a small machine the server's threads would otherwise keep
    # the client from reading the stream on time, and that wait would count as latency.
    os.nice(args.niceness)
    import xllamacpp

    try:
        server = xllamacpp.Server(_params(xllamacpp, args))
    except RuntimeError as error:
        # llama.cpp has logged the reason (bad file, port in use) just above.
        print(f"evalkit.transport.local.process: {error}", file=sys.stderr, flush=True)
        return 1
    _write_ready_file(Path(args.ready_file), server.listening_address)
    while os.getppid() == parent:  # an orphan (parent killed with -9) stops by itself
        if signal.sigtimedwait(_STOP_SIGNALS, _PARENT_CHECK_S) is not None:
            break
    del server  # joins llama.cpp's threads: a clean stop, not a kill mid-write
    return 0


def _params(xllamacpp, args: argparse.Namespace):
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    # One slot per request the runner may send at once, each with the full context.
    params.n_parallel = args.slots
    params.n_ctx = args.ctx * args.slots
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    # The GGUF's own template has no tools, and llama.cpp would drop an item's `tools`
    # unseen: this one renders them in the model's function-calling format (and plain
    # conversations exactly as the GGUF's does). Jinja is xllamacpp's default; set anyway.
    params.use_jinja = True
    params.chat_template = chat_template()
    return params


def _write_ready_file(path: Path, base: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"base": base, "pid": os.getpid()}))
    os.replace(partial, path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evalkit.transport.local.process")
    parser.add_argument("--model", required=True, help="GGUF file to serve")
    parser.add_argument("--alias", required=True, help="model name the server answers to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port chosen by the OS")
    parser.add_argument("--ctx", type=int, default=8192, help="context tokens per slot")
    parser.add_argument("--slots", type=int, default=1, help="requests served at once")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--niceness", type=int, default=10, help="added to the process's nice value")
    parser.add_argument("--ready-file", required=True, help="where to write the base URL once listening")
    return parser


if __name__ == "__main__":
    sys.exit(main())
