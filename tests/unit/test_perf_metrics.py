"""Latency definitions (vLLM's), their aggregation, and where the provider stamps arrivals."""

from __future__ import annotations

import asyncio
import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shootout.perf.load import Level, parse_levels
from shootout.perf.metrics import request_metrics, stats, summarize, throughput
from shootout.providers.base import Timing, Usage
from shootout.providers.http import sse_events as _sse_events
from shootout.providers.openai import _StreamAccumulator


def test_stats_are_numpy_linear_percentiles():
    s = stats([1.0, 2.0, 3.0, 4.0])
    assert (s.n, s.mean, s.median) == (4, 2.5, 2.5)
    assert s.p90 == pytest.approx(3.7)
    assert s.p99 == pytest.approx(3.97)
    empty = stats([])
    assert empty.n == 0 and empty.mean is None and empty.p99 is None


def test_one_request_hand_computed():
    # first token at 50 ms, then 10 more tokens 20 ms apart, stream ends at 260 ms
    chunks = tuple(0.05 + 0.02 * i for i in range(11))
    m = request_metrics(Timing(ttft=0.05, e2e=0.26, chunk_times=chunks),
                        Usage(prompt_tokens=100, completion_tokens=11))
    assert m.itls == pytest.approx([0.02] * 10)
    assert m.tpot == pytest.approx((0.26 - 0.05) / 10)  # (e2e - TTFT) / (output tokens - 1)
    assert m.output_tps == pytest.approx(11 / 0.26)
    assert m.input_tokens == 100 and not m.estimated


def test_tpot_needs_two_tokens_and_a_first_token():
    one = request_metrics(Timing(ttft=0.1, e2e=0.1, chunk_times=(0.1,)),
                          Usage(completion_tokens=1))
    assert one.tpot is None and one.itls == ()
    none = request_metrics(Timing(ttft=None, e2e=0.3), Usage(completion_tokens=5))
    assert none.tpot is None and none.ttft is None


def test_itl_pools_every_gap_tpot_takes_one_value_per_request():
    a = request_metrics(Timing(ttft=0.1, e2e=0.3, chunk_times=(0.1, 0.2, 0.3)),
                        Usage(completion_tokens=3))
    b = request_metrics(Timing(ttft=0.2, e2e=0.5, chunk_times=(0.2, 0.5)),
                        Usage(completion_tokens=2))
    s = summarize([a, b])
    assert s.itl.n == 3 and s.itl.median == pytest.approx(0.1)  # gaps 0.1, 0.1, 0.3
    assert s.tpot.n == 2 and s.tpot.mean == pytest.approx((0.1 + 0.3) / 2)
    assert s.ttft.mean == pytest.approx(0.15)
    d = s.to_dict()
    assert d["ttft_ms"]["mean"] == pytest.approx(150.0)  # reported in milliseconds
    assert d["itl_ms"]["n"] == 3 and d["output_tokens_per_s"]["n"] == 2


def test_reasoning_and_answer_first_tokens_are_separate():
    t = Timing(ttft=0.2, e2e=1.0, chunk_times=(0.2, 0.4, 0.8), first_reasoning=0.2,
               first_answer=0.8)
    s = summarize([request_metrics(t, Usage(completion_tokens=3))]).to_dict()
    assert s["first_reasoning_ms"]["median"] == pytest.approx(200.0)
    assert s["first_answer_ms"]["median"] == pytest.approx(800.0)
    assert s["ttft_ms"]["median"] == pytest.approx(200.0)


def test_throughput_over_the_duration():
    reqs = [request_metrics(Timing(ttft=0.1, e2e=1.0, chunk_times=(0.1,)),
                            Usage(prompt_tokens=10, completion_tokens=30)) for _ in range(4)]
    t = throughput(reqs, 2.0)
    assert t == {"request_throughput": 2.0, "output_throughput": 60.0,
                 "total_token_throughput": 80.0}


