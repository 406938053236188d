"""The capacity use case: sweep an endpoint named as on the command line.

Loads a suite's prompts, starts the embedded model's server for a `local/<variant>`, checks
and looks up the endpoint's key, then runs `evalkit.economics.sweep` against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from evalkit import redaction
from evalkit.config.keys import resolve_api_key
from evalkit.config.models import LOCAL_PREFIX, ModelConfig, RunOptions, suite_from_option
from evalkit.economics.capacity import SLO, CapacityResult
from evalkit.economics.sweep import Endpoint, SweepOptions, sweep
from evalkit.errors import UsageError
from evalkit.run.step_workers import StepWorkers
from evalkit.suites import load_samples
from evalkit.transport.local.endpoints import LocalModel, serving


def suite_prompts(suite: str, size: int = 50, seed: int = 1234) -> list[tuple]:
    """The messages of a suite (built-in name or file), as the sweep sends them."""
    config = suite_from_option(suite)
    if config.path is None:
        config.size = size
    return [sample.messages for sample in load_samples(config, RunOptions(seed=seed))]


def run_sweep(model_id: str, api_base: str | None, api_key_env: str | None, prompts: Sequence[tuple],
              hourly_cost: float, slo: SLO, options: SweepOptions, *, suite: str = "", on_step=None,
              workers: int = 1, on_lag: Callable[[list[list[float | None]]], None] | None = None) -> CapacityResult:
    """`sweep` for a model named as on the command line: ``local/<variant>`` starts the
    embedded llama.cpp server for the duration; anything else needs ``api_base``.
    ``workers`` above 1 sends each step from that many processes (`StepWorkers`), and
    ``on_lag`` hears each worker's event-loop lag p99 per step once the sweep is done."""
    if workers > 1 and model_id.startswith(LOCAL_PREFIX):
        raise UsageError(f"capacity --workers {workers}: {model_id} runs on this machine's own server, which "
                         "more client processes would only compete with; drop --workers")
    if model_id.startswith(LOCAL_PREFIX):
        # As many llama.cpp slots as the sweep's highest load sends at once (Poisson steps
        # are open-loop: their arrivals may overlap more; the rest wait in llama.cpp's queue).
        slots = max(options.concurrency) if not options.rates else max(1, math.ceil(max(options.rates)))
        with serving([LocalModel(model_id, model_id, slots)]) as endpoints:
            local = endpoints[model_id]
            endpoint = Endpoint(local.model_id, local.api_base, local.api_key)
            result = sweep(endpoint, prompts, hourly_cost, slo, options, suite=suite, on_step=on_step)
        result.model = model_id
        return result
    if api_base is None:
        raise UsageError("capacity: give --api-base, the endpoint's OpenAI-compatible URL (e.g. http://gpu-box:8000/v1)")
    if redaction.has_credentials(api_base):
        raise UsageError(f"capacity: --api-base: {redaction.CREDENTIALS_IN_URL} (--api-key-env here)")
    redaction.remember_url(api_base)
    key = resolve_api_key(ModelConfig(id=model_id, api_base=api_base, api_key_env=api_key_env))
    endpoint = Endpoint(model_id, api_base, key)
    if workers == 1:
        return sweep(endpoint, prompts, hourly_cost, slo, options, suite=suite, on_step=on_step)
    measurer = StepWorkers(workers, endpoint, prompts)
    result = sweep(endpoint, prompts, hourly_cost, slo, options, suite=suite, on_step=on_step, measurer=measurer)
    if on_lag is not None:
        on_lag(measurer.lag_p99_ms)
    return result
