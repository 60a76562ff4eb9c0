"""A large run's report built in shares (`report.split`): no process holds the whole run, and
the Markdown and HTML are the ones one process renders."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from shootout.analysis import parallel
from shootout.report import split
from shootout.report.build import build_report
from shootout.report.html import render_html
from shootout.report.markdown import render_markdown
from shootout.report.sample_data import RUN_ID, build_sample_store
from shootout.store import SampleRow, Store

MODELS = ("kimi-k2", "llama-3.1-70b", "mixtral-8x7b", "qwen-72b", "gemma-27b")
WORDS = ("the", "cat", "sat", "on", "a", "mat", "while", "rain", "fell", "over", "quiet",
         "hills", "and", "old", "roads")


def _row(model: str, bench: str, item: str, rep: int, group: str, metrics: dict,
         detail: dict | None = None) -> SampleRow:
    return SampleRow(model=model, benchmark=bench, item_id=item, repeat=rep, group=group,
                     status="ok", metrics=metrics, extracted="", reason="",
                     extraction_failed=False, error=None, response_key=None,
                     detail=detail or {"mode": "generative"})


def _more_benchmarks(store: Store) -> None:
    """Besides the sample run's: corpus chrF/BLEU (a statistic that cannot be pickled), a
    subject average (CMMLU) and MultiPL-E's languages (the coding section)."""
    rng = random.Random(3)
    for mi, model in enumerate(MODELS):
        for i in range(16):
            ref = " ".join(rng.choice(WORDS) for _ in range(9))
            for rep in range(2):
                hyp = " ".join(w if rng.random() < 0.5 + 0.1 * mi else rng.choice(WORDS)
                               for w in ref.split())
                store.put_sample(RUN_ID, _row(
                    model, "translation_zh_en", f"t{i}", rep, "", {"sentence_chrf": 0.5},
                    {"hyp": hyp, "refs": [ref], "extra_refs": [], "src": "源", "cleaning": []}))
        for i in range(30):
            right = rng.random() < 0.3 + 0.1 * mi
            store.put_sample(RUN_ID, _row(model, "cmmlu", f"c{i}", 0, f"subject{i % 3}",
                                          {"acc": float(right)}))
        for lang in ("js", "rs"):
            for i in range(10):
                store.put_sample(RUN_ID, _row(model, "multipl_e", f"{lang}/HumanEval_{i}_x", 0,
                                              lang, {"pass@1": float(rng.random() < 0.5)}))


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "s.sqlite"
    store = build_sample_store(path, models=MODELS)
    _more_benchmarks(store)
    store.close()
    return path


@pytest.fixture
def store(store_path: Path, tmp_path: Path) -> Store:
    copy = tmp_path / "s.sqlite"
    copy.write_bytes(store_path.read_bytes())
    return Store(copy)


def _rendered(store: Store, monkeypatch: pytest.MonkeyPatch, workers: str
              ) -> tuple[str, str, bool]:
    monkeypatch.setenv(parallel.WORKERS_ENV, workers)
    report = build_report(store, [RUN_ID])
    was_split = isinstance(report.data.samples, split.Relabeled)
    return render_markdown(report, None, charts=False), render_html(report), was_split


@pytest.fixture(scope="module")
def one_process(store_path: Path) -> tuple[str, str]:
    """The report one process renders (of the fixture's store, which no test changes)."""
    with pytest.MonkeyPatch.context() as mp:
        md, html, was_split = _rendered(Store(store_path), mp, "1")
    assert not was_split
    return md, html


@pytest.mark.parametrize("n", ["2", "5"])  # 5: one model a share
def test_the_report_built_in_shares_is_the_one_process_report(
        store: Store, one_process: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
        n: str) -> None:
    """Shares of 3, 2 (and of 1, 1, 1, 1, 1) models."""
    md, html, was_split = _rendered(store, monkeypatch, n)
    assert was_split
    # the sections that read samples are there: evidence, coding by language, the
    # bootstrapped corpus metric and subject average
    for text in ("Coding by language", "translation_zh_en", "cmmlu", "randomization p"):
        assert text in one_process[0], text
    assert md == one_process[0]
    assert html == one_process[1]


