"""analysis/results.py: failed samples are never silently dropped (defect 12).

Every model x benchmark with failed samples gets, beside the score over answered items, the
score with each failed sample counted as a wrong answer over every attempted item.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shootout.analysis.results import summarize_run
from shootout.analysis.stats import summarize, wilson_interval
from shootout.benchmarks.cmmlu import CMMLU
from shootout.benchmarks.humaneval import HumanEval
from shootout.benchmarks.winogrande import WinoGrande
from shootout.cli.results import emit_results, results_payload
from shootout.report.build import build_report
from shootout.report.markdown import render_markdown
from shootout.store.sqlite import SampleRow, Store

RUN = "r-test"


def _row(bench: str, item: int, rep: int, metrics: dict[str, float] | None,
         detail: dict | None = None, model: str = "A") -> SampleRow:
    failed = metrics is None
    return SampleRow(model=model, benchmark=bench, item_id=f"{bench}/{item}", repeat=rep,
                     group="", status="failed" if failed else "ok", metrics=metrics or {},
                     extracted=None, reason="", extraction_failed=False,
                     error="after 5 attempts: HTTP 503" if failed else None,
                     response_key=f"k-{model}-{bench}-{item}-{rep}", detail=detail or {})


def _store(tmp_path: Path, rows: list[SampleRow]) -> Store:
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {"models": [], "benchmarks": []})
    for r in rows:
        store.put_sample(RUN, r)
    return store


def test_defect12_failed_items_are_reported_as_wrong_beside_the_answered_score(
        tmp_path: Path) -> None:
    # 10 winogrande items: 6 right, 2 wrong, 2 failed after retries
    rows = [_row("winogrande", i, 0, {"acc": float(i < 6)}) for i in range(8)]
    rows += [_row("winogrande", i, 0, None) for i in (8, 9)]
    rows += [_row("winogrande", i, 0, {"acc": 1.0}, model="B") for i in range(10)]
    out = summarize_run(_store(tmp_path, rows), RUN)
    a = next(r for r in out if r.model == "A" and r.metric == "acc")
    assert (a.score, a.n, a.n_failed, a.n_attempted) == (pytest.approx(0.75), 8, 2, 10)
    assert a.score_failed_as_wrong == pytest.approx(0.6)
    assert (a.ci_low_failed_as_wrong, a.ci_high_failed_as_wrong) == pytest.approx(
        wilson_interval(6, 10))
    b = next(r for r in out if r.model == "B")
    assert b.n_failed == 0 and b.score_failed_as_wrong is None and b.n_attempted == 10


def test_defect12_a_failed_repeat_counts_zero_within_its_item(tmp_path: Path) -> None:
    # gsm8k x 3 repeats; item 0's third repeat failed: its item mean is (1 + 1 + 0)/3
    rows = [_row("gsm8k", i, r, {"acc": 1.0, "acc_strict": 1.0})
            for i in range(4) for r in range(3) if (i, r) != (0, 2)]
    rows.append(_row("gsm8k", 0, 2, None))
    out = summarize_run(_store(tmp_path, rows), RUN)
    acc = next(r for r in out if r.metric == "acc")
    assert acc.score == 1.0 and acc.n_failed == 1
    expected = summarize([[1, 1, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]])
    assert acc.score_failed_as_wrong == pytest.approx(expected.mean)
    assert acc.ci_low_failed_as_wrong == pytest.approx(expected.ci_low)
    strict = next(r for r in out if r.metric == "acc_strict")
    assert strict.score_failed_as_wrong == pytest.approx(11 / 12)


def test_defect12_benchmark_aggregates_count_a_failed_sample_as_failing(tmp_path: Path) -> None:
    # HumanEval, 2 samples per problem; problem 0's second sample failed (no completion)
    rows = [_row("humaneval", i, r, {"pass@1": 1.0}, {"status": "ok"})
            for i in range(5) for r in range(2) if (i, r) != (0, 1)]
    rows.append(_row("humaneval", 0, 1, None))
    out = summarize_run(_store(tmp_path, rows), RUN)
    by = {r.metric: r for r in out}
    assert by["pass@1"].score == 1.0 and by["pass@1"].n_failed == 1
    # as wrong: problem 0 has n=2, c=1 -> pass@1 = 0.5, the others 1 -> mean 0.9
    assert by["pass@1"].score_failed_as_wrong == pytest.approx(0.9)
    assert by["pass@1"].primary


def test_defect12_corpus_metrics_say_why_they_have_no_failed_as_wrong_score(
        tmp_path: Path) -> None:
    pytest.importorskip("sacrebleu")
    rows = [_row("translation_zh_en", i, 0, {"sentence_chrf": 0.5},
                 {"hyp": f"a sentence number {i}", "refs": [f"the sentence number {i}"],
                  "extra_refs": []}) for i in range(6)]
    rows.append(_row("translation_zh_en", 6, 0, None))
    out = summarize_run(_store(tmp_path, rows), RUN)
    chrf = next(r for r in out if r.metric == "chrf")
    assert chrf.n_failed == 1 and chrf.score_failed_as_wrong is None
    assert "not computable" in chrf.extra["failed_as_wrong"]


def test_defect12_results_json_names_the_field(tmp_path: Path) -> None:
    rows = [_row("winogrande", 0, 0, {"acc": 1.0}), _row("winogrande", 1, 0, None)]
    store = _store(tmp_path, rows)
    payload = json.loads(json.dumps(results_payload(store, RUN)))
    (r,) = payload["results"]
    assert r["score"] == 1.0 and r["n"] == 1 and r["n_failed"] == 1 and r["n_attempted"] == 2
    assert r["score_failed_as_wrong"] == 0.5
    assert r["ci_low_failed_as_wrong"] == pytest.approx(wilson_interval(1, 2)[0])



# --------------------------------------------------------------------------- issue 13: built once


def _suite(model: str) -> list[SampleRow]:
    """HumanEval (its own aggregate: pass@k), CMMLU (subject averages) and WinoGrande (the
    default aggregate, None: the mean per metric), each answered in full."""
    rows = [_row("humaneval", i, r, {"pass@1": float((i + r) % 2)}, {"status": "ok"},
                 model=model) for i in range(4) for r in range(2)]
    rows += [replace(_row("cmmlu", i, 0, {"acc": float(i % 3 == 0)}, model=model),
                     group=("arts", "law")[i % 2]) for i in range(6)]
    rows += [_row("winogrande", i, 0, {"acc": float(i % 2)}, model=model) for i in range(5)]
    return rows


def _count_aggregates(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, str]]:
    """Wrap each benchmark's `aggregate` (which the default `aggregate_models` calls once per
    model) with a counter by (benchmark, model)."""
    calls: Counter[tuple[str, str]] = Counter()
    for cls in (HumanEval, CMMLU, WinoGrande):
        original = cls.aggregate.__func__  # type: ignore[attr-defined]

        def counted(c: type, rows: list[SampleRow], _orig: Any = original) -> Any:
            calls[(c.name, rows[0].model)] += 1  # type: ignore[attr-defined]
            return _orig(c, rows)

        monkeypatch.setattr(cls, "aggregate", classmethod(counted))
    return calls


def test_issue13_aggregate_runs_once_per_benchmark_per_model_per_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`shootout results` (table and JSON) and `shootout report` build the results once: each
    benchmark's aggregate runs once per model. (Before, the efficiency rows summarized the run
    a second time, and the report a third.)"""
    store = _store(tmp_path, [*_suite("A"), *_suite("B")])
    calls = _count_aggregates(monkeypatch)
    once = {(b, m): 1 for b in ("humaneval", "cmmlu", "winogrande") for m in ("A", "B")}
    builds = {
        "results JSON": (lambda: emit_results(store, RUN, json_out=True), once),
        # the results JSON was kept in the store (`store.built`): served, not built
        "results table": (lambda: emit_results(store, RUN, json_out=False), {}),
        "results table, rebuilt": (
            lambda: emit_results(store, RUN, json_out=False, rebuild=True), once),
        "report": (lambda: render_markdown(build_report(store, [RUN]), None, charts=False),
                   once),
    }
    for name, (build, expected) in builds.items():
        calls.clear()
        build()
        assert dict(calls) == expected, name
    capsys.readouterr()


def test_issue13_failed_samples_add_one_aggregate_for_the_failed_as_wrong_figure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one exception: a model x benchmark with failed samples re-runs its aggregate once,
    with each failed sample standing in as wrong (`score_failed_as_wrong`)."""
    rows = [*_suite("A"), *_suite("B"), _row("humaneval", 4, 0, None, model="A")]
    store = _store(tmp_path, rows)
    calls = _count_aggregates(monkeypatch)
    results_payload(store, RUN)
    assert calls[("humaneval", "A")] == 2
    assert {k: v for k, v in calls.items() if k != ("humaneval", "A")} == {
        (b, m): 1 for b in ("humaneval", "cmmlu", "winogrande") for m in ("A", "B")
        if (b, m) != ("humaneval", "A")}
