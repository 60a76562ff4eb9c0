"""The monitor's schedule: durations as the command line gives them, and the session that a
command's arguments start or continue.

Slots are aligned to the wall clock: with `--every 60s` a probe is due on each minute
(start = the first multiple of `every` since the epoch after the command starts), so a
restarted monitor finds the same slots and probes only those still to come. The session is
found again by a hash of the arguments that define it (models, their options, the interval,
the duration, the probe): a rerun of the same command while its window is still open
continues it; once the window has passed, the same command starts a new session.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..store import MonitorSession, Store

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$")
MAX_SLOTS = 1_000_000  # a year of probes every 30 s


def parse_duration(text: str, flag: str) -> float:
    """"30s", "5m", "1h", "24h", "1.5h", "2d" (or a bare number of seconds) in seconds."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"{flag}: {text!r} is not a duration (e.g. 30s, 5m, 1h, 24h)")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


@dataclass(frozen=True)
class Plan:
    """What a monitor command asks for, before it is matched to a stored session."""

    config: dict[str, Any]  # models, options, probe; no secrets (keys stay in the environment)
    every: float
    duration: float

    @property
    def config_hash(self) -> str:
        blob = json.dumps({**self.config, "every": self.every, "for": self.duration},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def open_session(store: Store, plan: Plan, now: float | None = None) -> tuple[MonitorSession,
                                                                               bool]:
    """The session this plan continues (its window still open), or a new one starting at the
    next multiple of `every`; and whether it was resumed."""
    now = time.time() if now is None else now
    for s in reversed(store.list_monitors(plan.config_hash)):
        if s.end > now:
            return s, True
    slots = math.ceil(plan.duration / plan.every - 1e-9)
    if slots > MAX_SLOTS:
        raise ConfigError(f"--for / --every gives {slots:,} probes; at most {MAX_SLOTS:,}")
    start = math.ceil(now / plan.every) * plan.every
    digest = hashlib.sha256(f"{plan.config_hash}@{start!r}".encode()).hexdigest()[:10]
    session = MonitorSession(f"mon-{digest}", plan.config_hash, now, start, plan.every, slots,
                             {**plan.config, "every": plan.every, "for": plan.duration})
    store.put_monitor(session)
    return session, False


def slot_time(session: MonitorSession, slot: int) -> float:
    return session.start + slot * session.every


def first_slot(session: MonitorSession, now: float) -> int:
    """The first slot not yet due at `now` (slots already past are not probed late)."""
    return max(0, math.ceil((now - session.start) / session.every - 1e-9))
