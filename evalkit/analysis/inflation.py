"""Token inflation: how many prompt tokens each candidate bills for the very text a
reference model bills, measured on the run's own prompts, per language.

Definitions (the README's "Token inflation" says the same):

- **Pairs.** A candidate's successful call and the reference model's successful call on
  the same item and epoch (suite, sample id, epoch) sent the same prompt. A multi-turn
  task pairs its first turn only: later turns carry each model's own replies.
- **Ratio** = Σ candidate prompt tokens ÷ Σ reference prompt tokens over the pairs of a
  language (a ratio of totals, so long prompts weigh as they bill). Only prompt tokens
  measure the tokenizer; completion tokens count different answers.
- **Estimated.** Pairs whose counts both came from the providers' usage are used when a
  language has any; otherwise the pairs where evalkit counted with a tokenizer
  (``usage_source = estimated``) are, and the ratio is flagged estimated.
- **Language** of an item: the suite's own ``language`` (the built-in suites set it),
  else a ``-zh``-style suffix of the suite name, else the script of its messages by the
  rule a workload profile's requests are classified by (`evalkit.workload.language`), so
  the run's ratios and the profile's language mix use the same labels; ``unknown`` when
  the suite cannot be re-read.
- **Reference**: the profile's incumbent (the model most of its logged requests name)
  when it is one of the run's models, since the profile's token counts are its
  tokenizer's; else ``--reference MODEL``; else the run's first model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.errors import UsageError
from evalkit.workload.language import request_language

ALL = "all"
"""The pooled ratio over every language (what a language the run did not measure gets)."""
_SUFFIX = re.compile(r"-(zh|ja|ko|en)$")


@dataclass(frozen=True)
class Ratio:
    """One candidate's prompt tokens per reference token, on one language's pairs."""

    model: str
    language: str
    ratio: float | None
    """None when no pair was found."""
    pairs: int
    candidate_tokens: int
    reference_tokens: int
    estimated: bool
    """The counts of some pair came from a tokenizer, not the provider's usage."""


@dataclass(frozen=True)
class Mixed:
    """A candidate's inflation for a language mix."""

    value: float | None
    estimated: bool
    pooled_for: list[str] = field(default_factory=list)
    """Languages of the mix the run had no prompts in: the pooled ratio stands in."""


@dataclass(frozen=True)
class TokenInflation:
    """Every candidate's ratios against the reference, per language and pooled (`ALL`)."""

    reference: str
    reference_why: str
    ratios: dict[str, dict[str, Ratio]]
    """Model -> language (and `ALL`) -> ratio."""

    @property
    def languages(self) -> list[str]:
        found = {lang for by_lang in self.ratios.values() for lang in by_lang if lang != ALL}
        return sorted(found)

    def for_mix(self, model: str, mix: dict[str, float]) -> Mixed:
        """The inflation of a traffic whose requests are in ``mix`` (language -> share):
        the share-weighted mean of the language ratios; the pooled one with no mix."""
        by_lang = self.ratios.get(model, {})
        pooled = by_lang.get(ALL)
        if pooled is None or pooled.ratio is None:
            return Mixed(None, False)
        if not mix:
            return Mixed(pooled.ratio, pooled.estimated)
        total, weighted, estimated, missing = 0.0, 0.0, False, []
        for language, share in mix.items():
            ratio = by_lang.get(language)
            if ratio is None or ratio.ratio is None:
                ratio = pooled
                missing.append(language)
            weighted += share * (ratio.ratio or 0.0)
            total += share
            estimated = estimated or ratio.estimated
        return Mixed(weighted / total if total else pooled.ratio, estimated, missing)


def prompt_counts(records: Any) -> dict[str, dict[tuple[str, str, int], tuple[int, bool]]]:
    """Model -> (suite, sample id, epoch) -> (prompt tokens of the first turn, estimated),
    for the successful calls that have a prompt count."""
    columns = ["model", "suite", "sample_id", "epoch", "prompt_tokens", "usage_source", "error_class"]
    lists = [records[name].tolist() for name in columns]
    turn_logs = records["turn_log"].tolist() if "turn_log" in records.columns else [None] * len(records)
    out: dict[str, dict[tuple[str, str, int], tuple[int, bool]]] = {}
    for model, suite, sample_id, epoch, prompt, source, error, log in zip(*lists, turn_logs):
        if isinstance(error, str) and error:
            continue
        tokens = _first_turn_prompt(log, prompt)
        if tokens is None:
            continue
        out.setdefault(str(model), {})[(str(suite), str(sample_id), int(epoch))] = (tokens, source == "estimated")
    return out


