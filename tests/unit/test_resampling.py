"""resampling.py: the per-item statistics behind corpus BLEU/chrF++ and pass@k, checked against
the benchmarks' own aggregates and sacrebleu's paired bootstrap test (defect 11)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy import stats as sst

from shootout.analysis.bootstrap import paired_bootstrap
from shootout.analysis.resampling import corpus_statistic, item_statistic, pass_at_k_statistic
from shootout.benchmarks.humaneval import HumanEval
from shootout.benchmarks.translation import FloresZhEn
from shootout.scoring.code import pass_at_k
from shootout.scoring.translation import (
    corpus_score,
    paired_bootstrap as sacrebleu_paired_bootstrap,
)

pytest.importorskip("sacrebleu")

WORDS = ("the", "cat", "dog", "sat", "ran", "on", "a", "mat", "quickly", "slowly", "red", "blue",
         "house", "garden", "river", "over", "under", "near", "far", "big", "small")


@dataclass
class _Row:
    item_id: str
    repeat: int
    metrics: dict[str, float]
    detail: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    group: str = ""


def _sentence(rng: random.Random, n: int = 9) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _corrupt(rng: random.Random, s: str, p: float) -> str:
    return " ".join(rng.choice(WORDS) if rng.random() < p else w for w in s.split())


def _system(seed: int, noise: float, n: int = 120, repeats: int = 2) -> list[_Row]:
    """Two references per item (the second for the multi-reference metrics) and `repeats`
    hypotheses, each a copy of reference A with a share `noise` of its words replaced."""
    rng, refs_rng = random.Random(seed), random.Random(0)
    rows = []
    for i in range(n):
        ref_a = _sentence(refs_rng)
        ref_b = _corrupt(refs_rng, ref_a, 0.3)
        for r in range(repeats):
            rows.append(_Row(f"{i:04d}", r, {"sentence_chrf": 0.0},
                             {"hyp": _corrupt(rng, ref_a, noise), "refs": [ref_a],
                              "extra_refs": [ref_b]}))
    return rows


def test_defect11_statistic_rebuilds_the_translation_aggregate_exactly() -> None:
    """For every metric the translation benchmark reports (chrF++, BLEU, and the multi-reference
    ones when it has them), the statistic rebuilt from the row's signature gives back the row's
    score on the full sample — the condition for testing it by resampling items."""
    rows = _system(1, 0.3)
    values, _ = FloresZhEn.aggregate(rows)
    assert {"chrf", "bleu"} <= {v.metric for v in values}
    for v in values:
        st = item_statistic(v.metric, v.extra, rows)
        assert st is not None, v.metric
        assert st.full() == pytest.approx(v.score, abs=1e-9), v.metric
        assert st.matches(v.score) and len(st.values) == 120
        assert st.values["0000"].shape[0] == 2  # one set of sentence statistics per repeat


def test_corpus_statistic_from_a_signature_matches_sacrebleu() -> None:
    rows = _system(2, 0.4, repeats=1)
    hyps = [r.detail["hyp"] for r in rows]
    refs = [r.detail["refs"] + r.detail["extra_refs"] for r in rows]
    for metric, target in (("bleu", "zh"), ("bleu", "en"), ("chrf", "en")):
        cs = corpus_score(metric, hyps, refs, target, n_bootstrap=1)
        st = corpus_statistic(rows, cs.signature)
        assert st is not None and st.full() == pytest.approx(cs.score / 100, abs=1e-9)
    assert corpus_statistic(rows, "nrefs:1|case:mixed|ter:yes|version:2.6.0") is None
    assert corpus_statistic([], "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no") is None


def test_defect11_pass_at_k_statistic_matches_humaneval_aggregate() -> None:
    rng = random.Random(3)
    rows = [_Row(f"HumanEval/{i}", r, {"pass@1": float(rng.random() < 0.4 + 0.01 * i)},
                 {"status": "ok"}) for i in range(40) for r in range(5)]
    values, _ = HumanEval.aggregate(rows)
    by = {v.metric: v for v in values}
    assert {"pass@1", "pass@2", "pass@5"} <= set(by)
    for metric in ("pass@2", "pass@5"):
        st = item_statistic(metric, dict(by[metric].extra), rows)
        assert st is not None and st.matches(by[metric].score)
    st2 = pass_at_k_statistic(rows, 2)
    assert st2 is not None
    first = [r.metrics["pass@1"] for r in rows if r.item_id == "HumanEval/0"]
    assert float(st2.values["HumanEval/0"]) == pytest.approx(pass_at_k(5, int(sum(first)), 2))
    assert pass_at_k_statistic(rows, 10) is None  # k above the samples per problem


def test_defect11_paired_bootstrap_agrees_with_sacrebleu_paired_bs() -> None:
    """Our paired bootstrap on chrF++ sentence statistics against `sacrebleu --paired-bs`
    (via scoring.translation.paired_bootstrap): the same verdict at 0.05. The p-values differ
    by construction when the gap is small: sacrebleu centres |d*| on its mean, we centre d*
    (the two-sided shift test), whose p is the normal one, 2Φ(−|d|/se)."""
    refs_rows = _system(4, 0.25, repeats=1)
    worse = _system(5, 0.45, repeats=1)
    close = _system(6, 0.26, repeats=1)
    refs = [r.detail["refs"] for r in refs_rows]
    sig = corpus_score("chrf", [r.detail["hyp"] for r in refs_rows], refs, "en", 1).signature
    st_a = corpus_statistic(refs_rows, sig)
    for other, significant in ((worse, True), (close, False)):
        st_b = corpus_statistic(other, sig)
        assert st_a is not None and st_b is not None
        ours = paired_bootstrap(st_a.values, st_b.values, st_a.stat, n_boot=1000, seed=0)
        theirs = sacrebleu_paired_bootstrap([r.detail["hyp"] for r in refs_rows],
                                            [r.detail["hyp"] for r in other], refs, "chrf")
        assert (ours.p_value < 0.05) == significant == (theirs < 0.05)
        if significant:
            assert ours.p_value < 0.01 and theirs < 0.01
        else:
            assert ours.p_value > 0.05 and theirs > 0.05
        normal = 2 * sst.norm.sf(abs(ours.diff) / ours.se)
        assert ours.p_value == pytest.approx(normal, abs=0.03)
        assert np.isfinite(ours.se) and ours.ci_low <= ours.diff <= ours.ci_high


# --------------------------------------------------------------------------- defect 8


def _subjects(sizes: dict[str, int], p: dict[str, float], seed: int, repeats: int = 1
              ) -> list[_Row]:
    """CMMLU-like samples: subject s has sizes[s] items, each answered right with p[s]."""
    rng = random.Random(seed)
    return [_Row(f"{s}/{i}", r, {"acc": float(rng.random() < p[s])}, group=s)
            for s, n in sizes.items() for i in range(n) for r in range(repeats)]


def test_defect8_subject_average_statistic_rebuilds_cmmlu_acc() -> None:
    """CMMLU's `acc` is the mean of its subject accuracies: the statistic behind its paired
    test must give back that figure (not the item mean beside it) from the item values."""
    from shootout.benchmarks.cmmlu import CMMLU

    rows = _subjects({"agronomy": 6, "anatomy": 15, "arts": 60},
                     {"agronomy": 0.2, "anatomy": 0.5, "arts": 0.9}, seed=8, repeats=2)
    values, _ = CMMLU.aggregate(rows)
    by = {v.metric: v for v in values}
    acc = by["acc"]
    assert acc.extra["average"] == "subject"
    assert abs(acc.score - by["acc_item_mean"].score) > 0.05  # the two averages differ here
    st = item_statistic("acc", acc.extra, rows)
    assert st is not None and st.key == "subject_average:acc"
    assert st.full() == pytest.approx(acc.score, abs=1e-12) and st.matches(acc.score)
    assert not st.matches(by["acc_item_mean"].score)
    assert len(st.values) == 81
    assert float(st.values["arts/0"]) in (0.0, 0.5, 1.0)  # repeats averaged within the item


def _stratified_se_of_difference(a: dict[str, Any], b: dict[str, Any],
                                 strata: dict[str, str], ddof: int) -> float:
    """(1/S) sqrt(Σ_s var_s(d)/n_s) of the per-item differences d = a − b."""
    by: dict[str, list[float]] = {}
    for k in a:
        by.setdefault(strata[k], []).append(float(a[k]) - float(b[k]))
    total = sum(float(np.var(d, ddof=ddof)) / len(d) for d in by.values())
    return float(np.sqrt(total)) / len(by)


def test_defect8_paired_bootstrap_of_a_subject_average_resamples_within_subjects() -> None:
    """Subjects are fixed strata: each resample keeps every subject's size, so the bootstrap
    SE of the difference of subject averages is the stratified SE of the differences
    (with the bootstrap's ddof=0 within subjects), and the point estimate the difference of
    the two reported subject averages."""
    from shootout.analysis.stratified import stratified_summary

    sizes = {"s0": 8, "s1": 30, "s2": 120}
    a_rows = _subjects(sizes, {"s0": 0.3, "s1": 0.6, "s2": 0.9}, seed=1)
    b_rows = _subjects(sizes, {"s0": 0.5, "s1": 0.5, "s2": 0.8}, seed=2)
    st_a = item_statistic("acc", {"average": "subject"}, a_rows)
    st_b = item_statistic("acc", {"average": "subject"}, b_rows)
    assert st_a is not None and st_b is not None and st_a.strata is not None
    r = paired_bootstrap(st_a.values, st_b.values, st_a.stat, strata=st_a.strata,
                         n_boot=4000, seed=3)
    assert r.diff == pytest.approx(st_a.full() - st_b.full(), abs=1e-12)
    expected = _stratified_se_of_difference(st_a.values, st_b.values, st_a.strata, ddof=0)
    assert r.se == pytest.approx(expected, rel=0.05)
    d = {k: [float(st_a.values[k]) - float(st_b.values[k])] for k in st_a.values}
    assert r.se == pytest.approx(stratified_summary(d, st_a.strata).se, rel=0.08)


def test_defect8_subjects_with_one_shared_item_are_resampled_together() -> None:
    """A small --limit leaves most subjects one item. One item alone cannot be resampled into
    any variance (that would make every gap 'significant'); such subjects are resampled as
    one collapsed stratum, so with one item in every subject the test is the plain item
    bootstrap of the item mean, as the stratified SE falls back to the item mean's SE."""
    sizes = {f"s{i}": 1 for i in range(60)}
    a_rows = _subjects(sizes, dict.fromkeys(sizes, 0.6), seed=4)
    b_rows = _subjects(sizes, dict.fromkeys(sizes, 0.55), seed=5)
    st_a = item_statistic("acc", {"average": "subject"}, a_rows)
    st_b = item_statistic("acc", {"average": "subject"}, b_rows)
    assert st_a is not None and st_b is not None
    strat = paired_bootstrap(st_a.values, st_b.values, st_a.stat, strata=st_a.strata,
                             n_boot=2000, seed=6)
    plain = paired_bootstrap(st_a.values, st_b.values, lambda x: float(np.mean(x)),
                             n_boot=2000, seed=6)
    assert strat.diff == pytest.approx(plain.diff, abs=1e-12)
    assert strat.se == pytest.approx(plain.se, rel=0.08) and strat.se > 0.05
    assert strat.diff == pytest.approx(0.10)
    assert strat.p_value > 0.2  # a 10-point gap on 60 items is within noise (SE ≈ 9 points)


@pytest.mark.parametrize("stratified", [False, True])
def test_block_resampling_draws_what_the_per_resample_loop_draws(stratified: bool) -> None:
    """The statistics with a block form (`bootstrap._BATCHED`: the mean, a mean of stratum
    means) give the same resamples, interval and p as calling the statistic per resample."""
    from shootout.analysis import bootstrap as bs
    from shootout.analysis.resampling import _mean, _mean_of_stratum_means

    rng = np.random.default_rng(4)
    a = {str(i): float(rng.random() < 0.6) for i in range(300)}
    b = {str(i): float(rng.random() < 0.5) for i in range(300)}
    strata = {str(i): f"s{i % 23}" if i < 290 else f"solo{i}" for i in range(300)}
    stat = _mean_of_stratum_means if stratified else _mean
    kw = {"strata": strata} if stratified else {}
    # a block smaller than the resamples: the draws continue across blocks
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bs, "_BLOCK", 300 * 7)
        fast = bs.paired_bootstrap(a, b, stat, n_boot=500, seed=9, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bs, "_BATCHED", {})
        slow = bs.paired_bootstrap(a, b, stat, n_boot=500, seed=9, **kw)
    assert fast.p_value == slow.p_value and fast.diff == slow.diff
    assert fast.ci_low == pytest.approx(slow.ci_low, abs=1e-12)
    assert fast.ci_high == pytest.approx(slow.ci_high, abs=1e-12)
    assert fast.se == pytest.approx(slow.se, abs=1e-12)


