"""Unit tests for shootout.analysis.stats: hand-computed values and scipy cross-checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats as sst

from shootout.analysis.bootstrap import bootstrap_ci, paired_bootstrap
from shootout.analysis.paired_tests import holm, paired_difference
from shootout.analysis.stats import (
    clustered_se,
    min_detectable_difference,
    normal_interval,
    summarize,
    wilson_bounds,
    wilson_interval,
    z_test,
)

Z95 = 1.959963984540054

# --------------------------------------------------------------------------- summarize


def test_summarize_hand_computed() -> None:
    # item means: [1,0]->0.5, [1,1]->1, [0,0]->0, [1]->1  => x = [0.5, 1, 0, 1]
    # mean = 2.5/4 = 0.625
    # deviations -0.125, 0.375, -0.625, 0.375; squares sum = 0.015625+0.140625+0.390625+0.140625
    #   = 0.6875; var(ddof=1) = 0.6875/3; se = sqrt(0.6875/3/4) = 0.2393567...
    s = summarize([[1, 0], [1, 1], [0, 0], [1]])
    assert s.mean == pytest.approx(0.625)
    assert s.se == pytest.approx(math.sqrt(0.6875 / 12))
    assert s.se == pytest.approx(0.2393567, abs=1e-7)
    assert s.n == 4
    assert s.n_samples == 7
    assert s.ci_method == "wilson_effective"  # 0/1 scores, but 0.5 is not a 0/1 item mean
    # within-item variance over repeated items: var([1,0])=0.5, var([1,1])=0, var([0,0])=0
    #   -> mean 0.5/3 ; resampling_se = sqrt(0.5/2 + 0 + 0)/4 = 0.125
    assert s.within_item_var == pytest.approx(0.5 / 3)
    assert s.resampling_se == pytest.approx(0.125)
    # n_eff = 0.625 * 0.375 / 0.2393567² = 4.09 (between the 4 items and the 7 samples)
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_bounds(0.625, 0.234375 / s.se**2, Z95))
    assert 0.0 < s.ci_low < 0.625 < s.ci_high < 1.0
    # continuous scores keep the normal interval, clipped to [0, 1] for a proportion
    c = summarize([[0.5, 0.7], [1.0], [0.0], [1.0]])
    assert c.ci_method == "normal" and c.ci_high == 1.0


def test_summarize_normal_ci_is_not_clipped_outside_unit_range() -> None:
    s = summarize([[2.0], [-1.0], [0.5]])
    assert s.ci_low == pytest.approx(s.mean - Z95 * s.se)
    assert s.ci_high == pytest.approx(s.mean + Z95 * s.se)


def test_summarize_normal_ci_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    items = [list(rng.random(3)) for _ in range(50)]
    s = summarize(items, confidence=0.9)
    assert s.ci_method == "normal"
    lo, hi = sst.norm.interval(0.9, loc=s.mean, scale=s.se)
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi), rel=1e-12)
    assert normal_interval(0.3, 0.02, 0.99) == pytest.approx(sst.norm.interval(0.99, 0.3, 0.02))


def test_summarize_uses_wilson_for_binary_item_means() -> None:
    s = summarize([[1]] * 8 + [[0]] * 2)
    assert s.ci_method == "wilson"
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_interval(8, 10))
    # repeats that agree still give binary item means -> Wilson
    assert summarize([[1, 1], [0, 0], [1, 1]]).ci_method == "wilson"
    # any n: 60 of 100 is Wilson too
    big = summarize([[1]] * 60 + [[0]] * 40)
    assert big.ci_method == "wilson"
    assert (big.ci_low, big.ci_high) == pytest.approx(wilson_interval(60, 100))


@pytest.mark.parametrize("n", [10, 99, 100, 101, 1000, 14042])
def test_defect9_perfect_score_interval_is_not_degenerate_at_any_n(n: int) -> None:
    # a clipped normal interval is mean ± 1.96·0 = [1, 1] for a perfect score: certainty
    s = summarize([[1.0]] * n)
    assert s.ci_method == "wilson"
    assert s.ci_high == 1.0
    assert s.ci_low == pytest.approx(wilson_interval(n, n)[0])
    # Wilson's lower bound at p̂ = 1 is n/(n + z²)
    assert s.ci_low == pytest.approx(n / (n + Z95 * Z95))
    assert s.ci_low < 1.0
    zero = summarize([[0.0]] * n)
    assert zero.ci_low == 0.0 and zero.ci_high == pytest.approx(Z95**2 / (n + Z95**2))


def test_defect9_interval_has_no_jump_at_n_100() -> None:
    # one method on both sides of the old switch: the bounds move smoothly with n
    for k in (0.8, 1.0):
        lows = [summarize([[1.0]] * round(k * n) + [[0.0]] * (n - round(k * n))).ci_low
                for n in (95, 100, 105)]
        assert lows == pytest.approx(
            [wilson_interval(round(k * n), n)[0] for n in (95, 100, 105)])
        assert abs(lows[1] - lows[0]) < 0.01 and abs(lows[2] - lows[1]) < 0.01


def test_repeats_that_disagree_get_wilson_at_the_effective_sample_size() -> None:
    # an item scored [1, 1, 0] has mean 2/3: the item means are not Bernoulli, so Wilson on
    # (Σx, n) would be wrong; Wilson at p(1-p)/se², between n and the samples, is used
    items = [[1, 1, 0]] + [[1, 1, 1]] * 199
    s = summarize(items)
    assert s.ci_method == "wilson_effective"
    n_eff = min(max(s.mean * (1 - s.mean) / s.se**2, 200), 600)
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_bounds(s.mean, n_eff, Z95))
    assert s.ci_high < 1.0  # the normal interval, clipped, reached 1
    assert summarize([[1, 1, 1]] * 200).ci_method == "wilson"
    assert summarize([[0.5], [1.0]]).ci_method == "normal"  # continuous scores
    assert summarize([[0.5, 1.0], [1.0, 1.0]]).ci_method == "normal"
    # every item split alike: se 0, the samples are the effective size
    split = summarize([[1, 0]] * 10)
    assert (split.ci_low, split.ci_high) == pytest.approx(wilson_bounds(0.5, 20, Z95))


def test_one_right_of_sixty_is_not_narrower_than_none_right() -> None:
    # 20 items x 3 repeats, one item right once: the clipped normal interval read [0, 4.9%],
    # under a third of 0 of 60's Wilson [0, 16.1%] (a statistics audit; coverage of a true 5%
    # was ~83%)
    one = summarize([[1, 0, 0]] + [[0, 0, 0]] * 19)
    none = summarize([[0, 0, 0]] * 20)
    assert one.ci_method == "wilson_effective" and none.ci_method == "wilson"
    assert one.ci_low > 0 and one.ci_high > 0.08
    assert none.ci_high == pytest.approx(0.161, abs=1e-3)


def test_one_item_with_repeats_is_one_item_not_its_repeats() -> None:
    # no SE from one item: its three repeats counted as three independent samples gave a
    # narrow (0.06, 0.79) (a review)
    s = summarize([[1, 0, 0]])
    assert math.isnan(s.se) and s.ci_method == "wilson_effective"
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_bounds(1 / 3, 1, Z95))


def test_wilson_effective_covers_a_small_proportion() -> None:
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(600):
        p_item = rng.beta(0.1, 1.9, size=20)  # mean 0.05, items of varying difficulty
        scores = (rng.random((20, 3)) < p_item[:, None]).astype(float)
        s = summarize(scores.tolist())
        hits += s.ci_low <= 0.05 <= s.ci_high
    assert hits / 600 > 0.92  # the clipped normal interval: ~0.83


def test_defect9_clustered_binary_uses_wilson_at_the_effective_sample_size() -> None:
    # perfect score on 60 items in 3 clusters: no variation, so no sign of clustering:
    # deff = 1 -> Wilson(60 of 60); one miss only widens it (the interval stays monotone)
    s = summarize([[1.0]] * 60, clusters=[i // 20 for i in range(60)])
    assert s.ci_method == "wilson_clustered"
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_interval(60, 60))
    miss = summarize([[0.0]] + [[1.0]] * 59, clusters=[i // 20 for i in range(60)])
    assert miss.ci_low < s.ci_low
    # [1, 1, 0, 0] in clusters a a b b: se_c² = 7/48, se_iid² = 1/12 -> deff = 7/4,
    # n_eff = 4 / 1.75 = 16/7 (between G = 2 and n = 4); Wilson at p = .5, n = 16/7
    cl = summarize([[1], [1], [0], [0]], clusters=["a", "a", "b", "b"])
    assert cl.ci_method == "wilson_clustered"
    assert cl.se == pytest.approx(math.sqrt(7 / 48))
    n_eff, z = 16 / 7, Z95
    half = z / (1 + z * z / n_eff) * math.sqrt(0.25 / n_eff + z * z / (4 * n_eff**2))
    assert (cl.ci_low, cl.ci_high) == pytest.approx((0.5 - half, 0.5 + half))
    # every item its own cluster: exactly the unclustered Wilson interval
    x = [[1.0]] * 30 + [[0.0]] * 10
    own = summarize(x, clusters=list(range(40)))
    assert (own.ci_low, own.ci_high) == pytest.approx(wilson_interval(30, 40))


def test_summarize_degenerate_and_invalid() -> None:
    one = summarize([[0.3, 0.5]])
    assert one.n == 1 and one.mean == pytest.approx(0.4)
    assert math.isnan(one.se) and math.isnan(one.ci_low)
    assert math.isnan(summarize([[1], [0]]).within_item_var)  # nothing repeated
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([[1.0], []])
    with pytest.raises(ValueError):
        summarize([[1.0], [math.nan]])
    with pytest.raises(ValueError):
        summarize([[1.0], [[1.0, 0.0]]])  # type: ignore[list-item]


def test_repeats_averaged_within_item_first() -> None:
    # 4 items x 3 identical repeats: item means [1, 0, 1, 0]
    #   item-level se = sd([1,0,1,0], ddof=1)/sqrt(4) = sqrt(1/3)/2 = 0.288675
    # naive pooling of the 12 samples: var = 12*0.25/11, se = sqrt(3/11/12) = 0.150756
    items = [[1, 1, 1], [0, 0, 0], [1, 1, 1], [0, 0, 0]]
    flat = [v for it in items for v in it]
    pooled_se = float(np.std(flat, ddof=1) / math.sqrt(len(flat)))
    s = summarize(items)
    assert pooled_se == pytest.approx(0.150756, abs=1e-6)
    assert s.se == pytest.approx(math.sqrt(1 / 3) / 2)
    assert s.se > 1.5 * pooled_se
    # the clustered SE on the flat samples (cluster = item) also sees the correlation:
    # SE_CLT^2 = 3/11/12; cross = 4 * ((1.5)^2 - 0.75) / 144 = 6/144 -> sqrt = 0.253759
    by_item = clustered_se(flat, [i for i, it in enumerate(items) for _ in it])
    assert by_item == pytest.approx(math.sqrt(3 / 132 + 6 / 144))
    assert by_item > 1.5 * pooled_se


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=4),
        min_size=2,
        max_size=30,
    )
)
def test_summarize_property(items: list[list[float]]) -> None:
    s = summarize(items)
    item_means = [float(np.mean(it)) for it in items]
    assert s.mean == pytest.approx(float(np.mean(item_means)), abs=1e-12)
    assert s.se >= 0
    assert s.ci_low <= s.mean + 1e-12 and s.ci_high >= s.mean - 1e-12  # Wilson contains p_hat too
    assert s.n == len(items) and s.n_samples == sum(map(len, items))
    # the within-item figures, per item as their definitions read (the code reduces in numpy)
    repeated = [it for it in items if len(it) >= 2]
    if repeated:
        var = [float(np.var(it, ddof=1)) for it in repeated]
        assert s.within_item_var == pytest.approx(float(np.mean(var)), abs=1e-12)
        assert s.resampling_se == pytest.approx(
            math.sqrt(sum(v / len(it) for v, it in zip(var, repeated, strict=True))) / len(items),
            abs=1e-12)
    else:
        assert math.isnan(s.within_item_var)


# --------------------------------------------------------------------------- clustered SE


def test_clustered_se_positive_correlation_hand() -> None:
    # s = [1,1,0,0], clusters a,a,b,b; s_bar = 0.5, e = [.5,.5,-.5,-.5]
    # SE_CLT^2 = var(ddof=1)/n = (1/3)/4 = 1/12
    # cross: cluster a 2*(.5*.5) = .5, cluster b 2*(-.5*-.5) = .5 -> 1.0 / n^2 = 1/16
    # SE_C = sqrt(1/12 + 1/16) = sqrt(7/48) = 0.381881 vs naive sqrt(1/12) = 0.288675
    se = clustered_se([1, 1, 0, 0], ["a", "a", "b", "b"])
    assert se == pytest.approx(math.sqrt(7 / 48))
    assert se == pytest.approx(0.381881, abs=1e-6)
    assert se > math.sqrt(1 / 12) + 0.05


def test_clustered_se_negative_correlation_hand() -> None:
    # s = [1,0,1,1], s_bar = .75, e = [.25,-.75,.25,.25]; sum e^2 = .75
    # SE_CLT^2 = (.75/3)/4 = .0625; cross a: 2*(.25*-.75) = -.375, b: 2*(.25*.25) = .125
    # -> -.25/16 = -.015625; SE_C = sqrt(.046875) = 0.216506 < naive .25
    se = clustered_se([1, 0, 1, 1], ["a", "a", "b", "b"])
    assert se == pytest.approx(math.sqrt(0.046875))


def test_clustered_se_singletons_equal_naive_and_labels_are_exact() -> None:
    vals = [0.2, 0.9, 0.4, 0.7, 0.1]
    naive = float(np.std(vals, ddof=1) / math.sqrt(5))
    # -1 and -2 share a hash in CPython; labels must still be distinct clusters
    assert clustered_se(vals, [-1, -2, 0, 3, "x"]) == pytest.approx(naive)
    assert clustered_se([1, 1, 0, 0], [-1, -1, -2, -2]) == pytest.approx(math.sqrt(7 / 48))
    assert math.isnan(clustered_se([1.0], ["a"]))
    with pytest.raises(ValueError):
        clustered_se([1, 2], ["a"])


# --------------------------------------------------------------------------- Wilson


def _wilson_by_quadratic(k: int, n: int, z: float) -> tuple[float, float]:
    # Wilson bounds are the roots p of (p_hat - p)^2 = z^2 p (1-p) / n, i.e.
    # (1 + z^2/n) p^2 - (2 p_hat + z^2/n) p + p_hat^2 = 0
    ph = k / n
    roots = np.roots([1 + z * z / n, -(2 * ph + z * z / n), ph * ph])
    return float(min(roots.real)), float(max(roots.real))


def test_wilson_hand_computed() -> None:
    # k=8, n=10, z=1.959964: z^2/n = .3841459, denom = 1.3841459
    # centre = (.8 + .1920729)/1.3841459 = .716739
    # half = 1.959964/1.3841459 * sqrt(.016 + 3.841459/400) = 1.416009 * .160011 = .226577
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490162, abs=1e-5)
    assert hi == pytest.approx(0.943318, abs=1e-5)
    assert (lo, hi) == pytest.approx(_wilson_by_quadratic(8, 10, Z95), abs=1e-10)


@pytest.mark.parametrize(("k", "n"), [(1, 7), (3, 20), (37, 50), (5, 5)])
def test_wilson_matches_quadratic_roots(k: int, n: int) -> None:
    z = float(sst.norm.ppf(0.95))  # 90% interval
    assert wilson_interval(k, n, 0.9) == pytest.approx(_wilson_by_quadratic(k, n, z), abs=1e-9)


def test_wilson_edges() -> None:
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0 < hi < 0.35
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


# --------------------------------------------------------------------------- MDD


def test_min_detectable_difference_hand() -> None:
    # (z_.975 + z_.8) = 1.959964 + 0.841621 = 2.801585
    # rho=0: sqrt(.01^2 + .01^2) = .0141421 -> .0396203 ; rho=.5: sqrt(1e-4) -> .0280158
    assert min_detectable_difference(0.01, 0.01) == pytest.approx(0.0396203, abs=1e-6)
    assert min_detectable_difference(0.01, 0.01, paired_corr=0.5) == pytest.approx(
        0.0280158, abs=1e-6
    )
    assert min_detectable_difference(0.01, 0.01, paired_corr=1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        min_detectable_difference(0.01, 0.01, paired_corr=1.5)


# --------------------------------------------------------------------------- paired


def _random_pair(seed: int, n: int, k: int) -> tuple[dict[str, list[float]], dict]:
    rng = np.random.default_rng(seed)
    diff = rng.random(n)
    a = {f"q{i}": list(rng.random(k) * 0.5 + diff[i] * 0.5) for i in range(n)}
    b = {f"q{i}": list(rng.random(k) * 0.5 + diff[i] * 0.45) for i in range(n)}
    return a, b


def test_paired_matches_ttest_rel() -> None:
    a, b = _random_pair(3, 40, 3)
    a["only_a"] = [1.0]
    b["only_b1"], b["only_b2"] = [0.0], [1.0]
    r = paired_difference(a, b, confidence=0.9)
    keys = [f"q{i}" for i in range(40)]
    xa = np.array([np.mean(a[k]) for k in keys])
    xb = np.array([np.mean(b[k]) for k in keys])
    ref = sst.ttest_rel(xa, xb)
    assert r.n == 40 and r.n_only_a == 1 and r.n_only_b == 2
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert r.t_stat == pytest.approx(ref.statistic, rel=1e-10)
    assert r.mean_diff == pytest.approx(float(np.mean(xa - xb)))
    assert r.se == pytest.approx(float(np.std(xa - xb, ddof=1) / math.sqrt(40)))
    ci = ref.confidence_interval(0.9)
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert r.significant == (ref.pvalue < 0.1)
    assert r.p_mcnemar is None  # 3 repeats
    assert r.corr == pytest.approx(float(np.corrcoef(xa, xb)[0, 1]))


def test_paired_mcnemar_matches_binomtest() -> None:
    rng = np.random.default_rng(7)
    xa = rng.integers(0, 2, 60)
    xb = np.where(rng.random(60) < 0.8, xa, 1 - xa)
    a = {i: [float(v)] for i, v in enumerate(xa)}
    b = {i: [float(v)] for i, v in enumerate(xb)}
    r = paired_difference(a, b)
    n10 = int(np.sum((xa == 1) & (xb == 0)))
    n01 = int(np.sum((xa == 0) & (xb == 1)))
    assert n10 + n01 > 0
    assert r.p_mcnemar == pytest.approx(sst.binomtest(n10, n10 + n01, 0.5).pvalue)
    assert r.p_value == pytest.approx(sst.ttest_rel(xa, xb).pvalue)


def test_paired_mcnemar_hand() -> None:
    # discordant: A right/B wrong on 5 items, A wrong/B right on 0 -> p = 2 * 0.5^5 = 0.0625
    a = {i: [1.0] for i in range(10)}
    b = {i: [1.0 if i >= 5 else 0.0] for i in range(10)}
    assert paired_difference(a, b).p_mcnemar == pytest.approx(0.0625)


def test_paired_degenerate() -> None:
    same = {i: [0.5, 1.0] for i in range(5)}
    r = paired_difference(same, dict(same))
    assert r.p_value == 1.0 and not r.significant and r.mean_diff == 0.0
    # every item differs the same way: the sign test's p, not 0 (3 items were "significant")
    shifted = paired_difference({i: [0.9] for i in range(5)}, {i: [0.4] for i in range(5)})
    assert shifted.p_value == pytest.approx(0.0625) and not shifted.significant
    assert shifted.t_stat == math.inf
    assert (shifted.ci_low, shifted.ci_high) == pytest.approx((0.5, 0.5))
    three = paired_difference({i: [1.0] for i in range(3)}, {i: [0.0] for i in range(3)})
    assert three.p_value == pytest.approx(sst.binomtest(3, 3, 0.5).pvalue)  # 0.25
    assert three.p_value == pytest.approx(three.p_mcnemar) and not three.significant
    ten = paired_difference({i: [1.0] for i in range(10)}, {i: [0.0] for i in range(10)})
    assert ten.p_value == pytest.approx(2 * 0.5 ** 10) and ten.significant
    single = paired_difference({"x": [1.0]}, {"x": [0.0], "y": [1.0]})
    assert single.n == 1 and single.p_value == 1.0 and not single.significant
    # one item: no SE; the interval of paired 0/1 scores is Newcombe's, wide as can be
    assert math.isnan(single.se) and single.ci_low < 0.0 and single.ci_high == 1.0
    assert single.p_mcnemar == pytest.approx(1.0)  # binomtest(1, 1, 0.5)
    empty = paired_difference({"x": [1.0]}, {"y": [1.0]})
    assert empty.n == 0 and math.isnan(empty.mean_diff) and empty.p_value == 1.0


def test_paired_repeats_that_all_differ_alike_keep_a_width() -> None:
    # 2 items x 3 repeats, A right and B wrong every time: the t interval was [+1, +1]; the
    # square-and-add of Wilson's intervals of 2 of 2 and 0 of 2 is [+0.07, +1], as the
    # head-to-head gives it (the coding and safety sections call this function directly)
    a = {i: [1.0, 1.0, 1.0] for i in range(2)}
    b = {i: [0.0, 0.0, 0.0] for i in range(2)}
    r = paired_difference(a, b)
    wa, wb = wilson_interval(2, 2), wilson_interval(0, 2)
    lo = 1.0 - math.sqrt((1.0 - wa[0]) ** 2 + (wb[1] - 0.0) ** 2)
    assert r.mean_diff == 1.0 and r.ci_high == 1.0
    assert r.ci_low == pytest.approx(lo) and 0.05 < r.ci_low < 0.1
    same = paired_difference(a, dict(a))  # no difference at all: still an interval about 0
    assert same.mean_diff == 0.0 and same.ci_low < -0.5 and same.ci_high > 0.5
    # repeats that disagree within an item but differ alike across items
    c = {i: [1.0, 1.0, 0.0] for i in range(6)}
    d = {i: [1.0, 0.0, 0.0] for i in range(6)}
    r2 = paired_difference(c, d)
    assert r2.mean_diff == pytest.approx(1 / 3) and r2.ci_low < 1 / 3 < r2.ci_high
    # continuous scores keep the t's zero-width interval (no interval of their own)
    cont = paired_difference({i: [0.9, 0.9] for i in range(5)}, {i: [0.4, 0.4] for i in range(5)})
    assert (cont.ci_low, cont.ci_high) == pytest.approx((0.5, 0.5))


# --------------------------------------------------------------------------- Holm


def test_holm_known_example() -> None:
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .06
    res = holm([0.01, 0.04, 0.03, 0.005])
    assert [h.p_adjusted for h in res] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [h.reject for h in res] == [True, False, False, True]


def test_holm_capped_and_edges() -> None:
    assert [h.p_adjusted for h in holm([0.5, 0.6])] == [1.0, 1.0]
    assert holm([]) == []
    assert holm([0.04])[0].p_adjusted == pytest.approx(0.04) and holm([0.04])[0].reject
    with pytest.raises(ValueError):
        holm([0.1, math.nan])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=12))
def test_holm_property(ps: list[float]) -> None:
    res = holm(ps)
    adj = np.array([h.p_adjusted for h in res])
    assert np.all(adj >= np.array(ps) - 1e-15) and np.all(adj <= 1.0)
    order = np.argsort(ps, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-15)  # monotone in raw-p order
    # step-down definition: reject p_(1..r) while p_(i) <= alpha/(m-i+1)
    m, r = len(ps), 0
    while r < m and ps[order[r]] <= 0.05 / (m - r):
        r += 1
    expected = np.zeros(m, bool)
    expected[order[:r]] = True
    assert [h.reject for h in res] == list(expected)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_close_to_normal_for_mean_and_deterministic() -> None:
    rng = np.random.default_rng(11)
    # sorted so that a resampler skipping some items shifts the CI
    items = [[float(v)] for v in sorted(rng.integers(0, 2, 400))]
    b1 = bootstrap_ci(items, n_boot=1000, seed=5)
    b2 = bootstrap_ci(items, n_boot=1000, seed=5)
    assert b1 == b2
    s = summarize(items)
    assert b1.estimate == pytest.approx(s.mean)
    assert b1.ci_low < b1.estimate < b1.ci_high
    assert b1.se == pytest.approx(s.se, rel=0.15)
    assert b1.ci_low == pytest.approx(s.ci_low, abs=0.012)
    assert b1.ci_high == pytest.approx(s.ci_high, abs=0.012)


def test_bootstrap_other_stat_and_repeats() -> None:
    b = bootstrap_ci([[0.3, 0.5], [0.4], [0.4, 0.4]] * 5, stat=np.median, n_boot=200)
    assert b.estimate == pytest.approx(0.4)
    assert b.ci_low == pytest.approx(0.4) and b.ci_high == pytest.approx(0.4)
    assert b.n == 15 and b.n_boot == 200
    c = bootstrap_ci([0.1, 0.9, 0.5, 0.7], n_boot=500)
    assert 0.1 <= c.ci_low < c.estimate < c.ci_high <= 0.9


# --------------------------------------------------------------------------- paired bootstrap


def test_defect11_paired_bootstrap_of_a_mean_agrees_with_the_paired_t_test() -> None:
    # for the mean the bootstrap must reproduce what the paired t-test already knows
    rng = np.random.default_rng(9)
    base = rng.random(300)
    xa = {i: float(v + rng.normal(0, 0.1)) for i, v in enumerate(base)}
    xb = {i: float(v - 0.02 + rng.normal(0, 0.1)) for i, v in enumerate(base)}
    r = paired_bootstrap(xa, xb, n_boot=4000, seed=3)
    t = paired_difference({k: [v] for k, v in xa.items()}, {k: [v] for k, v in xb.items()})
    assert r.diff == pytest.approx(t.mean_diff, abs=1e-12)
    assert (r.estimate_a, r.estimate_b) == pytest.approx((t.mean_a, t.mean_b))
    assert r.se == pytest.approx(t.se, rel=0.1)
    assert (r.ci_low, r.ci_high) == pytest.approx((t.ci_low, t.ci_high), abs=0.006)
    assert r.n == 300 and r.n_boot == 4000
    # a difference of 2.7 SE: both tests find it, with p-values of the same size
    assert t.p_value < 0.05 and r.p_value < 0.05
    assert r.p_value == pytest.approx(t.p_value, abs=0.01)


def test_paired_bootstrap_pairs_items_and_is_deterministic() -> None:
    # B = A shifted by a small constant: unpaired SEs are huge, the paired difference exact
    rng = np.random.default_rng(2)
    base = rng.random(80)
    a = {i: float(v) for i, v in enumerate(base)}
    b = {i: float(v) - 0.02 for i, v in enumerate(base)}
    b["extra"] = 0.5
    r = paired_bootstrap(a, b, n_boot=500, seed=1)
    assert r.diff == pytest.approx(0.02) and r.ci_low == pytest.approx(0.02)
    assert r.ci_high == pytest.approx(0.02) and r.p_value == pytest.approx(1 / 501)
    assert r.n_only_b == 1 and r.n_only_a == 0
    assert paired_bootstrap(a, b, n_boot=500, seed=1) == r
    same = paired_bootstrap(a, dict(a), n_boot=200)
    assert same.diff == 0.0 and same.p_value == 1.0
    # per-item statistics: a ratio of sums, as corpus metrics are
    ratio = paired_bootstrap({i: [1.0, 2.0] for i in range(5)}, {i: [1.0, 4.0] for i in range(5)},
                             stat=lambda x: float(x[:, 0].sum() / x[:, 1].sum()), n_boot=50)
    assert ratio.diff == pytest.approx(0.5 - 0.25)
    with pytest.raises(ValueError):
        paired_bootstrap({"x": 1.0}, {"y": 1.0})


# --------------------------------------------------------------------------- issue 13


def test_z_test_is_the_two_sided_normal_p() -> None:
    assert z_test(0.1, 0.05) == pytest.approx(2 * sst.norm.sf(2.0))
    assert z_test(-0.1, 0.05) == z_test(0.1, 0.05)
    assert z_test(0.1, 0.0) == 1.0 and z_test(0.1, math.nan) == 1.0  # nothing to test with


def test_single_scores_take_the_fast_path_to_the_same_numbers() -> None:
    """One score per item is read without numpy: the same summary, to the bit, as the same
    scores passed as arrays, for 0/1 and continuous scores, lists, tuples and bare floats."""
    rng = np.random.default_rng(3)
    for values in (rng.integers(0, 2, 40).astype(float), rng.random(40)):
        slow = summarize([np.asarray([v]) for v in values])
        assert summarize([[float(v)] for v in values]) == slow
        assert summarize([(float(v),) for v in values]) == slow
        assert summarize([float(v) for v in values]) == slow  # type: ignore[misc]
    mixed = [[1.0], [0.0, 1.0, 1.0], [0.5], [1.0, 1.0]]
    assert summarize(mixed) == summarize([np.asarray(x) for x in mixed])
    with pytest.raises(ValueError, match="finite"):
        summarize([[1.0], [math.inf]])


def test_every_shape_of_items_gives_one_summary() -> None:
    """Lists and tuples are flattened in C, anything else item by item: the same figures."""
    items = [[1.0, 0.0, 1.0], [0.0], [1.0, 1.0], [0.25, 0.75]]
    want = summarize(items)
    assert summarize([tuple(x) for x in items]) == want
    assert summarize([*items[:3], np.asarray(items[3])]) == want
    assert summarize(x for x in items) == want  # type: ignore[arg-type]
    bare = [[1.0], 0.0, (1.0,)]  # a bare float is one repeat
    assert summarize(bare) == summarize([[1.0], [0.0], [1.0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        summarize([[1.0], []])


def test_student_t_is_scipy_stats_t_to_the_last_bit() -> None:
    """t quantiles and the paired test's p come from scipy.special (scipy.stats costs 0.9 s
    to import): the same numbers as scipy.stats.t's ppf and sf, over the dfs and values a
    report meets."""
    from shootout.analysis.paired_tests import _t_test
    from shootout.analysis.stats import t_quantile

    t_quantile.cache_clear()
    for df in (1, 2, 3, 7, 29, 30, 119, 1146, 10_041, 100_000):
        for q in (0.5 + c / 2.0 for c in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)):
            assert t_quantile(q, df) == float(sst.t.ppf(q, df))
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 40, 1147):
        for shift in (0.0, 0.05, 0.3, 3.0):
            d = rng.normal(shift, 1.0, n)
            _se, t, p = _t_test(d)
            assert p == float(2.0 * sst.t.sf(abs(t), n - 1))
            assert p == pytest.approx(sst.ttest_1samp(d, 0.0).pvalue, rel=1e-12)


def test_newcombe_paired_matches_the_published_example() -> None:
    """Cavo et al. 2012 (complete response before and after consolidation therapy) as the R
    package contingencytables' tests give it (tests/testthat/test-ch8.R): the table
    [[59, 6], [16, 80]], Newcombe's square-and-add interval −0.0621 (−0.1186 to −0.0046)."""
    import numpy as np

    from shootout.analysis.paired_tests import newcombe_paired

    cells = [(1, 1)] * 59 + [(1, 0)] * 6 + [(0, 1)] * 16 + [(0, 0)] * 80
    xa = np.array([a for a, _ in cells], dtype=float)
    xb = np.array([b for _, b in cells], dtype=float)
    lo, hi = newcombe_paired(xa, xb)
    assert float(xa.mean() - xb.mean()) == pytest.approx(-0.0621, abs=5e-5)
    assert (lo, hi) == pytest.approx((-0.1186, -0.0046), abs=5e-5)
