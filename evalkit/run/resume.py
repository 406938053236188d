"""Resume: continue a stopped run of the same plan, never one whose requests would differ.

The plan of a stored run from its stored config, the refusal of a changed config, and the
interrupted run a plain re-run of the same config may continue.
"""

from __future__ import annotations

from evalkit import redaction
from evalkit.config.models import validate_config
from evalkit.errors import UsageError
from evalkit.run.fingerprint import describe_changes, fingerprint
from evalkit.run.plan import Plan
from evalkit.run.prepare import prepare
from evalkit.store.database import RunRow, Store
from evalkit.store.lease import live_holders


def check_resumable(plan: Plan, run: RunRow) -> None:
    """Refuse to resume a run whose requests would differ, saying what changed."""
    if run.fingerprint is None:
        raise UsageError(f"run {run.run_id} was stored without a fingerprint and cannot be resumed")
    changes = describe_changes(run.fingerprint, fingerprint(plan))
    if changes:
        raise UsageError(
            f"cannot resume {run.run_id}: the config changed ({'; '.join(changes)}); "
            "run it as a new comparison instead"
        )


def find_resumable(plan: Plan, store: Store) -> RunRow | None:
    """The latest unfinished run of exactly this plan that no process is running, if any."""
    current = fingerprint(plan)
    for run in store.runs():
        # a run some process is executing right now is not interrupted: leave it alone
        if run.status != "finished" and run.fingerprint == current and not live_holders(store, run.run_id):
            return run
    return None


def plan_for_resume(run: RunRow, workloads: str | None = None) -> Plan:
    """The plan of a stored run, from its stored config (keys come from the environment;
    replay suites' profiles from the store ``workloads``)."""
    if any(redaction.has_redactions(m.get("api_base")) for m in run.config.get("models", [])):
        raise UsageError(
            f"run {run.run_id} used an endpoint with credentials, which are never stored; "
            "resume it with the same config: evalkit compare --resume RUN -c CONFIG"
        )
    return prepare(validate_config(run.config, source=f"<config stored with run {run.run_id}>"), store=workloads)
