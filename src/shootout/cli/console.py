"""The console that CLI tables print to."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def stdout_console() -> Console:
    """Rich's console on stdout; piped output (no terminal, no $COLUMNS) gets 200 columns
    instead of rich's 80, which squeezes the wide results and efficiency tables into ellipses."""
    wide = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(width=200 if wide else None)
