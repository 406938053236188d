"""Each provider the default lineup added, at the wire: the request evalkit sends and what comes back.

One call per provider through the runner, on the fast path, to the scripted server, with only
the provider's own variables pointing there (or the config's api_base where no variable names
the endpoint): the request reaches the path the provider serves, carries the model name and
body the provider expects and the key in its Authorization header; the answer reaches the
scorer, the tokens are the provider's usage (or an estimate, flagged), and the cost is the
usage at the price map's rates, computed by hand below.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from evalkit.config import routes
from evalkit.config.keys import resolve_api_key
from evalkit.config.models import ModelConfig
from evalkit.economics.pricing import resolve_price
from evalkit.run.runner import Job, RetryPolicy, Runner, Target
from evalkit.suites.base import Sample
from evalkit.testing.scripted_server import Reply, ScriptedServer
from evalkit.transport import fast_path

PROMPT_TOKENS, COMPLETION_TOKENS = 1200, 300
PARAMS = {"temperature": 0.0, "max_tokens": 512, "seed": 1234}
"""What `evalkit compare` sends by default."""


@dataclass(frozen=True)
class Dialect:
    model_id: str
    base_env: str | None
    """The variable that points the provider at the server; None: the config's api_base does."""
    key_env: str
    sent_model: str
    """The model name the request body carries."""
    price_in: float | None
    """USD per input token in litellm's price map (None: no price there)."""
    price_out: float | None
    base_suffix: str = "/v1"
    """What follows the server's origin in the endpoint given (the route completes the rest)."""
    asks_usage: bool = True
    seed: bool = True


DIALECTS = {
    "doubao": Dialect("volcengine/doubao-seed-2-1-pro-260915", "VOLCENGINE_API_BASE", "VOLCENGINE_API_KEY",
                      "doubao-seed-2-1-pro-260915", 8.625e-07, 4.3125e-06),
    # MiniMax's endpoint given as a bare origin: litellm completes it to /v1
    "minimax": Dialect("minimax/MiniMax-M3", "MINIMAX_API_BASE", "MINIMAX_API_KEY", "MiniMax-M3",
                       3e-07, 1.2e-06, base_suffix=""),
    "fireworks": Dialect("fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507", "FIREWORKS_API_BASE",
                         "FIREWORKS_AI_API_KEY", "accounts/fireworks/models/qwen3-235b-a22b-instruct-2507",
                         2.2e-07, 8.8e-07),
    "groq": Dialect("groq/openai/gpt-oss-120b", "GROQ_API_BASE", "GROQ_API_KEY", "openai/gpt-oss-120b",
                    1.5e-07, 6e-07),
    # litellm asks DeepInfra for no usage and sends no seed: tokens are estimated, and say so
    "deepinfra": Dialect("deepinfra/deepseek-ai/DeepSeek-V3.2", "DEEPINFRA_API_BASE", "DEEPINFRA_API_KEY",
                         "deepseek-ai/DeepSeek-V3.2", 2.6e-07, 3.8e-07, asks_usage=False, seed=False),
    # the router's `:provider` suffix picks the inference provider; no price-map entry: cost unknown
    "hugging face": Dialect("huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507:together", None, "HF_TOKEN",
                            "Qwen/Qwen3-235B-A22B-Instruct-2507:together", None, None, base_suffix=""),
}


@pytest.fixture
def clean_env(monkeypatch):
    for route in routes.routes().values():
        for name in (*route.api_base_env, *route.key_env):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(routes.TRANSPORT_ENV, raising=False)
    return monkeypatch


def _call(target: Target):
    sample = Sample(id="d-1", suite="dialect", reference=391, scorer="numeric",
                    messages=({"role": "user", "content": "What is 17 * 23?"},))
    records = []

    async def run() -> None:
        try:
            await Runner("dialect", 10, RetryPolicy(retries=0), records.append).run([Job(target, sample)])
        finally:
            await fast_path.close_sessions()

    asyncio.run(run())
    return records[0]


@pytest.mark.parametrize("name", DIALECTS)
def test_the_provider_gets_its_own_dialect_and_the_answer_tokens_and_cost_come_back(name, clean_env):
    dialect = DIALECTS[name]
    key = f"sk-{name.replace(' ', '-')}-0123456789"
    reply = Reply("The answer is 391", prompt_tokens=PROMPT_TOKENS, completion_tokens=COMPLETION_TOKENS)
    with ScriptedServer(reply) as server:
        endpoint = server.url + dialect.base_suffix
        if dialect.base_env:
            clean_env.setenv(dialect.base_env, endpoint)
        clean_env.setenv(dialect.key_env, key)
        model = ModelConfig(id=dialect.model_id, api_base=None if dialect.base_env else endpoint)
        price = resolve_price(model)
        target = Target(label=name, model_id=model.id, config_id=model.id, price=price, params=dict(PARAMS),
                        api_base=model.api_base, api_key=resolve_api_key(model) if dialect.base_env else key)
        assert routes.takes_fast_path(model.id)
        record = _call(target)
        (request,) = server.requests

    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {key}"
    body = request.body
    assert body["model"] == dialect.sent_model and body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "What is 17 * 23?"}]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 512
    assert ("stream_options" in body) == dialect.asks_usage
    assert ("seed" in body) == dialect.seed

    assert record.error_class is None, record.error_message
    assert record.response_text == "The answer is 391" and record.score == 1.0
    assert record.ttft_s is not None and record.ttft_s <= record.e2e_s
    if dialect.asks_usage:
        assert record.usage_source == "provider"
        assert (record.prompt_tokens, record.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    else:  # no usage asked, none sent: counted by a tokenizer and marked so, never 0
        assert record.usage_source == "estimated" and record.prompt_tokens > 0 and record.completion_tokens > 0
    if dialect.price_in is None:
        assert not price.known and record.cost_usd is None  # unknown, never $0
    else:
        hand = record.prompt_tokens * dialect.price_in + record.completion_tokens * dialect.price_out
        assert record.cost_usd == pytest.approx(hand, rel=1e-9)


HAND_CENTS = {
    "doubao": 0.232875,  # 1,200 x $0.8625/M + 300 x $4.3125/M = $0.001035 + $0.00129375
    "minimax": 0.072,    # 1,200 x $0.30/M + 300 x $1.20/M = $0.00036 + $0.00036
    "fireworks": 0.0528,  # 1,200 x $0.22/M + 300 x $0.88/M = $0.000264 + $0.000264
    "groq": 0.036,       # 1,200 x $0.15/M + 300 x $0.60/M = $0.00018 + $0.00018
}


@pytest.mark.parametrize("name", HAND_CENTS)
def test_the_price_map_rates_give_the_cost_worked_out_by_hand(name):
    """The rates the test above holds the runner's cost to, against the arithmetic written out."""
    dialect = DIALECTS[name]
    price = resolve_price(ModelConfig(id=dialect.model_id))
    assert (price.input, price.output) == (dialect.price_in, dialect.price_out)
    assert 100 * (PROMPT_TOKENS * price.input + COMPLETION_TOKENS * price.output) == pytest.approx(HAND_CENTS[name])
