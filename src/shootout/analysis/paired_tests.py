"""Paired significance tests of two models' item scores, and Holm's adjustment of many.

d_i = a_i − b_i over the items both models were scored on, each x_i the mean of the item's
repeats as in `stats` (Miller 2024, §4.2): the paired t-test, McNemar's exact test and
Newcombe's paired interval for one 0/1 score per item and model. `compare` and the report's
sections test every pair of models with these; `paired` runs many pairs from item means
computed once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .stats import (
    ItemId,
    _is_binary,
    _scipy_special,
    _scipy_stats,
    _sem,
    _split_items,
    summarize,
    t_quantile,
    wilson_bounds,
    z_quantile,
)

__all__ = ["HolmResult", "PairedResult", "holm", "newcombe_paired", "paired_difference"]


@dataclass(frozen=True)
class PairedResult:
    """Paired comparison of two models on the items both were scored on (d_i = a_i − b_i).

    mean_diff: mean of d; se: sd(d, ddof=1)/sqrt(n); ci: t interval with n−1 df
    (mean_diff ± t_{n−1, 1−α/2}·se), consistent with `p_value` from the paired t-test; where
    every item has one 0/1 score per model, Newcombe's paired interval (`newcombe_paired`).
    p_mcnemar: exact McNemar p, only when every item has one 0/1 score per model, else None.
    significant: p_value < alpha where alpha = 1 − confidence.
    n_only_a / n_only_b: items present for one model only (dropped).
    """

    mean_a: float
    mean_b: float
    mean_diff: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    t_stat: float
    p_value: float
    p_mcnemar: float | None
    significant: bool
    n: int
    n_only_a: int
    n_only_b: int
    corr: float


@dataclass(frozen=True)
class HolmResult:
    """Holm-adjusted p-value and whether the hypothesis is rejected at the family alpha."""

    p_adjusted: float
    reject: bool


def newcombe_paired(xa: np.ndarray, xb: np.ndarray, confidence: float = 0.95
                    ) -> tuple[float, float]:
    """The interval of mean(xa) − mean(xb) for paired 0/1 scores: Newcombe's (1998, paired
    data, method 10) square-and-add of the two proportions' Wilson intervals, with the
    continuity-corrected correlation ψ of the 2×2 table (Fagerland, Lydersen & Laake 2014's
    recommended interval; `Newcombe_square_and_add_CI_paired_2x2` of their R package
    contingencytables). Unlike the t-interval of the differences it keeps its width where
    every item differs by the same amount (30 of 30 one way: [0.84, 1], not [1, 1]; none
    discordant of 15: ±0.20, not [0, 0]). NaNs for no items."""
    n = int(xa.size)
    if n == 0:
        return math.nan, math.nan
    a1, b1 = xa == 1.0, xb == 1.0
    n11, n12 = int(np.sum(a1 & b1)), int(np.sum(a1 & ~b1))
    n21, n22 = int(np.sum(~a1 & b1)), int(np.sum(~a1 & ~b1))
    row1, row2, col1, col2 = n11 + n12, n21 + n22, n11 + n21, n12 + n22
    p1, p2 = row1 / n, col1 / n
    z = z_quantile(confidence)
    l1, u1 = wilson_bounds(p1, float(n), z)
    l2, u2 = wilson_bounds(p2, float(n), z)
    psi = 0.0
    if row1 and row2 and col1 and col2:
        cross = n11 * n22 - n12 * n21
        root = math.sqrt(float(row1) * row2 * col1 * col2)
        psi = (cross - n / 2) / root if cross > n / 2 else (cross / root if cross < 0 else 0.0)
    diff = p1 - p2
    lo = diff - math.sqrt(max(0.0, (p1 - l1) ** 2 + (u2 - p2) ** 2
                                - 2 * psi * (p1 - l1) * (u2 - p2)))
    hi = diff + math.sqrt(max(0.0, (p2 - l2) ** 2 + (u1 - p1) ** 2
                                - 2 * psi * (p2 - l2) * (u1 - p1)))
    return max(lo, -1.0), min(hi, 1.0)


# --------------------------------------------------------------------------- paired test


def _mcnemar(xa: np.ndarray, xb: np.ndarray) -> float | None:
    """Exact McNemar p: binomtest(n10, n10 + n01, 0.5) on discordant pairs; 1.0 if none.

    Only defined when every item has exactly one 0/1 score per model (the caller checks that
    there is one score); otherwise None.
    """
    if not (_is_binary(xa) and _is_binary(xb)):
        return None
    n10 = int(np.sum((xa == 1) & (xb == 0)))
    n01 = int(np.sum((xa == 0) & (xb == 1)))
    if n10 + n01 == 0:
        return 1.0
    return float(_scipy_stats().binomtest(n10, n10 + n01, 0.5).pvalue)


_SAME = 1e-12  # differences this close (relative to their mean, or 1) are the same


def _t_test(d: np.ndarray) -> tuple[float, float, float]:
    """(se, t, p) of the one-sample t-test of mean(d) = 0, i.e. the paired t-test.

    Degenerate cases: n < 2 → (NaN, NaN, 1.0); sd(d) = 0 (every d_i the same, to within
    rounding) → p = 1.0 if every d_i = 0
    (no difference at all); if d is a non-zero constant, t = ±inf and p is the exact sign
    test's, 2·0.5^n (every item differs the same way: 0.25 for 3 items, 0.0625 for 5, as
    McNemar's exact test gives where every pair is discordant). The t-test's own p would be
    0 however few the items: 3 items "significant" at p < 0.001.
    """
    n = d.size
    if n < 2:
        return math.nan, math.nan, 1.0
    mean = float(d.mean())
    # every d_i the same up to rounding: item means of thirds or tenths leave sd(d) at
    # ~1e-17, not 0, and the t-test called 3 items significant at p ~ 1e-32
    if float(np.ptp(d)) <= _SAME * max(1.0, abs(mean)):
        if abs(mean) <= _SAME:
            return 0.0, 0.0, 1.0
        return 0.0, math.copysign(math.inf, mean), min(1.0, 2.0 * 0.5 ** n)
    se = _sem(d)
    t = mean / se
    # 2·scipy.stats.t.sf(|t|, n − 1)
    return se, t, float(2.0 * _scipy_special().stdtr(n - 1, -abs(t)))


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def paired_difference(
    a_by_item: Mapping[ItemId, Sequence[float]],
    b_by_item: Mapping[ItemId, Sequence[float]],
    *,
    confidence: float = 0.95,
) -> PairedResult:
    """Paired comparison of model A vs B on the items both have (Miller §4.2).

    a_i, b_i = per-item means over repeats; d_i = a_i − b_i over the n shared items.
    mean_diff = mean(d); se = sd(d, ddof=1)/sqrt(n); t = mean_diff/se with n−1 df;
    p two-sided (equals scipy.stats.ttest_rel(a, b).pvalue); CI = mean_diff ± t_{n−1}·se,
    clipped to [−1, 1] when every item mean of both models lies in [0, 1]; for one 0/1
    score per item and model, Newcombe's paired interval instead (`newcombe_paired`).
    Degenerate cases (see `_t_test`): n < 2 gives p = 1.0 and NaN se/CI; all d_i = 0 gives
    p = 1.0; a non-zero constant d gives the sign test's p (2·0.5^n). Where d is constant
    the t interval has no width: 0/1 scores scored once have Newcombe's paired interval, 0/1
    scores with repeats the square-and-add of the two sides' `summarize` intervals on the
    shared items; other scores keep the zero-width interval.
    `significant` is p_value < alpha with alpha = 1 − confidence. `corr` is the Pearson
    correlation of a and b (feed it to min_detectable_difference as paired_corr).
    """
    z_quantile(confidence)  # validates confidence
    keys = [k for k in a_by_item if k in b_by_item]
    xa, rep_a = _split_items([a_by_item[k] for k in keys])
    xb, rep_b = _split_items([b_by_item[k] for k in keys])
    r = paired_means(xa, xb, repeated=bool(rep_a) or bool(rep_b),
                     only_a=len(a_by_item) - xa.size, only_b=len(b_by_item) - xb.size,
                     confidence=confidence)
    if r.p_mcnemar is None and r.n >= 2 and r.se == 0.0 and rep_a.binary and rep_b.binary:
        # 0/1 scores with repeats whose every item differs alike (or not at all): the t
        # interval has no width, which says nothing of the items not asked. Newcombe's
        # square-and-add of the two sides' own intervals on these items (Wilson's, at the
        # effective n of repeats), as the head-to-head gives (`compare._square_and_add`)
        sa = summarize([a_by_item[k] for k in keys], confidence=confidence)
        sb = summarize([b_by_item[k] for k in keys], confidence=confidence)
        d = r.mean_diff
        lo = d - math.sqrt((sa.mean - sa.ci_low) ** 2 + (sb.ci_high - sb.mean) ** 2)
        hi = d + math.sqrt((sa.ci_high - sa.mean) ** 2 + (sb.mean - sb.ci_low) ** 2)
        r = replace(r, ci_low=max(lo, -1.0), ci_high=min(hi, 1.0))
    return r


def paired_means(xa: np.ndarray, xb: np.ndarray, *, repeated: bool, only_a: int, only_b: int,
                 confidence: float) -> PairedResult:
    """`paired_difference` from the item means of the shared items, in one order (x_i of
    `_split_items`); `repeated`: some item was scored more than once by either model (no
    McNemar); only_a, only_b: the items of one model only."""
    alpha = 1.0 - confidence
    d = xa - xb
    n = int(d.size)
    mean_diff = float(d.mean()) if n else math.nan
    se, t, p = _t_test(d)
    binary = n > 0 and not repeated and _is_binary(xa) and _is_binary(xb)
    if binary:  # paired proportions: Newcombe's interval (the t's collapses at the edges)
        lo, hi = newcombe_paired(xa, xb, confidence)
    elif n >= 2:
        half = t_quantile(0.5 + confidence / 2.0, n - 1) * se
        lo, hi = mean_diff - half, mean_diff + half
        if min(xa.min(), xb.min()) >= 0.0 and max(xa.max(), xb.max()) <= 1.0:
            # two proportions differ by at most 1 either way (as `summarize` keeps a
            # proportion's interval inside [0, 1]): at small n the t interval runs past it
            lo, hi = max(lo, -1.0), min(hi, 1.0)
    else:
        lo = hi = math.nan
    return PairedResult(
        mean_a=float(xa.mean()) if n else math.nan,
        mean_b=float(xb.mean()) if n else math.nan,
        mean_diff=mean_diff,
        se=se,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        t_stat=t,
        p_value=p,
        p_mcnemar=_mcnemar(xa, xb) if binary else None,
        significant=bool(p < alpha),
        n=n,
        n_only_a=only_a,
        n_only_b=only_b,
        corr=_corr(xa, xb),
    )


# --------------------------------------------------------------------------- multiplicity


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> list[HolmResult]:
    """Holm–Bonferroni step-down adjustment, results in the input order.

    Sort p ascending as p_(1) <= ... <= p_(m); then
        p̃_(i) = min(1, max_{j<=i} (m − j + 1)·p_(j))
    (monotone in i), and hypothesis (i) is rejected iff p̃_(i) <= alpha, which is the same
    as the step-down rule "reject while p_(i) <= alpha/(m − i + 1)". Controls FWER at alpha.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError("pvalues must be a flat sequence")
    if p.size == 0:
        return []
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("p-values must be in [0, 1] (no NaN)")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adj_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adj = np.empty(m)
    adj[order] = adj_sorted
    return [HolmResult(p_adjusted=float(v), reject=bool(v <= alpha)) for v in adj]
