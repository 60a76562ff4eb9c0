"""How many processes build a run's results (`analysis.parallel`): `$SHOOTOUT_WORKERS`, or one
per core for a large run. Kept apart from `parallel` so that commands can check the setting
without importing the benchmarks."""

from __future__ import annotations

import os

from ..errors import ConfigError

WORKERS_ENV = "SHOOTOUT_WORKERS"
MIN_SAMPLES = 100_000  # a smaller run is built in one process: starting more costs more
MAX_WORKERS = 8


def workers_setting() -> int | None:
    """`$SHOOTOUT_WORKERS` as a number of processes, None where it is not set; a malformed
    value is a ConfigError (one line)."""
    given = os.environ.get(WORKERS_ENV, "").strip()
    if not given:
        return None
    try:
        n = int(given)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{WORKERS_ENV} must be a whole number of processes (1 or more), "
                          f"got {given!r}")
    return n


def workers(n_samples: int, n_models: int) -> int:
    """How many processes build a run of `n_samples` samples over `n_models` models."""
    given = workers_setting()
    if given is not None:
        return max(1, min(given, n_models))
    if n_samples < MIN_SAMPLES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_models, MAX_WORKERS))
