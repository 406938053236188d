"""The default lineup, its procurement facts and the model families, held to their data.

With no models named, evalkit runs one model per provider whose key is set
(`evalkit/data/providers.yaml`): these tests hold each entry to litellm (its key variables,
its price map) and to evalkit's facts, and the families (`evalkit/data/model_families.yaml`)
to the names real hosts give the same weights.
"""

from __future__ import annotations

import pytest

from evalkit.config import routes
from evalkit.config.lineup import default_models, provider_defaults
from evalkit.report.facts import UNKNOWN, _row, shipped_facts
from evalkit.report.families import families, family_of
from evalkit.transport import model_map

NOT_IN_PRICE_MAP = {"openrouter/qwen/qwen3-235b-a22b-2507", "huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507"}
"""Defaults litellm's price map has no entry for: their price reads unknown unless evalkit's
own price data or the config gives one."""

LABS_AND_HOSTS = {
    "DeepSeek": "deepseek", "Qwen": "dashscope", "Kimi": "moonshot", "GLM": "zai", "Doubao": "volcengine",
    "MiniMax": "minimax", "OpenAI": "openai", "Anthropic": "anthropic", "Google": "gemini",
    "Together": "together_ai", "Fireworks": "fireworks_ai", "Groq": "groq", "DeepInfra": "deepinfra",
    "Hugging Face": "huggingface", "OpenRouter": "openrouter",
}


def test_the_lineup_covers_every_lab_and_open_weights_host_buyers_ask_about():
    prefixes = {d.prefix for d in provider_defaults()}
    missing = {name for name, prefix in LABS_AND_HOSTS.items() if prefix not in prefixes}
    assert not missing
    assert len(prefixes) == len(provider_defaults())  # one model per provider


@pytest.mark.parametrize("default", provider_defaults(), ids=lambda d: d.provider)
def test_a_default_reads_the_key_litellm_reads_in_litellms_order(default):
    route = routes.route_for(default.model)
    if route.fast:  # the fast path reads exactly these: the default's list starts with them
        assert default.env[:len(route.key_env)] == route.key_env
    else:
        assert default.env


@pytest.mark.parametrize("default", provider_defaults(), ids=lambda d: d.provider)
def test_a_default_model_is_priced_by_litellms_map_unless_it_is_named_as_missing(default):
    entry = model_map.price_map_entry(default.model)
    if default.model in NOT_IN_PRICE_MAP:
        assert entry is None  # once the map has it, take it off the list
    else:
        assert entry is not None and entry.get("mode") == "chat"
        assert entry["input_cost_per_token"] > 0 and entry["output_cost_per_token"] > 0


@pytest.mark.parametrize("default", provider_defaults(), ids=lambda d: d.provider)
def test_a_default_model_has_its_procurement_facts(default):
    row = _row({"id": default.model}, default.label, {})
    assert UNKNOWN not in (row.developer, row.api_host, row.jurisdiction), row
    assert row.source != UNKNOWN


def test_the_new_labs_and_hosts_have_the_facts_a_buyer_signs_on():
    def facts(model_id):
        return _row({"id": model_id}, model_id, {})

    doubao = facts("volcengine/doubao-seed-2-1-pro-260915")
    assert doubao.developer.startswith("ByteDance") and doubao.licence == "proprietary (API only)"
    assert doubao.api_host.startswith("ByteDance Volcano Engine Ark") and doubao.jurisdiction.startswith("China")
    assert facts("minimax/MiniMax-M2").licence == "MIT"
    assert facts("minimax/MiniMax-M3").licence == UNKNOWN  # not published where evalkit looked: not guessed
    llama = facts("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo")
    assert llama.developer == "Meta (USA)" and llama.api_host == "Together AI"
    assert facts("fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct").licence.startswith("Llama 3.3")
    assert facts("fireworks_ai/accounts/fireworks/models/deepseek-v3p2").licence == "MIT"
    assert facts("deepinfra/deepseek-ai/DeepSeek-V3.2").api_host == "DeepInfra"
    assert facts("groq/openai/gpt-oss-120b").licence == "Apache-2.0"
    hugging = facts("huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507:together")
    assert hugging.licence == "Apache-2.0" and hugging.api_host == "Hugging Face inference providers: together"
    assert "served by together" in hugging.jurisdiction
    routed = facts("huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507")  # the router picks: it says so
    assert routed.api_host.startswith("Hugging Face inference providers (the router forwards")


