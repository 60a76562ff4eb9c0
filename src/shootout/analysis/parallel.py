"""A run's results built in several processes, a share of the models each (issue 18).

Reading a 500k-sample run and scoring it is Python work on every sample and response, one core
busy for 15 s or more. Every part of a run's results but one is a function of one model's
samples: its scores, breakdowns, analyses and efficiency rows (a model's total pools only its
own requests). So where a run is large, `summary_results` reads and builds the models in
`workers` processes, a contiguous share of the models (in the store's order) each, and joins
what they give back in that order: the same scores, breakdowns, analyses and efficiency rows,
in the same order, as one process builds.

The exception is a benchmark that scores the models together (`aggregate_models`
overridden: needle puts every model's headline on the grid all of them share; or
`compared_groups`, where the models ran different groups: structured's headline on the modes
all of them ran) or that has a judge
(`after_models` overridden: the judge's requests about every model's answers are one
efficiency row): a run with one is built in one process, as is a run with a benchmark that
is not shootout's own (a plug-in registered at run time is not registered in a spawned
worker). So is a run whose build fails anywhere (a
worker's error, a bad price file, a worker killed): the one-process build then raises what it
always raised.

`SHOOTOUT_WORKERS`: the number of processes (1: always one); by default one per core (at most
8, at most one per model) for a run of MIN_SAMPLES samples or more, and one below that, where
starting processes would cost more than it saves.

The results hold no samples (`RunResults.samples` is empty): they are what the results JSON
needs (`cli.results.results_payload`); a report's shares send more (`report.split`). Each
process reads its share in its own transaction, so a run written to during the build may be
read at two moments; such a build is kept under the revision read before it, which the write
has made stale.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace
from typing import Any, NamedTuple, NoReturn, TypeVar

from ..benchmarks import find_benchmark_class
from ..benchmarks.base import Benchmark, has_after_models
from ..frozen import gc_paused
from ..store import RunRecord, Store
from .results import RunResults, run_results
from .workers import MIN_SAMPLES, WORKERS_ENV, workers

__all__ = ["MIN_SAMPLES", "WORKERS_ENV", "Plan", "beside", "held", "in_processes", "joined",
           "part_of", "partition", "plan", "release", "share_results", "summary_results",
           "workers"]

Part = tuple[tuple[Any, ...], tuple[Any, ...], dict[str, Any], tuple[dict[str, Any], ...]]


def summary_results(store: Store, run_id: str) -> RunResults | None:
    """The run's results built in several processes (see the module doc), or None where it
    is built in one: too small, one model, a benchmark that scores the models together or
    that is not shootout's own, a store that is not a file, or a failure in any process."""
    planned = plan(store, run_id)
    if planned is None:
        return None
    parts = in_processes(_build_share,
                         [(str(store.path), run_id, s) for s in planned.shares])
    return None if parts is None else joined(planned.head, parts)


class Plan(NamedTuple):
    head: RunRecord  # the run's record without samples
    shares: list[list[str]]  # the models of each process
    cells: list[tuple[str, str]]  # every (model, benchmark), in the store's order


def plan(store: Store, run_id: str) -> Plan | None:
    """How the run is to be built in several processes; None where in one (see
    `summary_results`)."""
    counts = store.cell_sizes(run_id)
    per_model: dict[str, int] = {}
    for model, bench, n in counts:
        per_model[model] = per_model.get(model, 0) + n
        cls = find_benchmark_class(bench)
        if cls is not None and (_scores_models_together(cls) or _judged(cls)
                                or not cls.__module__.startswith("shootout.")
                                or _groups_compared(store, run_id, bench, cls)):
            return None  # a plug-in's class may not be registered in a spawned worker
    n_workers = workers(sum(per_model.values()), len(per_model))
    head = store.read_run(run_id, models=())  # the run's row, as a record without samples
    if n_workers < 2 or head is None or not store.path.is_file():
        return None
    return Plan(head, partition(per_model, n_workers), [(m, b) for m, b, _ in counts])


