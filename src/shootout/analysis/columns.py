"""A run's efficiency groups from its responses taken as columns (issue 18).

`efficiency._collect` counts the responses one at a time, each made a `StoredResponse` record
and read field by field: a third of a 500k-sample results build. `collect` builds the same
groups from the columns `Store.read_run` keeps (`StoredResponses.raw`): each response's
figures as a `store.nums` row (as stored; packed here for a response stored without one),
all of them one numpy array, each group's sums and lists cut from its columns. The groups
hold the same values in the same order, so every row built from them is the same to the last
bit (a randomized test compares the two).

It gives None, and `_collect` counts the run as before (raising what it raised), wherever the
run has something that path treats one response at a time: a multi-turn sample's earlier
turns or a judge's requests; facts that are not the [usage, timing, finish reason] array;
figures that `store.nums` has no place for (a usage or timing key that is not `Usage`'s or
`Timing`'s, a value of another type); token counts whose sums could pass 64 bits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..perf.cost import Tokens
from ..providers.base import Timing, Usage
from ..store import RunRecord, nums
from ..store.decode import StoredResponses
from ..store.rows import EARLIER, JUDGE

if TYPE_CHECKING:
    from .efficiency import Groups

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - a core dependency: without it, the record path
    _orjson = None  # type: ignore[assignment]


class _NotColumns(Exception):
    """The run has something the record path counts one response at a time."""


INTS, NUMBERS = "bi", "bif"  # numpy dtype kinds: token counts; times and flags
USAGE_FIELDS = frozenset(asdict(Usage()))
TIMING_FIELDS = frozenset(asdict(Timing()))


def collect(run: RunRecord) -> tuple[Groups, Groups] | None:
    """`efficiency._collect(run)` built from columns, or None (see the module doc)."""
    from .efficiency import _Group, _Timed

    got = _counted(run)
    if got is None:
        return None
    groups: Groups = defaultdict(_Group)
    for cell, i in got.cells.items():
        sel = got.order[(got.bounds[i - 1] if i else 0):got.bounds[i]]
        groups[cell] = _group(_Group, _Timed, got.cols, sel, got.items[i], got.keys[i])
    return groups, defaultdict(_Group)


def latency(run: RunRecord) -> dict[str, dict[str, list[float]]] | None:
    """`results.request_latency(run)` from columns, or None (see the module doc): per model,
    in the order of the responses' keys, each one's e2e and TTFT (ms), output tokens/s and
    the e2e of the generated answers alone."""
    got = _counted(run)
    if got is None:
        return None
    c = got.cols
    model_of = np.empty(len(got.items), dtype=np.int64)
    models = sorted({m for m, _ in got.cells})
    for (model, _), i in got.cells.items():
        model_of[i] = models.index(model)
    owner = model_of[np.asarray(got.cell_of, dtype=np.int64)] if got.cell_of else \
        np.empty(0, dtype=np.int64)
    out: dict[str, dict[str, list[float]]] = {}
    for mi, model in enumerate(models):
        idx = np.flatnonzero(owner == mi)
        idx = idx[np.argsort(np.asarray([got.counted_keys[i] for i in idx.tolist()]),
                             kind="stable")] if idx.size else idx
        e2e, ttft, toks = c.e2e[idx], c.ttft[idx], c.out[idx]
        timed = e2e != 0  # `if e2e:` (NaN is true)
        speed = c.generate[idx] & (toks > 0) & timed
        lat = {"e2e_ms": (1000.0 * e2e[timed]).tolist(),
               "ttft_ms": (1000.0 * ttft[c.has_ttft[idx]]).tolist(),
               "tokens_per_s": (toks[speed] / e2e[speed]).tolist()}
        if any(lat.values()):
            lat["generate_e2e_ms"] = (1000.0 * e2e[c.generate[idx] & timed]).tolist()
            out[model] = lat
    return out


@dataclass
class _Counted:
    """The responses of a run's samples, each once per model, in the order counted (the
    first benchmark that uses it), as columns; `cells` index `items`, `keys` and `bounds`."""

    cells: dict[tuple[str, str], int]
    items: list[set[str]]
    keys: list[set[str]]
    cell_of: list[int]  # each counted response's cell
    counted_keys: list[str]
    cols: Any
    order: np.ndarray  # the counted responses, cell by cell (in the order counted within)
    bounds: np.ndarray  # where each cell's part of `order` ends


def _counted(run: RunRecord) -> _Counted | None:
    """The run's counted responses (kept with its responses, for the run's samples), or
    None where the record path is to count them."""
    responses = run.responses
    if not isinstance(responses, StoredResponses) or _orjson is None:
        return None
    kept = responses.columns
    if kept is not None and kept[0] is run.samples:
        return kept[1]
    try:
        got: _Counted | None = _count(run, responses)
    except (_NotColumns, TypeError, ValueError, AttributeError, IndexError, KeyError):
        got = None  # the record path raises what it raises, or counts it
    responses.columns = (run.samples, got)
    return got


def _count(run: RunRecord, responses: StoredResponses) -> _Counted:
    raw = responses.raw
    cells: dict[tuple[str, str], int] = {}
    items: list[set[str]] = []
    keys: list[set[str]] = []
    seen: dict[str, set[str]] = defaultdict(set)  # per model: the responses counted
    cell_of: list[int] = []
    counted_keys: list[str] = []
    where: tuple[str, str] | None = None
    ci, counted = -1, set()
    for s in run.samples:  # as `_collect`: a response counts once per model, where first used
        d = s.detail
        if d and (EARLIER in d or JUDGE in d):
            raise _NotColumns
        key = s.response_key
        if not key or key not in raw:
            continue
        if where != (s.model, s.benchmark):
            where = (s.model, s.benchmark)
            got = cells.get(where)
            if got is None:
                got = cells[where] = len(items)
                items.append(set())
                keys.append(set())
            ci, counted = got, seen[s.model]
        items[ci].add(s.item_id)
        if key in counted:
            continue
        counted.add(key)
        keys[ci].add(key)
        cell_of.append(ci)
        counted_keys.append(key)
    cols = _columns([raw[k] for k in counted_keys])
    at = np.asarray(cell_of, dtype=np.int64)
    return _Counted(cells, items, keys, cell_of, counted_keys, cols,
                    order=np.argsort(at, kind="stable"),
                    bounds=np.cumsum(np.bincount(at, minlength=len(items))))


class _Columns:
    """The counted responses' figures, one numpy column each, in the order counted."""

    def __init__(self, **columns: Any) -> None:
        self.__dict__.update(columns)


