"""The list of stored runs, for `evalkit runs`."""

from __future__ import annotations

import datetime as dt

from evalkit.console import fit
from evalkit.store.database import Store

COLUMNS = [fit.Column("Run"), fit.Column("Started"), fit.Column("Status", wrap=fit.TEXT), fit.Column("Tag"),
           fit.Column("Records", right=True), fit.Column("Models", wrap=fit.ITEMS),
           fit.Column("Suites", wrap=fit.ITEMS), fit.Column("Config")]
"""Run ids, tags, names and the config hash are kept whole: `show`, `report` and `--resume` need them."""


def runs_table(store: Store, limit: int) -> fit.Grid | str:
    runs = store.runs(limit)
    if not runs:
        return f"No runs in {store.url} yet: `evalkit compare` makes one."
    table = fit.Grid(f"Runs in {store.url}", COLUMNS)
    for run in runs:
        started = dt.datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            run.run_id,
            started,
            _status(store, run),
            run.tag or "",
            str(store.record_count(run.run_id)),
            tuple(run.models),
            tuple(run.suites),
            run.config_hash,
        )
    return table


def _status(store: Store, run) -> str:
    if not run.shard_count:
        return run.status
    reported, total, _ = store.shard_progress(run.run_id)
    return run.status if reported == total else f"{run.status} ({reported}/{total} shards)"
