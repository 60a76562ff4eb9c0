"""Error bars and significance tests for eval scores (Miller 2024, arXiv:2411.00640).

Data shape: one entry per *item* (question), each a sequence of K >= 1 scores from K
repeats of that item (K may differ between items). Scores are floats: 0/1 for accuracy,
or continuous (e.g. an MC2 probability).

Conventions used throughout:

* Repeats are averaged within each item first, giving one value x_i per item; all
  item-level statistics are computed on x_1..x_n (n = number of items). The SE of the
  mean of item means is then the item-clustered SE (Miller §3.2, §4).
* Sample variances use ddof=1. With fewer than 2 items a standard error is undefined and
  is reported as NaN (so is a normal CI built from it).
* z_q = Φ⁻¹(q) is the standard normal quantile.

Only numpy and scipy are used (scipy imported on first use: it costs a second at start-up,
and the normal distribution comes from the standard library); results are frozen
dataclasses. The paired tests between two models and Holm's adjustment are in
`shootout.analysis.paired_tests`; bootstrap intervals and the paired bootstrap test (for
corpus metrics and pass@k) in `shootout.analysis.bootstrap`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, TypeVar

import numpy as np

from .items import flatten_items

__all__ = [
    "Summary",
    "clustered_se",
    "min_detectable_difference",
    "normal_interval",
    "summarize",
    "wilson_bounds",
    "wilson_interval",
    "z_quantile",
    "z_test",
]


ItemId = TypeVar("ItemId", bound=Hashable)

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Summary:
    """Mean score over items with its uncertainty.

    mean: (1/n) Σ_i x_i where x_i is the mean of item i's repeats.
    se: sd(x, ddof=1)/sqrt(n), or the clustered SE when clusters were given; NaN if n < 2.
    ci_low/ci_high: CI at `confidence` computed by `ci_method` ("wilson", "wilson_clustered",
        "wilson_effective", "wilson_stratified" or "normal"; `summarize` and
        `stratified.stratified_summary` say which applies when).
    n: number of items; n_samples: number of scores over all repeats.
    within_item_var: mean over items with K_i >= 2 of the within-item sample variance
        σ̂_i² = var(repeats of i, ddof=1); NaN if no item was repeated. This is the
        resampling noise (Miller §5).
    resampling_se: sqrt((1/n²) Σ_{i: K_i>=2} σ̂_i²/K_i), the part of `se` due to
        resampling noise left after averaging the repeats; NaN if no item was repeated.
    """

    mean: float
    se: float
    ci_low: float
    ci_high: float
    ci_method: str
    confidence: float
    n: int
    n_samples: int
    within_item_var: float
    resampling_se: float


# --------------------------------------------------------------------------- helpers


_NORMAL = NormalDist()


def _scipy_stats() -> Any:
    from scipy import stats

    return stats


def _scipy_special() -> Any:
    """scipy.special: Student's t as scipy.stats' `t` computes it (its `sf` is
    `stdtr(df, -x)`, its `ppf` `stdtrit(df, q)`), without importing scipy.stats (0.9 s)."""
    from scipy import special

    return special


@functools.lru_cache(maxsize=256)
def t_quantile(q: float, df: int) -> float:
    """The q-quantile of Student's t with `df` degrees of freedom (cached: a report asks for
    the same few thousands of times)."""
    return float(_scipy_special().stdtrit(df, q))  # scipy.stats.t.ppf(q, df)


@functools.lru_cache(maxsize=64)
def z_quantile(confidence: float) -> float:
    """Two-sided normal critical value z_{1−(1−confidence)/2}."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return _NORMAL.inv_cdf(0.5 + confidence / 2.0)


def z_test(diff: float, se: float) -> float:
    """Two-sided p of the normal test of diff = 0: 2·(1 − Φ(|diff|/se)); 1.0 when se is 0 or
    undefined (nothing to test with)."""
    if not math.isfinite(se) or se == 0.0:
        return 1.0
    return 2.0 * _NORMAL.cdf(-abs(diff) / se)