def _packed(raw: Any) -> tuple[bytes, Any]:
    """A response read from `response_lean` (kind, created_at, facts, chunks) as a
    `store.nums` row and its chunk times (in its timing where the store keeps none apart)."""
    kind, created, facts, chunks = raw
    if type(facts) is not str or type(created) not in (int, float):
        raise _NotColumns
    parsed = _orjson.loads(facts)
    if type(parsed) is not list or len(parsed) != 3:
        raise _NotColumns  # a whole response where SQLite could not read the facts
    usage, timing = parsed[0], parsed[1]
    if chunks is None and isinstance(timing, dict) and "chunk_times" in timing:
        chunks = timing["chunk_times"]
        if type(chunks) is not list:
            raise _NotColumns  # chunk times that are not a list (the record path says so)
    # the finish reason is no figure: any one is read as none
    blob = nums.pack(kind, float(created), {"usage": usage, "timing": timing})
    if blob is None:
        raise _NotColumns
    return blob, chunks


def _columns(rows: list[Any]) -> Any:
    """The columns of `rows` as `Store.read_run` keeps them: every one a `store.nums` row
    (a run stored with them), every one from `response_lean` (a run stored before them: its
    facts parsed at once), or some of each (each of the others packed one by one)."""
    if all(len(r) == 4 for r in rows):
        return _Columns(**_lean_columns(rows))
    blobs: list[bytes] = []
    chunks: list[Any] = []
    for raw in rows:
        if len(raw) == 2:  # as `response_nums` keeps it
            blobs.append(raw[0])
            chunks.append(raw[1])
        else:
            blob, piece = _packed(raw)
            blobs.append(blob)
            chunks.append(piece)
    got = nums.rows(blobs)
    if got is None:
        raise _NotColumns
    counts = {name: got[name].astype(np.int64) for name in nums.COUNTS}
    _check_sums(counts)
    e2e = got["e2e"].astype(np.float64)
    end = got["created_at"].astype(np.float64)
    generate = got["kind"] == 1 + nums.KINDS.index("generate")
    has_ttft, has_connect = nums.has(got, "ttft"), nums.has(got, "connect")
    return _Columns(
        n=len(blobs), chunks=chunks, timed=generate & has_ttft,
        prompt=counts["prompt_tokens"], cached=counts["cached_tokens"],
        out=counts["completion_tokens"], reasoning=counts["reasoning_tokens"],
        written=counts["cache_write_tokens"], estimated=got["estimated"].astype(np.int64),
        batch=got["batch"] != 0, start=end - e2e, end=end, e2e=e2e, has_connect=has_connect,
        connect=got["connect"][has_connect].astype(np.float64),
        connect_at=np.cumsum(has_connect) - 1,
        ttft=got["ttft"].astype(np.float64), has_ttft=has_ttft, generate=generate,
        first_reasoning=got["first_reasoning"].astype(np.float64),
        has_first_reasoning=nums.has(got, "first_reasoning"),
        first_answer=got["first_answer"].astype(np.float64),
        has_first_answer=nums.has(got, "first_answer"),
    )


