"""`--shard I/N`: a deterministic share of a benchmark's items, so several machines can run
one benchmark together into one run of a shared store.

Within each suite, items are ordered by a hash of (suite, item id) and dealt round-robin:
shard I takes positions I-1, I-1+N, ... Every shard of the same config computes the same
deal, so the shards together cover every item exactly once, and their sizes differ by at
most one item per suite. All models and epochs of an item go to the same shard, so the
paired tests compare answers given by the same machine at about the same time.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from evalkit.errors import UsageError
from evalkit.suites.base import Sample

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based: shards are 1/N .. N/N."""
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SHARD.match(text)
        if not match:
            raise UsageError(f"--shard {text!r}: write it as I/N, e.g. --shard 2/3")
        index, count = int(match[1]), int(match[2])
        if count < 1 or not 1 <= index <= count:
            raise UsageError(f"--shard {text}: I must be between 1 and N (e.g. 1/3, 2/3, 3/3)")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, samples: dict[str, list[Sample]]) -> dict[str, list[Sample]]:
        """This shard's items of every suite, in their original order."""
        return {suite: self._share(items) for suite, items in samples.items()}

    def _share(self, items: list[Sample]) -> list[Sample]:
        order = sorted(range(len(items)), key=lambda i: _item_key(items[i]))
        mine = set(order[self.index - 1::self.count])
        return [item for i, item in enumerate(items) if i in mine]


def _item_key(sample: Sample) -> str:
    return hashlib.sha256(f"{sample.suite}\0{sample.id}".encode()).hexdigest()
