"""Real providers, one short call each: run only where the provider's key is set.

They check what the loopback tests cannot: that the default model ids, the key lookup,
usage reporting and prices are right for the real APIs.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from evalkit.config.keys import resolve_api_key
from evalkit.config.lineup import provider_defaults
from evalkit.config.models import ModelConfig
from evalkit.economics.pricing import resolve_price
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample

DEFAULTS = provider_defaults()
"""One case per provider of the default lineup (`evalkit/data/providers.yaml`): DeepSeek,
Qwen, Kimi, GLM, Doubao, MiniMax, OpenAI, Anthropic, Google, OpenRouter and the hosts of open
weights (Together, Fireworks, Groq, DeepInfra, Hugging Face)."""


def _asks_for_usage(model_id: str) -> bool:
    from evalkit.config import routes

    return not routes.route_for(model_id).fast or "stream_options" in routes.request_body(model_id, [], {})


@pytest.mark.provider
@pytest.mark.parametrize("default", DEFAULTS, ids=[d.provider for d in DEFAULTS])
def test_default_model_answers_with_usage_and_cost(default):
    key_env = next((name for name in default.env if os.environ.get(name)), None)
    if key_env is None:
        pytest.skip(f"{' or '.join(default.env)} not set")
    model = ModelConfig(id=default.model, api_key_env=key_env)
    price = resolve_price(model)
    target = Target(
        label=default.label, model_id=model.id, config_id=model.id, price=price,
        params={"temperature": 0, "max_tokens": 64}, api_key=resolve_api_key(model),
    )
    sample = Sample(
        id="live-1", suite="live", reference=391, scorer="numeric",
        messages=({"role": "user", "content": "What is 17 * 23? Reply with just the number."},),
    )
    records = []
    asyncio.run(Runner("live", 60, RetryPolicy(retries=2), records.append).run([Job(target, sample)]))
    record = records[0]
    assert record.error_class is None, record.error_message
    assert record.score == 1.0
    if _asks_for_usage(model.id):
        assert record.usage_source == "provider" and record.prompt_tokens > 0
    else:  # sent as litellm sends it, without stream_options (DeepInfra): usage if the provider volunteers it
        assert record.usage_source in ("provider", "estimated") and record.prompt_tokens > 0
    assert record.ttft_s is not None and record.ttft_s <= record.e2e_s
    if price.known:
        assert record.cost_usd > 0
