"""A failed program's reason is its error's line, not a runtime's sign-off after it."""

from __future__ import annotations

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
