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


THINKING_PAIRS = [  # (model, key variable, thinking on, thinking off)
    ("deepseek/deepseek-v4-flash", "DEEPSEEK_API_KEY", "on", "off"),
    ("dashscope/qwen-plus", "DASHSCOPE_API_KEY", "on", "off"),
    ("zai/glm-4.6", "ZAI_API_KEY", "on", "off"),
    ("moonshot/kimi-k2.6", "MOONSHOT_API_KEY", "on", "off"),
    ("openai/gpt-5.1", "OPENAI_API_KEY", "low", "off"),
    ("anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY", "low", "off"),
]


@pytest.mark.provider
@pytest.mark.parametrize(("model_id", "key_env", "on", "off"), THINKING_PAIRS, ids=[p[0] for p in THINKING_PAIRS])
def test_thinking_on_thinks_and_off_does_not_and_neither_reaches_the_scorer(model_id, key_env, on, off):
    """The switch as evalkit sends it works on the real API: on, the reply carries reasoning
    (or, where it is hidden, reasoning tokens) and the answer alone is scored; off, none."""
    if not os.environ.get(key_env):
        pytest.skip(f"{key_env} not set")
    sample = Sample(id="live-think", suite="live", reference=391, scorer="numeric",
                    messages=({"role": "user", "content": "What is 17 * 23? Reply with just the number."},))
    records = {}
    for setting in (on, off):
        model = ModelConfig(id=model_id, api_key_env=key_env, thinking=setting)
        params = {"temperature": 0, "max_tokens": 4096, **model.thinking_params}
        target = Target(label=model.display, model_id=model.id, config_id=model.id, price=resolve_price(model),
                        params=params, api_key=resolve_api_key(model))
        done: list = []
        asyncio.run(Runner("live", 120, RetryPolicy(retries=2), done.append).run([Job(target, sample)]))
        records[setting] = done[0]
    thinking, plain = records[on], records[off]
    assert thinking.error_class is None and plain.error_class is None, (thinking.error_message, plain.error_message)
    assert thinking.score == plain.score == 1.0 and "<think>" not in (thinking.response_text or "")
    assert (thinking.reasoning_tokens or 0) > 0 or thinking.reasoning_text
    assert thinking.first_token_s is not None and thinking.first_token_s <= thinking.ttft_s
    assert not plain.reasoning_text and not plain.reasoning_tokens
