"""Routing policies: the hybrid of several models, as a number beside each single model.

A use-case profile weights domains; a domain's score is the unweighted mean of its benchmarks
(`takeaways.domain_scores`). So a request mix that follows the profile sends a share
ω_b = (w_d / Σ w) / k_d of its traffic to benchmark b of domain d (k_d benchmarks), and a
model's profile quality is Σ_b ω_b q_b. A *policy* sends each unit (a domain, or a benchmark)
to one model; its expected quality is Σ_b ω_b q_{route(b), b} and its cost per 1,000 requests
1000 · Σ_b ω_b c_{route(b), b}, c the model's measured cost per item on b. Two policies, each by
domain and by benchmark:

* best profile score: each unit to the model with the highest profile score on it —
  (W_q q_u + W_c cs_u + W_l ls_u) / (W_q + W_c + W_l), the profile's own formula
  (`profiles.rank_profile`) on the unit alone: cs_u = cheapest cost on u / this model's,
  ls = fastest median latency / this model's (latency is measured per model, not per unit);
* cheapest within X points: each unit to the cheapest model whose quality on it is within X
  points of the best model's there (needs a cost for every model on every unit).

A policy's own profile score uses its quality, its cost on the mix relative to the cheapest
single model's (above 1 when routing is cheaper than every model) and the mix's mean of the
routed models' median latencies relative to the fastest model's.

Intervals: a paired bootstrap over items. Each resample draws, per benchmark, the items the
models share with replacement, the same draw for every model, so policies and single models
are compared on the same resamples (as `bootstrap.paired_bootstrap` does for two models);
percentile intervals of the quality and of the difference to the best single model. The routes
are chosen once, on all the items, and held fixed: the interval is that of the routing table as
deployed. Choosing on the same items that evaluate it flatters a policy (a unit goes to the
model that happened to do better there), so a gain within its interval of 0 is no evidence for
routing. Scores are item means (each item's repeats averaged first) over the items every model
answered; a benchmark whose compared metric is not an item mean (pass@k, corpus BLEU, a subject
average) is left out. Seeded: the same samples give the same intervals.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .profiles import SAME_COST, Profile, relative
from .stats import z_quantile
from .takeaways import normalize_domain

DEFAULT_WITHIN = 2.0  # points: "cheapest within 2 points of the best"
N_BOOT = 2000
_CHUNK = 100  # resamples drawn at once (memory: chunk x items x models floats)

Key = tuple[str, str]  # (model, benchmark)


@dataclass(frozen=True)
class Policy:
    """A single model (`routes` all to it) or a routing policy, with its figures on the
    profile's request mix. diff*: against the best single model, paired."""

    name: str
    kind: str  # "model" or "routing"
    routes: Mapping[str, str]  # unit (domain or benchmark) -> model
    quality: float
    ci_low: float
    ci_high: float
    diff: float
    diff_low: float
    diff_high: float
    cost_per_1k: float | None
    score: float  # the profile score (quality, cost and latency weighted)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.routes.values()))


@dataclass(frozen=True)
class Routing:
    profile: str
    within: float  # points
    benchmarks: tuple[str, ...]  # routed, in order
    domains: tuple[str, ...]
    shares: Mapping[str, float]  # benchmark -> share of the requests
    singles: tuple[Policy, ...]  # every model
    policies: tuple[Policy, ...]
    best_single: str
    left_out: Mapping[str, str]  # benchmark -> why it is not routed
    notes: tuple[str, ...]
    n_boot: int
    seed: int
    confidence: float

    @property
    def best(self) -> Policy:
        """The routing policy with the highest profile score (the first listed on a tie)."""
        return max(self.policies, key=lambda p: p.score)

    @property
    def single(self) -> Policy:
        return next(p for p in self.singles if p.name == self.best_single)


@dataclass(frozen=True)
class Measured:
    """What the runs measured. `items`: each (model, benchmark)'s item scores (a list of
    repeats per item); `item_level`: False where the compared metric is not the mean of
    those; `cost_per_item`: USD per item of each (model, benchmark); `latency`: each model's
    median latency (ms); `latency_note`: why there is none for every model, where the
    reason is not missing data."""

    bench_domain: Mapping[str, str]
    items: Mapping[Key, Mapping[str, Sequence[float]]]
    item_level: Mapping[Key, bool] = field(default_factory=dict)
    cost_per_item: Mapping[Key, float] = field(default_factory=dict)
    latency: Mapping[str, float] = field(default_factory=dict)
    latency_note: str = ""


@dataclass(frozen=True)
class _Bench:
    name: str
    domain: str
    share: float
    x: np.ndarray  # models x shared items: item means


