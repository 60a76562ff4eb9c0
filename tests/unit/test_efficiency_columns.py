"""The efficiency rows built from the responses as columns (`analysis.columns`) are those built
one response record at a time, to the last bit, on randomized runs; a run the columns cannot
take (earlier turns, unknown fields, a count that is not a whole number...) is counted the
record way, with the same rows or the same error."""

from __future__ import annotations

import json
import pickle
import random
from array import array
from dataclasses import replace
from typing import Any

import pytest

from shootout.analysis import columns
from shootout.analysis.efficiency import efficiency_rows
from shootout.analysis.results import request_latency
from shootout.scores import Score
from shootout.store import RunRecord, SampleRow
from shootout.store.decode import StoredResponses, stored_response

MODELS = ("m1", "m2")
BENCHES = ("arc_easy", "gsm8k", "gsm8k@v1")


def _usage(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.05:
        return None
    u: dict[str, Any] = {}
    for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
                 "cache_write_tokens"):
        if rng.random() < 0.75:
            u[name] = rng.choice([0, 1, 2, rng.randint(0, 400)])
    if rng.random() < 0.3:
        u["estimated"] = rng.random() < 0.5
    if rng.random() < 0.2:
        u["batch"] = rng.random() < 0.6
    return u


def _timing(rng: random.Random, kind: str) -> dict[str, Any]:
    t: dict[str, Any] = {}
    if rng.random() < 0.9:
        t["e2e"] = rng.choice([0.0, 0, 3, -0.0, rng.uniform(0, 5), rng.uniform(0, 5)])
    if kind == "generate" and rng.random() < 0.85:
        t["ttft"] = rng.choice([0, 0.0, 2, rng.uniform(0, 1), rng.uniform(0, 8)])
    elif rng.random() < 0.5:
        t["ttft"] = None
    for name in ("connect", "first_reasoning", "first_answer"):
        if rng.random() < 0.3:
            t[name] = rng.choice([None, rng.uniform(0, 0.5), 1])
    return t


def _raw(rng: random.Random, kind: str) -> tuple[str, float, str, bytes | str | None]:
    """A response as `Store.read_run` keeps it: chunk times apart as float64 bytes or JSON,
    or in the timing (a store read through `response_facts`)."""
    usage, timing = _usage(rng), _timing(rng, kind)
    times = sorted(rng.uniform(0, 3) for _ in range(rng.choice([0, 1, 2, 5, 9])))
    chunks: bytes | str | None = None
    form = rng.choice(["bytes", "json", "timing", "none"])
    if form == "bytes" and times:
        chunks = array("d", times).tobytes()
    elif form == "json" and times:
        chunks = json.dumps(times)
    elif form == "timing":
        timing["chunk_times"] = times
    finish = rng.choice([None, "stop", "length"])
    return kind, rng.uniform(1e9, 2e9), json.dumps([usage, timing, finish]), chunks


def _run(seed: int, n_keys: int = 40) -> RunRecord:
    rng = random.Random(seed)
    raw = {f"k{i}": _raw(rng, rng.choice(["generate", "generate", "loglikelihood"]))
           for i in range(n_keys)}
    samples = []
    for model in MODELS:
        for bench in BENCHES:
            for item in range(rng.randint(1, 12)):
                for repeat in range(rng.choice([1, 1, 3])):
                    key = rng.choice([*raw, None, "not-stored"])
                    samples.append(SampleRow(
                        model=model, benchmark=bench, item_id=f"{bench}/{item}", repeat=repeat,
                        group="", status=rng.choice(["ok", "ok", "truncated", "error"]),
                        metrics={"acc": 1.0}, extracted=None, reason="",
                        extraction_failed=False, error=None, response_key=key,
                        detail={"mode": "generative"}))
    return RunRecord(run_id="r", status="complete", created_at=0.0, updated_at=1.0,
                     spec={"models": [{"spec": "openai:x", "name": "m1",
                                       "price": {"input": 1.0, "output": 2.0}}]},
                     manifest={}, samples=tuple(samples), responses=StoredResponses(raw))


SCORES = [Score("acc", 0.5, None, 10, None, None, model="m1", benchmark="gsm8k", primary=True),
          Score("acc", 0.25, None, 10, None, None, model="m2", benchmark="arc_easy",
                primary=True)]


def _by_records(monkeypatch: pytest.MonkeyPatch, run: RunRecord) -> str:
    with monkeypatch.context() as m:
        m.setattr(columns, "collect", lambda *a: None)
        return json.dumps(efficiency_rows(run, SCORES))


