"""The edge between a run configuration and the runner: plan the benchmarks, build each
model's provider from its spec and options, run, close the providers."""

from __future__ import annotations

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
                m.spec, m.provider_options, context_needed=context, dry_run=config.dry_run
            )
        return await runner.run(providers)
    finally:
        for p in providers.values():
            await p.aclose()