@dataclass(frozen=True)
class _Mix:
    """The routed benchmarks and everything a policy is scored with."""

    models: tuple[str, ...]
    benches: tuple[_Bench, ...]
    full: np.ndarray  # benchmarks x models: the scores on all shared items
    boots: np.ndarray  # benchmarks x models x resamples
    cost: np.ndarray | None  # benchmarks x models: USD per item
    lat: np.ndarray | None  # per model
    weights: tuple[float, float, float]  # quality, cost, latency (the parts with data)

    @property
    def share(self) -> np.ndarray:
        return np.asarray([b.share for b in self.benches])

    def picks(self, route: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """(benchmark rows, the model each goes to) for fancy indexing."""
        return (np.arange(len(self.benches)),
                np.asarray([route[b.name] for b in self.benches]))


FEW_ITEMS = 30  # items a benchmark below which the routing section warns of its intervals


def routings(
    profiles: Sequence[Profile],
    models: Sequence[str],
    measured: Measured,
    *,
    within: float = DEFAULT_WITHIN,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[Routing]:
    """`routing` of each profile that has one, building each benchmark's models x items
    matrix and drawing its resamples once."""
    cache = _Kept()
    out = [routing(p, models, measured, within=within, n_boot=n_boot, seed=seed,
                   confidence=confidence, _cache=cache) for p in profiles]
    return [r for r in out if r is not None]


def routing(
    profile: Profile,
    models: Sequence[str],
    measured: Measured,
    *,
    within: float = DEFAULT_WITHIN,
    n_boot: int = N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    _cache: _Kept | None = None,
) -> Routing | None:
    """The profile's routing policies and single models on its request mix (module doc); None
    with fewer than two models or no domain of the profile that every model was measured
    in."""
    z_quantile(confidence)
    if len(models) < 2 or n_boot < 2 or not math.isfinite(within) or within < 0:
        return None
    kept = _Kept() if _cache is None else _cache
    benches, left_out = _benches(profile, models, measured, kept.matrices)
    if not benches:
        return None
    notes: list[str] = []
    fewest = min(b.x.shape[1] for b in benches)
    if fewest < FEW_ITEMS:  # a percentile bootstrap over a handful of items runs narrow
        notes.append(f"the intervals are bootstrap percentiles over as few as {fewest} "
                     f"item{'s' if fewest != 1 else ''} a benchmark, which run too narrow at "
                     "that size: the head-to-head's tests are the ones to read")
    cost = _costs(benches, models, measured.cost_per_item, profile, notes)
    lat = _latency(models, measured, profile, notes)
    mix = _Mix(tuple(models), tuple(benches), np.stack([b.x.mean(axis=1) for b in benches]),
               _resample(benches, n_boot, seed, kept.resamples), cost, lat,
               _weights(profile, benches, cost, lat))
    units_d = {b.name: b.domain for b in benches}
    units_b = {b.name: b.name for b in benches}
    plans: list[tuple[str, dict[str, str], dict[str, int]]] = []
    for unit_name, units in (("domain", units_d), ("benchmark", units_b)):
        if unit_name == "benchmark" and len(set(units_d.values())) == len(units_d):
            continue  # one benchmark a domain: routing by benchmark is routing by domain
        plans.append((f"best profile score by {unit_name}", units, _route_best(mix, units)))
        if cost is not None:
            plans.append((f"cheapest within {within:g} points by {unit_name}", units,
                          _route_cheapest(mix, units, within / 100)))

    alone = [dict.fromkeys(units_d, i) for i in range(len(models))]
    best_i = max(range(len(models)), key=lambda i: (_profile_score(mix, alone[i]), -i))
    base = _values(mix, alone[best_i])
    singles = tuple(_policy(mix, m, "model", {b: m for b in units_d}, alone[i], base,
                            confidence) for i, m in enumerate(models))
    policies = tuple(_policy(mix, name, "routing", {u: models[route[b]] for b, u in units.items()},
                             route, base, confidence) for name, units, route in plans)
    return Routing(
        profile=profile.name, within=within, benchmarks=tuple(b.name for b in benches),
        domains=tuple(dict.fromkeys(b.domain for b in benches)),
        shares={b.name: b.share for b in benches}, singles=singles, policies=policies,
        best_single=models[best_i], left_out=left_out, notes=tuple(notes), n_boot=n_boot,
        seed=seed, confidence=confidence)


@dataclass
class _Kept:
    """What `routings` computes once for all its profiles (each a function of the measured
    items and the models, not of the profile): per benchmark, its models x shared items
    matrix, and its resampled means."""

    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    resamples: dict[str, np.ndarray] = field(default_factory=dict)


def _benches(profile: Profile, models: Sequence[str], measured: Measured,
             matrices: dict[str, np.ndarray]) -> tuple[list[_Bench], dict[str, str]]:
    """The routed benchmarks of the profile's domains, each with its share of the requests
    and its models x shared items matrix (kept in `matrices` for the next profile); the
    benchmarks left out, and why."""
    dw = profile.domain_weights
    items = measured.items
    left: dict[str, str] = {}
    by_dom: dict[str, list[str]] = {}
    # with the benchmarks whose compared metric is not a mean of item scores (a corpus
    # chrF has none): they were left out of the mix without a word (an audit's)
    for bench in sorted({b for (_, b) in items}
                        | {b for (_, b), level in measured.item_level.items() if not level}):
        dom = normalize_domain(measured.bench_domain.get(bench, "other"))
        if dom not in dw:
            continue
        if any(not measured.item_level.get((m, bench), True) for m in models):
            left[bench] = "its compared metric is not a mean of item scores"
            continue
        if any((m, bench) not in items for m in models):
            left[bench] = "not every model has item scores"
            continue
        if bench not in matrices:
            shared = sorted(set.intersection(*(set(items[(m, bench)]) for m in models)))
            matrices[bench] = np.asarray([[_mean(items[(m, bench)][i]) for i in shared]
                                          for m in models])
        if not matrices[bench].shape[1]:
            left[bench] = "the models share no item"
            continue
        by_dom.setdefault(dom, []).append(bench)
    total = sum(dw[d] for d in by_dom)
    out = []
    for dom in (d for d in dw if d in by_dom):
        for bench in by_dom[dom]:
            out.append(_Bench(bench, dom, dw[dom] / total / len(by_dom[dom]), matrices[bench]))
    return out, left


def _mean(repeats: Sequence[float]) -> float:
    return sum(repeats) / len(repeats)  # np.mean costs 20x more on a few repeats


def _costs(benches: list[_Bench], models: Sequence[str], cost: Mapping[Key, float],
           profile: Profile, notes: list[str]) -> np.ndarray | None:
    """benchmarks x models cost per item, or None unless every one is known."""
    vals = [[cost.get((m, b.name)) for m in models] for b in benches]
    if any(v is None or not math.isfinite(v) for row in vals for v in row):
        if profile.weights.get("cost", 0) > 0:
            notes.append("cost weight dropped: no cost for every model on every benchmark")
        notes.append("no cost for every model on every benchmark: the cheapest-within policy "
                     "is not computed")
        return None
    arr = np.asarray(vals, dtype=float)
    if len(models) >= 2 and arr.size and np.allclose(arr, arr[:, :1], rtol=1e-9, atol=1e-15):
        # every model costs the same on every benchmark (all local, $0): dropped, as the
        # ranking drops it (`profiles._aux_weight`); counted, the routing table's profile
        # scores were not the ranking's (a review's)
        if profile.weights.get("cost", 0) > 0:
            notes.append(f"cost weight dropped: {SAME_COST}")
        # (it said "no cost for every model" of models whose every cost was known)
        notes.append(f"the cheapest-within policy is not computed: {SAME_COST}")
        return None
    return arr


def _latency(models: Sequence[str], measured: Measured, profile: Profile,
             notes: list[str]) -> np.ndarray | None:
    if profile.weights.get("latency", 0) <= 0:
        return None
    vals = [measured.latency.get(m) for m in models]
    if any(v is None or not math.isfinite(v) for v in vals):
        notes.append("latency weight dropped: "
                     + (measured.latency_note or "no latency for every model"))
        return None
    return np.asarray(vals, dtype=float)


def _weights(profile: Profile, benches: list[_Bench], cost: np.ndarray | None,
             lat: np.ndarray | None) -> tuple[float, float, float]:
    """The profile's quality, cost and latency weights, over the parts with data."""
    wq = sum(profile.domain_weights[d] for d in {b.domain for b in benches})
    wc = profile.weights.get("cost", 0.0) if cost is not None else 0.0
    wl = profile.weights.get("latency", 0.0) if lat is not None else 0.0
    return wq, wc, wl


def _relative(mine: float, of: np.ndarray) -> float:
    """`profiles.relative` of `mine` among the figures `of` (the best is their least; beside
    a free model, a priced one's is scaled by the cheapest priced figure)."""
    priced = of[of > 0]
    return relative(mine, float(of.min()), float(priced.min()) if priced.size else None)


def _unit_scores(mix: _Mix, idx: list[int]) -> list[float]:
    """Each model's profile score on the benchmarks `idx` (one unit)."""
    w = mix.share[idx]
    q = w @ mix.full[idx] / w.sum()
    wq, wc, wl = mix.weights
    c = w @ mix.cost[idx] / w.sum() if mix.cost is not None and wc else None
    out = []
    for m in range(len(mix.models)):
        s = wq * float(q[m])
        if c is not None:
            s += wc * _relative(float(c[m]), c)
        if mix.lat is not None and wl:
            s += wl * _relative(float(mix.lat[m]), mix.lat)
        out.append(s / (wq + wc + wl))
    return out


def _groups(mix: _Mix, units: Mapping[str, str]) -> list[list[int]]:
    pos = {b.name: i for i, b in enumerate(mix.benches)}
    out: dict[str, list[int]] = {}
    for bench, unit in units.items():
        out.setdefault(unit, []).append(pos[bench])
    return list(out.values())


def _route_best(mix: _Mix, units: Mapping[str, str]) -> dict[str, int]:
    route: dict[str, int] = {}
    for idx in _groups(mix, units):
        s = _unit_scores(mix, idx)
        pick = s.index(max(s))  # the first model listed on a tie
        route.update({mix.benches[i].name: pick for i in idx})
    return route


def _route_cheapest(mix: _Mix, units: Mapping[str, str], within: float) -> dict[str, int]:
    assert mix.cost is not None
    route: dict[str, int] = {}
    for idx in _groups(mix, units):
        w = mix.share[idx]
        q, c = w @ mix.full[idx] / w.sum(), w @ mix.cost[idx] / w.sum()
        ok = [m for m in range(len(q)) if q[m] >= q.max() - within - 1e-12]
        pick = min(ok, key=lambda m: (c[m], -q[m], m))
        route.update({mix.benches[i].name: pick for i in idx})
    return route


def _cost_per_1k(mix: _Mix, route: Mapping[str, int]) -> float | None:
    if mix.cost is None:
        return None
    return 1000.0 * float(mix.share @ mix.cost[mix.picks(route)])


def _profile_score(mix: _Mix, route: Mapping[str, int]) -> float:
    """A policy's profile score: its quality, and its cost and latency on the request mix
    relative to the best single model's (as a ranking scores a model)."""
    wq, wc, wl = mix.weights
    rows, pick = mix.picks(route)
    s = wq * float(mix.share @ mix.full[rows, pick])
    if mix.cost is not None and wc:
        s += wc * _relative(float(mix.share @ mix.cost[rows, pick]), mix.share @ mix.cost)
    if mix.lat is not None and wl:
        s += wl * _relative(float(mix.share @ mix.lat[pick]), mix.lat)
    return s / (wq + wc + wl)


def _resample(benches: list[_Bench], n_boot: int, seed: int,
              cache: dict[str, np.ndarray]) -> np.ndarray:
    """benchmarks x models x resamples: each model's mean over the same resampled items. A
    benchmark's draws are seeded by its name, so they do not depend on the other benchmarks
    routed with it, and are kept in `cache` for the next profile."""
    out = []
    for b in benches:
        if b.name not in cache:
            rng = np.random.default_rng([seed, zlib.crc32(b.name.encode())])
            n, means = b.x.shape[1], np.empty((b.x.shape[0], n_boot))
            finite = bool(np.isfinite(b.x).all())
            for start in range(0, n_boot, _CHUNK):
                size = min(_CHUNK, n_boot - start)
                idx = rng.integers(0, n, (size, n))
                if finite:  # each resample's mean as its items' counts times the values
                    means[:, start:start + size] = (b.x @ _counts(idx, n).T) / n
                    continue
                for m, row in enumerate(b.x):  # row by row: 3x faster than x[:, idx]
                    means[m, start:start + size] = row[idx].mean(axis=1)
            cache[b.name] = means
        out.append(cache[b.name])
    return np.stack(out)


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How many times each of n items is drawn in each row of `idx` (rows x n): a row's
    mean is then one product with the values for every model (indexing the values with
    `idx` model by model took most of a 10-model report's routing: 0.7 s at 1,147 items)."""
    rows = idx.shape[0]
    flat = (idx + (np.arange(rows, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def _values(mix: _Mix, route: Mapping[str, int]) -> tuple[float, np.ndarray]:
    """A policy's quality on all items and on each resample."""
    rows, pick = mix.picks(route)
    return float(mix.share @ mix.full[rows, pick]), mix.share @ mix.boots[rows, pick, :]


def _policy(mix: _Mix, name: str, kind: str, shown: Mapping[str, str],
            route: Mapping[str, int], base: tuple[float, np.ndarray], confidence: float
            ) -> Policy:
    q, qs = _values(mix, route)
    a = (1.0 - confidence) / 2
    lo, hi = np.quantile(qs, [a, 1 - a])
    dlo, dhi = np.quantile(qs - base[1], [a, 1 - a])
    return Policy(name, kind, dict(shown), q, float(lo), float(hi), q - base[0], float(dlo),
                  float(dhi), _cost_per_1k(mix, route), _profile_score(mix, route))
