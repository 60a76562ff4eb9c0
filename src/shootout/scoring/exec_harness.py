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
(wall clock, memory, processes) stay around it as the backstop, and `verdict(result)` reads
what it reports. The guard is not a security boundary (the sandbox is); it is there because
the reference's verdicts depend on it (a program that forks, or calls `exit()`, fails there).
"""

from __future__ import annotations

from dataclasses import replace

from .sandbox import ExecResult

REFERENCE_TIMEOUT = 3.0  # seconds: human-eval's `check_correctness` default
_TIMED_OUT = 124  # the harness's exit status when the program ran out of time
_MARK = "@@shootout-harness"

_HARNESS = '''\
import builtins, faulthandler, io, linecache, os, shutil, signal, subprocess, sys, traceback

_PROGRAM = {program!r}
_err = sys.stderr


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


def _end(status, line):
    signal.setitimer(signal.ITIMER_REAL, 0)
    _err.write(line + "\\n")
    _err.flush()
    os._exit(status)


linecache.cache["program.py"] = (len(_PROGRAM), None, _PROGRAM.splitlines(True), "program.py")
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
signal.setitimer(signal.ITIMER_REAL, {timeout!r})
try:
    sys.stdout = sys.stderr = _WriteOnly()
    sys.stdin = _WriteOnly()
    exec(_code, {{}})
except _TimedOut:
    _end({timed_out}, "{mark} timed out")
except BaseException:
    signal.setitimer(signal.ITIMER_REAL, 0)
    traceback.print_exc(file=_err)
    _end(1, "{mark} failed")
_end(0, "{mark} passed")
'''


def harness(program: str, timeout: float = REFERENCE_TIMEOUT) -> str:
    """The program that runs `program` as human-eval's `check_correctness` runs it."""
    return _HARNESS.format(program=program, timeout=float(timeout), timed_out=_TIMED_OUT,
                           mark=_MARK)


def verdict(result: ExecResult, timeout: float = REFERENCE_TIMEOUT) -> ExecResult:
    """The sandbox's result of a `harness` program, read as human-eval reads its run: passed
    only where the harness saw the program return; its alarm a timeout; anything else as
    the sandbox classed it (a failure, the sandbox's own wall clock, memory, a signal). The
    harness's own last line is taken out of the stderr."""
    body, _, last = result.stderr.rstrip().rpartition("\n")
    if not last.startswith(_MARK):
        body, last = result.stderr, ""
    out = replace(result, stderr=body)
    if result.status == "ok":
        if last == f"{_MARK} passed":
            return out
        return replace(out, status="failed",
                       reason="the program ended itself before its tests finished")
    if result.returncode == _TIMED_OUT and last == f"{_MARK} timed out":
        return replace(out, status="timeout", reason=f"ran over {timeout:g}s (human-eval's limit)")
    if result.status == "failed" and last == f"{_MARK} failed":
        lines = [ln for ln in body.strip().splitlines() if ln.strip()]
        # the error's line, as the sandbox gives a failure's (its status says "failed")
        return replace(out, reason=(lines[-1] if lines else "no error output")[:200])
    return out
