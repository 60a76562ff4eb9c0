"""One benchmark on the embedded SmolLM2-135M-Instruct through the runner, in-process (shared
by the integration tests of chat benchmarks)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shootout.config import validate_config
from shootout.providers.registry import build_provider
from shootout.runner.run import Runner
from shootout.store.sqlite import Store


def run_smol(benchmark: str | dict[str, Any], *, limit: int, max_tokens: int, n_ctx: int,
             data_dir: Path, tmp_path: Path) -> tuple[Store, str]:
    """(store, run id) of `benchmark` (a name, or a run config's benchmark entry with its
    options) at `limit` items on the model named "smol"."""
    cfg = validate_config({"models": [{"spec": "local:smollm2-135m", "name": "smol"}],
                           "benchmarks": [benchmark], "limit": limit,
                           "sampling": {"max_tokens": max_tokens}}, "test")
    provider = build_provider("local:smollm2-135m", {"n_ctx": n_ctx})
    store = Store(tmp_path / "r.sqlite")

    async def go() -> str:
        try:
            return await Runner(cfg, store, data_dir=str(data_dir)).run({"smol": provider})
        finally:
            await provider.aclose()

    return store, asyncio.run(go())
