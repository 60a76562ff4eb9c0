"""Statistics of judged answers: pairwise outcomes, Bradley–Terry ratings with bootstrap
intervals over questions, win-rate matrices, the judge's position bias.

A pairwise judgment of one question (and turn) is asked in both orders (MT-Bench, Zheng et al.
2023: "we call a judge consistent only if it gives the same verdict after swapping"): the
verdicts combine as FastChat's `show_result.py` combines them, a winner where both orders
agree and a tie where they disagree. A verdict the judge did not give in a readable form makes
the whole comparison undecided; it is counted as such and never as a tie or a win.

Bradley–Terry: P(i beats j) = 1 / (1 + exp(θ_j − θ_i)), fitted by maximum likelihood with a tie
as half a win for each side (Chatbot Arena's `compute_mle_elo` counts every battle twice and a
tie once each way, which is the same likelihood), on Arena's scale: rating = 1000 +
400·θ/ln 10, centred on 1000. A weak Gaussian prior on θ (sd 10, i.e. ±1,700 rating points)
keeps the fit finite when a model wins or loses every comparison (with two models and eight
questions that is common); elsewhere it moves a rating by well under a point. Intervals are
percentile bootstrap intervals over questions: every comparison of a question (both turns,
every pair) is drawn together, as Arena resamples battles.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Verdict = Literal["A", "B", "tie"]
ELO_SCALE = 400 / math.log(10)  # rating points per unit of θ
ELO_CENTRE = 1000.0
PRIOR_SD = 10.0


@dataclass(frozen=True)
class Comparison:
    """One pairwise comparison, decided from both orders: `score` is model_a's result
    (1 win, 0.5 tie, 0 loss), None when a verdict could not be read."""

    question: Hashable
    model_a: str
    model_b: str
    score: float | None


def combine_orders(first: Verdict | None, swapped: Verdict | None) -> float | None:
    """Model 1's result from the verdict with model 1 shown as A (`first`) and the verdict with
    the order swapped (model 1 shown as B): agreement gives the winner, disagreement a tie, an
    unreadable verdict None."""
    if first is None or swapped is None:
        return None
    one, two = _FIRST[first], _SWAPPED[swapped]
    return one if one == two else 0.5


# model 1's result read from a verdict with model 1 shown first, and shown second
_FIRST = {"A": 1.0, "B": 0.0, "tie": 0.5}
_SWAPPED = {"A": 0.0, "B": 1.0, "tie": 0.5}


def bradley_terry(comparisons: Sequence[Comparison], models: Sequence[str],
                  prior_sd: float | None = PRIOR_SD) -> dict[str, float]:
    """Bradley–Terry ratings (Arena scale, mean 1000) from decided comparisons, by Newton's
    method on the penalised log-likelihood. `prior_sd=None`: the plain MLE (it must exist)."""
    index = {m: i for i, m in enumerate(models)}
    theta = _newton(_wins(comparisons, index), _ridge(prior_sd))
    return {m: ELO_CENTRE + ELO_SCALE * float(theta[index[m]]) for m in models}


def _ridge(prior_sd: float | None) -> float:
    return 0.0 if prior_sd is None else 1.0 / prior_sd**2


def _wins(comparisons: Sequence[Comparison], index: Mapping[str, int]) -> np.ndarray:
    """wins[i, j]: i's score against j, a tie counting half."""
    wins = np.zeros((len(index), len(index)))
    for c in comparisons:
        if c.score is None:
            continue
        a, b = index[c.model_a], index[c.model_b]
        wins[a, b] += c.score
        wins[b, a] += 1.0 - c.score
    return wins


def _newton(wins: np.ndarray, ridge: float, iterations: int = 100) -> np.ndarray:
    """θ (centred) maximising the penalised likelihood, for one win matrix (n, n) or a stack
    of them (B, n, n) at once."""
    stack = wins if wins.ndim == 3 else wins[None]
    games = stack + stack.transpose(0, 2, 1)
    n = stack.shape[-1]
    theta = np.zeros(stack.shape[:2])
    eye = np.eye(n)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        grad = (stack - games * p).sum(axis=2) - ridge * theta
        w = games * p * (1 - p)
        hess = eye * (w.sum(axis=2) + ridge)[:, :, None] - w
        hess += 1.0 / n  # fixes the free shift (Σθ = 0) without changing the optimum
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        theta = theta + step
        theta -= theta.mean(axis=1, keepdims=True)
        if np.abs(step).max() < 1e-10:
            break
    return theta if wins.ndim == 3 else theta[0]


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float
    ci_low: float
    ci_high: float


