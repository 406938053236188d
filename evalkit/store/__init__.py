"""Store: what each call measured, and the history database that keeps every run.

Stage 3. Owns `CallRecord` (one call as measured and as stored) with the per-call metric
definitions (output speed, inter-token latency), `CallKey` (what identifies a call within
a run), the schema derived from the record's annotations (`schema`), its append-only
migrations (`migrations`), the `Store` API over SQLite or PostgreSQL (`database`), the
background `RecordWriter` (`writer`) and run leases (`lease`).

May import the foundation and the stages below it (config, transport), nothing above:
the runner, analysis and reports read and write through this API. Modules inside the
package import each other by module, never this package. pandas loads only when a
frame is read (`Store.records_frame`).
"""

from __future__ import annotations

from evalkit.lazy import lazy_exports

_EXPORTS = {
    "CallKey": "evalkit.store.records",
    "CallRecord": "evalkit.store.records",
    "DEFAULT_STORE": "evalkit.store.database",
    "ESTIMATED_MARK": "evalkit.store.records",
    "LAG_LIMIT_MS": "evalkit.store.records",
    "Lease": "evalkit.store.lease",
    "LongText": "evalkit.store.records",
    "RecordWriter": "evalkit.store.writer",
    "RunHeld": "evalkit.store.lease",
    "RunRow": "evalkit.store.database",
    "SCHEMA_VERSION": "evalkit.store.schema",
    "Store": "evalkit.store.database",
    "WorkloadRow": "evalkit.store.database",
    "inter_token_latency_s": "evalkit.store.records",
    "output_speed_tps": "evalkit.store.records",
    "store_url": "evalkit.store.database",
}
"""Each public name and the module it lives in: loaded on first use, so importing the
package costs nothing (no pandas, scipy or sqlalchemy until a name is used)."""

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
