"""How each provider's route times its calls: several models at once on one scripted server.

    PYTHONPATH=. python -m benchmarks.perf.routes            # every scenario, 3 rounds each
    PYTHONPATH=. python -m benchmarks.perf.routes --rounds 1 --only fast openai-compatible

Four models run together through evalkit's `Runner`, as `evalkit compare` runs them, against
one scripted OpenAI-compatible server in its own process (TTFT 120 ms, then 80 tokens/s: a
4-token answer ends 157.5 ms after the request). Each model id names a provider and points
at the server through its api_base, so the provider's route (fast path, or litellm in a
worker process) is what is measured, not the provider. Per model: TTFT and end-to-end
medians, and the share of calls the runner flagged as timed under client lag (over
`LAG_LIMIT_MS` of event-loop lag while the call was in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).parent.parent.parent
TTFT_S = 0.120
TOKEN_DELAY_S = 1 / 80
ANSWER = "Answer: 5 is right"  # 4 words: 4 content chunks, 4 tokens
TRUE_E2E_S = TTFT_S + 3 * TOKEN_DELAY_S
ITEMS = 20

SCENARIOS: dict[str, tuple[tuple[str, ...], int]] = {
    "fast": (("openai/m1", "openai/m2", "openai/m3", "openai/m4"), 8),
    "openai-compatible": (("deepseek/deepseek-chat", "dashscope/qwen-plus", "moonshot/kimi-k2.6", "zai/glm-4.6"), 8),
    "mixed": (("openai/m1", "deepseek/deepseek-chat", "dashscope/qwen-plus", "moonshot/kimi-k2.6"), 8),
    "openai-compatible-c1": (("deepseek/deepseek-chat", "dashscope/qwen-plus", "moonshot/kimi-k2.6", "zai/glm-4.6"), 1),
    "litellm-worker": (("openai/m1", "deepseek/deepseek-chat", "dashscope/qwen-plus", "lambda_ai/m4"), 8),
}
"""Scenario name -> (model ids, concurrency per model). `lambda_ai/` is an OpenAI-compatible
host that evalkit leaves to litellm, so it stands in for any litellm-routed model."""


class ScriptedServerProcess:
    """The scripted server in a process of its own, so its threads take no CPU from the client."""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evalkit.testing.scripted_server", "--ttft", str(TTFT_S),
             "--token-delay", str(TOKEN_DELAY_S), "--text", ANSWER],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def targets(model_ids: tuple[str, ...], base_url: str, concurrency: int) -> list:
    from evalkit.economics.pricing import ModelPrice
    from evalkit.run.runner import Target

    price = ModelPrice(model="m", model_id="x", input=1e-6, output=2e-6, source="bench")
    return [Target(label=model_id, model_id=model_id, config_id=model_id, price=price,
                   params={"temperature": 0.0, "max_tokens": 64, "seed": 1234}, api_base=base_url,
                   api_key="k", max_concurrency=concurrency) for model_id in model_ids]


def run_scenario(model_ids: tuple[str, ...], base_url: str, concurrency: int) -> list:
    """One run of every model on `ITEMS` items, interleaved as `evalkit compare` sends them."""
    from evalkit.run.runner import Job, RetryPolicy, Runner
    from evalkit.suites.base import Sample

    samples = [Sample(id=f"q{i}", suite="s", messages=({"role": "user", "content": f"q{i}"},),
                      reference=5, scorer="numeric") for i in range(ITEMS)]
    jobs = [Job(target, sample) for sample in samples for target in targets(model_ids, base_url, concurrency)]
    records: list = []
    asyncio.run(Runner("bench", 30, RetryPolicy(retries=0), records.append).run(jobs))
    return records


def summarize(records: list) -> dict[str, tuple[float, float, float, int]]:
    """Per model: TTFT p50 (ms), E2E p50 (ms), share of calls flagged, errors."""
    from evalkit.store.records import LAG_LIMIT_MS

    out = {}
    for model in dict.fromkeys(r.model for r in records):
        ok = [r for r in records if r.model == model and r.error_class is None]
        flagged = sum(1 for r in ok if (r.loop_lag_ms or 0) > LAG_LIMIT_MS)
        out[model] = (1000 * statistics.median(r.ttft_s for r in ok) if ok else float("nan"),
                      1000 * statistics.median(r.e2e_s for r in ok) if ok else float("nan"),
                      flagged / len(ok) if ok else float("nan"),
                      sum(1 for r in records if r.model == model and r.error_class is not None))
    return out


def route_of(model_id: str) -> str:
    from evalkit import transport

    return "fast path" if transport.uses_fast_path(model_id) else "litellm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf.routes", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each scenario (a fresh run each)")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    args = parser.parse_args(argv)
    print(f"scripted: TTFT {1000 * TTFT_S:.1f} ms, E2E {1000 * TRUE_E2E_S:.1f} ms; {ITEMS} items per model")
    with ScriptedServerProcess() as base_url:
        run_scenario(("openai/warm",), base_url, 8)  # imports and first connections, off the record
        for name in args.only or SCENARIOS:
            model_ids, concurrency = SCENARIOS[name]
            print(f"\n{name} (concurrency {concurrency} each)")
            print(f"  {'model':<26} {'route':<10} {'TTFT p50':>9} {'E2E p50':>9} {'flagged':>8} errors")
            for _round in range(args.rounds):
                records = run_scenario(model_ids, base_url, concurrency)
                for model, (ttft, e2e, flagged, errors) in summarize(records).items():
                    print(f"  {model:<26} {route_of(model):<10} {ttft:7.1f}ms {e2e:7.1f}ms {flagged:7.0%} {errors:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
