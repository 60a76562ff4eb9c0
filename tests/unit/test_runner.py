"""The runner in-process, on FakeProvider: scheduling, caching, resume, retries and failure
accounting, with no sockets and no subprocess (the second layer, real servers and the real
model, is in tests/integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from toy_run import N_ITEMS, Colours

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.config import validate_config
from shootout.errors import ProviderError, RetryableProviderError
from shootout.providers.base import GenerateRequest
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.store.sqlite import Store
from shootout.testing import FakeProvider, fail_at


@pytest.fixture(autouse=True)
def toy_benchmark() -> Iterator[None]:
    register_benchmark(Colours)
    yield
    REGISTRY.pop(Colours.name, None)


def right_answer(req: GenerateRequest) -> str:
    """The right letter for a toy item (read from its question)."""
    assert req.messages is not None
    i = int(req.messages[-1].content.split("Colour number ")[1].split("?")[0])
    return f"Answer: {'ABC'[i % 3]}"


def config(**extra: object):
    return validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                            "benchmarks": ["toy_colours"], **extra}, "test")


def run(store: Store, provider: FakeProvider, **extra: object) -> str:
    runner = Runner(config(**extra), store, policy=RetryPolicy(base_delay=0.0))
    return asyncio.run(runner.run({"fake": provider}))


def rows(store: Store, run_id: str) -> dict[tuple[str, int], object]:
    return {(r.item_id, r.repeat): r for r in store.samples(run_id)}


def test_every_item_is_scored_once(tmp_path):
    store, provider = Store(tmp_path / "s.db"), FakeProvider(answer=right_answer)
    run_id = run(store, provider)
    got = rows(store, run_id)
    assert len(got) == N_ITEMS and len(provider.calls) == N_ITEMS
    assert all(r.status == "ok" and r.metrics["acc"] == 1.0 for r in got.values())
    assert store.get_run(run_id)["status"] == "complete"


def test_resume_after_a_crash_asks_only_for_what_was_missing(tmp_path):
    store = Store(tmp_path / "s.db")
    # the sixth call ends the process's event loop mid-run, as Ctrl-C or a kill would
    crashing = FakeProvider(answer=right_answer, max_connections=1,
                            fail=fail_at({5}, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        run(store, crashing)
    run_id = config().run_id()
    assert store.get_run(run_id)["status"] != "complete"
    kept = rows(store, run_id)
    assert len(kept) == 5  # the five answered before the crash were committed
    # so was the manifest so far: the version, the model, the benchmark's settings (a killed
    # run's report had read "shootout ?", "scoring not recorded")
    manifest = store.get_run(run_id)["manifest"]
    assert manifest["version"] and list(manifest["models"]) == ["fake"]
    (entry,) = manifest["benchmarks"].values()
    assert entry["per_model"]["fake"]["mode"] and entry["n_items"] == N_ITEMS
    assert manifest["data_dir"] and "data_checksums" in manifest
    again = FakeProvider(answer=right_answer)
    assert run(store, again) == run_id
    assert len(again.calls) == N_ITEMS - 5
    asked = {c.messages[-1].content for c in again.calls}
    assert not asked & {c.messages[-1].content for c in crashing.calls[:5]}
    assert len(rows(store, run_id)) == N_ITEMS
    assert store.get_run(run_id)["status"] == "complete"


def test_another_run_with_the_same_requests_is_served_from_the_cache(tmp_path):
    store = Store(tmp_path / "s.db")
    first = FakeProvider(answer=right_answer)
    run_a = run(store, first, limit=8)
    second = FakeProvider(answer=right_answer)
    run_b = run(store, second)  # a different run (no limit): 8 of its 12 requests are cached
    assert run_a != run_b
    assert len(second.calls) == N_ITEMS - 8
    assert len(rows(store, run_b)) == N_ITEMS


def test_transient_errors_are_retried_and_attempts_recorded(tmp_path):
    store = Store(tmp_path / "s.db")
    flaky = FakeProvider(answer=right_answer, max_connections=1,
                         fail=fail_at({0, 1, 4}, RetryableProviderError("HTTP 429")))
    run_id = run(store, flaky)
    got = rows(store, run_id)
    assert all(r.status == "ok" for r in got.values())
    assert len(flaky.calls) == N_ITEMS + 3
    attempts = sorted(a for (a,) in store._db.execute("SELECT attempts FROM samples"))
    assert attempts.count(1) == N_ITEMS - 2 and 3 in attempts and 2 in attempts


def test_a_failure_after_the_retry_budget_ran_out_says_so(tmp_path):
    """Once a model's retry budget was spent, its requests failed after one attempt, and the
    error read "after 1 attempts: HTTP 500" with nothing saying why (an audit's)."""
    store = Store(tmp_path / "s.db")
    always = FakeProvider(answer=right_answer, max_connections=1,
                          fail=lambda i, req: RetryableProviderError("HTTP 503"))
    run_id = run(store, always, models=[{"spec": "openai:fake", "name": "fake",
                                         "max_attempts": 3, "retry_budget": 2}])
    errors = sorted(r.error or "" for r in rows(store, run_id).values())
    assert "after 3 attempts: HTTP 503" in errors  # the budget's two retries
    spent = [e for e in errors if e.startswith("after 1 attempt: HTTP 503")]
    assert len(spent) == N_ITEMS - 1
    assert all("retry budget for this run is spent" in e for e in spent)


def test_items_that_keep_failing_are_recorded_failed_and_retried_next_run(tmp_path):
    store = Store(tmp_path / "s.db")
    always = FakeProvider(answer=right_answer,
                          fail=lambda i, req: RetryableProviderError("HTTP 503")
                          if "number 3?" in req.messages[-1].content else None)
    run_id = run(store, always, models=[{"spec": "openai:fake", "name": "fake",
                                         "max_attempts": 3}])
    got = rows(store, run_id)
    failed = [r for r in got.values() if r.status != "ok"]
    assert [r.item_id for r in failed] == ["3"]
    assert failed[0].error == "after 3 attempts: HTTP 503"
    assert store.count_failed(run_id) == 1
    healed = FakeProvider(answer=right_answer)
    run(store, healed, models=[{"spec": "openai:fake", "name": "fake", "max_attempts": 3}])
    assert len(healed.calls) == 1 and store.count_failed(run_id) == 0


def test_a_permanent_error_fails_the_item_without_retrying(tmp_path):
    store = Store(tmp_path / "s.db")
    bad = FakeProvider(answer=right_answer, fail=fail_at({0}, ProviderError("HTTP 400")))
    run_id = run(store, bad)
    assert store.count_failed(run_id) == 1 and len(bad.calls) == N_ITEMS


def test_the_retry_budget_ends_a_dead_endpoint(tmp_path):
    store = Store(tmp_path / "s.db")
    dead = FakeProvider(fail=lambda i, req: RetryableProviderError("HTTP 503"))
    run_id = run(store, dead, models=[{"spec": "openai:fake", "name": "fake",
                                       "retry_budget": 4}])
    assert store.count_failed(run_id) == N_ITEMS
    assert len(dead.calls) == N_ITEMS + 4


def test_concurrency_is_bounded_by_the_provider(tmp_path):
    in_flight, peak = 0, 0

    class Counting(FakeProvider):
        async def generate(self, request):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await super().generate(request)
            finally:
                in_flight -= 1

    run(Store(tmp_path / "s.db"), Counting(answer=right_answer, latency=0.001,
                                           max_connections=3))
    assert peak == 3


def test_a_resumed_run_keeps_the_checksums_of_files_it_did_not_read_again(tmp_path, data_dir):
    """MMLU's dev files are read only to build prompts: a rerun served from the store does not
    reopen them, and its manifest must still name them."""
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                           "benchmarks": ["mmlu"], "limit": 3}, "test")
    store = Store(tmp_path / "s.db")
    sums = []
    for _ in range(2):
        provider = FakeProvider(answer="Answer: A")
        runner = Runner(cfg, store, data_dir=str(data_dir), policy=RetryPolicy(base_delay=0.0))
        run_id = asyncio.run(runner.run({"fake": provider}))
        sums.append(store.get_run(run_id)["manifest"]["data_checksums"])
    assert not provider.calls  # the rerun sent nothing
    dev = [f for f in sums[0] if f.startswith("mmlu/dev/")]
    assert len(dev) == 3 and sums[1] == sums[0]
