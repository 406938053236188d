"""What determines a run's requests, and what changed between two runs of "the same" config.

Resume compares the stored fingerprint with the current one and refuses on any
difference: models, endpoints, request parameters, suite content or evalkit version.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evalkit.redaction import redact_url
from evalkit.run.plan import Plan
from evalkit.version import __version__

REQUEST_OPTIONS = ("temperature", "max_tokens", "seed")


def fingerprint(plan: Plan) -> dict[str, Any]:
    run = plan.config.run
    sampling = {name: getattr(run, name) for name in REQUEST_OPTIONS}
    return {
        "evalkit_version": __version__,
        "models": {m.display: _model_print(m, sampling) for m in plan.config.models},
        "suites": {name: _content_hash(samples) for name, samples in plan.samples.items()},
    }


def _model_print(model: Any, sampling: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": model.id, "api_base": redact_url(model.api_base), "params": {**sampling, **model.params}}
    if model.structured_output != "prompt":  # only then: earlier runs' fingerprints stay as they were
        entry["structured_output"] = model.structured_output
    return entry


def _content_hash(samples: list) -> str:
    payload = [
        (s.id, list(s.messages), s.reference, s.scorer, s.scorer_options) + ((s.params,) if s.params else ())
        + ((s.environment.identity(),) if s.environment is not None else ())
        for s in samples
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def describe_changes(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per difference, in words a user can act on."""
    changes = []
    if stored.get("evalkit_version") != current.get("evalkit_version"):
        changes.append(f"evalkit version {stored.get('evalkit_version')} → {current.get('evalkit_version')}")
    changes += _mapping_changes("model", stored.get("models", {}), current.get("models", {}), _model_change)
    changes += _mapping_changes("suite", stored.get("suites", {}), current.get("suites", {}),
                                lambda name, a, b: [f"suite {name}: its items changed"])
    return changes


def _mapping_changes(kind: str, old: dict, new: dict, detail) -> list[str]:
    lines = [f"{kind} {name} removed" for name in old if name not in new]
    lines += [f"{kind} {name} added" for name in new if name not in old]
    for name in old.keys() & new.keys():
        if old[name] != new[name]:
            lines += detail(name, old[name], new[name])
    return lines


def _model_change(name: str, old: dict, new: dict) -> list[str]:
    lines = []
    for field in ("id", "api_base"):
        if old.get(field) != new.get(field):
            lines.append(f"model {name}: {field} {old.get(field)} → {new.get(field)}")
    old_params, new_params = old.get("params", {}), new.get("params", {})
    for key in sorted(old_params.keys() | new_params.keys()):
        if old_params.get(key) != new_params.get(key):
            lines.append(f"model {name}: {key} {old_params.get(key)!r} → {new_params.get(key)!r}")
    return lines
