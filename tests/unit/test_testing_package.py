"""`python -m shootout.testing.fake_server`, as docs/efficiency.md and the module's docstring
run it, starts without runpy's warning that the package had already imported the module."""

from __future__ import annotations

import subprocess
import sys


def test_the_fake_server_runs_as_a_module_without_a_warning():
    done = subprocess.run([sys.executable, "-W", "error", "-m", "shootout.testing.fake_server",
                           "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage: python -m shootout.testing.fake_server" in done.stdout
    assert "RuntimeWarning" not in done.stderr and "sys.modules" not in done.stderr


def test_the_package_still_exports_its_doubles():
    import shootout.testing as t

    assert {n: getattr(t, n).__name__ for n in ("FakeProvider", "FakeOpenAIServer",
                                                 "fail_at")} == {
        "FakeProvider": "FakeProvider", "FakeOpenAIServer": "FakeOpenAIServer",
        "fail_at": "fail_at"}
