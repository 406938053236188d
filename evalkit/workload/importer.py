"""`read_workload` and `import_workload`: a log file in, a profile (and text sample) out.

The whole file is read and checked before anything is stored: one bad line anywhere and
the `UsageError` lists the bad lines (``file:line: field: what is wrong (how to fix)``)
and the store is not touched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evalkit.errors import UsageError
from evalkit.store.database import Store
from evalkit.workload.build import SAMPLE_LIMIT, ProfileBuilder
from evalkit.workload.formats import LogReader, report
from evalkit.workload.profile import WorkloadProfile

PRIVACY_WARNING = ("warning: the text of the log is stored with the profile; production logs may hold "
                   "personal data (names, e-mail addresses, phone numbers, account numbers)")
UNREDACTED_HINT = "; add --redact to remove e-mail addresses, phone numbers and long numbers first"


@dataclass(frozen=True)
class Imported:
    """What an import read: the profile, the text sample (when kept) and what it passed over."""

    profile: WorkloadProfile
    sample: list[dict] | None
    skipped: int = 0
    """Lines that logged a failed request (not counted)."""
    redactions: Counter[str] = field(default_factory=Counter)
    """Markers put in by ``--redact``: ``[email]``, ``[phone]``, ``[number]`` -> how many."""


def read_workload(path: str | Path, *, name: str | None = None, fmt: str = "auto", keep_text: bool = False,
                  redact: bool = False, limit: int = SAMPLE_LIMIT) -> Imported:
    """Read and check a whole log; a UsageError listing every bad line otherwise."""
    if redact and not keep_text:
        raise UsageError("--redact cleans the kept text, and without --keep-text no text is kept; "
                         "add --keep-text, or drop --redact")
    name = name if name is not None else Path(path).stem
    if not name.strip():
        raise UsageError("--name is empty; give the profile a name such as support-bot")
    reader = LogReader(path, fmt)
    builder = ProfileBuilder(keep_text=keep_text, redact=redact, limit=limit)
    for line, entry in reader.entries():
        if not reader.problems:  # after a bad line, only check the rest
            builder.add(line, entry)
    if reader.problems:
        raise UsageError(report(reader.shown, reader.problems))
    if not builder.requests:
        raise UsageError(f"{reader.shown}: no successful requests ({builder.skipped} logged failures); "
                         "give a log of answered requests")
    if builder.timed and builder.first_untimed_line is not None:
        raise UsageError(f"{reader.shown}:{builder.first_untimed_line}: no timestamp, while {builder.timed} other "
                         "lines have one; log the time of every request (or of none), so the rate is over all")
    assert reader.format is not None
    profile, sample = builder.finish(name, str(path), reader.format)
    return Imported(profile=profile, sample=sample, skipped=builder.skipped, redactions=builder.redactions)


def import_workload(store: Store, path: str | Path, **options) -> Imported:
    """`read_workload`, then store the profile (and its text sample) under its name."""
    imported = read_workload(path, **options)
    profile = imported.profile
    store.save_workload(profile.name, profile.source, profile.format, profile.to_dict(), imported.sample)
    return imported
