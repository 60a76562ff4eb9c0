"""Sharded runs: `shootout run --shard I/N` runs the I-th of N disjoint parts of every
benchmark's items, so N machines can share one run; `shootout merge` puts the parts back.

An item's shard is a hash of (benchmark, item id) modulo N, taken after the seeded `--limit`
sample: the N shards of a run hold exactly the items of the unsharded run, and an item stays
in the same shard whatever the limit and the seed. A hash spreads items evenly for runs of any
real size (1,000 items over 10 shards: 100 ± 10 each); a tiny run can leave a shard without
items of some benchmark, which is harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..benchmarks.base import Doc
from ..errors import ConfigError


def parse_shard(text: str) -> tuple[int, int]:
    """`"2/3"` -> (2, 3): the index (from 1) and the count of shards."""
    index, slash, count = str(text).strip().partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = 0, 0
    if not slash or n < 1 or not 1 <= i <= n:
        raise ConfigError(f"shard {text!r}: expected I/N with 1 <= I <= N (e.g. 2/3)")
    return i, n


def shard_of(benchmark: str, item_id: str, count: int) -> int:
    """The shard (1..count) that holds `item_id` of `benchmark`."""
    digest = hashlib.sha256(f"{benchmark}\0{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard_docs(benchmark: str, docs: Sequence[Doc], shard: str | None) -> list[Doc]:
    """The documents of `benchmark` that shard `shard` ("I/N") runs, in their order: all of
    them when the run is not sharded."""
    if shard is None:
        return list(docs)
    index, count = parse_shard(shard)
    return [d for d in docs if shard_of(benchmark, d.id, count) == index]
