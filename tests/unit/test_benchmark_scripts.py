"""The measurement scripts in benchmarks/ are run by hand (issue 18), so nothing else runs
them: a module they import that moved, or a name renamed, breaks them unseen
(`results_floor.py` imported `_RUN_QUERY` from `store.sqlite` for a session after it moved to
`store.reading`). Each one's `--help` imports all it imports at the top and parses its flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py"))


def test_there_are_scripts():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_measurement_script_starts(script):
    got = subprocess.run([sys.executable, script.name, "--help"], cwd=script.parent,
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr[-2000:]
    assert "usage:" in got.stdout
