"""The list of stored runs, for `evalkit runs`."""

from __future__ import annotations

import datetime as dt

from rich.table import Table

from evalkit.store import Store


def runs_table(store: Store, limit: int) -> Table | str:
    runs = store.runs(limit)
    if not runs:
        return f"No runs in {store.url} yet: `evalkit compare` makes one."
    table = Table(title=f"Runs in {store.url}", title_justify="left")
    for header in ("Run", "Started", "Status", "Tag", "Records", "Models", "Suites", "Config"):
        table.add_column(header)
    for run in runs:
        started = dt.datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            run.run_id,
            started,
            _status(store, run),
            run.tag or "",
            str(store.record_count(run.run_id)),
            ", ".join(run.models),
            ", ".join(run.suites),
            run.config_hash,
        )
    return table


def _status(store: Store, run) -> str:
    if not run.shard_count:
        return run.status
    reported, total, _ = store.shard_progress(run.run_id)
    return run.status if reported == total else f"{run.status} ({reported}/{total} shards)"
