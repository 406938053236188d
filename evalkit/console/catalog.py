"""What evalkit can run: built-in suites with a sample item, and known models with prices."""

from __future__ import annotations

from evalkit.config.lineup import provider_defaults
from evalkit.console import fit

PER_MILLION = 1_000_000


def suites_table(seed: int) -> fit.Grid:
    from evalkit.suites.registry import builtin_suites

    columns = [fit.Column("Suite"), fit.Column("Language"), fit.Column("Scorer"),
               fit.Column("Description", wrap=fit.TEXT), fit.Column("Sample item (prompt → reference)", wrap=fit.TEXT)]
    table = fit.Grid("Built-in suites (generated from a seed; -s NAME)", columns, show_lines=True)
    for name, suite in builtin_suites().items():
        sample = suite.generate(1, seed)[0]
        prompt = sample.prompt_text
        prompt = prompt if len(prompt) <= 240 else prompt[:239] + "…"
        table.add_row(name, suite.language, sample.scorer, suite.description, f"{prompt}\n→ {sample.reference!r}")
    return table


def models_table(show_all: bool, pattern: str | None) -> fit.Grid:
    from evalkit import transport
    from evalkit.config.lineup import local_models
    from evalkit.config.models import ModelConfig
    from evalkit.economics.pricing import resolve_price

    if show_all:
        ids = transport.known_chat_models()
        rows = [(model_id, "") for model_id in ids]
    else:
        rows = [(d.model, f"default when {' or '.join(d.env)} is set") for d in provider_defaults()]
        rows += [(m.id, "embedded, always available") for m in local_models()]
    columns = [fit.Column("Model id"), fit.Column("Input"), fit.Column("Output"), fit.Column("Cached input"),
               fit.Column("Note", wrap=fit.TEXT)]
    table = fit.Grid("Models (USD per 1M tokens; litellm local price map unless noted)", columns)
    for model_id, note in rows:
        if pattern and pattern.lower() not in model_id.lower():
            continue
        config = next((m for m in local_models() if m.id == model_id), None) or ModelConfig(id=model_id)
        price = resolve_price(config)
        if price.hourly_cost is not None:
            table.add_row(model_id, f"${price.hourly_cost:.2f}/hour of machine", "", "", note)
            continue
        table.add_row(model_id, _per_million(price.input), _per_million(price.output),
                      _per_million(price.cached_input), note)
    return table


def _per_million(value: float | None) -> str:
    return "unknown" if value is None else f"${value * PER_MILLION:.3f}"
