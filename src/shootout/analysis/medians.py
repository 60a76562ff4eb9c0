"""Bootstrap medians: the medians of resamples (with replacement) of a model's latencies, for
the bootstrap SE of its latency score (`profiles.latency_score_se`).

Below EXACT_FROM values the resamples are drawn, as `np.median(rng.choice(v, (reps, n)),
axis=1)` draws them (the same figures from the same draws, without making the resamples:
each counted into the ranks of sorted `v`). From EXACT_FROM on, where that costs O(reps x n)
(a 500k-sample run's ten models of 51k requests each: 1.5 s of its report), each median is
drawn from the exact distribution of a resample's median instead, in O(n + reps): the same
distribution (the ideal bootstrap's), other draws. A resample of n values from v's n order
statistics has C(r) ~ Binomial(n, (r + 1) / n) of its draws at ranks <= r, so its k-th
smallest value (0-based) is at rank <= r with probability P(C(r) >= k + 1) (Maritz and
Jarrett 1978). For an even n, the median's second middle value is drawn given the first.
"""

from __future__ import annotations

import numpy as np

EXACT_FROM = 2048  # values: from here, each median drawn from its exact distribution


def bootstrap_medians(v: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """The medians of `reps` resamples of `v` with replacement (see the module doc)."""
    n = v.size
    if n == 0 or np.isnan(v).any():  # NaN makes np.median NaN: leave that to it
        return np.asarray(np.median(rng.choice(v, size=(reps, n)), axis=1), dtype=float)
    if n >= EXACT_FROM:
        return exact_bootstrap_medians(v, reps, rng)
    return counted_bootstrap_medians(v, reps, rng)


def counted_bootstrap_medians(v: np.ndarray, reps: int, rng: np.random.Generator
                              ) -> np.ndarray:
    """The same figures, from the same draws, as `np.median(rng.choice(v, size=(reps,
    v.size)), axis=1)` (v without NaN), without making the resamples: each resample is
    counted into the ranks of sorted `v` (bincount), and its median read off the cumulative
    counts."""
    n = v.size
    order = np.argsort(v, kind="stable")
    ranked = v[order]
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n)
    lower, upper = (n - 1) // 2, n // 2  # the middle ranks (one for odd n)
    out = np.empty(reps)
    for i in range(reps):  # one resample at a time: rng.choice(v, (reps, n)) draws row by row
        seen = np.cumsum(np.bincount(rank[rng.integers(0, n, n)], minlength=n))
        lo = ranked[np.searchsorted(seen, lower, side="right")]
        hi = ranked[np.searchsorted(seen, upper, side="right")]
        out[i] = lo if lower == upper else (lo + hi) / 2.0
    return out


def exact_bootstrap_medians(v: np.ndarray, reps: int, rng: np.random.Generator
                            ) -> np.ndarray:
    """`reps` draws from the exact distribution of the median of a resample of `v` (n >= 1
    values, no NaN) with replacement (see the module doc)."""
    from scipy.special import betainc, gammaln

    n = v.size
    ranked = np.sort(v, kind="stable")
    a = (n - 1) // 2  # the (lower) middle position of a sorted resample, 0-based
    # F[r] = P(C(r) >= a + 1) = P(Binomial(n, (r + 1) / n) >= a + 1): the lower middle
    # value's rank is <= r
    p = np.arange(1, n + 1) / n
    f = betainc(a + 1, n - a, p)
    f[-1] = 1.0
    low = np.minimum(np.searchsorted(f, rng.random(reps), side="left"), n - 1)
    if n % 2:
        return ranked[low].astype(float)
    # even n: the upper middle value (position a + 1) is at the same rank unless exactly a + 1
    # draws are at ranks <= low. P(C(r) = a + 1, C(r - 1) <= a) is Binomial(n, (r + 1) / n)'s
    # P(a + 1) times P(not all a + 1 of them below r | C(r) = a + 1), of L = r: F[r] - F[r - 1]
    r = low.astype(float)
    pr = (r + 1) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = (gammaln(n + 1) - gammaln(a + 2) - gammaln(n - a)
                   + (a + 1) * np.log(pr) + (n - a - 1) * np.log1p(-pr))
        log_pmf = np.where(pr < 1.0, log_pmf, -np.inf)  # all n at ranks <= n - 1
        not_all_below = -np.expm1((a + 1) * np.log(r / (r + 1)))  # 1 at r = 0
        of_low = f[low] - np.where(low > 0, f[np.maximum(low - 1, 0)], 0.0)
        split = np.where(of_low > 0, np.exp(log_pmf) * not_all_below / of_low, 0.0)
    apart = rng.random(reps) < np.clip(split, 0.0, 1.0)
    # then the other m = n - a - 1 draws are uniform over the N = n - 1 - r ranks above r:
    # the upper middle value is the lowest of them, at r + j with P(<= r + j) =
    # 1 - ((N - j) / N) ** m
    above = n - 1 - low
    m = n - a - 1
    w = rng.random(reps)
    j = np.ceil(above * -np.expm1(np.log1p(-w) / m)).astype(np.intp)
    j = np.clip(j, 1, np.maximum(above, 1))
    high = np.where(apart & (above > 0), low + j, low)
    return (ranked[low] + ranked[high]) / 2.0
