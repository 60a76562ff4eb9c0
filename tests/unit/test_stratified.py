"""The mean of subject means (CMMLU's overall score): its SE and interval, checked against
summarize where they must agree and against simulation where the formula is the claim."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shootout.analysis.stats import summarize, wilson_bounds, wilson_interval
from shootout.analysis.stratified import stratified_summary


def _items(groups: dict[str, list[float]]) -> tuple[dict[str, list[float]], dict[str, str]]:
    scores, group_of = {}, {}
    for g, xs in groups.items():
        for i, x in enumerate(xs):
            scores[f"{g}{i}"], group_of[f"{g}{i}"] = [x], g
    return scores, group_of


def test_one_item_per_subject_is_the_item_mean_and_its_se() -> None:
    scores, group_of = _items({g: [float(i % 3 == 0)] for i, g in enumerate("abcdefgh")})
    macro = stratified_summary(scores, group_of)
    micro = summarize(list(scores.values()))
    assert macro.mean == pytest.approx(micro.mean)
    assert macro.se == pytest.approx(micro.se)
    assert (macro.ci_low, macro.ci_high) == pytest.approx((micro.ci_low, micro.ci_high))


def test_disagreeing_repeats_get_wilson_at_the_effective_sample_size() -> None:
    scores = {"a1": [1, 0, 1], "a2": [1, 1, 1], "b1": [0, 0, 1], "b2": [0, 1, 0]}
    s = stratified_summary(scores, {k: k[0] for k in scores})
    assert s.ci_method == "wilson_effective"
    n_eff = min(max(s.mean * (1 - s.mean) / s.se**2, 4), 12)
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_bounds(s.mean, n_eff, 1.959963984540054))
    cont = stratified_summary({"a1": [0.5], "a2": [1.0], "b1": [0.25], "b2": [0.0]},
                              {"a1": "a", "a2": "a", "b1": "b", "b2": "b"})
    assert cont.ci_method == "normal"
    assert s.mean == pytest.approx(((2 / 3 + 1) / 2 + (1 / 3 + 1 / 3) / 2) / 2)
    assert s.n == 4 and s.n_samples == 12


def test_se_and_coverage_match_simulation() -> None:
    """Unequal subjects (8, 30, 120 items at p = 0.3, 0.6, 0.9): the SE formula matches the
    spread of the macro average over 1,000 simulated runs, and the interval covers ~95%
    (the tolerances are about 2.7 simulation standard errors)."""
    rng = np.random.default_rng(12)
    sizes, ps = (8, 30, 120), (0.3, 0.6, 0.9)
    truth = sum(ps) / 3
    group_of = {f"{g}{i}": str(g) for g, n in enumerate(sizes) for i in range(n)}
    means, ses, covered = [], [], 0
    for _ in range(1000):
        draws = [rng.random(n) < p for n, p in zip(sizes, ps, strict=True)]
        scores = {f"{g}{i}": [float(v)] for g, d in enumerate(draws) for i, v in enumerate(d)}
        s = stratified_summary(scores, group_of)
        means.append(s.mean)
        ses.append(s.se)
        covered += s.ci_low <= truth <= s.ci_high
    exact = math.sqrt(sum(p * (1 - p) / n for n, p in zip(sizes, ps, strict=True))) / 3
    assert float(np.std(means)) == pytest.approx(exact, rel=0.06)
    assert float(np.mean(ses)) == pytest.approx(exact, rel=0.06)
    assert 0.93 <= covered / 1000 <= 0.97


def test_perfect_score_interval_is_wilsons_on_all_items() -> None:
    scores, group_of = _items({"a": [1.0] * 30, "b": [1.0] * 5})
    s = stratified_summary(scores, group_of)
    assert (s.mean, s.se) == (1.0, 0.0)
    assert (s.ci_low, s.ci_high) == pytest.approx(wilson_interval(35, 35))


def test_item_var_is_numpys_to_the_last_bit() -> None:
    """The within-item variance of each repeated item, without numpy per item: the same
    float as `np.var(ddof=1)` for every length (numpy's pairwise sum from 8 values up),
    0/1 scores, wide ranges and overflow alike."""
    import random
    import warnings

    import numpy as np

    from shootout.analysis.stratified import item_var

    rng = random.Random(5)
    for _ in range(20_000):
        n = rng.randint(2, 12)
        kind = rng.random()
        r = [float(rng.randint(0, 1)) if kind < 0.4 else rng.uniform(-1e3, 1e3) if kind < 0.7
             else rng.random() * 10.0 ** rng.randint(-300, 300) for _ in range(n)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = float(np.var(r, ddof=1))
            got = item_var(r)
        assert got == want or (np.isnan(got) and np.isnan(want)), (r, got, want)
