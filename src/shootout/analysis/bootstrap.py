"""Bootstrap intervals and the paired bootstrap test, for statistics without a closed-form SE.

Item values are resampled with replacement (Efron & Tibshirani 1993); everything is seeded, so
a report built twice from the same samples is identical. See `shootout.analysis.stats` for the
conventions (repeats averaged within each item first).

Stratified resampling (`paired_bootstrap(..., strata=...)`). A statistic over fixed strata, such
as CMMLU's mean of subject means, is resampled *within* them: position j of every resample
holds a draw from the shared items of j's stratum, so each stratum keeps its size, as it does
in every run. Drawing from all items instead would vary the subjects' sizes (and could leave a
subject out), a variance the reported figure does not have. Within strata the bootstrap
variance of a mean of stratum means is (1/S²) Σ_s ((n_s−1)/n_s) v_s/n_s: the stratified SE of
`stratified.py` but for the factor (n_s−1)/n_s (≥ 0.9 from 10 items a stratum; the rescaled
bootstrap of Rao & Wu 1988 removes it, at the cost of non-integer weights). `stat` is called as
stat(values, codes), codes[j] the fixed stratum (0..S−1) of position j. A stratum with a single
shared item would be redrawn as itself and add no variance (with a small `--limit`, every gap
would look significant); such strata are merged into one resampling stratum — the
collapsed-strata method (Cochran 1977, Sampling Techniques; `single.PSU = "merge"` in R's
surveysd) — each position keeping its own code. With one item in every stratum this is the
plain item bootstrap, as `stratified_summary` then uses the item mean's SE. Where some strata
have one item and others more, the two part: `stratified_summary` gives each single-item
stratum the pooled within-stratum variance of the others, the merged stratum's variance is
its own items' spread, so a pair's SE need not be near its rows' (CMMLU at `--limit 60`, 21
of its 36 subjects single: a model's row SE 4.85 points, its pair with a model scoring 0
everywhere 3.44; an audit's). From about 10 items a subject, none is single.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .stats import ItemId, _item_means, z_quantile

__all__ = ["BootstrapResult", "PairedBootstrapResult", "bootstrap_ci", "paired_bootstrap",
           "randomization_p", "stratum_codes"]


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Paired bootstrap of stat(A) − stat(B) over the items both have (see `paired_bootstrap`).

    estimate_a/_b: stat on all shared items; diff = estimate_a − estimate_b; ci: percentile
    interval of the resampled differences; se: their sd; p_value: two-sided, the paired
    approximate randomization test (`randomization_p`).
    """

    estimate_a: float
    estimate_b: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    n: int
    n_boot: int
    n_only_a: int
    n_only_b: int


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile bootstrap CI of `stat` over item values (items resampled with replacement)."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    confidence: float
    n: int
    n_boot: int


