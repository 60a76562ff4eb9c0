"""The mean of group means (a "macro" average, e.g. CMMLU's overall score) with its error bars.

CMMLU's reference (haonan-li/CMMLU, src/mp_utils.py `get_results`) reports the average of its
67 subject accuracies, not the accuracy over all questions. Subjects are fixed strata (every
run has all of them) and the questions of a subject a sample from it, so with x_i the mean of
item i's repeats (Miller 2024: repeats are averaged within an item first):

    m_s   = (1/n_s) Σ_{i∈s} x_i                      subject s's score over its n_s items
    macro = (1/S) Σ_s m_s                             S subjects, each weighted 1/S
    v_s   = Σ_{i∈s} (x_i − m_s)² / (n_s − 1)          the within-subject sample variance
    SE    = (1/S) · sqrt( Σ_s v_s / n_s )             subjects are independent: Var = Σ Var/S²

This is the variance of a stratified mean (Cochran, Sampling Techniques, 3rd ed., ch. 5),
without a finite-population correction, as for every score here. A subject
with a single item has no v_s; it borrows the pooled within-subject variance
Σ_s (n_s − 1) v_s / Σ_s (n_s − 1) of the others, or, when no subject has two items (a small
`--limit`), the variance over all items (then the macro is the item mean and so is the SE).

Interval, as `stats.summarize` chooses it: when every item mean is 0 or 1 (accuracies with one
repeat, or repeats that agree), Wilson's interval at Kish's effective sample size
n_eff = n / deff, deff = SE² / SE_iid² (SE_iid = sd(x, ddof=1)/sqrt(n), the SE the item mean
would have), capped at n so the interval is never narrower than n independent items give; with
a perfect (or zero) score deff is 0/0 and n_eff = n. Wilson keeps a perfect score's interval
off [1, 1]. Where every score is 0 or 1 but some item's repeats disagree, Wilson's interval
at n_eff = macro·(1 − macro)/SE², kept between n and the number of samples
(`stats.effective_n`). Otherwise the normal interval macro ± z·SE, clipped to [0, 1] for
proportions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from .stats import Summary, effective_n, normal_interval, wilson_bounds, z_quantile


def stratified_summary(
    scores_by_item: Mapping[str, Sequence[float]],
    group_of: Mapping[str, Hashable],
    *,
    confidence: float = 0.95,
) -> Summary:
    """Mean of the per-group means of item scores, with its stratified SE and CI (module doc).

    `scores_by_item`: item id -> the scores of its repeats; `group_of`: item id -> group.
    """
    if not scores_by_item:
        raise ValueError("stratified_summary needs at least one item")
    # plain floats, not an array per item: this runs once per model and benchmark on ~10^4 items
    repeats = {k: [float(s) for s in v] for k, v in scores_by_item.items()}
    if not all(r and all(map(math.isfinite, r)) for r in repeats.values()):
        raise ValueError("each item needs a non-empty sequence of finite scores")
    strata: dict[Hashable, list[float]] = defaultdict(list)
    for item, r in repeats.items():
        strata[group_of[item]].append(sum(r) / len(r))
    groups = [np.asarray(v) for v in strata.values()]
    mean = float(np.mean([g.mean() for g in groups]))
    se = _stratified_se(groups)
    x = np.concatenate(groups)
    n = int(x.size)
    if np.all((x == 0.0) | (x == 1.0)):
        method, (lo, hi) = "wilson_stratified", _wilson_stratified(mean, se, x, confidence)
    elif 0.0 < mean < 1.0 and all(s in (0.0, 1.0) for r in repeats.values() for s in r):
        # 0/1 scores, some item's repeats disagree: as `stats.summarize` (`effective_n`)
        method = "wilson_effective"
        lo, hi = wilson_bounds(mean, effective_n(mean, se, n, sum(map(len, repeats.values()))),
                               z_quantile(confidence))
    else:
        method, (lo, hi) = "normal", normal_interval(mean, se, confidence)
        if x.min() >= 0.0 and x.max() <= 1.0:  # a proportion's interval stays inside [0, 1]
            lo, hi = max(lo, 0.0), min(hi, 1.0)
    within_var, resampling_se = _resampling(repeats, group_of, strata)
    return Summary(
        mean=mean, se=se, ci_low=lo, ci_high=hi, ci_method=method, confidence=confidence,
        n=n, n_samples=sum(len(r) for r in repeats.values()),
        within_item_var=within_var, resampling_se=resampling_se,
    )


def _stratified_se(groups: list[np.ndarray]) -> float:
    """(1/S) sqrt(Σ_s v_s/n_s); single-item groups use the pooled within-group variance."""
    multi = [g for g in groups if g.size >= 2]
    if multi:
        dof = sum(g.size - 1 for g in multi)
        pooled = sum((g.size - 1) * float(np.var(g, ddof=1)) for g in multi) / dof
    elif len(groups) >= 2:  # one item per group (a small --limit): the variance over all items
        pooled = float(np.var(np.concatenate(groups), ddof=1))
    else:
        return math.nan
    total = sum((float(np.var(g, ddof=1)) if g.size >= 2 else pooled) / g.size for g in groups)
    return math.sqrt(total) / len(groups)


def _wilson_stratified(p: float, se: float, x: np.ndarray, confidence: float
                       ) -> tuple[float, float]:
    """Wilson interval for proportion p at Kish's effective sample size (module doc)."""
    if not math.isfinite(se):
        return math.nan, math.nan
    n = x.size
    se_iid = float(np.std(x, ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    n_eff = min(n * se_iid**2 / se**2, float(n)) if se > 0.0 and se_iid > 0.0 else float(n)
    return wilson_bounds(p, n_eff, z_quantile(confidence))


def _resampling(
    repeats: Mapping[str, list[float]],
    group_of: Mapping[str, Hashable],
    strata: Mapping[Hashable, list[float]],
) -> tuple[float, float]:
    """Mean within-item variance over repeated items, and the part of the SE it leaves:
    (1/S) sqrt(Σ_s (1/n_s²) Σ_{i∈s, K_i≥2} σ̂_i²/K_i). NaNs when no item was repeated."""
    var = {k: item_var(r) for k, r in repeats.items() if len(r) >= 2}
    if not var:
        return math.nan, math.nan
    total = sum(v / len(repeats[k]) / len(strata[group_of[k]]) ** 2 for k, v in var.items())
    return float(np.mean(list(var.values()))), math.sqrt(total) / len(strata)


def item_var(r: list[float]) -> float:
    """`float(np.var(r, ddof=1))` to the last bit, without an array per item (a call to
    numpy per item was a fifth of scoring a 258k-sample share): below 8 values numpy sums
    them one after another, as this does; from 8 it sums pairwise, and numpy is called."""
    n = len(r)
    if n >= 8:
        return float(np.var(r, ddof=1))
    m = sum(r) / n
    total = 0.0
    for x in r:
        d = x - m
        total += d * d
    return total / (n - 1)
