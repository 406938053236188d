"""litellm's model map read as data (`evalkit.transport.model_map`, `tokens`) gives what
litellm itself gives: the whole price map, the provider names, each id's provider and alias,
and tiktoken's counts for OpenAI's models. The one place that imports litellm to compare."""

from __future__ import annotations

import os

import pytest

from evalkit.transport import model_map, tokens

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def litellm():
    from evalkit.transport import litellm as in_process

    return in_process._litellm()


def test_the_price_map_read_as_data_is_litellms_model_cost(litellm):
    ours = model_map.cost_map()
    assert ours == dict(litellm.model_cost)
    assert "fallback_generalizations" not in ours  # the rules block is taken out, as litellm does


@pytest.mark.parametrize("model_id", ["openai/gpt-4.1-mini", "deepseek/deepseek-chat", "anthropic/claude-haiku-4-5",
                                      "gemini/gemini-2.5-flash", "dashscope/qwen-plus", "gpt-4o"])
def test_prices_and_context_windows_match_litellms_for_a_sample(litellm, model_id):
    entry = model_map.price_map_entry(model_id)
    info = litellm.get_model_info(model_id)
    assert entry is not None
    for field in ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost", "max_input_tokens"):
        assert entry.get(field) == info.get(field), field
    assert model_map.context_window(model_id) == info["max_input_tokens"]


def test_an_alias_row_serves_the_model_it_names(litellm):
    assert model_map.model_called("openai/gpt-mini-latest") == "openai/" + litellm.get_llm_provider(
        "openai/gpt-mini-latest")[0]
    # the bare alias row carries the price of the model it names
    assert model_map.price_map_entry("openai/gpt-mini-latest") == litellm.model_cost["gpt-mini-latest"]
    assert model_map.price_map_entry("openai/gpt-mini-latest") == model_map.price_map_entry("openai/gpt-5.4-mini")


def test_the_provider_names_are_litellms(litellm):
    assert model_map.provider_names() == {str(p.value) for p in litellm.provider_list}


def test_every_prefixed_id_of_the_map_gets_litellms_provider_and_name(litellm):
    from evalkit.config import routes
    from evalkit.transport import litellm as in_process

    checked = 0
    for model_id in model_map.cost_map():
        provider = model_map.fast_provider_of(model_id)
        if provider is None:
            continue  # asked of litellm itself
        assert provider == in_process.provider_of(model_id), model_id
        if routes.route_for(model_id).fast:
            assert model_map.model_called(model_id) == in_process.model_called(model_id), model_id
        checked += 1
    assert checked > 1000
    for special in ("azure/gpt-4o", "cohere/command-r", "anthropic/claude-2", "gpt-4o", "nosuch/model"):
        assert model_map.fast_provider_of(special) is None
        assert model_map.provider_of(special) == in_process.provider_of(special)


TEXTS = ["", "What is 2 + 2? Reply with the number.", "¿Dónde está? 你好，世界。 <|endoftext|> " * 3,
         "long text, many chunks: " + "lorem ipsum dolor sit amet " * 200, "x" * 5000]


def test_openai_token_counts_are_litellms(litellm):
    from evalkit.transport import litellm as in_process

    # OpenAI's models are keyed bare in the map (gpt-4.1-mini); evalkit names them openai/...
    models = sorted("openai/" + name for name, entry in model_map.cost_map().items()
                    if "/" not in name and entry.get("litellm_provider") == "openai" and entry.get("mode") == "chat")
    models += ["openai/gpt-4.1-mini", "openai/gpt-4o", "openai/gpt-3.5-turbo", "openai/gpt-5.4-mini"]
    counted = 0
    for model_id in models:
        if tokens.tiktoken_encoding(model_id) is None:
            continue
        counted += 1
        for text in TEXTS:
            assert tokens.count_tokens(model_id, text) == in_process.count_tokens(model_id, text), (model_id, text[:30])
    assert counted >= 10
    assert tokens.tiktoken_encoding("openai/gpt-4.1-mini") == "o200k_base"
    assert tokens.tiktoken_encoding("deepseek/deepseek-chat") is None  # litellm's own tokenizer counts it
    assert tokens.count_tokens("deepseek/deepseek-chat", TEXTS[1]) == in_process.count_tokens(
        "deepseek/deepseek-chat", TEXTS[1])


def test_the_price_map_version_names_the_installed_litellm():
    from importlib.metadata import version

    assert model_map.price_map_version() == f"litellm {version('litellm')} local price map"


def test_the_encoding_is_kept_in_the_cache_and_read_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", model_map.tokenizer_dir() or "")  # litellm's files, no download
    parsed = tokens._encoding_arguments("o200k_base")
    kept = list((tmp_path / "tiktoken").glob("o200k_base-tiktoken*-litellm*.marshal"))
    assert len(kept) == 1
    assert tokens._encoding_arguments("o200k_base") == parsed
    for damaged in (b"not marshal data", b"N"):  # parsed again, never trusted
        kept[0].write_bytes(damaged)
        assert tokens._encoding_arguments("o200k_base") == parsed
