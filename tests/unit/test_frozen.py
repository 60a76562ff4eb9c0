"""shootout.frozen: records assembled without their generated `__init__` are the records the
class builds (issue 18: the results build assembles one per stored sample and response)."""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import replace
from pathlib import Path

import pytest

from shootout.analysis.efficiency import usage_timing
from shootout.frozen import assemble, assemble_or_call, gc_paused
from shootout.perf.metrics import RequestMetrics, request_metrics
from shootout.providers.base import Timing, Usage
from shootout.store import SampleRow, Store, StoredResponse

ROW = SampleRow(model="m", benchmark="mmlu", item_id="mmlu/3", repeat=2, group="law",
                status="ok", metrics={"acc": 1.0}, extracted="B", reason="",
                extraction_failed=False, error=None, response_key="k",
                detail={"mode": "loglikelihood"})


def test_an_assembled_record_is_the_constructed_one() -> None:
    got = assemble(SampleRow, dataclasses.asdict(ROW))
    assert got == ROW and hash(repr(got)) == hash(repr(ROW)) and got.answered
    assert replace(got, status="failed") == replace(ROW, status="failed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.status = "failed"  # type: ignore[misc]


def test_the_store_reads_back_the_samples_it_was_given(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run("r", {})
    failed = replace(ROW, item_id="mmlu/4", status="failed", metrics={}, error="HTTP 503",
                     response_key=None, detail={})
    for row in (ROW, failed):
        store.put_sample("r", row)
    run = store.read_run("r")
    assert run is not None and run.samples == (ROW, failed)
    assert [dataclasses.asdict(s) for s in run.samples] == [dataclasses.asdict(ROW),
                                                          dataclasses.asdict(failed)]


def test_usage_and_timing_of_a_stored_response_as_the_classes_build_them() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "cached_tokens": 4,
             "estimated": True}
    timing = {"ttft": 0.25, "e2e": 1.0, "chunk_times": [0.25, 0.5], "connect": 0.05}
    resp = StoredResponse("k", "generate", 10.0, usage, timing, "stop")
    got_usage, got_timing = usage_timing(resp)
    assert got_usage == Usage(**usage)  # type: ignore[arg-type]
    assert got_timing == Timing(ttft=0.25, e2e=1.0, chunk_times=(0.25, 0.5), connect=0.05)
    metrics = request_metrics(got_timing, got_usage)
    assert metrics == RequestMetrics(e2e=1.0, ttft=0.25, itls=(0.25,), tpot=0.1875,
                                     input_tokens=12, cached_tokens=4, output_tokens=5,
                                     output_tps=5.0, first_reasoning=None, first_answer=None,
                                     estimated=True)


def test_an_unknown_field_still_fails_as_the_class_fails() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'tokens'"):
        assemble_or_call(Usage, dataclasses.asdict(Usage()), {"tokens": 3})


def test_the_collector_is_paused_for_the_block_and_restored_after_it() -> None:
    assert gc.isenabled()
    with pytest.raises(KeyError), gc_paused():
        assert not gc.isenabled()
        raise KeyError("a failed build")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # the caller's choice stands
    finally:
        gc.enable()


@dataclasses.dataclass(frozen=True)
class _Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True, slots=True)
class _Slotted:
    a: int


def test_assemble_refuses_classes_it_would_build_wrongly() -> None:
    # a __post_init__ would be skipped (the check it makes never runs); slots have no __dict__
    with pytest.raises(TypeError, match="__post_init__"):
        assemble(_Checked, {"a": -1})
    with pytest.raises(TypeError, match="slots"):
        assemble(_Slotted, {"a": 1})
    with pytest.raises(TypeError, match="not a dataclass"):
        assemble(dict, {})