@pytest.mark.parametrize("seed", range(40))
def test_the_columns_give_the_records_rows_to_the_last_bit(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(seed)
    assert columns.collect(run) is not None
    assert json.dumps(efficiency_rows(run, SCORES)) == _by_records(monkeypatch, run)


@pytest.mark.parametrize("seed", range(20))
def test_the_columns_give_the_records_latencies(seed: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(seed)
    got = request_latency(run)
    assert got == columns.latency(run) is not None
    with monkeypatch.context() as m:
        m.setattr(columns, "latency", lambda *a: None)
        expected = request_latency(run)
    assert json.dumps(got) == json.dumps(expected) and expected


def test_what_is_kept_of_the_columns_is_for_the_samples_it_was_made_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run(5)
    whole = json.dumps(efficiency_rows(run, SCORES))
    part = replace(run, samples=run.samples[: len(run.samples) // 2])  # the same responses
    assert part.responses is run.responses
    assert json.dumps(efficiency_rows(part, SCORES)) == _by_records(monkeypatch, part) != whole
    assert json.dumps(efficiency_rows(run, SCORES)) == whole


def _edited(run: RunRecord, key: str, facts: Any = None, detail: Any = None) -> RunRecord:
    raw = dict(run.responses.raw)  # type: ignore[attr-defined]
    if facts is not None:
        kind, created, _, _ = raw[key]
        raw[key] = (kind, created, facts, None)  # chunk times, if any, in the timing
    samples = run.samples
    if detail is not None:
        samples = tuple(s if s.response_key != key else
                        SampleRow(**{**s.__dict__, "detail": detail}) for s in samples)
        assert samples != run.samples
    return RunRecord(**{**run.__dict__, "samples": samples, "responses": StoredResponses(raw)})


@pytest.mark.parametrize("facts, detail", [
    ('[{"prompt_tokens": 3, "made_up": 1}, {}, null]', None),  # a field Usage lacks
    ('[{}, {"e2e": 1, "made_up": 1}, null]', None),  # a field Timing lacks
    ('[{"prompt_tokens": "3"}, {}, null]', None),  # a count as text
    ('[{"prompt_tokens": 2.5}, {}, null]', None),  # a fraction of a token
    ('[{"prompt_tokens": 3}, {"e2e": null}, null]', None),  # no end-to-end time
    ('[{"prompt_tokens": 3}, {"e2e": 1, "ttft": 0.5, "chunk_times": 5}, null]', None),
    ('{"usage": {"prompt_tokens": 3}, "timing": {"e2e": 1.5}}', None),  # the whole response
    ('[[1], {}, null]', None),
    ('[{"prompt_tokens": 3}, {"e2e": 1.5}]', None),
    ('[{"prompt_tokens": 4611686018427387904}, {"e2e": 1.5}, null]', None),  # sums past int64
    ('[{"completion_tokens": -9223372036854775808}, {"e2e": 1.5}, null]', None),
    (None, {"mode": "generative", "earlier_responses": ["k1"]}),  # a multi-turn item's earlier turn
    (None, {"mode": "generative", "judge": {"model": "j", "turns": [{"key": "k1"}]}}),
])
def test_what_the_columns_cannot_take_is_counted_by_records(
        facts: str | None, detail: dict[str, Any] | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    base = _run(7)
    key = next(s.response_key for s in base.samples if s.response_key in base.responses
               and base.responses[s.response_key].kind == "generate")
    run = _edited(base, key, facts, detail)
    assert columns.collect(run) is None
    try:
        expected = _by_records(monkeypatch, run)
    except Exception as e:  # the record path's own error, raised alike
        with pytest.raises(type(e)) as got:
            efficiency_rows(run, SCORES)
        assert str(got.value) == str(e)
    else:
        assert json.dumps(efficiency_rows(run, SCORES)) == expected


def test_a_run_of_records_is_counted_by_records() -> None:
    run = _run(3)
    records = RunRecord(**{**run.__dict__, "responses": dict(run.responses)})
    assert columns.collect(records) is None
    assert efficiency_rows(records, SCORES) == efficiency_rows(run, SCORES)


def test_the_responses_are_made_records_when_asked_for() -> None:
    raw = {"a": ("generate", 5, '[{"prompt_tokens": 2}, {"e2e": 1.0}, "stop"]', None)}
    responses = StoredResponses(raw)
    assert "a" in responses and "b" not in responses and len(responses) == 1
    assert list(responses) == ["a"] and responses.get("b") is None
    assert responses["a"] == stored_response("a", *raw["a"])
    assert responses["a"] is responses["a"]
    assert pickle.loads(pickle.dumps(responses)) == responses == {"a": responses["a"]}
    with pytest.raises(KeyError):
        responses["b"]


def test_an_infinite_span_is_summed_without_numpy_warnings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An infinite request end (a hand-edited store) is left to the span-by-span sum, in
    Python numbers: the same figures as the records', and no RuntimeWarning on stderr."""
    import warnings

    base = _run(11)
    raw = dict(base.responses.raw)  # type: ignore[attr-defined]
    key = next(s.response_key for s in base.samples if s.response_key in raw)
    raw[key] = (raw[key][0], float("inf"), *raw[key][2:])
    run = replace(base, responses=StoredResponses(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = json.dumps(efficiency_rows(run, SCORES))
    assert got == _by_records(monkeypatch, run)


def test_a_totals_gaps_joined_from_its_parts_are_the_gaps_of_all_its_requests() -> None:
    """A model's total joins its benchmarks' inter-token gaps where they are known (each
    request's gaps are its own): the same values, in the same order, as the gaps of every
    request computed at once, whichever parts were computed before, and after a request is
    added to a part whose gaps were known (which makes them unknown again)."""
    from array import array as arr

    from shootout.analysis.efficiency import _Timed, inter_token_gaps

    rng = random.Random(11)
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(0, 5)):
            t = _Timed()
            for _ in range(rng.randint(0, 4)):
                times = sorted(rng.random() for _ in range(rng.randint(0, 6)))
                piece: Any = arr("d", times).tobytes() if rng.random() < 0.5 else times
                t.add_request({"ttft": times[0] if times else 0.1, "e2e": 1.0}, 3, 0.0, 1.0,
                              piece)
                if rng.random() < 0.4:
                    t.gaps()  # known before the next request, which must unknow them
            parts.append(t)
        total = _Timed()
        for t in parts:
            if rng.random() < 0.5:
                t.gaps()
            total.add(t)
        every = [c for t in parts for c in t.chunks]
        assert total.gaps().tolist() == inter_token_gaps(every).tolist()
        assert total.gaps() is total.gaps()  # joined once


def test_output_tokens_per_second_counts_one_token_answers_as_the_efficiency_table_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Three answers of 1 token in 0.5 s and three of 20 in 2 s: the latency table's median
    output tokens/s was 10 (answers of one token left out), the efficiency table's 6 for the
    same requests (llmperf's request output throughput counts every answer)."""
    raw = {f"k{i}": ("generate", 1e9, json.dumps([{"prompt_tokens": 5, "completion_tokens": n},
                                                 {"e2e": e2e, "ttft": 0.1}, "stop"]), None)
           for i, (n, e2e) in enumerate([(1, 0.5)] * 3 + [(20, 2.0)] * 3)}
    samples = tuple(SampleRow(model="m1", benchmark="gsm8k", item_id=str(i), repeat=0, group="",
                              status="ok", metrics={"acc": 1.0}, extracted=None, reason="",
                              extraction_failed=False, error=None, response_key=f"k{i}",
                              detail={"mode": "generative"}) for i in range(6))
    run = RunRecord(run_id="r", status="complete", created_at=0.0, updated_at=1.0,
                    spec={"models": [{"spec": "openai:x", "name": "m1"}]}, manifest={},
                    samples=samples, responses=StoredResponses(raw))
    speeds = sorted(request_latency(run)["m1"]["tokens_per_s"])
    assert speeds == [2.0, 2.0, 2.0, 10.0, 10.0, 10.0]
    with monkeypatch.context() as m:
        m.setattr(columns, "latency", lambda *a: None)
        assert sorted(request_latency(run)["m1"]["tokens_per_s"]) == speeds
    total = next(r for r in efficiency_rows(run, SCORES) if r["scope"] == "model")
    assert total["throughput"]["per_request_output_tokens_per_s"]["median"] == 6.0


def test_a_models_items_are_counted_per_benchmark() -> None:
    """Item "0" of gsm8k and item "0" of arc_easy are two items: a model's total counted
    them once, and its cost per 1,000 items came out 14% high on a run whose benchmarks'
    ids are numbers (an audit's). The rows from the columns and from records agree."""
    rng = random.Random(7)
    raw = {f"k{b}{i}": _raw(rng, "generate") for b in range(2) for i in range(5)}
    samples = tuple(
        SampleRow(model="m1", benchmark=bench, item_id=str(i), repeat=0, group="",
                  status="ok", metrics={"acc": 1.0}, extracted=None, reason="",
                  extraction_failed=False, error=None, response_key=f"k{b}{i}",
                  detail={"mode": "generative"})
        for b, bench in enumerate(("gsm8k", "arc_easy")) for i in range(5))
    run = RunRecord(run_id="r", status="complete", created_at=0.0, updated_at=1.0,
                    spec={"models": [{"spec": "openai:x", "name": "m1",
                                      "price": {"input": 1.0, "output": 2.0}}]},
                    manifest={}, samples=samples, responses=StoredResponses(raw))
    rows = efficiency_rows(run, SCORES)
    per_bench = [r["n_items"] for r in rows if r.get("scope") != "model"]
    (total,) = [r for r in rows if r.get("scope") == "model"]
    assert per_bench == [5, 5] and total["n_items"] == 10
