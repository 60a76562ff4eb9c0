"""IsolatedCall: a function in a child process under a hard wall-clock limit."""

from __future__ import annotations

import threading
import time

import pytest

from shootout.scoring.isolated import CallTimeout, IsolatedCall
from shootout.scoring.mathequiv import lm_eval_math_verify_bounded, math_equal_bounded


def test_results_errors_and_a_hang_that_is_killed_and_replaced():
    sleep = IsolatedCall("time:sleep")
    assert sleep(0.01, timeout=30) is None  # first call starts the child
    pid = sleep._proc.pid
    t0 = time.monotonic()
    with pytest.raises(CallTimeout):
        sleep(60, timeout=1.0)
    assert time.monotonic() - t0 < 10
    assert sleep._proc is None  # killed
    assert sleep(0, timeout=30) is None and sleep._proc.pid != pid  # a fresh child
    with pytest.raises(RuntimeError, match="TypeError"):
        sleep("x", timeout=30)
    assert sleep(0, timeout=30) is None  # an exception does not kill the worker
    sleep.close()


def test_math_equal_bounded_from_a_worker_thread_uses_the_child():
    out: list[bool] = []

    def work():
        out.append(math_equal_bounded("\\dfrac{1}{2}", "0.5"))
        out.append(math_equal_bounded("3", "\\frac{1}{2}"))

    t = threading.Thread(target=work)
    t.start()
    t.join(120)
    assert out == [True, False]


def test_lm_eval_math_verify_bounded_from_a_worker_thread_uses_the_child():
    out: list = []

    def work():
        out.append(lm_eval_math_verify_bounded("so $\\boxed{\\frac{1}{2}}$.", "It is 0.5"))
        out.append(lm_eval_math_verify_bounded("so $\\boxed{3}$.", "no answer here"))

    t = threading.Thread(target=work)
    t.start()
    t.join(120)
    assert [(r.correct, r.extracted, r.gold) for r in out] == [
        (True, "0.5", "\\frac{1}{2}"), (False, None, "3")]