def test_pairs_on_the_same_items_share_their_draws_and_nothing_else() -> None:
    """The resamples' indices are kept for the next pair drawn with the same seed, items and
    strata (`bootstrap._blocks`): each result equals the one drawn afresh, whatever was drawn
    before it, and a pair with other strata, seed or items draws its own."""
    from shootout.analysis import bootstrap as bs
    from shootout.analysis.resampling import _mean, _mean_of_stratum_means

    rng = np.random.default_rng(5)
    models = {m: {str(i): float(rng.random() < p) for i in range(240)}
              for m, p in (("a", 0.6), ("b", 0.5), ("c", 0.55))}
    short = {str(i): v for i, v in models["c"].items() if i != "7"}
    strata = {str(i): f"s{i % 9}" for i in range(240)}
    other = {str(i): f"s{i % 5}" for i in range(240)}
    calls = [
        ("a", "b", _mean_of_stratum_means, {"strata": strata}, 3),
        ("a", "c", _mean_of_stratum_means, {"strata": strata}, 3),  # shares a-b's draws
        ("a", "b", _mean_of_stratum_means, {"strata": other}, 3),  # other strata
        ("a", "c", _mean, {}, 3),  # the same items unstratified: draws of its own
        ("b", "c", _mean, {}, 4),  # another seed
        ("a", "short", _mean, {}, 3),  # one item fewer
    ]
    models["short"] = short

    def run(fresh: bool) -> list[bs.PairedBootstrapResult]:
        out = []
        for x, y, stat, kw, seed in calls:
            if fresh:
                bs._kept_blocks.clear()
                bs._kept_stats.clear()
            out.append(bs.paired_bootstrap(models[x], models[y], stat, n_boot=400, seed=seed,
                                           **kw))
        return out

    bs._kept_blocks.clear()
    bs._kept_stats.clear()
    shared = run(fresh=False)
    assert len(bs._kept_blocks) == 5  # the second call found the first one's
    # each model's statistic over the resamples is kept for its next pair: a's stratified
    # one (computed for a-b) serves a-c; the a of a-short has one item fewer
    assert len(bs._kept_stats) == 2 * len(calls) - 1
    assert shared == run(fresh=True)