@settings(max_examples=200, deadline=None)
@given(
    ttft=st.floats(0.0, 5.0),
    gaps=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50),
    tail=st.floats(0.0, 1.0),
)
def test_definitions_are_consistent(ttft, gaps, tail):
    chunks = tuple(np.cumsum([ttft, *gaps]).tolist())
    e2e = chunks[-1] + tail
    m = request_metrics(Timing(ttft=ttft, e2e=e2e, chunk_times=chunks),
                        Usage(completion_tokens=len(chunks)))
    assert sum(m.itls) == pytest.approx(chunks[-1] - chunks[0], abs=1e-9)
    assert m.tpot is not None
    assert ttft + m.tpot * (len(chunks) - 1) == pytest.approx(e2e, abs=1e-9)


def test_provider_clock_is_monotonic():
    assert time.get_clock_info("perf_counter").monotonic


def test_arrival_is_stamped_when_bytes_arrive_not_after_parsing():
    """Events that came in one read share its arrival stamp, however slow the consumer is;
    an event that came later carries the later read's stamp."""
    first = b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'

    async def raw():
        yield first + first  # two events in one read
        await asyncio.sleep(0.05)
        yield first

    async def consume():
        stamps = []
        async for arrival, _event in _sse_events(raw(), time.perf_counter()):
            stamps.append(arrival)
            await asyncio.sleep(0.03)  # a slow parser/consumer must not move the stamps
        return stamps

    s = asyncio.run(consume())
    assert s[0] == s[1]
    assert s[2] > s[1]


def test_accumulator_counts_reasoning_and_answer_chunks():
    acc = _StreamAccumulator()
    acc.add(0.1, {"choices": [{"delta": {"reasoning_content": "hm"}}]})
    acc.add(0.3, {"choices": [{"delta": {"content": "A"}}]})
    acc.add(0.4, {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7}})
    acc.done = True
    r = acc.response(0.5)
    assert r.timing.ttft == 0.1 and r.timing.first_reasoning == 0.1
    assert r.timing.first_answer == 0.3
    assert (r.usage.completion_tokens, r.usage.estimated) == (7, False)


def test_missing_usage_is_marked_estimated():
    acc = _StreamAccumulator()
    acc.add(0.1, {"choices": [{"delta": {"content": "A"}}]})
    acc.add(0.2, {"choices": [{"delta": {"content": "B"}}]})
    r = acc.response(0.3)
    assert r.usage.estimated and r.usage.completion_tokens == 2


def test_levels_parse():
    assert parse_levels("1,4,16", None) == [Level("concurrency", 1.0), Level("concurrency", 4.0),
                                            Level("concurrency", 16.0)]
    assert parse_levels(None, "0.5,2") == [Level("rate", 0.5), Level("rate", 2.0)]
    assert parse_levels(None, None) == [Level("concurrency", 1.0)]
    from shootout.errors import ConfigError

    for bad in (("1,x", None), ("0", None), ("1", "2"), (None, "-1")):
        with pytest.raises(ConfigError):
            parse_levels(*bad)


def _canned(text: str = "ok"):
    from shootout.providers.base import GenerateResponse

    async def generate(request):
        await asyncio.sleep(0)
        return GenerateResponse(text=text, usage=Usage(prompt_tokens=3, completion_tokens=2),
                                timing=Timing(ttft=0.01, e2e=0.02, chunk_times=(0.01, 0.02)))

    return generate


def _prompts(n: int):
    from shootout.providers.base import GenerateRequest, Message

    return [GenerateRequest(messages=(Message("user", f"p{i}"),)) for i in range(n)]


def test_closed_loop_sends_exactly_the_bounded_number():
    from shootout.perf.load import LoadSpec, run_level

    res = asyncio.run(run_level(_canned(), _prompts(4), Level("concurrency", 3.0),
                                LoadSpec(max_requests=10)))
    assert [r.index for r in res.records] == list(range(10))
    s = res.summary()
    assert (s["requests"], s["completed"], s["errors"]) == (10, 10, 0)
    assert s["output_tokens_mean"] == 2 and s["tpot_ms"]["n"] == 10