T = TypeVar("T")
A = TypeVar("A")


def in_processes(fn: Callable[[A], T | None], args: list[A],
                 meanwhile: Callable[[], object] | None = None) -> list[T] | None:
    """fn of each args, each in a process of its own (a module-level `fn`: a spawned worker
    imports it); None where any raised, returned None or could not be sent back.
    `meanwhile`: called in this process once the workers are started, before their results
    are awaited (what it raises is ignored: it is work done ahead, such as imports)."""
    try:  # a platform without working semaphores has no pool: built in one process
        ctx = _context()
        pool = ProcessPoolExecutor(len(args), mp_context=ctx, initializer=_worker_start,
                                   initargs=(ctx.get_start_method() == "fork", os.getpid()))
    except Exception:
        return None
    try:
        # the workers are forked as the calls are submitted (a fork pool starts them all at
        # the first), with Ctrl-C held as `beside` holds it; not a spawned one, which would
        # start with it held and nothing to let it in
        with _held() if ctx.get_start_method() == "fork" else contextlib.nullcontext():
            submitted = pool.map(fn, args)
        if meanwhile is not None:
            with contextlib.suppress(Exception):
                meanwhile()
        parts = list(submitted)
    except Exception:  # the one-process build raises what it always raised
        return None
    except BaseException:  # Ctrl-C: the workers (which ignore it) are stopped, not awaited
        _stop(pool)
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    if any(p is None for p in parts):
        return None
    return [p for p in parts if p is not None]


_OPEN: set[int] = set()  # this process's ends of the pipes of its `beside` and `primed`
# children, not yet read or written


def beside(fn: Callable[[], T]) -> Callable[[], T]:
    """fn() computed in a forked process while the caller goes on; the call returned gives
    its result. Where fork is not to be used (`_context`), or the process fails or its value
    cannot be sent back, fn runs in this process when the result is asked for (raising what
    it raises). A plain fork and a pipe, no pool: a pool's thread would keep the next
    `beside` from forking (a report draws its charts and ranks its models beside the rest).
    A result never asked for: its process is stopped when the call is dropped."""
    if _context().get_start_method() != "fork":
        return fn
    try:
        r, w = os.pipe()
    except OSError:
        return fn
    try:
        pid = fork()
    except OSError:
        os.close(r)
        os.close(w)
        return fn
    if pid == 0:  # the child: fn's value (or that there is none) down the pipe, then out
        _child(fn, r, w)
    os.close(w)
    _OPEN.add(r)
    return _awaited(pid, r, fn)


_HOLD = (signal.SIGINT, signal.SIGTERM)
_MASK: set[int | signal.Signals] | None = None  # a forked child's mask to restore (`_unhold`)


_PARENT: int | None = None  # the process that forked this one (`fork`)


def fork() -> int:
    """`os.fork()` with Ctrl-C held across it (`_held`)."""
    global _PARENT
    with _held():
        _PARENT = os.getpid()
        return os.fork()


@contextlib.contextmanager
def _held() -> Iterator[None]:
    """Ctrl-C (and SIGTERM) held in this thread while it forks: one that came in a child
    before its handler was set (`_worker_start`) unwound this process's stack there (its
    `finally` blocks and traceback, in a copy of this process). A child forked meanwhile
    takes it once its handler is set (`_unhold`); this process as the block ends."""
    global _MASK
    parent = os.getpid()
    _MASK = signal.pthread_sigmask(signal.SIG_BLOCK, _HOLD)
    try:
        yield
    finally:
        if os.getpid() == parent:
            mask, _MASK = _MASK, None
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _unhold() -> None:
    """In a child forked by `fork`, once its handler is set: the signals held come in."""
    global _MASK
    if _MASK is not None:
        mask, _MASK = _MASK, None
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _awaited(pid: int, r: int, fallback: Callable[[], T],
             drop: Callable[[int, int], None] | None = None) -> Callable[[], T]:
    """The call that gives the value the child `pid` sends down `r` (read once, then kept),
    or `fallback()` where it sends none; a call never made has `drop(r, pid)` done when the
    call is dropped (by default: the child stopped)."""
    got: list[T] = []  # the value, once asked for

    def result() -> T:
        if got:
            return got[0]
        finalizer.detach()
        try:
            with os.fdopen(r, "rb") as f:
                _OPEN.discard(r)
                data = f.read()
            os.waitpid(pid, 0)
        except BaseException:  # Ctrl-C while waiting: the child is stopped, not awaited
            _end_child(pid)
            raise
        try:
            ok, value = pickle.loads(data)
        except Exception:  # the child died, or sent what cannot be read back
            ok, value = False, None
        got.append(value if ok else fallback())
        return got[0]

    finalizer = weakref.finalize(result, drop or _drop, r, pid)
    return result


