"""The latency suite's phases: its items per model, built for that model, sent after the rest.

A latency item measures one model at one load, so it cannot share the run with the other
suites' calls: they would queue with it at the model's concurrency and the figure would
be the mix. `latency_phases` turns a plan's latency samples into phases the runner runs
one after the other, after every other item of the run:

1. every tier one request at a time per model (``max_concurrency=1``, not adaptive: the
   phase's limiter lets no second call out before the first has come back);
2. each tier in turn at the suite's concurrency, fixed the same way.

Models run side by side within a phase, as in the rest of a run (each has its own
endpoint). Before a phase, each item's prompt is rebuilt for its model: a nonce from the
run, the model and the item first, then cut to exactly the tier's tokens for the model's
tokenizer where one is available offline (the embedded model's through its own
server's ``/tokenize``), else to a character budget; how is kept in the record's
``score_detail``. A tier the model's context window cannot hold is not sent: its record
is written at once as ``skipped`` with the reason.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from evalkit.config.models import ModelConfig
from evalkit.run.plan import Plan
from evalkit.run.runner import Job, Target, request_hash
from evalkit.store.records import CallRecord
from evalkit.suites.base import Sample
from evalkit.suites.latency import is_latency_suite, parse_item
from evalkit.suites.latency_prompt import PromptTokenizer, build_prompt, nonce_for, offline_tokenizer, tokenizer_entry

if TYPE_CHECKING:
    from evalkit.transport.local.endpoints import LocalEndpoint


@dataclass
class LatencyPhases:
    """The latency items of a run, ready to send: phases in order, and the tiers skipped."""

    phases: list[list[Job]] = field(default_factory=list)
    skipped: list[CallRecord] = field(default_factory=list)
    """One ``skipped`` record per item a model's context window cannot hold."""


def has_latency(plan: Plan) -> bool:
    return any(is_latency_suite(name) for name in plan.samples)


def benchmark_samples(plan: Plan) -> dict[str, list[Sample]]:
    """The plan's samples of every suite but the latency suites (the run's first phase)."""
    return {name: items for name, items in plan.samples.items() if not is_latency_suite(name)}


def latency_phases(plan: Plan, targets: dict[str, Target], run_id: str,
                   servers: dict[str, LocalEndpoint] | None = None, with_worst_case: bool = False) -> LatencyPhases:
    """Every latency item of the plan for every model, built for it and grouped in phases."""
    servers = servers or {}
    out = LatencyPhases()
    first: list[Job] = []
    loaded: dict[tuple[str, int], list[Job]] = {}
    for model in plan.config.models:
        target = targets[model.display]
        tok = model_tokenizer(model, servers.get(model.display))
        window = context_window(model, servers.get(model.display))
        for suite, items in plan.samples.items():
            if not is_latency_suite(suite):
                continue
            for sample in items:
                item = parse_item(sample.id)
                if item is None:  # not made by the latency suite: nothing to build
                    continue
                for epoch in range(plan.config.run.epochs):
                    need = item.prompt_tokens + (tok.template_tokens or 0) + item.answer_tokens
                    if window is not None and need > window:
                        out.skipped.append(_skipped(run_id, target, sample, epoch, need, window))
                        continue
                    built = _built(sample, item.prompt_tokens, tok, run_id, model.display, epoch)
                    worst = plan.worst_case(model, sample) if with_worst_case else 0.0
                    fixed = replace(target, max_concurrency=item.concurrency, adaptive=False)
                    job = Job(fixed, built, epoch, max_cost=worst)
                    if item.concurrency == 1:
                        first.append(job)
                    else:
                        loaded.setdefault((f"{suite}:{item.tier}", item.concurrency), []).append(job)
    out.phases = [phase for phase in [first, *loaded.values()] if phase]
    return out


