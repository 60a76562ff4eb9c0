"""Paired t-tests of many pairs of models, each model's item means computed once.

A report compares every pair of models on every benchmark: 45 pairs per benchmark for 10
models. `paired_tests.paired_difference` flattens and averages both models' repeat scores for each
pair, so each model's were averaged 9 times over (1,260 times for 630 tests, ~2 s at 1,147
items x 3 repeats). `item_means` averages one model's once, in its items' order; `paired` of
two of them is `paired_difference` of the two mappings, bit for bit: an item's mean does not
depend on the items beside it (`np.add.reduceat` reduces each item's slice on its own), and
the shared items are taken in the first model's order, as `paired_difference` takes them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .paired_tests import PairedResult, paired_means
from .stats import _split_items, z_quantile


@dataclass(frozen=True, eq=False)
class ItemMeans:
    """One model's per-item means over repeats (x_i of `stats`), in the order of its items,
    and how many repeats each item has."""

    keys: tuple[Hashable, ...]
    means: np.ndarray
    counts: np.ndarray

    @cached_property
    def index(self) -> dict[Hashable, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def shared(self, other: ItemMeans) -> int:
        """How many items both have."""
        if self.keys == other.keys:
            return len(self.keys)
        return len(self.index.keys() & other.index.keys())


def item_means(by_item: Mapping[Any, Sequence[float] | float]) -> ItemMeans | None:
    """The means of `by_item`, or None where `paired_difference` would refuse some item (no
    score, a score that is not finite): the caller then compares the pair as it always did,
    which raises only where the item is one both models have."""
    keys = tuple(by_item)
    scores = [by_item[k] for k in keys]
    try:
        means, _ = _split_items(scores)
    except ValueError:
        return None
    counts = np.fromiter((len(s) if isinstance(s, list | tuple) else int(np.size(s))
                          for s in scores), dtype=np.intp, count=len(scores))
    return ItemMeans(keys, means, counts)


def paired(a: ItemMeans, b: ItemMeans, *, confidence: float = 0.95) -> PairedResult:
    """`paired_tests.paired_difference` of the two models' item scores that `a` and `b` are the
    means of."""
    z_quantile(confidence)  # validates confidence
    if a.keys == b.keys:
        xa, xb, ka, kb = a.means, b.means, a.counts, b.counts
    else:
        where = b.index
        ia = np.fromiter((i for i, k in enumerate(a.keys) if k in where), dtype=np.intp)
        ib = np.fromiter((where[a.keys[i]] for i in ia), dtype=np.intp, count=ia.size)
        xa, xb, ka, kb = a.means[ia], b.means[ib], a.counts[ia], b.counts[ib]
    n = int(xa.size)
    repeated = bool((ka >= 2).any() or (kb >= 2).any())
    return paired_means(xa, xb, repeated=repeated, only_a=len(a.keys) - n,
                        only_b=len(b.keys) - n, confidence=confidence)