def _child(fn: Callable[[], Any], r: int, w: int) -> NoReturn:
    """In a `beside` child: fn's value pickled down `w` (or that it has none), then exit at
    once (no exit handlers, no buffers of the parent's flushed twice)."""
    code = 0
    try:
        os.close(r)
        for other in _OPEN:  # the pipes of earlier `beside` and `primed` children are theirs
            os.close(other)
        _worker_start()
        try:
            with gc_paused():
                data = pickle.dumps((True, fn()), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            data = pickle.dumps((False, None))
        with os.fdopen(w, "wb") as f:
            f.write(data)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _drop(r: int, pid: int) -> None:
    """A `beside` result never asked for: its pipe closed and its process stopped."""
    _OPEN.discard(r)
    with contextlib.suppress(OSError):
        os.close(r)
    _end_child(pid)


def _end_child(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except OSError:  # gone already (ChildProcessError is one)
        pass


def _die_with(parent: int | None) -> None:
    """On Linux, this process killed when `parent` ends: a worker of a build whose command
    was killed (SIGKILL) stayed, blocked on its pipe, holding its share's memory and the
    store open (a store audit's). Out at once where the parent is gone already."""
    if parent is None or parent == os.getpid() or not sys.platform.startswith("linux"):
        return  # (`parent` this process: not a child, `_worker_start` called in process)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


def _worker_start(forked: bool = False, parent: int | None = None) -> None:
    """A worker ends at once and without a word on Ctrl-C (sent to the whole process
    group): its own KeyboardInterrupt printed its traceback over the one line that says the
    command was interrupted, and a worker that went on would hold up the command's exit.
    `forked`: a pool's worker forked from this process (`held`), whose collector stays off:
    a share's records, held to its end, were allocated with it paused, and the first
    collection after the pause (as its result is sent) would walk every one of them."""
    global _FORKED
    _FORKED = forked
    _die_with(parent if parent is not None else _PARENT)
    if forked:
        gc.disable()
        for fd in _OPEN:  # the parent's pipes to its `beside` and `primed` children
            with contextlib.suppress(OSError):
                os.close(fd)
        _OPEN.clear()
    signal.signal(signal.SIGINT, _end_quietly)
    _unhold()


def _end_quietly(signum: int, frame: Any) -> None:
    os._exit(128 + signum)


def _stop(pool: ProcessPoolExecutor) -> None:
    """The pool's worker processes ended at once (an interrupted build is not waited for)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.terminate()


def _scores_models_together(cls: type[Benchmark]) -> bool:
    """Whether the benchmark overrides `aggregate_models` (scores every model at once)."""
    return getattr(cls.aggregate_models, "__func__", None) is not _PER_MODEL


def _groups_compared(store: Store, run_id: str, bench: str, cls: type[Benchmark]) -> bool:
    """Whether the benchmark puts the run's models' headlines on the groups all of them ran
    (`compared_groups`), which a share of the models cannot tell: asked of each model's
    groups as stored (samples standing for them carry their group alone), so that a run
    whose models all ran the same groups is still built in shares (a review's)."""
    if getattr(cls.compared_groups, "__func__", None) is _OWN_GROUPS:
        return False
    groups = store.cell_groups(run_id, bench)
    rows = {m: [SimpleNamespace(group=g) for g in gs] for m, gs in groups.items()}
    return cls.compared_groups(rows) is not None


_PER_MODEL = getattr(Benchmark.aggregate_models, "__func__", None)
_OWN_GROUPS = getattr(Benchmark.compared_groups, "__func__", None)


def _judged(cls: type[Benchmark]) -> bool:
    """Whether the benchmark has a phase after every model answered (a judge): a judge's
    requests about several models' answers make one efficiency row, built in one process."""
    return has_after_models(cls)


def partition(sizes: dict[str, int], n: int) -> list[list[str]]:
    """The models, in sorted order, cut into at most `n` contiguous shares of about equal
    samples (a share ends once it reaches its part of what is left)."""
    models = sorted(sizes)
    shares: list[list[str]] = []
    left = sum(sizes.values())
    share: list[str] = []
    got = 0
    for i, model in enumerate(models):
        share.append(model)
        got += sizes[model]
        wanted = left / (n - len(shares))
        more_models = len(models) - i - 1
        if len(shares) < n - 1 and more_models and got >= wanted:
            shares.append(share)
            left -= got
            share, got = [], 0
    if share:
        shares.append(share)
    return shares


def _context() -> multiprocessing.context.BaseContext:
    """fork on Linux where the process runs one Python thread (the workers start at once,
    with everything imported); otherwise spawn (a fresh interpreter per worker, ~1 s of
    imports), as Python itself does on macOS, where fork is unsafe."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _build_share(args: tuple[str, str, Sequence[str]]) -> Part | None:
    """In a worker: the results of some models of the run (None where their efficiency
    rows failed: the one-process build says why)."""
    release()
    with gc_paused():
        res = share_results(*args)
        return None if res is None else part_of(held(res))


_HELD: list[Any] = []  # in a forked pool worker: its share's records (`held`)
_FORKED = False  # this process is a pool's forked worker (`_worker_start`)


def held(value: T) -> T:
    """`value`, kept alive to the end of this worker where it is a forked one: a share's
    millions of records were freed when it returned, before its result was sent (0.14 s a
    share at 258k samples), and a forked worker ends with `os._exit`, which frees nothing. A
    spawned one ends with the interpreter's shutdown, which would free them while the pool's
    shutdown waits: it holds nothing."""
    if _FORKED:
        _HELD[:] = [value]
    return value


def release() -> None:
    """Before a worker's next share: the last one's records freed (one worker may take two
    shares; it would hold both while reading the second)."""
    _HELD.clear()


def share_results(path: str, run_id: str, models: Sequence[str]) -> RunResults | None:
    """In a worker (the collector paused): the run's record of some models, read from the
    store at `path`, and their results; None where there is no such run or where the
    efficiency rows failed (the one-process build says why)."""
    store = Store.reader(path)
    try:
        run = store.read_run(run_id, models=list(models))
    finally:
        store.close()
    if run is None:
        return None
    res = run_results(run)
    return None if res.efficiency_error is not None else res


def part_of(res: RunResults) -> Part:
    """What a share sends back of its results (`joined` puts the shares together)."""
    return res.scores, res.breakdowns, dict(res.analyses), res.efficiency


def joined(run: RunRecord, parts: list[Part]) -> RunResults:
    """The shares' results in the order one process gives them: scores, breakdowns and
    analyses model by model; every model's benchmark rows, then every model's total."""
    analyses: dict[str, Any] = {}
    for p in parts:
        analyses.update(p[2])
    efficiency = [e for p in parts for e in p[3] if e.get("scope") != "model"] + \
        [e for p in parts for e in p[3] if e.get("scope") == "model"]
    return RunResults(
        run=run, scores=tuple(s for p in parts for s in p[0]),
        breakdowns=tuple(b for p in parts for b in p[1]), analyses=analyses,
        efficiency=tuple(efficiency), efficiency_error=None, samples={})