def _first_turn_prompt(turn_log: Any, prompt_tokens: Any) -> int | None:
    if isinstance(turn_log, str) and turn_log:
        try:
            turns = json.loads(turn_log)
            first = turns[0].get("prompt_tokens") if turns else None
        except (ValueError, AttributeError, TypeError):
            return None  # a turn log that is not one: no first turn to pair
        return None if first is None else int(first)
    if prompt_tokens is None or (isinstance(prompt_tokens, float) and math.isnan(prompt_tokens)):
        return None
    return int(prompt_tokens)


def measure(records: Any, languages: dict[tuple[str, str], str], reference: str, why: str = "") -> TokenInflation:
    """Every model's ratios against ``reference`` on the run's records (see the module)."""
    counts = prompt_counts(records)
    base = counts.get(reference, {})
    ratios: dict[str, dict[str, Ratio]] = {}
    for model, calls in counts.items():
        by_lang: dict[str, list[tuple[int, int, bool]]] = {}
        for key, (tokens, estimated) in calls.items():
            if key not in base:
                continue
            ref_tokens, ref_estimated = base[key]
            triple = (tokens, ref_tokens, estimated or ref_estimated)
            by_lang.setdefault(languages.get(key[:2], "unknown"), []).append(triple)
            by_lang.setdefault(ALL, []).append(triple)
        ratios[model] = {lang: _ratio(model, lang, pairs) for lang, pairs in by_lang.items()}
    return TokenInflation(reference, why, ratios)


def _ratio(model: str, language: str, pairs: list[tuple[int, int, bool]]) -> Ratio:
    reported = [p for p in pairs if not p[2]]
    used, estimated = (reported, False) if reported else (pairs, True)
    cand, ref = sum(p[0] for p in used), sum(p[1] for p in used)
    return Ratio(model, language, cand / ref if ref else None, len(used), cand, ref, estimated and bool(used))


def item_languages(config: dict, keys: Iterable[tuple[str, str]],
                   store: str | None = None) -> dict[tuple[str, str], str]:
    """(suite, sample id) -> language, by the rule of the module docstring; ``store`` holds
    the profiles the run's replay suites were drawn from."""
    wanted = set(keys)
    samples = _samples(config, {suite for suite, _ in wanted}, store)
    out = {}
    for suite, sample_id in wanted:
        sample = samples.get((suite, sample_id))
        stated = sample.metadata.get("language") if sample is not None else None
        suffix = _SUFFIX.search(suite)
        if isinstance(stated, str) and stated:
            out[(suite, sample_id)] = stated
        elif suffix:
            out[(suite, sample_id)] = suffix.group(1)
        else:
            out[(suite, sample_id)] = request_language(list(sample.messages)) if sample is not None else "unknown"
    return out


def _samples(config: dict, suites: set[str], store: str | None) -> dict[tuple[str, str], Any]:
    """The run's samples of ``suites``; a suite that can no longer be read has none, and its
    items' language is read from the name, or unknown."""
    from evalkit.suites import stored_run_samples

    return {(str(sample.suite), str(sample.id)): sample for sample in stored_run_samples(config, store)
            if sample.suite in suites}


def matches(name: str, label: str, model_id: str) -> bool:
    """Whether a logged or given model name is this run model (its label, id, or id without provider)."""
    name = name.strip().lower()
    return name in {label.lower(), model_id.lower(), model_id.lower().split("/", 1)[-1]}


def choose_reference(models: Sequence[tuple[str, str]], incumbent: str | None,
                     requested: str | None = None) -> tuple[str, str]:
    """(label, why) of the reference model among the run's (label, id) ``models``."""
    if requested is not None and not any(matches(requested, *m) for m in models):
        names = ", ".join(label for label, _ in models)
        raise UsageError(f"--reference {requested}: not a model of this run (its models: {names})")
    if incumbent is not None:
        for label, model_id in models:
            if matches(incumbent, label, model_id):
                unused = "" if requested is None or matches(requested, label, model_id) else (
                    f"; --reference {requested} is not used, as the profile's counts are the incumbent's")
                return label, f"the profile's incumbent ({incumbent}), whose tokenizer counted the profile{unused}"
    if requested is not None:
        label = next(label for label, model_id in models if matches(requested, label, model_id))
        return label, (f"--reference {requested}; the profile's counts are taken as this model's "
                       "(its incumbent is not in the run)")
    return models[0][0], ("the run's first model (the profile's incumbent is not in the run; choose with "
                          "--reference); the profile's counts are taken as this model's")


def incumbent_of(logged_models: dict[str, int]) -> str | None:
    """The model most of a profile's logged requests name; None when the log names none."""
    if not logged_models:
        return None
    return max(sorted(logged_models), key=lambda name: logged_models[name])
