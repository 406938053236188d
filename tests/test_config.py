"""Config files: validation errors name the file, the line and the field (or the flag that
set the value); flags override the file."""

from __future__ import annotations

import pytest

from evalkit.config.models import ModelConfig, SuiteConfig, apply_overrides, load_config, suite_from_option
from evalkit.errors import UsageError


def write(tmp_path, text, name="bench.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_loads_with_every_field(tmp_path):
    path = write(tmp_path, """
models:
  - id: deepseek/deepseek-chat
    label: DeepSeek
    api_key_env: MY_DEEPSEEK_KEY
    params: {top_p: 0.9}
    price: {input: 0.28, output: 0.42, cached_input: 0.028}
    max_concurrency: 4
    requests_per_minute: 120
  - id: hosted_vllm/Qwen/Qwen3-8B
    api_base: http://gpu-box:8000/v1
    hourly_cost: 2.5
suites:
  - name: arithmetic
    size: 40
    difficulty: 3
  - name: mine
    path: items.jsonl
run: {temperature: 0.2, max_tokens: 256, timeout: 30, retries: 2, limit: 10, seed: 7}
""")
    config = load_config(path)
    assert [m.display for m in config.models] == ["DeepSeek", "hosted_vllm/Qwen/Qwen3-8B"]
    assert config.models[0].price.cached_input == 0.028
    assert config.models[1].hourly_cost == 2.5
    assert config.suites[1].path == str(tmp_path / "items.jsonl")
    assert config.run.seed == 7 and config.run.limit == 10


def test_wrong_type_names_file_line_and_field(tmp_path):
    path = write(tmp_path, "models:\n  - id: openai/gpt-4.1-mini\n    max_concurrency: lots\n")
    with pytest.raises(UsageError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}:3: models[0].max_concurrency:")


def test_every_validation_error_carries_the_line_of_its_yaml_node(tmp_path):
    path = write(tmp_path, """\
# a comment, so lines are not simply counted from the top
models:
  - id: openai/a

  - label: no-id
    price:
      input: 1
      outptu: 2
suites:
  - {name: arithmetic, difficulty: 9}
run:
  limit: 0
""")
    with pytest.raises(UsageError) as error:
        load_config(path)
    lines = str(error.value).splitlines()
    assert f"{path}:5: models[1].id: Field required" in lines  # a missing field: its parent's line
    assert f"{path}:6: models[1].price.output: Field required" in lines
    assert any(line.startswith(f"{path}:8: models[1].price.outptu: unknown field") for line in lines)
    assert any(line.startswith(f"{path}:10: suites[0].difficulty: ") for line in lines)
    assert any(line.startswith(f"{path}:12: run.limit: ") for line in lines)
    assert len(lines) == 5


def test_an_empty_models_or_suites_list_is_an_error_not_the_defaults(tmp_path):
    path = write(tmp_path, "suites:\n  - name: arithmetic\nmodels: []\n")
    with pytest.raises(UsageError, match=rf"^{path}:3: models: the list is empty"):
        load_config(path)
    path = write(tmp_path, "models:\n  - id: openai/a\nsuites: []\n")
    with pytest.raises(UsageError, match=rf"^{path}:3: suites: the list is empty"):
        load_config(path)


def test_unknown_field_is_an_error_not_ignored(tmp_path):
    path = write(tmp_path, "models:\n  - id: openai/gpt-4.1-mini\n    temprature: 0\n")
    with pytest.raises(UsageError, match=r"models\[0\]\.temprature: unknown field"):
        load_config(path)


def test_yaml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "models:\n  - id: [unclosed\n")
    with pytest.raises(UsageError, match=rf"{path}:\d+:\d+: invalid YAML"):
        load_config(path)


def test_price_and_hourly_cost_are_exclusive(tmp_path):
    path = write(tmp_path, "models:\n  - id: a/b\n    hourly_cost: 1\n    price: {input: 1, output: 2}\n")
    with pytest.raises(UsageError, match="either price or hourly_cost"):
        load_config(path)


def test_duplicate_labels_rejected(tmp_path):
    path = write(tmp_path, "models:\n  - id: openai/gpt-4.1-mini\n  - id: openai/gpt-4.1-mini\n")
    with pytest.raises(UsageError, match="two models are labelled"):
        load_config(path)


