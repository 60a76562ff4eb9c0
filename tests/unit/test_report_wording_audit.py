"""A statistics audit's findings on the report (2026-12-07): the paired bootstrap with every
resample alike (SE 0) keeps a detectable difference and an interval of width, as the paired
t's path does; failed items that repeats keep in the score are not called left out; a pair
whose leader had more items fail on as many items is not said to have fewer items; the pair
sentence's "about X points" is the median of its detectable differences."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shootout.analysis.compare import PAIRED, PAIRED_BOOTSTRAP, PairTest, compare_pair
from shootout.analysis.resampling import subject_average_statistic
from shootout.analysis.stats import wilson_interval
from shootout.analysis.takeaways import DomainScore, positions, strengths
from shootout.scores import Score


@dataclass
class _Row:
    item_id: str
    group: str
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    repeat: int = 0


def _subject_cell(model: str, value: float) -> tuple[Score, Any]:
    rows = [_Row(f"{s}-{i}", s, {"acc": value}) for s in "abcd" for i in range(5)]
    lo, hi = wilson_interval(int(value * 20), 20)
    score = Score("acc", value, 0.0, 20, lo, hi, {"average": "subject"}, model=model,
                  benchmark="cmmlu", primary=True, item_level=False)
    return score, subject_average_statistic(rows, "acc")


def test_a_bootstrap_with_no_spread_keeps_the_rows_detectable_difference():
    """One model right on every item, the other on none: every resample gives the same
    difference (SE 0). The MDD was 0 and the interval a point, [100, 100]."""
    (a, sa), (b, sb) = _subject_cell("A", 1.0), _subject_cell("B", 0.0)
    t = compare_pair(a, b, a_stat=sa, b_stat=sb)
    assert t.method == PAIRED_BOOTSTRAP and t.diff == 1.0 and t.se == 0.0
    assert t.mdd > 0.1  # the rows' own Wilson-implied SEs
    assert t.ci_low < 0.9 and t.ci_high == 1.0


def test_a_bootstrap_with_spread_is_as_before():
    (a, sa) = _subject_cell("A", 1.0)
    rows = [_Row(f"{s}-{i}", s, {"acc": float(i % 2)}) for s in "abcd" for i in range(5)]
    b = Score("acc", 0.4, 0.1, 20, 0.2, 0.6, {"average": "subject"}, model="B",
              benchmark="cmmlu", item_level=False)
    t = compare_pair(a, b, a_stat=sa, b_stat=subject_average_statistic(rows, "acc"))
    assert t.se > 0 and math.isclose(t.mdd, 2.8015856 * t.se, rel_tol=1e-4)


def test_items_left_out_counts_only_items_with_no_answered_repeat():
    whole = Score("acc", 0.9, 0.1, 6, n_attempted=6, n_failed=3, model="m", benchmark="b")
    assert whole.items_left_out == 0  # every failed item kept on its answered repeats
    some = Score("acc", 0.9, 0.1, 4, n_attempted=6, n_failed=3, model="m", benchmark="b")
    assert some.items_left_out == 2
    assert Score("acc", 0.9, 0.1, 4, n_attempted=6).items_left_out == 0




def test_strengths_say_which_failed_items_are_left_out_and_which_are_in():
    grouped = {"A": {"reasoning/math": DomainScore("A", "reasoning/math", 0.889, 0.05,
                                                   ("gsm8k",), 30),
                     "knowledge": DomainScore("A", "knowledge", 0.5, 0.05, ("mmlu",), 30)}}
    (t,) = strengths(["A"], grouped, partly={("A", "gsm8k"): 3})
    assert "left out" not in t.text
    assert "3 items with a failed repeat scored on their answered ones" in t.text
    (t,) = strengths(["A"], grouped, failed={("A", "gsm8k"): 2}, partly={("A", "gsm8k"): 1})
    assert "2 failed items left out" in t.text and "1 item with a failed repeat" in t.text


def _pair(bench: str, mdd: float, **kw: Any) -> PairTest:
    base: dict[str, Any] = {"a": "A", "b": "B", "benchmark": bench, "metric": "acc",
                            "method": PAIRED, "n": 60, "score_a": 0.5, "score_b": 0.5,
                            "diff": 0.0, "se": 0.05, "ci_low": -0.1, "ci_high": 0.1,
                            "p_value": 0.9, "p_holm": 0.9, "mdd": mdd}
    return PairTest(**{**base, **kw})


def test_the_pair_sentence_gives_the_median_detectable_difference():
    (t,) = positions(["A", "B"], [_pair("mmlu", 0.145), _pair("gsm8k", 0.204)])
    assert "below about 17.4 points" in t.text  # (14.5 + 20.4) / 2; it said 20.4


def test_the_pairs_table_says_more_failed_not_fewer_items_on_as_many():
    from shootout.report.view import _fewer

    lead = dict(diff=0.2, score_a=0.7, significant=True, p_holm=0.01, n_a=60, n_b=60,
                failed_a=5, failed_b=0)
    t = _pair("mmlu", 0.1, **lead)
    assert t.ahead_on_fewer_items and _fewer(t) == "had more of its items fail"
    t = _pair("mmlu", 0.1, **{**lead, "n_a": 50})
    assert _fewer(t) == "has fewer items"


def test_a_subject_averages_failed_items_in_the_score_are_not_left_out():
    """CMMLU's row is not item-level, but its n counts items too: 3 failed items answered on
    other repeats were "left out" in the strengths while the table said they were in."""
    row = Score("acc", 0.8, 0.05, 20, extra={"average": "subject"}, n_attempted=20,
                n_failed=3, item_level=False, model="m", benchmark="cmmlu")
    assert row.items_left_out == 0


def test_a_benchmark_left_out_of_the_rankings_is_named() -> None:
    """A model that failed every GSM8K request dropped math for every model (the rankings
    compare the benchmarks every model has), and won a cost profile on its other domains
    with no word of it (an audit's): a ranked profile says which benchmark it is without,
    and why."""
    from types import SimpleNamespace

    from shootout.analysis.profiles import Profile, rank_profile
    from shootout.report.build import _without

    fine = {m: {"knowledge": DomainScore(m, "knowledge", k, 0.05, ("mmlu",), 40)}
            for m, k in (("a", 0.7), ("nomath", 0.6))}
    rk = rank_profile(Profile("cheap", "", {"knowledge": 1, "math": 1, "cost": 6}),
                      ["a", "nomath"], fine, cost={"a": 5.0, "nomath": 0.1})
    assert rk.rows
    bench = [SimpleNamespace(name="mmlu", comparable=True, domain="knowledge"),
             SimpleNamespace(name="gsm8k", comparable=True, domain="math")]
    cells = {("a", "mmlu"): 1, ("nomath", "mmlu"): 1, ("a", "gsm8k"): 1}
    data = SimpleNamespace(benchmarks=bench, cells=cells,
                           unanswered={("nomath", "gsm8k"): (40, "HTTP 400")})
    got = _without(rk, data, ["a", "nomath"])  # type: ignore[arg-type]
    assert got.notes[-1] == ("ranked without gsm8k (nomath has no score there: every request "
                             "failed)")
    data.cells[("nomath", "gsm8k")] = 1
    assert _without(rk, data, ["a", "nomath"]) == rk  # type: ignore[arg-type]
