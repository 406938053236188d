"""Each provider's route, checked against the installed litellm.

`evalkit/data/routes.yaml` is evalkit's own dated copy of what litellm knows about the
OpenAI-compatible providers (endpoint, the variables holding the endpoint and the key, the
parameters it sends). These tests hold the copy to litellm: the default endpoints by
litellm's own resolution; the variables and the whole request by sending one call through
litellm and one through the fast path to the scripted server, with the provider's
variables pointing there, and comparing what arrived; the parameters for every chat model
of each provider in litellm's price map.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from evalkit import transport
from evalkit.config import routes
from evalkit.testing.scripted_server import Reply, ScriptedServer
from evalkit.transport import fast_path
from evalkit.transport import litellm as in_process
from evalkit.transport.base import Attempt, Request

FAST = sorted(name for name, route in routes.routes().items() if route.fast)
MESSAGES = ({"role": "user", "content": "2+2?"},)
PARAMS = {"temperature": 0.0, "max_tokens": 512, "seed": 1234}
"""What `evalkit compare` sends by default (run.temperature, run.max_tokens, run.seed)."""

REPRESENTATIVE = {
    "openai": ["openai/gpt-4.1-mini", "openai/gpt-5-mini"],
    "hosted_vllm": ["hosted_vllm/Qwen/Qwen3-8B"],
    "deepseek": ["deepseek/deepseek-v4-flash", "deepseek/deepseek-reasoner"],
    "dashscope": ["dashscope/qwen-plus"],
    "moonshot": ["moonshot/kimi-k2.6", "moonshot/moonshot-v1-8k"],
    "zai": ["zai/glm-4.6"],
    "openrouter": ["openrouter/qwen/qwen3-235b-a22b-2507"],
    "together_ai": ["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"],
    "nebius": ["nebius/Qwen/Qwen3-32B"],
    "novita": ["novita/deepseek/deepseek-v3.2"],
    "volcengine": ["volcengine/doubao-seed-2-1-pro-260915"],
    "minimax": ["minimax/MiniMax-M3"],
    "fireworks_ai": ["fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507"],
    "groq": ["groq/openai/gpt-oss-120b"],
    "deepinfra": ["deepinfra/deepseek-ai/DeepSeek-V3.2"],
    "huggingface": ["huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507"],
}
"""Models sent both ways: the default lineup's, and one of each parameter dialect."""


@pytest.fixture(scope="module")
def litellm():
    return in_process._litellm()


@pytest.fixture
def clean_env(monkeypatch):
    """No variable any route reads: litellm and evalkit both fall back to their defaults."""
    for route in routes.routes().values():
        for name in (*route.api_base_env, *route.key_env):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(routes.TRANSPORT_ENV, raising=False)
    return monkeypatch


def test_every_provider_the_issue_names_takes_the_fast_path_and_the_others_do_not():
    assert {"openai", "deepseek", "dashscope", "moonshot", "zai", "openrouter", "volcengine", "minimax",
            "together_ai", "fireworks_ai", "groq", "deepinfra", "huggingface"} <= set(FAST)
    for provider in ("anthropic", "bedrock", "vertex_ai", "gemini"):
        route = routes.routes()[provider]
        assert not route.fast and route.why and route.source and route.as_of
    assert not routes.route_for("some_new_provider/m").fast  # unknown: litellm, which knows more


def test_every_route_names_its_source_and_date():
    for name, route in routes.routes().items():
        assert route.source and route.as_of[:2] == "20", name
        if route.fast:
            assert route.key_env, f"{name}: a fast route needs the variables that hold its key"