def _built(sample: Sample, n_tokens: int, tok: PromptTokenizer, run_id: str, label: str, epoch: int) -> Sample:
    """The sample as this model is sent it: its own prompt, and how that prompt was made."""
    nonce = nonce_for(run_id, label, sample.suite, sample.id, epoch)
    item = parse_item(sample.id)
    tier = item.tier if item else sample.id
    try:
        prompt = build_prompt(n_tokens, nonce, f"{sample.suite}:{tier}", tok)
    except OSError as error:  # the embedded server stopped answering /tokenize: a budget, and why
        fallback = replace(tok, tokenizer=None, why_not=f"its server's /tokenize failed: {error}")
        prompt = build_prompt(n_tokens, nonce, f"{sample.suite}:{tier}", fallback)
    return replace(sample, messages=({"role": "user", "content": prompt.text},),
                   scorer_options={"prompt": prompt.how})


def _skipped(run_id: str, target: Target, sample: Sample, epoch: int, need: int, window: int) -> CallRecord:
    now = time.time()
    return CallRecord(
        run_id=run_id, model=target.label, model_id=target.config_id, suite=sample.suite, sample_id=sample.id,
        cluster=sample.cluster, epoch=epoch, request_hash=request_hash(target, sample.messages, sample.params),
        error_class="skipped", attempts=0, score=0.0, started_at=now, finished_at=now,
        cost_usd=0.0 if target.price.known else None,
        error_message=(f"not sent: needs {need:,} tokens, context window {window:,} "
                       f"({target.label}: the tier's prompt, its chat template and its answer)"),
    )


# --------------------------------------------------------------------------- model facts

LOCAL_TOKENIZER = "its own vocabulary (llama.cpp /tokenize)"

def model_tokenizer(model: ModelConfig, server: LocalEndpoint | None = None) -> PromptTokenizer:
    """The model's tokenizer for exact prompts: offline for API models, its own server's for
    the embedded model; one without any, with the reason (a character budget is used)."""
    if server is not None:
        entry = tokenizer_entry(model.id) or {}
        try:
            return PromptTokenizer(LOCAL_TOKENIZER, LlamaCppTokenizer(server.api_base), entry.get("template_tokens"))
        except OSError as error:
            return PromptTokenizer(LOCAL_TOKENIZER, None, entry.get("template_tokens"),
                                   f"its server's /tokenize did not answer ({error})")
    return offline_tokenizer(model.id)


def context_window(model: ModelConfig, server: LocalEndpoint | None = None) -> int | None:
    """Tokens the model holds (prompt and answer): the config's ``facts.context_window``, a
    local server's context per slot, the shipped model facts, else litellm's price map."""
    if model.facts is not None and model.facts.context_window:
        return model.facts.context_window
    if server is not None:
        return int(server.server.n_ctx)
    return _facts_window(model.id) or _price_map_window(model.id)


def _facts_window(model_id: str) -> int | None:
    from importlib import resources

    import yaml

    text = resources.files("evalkit.data").joinpath("model_facts.yaml").read_text(encoding="utf-8")
    bare = model_id.rsplit("/", 1)[-1].lower()
    for entry in yaml.safe_load(text).get("models", []):
        if any(fnmatch.fnmatchcase(bare, p.lower()) for p in entry.get("match", [])):
            return entry.get("context_window")
    return None


def _price_map_window(model_id: str) -> int | None:
    import litellm

    try:
        info: dict[str, Any] = dict(litellm.get_model_info(model_id))
    except Exception:  # litellm raises a bare Exception for a model it does not know
        return None
    return info.get("max_input_tokens") or info.get("max_tokens")


class LlamaCppTokenizer:
    """The embedded model's own vocabulary, through its llama.cpp server (``/tokenize``,
    ``/detokenize``): the exact tokens the server will count."""

    def __init__(self, api_base: str) -> None:
        import httpx

        self.root = api_base.removesuffix("/").removesuffix("/v1")
        self.client = httpx.Client(timeout=30)
        self.encode("ping")  # fails now, with the reason, rather than mid-build

    def encode(self, text: str) -> list[int]:
        import httpx

        try:
            response = self.client.post(f"{self.root}/tokenize", json={"content": text, "add_special": False})
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise OSError(str(error)) from None
        return list(response.json()["tokens"])

    def decode(self, ids: list[int]) -> str:
        import httpx

        try:
            response = self.client.post(f"{self.root}/detokenize", json={"tokens": ids})
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise OSError(str(error)) from None
        return str(response.json()["content"])
