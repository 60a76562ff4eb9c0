"""A stored response's figures as fixed-width numbers (`response_nums.nums`, issue 18).

What the results read of a response (its kind, time, token counts and timings) is kept, as
each response is stored, as one ROW (little endian, 8 bytes a field), so that a run's
responses become numpy columns in one call (`columns`) rather than a JSON text parsed and read
field by field for each (a third of a 500k-sample build). Which fields the response had, and
which of them were null, is kept too: `facts` gives back its usage, timing and finish reason
as they were stored (without the chunk times, which are kept apart, as in `response_lean`).

`pack` gives None for a response whose figures do not fit (a kind, a finish reason or a field
this layout has no place for, a value of another type, a count past 64 bits): such a response
keeps no row, and is read from its facts as before.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy only where rows are read as columns: not on a kept build's path
    import numpy as np

FORMAT = 1  # the layout's version: a row of another is not read as this one

KINDS = ("generate", "loglikelihood")  # code 1, 2
FINISH = (None, "stop", "length", "tool_calls", "max_tokens", "end_turn", "stop_sequence",
          "tool_use", "content_filter", "model_context_window_exceeded", "refusal",
          "pause_turn")  # code 0, 1, ...
TIMES = ("e2e", "ttft", "connect", "first_reasoning", "first_answer")
COUNTS = ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
          "cache_write_tokens")
FLAGS = ("estimated", "batch")
USAGE = (*COUNTS, *FLAGS)
# bit i of `present`: field i of FIELDS was in the response; of `null`: it was null there; of
# `ints`: a time that was a whole number there (exactly a float64: of at most 53 bits)
FIELDS = (*TIMES, *USAGE)
_NULLABLE = frozenset(TIMES) - {"e2e"}

HEAD = ("format", "kind", "finish", "present", "null", "ints")
ROW = struct.Struct(f"<{len(HEAD)}qd{len(TIMES)}d{len(USAGE)}q")  # HEAD, created_at, ...
SIZE = ROW.size


@cache
def dtype() -> np.dtype:
    """ROW as a numpy structured dtype (little endian on every platform)."""
    import numpy as np

    return np.dtype([*((name, "<i8") for name in HEAD), ("created_at", "<f8"),
                     *((name, "<f8") for name in TIMES), *((name, "<i8") for name in USAGE)])


_BIT = {name: 1 << i for i, name in enumerate(FIELDS)}
_MIN, _MAX = -(2**63), 2**63
_EXACT = 2**53


def pack(kind: str, created_at: float, response: Mapping[str, Any]) -> bytes | None:
    """A response's ROW (kind as stored, created_at as stored), or None where it does
    not fit (see the module doc). The chunk times are not in it."""
    usage = response.get("usage") or {}
    timing = response.get("timing") or {}
    finish = response.get("finish_reason")
    if not isinstance(usage, dict) or not isinstance(timing, dict) or kind not in KINDS \
            or finish not in FINISH or type(created_at) is not float:
        return None
    if not usage.keys() <= set(USAGE) or not timing.keys() - {"chunk_times"} <= set(TIMES):
        return None
    row: dict[str, Any] = dict.fromkeys(TIMES, 0.0)
    row.update(dict.fromkeys(USAGE, 0))
    present = null = ints = 0
    for name, value in (*timing.items(), *usage.items()):
        if name == "chunk_times":
            continue
        present |= _BIT[name]
        if value is None and name in _NULLABLE:
            null |= _BIT[name]
        elif name in TIMES:
            if type(value) is int and -_EXACT <= value <= _EXACT:
                ints |= _BIT[name]
            elif type(value) is not float:
                return None
            row[name] = float(value)
        elif name in FLAGS:
            if type(value) is not bool:
                return None
            row[name] = int(value)
        elif type(value) is not int or not _MIN <= value < _MAX:
            return None
        else:
            row[name] = value
    return ROW.pack(FORMAT, 1 + KINDS.index(kind), FINISH.index(finish), present, null, ints,
                    created_at, *(row[n] for n in TIMES), *(row[n] for n in USAGE))


_PREFIX = struct.pack("<q", FORMAT)


def has(got: np.ndarray, name: str) -> np.ndarray:
    """Of ROWs (`rows`): whether each had the field `name`, not null."""
    bit = _BIT[name]
    return ((got["present"] & bit) != 0) & ((got["null"] & bit) == 0)


def readable(blob: bytes | None) -> bool:
    """Whether `blob` is a ROW of this layout."""
    return blob is not None and len(blob) == SIZE and blob.startswith(_PREFIX)


def rows(blobs: Sequence[bytes]) -> np.ndarray | None:
    """ROWs from their bytes, in order (a structured array); None where any is not one
    of this layout."""
    import numpy as np

    if any(len(b) != SIZE for b in blobs):
        return None
    out = np.frombuffer(b"".join(blobs), dtype=dtype())
    if out.size and (out["format"] != FORMAT).any():
        return None
    return out


def facts(blob: bytes) -> tuple[str, float, dict[str, Any], dict[str, Any], str | None]:
    """(kind, created_at, usage, timing, finish_reason) of a ROW of this layout
    (`readable`), as the response had them (its fields in this layout's order)."""
    got = ROW.unpack(blob)
    head = dict(zip(HEAD, got, strict=False))
    r = dict(zip(("created_at", *TIMES, *USAGE), got[len(HEAD):], strict=True))
    present, null, ints = head["present"], head["null"], head["ints"]
    values: dict[str, Any] = {}
    for name in FIELDS:
        bit = _BIT[name]
        if not present & bit:
            continue
        if null & bit:
            values[name] = None
        elif name in TIMES:
            values[name] = int(r[name]) if ints & bit else r[name]
        elif name in FLAGS:
            values[name] = bool(r[name])
        else:
            values[name] = r[name]
    timing = {n: values[n] for n in TIMES if n in values}
    usage = {n: values[n] for n in USAGE if n in values}
    return KINDS[head["kind"] - 1], r["created_at"], usage, timing, FINISH[head["finish"]]