@dataclass(frozen=True)
class _Repeats:
    """The items scored more than once: their repeat scores (flat), count K_i and sample
    variance σ̂_i² (ddof 1) each."""

    values: np.ndarray
    k: np.ndarray
    var: np.ndarray
    binary: bool = False  # every score of every item (once or more) is 0 or 1

    def __bool__(self) -> bool:
        return bool(self.k.size)


def _split_items(scores_by_item: Sequence[Sequence[float] | float]
                 ) -> tuple[np.ndarray, _Repeats]:
    """(x, repeated): x_i = (1/K_i) Σ_k s_ik for every item (a bare float counts as one
    repeat), and the items scored more than once. The scores are flattened once and reduced
    in numpy: a per-item numpy call costs ~20 µs, which made a 500k-sample results build take
    tens of seconds here."""
    lens, flat = flatten_items(scores_by_item)
    k = np.asarray(lens, dtype=np.intp)
    try:
        values = np.asarray(flat, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError("each item needs a flat, non-empty sequence of repeat scores") from e
    if values.ndim != 1 or (k.size and k.min() == 0):
        raise ValueError("each item needs a flat, non-empty sequence of repeat scores")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite")
    if not k.size:
        return np.zeros(0), _Repeats(np.zeros(0), np.zeros(0, np.intp), np.zeros(0))
    starts = np.concatenate(([0], np.cumsum(k)[:-1]))
    means = np.add.reduceat(values, starts) / k
    many = k >= 2
    binary = _is_binary(values)
    if not many.any():
        return means, _Repeats(np.zeros(0), np.zeros(0, np.intp), np.zeros(0), binary)
    owner = np.repeat(many, k)
    dev = values - np.repeat(means, k)
    var = np.add.reduceat(dev * dev, starts)[many] / (k[many] - 1)
    return means, _Repeats(values[owner], k[many], var, binary)


def _item_means(scores_by_item: Sequence[Sequence[float] | float]) -> np.ndarray:
    """x_i = (1/K_i) Σ_k s_ik for every item (a bare float counts as one repeat)."""
    return _split_items(scores_by_item)[0]


def _sem(x: np.ndarray) -> float:
    """sd(x, ddof=1)/sqrt(n); NaN when n < 2."""
    if x.size < 2:
        return math.nan
    return float(np.std(x, ddof=1) / math.sqrt(x.size))


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0.0) | (x == 1.0)))


def _within_item(repeated: _Repeats, n: int) -> tuple[float, float]:
    """(mean σ̂_i², sqrt(Σ σ̂_i²/K_i)/n) over the `repeated` items (K_i >= 2) of n items; NaNs
    if there are none."""
    if not repeated:
        return math.nan, math.nan
    var, k = repeated.var, repeated.k
    return float(var.mean()), float(math.sqrt(np.sum(var / k)) / n)


# --------------------------------------------------------------------------- intervals


