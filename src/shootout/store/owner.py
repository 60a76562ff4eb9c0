"""The process running a run, so that a run whose process died without a word (SIGKILL, the
OOM killer, a power cut) is listed as interrupted rather than running for ever.

`shootout run` marks its run "interrupted" itself when it is stopped by an exception or a
signal Python sees (Ctrl-C, SIGTERM); a process killed outright cannot. So the run's row
says "running", and its owner (host, boot, PID namespace, pid and the pid's start time) is
kept in `meta`. A reader that finds a "running" run whose owner is certainly gone (same host,
and that boot has ended, or in the same PID namespace no process with that pid and start time
is alive) reads it as interrupted. On another host or in another container, or where that
cannot be told, the run is left as it says.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from ..errors import ConfigError


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _pid_namespace() -> str | None:
    """This process's PID namespace (a container has its own: its pids mean nothing here)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _start_ticks(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), or
    None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and brackets: count from its last ")"
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


def this_process() -> str:
    """The owner record of the calling process (JSON)."""
    pid = os.getpid()
    return json.dumps({"host": socket.gethostname(), "boot": _boot_id(), "pid": pid,
                       "pidns": _pid_namespace(), "start": _start_ticks(pid)}, sort_keys=True)


def is_gone(record: str | None) -> bool:
    """True only where the owner is certainly not running: on this host, and its boot has
    ended, or no process has its pid, or the process with its pid started at another
    moment (the pid was reused)."""
    try:
        owner: Any = json.loads(record) if record else None
    except ValueError:
        return False
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    boot = owner.get("boot")
    if boot is not None and (now := _boot_id()) is not None and boot != now:
        return True
    if owner.get("pidns") != _pid_namespace():  # another container's pids: cannot tell
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's (PermissionError), or cannot tell
        return False
    start = owner.get("start")
    found = _start_ticks(pid)
    return start is not None and found is not None and found != start


def is_alive(record: str | None) -> bool:
    """True only where the owner is certainly running: this host, its PID namespace and boot,
    and a process with its pid that started when it did."""
    try:
        owner: Any = json.loads(record) if record else None
    except ValueError:
        return False
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname() \
            or owner.get("pidns") != _pid_namespace() or owner.get("boot") != _boot_id():
        return False
    pid, start = owner.get("pid"), owner.get("start")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or start is None:
        return False
    return _start_ticks(pid) == start


class RunBusyError(ConfigError):
    """The run is being run by another process, still alive, on this machine."""

    def __init__(self, run_id: str, owner: str, status: str = "running",
                 why: str | None = None) -> None:
        try:
            pid = json.loads(owner).get("pid")
        except (ValueError, AttributeError):
            pid = None
        if status == "merging":  # (a merge's refusal said what a second run would do)
            why = why or "another process is merging its shards into this store"
            doing = "being merged"
        else:
            why = why or ("a second process would send again every request it has not "
                          "answered yet")
            doing = "already running"
        super().__init__(
            f"run {run_id} is {doing} (process {pid} on this machine): {why}; wait for it to "
            "end (`shootout runs` lists it), or stop it first")
        self.run_id = run_id
