"""What the sandbox tests look for after a run: host processes left running as one of the
sandbox's throw-away uids."""

from __future__ import annotations

from pathlib import Path

from shootout.scoring.sandbox import UID_BASE, UID_RANGE


def sandbox_pids() -> list[int]:
    """Host processes running as one of the sandbox's throw-away uids."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and UID_BASE <= int(line.split()[1]) < UID_BASE + UID_RANGE:
                pids.append(int(entry.name))
    return pids
