"""The efficiency rows read each stored response's usage and timing as their fields (no Usage
or Timing built per response): the same figures as through `usage_timing`, and the same error
for a field neither class has."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shootout.analysis.efficiency import _collect, efficiency_rows, usage_timing
from shootout.perf.cost import Tokens
from shootout.perf.metrics import request_metrics, summarize
from shootout.store import RunRecord, SampleRow, StoredResponse

ROW = SampleRow(model="m", benchmark="gsm8k", item_id="i0", repeat=0, group="", status="ok",
                metrics={"acc": 1.0}, extracted=None, reason="", extraction_failed=False,
                error=None, response_key="k0", detail={})
RESPONSES = (
    StoredResponse("k0", "generate", 10.0, {"prompt_tokens": 12, "completion_tokens": 5,
                                            "cached_tokens": 4, "estimated": True},
                   {"ttft": 0.25, "e2e": 1.0, "chunk_times": [0.25, 0.5], "connect": 0.05}),
    StoredResponse("k1", "generate", 11.0, {"prompt_tokens": 7, "completion_tokens": 9,
                                            "reasoning_tokens": 3, "cache_write_tokens": 2,
                                            "batch": True}, {"e2e": 2.0}),
    StoredResponse("k2", "loglikelihood", 12.0, {"prompt_tokens": 30},
                   {"ttft": None, "e2e": 0.5}),
    StoredResponse("k3", "generate", 12.5, {}, {"ttft": 0.1, "e2e": 0.3,
                                                "first_answer": 0.2}),
)


def _run(responses: tuple[StoredResponse, ...]) -> RunRecord:
    samples = [replace(ROW, item_id=f"i{i}", response_key=r.key)
               for i, r in enumerate(responses)]
    samples.append(replace(ROW, item_id="i9", response_key="k0"))  # a shared answer
    return RunRecord(run_id="r", status="complete", created_at=0.0, updated_at=1.0, spec={},
                     manifest={}, samples=tuple(samples),
                     responses={r.key: r for r in responses})


def test_the_fields_give_what_the_records_gave() -> None:
    g = _collect(_run(RESPONSES))[0][("m", "gsm8k")]
    pairs = [usage_timing(r) for r in RESPONSES]
    tokens = [Tokens(u.prompt_tokens, u.cached_tokens, u.completion_tokens,
                     u.reasoning_tokens, u.cache_write_tokens) for u, _ in pairs]
    assert g.tokens == tokens[0] + tokens[1] + tokens[2] + tokens[3]
    assert g.batch_tokens == tokens[1] and g.batched == 1 and g.estimated == 1
    assert g.items == {"i0", "i1", "i2", "i3", "i9"} and len(g.keys) == 4
    timed = [request_metrics(t, u) for (u, t), r in zip(pairs, RESPONSES, strict=True)
             if r.kind == "generate" and t.ttft is not None]
    assert g.timed.summary() == summarize(timed)
    assert g.timed.n == len(timed) == 2
    assert g.timed.output_tokens == sum(r.output_tokens for r in timed)
    assert list(zip(g.starts, g.ends, strict=True)) == [
        (r.created_at - t.e2e, r.created_at) for (_, t), r in zip(pairs, RESPONSES, strict=True)]
    assert g.connects == [0.05]


@pytest.mark.parametrize("where", ["usage", "timing"])
def test_a_field_neither_class_has_fails_as_before(where: str) -> None:
    bad = replace(RESPONSES[1], **{where: {**getattr(RESPONSES[1], where), "tokens": 3}})
    with pytest.raises(TypeError, match="unexpected keyword argument 'tokens'"):
        efficiency_rows(_run((RESPONSES[0], bad)), [])


def test_the_latency_columns_give_what_the_request_records_gave() -> None:
    """Every row's latency and throughput figures, per benchmark and per model (the model's
    requests pooled over its benchmarks), against `summarize` of one `request_metrics` per
    streamed request: chunk gaps pooled, TPOT only past one token, no rate at zero e2e."""
    import random

    from shootout.perf.cost import busy_hours
    from shootout.perf.metrics import stats

    rng = random.Random(7)
    samples, responses = [], {}
    for i in range(300):
        bench = ("gsm8k", "math500", "humaneval")[i % 3]
        out = rng.choice((0, 1, 2, 17, 80))
        ttft = None if i % 11 == 0 else rng.uniform(0.01, 0.5)
        e2e = 0.0 if i % 13 == 0 else (ttft or 0.0) + rng.uniform(0.0, 3.0)
        chunks = sorted(rng.uniform(0.0, e2e or 1.0) for _ in range(rng.choice((0, 1, 2, 9))))
        timing = {"ttft": ttft, "e2e": e2e, "chunk_times": chunks}
        if i % 5 == 0:
            timing["first_reasoning"] = rng.uniform(0.0, 0.2)
        if i % 7 == 0:
            timing["first_answer"] = rng.uniform(0.2, 0.4)
        kind = "loglikelihood" if i % 17 == 0 else "generate"
        # reasoning tokens: none, some (hidden where no first reasoning: TPOT leaves them
        # out), or more than the output (a garbled count)
        usage = {"prompt_tokens": 10, "completion_tokens": out,
                 "reasoning_tokens": rng.choice((0, 0, 3, 90))}
        resp = StoredResponse(f"k{i}", kind, 100.0 + rng.uniform(0.0, 50.0), usage, timing)
        responses[resp.key] = resp
        samples.append(replace(ROW, benchmark=bench, item_id=f"i{i}", response_key=resp.key))
    samples.sort(key=lambda s: (s.model, s.benchmark, s.item_id))
    run = RunRecord(run_id="r", status="complete", created_at=0.0, updated_at=1.0, spec={},
                    manifest={}, samples=tuple(samples), responses=responses)
    rows = efficiency_rows(run, [])
    assert [r["benchmark"] for r in rows] == ["gsm8k", "humaneval", "math500", None]
    for row in rows:
        mine = [responses[s.response_key] for s in samples
                if row["benchmark"] in (None, s.benchmark)]
        pairs = [usage_timing(r) for r in mine]
        timed = [request_metrics(t, u) for (u, t), r in zip(pairs, mine, strict=True)
                 if r.kind == "generate" and t.ttft is not None]
        spans = [(r.created_at - r.timing["e2e"], r.created_at) for r in mine
                 if r.kind == "generate" and r.timing["ttft"] is not None]
        busy_s = busy_hours(spans) * 3600.0
        assert len(timed) > 20 and any(m.itls for m in timed)
        assert row["latency"] == summarize(timed).to_dict()
        assert row["throughput"] == {
            "output_tokens_per_s": sum(m.output_tokens for m in timed) / busy_s,
            "per_request_output_tokens_per_s": stats(
                m.output_tps for m in timed if m.output_tps is not None).to_dict()}
        assert row["busy_hours"] == busy_hours(
            (r.created_at - r.timing["e2e"], r.created_at) for r in mine)
