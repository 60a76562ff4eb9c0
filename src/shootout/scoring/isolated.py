"""A function run in a long-lived child process, with a hard wall-clock limit per call.

math-verify's own timeouts use SIGALRM, which works only in a process's main thread; the runner
scores MATH from worker threads, where a pathological answer could keep SymPy busy forever.
`IsolatedCall` runs the function in a child (spawned, so it is the child's main thread and
math-verify's timeouts work there), and if a call still outlives `timeout` seconds the child is
killed and replaced: the caller gets `CallTimeout`, never a hang. Calls are serialised; scoring
an answer takes milliseconds, and one child keeps the tool's memory small.
"""

from __future__ import annotations

import importlib
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

_START_TIMEOUT_S = 60.0  # spawn + import (math-verify pulls in SymPy)


class CallTimeout(Exception):
    """The call did not return within its limit; the child was killed."""


class IsolatedCall:
    """`IsolatedCall("pkg.module:function")(*args, timeout=5.0)`; the arguments and the result
    must pickle. An exception inside the child is raised again in the caller as RuntimeError."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None

    def __call__(self, *args: Any, timeout: float) -> Any:
        with self._lock:
            conn = self._ensure()
            conn.send(args)
            if not conn.poll(timeout):
                self._kill()
                raise CallTimeout(f"{self.target} took longer than {timeout:g} s")
            try:
                ok, value = conn.recv()
            except EOFError as e:  # the child died (out of memory, a crash)
                self._kill()
                raise RuntimeError(f"{self.target}: the worker process died") from e
            if not ok:
                raise RuntimeError(f"{self.target}: {value}")
            return value

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _ensure(self) -> Connection:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            return self._conn
        self._kill()
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, self.target), daemon=True)
        proc.start()
        child.close()
        if not parent.poll(_START_TIMEOUT_S) or parent.recv() != "ready":
            proc.kill()
            raise RuntimeError(f"{self.target}: the worker process did not start")
        self._proc, self._conn = proc, parent
        return parent

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None


def _serve(conn: Connection, target: str) -> None:
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    conn.send("ready")
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as e:
            conn.send((False, f"{type(e).__name__}: {e}"))
