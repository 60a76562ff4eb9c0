"""What a large run's report is built from, kept in the store beside its results (issue 18).

A report of a run built in shares (`report.split`) needs, besides the run's results, every
cell's item scores and every model's latencies: the shares read all of the run's samples for
them, most of a 500k-sample report's build. The build of the results at the end of
`shootout run` (and any report built in shares, once it has read them: `later`) keeps them,
with the results they came with, as the run's *report basis*: in `built_results` under the
results' fingerprint with BASIS added, and the revision of the run read before the build
(`store.built`), so a basis is used only while nothing it was built from has changed. A
report then starts from it instead of the samples; `shootout report --rebuild` builds it from
the samples again (and keeps it).

The basis is JSON, not a pickle (a store is a file that may come from elsewhere: reading it
must not run code). `encode` writes exactly the types the shares give (None, bool, int,
float, str, lists, tuples, dicts with string keys, `Score`s), floats bit for bit (NaN and the
infinities as JSON's extension tokens; long lists of floats as float64 bytes), and refuses
anything else (a numpy scalar, a set, a statistic object): then no basis is kept and the report
reads the samples, as it did. A cell whose metric has its own statistic (a subject average,
corpus BLEU) is kept without it: the report computes it from that cell's samples when asked,
as it does for a statistic a share could not send.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.fingerprint import results_fingerprint
from ..analysis.results import RunResults
from ..scores import Score
from ..store import RunRecord, Store

if TYPE_CHECKING:
    from .split import Joined

BASIS = "/report-basis"  # added to the results' fingerprint: the basis's key in built_results
VERSION = 1
_SCORE_FIELDS = tuple(f.name for f in fields(Score))


class Unencodable(Exception):
    """A value the basis does not keep (then there is no basis)."""


def encode(value: Any) -> str:
    """`value` as the basis's JSON (raises Unencodable where it has what the basis does not
    keep)."""
    return json.dumps({"v": VERSION, "b": _enc(value)}, allow_nan=True, separators=(",", ":"))


def decode(text: str) -> Any:
    """What `encode` was given; raises ValueError where the text is not a basis of this
    version."""
    got = json.loads(text)
    if not isinstance(got, dict) or got.get("v") != VERSION or "b" not in got:
        raise ValueError("not a report basis of this version")
    return _dec(got["b"])


def _floats(values: Iterable[Any]) -> bool:
    """Whether `values` are floats, at least one (their types gathered at C speed: a large
    run's basis has ~300k lists of item scores)."""
    return set(map(type, values)) == _FLOAT


_FLOAT = {float}
_LIST = {list}


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(arr.tobytes()).decode("ascii")


def _enc(x: Any) -> Any:
    t = type(x)
    if x is None or t is bool or t is int or t is float or t is str:
        return x
    if t is list:
        if len(x) > 4 and _floats(x):
            return {"f8": _b64(np.asarray(x, dtype="<f8"))}
        return [_enc(v) for v in x]
    if t is tuple:
        return {"t": [_enc(v) for v in x]}
    if t is dict:
        if not all(type(k) is str for k in x):
            raise Unencodable("a dict with keys that are not strings")
        values = list(x.values())
        if len(x) > 4 and set(map(type, values)) == _LIST and all(values) and \
                _floats(chain.from_iterable(values)):
            flat = list(chain.from_iterable(values))
            return {"items": [list(x), _b64(np.asarray(list(map(len, values)), dtype="<i8")),
                              _b64(np.asarray(flat, dtype="<f8"))]}
        return {"d": {k: _enc(v) for k, v in x.items()}}
    if t is Score:
        return {"s": {f: _enc(getattr(x, f)) for f in _SCORE_FIELDS}}
    raise Unencodable(f"a {t.__name__}")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def _dec(x: Any) -> Any:
    if isinstance(x, list):
        return [_dec(v) for v in x]
    if not isinstance(x, dict):
        return x
    (tag, body), = x.items()
    if tag == "f8":
        return _unb64(body, "<f8").tolist()
    if tag == "t":
        return tuple(_dec(v) for v in body)
    if tag == "d":
        return {k: _dec(v) for k, v in body.items()}
    if tag == "items":
        keys, lengths, flat = body
        values = _unb64(flat, "<f8").tolist()
        out: dict[str, list[float]] = {}
        at = 0
        for key, n in zip(keys, _unb64(lengths, "<i8").tolist(), strict=True):
            out[key] = values[at:at + n]
            at += n
        return out
    if tag == "s":
        fields_ = {k: _dec(v) for k, v in body.items()}
        if set(fields_) != set(_SCORE_FIELDS):
            raise ValueError("a score with other fields than this shootout's")
        return Score(**fields_)
    raise ValueError(f"unknown tag {tag!r} in a report basis")


def sendable_figures(figures: Mapping[Any, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A share's figures as the basis keeps them: by "model\\tbenchmark", each metric's item
    scores, or UNSENT where the metric has its own statistic (computed from the samples)."""
    from .split import UNSENT

    out: dict[str, dict[str, Any]] = {}
    for (model, bench), by_metric in figures.items():
        if "\t" in model:
            raise Unencodable("a model name with a tab")
        out[f"{model}\t{bench}"] = {
            metric: UNSENT if isinstance(fig, str) or fig[1] is not None else fig[0]
            for metric, fig in by_metric.items()}
    return out


def received_figures(kept: Mapping[str, Mapping[str, Any]]
                     ) -> dict[tuple[str, str], dict[str, Any]]:
    """`sendable_figures` back as the shares send them (item scores without a statistic)."""
    from .split import UNSENT

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for cell, by_metric in kept.items():
        model, bench = cell.split("\t")
        out[(model, bench)] = {metric: UNSENT if fig == UNSENT else (fig, None)
                               for metric, fig in by_metric.items()}
    return out


# `later`'s blocks, innermost last, each with the process it was opened in (a process forked
# inside one, which has its own copy of this list, keeps at once) and the keeps it has asked for
_LATER: list[tuple[int, list[tuple[Store, str, str, Joined]]]] = []


class Later:
    """A `later` block: `start` hands the keeps asked for so far to a forked process, which
    encodes and writes them while this one goes on; the block's end awaits it."""

    def __init__(self, asked: list[tuple[Store, str, str, Joined]]) -> None:
        self._asked = asked
        self._started: list[Callable[[], bool]] = []

    def start(self) -> None:
        """The keeps asked for so far begun beside this process (`analysis.parallel.beside`:
        in this process, when awaited, where none can be forked or the fork fails)."""
        from ..analysis.parallel import beside

        asked, self._asked[:] = list(self._asked), []
        if asked:
            self._started.append(beside(partial(_keep_all, os.getpid(), asked)))

    def _await(self) -> None:
        while self._started:
            self._started.pop(0)()


def _keep_all(parent: int, asked: list[tuple[Store, str, str, Joined]]) -> bool:
    """`keep` each of `asked`, through a connection of this process's own where it is not
    `parent` (a forked process must not use its parent's)."""
    ok = True
    for store, run_id, revision, got in asked:
        if os.getpid() == parent:
            ok = keep(store, run_id, revision, got) and ok
            continue
        own = Store.writer(store.path) if store.writable else Store.reader(store.path)
        try:
            ok = keep(own, run_id, revision, got) and ok
        finally:
            own.close()
    return ok


@contextmanager
def later() -> Iterator[Later]:
    """The bases `keep` is asked to keep within this block kept by `Later.start`, or at the
    block's end (where it ends without an error), not at once: a report sends its charts'
    data to the process that draws them, then starts its bases' keeps in a forked process
    (encoding and writing one was 0.6 s at 516k samples) while it builds the rest, and the
    block's end awaits them."""
    block = Later([])
    _LATER.append((os.getpid(), block._asked))
    try:
        yield block
    except Exception:  # the keeps started before it: of a build that was whole
        _LATER.pop()
        block._await()
        raise
    except BaseException:  # Ctrl-C: not awaited (a keep's process is stopped)
        _LATER.pop()
        raise
    _LATER.pop()
    block.start()
    block._await()


def keep(store: Store, run_id: str, revision: str, got: Joined) -> bool:
    """Keep a run's report basis, built from the state `revision`, in place of any kept
    before (a --rebuild writes it again: one that was wrong, edited or copied from
    elsewhere, is replaced); False where it has what the basis does not keep, or the store
    cannot be written (the report is still good). Within `later`: when it says (True)."""
    if _LATER and _LATER[-1][0] == os.getpid():
        _LATER[-1][1].append((store, run_id, revision, got))
        return True
    key = results_fingerprint() + BASIS
    res, sent, latency = got
    try:
        text = encode({"scores": res.scores, "breakdowns": res.breakdowns,
                       "analyses": dict(res.analyses), "efficiency": res.efficiency,
                       "figures": sendable_figures(sent), "latency": latency})
    except Unencodable:
        return False
    return store.put_built(run_id, key, revision, text)


def load(store: Store, run_id: str, revision: str, head: RunRecord) -> Joined | None:
    """The run's report basis kept for its state `revision` and this shootout, with `head`
    (the run's record without samples, as read now) as its run; None where there is none,
    or it does not read back as one (a basis edited by hand is not trusted: rebuilt)."""
    text = store.get_built(run_id, results_fingerprint() + BASIS, revision)
    if text is None:
        return None
    try:
        got = decode(text)
        if not _valid(got):
            return None
        res = RunResults(run=head, scores=got["scores"], breakdowns=got["breakdowns"],
                         analyses=got["analyses"], efficiency=got["efficiency"],
                         efficiency_error=None, samples={})
        return res, received_figures(got["figures"]), got["latency"]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


_NUMBER = (int, float)
_SCORE_TYPES: dict[str, tuple[type, ...]] = {
    "metric": (str,), "score": _NUMBER, "stderr": (*_NUMBER, type(None)), "n": (int,),
    "ci_low": (*_NUMBER, type(None)), "ci_high": (*_NUMBER, type(None)), "extra": (dict,),
    "model": (str,), "benchmark": (str,), "group": (str,), "primary": (bool,),
    "repeats": (int,), "n_failed": (int,), "n_attempted": (int, type(None)),
    "extraction_failure_rate": (*_NUMBER, type(None)), "truncated_rate": (*_NUMBER, type(None)),
    "filtered_rate": (*_NUMBER, type(None)),
    "score_failed_as_wrong": (*_NUMBER, type(None)),
    "ci_low_failed_as_wrong": (*_NUMBER, type(None)),
    "ci_high_failed_as_wrong": (*_NUMBER, type(None)), "item_level": (bool,),
}


def _float_lists(values: Collection[Any]) -> bool:
    """Every one of `values` a list of floats (or an empty list): the types taken in C
    (`map(type, ...)`), not one check per float in Python (a 500k-sample run's basis has
    ~290k item-score lists, 2.4M floats: 0.6 s that way)."""
    return set(map(type, values)) <= {list} and \
        set(map(type, chain.from_iterable(values))) <= {float}


def _valid(got: Any) -> bool:
    """The basis's shape down to its leaves where the report computes with them: scores'
    fields of their types, item scores and latencies lists of floats. (Its analyses and
    efficiency rows are as trusted as the kept results JSON they are the same as.)"""
    def score(s: Any) -> bool:
        return type(s) is Score and all(type(getattr(s, f)) in kinds
                                        for f, kinds in _SCORE_TYPES.items())

    def scores(v: Any) -> bool:
        return type(v) is tuple and all(score(s) for s in v)

    def latency(v: Any) -> bool:
        return type(v) is dict and all(
            type(lat) is dict and _float_lists(lat.values()) for lat in v.values())

    def figures(v: Any) -> bool:
        from .split import UNSENT

        return type(v) is dict and all(
            type(by_metric) is dict and all(
                fig == UNSENT or (type(fig) is dict and _float_lists(fig.values()))
                for fig in by_metric.values())
            for by_metric in v.values())

    return (type(got) is dict and set(got) == {"scores", "breakdowns", "analyses",
                                               "efficiency", "figures", "latency"}
            and scores(got["scores"]) and scores(got["breakdowns"])
            and type(got["analyses"]) is dict
            and all(type(a) is dict for a in got["analyses"].values())
            and type(got["efficiency"]) is tuple
            and all(type(e) is dict for e in got["efficiency"])
            and figures(got["figures"]) and latency(got["latency"]))
