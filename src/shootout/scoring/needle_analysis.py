"""Needle in a haystack: the analysis of one model's scored cells, and the grid models share.

Heatmap (length x depth), per-length and per-position accuracy, the lost-in-the-middle gap,
the effective length (RULER's 85.6% threshold), and their standard errors.

Standard errors are clustered (Miller 2024, "Adding Error Bars to Evals", §4; the estimator
is `analysis.stats.clustered_se`): the items of one length are not independent draws. Every
prompt of length L is built from the same filler (the same corpus sentences from the start,
cut only at the end) and differs only in where the needle sits and in its key and value, so
one haystack that happens to be easy or hard moves all of them together; the trials at one
depth even share the needle's neighbouring sentences. The independent unit is therefore the
haystack (one per haystack text and length), not the item.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis.stats import normal_interval, summarize, z_quantile

BUCKETS = {"beginning": (0.0, 20.0), "middle": (40.0, 60.0), "end": (80.0, 100.0)}
# RULER's threshold: Llama-2-7B's score at 4K, 85.6% (NVIDIA/RULER README.md); met when equalled
EFFECTIVE_THRESHOLD = 0.856


@dataclass(frozen=True)
class Item:
    length: int
    depth: float  # percent, as requested
    acc: float  # mean over repeats
    recall: float
    strict: float | None = None  # first-number exact match, mean over repeats
    haystack: str = ""
    trial: int = 0


# -- clustered means -------------------------------------------------------------------------
def clusters_for(items: Sequence[Item]) -> tuple[str, list[Hashable]]:
    """The coarsest level at which `items` form at least two clusters, and each item's label.

    Haystack x length first (see the module doc). Within a single length there is only one
    haystack, whose own luck cannot be estimated from itself; the next level that still
    shares most of the prompt is the (length, depth) cell: its trials put the needle in the
    same place of the same text. A single cell falls back to the items (no clustering)."""
    levels: tuple[tuple[str, Any], ...] = (
        ("haystack x length", lambda i: (i.haystack, i.length)),
        ("haystack x length x depth", lambda i: (i.haystack, i.length, i.depth)),
    )
    for name, key in levels:
        labels = [key(i) for i in items]
        if len(set(labels)) >= 2:
            return name, labels
    return "item", list(range(len(items)))


def clustered_stat(values: Sequence[float], clusters: Sequence[Hashable] | None,
                   level: str = "item") -> dict[str, Any]:
    """Mean, SE and 95% CI of item values, by `analysis.stats.summarize`: with `clusters` its
    SE is `clustered_se` (Miller 2024 eq. 4) and the CI of 0/1 items Wilson's at the
    clustered effective sample size; without, the item SE and Wilson's interval.

    The clustered SE is never reported below the unclustered one. A grid has few haystacks
    (4 lengths for 1K-8K), and with few clusters the cluster-robust variance is biased down
    and noisy (Cameron & Miller 2015, "A Practitioner's Guide to Cluster-Robust Inference",
    §VI): two lengths with similar means give a clustered SE of half the item SE, although
    items sharing a haystack are not negatively correlated. Taking the larger of the two is
    the usual guard (Angrist & Pischke 2009, §8.2); `summarize`'s effective n is capped at n
    for the same reason, so the CI agrees."""
    if not values:
        return {"acc": None, "stderr": None, "n": 0, "ci": [None, None], "ci_method": None,
                "clusters": level}
    sm = summarize([[v] for v in values], clusters=clusters)
    se = sm.se
    if clusters is not None:
        iid = summarize([[v] for v in values]).se
        se = iid if math.isfinite(iid) and not se >= iid else se
    finite = math.isfinite(sm.ci_low) and math.isfinite(sm.ci_high)
    return {"acc": sm.mean, "stderr": se if math.isfinite(se) else None, "n": sm.n,
            "ci": [sm.ci_low, sm.ci_high] if finite else [None, None],
            "ci_method": sm.ci_method, "clusters": level}


def item_stat(items: Sequence[Item], attr: str = "acc") -> dict[str, Any]:
    """`clustered_stat` of one attribute over items, clustered as `clusters_for` says."""
    chosen = [i for i in items if getattr(i, attr) is not None]
    level, labels = clusters_for(chosen)
    values = [float(getattr(i, attr)) for i in chosen]
    return clustered_stat(values, None if level == "item" else labels, level)


# -- one model ------------------------------------------------------------------------------
def analyse(items: Sequence[Item], threshold: float = EFFECTIVE_THRESHOLD) -> dict[str, Any]:
    """Heatmap (length x depth), per-length and per-bucket accuracy, the lost-in-the-middle gap
    and the effective length."""
    lengths = sorted({i.length for i in items})
    depths = sorted({i.depth for i in items})
    cell: dict[tuple[int, float], list[float]] = {}
    for it in items:
        cell.setdefault((it.length, it.depth), []).append(it.acc)
    grid = [[_mean_or_none(cell.get((L, d))) for d in depths] for L in lengths]
    counts = [[len(cell.get((L, d), ())) for d in depths] for L in lengths]
    by_length = {L: item_stat([i for i in items if i.length == L]) for L in lengths}
    buckets = {
        name: {**item_stat([i for i in items if lo <= i.depth <= hi]), "range": [lo, hi]}
        for name, (lo, hi) in BUCKETS.items()
    }
    return {
        "lengths": lengths,
        "depths": depths,
        "heatmap": grid,
        "counts": counts,
        "overall": {**item_stat(items), "recall": _mean_or_none([i.recall for i in items])},
        "recall": item_stat(items, "recall"),
        "strict": item_stat(items, "strict"),
        "by_length": {str(L): v for L, v in by_length.items()},
        "buckets": buckets,
        "gap": lost_in_middle_gap(buckets),
        "effective_length": effective_length(
            {L: v["acc"] for L, v in by_length.items()}, threshold
        ),
        "threshold": threshold,
    }


def lost_in_middle_gap(buckets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """mean(beginning, end) - middle, with a normal-approximation 95% CI (kept in [-1, 1]).

    The buckets' SEs are combined as if independent; they share haystacks (the same lengths),
    which correlates them positively, so this overstates the gap's SE: conservative. A bucket
    at 0% or 100% has SE 0 but a Wilson interval of real width: its SE is then the one its
    interval implies (as `analysis.compare.cell_se` does), so a perfect grid does not report
    a gap of exactly 0 with the interval [0, 0]."""
    b, m, e = (buckets[k] for k in ("beginning", "middle", "end"))
    if not (b["n"] and m["n"] and e["n"]):
        return {"value": None, "stderr": None, "ci": [None, None]}
    value = (b["acc"] + e["acc"]) / 2 - m["acc"]
    ses = [_bucket_se(x) for x in (b, e, m)]
    if None in ses:
        return {"value": value, "stderr": None, "ci": [None, None]}
    se_b, se_e, se_m = (float(x) for x in ses if x is not None)
    se = math.sqrt(se_b**2 / 4 + se_e**2 / 4 + se_m**2)
    lo, hi = normal_interval(value, se)
    # a difference of two proportions is in [-1, 1] (it read [60.6, 139.4] points; an audit's)
    return {"value": value, "stderr": se, "ci": [max(lo, -1.0), min(hi, 1.0)]}


def _bucket_se(s: Mapping[str, Any]) -> float | None:
    if s["stderr"] is None:
        return None
    lo, hi = s["ci"]
    implied = (hi - lo) / (2 * z_quantile(0.95)) if lo is not None and hi is not None else 0.0
    return max(float(s["stderr"]), implied)


def effective_length(acc_by_length: dict[int, float], threshold: float) -> int:
    """The longest length up to which accuracy stays >= threshold (0 if the shortest fails)."""
    best = 0
    for L in sorted(acc_by_length):
        if acc_by_length[L] < threshold:
            break
        best = L
    return best


def _mean_or_none(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


# -- several models --------------------------------------------------------------------------
@dataclass(frozen=True)
class Grid:
    """The lengths, depths and trials every compared model was scored on."""

    lengths: tuple[int, ...]
    depths: tuple[float, ...]
    trials: tuple[int, ...]

    def holds(self, item: Item) -> bool:
        return item.length in self.lengths and item.depth in self.depths and (
            item.trial in self.trials)


def common_grid(grids: Iterable[Sequence[Item]]) -> Grid:
    """The grid all models share. Each model is averaged over the lengths its own window
    allows, so a small-window model's mean skips the long, hard lengths; a headline that
    compares models must average them over the same cells (the paired test already does)."""
    sets = [({i.length for i in g}, {i.depth for i in g}, {i.trial for i in g})
            for g in grids if g]
    if not sets:
        return Grid((), (), ())
    lengths, depths, trials = (set.intersection(*(s[k] for s in sets)) for k in range(3))
    return Grid(tuple(sorted(lengths)), tuple(sorted(depths)), tuple(sorted(trials)))


def coverage(items: Sequence[Item], grid: Grid, all_lengths: Sequence[int]) -> dict[str, Any]:
    """How much of the compared lengths a model covers, and how many of its items the
    common grid keeps."""
    own = sorted({i.length for i in items})
    return {
        "lengths": own,
        "common_lengths": list(grid.lengths),
        "all_lengths": sorted(all_lengths),
        "fraction": len(own) / len(all_lengths) if all_lengths else None,
        "n_items": len(items),
        "n_items_common": sum(grid.holds(i) for i in items),
    }


def token_summary(details: list[Mapping[str, Any]]) -> dict[str, Any]:
    built = [(d["prompt_tokens"], d["target_tokens"]) for d in details if "prompt_tokens" in d]
    rep = [(d["reported_prompt_tokens"], d["prompt_tokens"], d["target_tokens"])
           for d in details if d.get("reported_prompt_tokens") and "prompt_tokens" in d]
    depth = [abs(d["depth_actual"] - d["depth"]) for d in details if "depth_actual" in d]
    return {"tokens": {
        "n": len(built),
        "max_rel_error_vs_target": max((abs(p - t) / t for p, t in built), default=None),
        "n_reported": len(rep),
        "n_reported_equal_built": sum(r == p for r, p, _ in rep),
        "max_rel_error_reported_vs_target": max((abs(r - t) / t for r, _, t in rep),
                                                default=None),
        "prompt_tokens_reported": sum(r for r, _, _ in rep),
        "cached_tokens": sum(int(d.get("cached_tokens") or 0) for d in details),
        # prompts that reused a cached prefix (the grid runs shallow depths first per length)
        "prefix_cache_hits": sum(int(d.get("cached_tokens") or 0) > 0 for d in details),
        "max_depth_error_pct": max(depth, default=None),
    }}
