"""The user's data cache, which `shootout data pull` fills and runs read last."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SHOOTOUT_CACHE"
MIRROR_ENV = "SHOOTOUT_DATA_MIRROR"
# written by `data pull` at the top of a folder it manages: files there are checked against the
# shipped sums on every read, since nobody is expected to edit them
MARKER = ".shootout-data-cache"


def cache_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--cache-dir, else $SHOOTOUT_CACHE, else $XDG_CACHE_HOME/shootout/data (~/.cache/...)."""
    raw = explicit if explicit is not None else os.environ.get(CACHE_ENV)
    if raw is not None and str(raw) != "":
        return Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "shootout" / "data"


def is_pulled(root: Path) -> bool:
    """Whether `root` is a folder `data pull` manages (its files are verified on read)."""
    return (root / MARKER).is_file()


def is_default_cache(root: Path) -> bool:
    try:
        return root.resolve() == cache_dir().resolve()
    except OSError:
        return False


def mark_pulled(root: Path) -> None:
    marker = root / MARKER
    if not marker.exists():
        root.mkdir(parents=True, exist_ok=True)
        marker.write_text(
            "Written by `shootout data pull`: every file here is checked against the sha256 "
            "sums shipped with shootout when a run reads it.\n",
            encoding="utf-8",
        )
