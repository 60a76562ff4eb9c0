"""The throw-away uids a sandbox runs programs as when the tool runs as root
(`scoring.sandbox`): far from real accounts, a block of them for each shootout process."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path

# Throw-away uids for sandboxed programs when running as root: one per concurrent run, far from
# real accounts, so one program's processes never count against another's RLIMIT_NPROC.
UID_BASE = 1_900_000_000
UID_SLOTS = 256
UID_RANGE = 4096 * UID_SLOTS


class _Uids:
    """This process's throw-away uids: a block of UID_SLOTS claimed for it alone among the
    shootout processes that share its /run (or temp folder): an exclusive lock on the
    block's file there, held to its end; and its slots free, every sandbox's of the process.
    The block was the pid modulo 4096: two processes alike (parallel shards, 1 in 4096)
    shared uids, so one's fork bomb filled the other's process limit, and its right answers
    failed (a sandbox audit's); so did two sandboxes of one process, each with its slots.
    Containers that share the host's uids but not its /run (Docker without user namespaces)
    can still draw the same block."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free: list[int] = []
        self._claimed: tuple[int, int] | None = None  # (pid, block)
        self._fd: int | None = None

    def block(self) -> int:
        pid = os.getpid()
        if self._claimed is None or self._claimed[0] != pid:  # first, or a forked child
            self._claimed = (pid, self._claim(pid))
            self.free = list(range(UID_SLOTS))
        return self._claimed[1]

    def _claim(self, pid: int) -> int:
        start = pid % 4096
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock (the sandbox needs Linux anyway)
            return start
        # root's own /run where it can be written (a folder under /tmp that another user
        # made first left this to the pid's block: a review's)
        run = Path("/run")
        base = run if os.geteuid() == 0 and os.access(run, os.W_OK) else \
            Path(tempfile.gettempdir())
        where = base / "shootout-sandbox-uids"
        try:
            where.mkdir(mode=0o700, exist_ok=True)
            st = os.lstat(where)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                return start  # not this user's own folder: the pid's block, as before
            for i in range(4096):
                block = (start + i) % 4096
                fd = os.open(where / str(block),
                             os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                if self._fd is not None:  # a forked child's copy of its parent's lock
                    os.close(self._fd)
                self._fd = fd
                return block
        except OSError:
            pass
        return start


UIDS = _Uids()
