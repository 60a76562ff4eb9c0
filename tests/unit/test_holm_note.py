"""The methodology's note on Holm's correction: how much more a pair's first test needs than
the unadjusted minimum detectable difference, for the report's largest family (a fixed "up to
a third more" was short from 14 benchmarks: 35% at 15)."""

from __future__ import annotations

from statistics import NormalDist
from types import SimpleNamespace

import pytest

from shootout.report.methodology import holm_note


def _tests(*families: int, out: int = 0) -> list[SimpleNamespace]:
    tests = [SimpleNamespace(a=f"m{i}", b="z", in_family=True)
             for i, m in enumerate(families) for _ in range(m)]
    return tests + [SimpleNamespace(a="m0", b="z", in_family=False)] * out


@pytest.mark.parametrize(("m", "more"), [(2, 10), (7, 26), (10, 30), (13, 33), (15, 35)])
def test_the_figure_is_the_ratio_of_the_two_levels(m, more):
    assert holm_note(_tests(m), 0.95) == (
        f"after Holm's correction over a pair's {m} benchmarks, its first test needs "
        f"{more}% more")
    z = NormalDist().inv_cdf
    ratio = (z(1 - 0.05 / (2 * m)) + z(0.8)) / (z(0.975) + z(0.8))
    assert round(100 * (ratio - 1)) == more


def test_the_largest_family_is_named_and_tests_outside_any_family_do_not_count():
    assert holm_note(_tests(3, 15, out=20), 0.95) == (
        "after Holm's correction, a pair's first test needs up to 35% more (over 15 "
        "benchmarks)")
    assert holm_note(_tests(1, 1, out=5), 0.95) == ""  # one test a pair: nothing to correct
    assert holm_note([], 0.95) == ""
    assert "7 benchmarks" in holm_note(_tests(7, 7), 0.99)  # one size: no "up to"


def test_the_item_sample_names_each_benchmarks_own_limit(tmp_path):
    """The demo's methodology said "limit 40" where HellaSwag and TruthfulQA ran 20 items
    and MMLU 10, their own limits (a docs audit's)."""
    from dataclasses import replace

    from shootout.report.build import build_report
    from shootout.report.methodology import methodology
    from shootout.report.sample_data import RUN_ID, build_sample_store

    store = build_sample_store(tmp_path / "s.sqlite")
    report = build_report(store, [RUN_ID])
    (run,) = report.data.runs
    spec = {**run.spec, "limit": 40,
            "benchmarks": [{"name": "arc_easy"}, {"name": "mmlu", "limit": 10}]}
    edited = replace(report, data=replace(report.data, runs=(replace(run, spec=spec),)))
    assert methodology(edited)["runs"][0]["limit"] == "40 (mmlu 10)"
    assert methodology(report)["runs"][0]["limit"] == "all"
