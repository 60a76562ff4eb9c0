"""Judge verdicts and the statistics of judged comparisons: parsing, the both-orders rule,
Bradley–Terry against a hand-computed example, bootstrap interval coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shootout.analysis.judged import (
    Comparison,
    bootstrap_ratings,
    bradley_terry,
    combine_orders,
    position_bias,
    win_rates,
)
from shootout.scoring.judge import parse_rating, parse_verdict


@pytest.mark.parametrize(("text", "rating"), [
    ("The answer is fine.\n\nRating: [[8]]", 8.0),
    ("Rating: [[7.5]]", 7.5),
    ("Rating: [6]", 6.0),  # FastChat's fallback pattern
    ("[[9]] ... and again [[9]]", 9.0),
    ("no verdict at all", None),
    ("Rating: [[0]]", None),  # off the 1-10 scale
    ("Rating: [[11]]", None),
    ('format: "[[rating]]", for example: "Rating: [[5]]". Rating: [[8]]', None),  # ambiguous
])
def test_ratings_are_read_as_fastchat_reads_them_and_unreadable_ones_stay_unread(text, rating):
    assert parse_rating(text) == rating


@pytest.mark.parametrize(("text", "verdict"), [
    ("Assistant A is better. [[A]]", "A"),
    ("[[B]]", "B"),
    ("Both are equal: [[C]]", "tie"),
    ("I prefer the first one.", None),
    # echoing the instructions names every tag: FastChat would read "A" (position bias)
    ('"[[A]]" if assistant A is better, "[[B]]" if assistant B is better', None),
])
def test_pairwise_verdicts(text, verdict):
    assert parse_verdict(text) == verdict


def test_both_orders_agreeing_decide_and_disagreeing_tie():
    # first: model 1 shown as A; swapped: model 1 shown as B
    assert combine_orders("A", "B") == 1.0  # model 1 wins in both positions
    assert combine_orders("B", "A") == 0.0
    assert combine_orders("tie", "tie") == 0.5
    assert combine_orders("A", "A") == 0.5  # the judge always picked position A
    assert combine_orders("A", "tie") == 0.5
    assert combine_orders(None, "B") is None  # unreadable: undecided, never a tie
    assert combine_orders("A", None) is None


def three_models() -> list[Comparison]:
    """Strengths 4 : 2 : 1. A-B: A scores 2 of 3 (a win and two ties); B-C: B wins 2 of 3;
    A-C: A wins 4 of 5. Each pair's observed share equals p_i / (p_i + p_j), so the MLE
    equations hold: θ = ln(4, 2, 1) centred = (ln 2, 0, −ln 2), and on Arena's scale
    (400 / ln 10 per unit) 1000 ± 400·log10(2) = 1000 ± 120.412."""
    c = []
    c += [Comparison(f"ab{i}", "A", "B", s) for i, s in enumerate([1.0, 0.5, 0.5])]
    c += [Comparison(f"bc{i}", "B", "C", s) for i, s in enumerate([1.0, 1.0, 0.0])]
    c += [Comparison(f"ac{i}", "A", "C", s) for i, s in enumerate([1.0] * 4 + [0.0])]
    c.append(Comparison("x", "A", "B", None))  # undecided: ignored by the fit
    return c


def test_bradley_terry_matches_the_hand_computed_example():
    r = bradley_terry(three_models(), ["A", "B", "C"], prior_sd=None)
    d = 400 * math.log10(2)
    assert r["A"] == pytest.approx(1000 + d, abs=1e-6)
    assert r["B"] == pytest.approx(1000, abs=1e-6)
    assert r["C"] == pytest.approx(1000 - d, abs=1e-6)
    # the default weak prior barely moves it, and keeps a clean sweep finite
    prior = bradley_terry(three_models(), ["A", "B", "C"])
    assert all(abs(prior[m] - r[m]) < 1.0 for m in r)
    sweep = bradley_terry([Comparison(i, "A", "B", 1.0) for i in range(8)], ["A", "B"])
    assert 1400 < sweep["A"] < 2000  # 8-0: finite, far ahead


def test_two_models_reduce_to_the_logit_of_the_win_rate():
    comps = [Comparison(i, "A", "B", s) for i, s in enumerate([1, 1, 1, 0.5, 0, 1, 0, 1])]
    r = bradley_terry(comps, ["A", "B"], prior_sd=None)
    p = 5.5 / 8
    assert r["A"] - r["B"] == pytest.approx(400 * math.log10(p / (1 - p)), abs=1e-6)


def test_win_rate_matrix_counts_and_mirrors():
    rows = {(w.model, w.opponent): w for w in win_rates(three_models(), n_boot=200)}
    ab, ba = rows[("A", "B")], rows[("B", "A")]
    assert (ab.wins, ab.ties, ab.losses, ab.undecided) == (1, 2, 0, 1)
    assert (ba.wins, ba.ties, ba.losses, ba.undecided) == (0, 2, 1, 1)
    assert ab.win_rate == pytest.approx(2 / 3) and ba.win_rate == pytest.approx(1 / 3)
    assert ab.ci_low <= ab.win_rate <= ab.ci_high


def test_position_bias_rate():
    pairs = [("A", "A"), ("A", "A"), ("A", "B"), ("B", "B"), ("tie", "tie"), (None, "A")]
    b = position_bias(pairs)
    assert b is not None and b.n == 5  # the pair with an unreadable verdict is left out
    assert b.inconsistent == pytest.approx(3 / 5)
    assert b.favours_first == pytest.approx(2 / 5) and b.favours_second == pytest.approx(1 / 5)
    assert b.first_share == pytest.approx(6 / 11)
    assert position_bias([(None, None)]) is None


def test_bootstrap_intervals_cover_the_true_values_on_synthetic_data():
    """Three models of known strength; 60 questions, each one comparison of every pair. The
    95% percentile intervals must cover the true rating and win rate in about 95% of 80
    simulated benchmarks (binomial sd ~2.4 points: 85% is far below chance)."""
    rng = np.random.default_rng(7)
    theta = {"A": 0.8, "B": 0.0, "C": -0.8}
    true_a = 1000 + 400 / math.log(10) * theta["A"]
    p_ab = 1 / (1 + math.exp(theta["B"] - theta["A"]))
    covered_rating = covered_rate = 0
    widths = []
    sims = 80
    for sim in range(sims):
        comps = []
        for q in range(60):
            for a, b in (("A", "B"), ("B", "C"), ("A", "C")):
                p = 1 / (1 + math.exp(theta[b] - theta[a]))
                comps.append(Comparison(q, a, b, float(rng.random() < p)))
        rating = next(r for r in bootstrap_ratings(comps, ["A", "B", "C"], n_boot=200, seed=sim)
                      if r.model == "A")
        covered_rating += rating.ci_low <= true_a <= rating.ci_high
        ab = next(w for w in win_rates(comps, n_boot=200, seed=sim)
                  if (w.model, w.opponent) == ("A", "B"))
        covered_rate += ab.ci_low <= p_ab <= ab.ci_high
        widths.append(ab.ci_high - ab.ci_low)
    assert 0.85 <= covered_rating / sims <= 1.0
    assert 0.85 <= covered_rate / sims <= 1.0
    # and not by being wide: about 2 x 1.96 x sqrt(p(1 - p) / 60) = 0.23
    assert 0.18 <= float(np.mean(widths)) <= 0.28
