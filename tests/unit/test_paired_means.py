"""analysis/paired.py: a pair's t-test from each model's item means computed once equals
`paired_difference` of the two mappings, field for field and bit for bit."""

from __future__ import annotations

import dataclasses
import math
from itertools import combinations
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shootout.analysis.compare import compare_models, compare_pair
from shootout.analysis.paired import item_means, paired
from shootout.analysis.paired_tests import paired_difference
from shootout.analysis.stats import summarize
from shootout.scores import Score


def _same(x: Any, y: Any) -> bool:
    """Equal field for field, NaN equal to NaN."""
    for f in dataclasses.fields(x):
        a, b = getattr(x, f.name), getattr(y, f.name)
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            continue
        if a != b or type(a) is not type(b):
            return False
    return True


def _both(a: dict[str, Any], b: dict[str, Any]) -> None:
    ma, mb = item_means(a), item_means(b)
    assert ma is not None and mb is not None
    got = paired(ma, mb, confidence=0.9)
    want = paired_difference(a, b, confidence=0.9)
    assert _same(got, want), (got, want)


def test_the_same_items_in_the_same_order() -> None:
    rng = np.random.default_rng(1)
    a = {f"q{i}": [float(rng.random() < 0.6) for _ in range(3)] for i in range(300)}
    b = {f"q{i}": [float(rng.random() < 0.5) for _ in range(3)] for i in range(300)}
    _both(a, b)


def test_other_orders_and_partial_overlap_take_the_first_models_order() -> None:
    rng = np.random.default_rng(2)
    a = {f"q{i}": [float(rng.random())] * int(1 + i % 3) for i in range(200)}
    keys = [f"q{i}" for i in range(50, 260)]
    rng.shuffle(keys)
    b = {k: [float(rng.random()), float(rng.random())] for k in keys}
    _both(a, b)
    _both(b, a)


def test_single_scores_keep_mcnemar_and_a_repeat_anywhere_drops_it() -> None:
    a = {f"q{i}": [float(v)] for i, v in enumerate([1, 1, 1, 0, 1, 0, 1, 1])}
    b = {f"q{i}": float(v) for i, v in enumerate([0, 1, 0, 0, 1, 0, 0, 1])}  # bare floats
    _both(a, b)
    assert paired(item_means(a), item_means(b)).p_mcnemar is not None  # type: ignore[arg-type]
    b["q7"] = [1.0, 0.0]  # a shared item scored twice
    _both(a, b)
    assert paired(item_means(a), item_means(b)).p_mcnemar is None  # type: ignore[arg-type]
    del b["q7"]
    a["q7"] = [1.0, 1.0]  # scored twice, but by one model only: not a shared item
    _both(a, b)
    assert paired(item_means(a), item_means(b)).p_mcnemar is not None  # type: ignore[arg-type]


def test_a_score_that_is_not_finite_gives_no_means() -> None:
    assert item_means({"q1": [1.0], "q2": [float("nan")]}) is None
    assert item_means({"q1": [1.0], "q2": []}) is None


scores = st.lists(st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.1, 1e-9]), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.integers(0, 30), scores, max_size=25),
       st.dictionaries(st.integers(0, 30), scores, max_size=25))
def test_any_two_models(a: dict[int, list[float]], b: dict[int, list[float]]) -> None:
    ma, mb = item_means(a), item_means(b)
    assert ma is not None and mb is not None
    assert ma.shared(mb) == len(a.keys() & b.keys())
    if not (a.keys() & b.keys()):
        return
    assert _same(paired(ma, mb), paired_difference(a, b))


def _cell(model: str, bench: str, items: dict[str, list[float]],
          item_level: bool = True) -> Score:
    s = summarize(list(items.values()))
    return Score("acc", s.mean, s.se, s.n, s.ci_low, s.ci_high, {}, model=model,
                 benchmark=bench, item_level=item_level)


def test_compare_models_equals_each_pair_compared_on_its_own() -> None:
    """Five models on three benchmarks, one with an item one model lacks, one model's items
    in another order, and one cell whose scores include a NaN on an item no one else has
    (its pairs are compared as before, from the mappings)."""
    rng = np.random.default_rng(3)
    models = [f"m{i}" for i in range(5)]
    items: dict[tuple[str, str], dict[str, list[float]]] = {}
    for j, m in enumerate(models):
        for bench in ("x", "y", "z"):
            keys = [f"q{i}" for i in range(120)]
            if (m, bench) == ("m1", "y"):
                keys = keys[:-1]
            if m == "m2":
                keys = keys[::-1]
            items[(m, bench)] = {k: [float(rng.random() < 0.4 + 0.05 * j) for _ in range(2)]
                                 for k in keys}
    items[("m3", "z")]["only-m3"] = [float("nan")]
    cells = {k: _cell(k[0], k[1], {i: v for i, v in d.items() if i != "only-m3"})
             for k, d in items.items()}
    got = compare_models(models, ["x", "y", "z"], cells, items)
    want = []
    for a, b in combinations(models, 2):
        for bench in ("x", "y", "z"):
            want.append(compare_pair(cells[(a, bench)], cells[(b, bench)], items[(a, bench)],
                                     items[(b, bench)]))
    key = {(t.a, t.b, t.benchmark): t for t in got}
    assert len(got) == len(want)
    for w in want:
        g = key[(w.a, w.b, w.benchmark)]
        fields = ("method", "n", "score_a", "score_b", "diff", "se", "ci_low", "ci_high",
                  "p_value", "mdd", "p_mcnemar", "corr")
        for f in fields:
            x, y = getattr(g, f), getattr(w, f)
            assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), \
                (w.a, w.b, w.benchmark, f, x, y)


def test_paired_checks_the_confidence() -> None:
    m = item_means({"q1": [1.0], "q2": [0.0]})
    assert m is not None
    with pytest.raises(ValueError):
        paired(m, m, confidence=1.5)


def test_differences_the_same_to_rounding_are_the_sign_tests_not_a_t_test() -> None:
    # item means of thirds and tenths leave sd(d) at ~1e-17: the t-test made 3 items
    # significant at p ~ 1e-32 (a statistics audit); every item differs the same way, so p is
    # the exact sign test's, 2 * 0.5**n, as where the floats cancel exactly
    thirds = paired_difference({i: [1, 0, 0] for i in range(3)}, {i: [1, 1, 1] for i in range(3)})
    assert thirds.p_value == 0.25 and not thirds.significant and thirds.se == 0.0
    tenths = paired_difference({i: [0.1] for i in range(7)}, {i: [0.0] for i in range(7)})
    assert tenths.p_value == 2 * 0.5**7 and tenths.mean_diff == pytest.approx(0.1)
    none = paired_difference({i: [0.1, 0.2] for i in range(4)}, {i: [0.3, 0.0] for i in range(4)})
    assert none.p_value == 1.0 and none.se == 0.0
