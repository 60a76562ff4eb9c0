"""A process forked ahead of its work (issue 18): its imports done while this process reads,
then one call computed there.

A report's charts are drawn from data that is known only once the run is read, and drawing
them starts with matplotlib's import (0.6 s of their 1.7 s at 516k samples), on a path that
keeps both cores busy once the data is read. `primed(warm)` forks at once: the child runs
`warm()` (the import) while this process reads, and then computes the call `Primed.run`
sends it (a module-level function and its arguments, pickled), as `parallel.beside` does.

The call is read by a thread of the child while it warms up: a large call (a chart's every
latency) would otherwise fill the pipe and hold this process until the warm-up ended. A
child dropped before its call comes is not stopped, only left to end: its pipes are closed,
so it ends once its warm-up is done (a signal in the middle of matplotlib's writing of its
font cache would leave the cache's lock file behind, and every later import waits on it);
it is reaped by a later `primed` call, or by init once this process has ended.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
import weakref
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from ..frozen import gc_paused
from .parallel import _OPEN, _awaited, _context, _worker_start, fork

T = TypeVar("T")
_UNREAPED: set[int] = set()  # children left to end on their own, not reaped yet


class Primed:
    """A process forked ahead of its work (`primed`): its warm-up done while this one reads,
    then one call computed there (`run`)."""

    def __init__(self, pid: int, request: int, reply: int) -> None:
        self._pid, self._request, self._reply = pid, request, reply
        self._sent = False
        self._finalizer = weakref.finalize(self, _left, (request, reply), pid)

    def run(self, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """fn(*args) computed in the primed process (a module-level `fn`: it is sent by
        name), as `parallel.beside` gives it: the call returned gives its value, computed in
        this process where the primed one fails or the call cannot be sent. Once only."""
        if self._sent:
            raise RuntimeError("a primed process computes one call")
        self._sent = True
        try:
            data = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # cannot be pickled: computed here
            self._finalizer()
            return lambda: fn(*args)
        self._finalizer.detach()
        request, reply, pid = self._request, self._reply, self._pid
        _OPEN.discard(request)
        f = os.fdopen(request, "wb")  # closes `request` whatever happens below
        try:  # the length first: the child reads exactly that much, not up to an EOF
            with f:
                f.write(len(data).to_bytes(8, "little") + data)
        except BaseException as e:  # the child is gone (or Ctrl-C): computed here
            _left((reply,), pid)
            if not isinstance(e, Exception):
                raise
            return lambda: fn(*args)
        return _awaited(pid, reply, lambda: fn(*args), drop=lambda r, p: _left((r,), p))


def primed(warm: Callable[[], object]) -> Primed | None:
    """A forked process that runs `warm()` at once (its errors ignored) and then computes the
    call `Primed.run` sends it. None where fork is not to be used (`parallel._context`) or
    fails."""
    _reap()
    if _context().get_start_method() != "fork":
        return None
    try:
        req_r, req_w = os.pipe()
    except OSError:
        return None
    try:
        res_r, res_w = os.pipe()
    except OSError:
        _close(req_r, req_w)
        return None
    try:
        pid = fork()
    except OSError:
        _close(req_r, req_w, res_r, res_w)
        return None
    if pid == 0:
        _child(warm, (req_r, res_w), (req_w, res_r))
    _close(req_r, res_w)
    _OPEN.update((req_w, res_r))
    return Primed(pid, req_w, res_r)


def _child(warm: Callable[[], object], own: tuple[int, int], parents: tuple[int, int]
           ) -> NoReturn:
    """In a `primed` child: warm up while a thread reads the call (its length, then the
    pickle), compute it and send its value down as `beside`'s child does; out at once
    (after the warm-up) where no call comes."""
    code = 0
    try:
        _close(*parents, *_OPEN)
        _worker_start()
        got: list[bytes] = []
        reader = threading.Thread(target=_read_call, args=(own[0], got), daemon=True)
        reader.start()
        with gc_paused():
            with contextlib.suppress(Exception):
                warm()
            reader.join()
            if not got:  # dropped: no call is coming
                os._exit(0)
            try:
                fn, args = pickle.loads(got[0])
                out = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                out = pickle.dumps((False, None))
        with os.fdopen(own[1], "wb") as f:
            f.write(out)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _read_call(fd: int, got: list[bytes]) -> None:
    """The call's pickle, appended to `got` where all of it came."""
    with contextlib.suppress(Exception), os.fdopen(fd, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        data = f.read(size) if size else b""
        if size and len(data) == size:
            got.append(data)


def _left(fds: tuple[int, ...], pid: int) -> None:
    """A primed child not to be waited for: this process's ends of its pipes closed (it
    ends once its warm-up is done), reaped now where it has ended, else later (`_reap`)."""
    for fd in fds:
        _OPEN.discard(fd)
    _close(*fds)
    _UNREAPED.add(pid)
    _reap()


def _reap() -> None:
    """The primed children left to end (`_left`) that have ended, reaped."""
    for pid in list(_UNREAPED):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped already
            done = pid
        if done:
            _UNREAPED.discard(pid)


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)

