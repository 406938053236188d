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

from evalkit.store.database import DEFAULT_STORE, RunRow, Store, store_url
from evalkit.store.lease import Lease, LeaseLost, RunHeld
from evalkit.store.records import (
    ESTIMATED_MARK,
    LAG_LIMIT_MS,
    CallKey,
    CallRecord,
    LongText,
    inter_token_latency_s,
    output_speed_tps,
)
from evalkit.store.schema import SCHEMA_VERSION
from evalkit.store.writer import RecordWriter

__all__ = [
    "DEFAULT_STORE", "ESTIMATED_MARK", "LAG_LIMIT_MS", "SCHEMA_VERSION", "CallKey", "CallRecord", "Lease",
    "LeaseLost", "LongText", "RecordWriter", "RunHeld", "RunRow", "Store", "inter_token_latency_s",
    "output_speed_tps", "store_url",
]