def bootstrap_ratings(comparisons: Sequence[Comparison], models: Sequence[str], *,
                      n_boot: int = 1000, seed: int = 0, confidence: float = 0.95,
                      prior_sd: float | None = PRIOR_SD) -> list[Rating]:
    """Each model's rating with a percentile bootstrap interval over questions (each
    replicate's win matrix is the sum of its drawn questions' matrices)."""
    index = {m: i for i, m in enumerate(models)}
    by_q = _by_question(comparisons)
    per_q = np.stack([_wins(cs, index) for cs in by_q.values()])  # (questions, n, n)
    counts = _draw_counts(len(by_q), n_boot, seed)
    boot_wins = np.tensordot(counts, per_q, axes=1)  # (n_boot, n, n)
    ridge = _ridge(prior_sd)
    boot = ELO_CENTRE + ELO_SCALE * _newton(boot_wins, ridge)
    point = bradley_terry(comparisons, models, prior_sd)
    lo, hi = _percentiles(boot, confidence)
    return [Rating(m, point[m], float(lo[i]), float(hi[i])) for i, m in enumerate(models)]


def _draw_counts(n_questions: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each question is drawn in each bootstrap replicate: (n_boot, questions)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_questions, size=(n_boot, n_questions))
    flat = (draws + n_questions * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_questions).reshape(n_boot, n_questions) * 1.0


@dataclass(frozen=True)
class WinRate:
    """Model `model`'s results against `opponent`: win rate with ties as half, interval by the
    bootstrap over questions; `undecided` comparisons had an unreadable verdict."""

    model: str
    opponent: str
    wins: int
    ties: int
    losses: int
    undecided: int
    win_rate: float
    ci_low: float
    ci_high: float


def win_rates(comparisons: Sequence[Comparison], *, n_boot: int = 1000, seed: int = 0,
              confidence: float = 0.95) -> list[WinRate]:
    """The win-rate matrix: one row per ordered pair of models that met."""
    pairs: dict[tuple[str, str], list[Comparison]] = defaultdict(list)
    for c in comparisons:
        pairs[(c.model_a, c.model_b)].append(c)
        flipped = None if c.score is None else 1.0 - c.score
        pairs[(c.model_b, c.model_a)].append(Comparison(c.question, c.model_b, c.model_a, flipped))
    out = []
    for (m, o), cs in sorted(pairs.items()):
        decided = [c.score for c in cs if c.score is not None]
        rate = float(np.mean(decided)) if decided else math.nan
        lo, hi = _rate_interval(cs, n_boot, seed, confidence)
        out.append(WinRate(m, o, sum(s == 1.0 for s in decided), sum(s == 0.5 for s in decided),
                           sum(s == 0.0 for s in decided), len(cs) - len(decided), rate, lo, hi))
    return out


def _rate_interval(cs: Sequence[Comparison], n_boot: int, seed: int, confidence: float
                   ) -> tuple[float, float]:
    by_q = _by_question([c for c in cs if c.score is not None])
    if not by_q:
        return math.nan, math.nan
    totals = np.array([sum(c.score or 0.0 for c in v) for v in by_q.values()])
    sizes = np.array([len(v) for v in by_q.values()], dtype=float)
    counts = _draw_counts(len(by_q), n_boot, seed)
    lo, hi = _percentiles((counts @ totals / (counts @ sizes))[:, None], confidence)
    return float(lo[0]), float(hi[0])


def _by_question(comparisons: Sequence[Comparison]) -> dict[Hashable, list[Comparison]]:
    by_q: dict[Hashable, list[Comparison]] = defaultdict(list)
    for c in comparisons:
        by_q[c.question].append(c)
    return dict(sorted(by_q.items(), key=lambda kv: str(kv[0])))


def _percentiles(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    tail = 100 * (1 - confidence) / 2
    return np.percentile(values, tail, axis=0), np.percentile(values, 100 - tail, axis=0)


@dataclass(frozen=True)
class PositionBias:
    """How the judge's verdicts move when the answers swap places, over comparisons whose two
    verdicts were both readable: `inconsistent` the share that changed (the position-bias rate),
    `favours_first` / `favours_second` the shares where the judge picked the same position both
    times (A twice / B twice), `first_share` the share of all readable verdicts naming A."""

    n: int
    inconsistent: float
    favours_first: float
    favours_second: float
    first_share: float


def position_bias(pairs: Sequence[tuple[Verdict | None, Verdict | None]]) -> PositionBias | None:
    """`pairs`: (verdict in one order, verdict in the swapped order) per comparison."""
    both = [(a, b) for a, b in pairs if a is not None and b is not None]
    verdicts = [v for a, b in pairs for v in (a, b) if v is not None]
    if not both:
        return None
    n = len(both)
    inconsistent = sum(_FIRST[a] != _SWAPPED[b] for a, b in both)
    return PositionBias(
        n=n,
        inconsistent=inconsistent / n,
        favours_first=sum(a == b == "A" for a, b in both) / n,
        favours_second=sum(a == b == "B" for a, b in both) / n,
        first_share=sum(v == "A" for v in verdicts) / len(verdicts),
    )


def cohen_kappa(pairs: Sequence[tuple[str, str]], classes: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels (`pairs` of (rater 1, rater 2)) over `classes`:
    (p_o − p_e) / (1 − p_e), p_e from each rater's own class shares. None when undefined (no
    pairs, or both raters put everything in one class: p_e = 1)."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    expected = sum((sum(a == k for a, _ in pairs) / n) * (sum(b == k for _, b in pairs) / n)
                   for k in classes)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)