def _check_sums(counts: dict[str, np.ndarray]) -> None:
    if any(c.size and max(int(c.max()), -int(c.min())) * c.size >= 2**63
           for c in counts.values()):
        raise _NotColumns  # a sum could pass int64's range: Python's ints do not wrap


def _numbers(values: list[Any], kinds: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in kinds or arr.ndim != 1:
        raise _NotColumns
    return arr


def _lean_columns(rows: list[Any]) -> dict[str, Any]:
    """The columns of responses read from `response_lean` (kind, created_at, facts JSON,
    chunk times): every response's facts parsed in one call, each figure read into a numpy
    column (as before `store.nums`: a run stored before it reads as fast as it did)."""
    n = len(rows)
    kinds, created, facts, chunks = zip(*rows, strict=True) if n else ((), (), (), ())
    if not set(map(type, facts)) <= {str}:
        raise _NotColumns
    parsed = _orjson.loads("[" + ",".join(facts) + "]") if n else []
    if len(parsed) != n or not set(map(type, parsed)) <= {list} or \
            not set(map(len, parsed)) <= {3}:
        raise _NotColumns  # a whole response where SQLite could not read the facts
    usage = [p[0] or {} for p in parsed]  # as `stored_response`: null is no usage
    timing = [p[1] or {} for p in parsed]
    if not set(map(type, usage)) | set(map(type, timing)) <= {dict} or \
            not set().union(*usage) <= USAGE_FIELDS or not set().union(*timing) <= TIMING_FIELDS:
        raise _NotColumns
    pieces = [c if c is not None else t.get("chunk_times") for c, t in zip(chunks, timing,
                                                                            strict=True)]
    if not {type(p) for c, p in zip(chunks, pieces, strict=True)
            if c is None and p is not None} <= {list}:
        raise _NotColumns  # chunk times that are not a list (the record path says so)

    def ints(name: str, default: Any = 0) -> np.ndarray:
        return _numbers([u.get(name, default) for u in usage], INTS).astype(np.int64)

    def optional(name: str) -> tuple[np.ndarray, np.ndarray]:
        values = [t.get(name) for t in timing]
        has = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        return _numbers([v if v is not None else 0.0 for v in values],
                        NUMBERS).astype(np.float64), has

    e2e = _numbers([t.get("e2e", 0.0) for t in timing], NUMBERS).astype(np.float64)
    end = _numbers(list(created), NUMBERS).astype(np.float64)
    counts = {name: ints(name) for name in nums.COUNTS}
    _check_sums(counts)
    ttft, has_ttft = optional("ttft")
    connect, has_connect = optional("connect")
    first_reasoning, has_first_reasoning = optional("first_reasoning")
    first_answer, has_first_answer = optional("first_answer")
    generate = np.fromiter((k == "generate" for k in kinds), dtype=bool, count=n)
    return {
        "n": n, "chunks": pieces, "timed": generate & has_ttft,
        "prompt": counts["prompt_tokens"], "cached": counts["cached_tokens"],
        "out": counts["completion_tokens"], "reasoning": counts["reasoning_tokens"],
        "written": counts["cache_write_tokens"],
        "estimated": _numbers([u.get("estimated", False) for u in usage], INTS).astype(np.int64),
        "batch": _numbers([u.get("batch", False) for u in usage], NUMBERS) != 0,
        "start": end - e2e, "end": end, "e2e": e2e, "has_connect": has_connect,
        "connect": connect[has_connect], "connect_at": np.cumsum(has_connect) - 1,
        "ttft": ttft, "has_ttft": has_ttft, "generate": generate,
        "first_reasoning": first_reasoning, "has_first_reasoning": has_first_reasoning,
        "first_answer": first_answer, "has_first_answer": has_first_answer,
    }


def _group(group_cls: Any, timed_cls: Any, c: Any, sel: np.ndarray, items: set[str],
           keys: set[str]) -> Any:
    """One (model, benchmark)'s group: the responses `sel` (indices into the columns, in
    the order counted)."""
    batch = sel[c.batch[sel]]
    g = group_cls(items=set(items), keys=set(keys))
    g.tokens = Tokens(*(int(col[sel].sum()) for col in _token_columns(c)))
    g.batch_tokens = Tokens(*(int(col[batch].sum()) for col in _token_columns(c)))
    g.batched = int(batch.size)
    g.estimated = int(c.estimated[sel].sum())
    g.starts, g.ends = c.start[sel], c.end[sel]
    g.connects = c.connect[c.connect_at[sel[c.has_connect[sel]]]]
    t = sel[c.timed[sel]]
    e2e, ttft, out = c.e2e[t], c.ttft[t], c.out[t]
    timed = timed_cls(n=int(t.size), output_tokens=int(out.sum()))
    timed.ttft, timed.e2e = ttft, e2e
    # TPOT's tokens: those after the first (`perf.metrics.after_first_token`: hidden
    # reasoning, counted but never streamed, came before it)
    hidden = ~c.has_first_reasoning[t] & (c.reasoning[t] > 0)
    after = np.where(hidden, out - np.minimum(c.reasoning[t], out), out)
    many = after > 1
    waited = e2e[many] - ttft[many]  # `max(0.0, e2e - ttft)`: 0.0 for -0.0 and NaN alike
    timed.tpot = np.where(waited > 0.0, waited, 0.0) / (after[many] - 1)
    fast = (e2e > 0) & (out > 0)
    timed.output_tps = out[fast] / e2e[fast]
    # a request's own figures that only some have
    timed.first_reasoning = c.first_reasoning[t[c.has_first_reasoning[t]]].tolist()
    timed.first_answer = c.first_answer[t[c.has_first_answer[t]]].tolist()
    chunks = c.chunks
    for i in t.tolist():
        piece = chunks[i]
        if piece is not None and len(piece) > (8 if isinstance(piece, bytes) else 1):
            timed.chunks.append(piece)
    timed.starts, timed.ends = c.start[t], c.end[t]
    g.timed = timed
    return g


def _token_columns(c: Any) -> tuple[np.ndarray, ...]:
    return c.prompt, c.cached, c.out, c.reasoning, c.written