def test_the_paired_test_is_exact_where_few_items_differ() -> None:
    """4 of 7 items differ, all one way: the centred bootstrap said p < 0.001 (a bfcl mean of
    category means whose one-item category was held fixed); no test on 4 items goes below
    2/16 (an audit's). The approximate randomization test counts every one of the 16 swaps."""
    from shootout.analysis.bootstrap import randomization_p
    from shootout.analysis.resampling import _mean_of_stratum_means

    a = {i: float(i < 6) for i in range(7)}
    b = {i: float(i < 2) for i in range(7)}
    r = paired_bootstrap(a, b, np.mean)
    assert r.diff == pytest.approx(4 / 7) and r.p_value == pytest.approx(2 / 16)
    strata = {i: ("simple", "simple", "simple", "multiple", "multiple", "multiple",
                  "parallel_multiple")[i] for i in range(7)}
    s = paired_bootstrap(a, b, _mean_of_stratum_means, strata=strata)
    assert s.p_value >= 2 / 16 - 1e-12
    # the linear shortcut (a mean, a mean of stratum means) gives what the swaps do
    rng = np.random.default_rng(3)
    for n, stat in ((9, np.mean), (40, np.mean), (9, _mean_of_stratum_means),
                    (40, _mean_of_stratum_means)):
        xa, xb = rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(float)
        codes = np.asarray([i % 3 for i in range(n)])
        args = (codes,) if stat is _mean_of_stratum_means else ()
        diff = float(stat(xa, *args)) - float(stat(xb, *args))

        def slow(x: np.ndarray, *c: Any, stat: Any = stat) -> float:  # not registered: swaps
            return float(stat(x, *c))

        fast = randomization_p(xa, xb, stat, codes if args else None, diff, seed=5)
        plain = randomization_p(xa, xb, slow, codes if args else None, diff, seed=5)
        assert fast == pytest.approx(plain), (n, stat)
    # a statistic that is not linear (corpus BLEU) over 8 sentences: at least 2/2^8
    bleu_a = {i: np.asarray([i + 3.0, 2.0, 1.0]) for i in range(8)}
    bleu_b = {i: np.asarray([1.0, 1.0, 1.0]) for i in range(8)}

    def ratio(x: np.ndarray) -> float:
        return float(x[:, 0].sum() / x[:, 1:].sum())

    assert paired_bootstrap(bleu_a, bleu_b, ratio).p_value >= 2 / 256