def bootstrap_ci(
    values_by_item: Sequence[Sequence[float] | float],
    stat: Callable[[np.ndarray], float] = np.mean,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapResult:
    """Percentile bootstrap CI of stat(item values), resampling items with replacement.

    Item values x_i are the means of each item's repeats (a bare float is one repeat).
    For b = 1..B draw n items with replacement and compute θ*_b = stat(x*_b); the CI is
    the [α/2, 1 − α/2] empirical quantiles of θ*, se = sd(θ*, ddof=1), estimate = stat(x).
    Use for statistics without a closed-form SE (median, trimmed mean, ...).
    """
    z_quantile(confidence)
    if n_boot < 2:
        raise ValueError("n_boot must be >= 2")
    x = _item_means(values_by_item)
    n = int(x.size)
    if n == 0:
        raise ValueError("bootstrap_ci needs at least one item")
    rng = np.random.default_rng(seed)
    boots = np.fromiter(
        (float(stat(x[rng.integers(0, n, n)])) for _ in range(n_boot)), dtype=float, count=n_boot
    )
    a = 1.0 - confidence
    lo, hi = np.quantile(boots, [a / 2.0, 1.0 - a / 2.0])
    return BootstrapResult(
        estimate=float(stat(x)),
        ci_low=float(lo),
        ci_high=float(hi),
        se=float(np.std(boots, ddof=1)),
        confidence=confidence,
        n=n,
        n_boot=n_boot,
    )


def paired_bootstrap(
    a_by_item: Mapping[ItemId, Any],
    b_by_item: Mapping[ItemId, Any],
    stat: Callable[..., float] = np.mean,
    *,
    strata: Mapping[ItemId, Hashable] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedBootstrapResult:
    """Paired bootstrap of a statistic that is not a mean of independent item scores.

    For metrics such as corpus BLEU/chrF (a function of summed per-sentence statistics) or
    pass@k (a mean of per-problem estimates), the two models are resampled *together*: draw n
    shared items with replacement, B times, and take d*_b = stat(A*_b) − stat(B*_b) — Koehn
    (2004)'s paired bootstrap resampling, as in `sacrebleu --paired-bs`. Each item value is a
    scalar or a fixed-shape array (its sufficient statistics); `stat` maps the stacked values of
    n items (shape (n, ...)) to a number.

    CI: the [α/2, 1 − α/2] percentiles of d*; se = sd(d*, ddof=1). p (two-sided): the paired
    approximate randomization test (`randomization_p`: each item's two values swapped or not;
    Riezler & Maxwell 2005; `sacrebleu --paired-ar` but for ties, which it does not count),
    exact over every swap where the items that differ are few. The centred bootstrap's p,
    (1 + #{|d*_b − mean(d*)| ≥ |d̂|}) / (B + 1), called 4 differing items of 7 "p < 0.001"
    (bfcl's mean of category means, a category of one item held fixed), where no test on 4
    items can go below 2/16 (an audit's). No difference at all (d̂ = 0) gives p = 1. Seeded,
    so a report is reproducible.

    `strata` (item → stratum, for every shared item): resample within strata and call `stat`
    as stat(values, codes) — see "Stratified resampling" in the module doc.
    """
    z_quantile(confidence)
    if n_boot < 2:
        raise ValueError("n_boot must be >= 2")
    keys = [k for k in a_by_item if k in b_by_item]
    n = len(keys)
    if n == 0:
        raise ValueError("paired_bootstrap needs at least one shared item")
    xa = np.asarray([a_by_item[k] for k in keys], dtype=float)
    xb = np.asarray([b_by_item[k] for k in keys], dtype=float)
    codes = None if strata is None else stratum_codes([strata[k] for k in keys])
    est_a, est_b, boots = _resample(xa, xb, stat, codes, seed, n_boot)
    diff = est_a - est_b
    a = 1.0 - confidence
    lo, hi = np.quantile(boots, [a / 2.0, 1.0 - a / 2.0])
    p = randomization_p(xa, xb, stat, codes, diff, seed=seed, n_perm=n_boot)
    return PairedBootstrapResult(
        estimate_a=est_a,
        estimate_b=est_b,
        diff=diff,
        se=float(np.std(boots, ddof=1)),
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=min(p, 1.0),
        confidence=confidence,
        n=n,
        n_boot=n_boot,
        n_only_a=len(a_by_item) - n,
        n_only_b=len(b_by_item) - n,
    )


# stat -> the same statistic over a block of resamples at once: f(values[idx] of shape (B, n),
# codes or None) -> B figures. Numpy does each block in one pass, where calling `stat` per
# resample costs ~50 µs of Python each (2,000 resamples for each of 45 model pairs in a
# 10-model report). The draws are the same either way (`rng.integers` of shape (B, n) yields
# B successive draws of n), so a report does not change with the path taken.
_BATCHED: dict[Callable[..., float], Callable[[np.ndarray, np.ndarray | None], np.ndarray]] = {
    np.mean: lambda m, _codes: m.mean(axis=1),
}
_BLOCK = 1 << 20  # values drawn per block: 8 MiB of float64


def register_batched(stat: Callable[..., float],
                     batched: Callable[[np.ndarray, np.ndarray | None], np.ndarray]) -> None:
    """Declare `batched` the block form of `stat` for scalar item values (see `_BATCHED`)."""
    _BATCHED[stat] = batched


def _resample(xa: np.ndarray, xb: np.ndarray, stat: Callable[..., float],
              codes: np.ndarray | None, seed: int, n_boot: int
              ) -> tuple[float, float, np.ndarray]:
    """stat of each model on the items, and the `n_boot` differences of the paired
    resamples (within strata when `codes` are given), drawn from `default_rng(seed)`."""
    batched = _BATCHED.get(stat) if xa.ndim == 1 else None
    full = ((float(stat(xa)), float(stat(xb))) if codes is None
            else (float(stat(xa, codes)), float(stat(xb, codes))))
    if batched is not None:
        blocks = _blocks(codes, len(xa), seed, n_boot)
        return *full, (_boot_stats(xa, batched, codes, blocks, seed)
                       - _boot_stats(xb, batched, codes, blocks, seed))
    rng = np.random.default_rng(seed)
    if codes is None:
        n = len(xa)
        boots = np.empty(n_boot)
        for i in range(n_boot):
            idx = rng.integers(0, n, n)
            boots[i] = float(stat(xa[idx])) - float(stat(xb[idx]))
        return *full, boots
    boots = np.fromiter((float(stat(xa[idx], codes)) - float(stat(xb[idx], codes))
                         for idx in _within_strata(codes, rng, n_boot)),
                        dtype=float, count=n_boot)
    return *full, boots


def randomization_p(xa: np.ndarray, xb: np.ndarray, stat: Callable[..., float],
                    codes: np.ndarray | None, diff: float, *, seed: int = 0,
                    n_perm: int = 2000) -> float:
    """Two-sided p of the paired approximate randomization test of stat(A) − stat(B) = `diff`:
    under the null the two systems' values of an item are exchangeable, so each item's pair is
    swapped or not, and p is the share of swaps whose |difference| reaches |diff|, ties
    counted (Noreen 1989; Riezler & Maxwell 2005; `sacrebleu --paired-ar` counts only those
    strictly beyond it, which on 8 differing sentences gave 0.0001 where the exact p is 2/256).
    Items whose two values are the same change nothing when swapped: with k items that
    differ, every one of the 2^k swaps is counted where 2^k <= n_perm (an exact test: 4
    differing items can give no less than 2/16), else n_perm random ones, p = (1 + count) /
    (n_perm + 1). `codes`: the strata, as `stat` takes them (a swap keeps every item in its
    stratum)."""
    if diff == 0:
        return 1.0
    differ = np.flatnonzero(np.any((xa != xb).reshape(len(xa), -1), axis=1))
    k = len(differ)
    if k == 0:
        return 1.0
    exact = k <= 30 and 2 ** k <= n_perm
    if exact:  # every swap of the k items, once
        bits = np.arange(2 ** k, dtype=np.int64)[:, None] >> np.arange(k, dtype=np.int64)
        swaps = (bits & 1).astype(bool)
    elif (weights := _LINEAR.get(stat) if xa.ndim == 1 else None) is not None \
            and n_perm * len(xa) <= _SIGNS_KEPT:
        # n_perm random swaps of a linear statistic: one product with the swaps' signs over
        # every item (those alike weigh 0), the signs kept for the next pair
        delta = weights(codes, len(xa)) * (xa - xb)
        d = _swap_signs(seed, n_perm, len(xa)) @ delta
        hits = int(np.sum(np.abs(d) >= abs(diff) - 1e-12 * max(1.0, abs(diff))))
        return float(min((1 + hits) / (n_perm + 1), 1.0))
    else:  # n_perm random ones (the same for every pair compared on as many items)
        swaps = _swap_draws(seed, n_perm, len(xa))[:, differ]
    d = _swapped_differences(xa, xb, stat, codes, differ, swaps)
    hits = int(np.sum(np.abs(d) >= abs(diff) - 1e-12 * max(1.0, abs(diff))))
    p = hits / len(swaps) if exact else (1 + hits) / (n_perm + 1)
    return float(min(p, 1.0))


def _swapped_differences(xa: np.ndarray, xb: np.ndarray, stat: Callable[..., float],
                         codes: np.ndarray | None, differ: np.ndarray, swaps: np.ndarray
                         ) -> np.ndarray:
    """stat(A') − stat(B') for each row of `swaps` (which of the items `differ` swap)."""
    weights = _LINEAR.get(stat) if xa.ndim == 1 else None
    if weights is not None:
        # a mean, or a mean of stratum means: linear in the items, so a swap's difference is
        # the signed sum of the items' weighted differences (swapped item by item, 2,000
        # swaps of 45 pairs took seconds of a ten-model report)
        delta = weights(codes, len(xa))[differ] * (xa[differ] - xb[differ])
        step = max(1, _BLOCK // len(differ))
        return np.concatenate([(1.0 - 2.0 * swaps[i:i + step]) @ delta
                               for i in range(0, len(swaps), step)])
    of_sums = getattr(stat, "of_sums", None)  # stat(x) = of_sums(x.sum(axis=0))
    if of_sums is not None and codes is None:
        # a function of summed statistics (corpus BLEU/chrF): each swap moves its items'
        # differences from one sum to the other (a copy of both systems' arrays per swap
        # made the test 2.4 times the bootstrap's time; a review's)
        shape = xa.shape[1:]
        moved = swaps.astype(float) @ (xa[differ] - xb[differ]).reshape(len(differ), -1)
        sum_a, sum_b = xa.sum(axis=0).reshape(-1), xb.sum(axis=0).reshape(-1)
        return np.fromiter((float(of_sums((sum_a - m).reshape(shape)))
                            - float(of_sums((sum_b + m).reshape(shape))) for m in moved),
                           dtype=float, count=len(swaps))
    out = np.empty(len(swaps))
    for i, row in enumerate(swaps):
        a, b = xa.copy(), xb.copy()
        idx = differ[row]
        a[idx], b[idx] = xb[idx], xa[idx]
        out[i] = (float(stat(a)) - float(stat(b)) if codes is None
                  else float(stat(a, codes)) - float(stat(b, codes)))
    return out


# stat -> each item's weight in it, for a statistic that is a weighted sum of scalar item
# values: w(codes, n) with stat(x) = w @ x (a mean's 1/n; a mean of stratum means' 1/(S n_s))
_LINEAR: dict[Callable[..., float], Callable[[np.ndarray | None, int], np.ndarray]] = {
    np.mean: lambda _codes, n: np.full(n, 1.0 / n),
}


def register_linear(stat: Callable[..., float],
                    weights: Callable[[np.ndarray | None, int], np.ndarray]) -> None:
    """Declare `stat` the weighted sum of its items, `weights(codes, n)` their weights."""
    _LINEAR[stat] = weights


_SIGNS_KEPT = 1 << 23  # values of a kept signs matrix, at most (64 MiB)
_kept_signs: dict[tuple[int, int, int], np.ndarray] = {}


def _swap_signs(seed: int, n_perm: int, n: int) -> np.ndarray:
    """`_swap_draws` as signs, −1 where an item is swapped and +1 where not (kept alike)."""
    key = (seed, n_perm, n)
    if (got := _kept_signs.get(key)) is None:
        _kept_signs.clear()
        got = np.where(_swap_draws(seed, n_perm, n), -1.0, 1.0)
        got.flags.writeable = False
        _kept_signs[key] = got
    return got


_kept_swaps: dict[tuple[int, int, int], np.ndarray] = {}


def _swap_draws(seed: int, n_perm: int, n: int) -> np.ndarray:
    """Whether each of n items is swapped in each of n_perm draws: one draw per (seed, n_perm,
    n), kept for the next pair of models compared on as many items (a report's 45 pairs each
    drew their own); a pair takes the columns of the items its models differ on."""
    key = (seed, n_perm, n)
    if (got := _kept_swaps.get(key)) is None:
        _kept_swaps.clear()  # the last size only
        got = np.random.default_rng([seed, 2024]).random((n_perm, n)) < 0.5
        got.flags.writeable = False
        _kept_swaps[key] = got
    return got


# The resamples' indices depend only on the seed, the number of items and their strata, so
# every pair of models compared on the same items draws the same ones: the blocks last drawn
# are kept (up to _KEPT_BYTES) and handed to the next pair. A 10-model report compares 45
# pairs per benchmark, and drawing within strata (`rng.integers` with a bound per position)
# costs ~0.17 s per 2,000 resamples of 1,000 items.
_KEPT_BYTES = 128 << 20
_kept_blocks: dict[tuple[Any, ...], tuple[np.ndarray, ...]] = {}


def _blocks(codes: np.ndarray | None, n: int, seed: int, n_boot: int
            ) -> tuple[np.ndarray, ...]:
    """The index blocks of `n_boot` resamples of n items, as `default_rng(seed)` draws them
    block by block (`_draw`), each at most _BLOCK values."""
    key = (seed, n_boot, n, _BLOCK, None if codes is None else codes.tobytes())
    if (kept := _kept_blocks.pop(key, None)) is not None:
        _kept_blocks[key] = kept  # the most recently used last
        return kept
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK // max(n, 1))
    small = np.int16 if n <= np.iinfo(np.int16).max else np.int32
    out = []
    for start in range(0, n_boot, block):
        idx = _draw(codes, n, rng, min(block, n_boot - start)).astype(small)
        idx.flags.writeable = False  # shared by every pair that draws the same
        out.append(idx)
    blocks = tuple(out)
    size = sum(b.nbytes for b in blocks)
    if size <= _KEPT_BYTES:
        while _kept_blocks and size + sum(
                b.nbytes for bs in _kept_blocks.values() for b in bs) > _KEPT_BYTES:
            del _kept_blocks[next(iter(_kept_blocks))]
        _kept_blocks[key] = blocks
    return blocks


# A model's statistic over the resamples depends only on its values and the resamples, so
# a model compared with 9 others on the same items (a 10-model report) has it computed once,
# not 9 times: the last _KEPT_STATS are kept, keyed by their inputs' bytes. Subtracting the
# two models' kept statistics gives the differences the pair's own blocks would (the same
# operations on the same numbers).
_KEPT_STATS = 512
_kept_stats: dict[tuple[Any, ...], np.ndarray] = {}


def _boot_stats(x: np.ndarray, batched: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
                codes: np.ndarray | None, blocks: tuple[np.ndarray, ...], seed: int
                ) -> np.ndarray:
    """batched(x[idx], codes) of every resample in `blocks` (drawn by `_blocks` from `seed`),
    in order."""
    key = (batched, seed, tuple(b.shape for b in blocks), x.dtype.str, x.shape, x.tobytes(),
           None if codes is None else codes.tobytes())
    if (kept := _kept_stats.pop(key, None)) is not None:
        _kept_stats[key] = kept  # the most recently used last
        return kept
    got = np.concatenate([batched(x[idx], codes) for idx in blocks])
    got.flags.writeable = False
    while len(_kept_stats) >= _KEPT_STATS:
        del _kept_stats[next(iter(_kept_stats))]
    _kept_stats[key] = got
    return got


def _draw(codes: np.ndarray | None, n: int, rng: np.random.Generator, rows: int
          ) -> np.ndarray:
    """`rows` resamples' indices, shape (rows, n): the draws `rows` loop iterations make."""
    if codes is None:
        return rng.integers(0, n, (rows, n))
    order, first, width = _cells(codes)
    return order[first + rng.integers(0, width, (rows, n))]


def stratum_codes(labels: Sequence[Hashable]) -> np.ndarray:
    """Each label's stratum as an integer 0..S−1, in order of first appearance."""
    index: dict[Hashable, int] = {}
    return np.fromiter((index.setdefault(x, len(index)) for x in labels), dtype=np.intp,
                       count=len(labels))


def _cells(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, first, width): position j draws from order[first[j] : first[j] + width[j]],
    its own stratum, or the pool of single-item strata (see `paired_bootstrap`)."""
    counts = np.bincount(codes)
    cell = np.where(counts[codes] >= 2, codes, -1)  # -1: the collapsed single-item strata
    order = np.argsort(cell, kind="stable")  # the positions of each cell, contiguous
    _, start, size = np.unique(cell[order], return_index=True, return_counts=True)
    # for each position, its cell's offset and size in `order`
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return order, np.repeat(start, size)[rank], np.repeat(size, size)[rank]


def _within_strata(codes: np.ndarray, rng: np.random.Generator, n_boot: int
                   ) -> Iterator[np.ndarray]:
    """`n_boot` index arrays, each position drawn from its resampling stratum."""
    order, first, width = _cells(codes)
    for _ in range(n_boot):
        yield order[first + rng.integers(0, width)]