def test_missing_file():
    with pytest.raises(UsageError, match="config file not found"):
        load_config("no/such.yaml")


def test_flags_override_file(tmp_path):
    path = write(tmp_path,
                 "models:\n  - id: openai/gpt-4.1-mini\nsuites:\n  - name: arithmetic\nrun: {limit: 5, seed: 1}\n")
    config = apply_overrides(
        load_config(path),
        models=[ModelConfig(id="deepseek/deepseek-chat")],
        suites=[suite_from_option("extraction")],
        run_options={"limit": 50, "seed": None},
    )
    assert [m.id for m in config.models] == ["deepseek/deepseek-chat"]
    assert [s.name for s in config.suites] == ["extraction"]
    assert config.run.limit == 50 and config.run.seed == 1  # None leaves the file's value


def test_override_is_validated_too_and_blamed_on_the_flag(tmp_path):
    path = write(tmp_path, "models:\n  - id: openai/gpt-4.1-mini\nrun:\n  limit: 5\n")
    with pytest.raises(UsageError) as error:
        apply_overrides(load_config(path), run_options={"limit": -5})
    assert str(error.value) == "--limit -5: Input should be greater than or equal to 1"


def test_a_field_the_flags_did_not_touch_keeps_its_file_line(tmp_path):
    path = write(tmp_path, "models:\n  - id: openai/a\nsuites:\n  - name: arithmetic\n")
    config = apply_overrides(load_config(path), models=[ModelConfig(id="openai/b")], run_options={"seed": 3})
    assert config.where("models", 0, "id") == "-m openai/b"
    assert config.where("suites", 0, "name") == f"{path}:4: suites[0].name"
    assert config.where("run", "seed") == "--seed 3"


def test_suite_option_file_or_name(tmp_path):
    assert suite_from_option("arithmetic") == SuiteConfig(name="arithmetic")
    file_suite = suite_from_option("my/items.jsonl")
    assert file_suite.name == "items" and file_suite.path.endswith("my/items.jsonl")


def test_config_hash_ignores_source_but_not_content(tmp_path):
    a = load_config(write(tmp_path, "models:\n  - id: openai/gpt-4.1-mini\n", "a.yaml"))
    b = load_config(write(tmp_path, "models:\n  - id: openai/gpt-4.1-mini\n", "b.yaml"))
    c = load_config(write(tmp_path, "models:\n  - id: openai/gpt-4.1-nano\n", "c.yaml"))
    assert a.config_hash() == b.config_hash() != c.config_hash()


def test_one_cache_folder_for_everything_evalkit_can_rebuild(monkeypatch, tmp_path):
    from evalkit.config.cache import cache_root
    from evalkit.scoring.lm_eval import _cache_path
    from evalkit.transport.local.server import cache_dir
    from evalkit.transport.local.weights import weights_dir

    monkeypatch.delenv("EVALKIT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "evalkit"
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "mine"))
    assert weights_dir() == tmp_path / "mine" / "weights"
    assert cache_dir() == tmp_path / "mine" / "models"
    assert _cache_path().parent == tmp_path / "mine"


def test_a_model_flag_can_carry_any_model_field_as_a_yaml_mapping(monkeypatch):
    from click.testing import CliRunner

    from evalkit.cli import main

    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-" "flag-test-000000000000000")
    done = CliRunner().invoke(main, ["compare", "-m", "{id: deepseek/deepseek-v4-flash, thinking: on}", "-m",
                                     "deepseek/deepseek-v4-flash", "-s", "arithmetic", "--limit", "1",
                                     "--dry-run"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "deepseek/deepseek-v4-flash:thinking" in done.output  # on and off: two candidates
    for flag, expected in (("{id: local/smollm2-135m-q4_0, thinking: on}", "has no thinking mode"),
                           ("{id: x, thinking: [1", "not a YAML mapping"),
                           ("{label: x}", "needs its id")):
        refused = CliRunner().invoke(main, ["compare", "-m", flag, "--dry-run"])
        assert refused.exit_code == 2 and f"-m {flag}" in refused.output and expected in refused.output
