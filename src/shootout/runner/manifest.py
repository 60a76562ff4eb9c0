"""The reproducibility manifest of a run."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

from .. import __version__


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def base_manifest() -> dict[str, Any]:
    return {
        "tool": "shootout",
        "version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
