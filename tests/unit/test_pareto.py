"""The cost-quality chart's front: a point is on it unless another is at least as cheap and at
least as good, and better on one; equal scores that differ by float rounding are ties."""

from __future__ import annotations

from shootout.report.specs import Point, pareto_front


def test_a_float_rounding_difference_does_not_keep_a_dearer_model_on_the_front() -> None:
    # a helper's run: alpha and gamma both 91.3 points (…334 and …333), gamma far cheaper
    points = [Point("alpha", 1.21, 91.33333333333334), Point("gamma", 0.42, 91.33333333333333),
              Point("delta", 2.5, 96.0)]
    assert pareto_front(points) == ("gamma", "delta")


def test_exact_ties_and_plain_dominance() -> None:
    assert pareto_front([Point("a", 1.0, 50.0), Point("b", 1.0, 50.0)]) == ("a", "b")
    assert pareto_front([Point("a", 1.0, 50.0), Point("b", 2.0, 40.0)]) == ("a",)
    assert pareto_front([Point("a", 1.0, 50.0), Point("b", 2.0, 60.0)]) == ("a", "b")
