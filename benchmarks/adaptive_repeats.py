"""Adaptive repeats on synthetic benchmarks: is the score unbiased, does its 95% CI cover?

Each synthetic benchmark draws n items' true success probabilities p_i from a scenario, then
0/1 samples of every item. Rules compared, each with the tool's own CI (`summarize`):

* auto: `runner.adaptive.another_round`, the rule `--repeats auto` runs (2 repeats of every item,
  then rounds of every item while the resampling SE > target, at most max);
* per-item: the rejected rule, 2 samples of an item, then max only if the two disagree, the
  item scored by the mean of its samples;
* fixed max: every item sampled max times (the cost baseline).

Coverage is against the benchmark's own truth (the mean of its n p_i, "known") and against the
scenario's mean (the super-population of items that Miller's SE describes). "used" is the
share of the fixed-max samples a rule drew: 1 - used is what it saves.

    python benchmarks/adaptive_repeats.py [--sims 1000] [--items 200] [--max 10] [--scenario S]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shootout.analysis.stats import summarize
from shootout.runner.adaptive import AdaptiveRepeats, another_round

Draw = Callable[[np.random.Generator, int], np.ndarray]


def _mostly_decided(rng: np.random.Generator, n: int) -> np.ndarray:
    u = rng.random(n)
    return np.where(u < 0.45, 1.0, np.where(u < 0.8, 0.0, rng.random(n)))


# scenario -> (draw p_1..p_n, the scenario's mean p)
SCENARIOS: dict[str, tuple[Draw, float]] = {
    "mostly decided": (_mostly_decided, 0.45 + 0.2 * 0.5),
    "U-shaped": (lambda rng, n: rng.beta(0.5, 0.5, n), 0.5),
    "hard": (lambda rng, n: rng.uniform(0.05, 0.35, n), 0.2),
    "easy": (lambda rng, n: rng.beta(5.0, 1.0, n), 5.0 / 6.0),
}
RULES = ("auto", "per-item", "fixed max")


@dataclass(frozen=True)
class Row:
    scenario: str
    rule: str
    bias: float
    rmse: float
    se: float
    coverage: float  # of the benchmark's own mean p
    coverage_super: float  # of the scenario's mean p
    used: float  # samples drawn / samples at fixed max


def resampling_se(s: np.ndarray) -> float:
    """`Summary.resampling_se` of items that all have s.shape[1] >= 2 samples, at once:
    sqrt(Σ_i σ̂_i²/K)/n (the unit tests check it against `summarize`)."""
    n, k = s.shape
    return float(math.sqrt(np.sum(s.var(axis=1, ddof=1) / k)) / n)


def _auto(s: np.ndarray, rule: AdaptiveRepeats) -> list[list[float]]:
    rounds = rule.min_repeats
    while another_round(resampling_se(s[:, :rounds]), rounds, rule)[0]:
        rounds += 1
    return s[:, :rounds].tolist()


def _per_item(s: np.ndarray) -> list[list[float]]:
    return [row if row[0] != row[1] else row[:2] for row in s.tolist()]


def simulate(scenario: str, *, sims: int, items: int, max_repeats: int = 10,
             target_se: float = 0.01, seed: int = 0) -> list[Row]:
    """One row per rule: bias, RMSE, mean SE, coverage and samples used over `sims`
    synthetic benchmarks of `items` items."""
    draw, super_mean = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    rule = AdaptiveRepeats(target_se=target_se, max_repeats=max_repeats)
    acc: dict[str, list[tuple[float, float, bool, bool, int]]] = {r: [] for r in RULES}
    for _ in range(sims):
        p = draw(rng, items)
        truth = float(p.mean())
        s = (rng.random((items, max_repeats)) < p[:, None]).astype(float)
        for name, scores in (("auto", _auto(s, rule)), ("per-item", _per_item(s)),
                             ("fixed max", s.tolist())):
            sm = summarize(scores)
            acc[name].append((sm.mean - truth, sm.se, sm.ci_low <= truth <= sm.ci_high,
                              sm.ci_low <= super_mean <= sm.ci_high, sm.n_samples))
    rows = []
    for name, res in acc.items():
        err = np.array([r[0] for r in res])
        rows.append(Row(scenario, name, float(err.mean()), float(math.sqrt(np.mean(err ** 2))),
                        float(np.mean([r[1] for r in res])),
                        float(np.mean([r[2] for r in res])), float(np.mean([r[3] for r in res])),
                        float(np.mean([r[4] for r in res])) / (items * max_repeats)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--items", type=int, default=200)
    ap.add_argument("--max", type=int, default=10)
    ap.add_argument("--target-se", type=float, default=0.01)
    ap.add_argument("--scenario", choices=list(SCENARIOS), action="append",
                    help="only this scenario (repeatable; default: all)")
    args = ap.parse_args()
    print(f"{args.sims} synthetic benchmarks per scenario, {args.items} items, max "
          f"{args.max} repeats, target resampling SE {args.target_se:g}; nominal 95% CIs\n")
    print("| scenario | rule | bias | RMSE | mean SE | coverage | coverage (super) | "
          "samples used | saved |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for scenario in args.scenario or SCENARIOS:
        for r in simulate(scenario, sims=args.sims, items=args.items, max_repeats=args.max,
                          target_se=args.target_se):
            print(f"| {r.scenario} | {r.rule} | {r.bias:+.4f} | {r.rmse:.4f} | {r.se:.4f} | "
                  f"{r.coverage:.1%} | {r.coverage_super:.1%} | {r.used:.0%} | "
                  f"{1 - r.used:.0%} |")


if __name__ == "__main__":
    main()