def test_a_level_always_ends():
    """Requests that never finish are cancelled at duration + grace and counted as errors."""
    from shootout.perf.load import LoadSpec, run_level

    async def never(request):
        await asyncio.sleep(3600)

    res = asyncio.run(asyncio.wait_for(
        run_level(never, _prompts(2), Level("concurrency", 4.0),
                  LoadSpec(max_requests=1000, duration=0.2, grace=0.2)), timeout=30))
    s = res.summary()
    assert s["requests"] == 4 and s["completed"] == 0 and s["errors"] == 4
    assert "deadline" in next(iter(s["error_kinds"]))


def test_rate_mode_is_seeded_and_bounded():
    from shootout.perf.load import LoadSpec, run_level

    def run():
        return asyncio.run(run_level(_canned(), _prompts(3), Level("rate", 200.0),
                                     LoadSpec(max_requests=20, seed=7)))

    a, b = run(), run()
    assert len(a.records) == len(b.records) == 20
    assert all(r.error is None for r in a.records)


def test_a_request_cancelled_at_the_deadline_keeps_when_it_was_sent():
    """Requests sent at ~0 s and still running at the deadline: their records start when
    they were sent (they all said 0.0); requests that waited for a slot, when issued."""
    from shootout.perf.load import LoadSpec, run_level

    async def never(request):
        await asyncio.sleep(3600)

    res = asyncio.run(asyncio.wait_for(
        run_level(never, _prompts(2), Level("rate", 20.0),
                  LoadSpec(max_requests=1000, duration=0.5, grace=0.2, max_concurrency=2)),
        timeout=30))
    from shootout.perf.load import NOT_STARTED, arrivals

    starts = [r.start for r in res.records]
    first = arrivals(1000, 20.0, LoadSpec().seed)[0]  # as vLLM, one gap before the first
    assert len(starts) >= 4 and starts[0] == pytest.approx(first, abs=0.05)
    # in order of arrival (a request sent as the next one arrived may start a hair after it)
    assert max(starts) > 0.1 and all(b > a - 1e-3 for a, b in itertools.pairwise(starts))
    sent = [r for r in res.records if r.sent]
    assert len(sent) == 2  # the two slots; the others waited for one, and were never sent
    assert all(r.error == "cancelled at the level's deadline" for r in sent)
    assert all(r.error == NOT_STARTED for r in res.records if not r.sent)
    summary = res.summary()
    assert summary["requests"] == summary["errors"] == 2
    assert summary["not_sent"] == len(res.records) - 2


def test_error_kinds_add_up_to_the_errors():
    from collections import Counter

    from shootout.perf.load import MAX_ERROR_KINDS, error_kinds

    errors = Counter({f"HTTP {400 + k}": k + 1 for k in range(MAX_ERROR_KINDS + 3)})
    kinds = error_kinds(errors)
    assert sum(kinds.values()) == sum(errors.values())
    assert len(kinds) == MAX_ERROR_KINDS + 1 and kinds["(other kinds)"] == 1 + 2 + 3
    assert error_kinds(Counter({"a": 2, "b": 1})) == {"a": 2, "b": 1}


def test_a_bug_in_shootout_is_kept_apart_from_the_endpoints_failures():
    """A request that failed on shootout's own error (not the endpoint's or the network's)
    is a failed request in the level, and the level keeps the first such error, which the
    CLI raises once the test is stored and shown (it printed it as a failed request, exit 0)."""
    from shootout.errors import RetryableProviderError
    from shootout.perf.load import LoadSpec, run_level

    canned = _canned()
    calls = []

    async def generate(request):
        calls.append(request)
        if len(calls) == 2:
            raise RetryableProviderError("HTTP 503 from /chat/completions")
        if len(calls) == 3:
            raise TypeError("unsupported operand")
        return await canned(request)

    res = asyncio.run(run_level(generate, _prompts(2), Level("concurrency", 1.0),
                                LoadSpec(max_requests=5)))
    s = res.summary()
    assert (s["completed"], s["errors"]) == (3, 2)
    assert isinstance(res.internal, TypeError)
    clean = asyncio.run(run_level(_canned(), _prompts(2), Level("concurrency", 1.0),
                                  LoadSpec(max_requests=3)))
    assert clean.internal is None


