"""Per-item scores (a list of repeat scores per item) flattened for numpy (`stats`)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, cast

import numpy as np


def _as_repeats(item: Sequence[float] | float) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(item, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("each item needs a flat, non-empty sequence of repeat scores")
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores must be finite")
    return arr


def flatten_items(scores_by_item: Sequence[Sequence[float] | float]
                  ) -> tuple[list[int], list[Any]]:
    """(repeats per item, every score in item order). Items that are all lists or tuples (the
    usual case) are flattened by `map` and `chain` in C: a Python loop over the items was most
    of a 1,120-item paired comparison, 630 of them in a 10-model report."""
    if not isinstance(scores_by_item, list | tuple):
        scores_by_item = list(scores_by_item)  # read twice below: not an iterator
    if all(isinstance(item, list | tuple) for item in scores_by_item):
        lists = cast("list[Sequence[float]]", scores_by_item)
        return list(map(len, lists)), list(chain.from_iterable(lists))
    lens: list[int] = []
    flat: list[Any] = []
    for item in scores_by_item:
        if isinstance(item, list | tuple):
            lens.append(len(item))
            flat.extend(item)
        elif isinstance(item, int | float):
            lens.append(1)
            flat.append(item)
        else:
            r = _as_repeats(item)
            lens.append(r.size)
            flat.extend(r.tolist())
    return lens, flat
