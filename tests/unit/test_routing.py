"""Routing policies (`analysis.routing`) on hand-computable data: two models, two domains."""

from __future__ import annotations

import math

import pytest

from shootout.analysis.profiles import Profile
from shootout.analysis.routing import Measured, routing, routings

DOMAINS = {"k1": "knowledge", "m1": "math", "m2": "math", "c1": "coding"}
EVEN = Profile("even", "", {"knowledge": 1, "math": 1})


def _items(right: int, n: int = 10) -> dict[str, list[float]]:
    """n items, the first `right` of them right (one repeat each)."""
    return {f"i{j}": [1.0 if j < right else 0.0] for j in range(n)}


def _data(n: int = 10, **acc: tuple[int, int]
          ) -> dict[tuple[str, str], dict[str, list[float]]]:
    """acc: benchmark -> (items right for A, for B), out of 10 (each item repeated n / 10
    times over, so the scores stay and the intervals narrow with n)."""
    out = {}
    for bench, (a, b) in acc.items():
        out[("A", bench)] = _items(a * n // 10, n)
        out[("B", bench)] = _items(b * n // 10, n)
    return out


def _route(profile: Profile, models: list[str], data: dict, *, domains=DOMAINS, cost=None,
           level=None, **kw):
    return routing(profile, models, Measured(domains, data, level or {}, cost or {}), **kw)


COST = {("A", "k1"): 0.002, ("A", "m1"): 0.002, ("B", "k1"): 0.01, ("B", "m1"): 0.01}


def test_routing_beats_every_single_model() -> None:
    # A: 80% on knowledge, 40% on math; B: 50% and 90%; half the requests each
    r = _route(EVEN, ["A", "B"], _data(100, k1=(8, 5), m1=(4, 9)),
                cost=COST, n_boot=500)
    assert r is not None
    single = {p.name: p for p in r.singles}
    assert single["A"].quality == pytest.approx(0.6)
    assert single["B"].quality == pytest.approx(0.7)
    assert r.best_single == "B"
    best = r.policies[0]
    assert best.name == "best profile score by domain"
    assert best.routes == {"knowledge": "A", "math": "B"}
    assert best.quality == pytest.approx(0.85)
    assert best.diff == pytest.approx(0.15)
    assert r.best is best and best.quality > max(p.quality for p in r.singles)
    # on 100 items a benchmark the 15-point gain is well beyond resampling noise
    assert 0.05 < best.diff_low <= best.diff <= best.diff_high


def test_cost_per_thousand_requests() -> None:
    r = _route(EVEN, ["A", "B"], _data(k1=(8, 5), m1=(4, 9)), cost=COST,
                n_boot=100)
    assert r is not None
    single = {p.name: p for p in r.singles}
    assert single["A"].cost_per_1k == pytest.approx(2.0)  # $0.002 an item
    assert single["B"].cost_per_1k == pytest.approx(10.0)
    assert r.policies[0].cost_per_1k == pytest.approx(0.5 * 2.0 + 0.5 * 10.0)


def test_cheapest_within_points_of_the_best() -> None:
    # on math B leads A by 10 points: within 10 points A (5x cheaper) takes it, within 2 not
    data = _data(k1=(8, 5), m1=(8, 9))
    wide = _route(EVEN, ["A", "B"], data, cost=COST, within=10, n_boot=100)
    narrow = _route(EVEN, ["A", "B"], data, cost=COST, within=2, n_boot=100)
    assert wide is not None and narrow is not None
    cheap = next(p for p in wide.policies if p.name.startswith("cheapest within 10 points"))
    assert cheap.routes == {"knowledge": "A", "math": "A"}
    assert cheap.quality == pytest.approx(0.8) and cheap.cost_per_1k == pytest.approx(2.0)
    strict = next(p for p in narrow.policies if p.name.startswith("cheapest within 2 points"))
    assert strict.routes == {"knowledge": "A", "math": "B"}
    assert strict.cost_per_1k == pytest.approx(6.0)


def test_no_gain_when_one_model_is_best_everywhere() -> None:
    r = _route(EVEN, ["A", "B"], _data(k1=(8, 5), m1=(9, 4)), n_boot=200)
    assert r is not None
    assert r.best_single == "A"
    best = r.best
    assert best.routes == {"knowledge": "A", "math": "A"}
    assert best.quality == pytest.approx(r.single.quality) and best.diff == 0
    assert best.diff_low == best.diff_high == 0  # the same model on every resample
    assert best.cost_per_1k is None  # no prices given
    assert any("cheapest-within" in n for n in r.notes)


def test_benchmarks_share_their_domain_and_route_apart() -> None:
    # math has two benchmarks: each a quarter of the requests; by benchmark, m2 goes to A
    data = _data(k1=(8, 5), m1=(4, 9), m2=(7, 6))
    r = _route(EVEN, ["A", "B"], data, n_boot=100)
    assert r is not None
    assert r.shares == {"k1": 0.5, "m1": 0.25, "m2": 0.25}
    single = {p.name: p for p in r.singles}
    assert single["A"].quality == pytest.approx(0.5 * 0.8 + 0.25 * 0.4 + 0.25 * 0.7)
    by_dom, by_bench = r.policies
    assert by_dom.routes == {"knowledge": "A", "math": "B"}  # B: 75% on math, A 55%
    assert by_dom.quality == pytest.approx(0.5 * 0.8 + 0.25 * 0.9 + 0.25 * 0.6)
    assert by_bench.routes == {"k1": "A", "m1": "B", "m2": "A"}
    assert by_bench.quality == pytest.approx(0.5 * 0.8 + 0.25 * 0.9 + 0.25 * 0.7)


def test_interval_contains_estimate_and_is_seeded() -> None:
    data = _data(k1=(6, 5), m1=(4, 7))
    a = _route(EVEN, ["A", "B"], data, n_boot=300, seed=3)
    b = _route(EVEN, ["A", "B"], data, n_boot=300, seed=3)
    c = _route(EVEN, ["A", "B"], data, n_boot=300, seed=4)
    assert a is not None and b is not None and c is not None
    for p in (*a.singles, *a.policies):
        assert p.ci_low <= p.quality <= p.ci_high
        assert p.ci_high - p.ci_low > 0.05  # 10 items a benchmark: a wide interval
    assert a == b
    assert [p.ci_low for p in a.policies] != [p.ci_low for p in c.policies]


def test_profile_cost_weight_sends_a_tie_to_the_cheaper_model() -> None:
    # equal quality on math; a profile that weighs cost picks the cheaper model there
    prof = Profile("cheap", "", {"knowledge": 1, "math": 1, "cost": 1})
    r = _route(prof, ["B", "A"], _data(k1=(5, 8), m1=(7, 7)),
                cost=COST, n_boot=100)
    assert r is not None
    assert r.policies[0].routes["math"] == "A"


def test_left_out_and_none() -> None:
    data = _data(k1=(8, 5), m1=(4, 9), c1=(5, 5))
    level = {("A", "m1"): False}
    r = _route(EVEN, ["A", "B"], data, level=level, n_boot=100)
    assert r is not None
    assert r.benchmarks == ("k1",)  # c1 is outside the profile; m1 not an item mean
    assert "not a mean of item scores" in r.left_out["m1"]
    assert _route(EVEN, ["A"], data) is None
    assert _route(Profile("c", "", {"coding": 1}), ["A", "B"], _data(k1=(1, 2)),
                  domains={"k1": "knowledge"}) is None
    assert math.isfinite(r.policies[0].quality)


def test_profiles_share_each_benchmarks_draws() -> None:
    # a benchmark's resamples do not depend on the profile (or the benchmarks beside it)
    # nor do its models x items matrix, built once for every profile (`routing._Kept`)
    data = _data(k1=(6, 5), m1=(4, 7), m2=(3, 8), c1=(5, 5))
    data[("B", "c1")] = {f"other{j}": v for j, v in enumerate(data[("B", "c1")].values())}
    math_only = Profile("m", "", {"math": 1})
    code = Profile("c", "", {"coding": 1, "math": 2})
    profiles = [EVEN, math_only, code]
    both = routings(profiles, ["A", "B"], Measured(DOMAINS, data), n_boot=200)
    alone = [_route(p, ["A", "B"], data, n_boot=200) for p in profiles]
    assert both == alone
    assert both[2].left_out == {"c1": "the models share no item"}


def test_a_profile_says_why_routing_has_no_latency() -> None:
    fast = Profile("fast", "", {"knowledge": 1, "math": 1, "latency": 1})
    data = _data(k1=(8, 5), m1=(4, 9))
    r = routing(fast, ["A", "B"], Measured(DOMAINS, data, latency_note="not alike"), n_boot=50)
    assert r is not None and "latency weight dropped: not alike" in r.notes
    r = routing(fast, ["A", "B"], Measured(DOMAINS, data), n_boot=50)
    assert r is not None and "latency weight dropped: no latency for every model" in r.notes
    r = routing(fast, ["A", "B"], Measured(DOMAINS, data, latency={"A": 1.0, "B": 2.0},
                                           latency_note="unused"), n_boot=50)
    assert r is not None and not any("latency" in n for n in r.notes)


def test_intervals_over_a_handful_of_items_are_flagged() -> None:
    """4 items a benchmark: the single model's bootstrap interval left out 0 where the
    head-to-head's McNemar p was 0.25 (an audit's); the section says to read the tests."""
    few = _route(EVEN, ["A", "B"], _data(k1=(8, 5), m1=(4, 9)), n_boot=100)
    many = _route(EVEN, ["A", "B"], _data(100, k1=(8, 5), m1=(4, 9)), n_boot=100)
    assert few is not None and many is not None
    assert any("as few as 10 items a benchmark" in n for n in few.notes), few.notes
    assert not any("as few as" in n for n in many.notes)


def test_a_cost_every_model_shares_is_dropped_from_routing_as_from_ranking() -> None:
    """All models at $0: the ranking dropped the cost weight, the routing table still
    counted it, and gave another profile score for the same model (a review's)."""
    from shootout.analysis.profiles import Profile
    from shootout.analysis.routing import _Bench, _costs

    prof = Profile("cheap", "", {"knowledge": 1, "cost": 2})
    import numpy as np

    benches = [_Bench("mmlu", "knowledge", 1.0, np.zeros((2, 1))),
               _Bench("arc", "reasoning", 1.0, np.zeros((2, 1)))]
    notes: list[str] = []
    free = {(m, b.name): 0.0 for m in ("A", "B") for b in benches}
    assert _costs(benches, ["A", "B"], free, prof, notes) is None
    assert notes and "every model costs the same" in notes[0]
    priced = {**free, ("B", "mmlu"): 0.01}
    assert _costs(benches, ["A", "B"], priced, prof, []) is not None


def test_a_cost_every_model_shares_is_not_called_unknown() -> None:
    """Every model's cost known and the same: the routing notes said "No cost for every model
    on every benchmark" beside an efficiency table of $0.31 each (an audit's)."""
    from shootout.analysis.profiles import Profile

    data = {("A", "mmlu"): {str(i): [float(i % 2)] for i in range(40)},
            ("B", "mmlu"): {str(i): [float(i % 3 == 0)] for i in range(40)}}
    same = {("A", "mmlu"): 0.31, ("B", "mmlu"): 0.31}
    r = routing(Profile("q", "", {"knowledge": 1}), ["A", "B"],
                Measured({"mmlu": "knowledge"}, data, {}, same), n_boot=50)
    assert r is not None
    assert not any("no cost for every model" in n for n in r.notes), r.notes
    assert any("cheapest-within policy is not computed: every model costs the same" in n
               for n in r.notes), r.notes
    unknown = routing(Profile("q", "", {"knowledge": 1}), ["A", "B"],
                      Measured({"mmlu": "knowledge"}, data, {}, {("A", "mmlu"): 0.31}),
                      n_boot=50)
    assert unknown is not None and any("no cost for every model" in n for n in unknown.notes)


def test_resampled_means_are_the_means_of_the_drawn_items() -> None:
    """Each resample's mean, taken as the drawn items' counts times the values (one product
    for every model), is the mean of the values drawn, as indexing them gives it; a matrix
    with a value that is not finite is indexed as before (a count of 0 times NaN is NaN)."""
    import zlib

    import numpy as np

    from shootout.analysis import routing as r

    rng = np.random.default_rng(5)
    x = np.round(rng.random((4, 37)) * 3) / 3  # item means of 3 repeats
    n_boot = 2 * r._CHUNK + 7  # a last chunk shorter than the others

    def indexed(values: np.ndarray) -> np.ndarray:
        draws = np.random.default_rng([0, zlib.crc32(b"b")])
        out = np.empty((values.shape[0], n_boot))
        for start in range(0, n_boot, r._CHUNK):
            size = min(r._CHUNK, n_boot - start)
            idx = draws.integers(0, values.shape[1], (size, values.shape[1]))
            out[:, start:start + size] = values[:, idx].mean(axis=2)
        return out

    got = r._resample([r._Bench("b", "math", 1.0, x)], n_boot, 0, {})
    assert got.shape == (1, 4, n_boot)
    assert np.allclose(got[0], indexed(x), rtol=0, atol=1e-12)
    assert np.unique(got[0]).size > 50  # the draws differ from resample to resample
    odd = x.copy()
    odd[2, 5] = np.nan
    got = r._resample([r._Bench("b", "math", 1.0, odd)], n_boot, 0, {})
    want = indexed(odd)
    assert np.array_equal(np.isnan(got[0]), np.isnan(want))
    assert np.allclose(got[0][~np.isnan(want)], want[~np.isnan(want)], rtol=0, atol=1e-12)
    assert not np.isnan(got[0][0]).any()  # only the model with the NaN has NaN means


def test_the_gain_sentence_and_the_first_rows_heading_say_what_they_are() -> None:
    """A routing gain whose interval is above 0 was "beyond resampling noise" though its
    routes were chosen on the same items; and the first row was "Best single model" beside a
    ranking that put another model first (a report review's)."""
    from shootout.report.routing import gain_sentence
    from shootout.report.view import _routing

    r = _route(EVEN, ["A", "B"], _data(100, k1=(8, 5), m1=(4, 9)), cost=COST, n_boot=300)
    assert r is not None and r.best.diff_low > 0
    said = gain_sentence(r)
    assert "beyond resampling noise" not in said and "an in-sample gain" in said, said
    same = _routing(r, 0, recommended=True, top=r.single.name)
    assert same["routing"].rows[0][0].text == "Best single model"
    other = _routing(r, 0, recommended=True, top="A")
    assert other["routing"].rows[0][0].text == "Top single model (shared items)"
    assert "the ranking above puts A first" in other["routing_note"]


def test_a_benchmark_without_item_scores_is_said_to_be_left_out() -> None:
    """A corpus metric (translation's chrF) has no item scores: the benchmark was left out of
    the mix without a word, and the best single model's routed score read as its score."""
    data = _data(k1=(8, 5), m1=(4, 9))  # m2 (math, a corpus metric) has no items
    level = {("A", "m2"): False, ("B", "m2"): False}
    r = _route(EVEN, ["A", "B"], data, level=level, n_boot=100)
    assert r is not None and "m2" not in r.benchmarks
    assert "not a mean of item scores" in r.left_out["m2"]