def test_the_cli_stores_and_shows_the_test_then_raises_the_bug(tmp_path, capsys):
    import sqlite3

    from shootout.cli.perf import _store_and_show
    from shootout.perf.load import LevelResult, RequestRecord
    from shootout.store.sqlite import Store

    bug = TypeError("unsupported operand")
    results = [LevelResult(Level("concurrency", 1.0), 1.0,
                           [RequestRecord(0, 0.0, error="TypeError: unsupported operand")],
                           0.0, bug)]
    db = Store(tmp_path / "s.db")
    with pytest.raises(TypeError, match="unsupported operand"):
        _store_and_show(db, "m", "http://127.0.0.1:1/v1", {}, results, json_out=True)
    db.close()
    assert '"perf_id"' in capsys.readouterr().out
    con = sqlite3.connect(tmp_path / "s.db")
    assert con.execute("SELECT COUNT(*) FROM perf_runs").fetchone()[0] == 1
    con.close()


def test_tpot_leaves_out_hidden_reasoning_before_the_first_token():
    """o3-like: 200 reasoning tokens counted but never streamed, then 11 visible tokens
    20 ms apart. TPOT is over the 10 gaps after TTFT (it read 0.21 s / 210 = 1 ms)."""
    chunks = tuple(0.05 + 0.02 * i for i in range(11))
    hidden = request_metrics(Timing(ttft=0.05, e2e=0.25, chunk_times=chunks),
                             Usage(completion_tokens=211, reasoning_tokens=200))
    assert hidden.tpot == pytest.approx(0.02)
    assert hidden.output_tps == pytest.approx(211 / 0.25)  # every token generated
    # streamed reasoning: TTFT is its first chunk, and every token came after it
    shown = request_metrics(Timing(ttft=0.05, e2e=0.25, chunk_times=chunks,
                                   first_reasoning=0.05, first_answer=0.15),
                            Usage(completion_tokens=11, reasoning_tokens=5))
    assert shown.tpot == pytest.approx(0.02)
    # a count of reasoning over the output (garbage) leaves no tokens after: no TPOT
    odd = request_metrics(Timing(ttft=0.05, e2e=0.25, chunk_times=chunks),
                          Usage(completion_tokens=11, reasoning_tokens=50))
    assert odd.tpot is None


def test_arrivals_are_rescaled_as_vllm_draws_them():
    """Each level drew the same unscaled gaps from the seed: every level of a run was offered
    the same multiple of its rate (1.15x at the defaults; an audit's). As vLLM's
    `get_request`, the n-th arrival is at exactly n / rate."""
    from shootout.perf.load import arrivals

    for rate in (0.5, 4.0, 20.0):
        times = arrivals(100, rate, 1234)
        assert len(times) == 100 and times == sorted(times) and times[0] > 0
        assert times[-1] == pytest.approx(100 / rate)
    assert arrivals(40, 4.0, 7) != arrivals(40, 4.0, 8)
    assert [t * 5 for t in arrivals(40, 20.0, 7)] == pytest.approx(arrivals(40, 4.0, 7))


@pytest.mark.parametrize("mode", ["rate", "ramp"])
def test_a_level_ends_at_its_duration_and_its_throughput_is_over_it(mode):
    """A --rate 0.05 level with --duration 3 slept to its next arrival (33.8 s) and gave
    5.5 req/s for one request over its own 0.18 s; a --ramp-up 20 level with --duration 2
    slept its workers through their slots (15.8 s). Now neither waits past the duration, and
    a level cut short by it is timed over the whole window (an audit's)."""
    import time

    from shootout.perf.load import LoadSpec, run_level

    if mode == "rate":
        level, spec = Level("rate", 0.05), LoadSpec(max_requests=3, duration=1.0, grace=30)
    else:
        level = Level("concurrency", 4)
        spec = LoadSpec(max_requests=100, duration=1.0, grace=30, ramp_up=20.0)
    async def slow(request):
        await asyncio.sleep(0.1)
        return await _canned()(request)

    t = time.perf_counter()
    res = asyncio.run(run_level(slow, _prompts(3), level, spec))
    took = time.perf_counter() - t
    assert took < 3.0, took
    assert res.duration >= 1.0
    s = res.summary()
    assert s["request_throughput"] <= s["completed"] / 1.0 + 1e-9
    if mode == "ramp":  # the first worker's requests, one after another, for the second
        assert 5 <= s["completed"] <= 11, s
    # a level that sends all its requests in time is timed as it ran, not over the window
    quick = asyncio.run(run_level(_canned(), _prompts(3), Level("concurrency", 4),
                                  LoadSpec(max_requests=8, duration=5.0, ramp_up=20.0)))
    assert quick.duration < 1.0 and quick.summary()["completed"] == 8


