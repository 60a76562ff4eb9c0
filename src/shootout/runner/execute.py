"""The edge between a run configuration and the runner: plan the benchmarks, build each
model's provider from its spec and options, run, close the providers."""

from __future__ import annotations

from typing import Any

from ..config import RunConfig
from ..providers.base import Provider
from ..providers.registry import build_provider
from ..store.sqlite import Store
from .progress import Progress
from .run import Runner


async def execute_run(
    config: RunConfig,
    store: Store,
    *,
    data_dir: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Run `config`, storing into `store`; return the run id."""
    runner = Runner(config, store, data_dir=data_dir, progress=progress)
    context = runner.context_needed()  # plans (loads) every benchmark first: bad data fails here
    providers: dict[str, Provider] = {}
    try:
        for m in config.models:
            providers[m.display] = build_provider(
                m.spec, _journal_beside(m.provider_options, store), context_needed=context,
                dry_run=config.dry_run)
        return await runner.run(providers)
    finally:
        for p in providers.values():
            await p.aclose()


def _journal_beside(options: dict[str, Any], store: Store) -> dict[str, Any]:
    """A batch model's options with its journal beside the run's store, unless given: beside
    the default store (the working folder's), a rerun of a `--store` run from another folder
    did not find its submitted job and submitted (and billed) the batch again."""
    if not options.get("batch") or options.get("batch_journal") or not store.path.is_file():
        return options
    return {**options, "batch_journal": str(store.path.parent / "batches.jsonl")}
