"""Helpers of the in-process llama.cpp provider (`providers.local`): how its fast
log-likelihood path lays out its batches, cache bookkeeping, file stamps, quiet loading,
the import of llama-cpp-python and the grammars of response formats."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..errors import ConfigError, ProviderError

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


def generation_keep(aligned: int, n: int) -> int:
    """How much of the cached prefix a prompt of `n` tokens keeps, where the cache's first
    `aligned` positions (a multiple of UBATCH) are the prompt's and were computed in whole
    micro-batches counted from position 0: a multiple of UBATCH below `n`. The rest is then
    evaluated in the micro-batches of the prompt's own single pass from position 0, so every
    row comes out as that pass computes it: the same rows in a micro-batch, attending to a
    cache of the same size. Keeping a prefix that is only a multiple of 4 (the log-likelihood
    path's rule, `_pair_rows`) left 2 of 20 prompts of 500-1,600 tokens with other logits
    (up to 1.35 nats) than their single pass; docs/local-model.md."""
    return max(0, min(aligned, n - 1)) // UBATCH * UBATCH


def exact_end(start: int, end: int) -> int:
    """Where the rows that a decode of positions [start, end) computed as a single pass from
    position 0 computes them end (`start` a multiple of 4, every row before it exact): its
    last micro-batch's rows past the last multiple of 4 are computed another way, and a last
    micro-batch of under 8 rows another way again."""
    tail = (end - start) % UBATCH
    return end - tail if 0 < tail < 8 else end - end % 4


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


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as e:
        raise ConfigError(
            "local models need llama-cpp-python: pip install 'shootout[local]'"
        ) from e
    return llama_cpp


@functools.lru_cache(maxsize=64)
def _grammar(response_format: str) -> Any:
    """The grammar llama-cpp-python's `create_chat_completion` builds for a response format
    (a JSON text): its JSON grammar for JSON mode, the schema's own grammar (`from_json_schema`)
    for structured outputs, which it takes as `{"type": "json_object", "schema": ...}`; a
    schema it cannot turn into a grammar is an error here, not plain JSON as there."""
    fmt = json.loads(response_format)
    grammars = _import_llama().llama_grammar
    if fmt.get("type") == "json_object":
        return grammars.LlamaGrammar.from_string(grammars.JSON_GBNF, verbose=False)
    if fmt.get("type") == "json_schema":
        schema = json.dumps((fmt.get("json_schema") or {}).get("schema", {}))
        try:
            return grammars.LlamaGrammar.from_json_schema(schema, verbose=False)
        except Exception as e:  # its converter raises bare Exceptions and ValueErrors
            raise ProviderError(f"llama.cpp cannot constrain output to this schema: {e}") from e
    raise ProviderError(f"no grammar for response_format type {fmt.get('type')!r}")


T = TypeVar("T")


class Busy:
    """How many requests are inside llama.cpp: the worker's count, read by the thread that
    would free the model."""

    __slots__ = ("n", "stopping")

    def __init__(self) -> None:
        self.n = 0
        self.stopping = False  # the provider is closing: no request begins

    def running(self, fn: Callable[[Any], T], request: Any) -> T:
        if self.stopping:
            raise ProviderError("the local model is closing (the run was stopped)")
        self.n += 1
        try:
            return fn(request)
        finally:
            self.n -= 1


def free_unless_busy(llm: Any, busy: Busy) -> None:
    """The model freed at the provider's end or interpreter exit, unless a request is still
    inside llama.cpp (an interrupted shutdown): the process's end frees it then."""
    if not busy.n:
        llm.close()
