"""What a comparison runs: a config (a YAML file or a `RunConfig`) with models, suites and
run options laid over it, the default lineup when no model is named, and the offline demo.

The command line and the Python API both start here, so `-m`, `-s` and `--limit` mean
the same as ``models=``, ``suites=`` and ``limit=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.config.lineup import all_key_names, default_models
from evalkit.config.models import (
    ModelConfig,
    RunConfig,
    SuiteConfig,
    apply_overrides,
    load_config,
    model_from_option,
    suite_from_option,
)

LOCAL_DEMO = {"limit": 3, "max_tokens": 96}
"""Run options of the offline demo (no key set, nothing named): a couple of minutes on 2 cores."""


@dataclass(frozen=True)
class Selection:
    """The resolved config of a comparison, and what to tell the user about how it was chosen."""

    config: RunConfig
    notices: list[str] = field(default_factory=list)
    """Lines for the user before anything runs, e.g. that no key is set and the demo runs."""


def select(config: RunConfig | str | Path | None = None, models: Sequence[ModelConfig | str] = (),
           suites: Sequence[SuiteConfig | str] = (), **run_options: Any) -> Selection:
    """The config file (or object), then models, suites and run options over it.

    Models are litellm ids or `ModelConfig`s and replace the config's; suites are built-in
    names, .jsonl/.csv paths or `SuiteConfig`s and replace the config's; a run option of
    None leaves the config's value. With no model anywhere, the default lineup runs: one
    model per provider whose key is set, and the embedded local models; with no key set
    and no config, that is the offline demo, at `LOCAL_DEMO`'s options unless given.
    """
    base = _base_config(config)
    model_configs = [m if isinstance(m, ModelConfig) else model_from_option(m) for m in models]
    models_from, notices = "-m", []
    if not model_configs and not base.models:
        model_configs, found = default_models()
        models_from = "default model"
        if not found:
            notices.append(f"No provider API key set ({', '.join(all_key_names())}): running the embedded "
                           f"local models alone, {LOCAL_DEMO['limit']} items per suite.")
            if config is None:
                run_options = {**run_options, **{k: run_options.get(k) or v for k, v in LOCAL_DEMO.items()}}
    suite_configs = [s if isinstance(s, SuiteConfig) else suite_from_option(s) for s in suites]
    resolved = apply_overrides(base, models=model_configs, suites=suite_configs, run_options=run_options,
                               models_from=models_from)
    return Selection(resolved, notices)


def names_anything(config: RunConfig | str | Path | None, models: Sequence[Any], suites: Sequence[Any]) -> bool:
    """Whether a config, a model or a suite was given at all (a resume without any runs the
    stored config)."""
    return config is not None or bool(models) or bool(suites)


def _base_config(config: RunConfig | str | Path | None) -> RunConfig:
    if config is None:
        return RunConfig(source="<options>")
    return config if isinstance(config, RunConfig) else load_config(config)