def test_stats_of_many_values_are_numpys_percentiles() -> None:
    """From `_SELECT_FROM` values the percentiles' order statistics are selected, not sorted:
    the same numbers, to the bit, as `np.percentile` of the values as given, for values
    with ties, infinities, a NaN, in order, in reverse, all equal, or periodic."""
    rng = np.random.default_rng(7)
    for n in (999, 19_999, 20_000, 20_001, 20_006, 64_321, 400_000):  # fractions .5 to .95
        ramp = np.arange(n, dtype=float)
        for values in (rng.exponential(0.02, n), np.round(rng.exponential(0.02, n), 3),
                       np.where(rng.random(n) < 0.01, np.inf, rng.normal(size=n)),
                       np.where(rng.random(n) < 0.02, -np.inf, rng.normal(size=n)),
                       np.where(np.arange(n) == n // 3, np.nan, rng.normal(size=n)),
                       ramp, ramp[::-1], np.full(n, 0.25), (np.arange(n) % 7) * 0.001,
                       rng.integers(0, 3, n) * 0.5,
                       # p99 between 0.1 and 0.3: numpy interpolates from 0.3 down
                       np.where(rng.permutation(n) <= int((n - 1) * 0.99), 0.1, 0.3)):
            got = stats(values)
            want = np.percentile(values, [50, 90, 99])
            assert np.array_equal([got.median, got.p90, got.p99], want, equal_nan=True), n
    # as 2-D (flattened, as np.percentile takes it), and by selection: no value sorted
    sorted_sizes: list[int] = []
    real_sort = np.sort

    def sort(a: np.ndarray) -> np.ndarray:
        sorted_sizes.append(a.size)
        return real_sort(a)

    values = rng.exponential(0.02, (400, 150))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(np, "sort", sort)
        got = stats(values)
    assert [got.median, got.p90, got.p99] == list(np.percentile(values, [50, 90, 99]))
    assert sorted_sizes == [int(8 * values.size ** 0.5)]  # the sample alone


def test_percentiles_where_a_bracket_misses_sort_the_values(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A sample that does not bracket an order statistic (forced here: the values' first
    ones drawn, or their last) falls back to sorting every value: still numpy's numbers."""
    from shootout.perf import metrics

    values = np.sort(np.random.default_rng(3).exponential(0.02, 50_000))  # drawn: the least
    sorted_sizes: list[int] = []
    real_sort = np.sort

    def sort(a: np.ndarray) -> np.ndarray:
        sorted_sizes.append(a.size)
        return real_sort(a)

    class FirstOnes:
        def __init__(self, seed: int) -> None:
            pass

        def integers(self, low: int, high: int, size: int) -> np.ndarray:
            return np.arange(size)

    class LastOnes(FirstOnes):
        def integers(self, low: int, high: int, size: int) -> np.ndarray:
            return np.arange(high - size, high)

    monkeypatch.setattr(metrics.np, "sort", sort)
    for drawn in (FirstOnes, LastOnes):  # a bracket above the ranks, then below them
        monkeypatch.setattr(metrics.np.random, "default_rng", drawn)
        sorted_sizes.clear()
        got = metrics._percentiles(values)
        assert sorted_sizes == [1788, values.size]  # the sample, then every value
        assert np.array_equal(got, np.percentile(values, [50, 90, 99]))
