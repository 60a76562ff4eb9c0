"""Replicas end to end: three fake servers of different speeds, each in its own process, as
replicas of one model in a run; one is killed mid-run, and the run completes with every
sample, the others having taken its work."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from shootout.config import validate_config
from shootout.providers.openai import OpenAIProvider
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing.fake_server import FakeServerProcess


def test_a_replica_killed_mid_run_loses_no_sample(data_dir: Path, tmp_path: Path) -> None:
    cfg = validate_config({"models": [{"spec": "openai:fake-model", "name": "fake"}],
                           "benchmarks": ["arc_easy"], "limit": 40}, "test")
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(FakeServerProcess(ttft=t, fill_max_tokens=False))
                   for t in (0.05, 0.1, 0.2)]
        urls = [s.base_url for s in servers]
        provider = OpenAIProvider("fake-model", base_urls=urls, concurrency=2,
                                  replica_cooldown=60)

        async def kill_the_fastest() -> None:
            while provider.pool.replicas[0].served < 3:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(servers[0].__exit__)  # SIGTERM: connections and port close

        async def go() -> str:
            killer = asyncio.ensure_future(kill_the_fastest())
            try:
                return await Runner(cfg, Store(tmp_path / "r.sqlite"),
                                    data_dir=str(data_dir)).run({"fake": provider})
            finally:
                killer.cancel()
                await provider.aclose()

        run_id = asyncio.run(go())
    store = Store(tmp_path / "r.sqlite")
    samples = list(store.samples(run_id))
    assert len(samples) == 40 and all(s.status == "ok" for s in samples)
    replicas = store.get_run(run_id)["manifest"]["models"]["fake"]["replicas"]
    assert all(r["served"] > 0 for r in replicas)  # all received work
    killed = replicas[0]
    assert killed["taken_out"] == 1 and killed["errors"] >= 3
    assert sum(r["served"] for r in replicas) == 40