def test_a_named_host_at_an_endpoint_of_its_own_is_still_that_host():
    fireworks = _row({"id": "fireworks_ai/accounts/fireworks/models/gpt-oss-120b", "api_base": "https://eu.example/v1"},
                     "m", {})
    assert fireworks.api_host == "Fireworks AI"
    own = _row({"id": "openai/Qwen3-235B", "api_base": "http://10.0.0.5:8000/v1"}, "m", {})
    assert own.api_host == "self-hosted (your vLLM server)"


def test_every_facts_entry_and_family_names_its_source_and_date():
    for entry in shipped_facts()["models"]:
        assert entry.get("source") and str(entry.get("as_of", ""))[:2] == "20", entry["match"]
    for host, entry in shipped_facts()["hosts"].items():
        assert entry.get("source") and entry.get("api_host") and entry.get("jurisdiction"), host
    names = [f.name for f in families()]
    assert len(names) == len(set(names))
    for family in families():
        assert family.source and family.as_of[:2] == "20" and family.weights.startswith("https://"), family.name


QWEN3_235B_HOSTS = [
    "dashscope/qwen3-235b-a22b-instruct-2507", "openrouter/qwen/qwen3-235b-a22b-2507",
    "fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507",
    "deepinfra/Qwen/Qwen3-235B-A22B-Instruct-2507", "together_ai/Qwen/Qwen3-235B-A22B-Instruct-2507-tput",
    "huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507:fireworks-ai", "novita/qwen/qwen3-235b-a22b-instruct-2507",
]


def test_the_same_weights_from_every_host_are_one_family():
    assert {family_of(model_id).name for model_id in QWEN3_235B_HOSTS} == {"Qwen3-235B-A22B-Instruct-2507"}
    llama = ["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "groq/llama-3.3-70b-versatile",
             "fireworks_ai/accounts/fireworks/models/llama-v3p3-70b-instruct",
             "deepinfra/meta-llama/Llama-3.3-70B-Instruct"]
    assert {family_of(model_id).name for model_id in llama} == {"Llama-3.3-70B-Instruct"}
    deepseek = ["deepinfra/deepseek-ai/DeepSeek-V3.2", "fireworks_ai/accounts/fireworks/models/deepseek-v3p2",
                "novita/deepseek/deepseek-v3.2", "volcengine/deepseek-v3-2-251201"]
    assert {family_of(model_id).name for model_id in deepseek} == {"DeepSeek-V3.2"}
    assert family_of("zai/glm-4.6").name == family_of("fireworks_ai/accounts/fireworks/models/glm-4p6").name


def test_other_weights_and_moving_aliases_stand_alone():
    assert family_of("dashscope/qwen3-235b-a22b-thinking-2507").name == "Qwen3-235B-A22B-Thinking-2507"
    assert family_of("deepinfra/Qwen/Qwen3-235B-A22B").name == "Qwen3-235B-A22B"  # the first release
    assert family_of("deepseek/deepseek-chat") is None  # an alias that moves to new weights
    assert family_of("deepinfra/deepseek-ai/DeepSeek-V3.2-Exp") is None
    assert family_of("openai/gpt-4.1-mini") is None
    assert family_of("dashscope/qwen-plus") is None


def test_the_lineup_runs_the_new_providers_when_their_keys_are_set():
    env = {"ARK_API_KEY": "a", "MINIMAX_API_KEY": "m", "FIREWORKS_AI_API_KEY": "f", "GROQ_API_KEY": "g",
           "DEEPINFRA_API_KEY": "d", "HF_TOKEN": "h", "TOGETHERAI_API_KEY": "t"}
    models, found = default_models(env)
    keys = {m.id: m.api_key_env for m in models if not m.is_local}
    assert keys == {
        "volcengine/doubao-seed-2-1-pro-260915": "ARK_API_KEY", "minimax/MiniMax-M3": "MINIMAX_API_KEY",
        "fireworks_ai/accounts/fireworks/models/qwen3-235b-a22b-instruct-2507": "FIREWORKS_AI_API_KEY",
        "groq/openai/gpt-oss-120b": "GROQ_API_KEY", "deepinfra/deepseek-ai/DeepSeek-V3.2": "DEEPINFRA_API_KEY",
        "huggingface/Qwen/Qwen3-235B-A22B-Instruct-2507": "HF_TOKEN",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": "TOGETHERAI_API_KEY",
    }
    assert "ByteDance (Doubao, Volcano Engine Ark) (ARK_API_KEY)" in found