def normal_interval(mean: float, se: float, confidence: float = 0.95) -> tuple[float, float]:
    """CLT interval mean ± z_{1−α/2}·se (α = 1 − confidence); NaNs if se is NaN."""
    half = z_quantile(confidence) * se
    return mean - half, mean + half


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p̂ = successes/n.

        centre = (p̂ + z²/(2n)) / (1 + z²/n)
        half   = z/(1 + z²/n) · sqrt(p̂(1−p̂)/n + z²/(4n²))

    with z = z_{1−α/2}. Stays inside [0, 1] and behaves at p̂ ∈ {0, 1}, unlike the normal CI.
    """
    if n <= 0:
        raise ValueError("wilson_interval needs n >= 1")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    return wilson_bounds(successes / n, float(n), z_quantile(confidence))


def wilson_bounds(p: float, n: float, z: float) -> tuple[float, float]:
    """The Wilson interval of proportion p on a (possibly effective, non-integer) sample size n."""
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    # at p̂ = 0 (1) the lower (upper) bound is exactly 0 (1); rounding would leave 1e-18 off
    lo = 0.0 if p <= 0.0 else max(0.0, centre - half)
    hi = 1.0 if p >= 1.0 else min(1.0, centre + half)
    return lo, hi


def effective_n(p: float, se: float, n: int, n_samples: int) -> float:
    """The number of independent 0/1 samples whose proportion p would have standard error
    `se`: p(1 − p)/se², kept in [n, n_samples]. Item means of 0/1 repeats vary at most as
    Bernoulli outcomes do, so the figure is about n or more; it is never more than the
    samples drawn (items whose repeats all split alike have se 0: then n_samples). One item
    (no SE) is n: its repeats are not independent samples of the benchmark."""
    if not math.isfinite(se):  # one item: its repeats are not independent samples
        return float(n)
    if se == 0.0:
        return float(n_samples)
    return float(min(max(p * (1.0 - p) / se**2, n), n_samples))


def _effective_n(x: np.ndarray, se_clustered: float, n_clusters: int) -> float:
    """Kish's effective sample size n / deff for a clustered proportion, in [n_clusters, n].

    deff = se_clustered² / se_iid² (se_iid = sd(x, ddof=1)/sqrt(n)), so with every item in its
    own cluster n_eff = n exactly. When every item scores the same (p̂ ∈ {0, 1}) both SEs are 0
    and the data show no clustering at all: deff = 1, n_eff = n. (The worst case, n_eff = the
    number of clusters, made a perfect 30/30 over 3 needle lengths [0.44, 1] while 29/30 got
    [0.83, 0.99]: one miss narrowed the interval. With deff = 1 the interval only widens as
    misses appear.)
    """
    n = x.size
    se_iid = _sem(x)
    if not (math.isfinite(se_iid) and math.isfinite(se_clustered)):
        return float(n_clusters)
    if se_iid == 0.0:
        return float(n)
    deff = (se_clustered / se_iid) ** 2
    return float(min(max(n / deff, n_clusters), n)) if deff > 0 else float(n)


# --------------------------------------------------------------------------- SEs


def clustered_se(values: Sequence[float] | np.ndarray, clusters: Sequence[Hashable]) -> float:
    """Cluster-robust SE of the mean of `values` whose units share clusters (Miller 2024 eq. 4).

        SE_C = sqrt( SE_CLT² + (1/n²) Σ_c Σ_i Σ_{j≠i} (s_ic − s̄)(s_jc − s̄) )

    where SE_CLT² = var(s, ddof=1)/n and the double sum runs over distinct pairs of units in
    the same cluster c. Computed as Σ_c [(Σ_i e_ic)² − Σ_i e_ic²] with e = s − s̄. With every
    unit in its own cluster this is exactly SE_CLT. NaN if n < 2.
    """
    s = np.asarray(values, dtype=float)
    if s.ndim != 1 or len(clusters) != s.size:
        raise ValueError("values and clusters must be flat and the same length")
    if not np.all(np.isfinite(s)):
        raise ValueError("values must be finite")
    n = s.size
    if n < 2:
        return math.nan
    e = s - s.mean()
    codes: dict[Hashable, int] = {}
    inv = np.array([codes.setdefault(c, len(codes)) for c in clusters], dtype=np.intp)
    cross = float(np.sum(np.bincount(inv, weights=e) ** 2) - np.sum(e * e))
    var = float(np.var(s, ddof=1)) / n + cross / (n * n)
    return math.sqrt(max(var, 0.0))


def min_detectable_difference(
    se_a: float, se_b: float, alpha: float = 0.05, power: float = 0.8, paired_corr: float = 0.0
) -> float:
    """Smallest true difference a two-sided test at `alpha` detects with prob. `power` (Miller §6).

        MDD = (z_{1−α/2} + z_{power}) · sqrt(se_a² + se_b² − 2ρ·se_a·se_b)

    ρ = `paired_corr`, the correlation of the two models' item scores (0 for unpaired).
    """
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError("alpha and power must be in (0, 1)")
    if not -1.0 <= paired_corr <= 1.0:
        raise ValueError("paired_corr must be in [-1, 1]")
    var = se_a * se_a + se_b * se_b - 2.0 * paired_corr * se_a * se_b
    z = _NORMAL.inv_cdf(1.0 - alpha / 2.0) + _NORMAL.inv_cdf(power)
    return float(z * math.sqrt(max(var, 0.0)))


# --------------------------------------------------------------------------- summarize


def summarize(
    scores_by_item: Sequence[Sequence[float]],
    *,
    confidence: float = 0.95,
    clusters: Sequence[Hashable] | None = None,
) -> Summary:
    """Mean over items (repeats averaged within each item first) with SE and CI.

    mean = (1/n) Σ_i x_i,  x_i = (1/K_i) Σ_k s_ik;  se = sd(x, ddof=1)/sqrt(n).
    If `clusters` (one label per item) is given, se = clustered_se(x, clusters) instead.

    CI, by what the item means are (for every n: there is no switch at a sample size):

    * "wilson": every score s_ik is 0 or 1 and every item's repeats agree, so every x_i is 0
      or 1 (one repeat per item, or repeats that all scored alike) and no clusters were given.
      The x_i are then n Bernoulli outcomes: Wilson on (Σ x_i, n), which stays inside [0, 1]
      and is not degenerate at a perfect (or zero) score, as a normal interval is.
    * "wilson_clustered": the same, with clusters: Wilson on p̂ with Kish's effective sample
      size n/deff (see `_effective_n`; n itself, deff 1, when p̂ ∈ {0, 1}).
    * "wilson_effective": every score s_ik is 0 or 1 but some item's repeats disagree
      (x_i = 1/3, say), no clusters: Wilson on p̂ at the effective sample size
      p̂(1 − p̂)/se², kept between n and the number of samples (`effective_n`). A normal
      interval there, clipped to [0, 1], covered a true 5% about 83% of the time at 20 items
      x 3 repeats (1 right of 60 gave [0, 4.9%], narrower than 0 of 60's Wilson [0, 16%]);
      this one ~95%, and as the normal one at large n.
    * "normal": anything else — continuous scores, or repeats that disagree where clusters
      are given: mean ± z·se with the (clustered) SE, clipped to [0, 1] when every x_i lies
      there.
    """
    x, repeated = _split_items(scores_by_item)
    if not x.size:
        raise ValueError("summarize needs at least one item")
    n = int(x.size)
    mean = float(x.mean())
    if clusters is None:
        se = _sem(x)
    else:
        if len(clusters) != n:
            raise ValueError("clusters must have one label per item")
        se = clustered_se(x, clusters)
    binary = _is_binary(x) and _is_binary(repeated.values)
    n_samples = n + int(np.sum(repeated.k - 1))
    if binary and clusters is None:
        method, (lo, hi) = "wilson", wilson_interval(round(float(x.sum())), n, confidence)
    elif clusters is None and repeated.binary and 0.0 < mean < 1.0:
        # 0/1 scores, some item's repeats disagree
        method = "wilson_effective"
        lo, hi = wilson_bounds(mean, effective_n(mean, se, n, n_samples),
                               z_quantile(confidence))
    elif binary:
        assert clusters is not None
        n_eff = _effective_n(x, se, len(set(clusters)))
        method, (lo, hi) = "wilson_clustered", wilson_bounds(mean, n_eff, z_quantile(confidence))
    else:
        method, (lo, hi) = "normal", normal_interval(mean, se, confidence)
        if x.min() >= 0.0 and x.max() <= 1.0:  # a proportion's interval stays inside [0, 1]
            lo, hi = max(lo, 0.0), min(hi, 1.0)
    within_var, resampling_se = _within_item(repeated, n)
    return Summary(
        mean=mean,
        se=se,
        ci_low=lo,
        ci_high=hi,
        ci_method=method,
        confidence=confidence,
        n=n,
        n_samples=n_samples,
        within_item_var=within_var,
        resampling_se=resampling_se,
    )
