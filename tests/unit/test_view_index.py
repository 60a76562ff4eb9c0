"""`shootout view`'s sample browser queries the store per request (`Store.browse_samples`).
Each filter is checked against the browser's rules applied in Python to every sample of the
run (`_oracle`, how the browser filtered before it queried the store)."""

from __future__ import annotations

import pytest

from shootout.benchmarks import find_benchmark_class
from shootout.store import SampleRow
from shootout.viewer.server import PAGE_SIZE, SampleIndex, _listing


def _value(s: SampleRow, stored: set[str]) -> tuple[str | None, float | None]:
    """The sample's metric: its benchmark's primary where the benchmark's samples store it
    (`stored`: what its answered samples stored), else the first it stored; its value where
    it was answered ("ok", or "truncated", as the results count it)."""
    cls = find_benchmark_class(s.benchmark)
    primary = cls.primary_metric if cls else None
    metric = (primary if primary in stored else None) or next(iter(s.metrics), None)
    answered = s.status in ("ok", "truncated")
    return metric, (s.metrics.get(metric) if metric and answered else None)


def _oracle(samples: list[SampleRow], q: dict[str, str]) -> list[tuple]:
    stored: dict[str, set[str]] = {}
    for s in samples:
        if s.status in ("ok", "truncated"):
            stored.setdefault(s.benchmark, set()).update(s.metrics)
    rows = [(s, *_value(s, stored.get(s.benchmark, set()))) for s in samples]
    if q.get("benchmark"):
        rows = [r for r in rows if r[0].benchmark == q["benchmark"]]
    if q.get("a") and q.get("b"):
        other = {(r[0].benchmark, r[0].item_id, r[0].repeat): r[2] for r in rows
                 if r[0].model == q["b"]}
        rows = [r for r in rows if r[0].model == q["a"]
                and (k := (r[0].benchmark, r[0].item_id, r[0].repeat)) in other
                and other[k] != r[2]]
    elif q.get("model"):
        rows = [r for r in rows if r[0].model == q["model"]]
    if q.get("correct") in ("0", "1"):
        rows = [r for r in rows if r[2] is not None and (r[2] >= 1.0) == (q["correct"] == "1")]
    if q.get("status") == "answered":
        rows = [r for r in rows if r[0].status in ("ok", "truncated")]
    elif q.get("status") == "failed":
        rows = [r for r in rows if r[0].status not in ("ok", "truncated")]
    elif q.get("status"):
        rows = [r for r in rows if r[0].status == q["status"]]
    if q.get("text"):
        t = q["text"].casefold()
        rows = [r for r in rows if any(t in (x or "").casefold() for x in (
            r[0].item_id, r[0].extracted, r[0].reason or r[0].error or ""))]
    return [(s.model, s.benchmark, s.item_id, s.repeat, s.status, metric, value, s.extracted,
             s.reason or s.error or "") for s, metric, value in rows]


@pytest.fixture
def store(sample_store):
    """The sample run, plus samples the browser treats apart: a benchmark without a class
    (its first stored metric is its value), failed, truncated, and metrics without the
    primary one."""
    run = sample_store.latest_run_id()
    extra = [
        SampleRow("kimi-k2", "toy_unknown", "t1", 0, "", "ok", {"score": 1.0, "acc": 0.0},
                  "A", "", False, None, None),
        SampleRow("mixtral-8x7b", "toy_unknown", "t1", 0, "", "ok", {"score": 0.0}, "B", "",
                  False, None, None),
        SampleRow("kimi-k2", "gsm8k", "zz-failed", 0, "", "error", {}, None, "", False,
                  "HTTP 500", None),
        SampleRow("mixtral-8x7b", "gsm8k", "zz-failed", 0, "", "ok", {"acc": 1.0}, "4",
                  "why", False, None, None),
        SampleRow("kimi-k2", "gsm8k", "zz-cut", 0, "", "truncated", {"acc": 0.0}, None, "",
                  True, None, None),
        SampleRow("kimi-k2", "gsm8k", "zz-other", 0, "", "ok", {"f1": 1.0}, "x", "", False,
                  None, None),
        # a text filter folds case beyond ASCII, and takes % and _ as they are
        SampleRow("kimi-k2", "gsm8k", "zz-ümlaut", 0, "", "ok", {"acc": 1.0}, "100%", "",
                  False, None, None),
        # a corpus metric is the primary (chrF): the samples' own is their value
        SampleRow("kimi-k2", "wmt22_zh_en", "w1", 0, "", "ok", {"sentence_chrf": 0.625},
                  "x", "", False, None, None),
        SampleRow("mixtral-8x7b", "wmt22_zh_en", "w1", 0, "", "ok", {"sentence_chrf": 1.0},
                  "x", "", False, None, None),
    ]
    for s in extra:
        sample_store.put_sample(run, s)
    return sample_store


