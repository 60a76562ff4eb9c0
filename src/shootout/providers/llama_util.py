"""Helpers of the in-process llama.cpp provider (`providers.local`): how its fast
log-likelihood path lays out its batches, cache bookkeeping, file stamps, quiet loading."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# llama.cpp's micro-batch: a decode is computed in batches of this many tokens
UBATCH = 512


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """The file's sha256, once per file version (size and mtime are the cache key)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints load-time notices straight to fd 2; keep them off the user's terminal."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _shared_end(c: int, lengths: list[int]) -> int | None:
    """Where the fast path's shared context evaluation ends (a multiple of 4, at most c - 1,
    leaving every continuation's own batch 8 rows or more; 0: nothing shared), or None where
    only a single pass reproduces the single pass: a sequence whose last micro-batch has
    under 8 rows, or a continuation longer than a micro-batch."""
    if any(n > UBATCH and 0 < n % UBATCH < 8 for n in lengths):
        return None
    a = min(min(c - 1, n - 8) for n in lengths)
    a = a // 4 * 4 if a >= 8 else 0
    if a % UBATCH == 4:
        a -= 4  # the shared batch's last micro-batch would have 4 rows
    if any(n - a > UBATCH for n in lengths):
        return None
    return a


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _log_softmax(x: np.ndarray) -> np.ndarray:
    """float32 log-softmax of one logits row (a fresh array), accumulated in float64."""
    m = float(x.max())
    lse = m + float(np.log(np.exp(x - m).sum(dtype=np.float64)))
    return x - np.float32(lse)
