"""An item score that is not a finite number (TruthfulQA MC2 where every choice's
log-likelihood is -inf: lm-eval's 0/0) fails its sample with the reason. It was stored as
NaN, and every later build of the run's results failed ("scores must be finite")."""

from __future__ import annotations

import asyncio
import math
import zlib

import pytest

from shootout.analysis.results import build_results
from shootout.benchmarks.base import ItemScore, PromptContext
from shootout.config import validate_config
from shootout.providers.base import GenerateResponse, Sampling
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.runner.sample import scored_row
from shootout.scoring.choice import mc2_score
from shootout.store.sqlite import Store
from shootout.testing import FakeProvider

CTX = PromptContext("loglikelihood", False, Sampling(), 0)


def test_mc2_of_choices_that_are_all_impossible_is_an_error_not_nan() -> None:
    with pytest.raises(ValueError, match="finite log-likelihood"):
        mc2_score([-math.inf, -math.inf], [1, 0])
    assert mc2_score([-math.inf, -1.0], [1, 0]) == 0.0


@pytest.mark.parametrize("value", [math.nan, math.inf, None, "0.5"])
def test_a_metric_that_is_not_a_finite_number_fails_the_sample(value: object) -> None:
    base = dict(model="m", benchmark="b", item_id="i", repeat=0, group="", response_key="k")
    row = scored_row(base, ItemScore(metrics={"acc": 1.0, "mc2": value}),  # type: ignore[dict-item]
                     CTX, GenerateResponse(text="x"))
    assert row.status == "failed" and row.metrics == {}
    assert row.error == f"could not score the response: metric mc2 is {value!r}, not a " \
        "finite number"
    ok = scored_row(base, ItemScore(metrics={"acc": 1, "mc2": 0.25}), CTX,
                    GenerateResponse(text="x"))
    assert ok.status == "ok" and ok.error is None


def _impossible(context: str) -> bool:
    return zlib.crc32(context.encode()) % 3 == 0


def test_a_run_with_impossible_choices_keeps_its_results(tmp_path) -> None:
    store = Store(tmp_path / "s.db")
    provider = FakeProvider(loglikelihood_fn=lambda ctx, cont: (
        -math.inf if _impossible(ctx) else -float(len(cont))))
    cfg = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                           "benchmarks": ["truthfulqa_mc2"], "limit": 12}, "test")
    run_id = asyncio.run(Runner(cfg, store, policy=RetryPolicy(base_delay=0.0)).run(
        {"fake": provider}))
    impossible = {r.item_id for r in store.read_run(run_id).samples if r.status == "failed"}
    contexts = {ctx for req in provider.calls for ctx, _ in req.pairs}
    assert 0 < len(impossible) < 12 and len(impossible) == sum(map(_impossible, contexts))
    assert all("MC2 needs a finite log-likelihood" in (r.error or "")
               for r in store.read_run(run_id).samples if r.status == "failed")
    (row,) = [s for s in build_results(store, [run_id]).runs[0].scores if s.primary]
    assert row.n_failed == len(impossible) and row.n == 12 - len(impossible)
    assert math.isfinite(row.score) and math.isfinite(row.score_failed_as_wrong)