QUERIES = [
    {}, {"model": "kimi-k2"}, {"benchmark": "gsm8k"}, {"benchmark": "toy_unknown"},
    {"model": "kimi-k2", "benchmark": "gsm8k", "correct": "0"},
    {"model": "kimi-k2", "benchmark": "gsm8k", "correct": "1"}, {"correct": "1"},
    {"a": "kimi-k2", "b": "mixtral-8x7b"}, {"a": "kimi-k2", "b": "mixtral-8x7b",
                                            "benchmark": "gsm8k"},
    {"a": "mixtral-8x7b", "b": "kimi-k2", "correct": "1"},
    {"a": "kimi-k2", "b": "mixtral-8x7b", "benchmark": "toy_unknown"},
    {"model": "nobody"}, {"benchmark": "mmlu", "model": "llama-3.1-70b"},
    {"benchmark": "wmt22_zh_en"}, {"a": "kimi-k2", "b": "mixtral-8x7b",
                                   "benchmark": "wmt22_zh_en"},
    {"status": "failed"}, {"status": "answered", "model": "kimi-k2"}, {"status": "truncated"},
    {"status": "error", "benchmark": "gsm8k"}, {"text": "http 5"}, {"text": "ZZ-"},
    {"text": "Ü"}, {"text": "%"}, {"text": "x", "status": "answered", "benchmark": "gsm8k"},
    {"a": "kimi-k2", "b": "mixtral-8x7b", "status": "failed"},
]


@pytest.mark.parametrize("q", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.items())
                         or "all")
def test_each_filter_gives_what_the_rules_give(store, q):
    run = store.latest_run_id()
    want = _oracle(list(store.samples(run)), q)
    index = SampleIndex(store, run)
    total, first = index.select(q)
    assert total == len(want)
    got = [tuple(s.__dict__.values()) for s in first]
    assert got == want[:PAGE_SIZE]
    # every page, in order
    pages, offset = list(got), PAGE_SIZE
    while offset < total:
        pages += [tuple(s.__dict__.values()) for s in index.select(q, offset)[1]]
        offset += PAGE_SIZE
    assert pages == want


def test_the_rows_the_browser_treats_apart(store):
    run = store.latest_run_id()
    index = SampleIndex(store, run)
    listing = _listing(index, {"benchmark": "gsm8k", "model": "kimi-k2"})
    by_item = {s["item_id"]: s for s in listing["samples"]}
    # truncated: answered, scored as it stands (an audit's truncated rows had no value, and
    # no filter but "all" listed them)
    assert by_item["zz-cut"]["value"] == 0.0
    assert by_item["zz-other"]["metric"] == "acc" and by_item["zz-other"]["value"] is None
    # the failed sample lists its error as the reason
    rest = _listing(index, {"benchmark": "gsm8k", "model": "kimi-k2", "offset": "100"})
    failed = [s for s in rest["samples"] if s["item_id"] == "zz-failed"]
    assert failed and failed[0]["reason"] == "HTTP 500" and failed[0]["value"] is None
    chrf = _listing(index, {"benchmark": "wmt22_zh_en"})["samples"]
    assert [(s["metric"], s["value"]) for s in chrf] == [("sentence_chrf", 0.625),
                                                        ("sentence_chrf", 1.0)]
    unknown = _listing(index, {"benchmark": "toy_unknown"})["samples"]
    assert [(s["metric"], s["value"]) for s in unknown] == [("score", 1.0), ("score", 0.0)]
    assert "toy_unknown" in listing["benchmarks"] and listing["models"] == sorted(
        listing["models"])
    assert index.find({"model": "kimi-k2", "benchmark": "gsm8k", "item": "zz-cut",
                       "repeat": "0"}).status == "truncated"
    assert index.find({"model": "kimi-k2", "benchmark": "gsm8k", "item": "zz-cut",
                       "repeat": "x"}) is None