def test_deciding_a_route_imports_neither_litellm_nor_pandas():
    code = ("import sys; from evalkit import transport; from evalkit.transport import fast_path\n"
            "assert transport.uses_fast_path('deepseek/deepseek-chat')\n"
            "assert not transport.uses_fast_path('anthropic/claude-haiku-4-5')\n"
            "fast_path._body(transport.Request('moonshot/kimi-k2.6', (), {'temperature': 0}, 5))\n"
            "print(sorted(m for m in ('litellm', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _litellm_default_endpoint(litellm, provider: str) -> str | None:
    """Where litellm sends a provider's calls when nothing says otherwise."""
    if provider == "openai":  # litellm hands OpenAI's own SDK no base: the SDK's default
        import openai

        return str(openai.AsyncOpenAI(api_key="x").base_url).rstrip("/")
    if provider == "openrouter":  # resolved at call time, by this helper of litellm's
        from litellm.llms.openrouter.common_utils import OpenRouterModelInfo

        return OpenRouterModelInfo.get_api_base()
    if provider == "minimax":  # resolved at call time, by its chat config
        from litellm.llms.minimax.chat.transformation import MinimaxChatConfig

        return MinimaxChatConfig.get_api_base()
    if provider == "huggingface":  # the router's URL, built per model at call time
        from litellm.llms.huggingface.chat.transformation import HuggingFaceChatConfig

        url = HuggingFaceChatConfig().get_complete_url(None, None, "Qwen/Qwen3-8B", {}, {})
        return url.removesuffix("/chat/completions")
    return litellm.get_llm_provider(f"{provider}/probe")[3]


@pytest.mark.parametrize("provider", FAST)
def test_the_default_endpoint_is_litellms(provider, litellm, clean_env):
    assert routes.routes()[provider].endpoint() == _litellm_default_endpoint(litellm, provider)


def test_a_dashscope_origin_is_completed_to_its_compatible_mode_path_as_litellm_does(litellm, clean_env):
    from litellm.llms.dashscope.common_utils import resolve_dashscope_openai_api_base

    dashscope = routes.routes()["dashscope"]
    for base in ("https://dashscope-intl.aliyuncs.com", "https://dashscope-us.aliyuncs.com/",
                 "https://dashscope.aliyuncs.com/compatible-mode/v1", "http://127.0.0.1:8000"):
        assert dashscope.endpoint(base) == resolve_dashscope_openai_api_base(base), base


def test_the_configured_api_base_wins_over_the_variable_which_wins_over_the_default(clean_env):
    deepseek = routes.routes()["deepseek"]
    assert deepseek.endpoint() == "https://api.deepseek.com/beta"
    clean_env.setenv("DEEPSEEK_API_BASE", "http://from-env/v1")
    assert deepseek.endpoint() == "http://from-env/v1"
    assert deepseek.endpoint("http://from-config/v1") == "http://from-config/v1"


def _variants(route: routes.Route) -> list[tuple[str, str]]:
    """(endpoint variable, key variable) pairs that together name every variable once."""
    bases, keys = list(route.api_base_env) or [""], list(route.key_env)
    return [(bases[min(i, len(bases) - 1)], keys[min(i, len(keys) - 1)]) for i in range(max(len(bases), len(keys)))]


def _received(server: ScriptedServer, before: int) -> tuple[str, str | None, dict]:
    request = server.requests[before]
    return request.path, request.headers.get("authorization"), request.body


@pytest.mark.parametrize("provider", FAST)
def test_litellm_and_the_fast_path_send_the_same_request_to_the_same_place(provider, litellm, clean_env):
    """With the provider's own variables pointing at the scripted server, a call through
    litellm and one through the fast path arrive at the same path, with the same key and
    the same body: the route reads what litellm reads and sends what litellm sends."""
    route = routes.routes()[provider]
    with ScriptedServer(Reply("Answer: 4")) as server:
        for base_var, key_var in _variants(route):
            for name in (*route.api_base_env, *route.key_env):
                clean_env.delenv(name, raising=False)
            if base_var:
                clean_env.setenv(base_var, server.base_url)
            clean_env.setenv(key_var, f"sk-{key_var.lower()}-0123456789")
            for model_id in REPRESENTATIVE[provider]:
                # a provider whose endpoint no variable names is pointed there by the config's api_base
                request = Request(model_id=model_id, messages=MESSAGES, params=PARAMS, timeout=10,
                                  api_base=None if base_var else server.base_url)
                before = len(server.requests)
                asyncio.run(in_process.complete(request))
                via_litellm = _received(server, before)
                if provider == "huggingface":  # litellm leaves its own client setting in the body when an
                    via_litellm[2].pop("max_retries", None)  # endpoint is given; it drops it for the router
                asyncio.run(_fast(request))
                via_fast_path = _received(server, before + 1)
                assert via_fast_path == via_litellm, (model_id, base_var, key_var)


async def _fast(request: Request) -> Attempt:
    try:
        return await fast_path.complete(request)
    finally:
        await fast_path.close_sessions()


def _priced_chat_models(litellm, provider: str) -> list[str]:
    ids = {key if key.startswith(f"{provider}/") else f"{provider}/{key}"
           for key, entry in litellm.model_cost.items()
           if entry.get("litellm_provider") == provider and entry.get("mode") == "chat"}
    return sorted(ids | set(REPRESENTATIVE[provider]))


def _litellm_body(litellm, model_id: str, params: dict) -> dict:
    """The body litellm builds for a streamed call (extra_body merged, as it goes out)."""
    from litellm.utils import ProviderConfigManager, get_optional_params

    model, provider, _key, _base = litellm.get_llm_provider(model_id)
    optional = get_optional_params(model=model, custom_llm_provider=provider, stream=True,
                                   stream_options={"include_usage": True}, drop_params=True, **params)
    config = ProviderConfigManager.get_provider_chat_config(model=model, provider=litellm.LlmProviders(provider))
    body = config.transform_request(model=model, messages=[dict(m) for m in MESSAGES],
                                    optional_params=dict(optional), litellm_params={}, headers={})
    return {**{k: v for k, v in body.items() if k != "extra_body"}, **(body.get("extra_body") or {})}


@pytest.mark.parametrize("provider", FAST)
def test_the_parameters_are_spelled_as_litellm_spells_them_for_every_priced_model(provider, litellm):
    litellm.suppress_debug_info = True
    mismatches = []
    for model_id in _priced_chat_models(litellm, provider):
        for temperature in (0.0, 0.7, 1.0, 1.5):
            params = {**PARAMS, "temperature": temperature}
            ours = routes.request_body(transport.model_called(model_id), [dict(m) for m in MESSAGES], params)
            theirs = _litellm_body(litellm, model_id, params)
            if ours != theirs:
                mismatches.append(f"{model_id} at temperature {temperature}: evalkit {ours}, litellm {theirs}")
    assert not mismatches, "\n".join(mismatches[:10])


def test_a_fast_provider_without_an_endpoint_stops_before_any_call(tmp_path, clean_env):
    from evalkit.cli import main

    result = CliRunner().invoke(main, ["compare", "-m", "hosted_vllm/qwen", "-s", "arithmetic",
                                       "--store", f"sqlite:///{tmp_path}/runs.db", "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "hosted_vllm/qwen needs an endpoint" in result.output and "HOSTED_VLLM_API_BASE" in result.output
    assert not (tmp_path / "runs.db").exists()


def test_a_fast_provider_reads_its_key_from_the_variable_litellm_reads(clean_env):
    from evalkit.config.keys import key_env_for, resolve_api_key
    from evalkit.config.models import ModelConfig
    from evalkit.errors import UsageError

    model = ModelConfig(id="together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    assert key_env_for(model, {}) == "TOGETHER_API_KEY"
    assert key_env_for(model, {"TOGETHERAI_API_KEY": "k"}) == "TOGETHERAI_API_KEY"
    with pytest.raises(UsageError, match="set the TOGETHER_API_KEY environment variable"):
        resolve_api_key(model, {})
    assert os.environ.get("TOGETHER_API_KEY") is None


def test_the_data_file_refuses_an_entry_it_does_not_understand():
    with pytest.raises(ValueError, match=r"routes\.yaml: x: unknown field"):
        routes._route("x", {"route": "fast", "api_bse": "http://h", "source": "s", "as_of": "2026-01-01"})
    with pytest.raises(ValueError, match="source and as_of"):
        routes._route("x", {"route": "fast"})
    with pytest.raises(ValueError, match="unknown parameter rule"):
        routes._route("x", {"route": "fast", "params": {"drop_all": True}, "source": "s", "as_of": "2026"})


def test_temperature_rules():
    only_one = routes.ParamRules(temperature_only=1)
    assert only_one.apply({"temperature": 0.0, "max_tokens": 5}) == {"max_tokens": 5}
    assert only_one.apply({"temperature": 1}) == {"temperature": 1}
    capped = routes.ParamRules(temperature_max=1, rename={"max_tokens": "max_completion_tokens"}, drop=("seed",))
    assert capped.apply({"temperature": 1.5, "max_tokens": 5, "seed": 3}) == {"temperature": 1,
                                                                               "max_completion_tokens": 5}
    assert json.dumps(routes.request_body("openai/o3-mini", [], {"max_tokens": 5}))  # plain JSON


@pytest.mark.parametrize("provider", ["minimax", "huggingface"])
def test_an_endpoint_is_completed_to_its_v1_path_as_litellm_completes_it(provider, litellm, clean_env):
    from litellm.llms.huggingface.chat.transformation import HuggingFaceChatConfig
    from litellm.llms.minimax.chat.transformation import MinimaxChatConfig

    config = {"minimax": MinimaxChatConfig, "huggingface": HuggingFaceChatConfig}[provider]()
    route = routes.routes()[provider]
    for base in ("https://api.minimaxi.com", "https://api.minimaxi.com/v1/", "http://127.0.0.1:8000/v1",
                 "https://x.endpoints.huggingface.cloud", "https://x.example/v1/chat/completions"):
        theirs = config.get_complete_url(base, "k", "Org/model", {}, {"api_base": base})
        assert route.endpoint(base) + "/chat/completions" == theirs, base


def test_a_fireworks_name_is_completed_to_its_resource_path_as_litellm_completes_it():
    from litellm.llms.fireworks_ai.common_utils import resolve_fireworks_resource_name

    fireworks = routes.routes()["fireworks_ai"]
    for name in ("qwen3-235b-a22b-instruct-2507", "accounts/me/models/my-tune", "models/glm-4p6", "routers/x",
                 "kimi-k2p6-fast", "firerouter", "auto", "FW-abc", "llama-v3p3-70b-instruct#accounts/me/deployments/d"):
        assert fireworks.called_name(name) == resolve_fireworks_resource_name(name), name


def test_a_hugging_face_id_naming_its_provider_first_stops_before_any_call(tmp_path, clean_env):
    from evalkit.cli import main

    clean_env.setenv("HF_TOKEN", "hf-test-key")
    result = CliRunner().invoke(main, ["compare", "-m", "huggingface/together/Qwen/Qwen3-235B-A22B-Instruct-2507",
                                       "-s", "arithmetic", "--store", f"sqlite:///{tmp_path}/runs.db", "--dry-run"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "names its inference provider before the model" in text
    assert "huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507:together" in text
    assert not (tmp_path / "runs.db").exists()
    ok = CliRunner().invoke(main, ["compare", "-m", "huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507:together",
                                   "-s", "arithmetic", "--store", f"sqlite:///{tmp_path}/runs.db", "--dry-run"])
    assert ok.exit_code == 0, ok.output
