"""A stored run made of synthetic records, for report tests and speed checks.

Each model gets a fixed skill, speed and price; every item is asked of every model, so
paired tests, frontiers and disagreements have something to find. Suites are JSONL files
written beside the store, so a report can re-read the prompts like a real run's. Prompts
include Chinese text and a reply that tries to inject `<script>`.
"""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import asdict
from pathlib import Path

from evalkit.config.models import ModelConfig, Price, RunConfig, SuiteConfig
from evalkit.economics.pricing import ModelPrice, resolve_price
from evalkit.store.database import Store
from evalkit.store.records import CallRecord, output_speed_tps

INJECTION = "<script>window.__evalkit_injected = 1; document.title = 'pwned';</script>"

CHINESE_MODELS = ["通义千问-Plus（阿里云）", "深度求索-V3.2 对话模型", "月之暗面 Kimi-K2 长上下文版"]
MODEL_IDS = ["dashscope/qwen-plus", "deepseek/deepseek-chat", "moonshot/kimi-k2-0905-preview",
             "zai/glm-4.6", "openai/gpt-4.1-mini", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash",
             "openai/gpt-4o-mini", "dashscope/qwen-max", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro",
             "openai/gpt-5"]


def model_lineup(count: int, long_names: bool = True) -> list[ModelConfig]:
    models = []
    for i in range(count):
        model_id = MODEL_IDS[i % len(MODEL_IDS)]
        if i < len(CHINESE_MODELS):
            label = CHINESE_MODELS[i]
        else:
            label = f"{model_id.split('/')[-1]}-evaluation-candidate-{i}" if long_names else model_id.split("/")[-1]
        price = Price(input=0.1 * (i + 1) ** 1.5, output=0.4 * (i + 1) ** 1.5)
        models.append(ModelConfig(id=model_id, label=label, price=price))
    return models


def make_run(store: Store, directory: Path, models: list[ModelConfig], suites: int, items: int,
             seed: int = 7, run_id: str = "20261128-120000-test") -> str:
    """Write suite files into ``directory`` and a finished run into ``store``; return its id."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    suite_configs = []
    for s in range(suites):
        name = f"suite-{s}" if s % 2 == 0 else f"中文套件-{s}"
        path = directory / f"{name}.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for k in range(items):
                prompt = (f"问题 {k}: 计算 {k} + {s} 等于多少？ Show your work." if s % 2 else
                          f"Item {k}: what is {k} + {s}? Reply with the number.")
                if k == 0:
                    prompt += " " + INJECTION
                out.write(json.dumps({"id": f"q{k}", "prompt": prompt, "reference": k + s, "scorer": "numeric"},
                                     ensure_ascii=False) + "\n")
        suite_configs.append(SuiteConfig(name=name, path=str(path)))
    config = RunConfig(models=models, suites=suite_configs, source="synthetic")
    prices = {m.display: asdict(_price(m)) for m in models}
    store.start_run(run_id, config.model_dump(mode="json"), config.config_hash(), "0.1.0", prices)
    rows = []
    for i, model in enumerate(models):
        skill = 0.55 + 0.4 * ((i * 7) % len(models)) / max(1, len(models))
        speed = 1.0 + i * 0.35
        for suite in suite_configs:
            for k in range(items):
                rows.append(_record(rng, run_id, model, suite.name, k, items, skill, speed, prices[model.display]))
    _bulk_insert(store, rows)
    store.finish_run(run_id, "finished")
    return run_id


def _price(model: ModelConfig) -> ModelPrice:
    if model.price is None:  # e.g. price_from_capacity: priced as a real run would be
        return dataclasses.replace(resolve_price(model), as_of="2026-11-28")
    return ModelPrice(model=model.display, model_id=model.id, input=model.price.input / 1e6,
                      output=model.price.output / 1e6, source="config override", as_of="2026-11-28")


def _record(rng: random.Random, run_id: str, model: ModelConfig, suite: str, k: int, items: int,
            skill: float, speed: float, price: dict) -> dict:
    right = rng.random() < skill
    failed = rng.random() < 0.01
    ttft = rng.lognormvariate(-1.2, 0.4) * speed
    e2e = ttft + rng.lognormvariate(0.3, 0.5) * speed
    prompt_tokens, completion_tokens = 60 + rng.randint(0, 40), 20 + rng.randint(0, 200)
    answer = "Answer: 42" if not right else f"答案：{k}" if "中文" in suite else f"The answer is {k}."
    if k == 0:
        answer = f"{INJECTION} Answer: {'none' if right else 0}"
    record = CallRecord(
        run_id=run_id, model=model.display, model_id=model.id, suite=suite, sample_id=f"q{k}",
        request_hash=f"{model.id}-{suite}-{k}", response_text=None if failed else answer,
        extracted=None if failed else ("42" if not right else str(k)), score=0.0 if failed else float(right),
        ttft_s=None if failed else ttft, e2e_s=None if failed else e2e,
        output_speed_tps=None if failed else output_speed_tps(completion_tokens, ttft, e2e),
        prompt_tokens=None if failed else prompt_tokens, completion_tokens=None if failed else completion_tokens,
        usage_source="provider",
        cost_usd=0.0 if failed else prompt_tokens * price["input"] + completion_tokens * price["output"],
        error_class="timeout" if failed else None, error_message="timed out" if failed else None,
        started_at=1_795_000_000.0, finished_at=1_795_000_000.0 + e2e,
    )
    return record.to_dict()


def _bulk_insert(store: Store, rows: list[dict]) -> None:
    """One transaction for all rows: a real run commits per record, a fixture need not."""
    import sqlalchemy as sa

    from evalkit.store.schema import records_table

    with store.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(records_table), rows[start:start + 5000])