def test_the_summed_shortcut_of_a_corpus_metric_swaps_as_the_items_do() -> None:
    """chrF++ from summed sentence statistics: moving each swap's differences from one sum to
    the other gives the p that swapping the items' arrays does (the copies took 2.4 times the
    bootstrap's time; a review's)."""
    from shootout.analysis.bootstrap import randomization_p

    refs_rows, close = _system(4, 0.25, repeats=1), _system(6, 0.26, repeats=1)
    refs = [r.detail["refs"] for r in refs_rows]
    sig = corpus_score("chrf", [r.detail["hyp"] for r in refs_rows], refs, "en", 1).signature
    st_a, st_b = corpus_statistic(refs_rows, sig), corpus_statistic(close, sig)
    assert st_a is not None and st_b is not None and hasattr(st_a.stat, "of_sums")
    keys = [k for k in st_a.values if k in st_b.values]
    xa = np.asarray([st_a.values[k] for k in keys])
    xb = np.asarray([st_b.values[k] for k in keys])
    diff = st_a.stat(xa) - st_a.stat(xb)

    def plain(x: np.ndarray) -> float:  # the same statistic without its shortcut
        return st_a.stat(x)

    for n_perm in (300, 2000):
        fast = randomization_p(xa, xb, st_a.stat, None, diff, seed=1, n_perm=n_perm)
        assert fast == pytest.approx(randomization_p(xa, xb, plain, None, diff, seed=1,
                                                     n_perm=n_perm))