def test_a_share_reads_its_models_and_the_report_reads_only_the_cells_it_shows(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")
    read: list[list] = []  # [model, benchmark, items asked for or None, samples read]
    real = Store.samples

    def counted(self: Store, run_id: str, model: str | None = None,
                benchmark: str | None = None, *, items=None):
        entry = [model or "", benchmark or "", None if items is None else sorted(items), 0]
        read.append(entry)
        for row in real(self, run_id, model, benchmark, items=items):
            entry[3] += 1
            yield row

    monkeypatch.setattr(Store, "samples", counted)
    # the per-item view is built here, not in a forked process (whose reads are not counted)
    monkeypatch.setattr(parallel, "beside", lambda fn: fn)
    report = build_report(store, [RUN_ID])
    sizes = {(m, b): n for m, b, n in store.cell_sizes(RUN_ID)}
    assert report.items is not None
    a, b = report.items.a, report.items.b
    # the per-item evidence reads the samples of the items it shows, of its two models
    # only (found from their item scores), and the first few of model a's other items for
    # their prompts' boilerplate; every model's corpus chrF/BLEU cell is read whole (its
    # statistic was not sent)
    shown = [e for e in read if e[2] is not None]
    assert {(a, "gsm8k"), (b, "gsm8k")} <= {(e[0], e[1]) for e in shown}
    assert {e[0] for e in shown} == {a, b} and all(len(e[2]) <= 10 for e in shown)
    assert all(e[3] < sizes[(e[0], e[1])] for e in shown)
    whole = [(e[0], e[1]) for e in read if e[2] is None and e[3] == sizes[(e[0], e[1])]]
    # (model a's small cells are read to their end looking for other items' prompts)
    assert {c for c in whole if c[0] != a} == {(m, "translation_zh_en") for m in MODELS
                                              if m != a}
    assert all(e[0] == a for e in read if e[2] is None and (e[0], e[1]) not in whole)
    assert sum(e[3] for e in read if e[0] == a and e[1] == "gsm8k") < sizes[(a, "gsm8k")]
    render_markdown(report, None, charts=False)
    whole = [(e[0], e[1]) for e in read if e[2] is None and e[3] == sizes[(e[0], e[1])]]
    # the coding section reads every model's coding benchmarks, and nothing else
    assert {(m, "multipl_e") for m in MODELS} <= set(whole)
    assert {bench for m, bench in whole if m != a} == {"humaneval", "multipl_e",
                                                       "translation_zh_en"}
    read_again = [c for c in whole if whole.count(c) > 1]
    # each cell read once, when first asked for (but model a's, read to their end for the
    # other items' prompts, then whole for a section)
    assert {c[0] for c in read_again} <= {a}
    assert len(whole) < len(store.sample_counts(RUN_ID))


def _killed(args: object) -> None:
    os._exit(3)


def test_a_killed_share_gives_the_one_process_report(
        store: Store, one_process: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split, "_report_share", _killed)
    md, html, was_split = _rendered(store, monkeypatch, "2")
    assert not was_split
    assert (md, html) == one_process


def test_a_statistic_that_cannot_be_sent_is_computed_from_the_cells_samples(
        store: Store) -> None:
    from shootout.analysis.results import build_results

    res = build_results(store, [RUN_ID]).runs[0]
    row = next(s for s in res.scores if s.benchmark == "translation_zh_en" and s.primary
               and s.model == MODELS[0])
    samples = res.samples[(MODELS[0], "translation_zh_en")]
    fig = split.cell_figures(samples, row)
    assert fig[1] is not None and split._sendable(fig) == split.UNSENT
    figures = split.SplitFigures()
    cells = split.StoredCells(store, RUN_ID, list(res.samples))
    figures.add(RUN_ID, cells, {(MODELS[0], "translation_zh_en"): {row.metric: split.UNSENT}})
    got = figures.get(RUN_ID, MODELS[0], row)
    assert got is not None and got[0] == fig[0]
    assert got[1] is not None and got[1].full() == fig[1].full() == pytest.approx(row.score)
    assert figures.get(RUN_ID, MODELS[1], row) is None  # not sent: the caller computes it


def test_spawned_shares_give_the_same(store: Store, one_process: tuple[str, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the process has other threads, the shares are spawned (fresh interpreters that
    import `report.split` to find their function)."""
    import multiprocessing

    monkeypatch.setattr(parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    md, html, was_split = _rendered(store, monkeypatch, "2")
    assert was_split and (md, html) == one_process


def test_a_report_of_two_runs_with_the_same_models(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of the same models in one store: labels `name@run`, each run in shares of its
    own, each label's samples and figures from its own run."""
    other = "r-sample000002"
    build_sample_store(tmp_path / "two.sqlite", models=MODELS[:3]).close()
    store = build_sample_store(tmp_path / "two.sqlite", models=MODELS[:2], run_id=other,
                               seed=11)
    texts = []
    for n in ("1", "2"):
        monkeypatch.setenv(parallel.WORKERS_ENV, n)
        report = build_report(store, [RUN_ID, other])
        assert isinstance(report.data.samples, split.Relabeled) == (n == "2")
        assert f"kimi-k2@{other}" in report.data.labels
        texts.append((render_markdown(report, None, charts=False), render_html(report)))
    assert texts[0] == texts[1]
