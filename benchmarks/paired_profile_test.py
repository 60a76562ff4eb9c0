"""A use-case profile's test against #1, paired or not: how often each says "below" (size
under no difference, power under one), on synthetic models that answer the same items.

Two models answer the same items of three benchmarks (one domain each, equal weights). Item
i of a benchmark has a difficulty d_i ~ N(0, sd) shared by both models; model A answers it
right with probability logistic(d_i + 0.4 + gap), model B with logistic(d_i + 0.4). The sd
sets how much the two models' item scores move together (0: not at all). Each simulated run
goes through the tool's own code: `summarize` for each row, `compare_pair` for each
benchmark's paired test, `domain_scores`, `rank_profile` (each score's SE on its own: the
test before 2026-12-04) and `profile_tests.paired_with_top` (the paired differences).
"Below" = the second row is not within noise of the first, with A ranked first; under gap 0
either model may rank first, and a rejection either way counts.

    python benchmarks/paired_profile_test.py [--sims 2000] [--items 200]
"""

from __future__ import annotations

import argparse

import numpy as np

from shootout.analysis.compare import compare_pair
from shootout.analysis.profile_tests import paired_with_top
from shootout.analysis.profiles import Profile, rank_profile
from shootout.analysis.stats import summarize
from shootout.analysis.takeaways import domain_scores
from shootout.scores import Score

BENCHES = {"mmlu": "knowledge", "arc": "reasoning", "gsm8k": "math"}
PROFILE = Profile("p", "", {"knowledge": 1, "reasoning": 1, "math": 1})


def _cell(model: str, bench: str, items: dict[str, list[float]]) -> Score:
    sm = summarize(list(items.values()))
    return Score("acc", sm.mean, sm.se, sm.n, sm.ci_low, sm.ci_high, model=model,
                 benchmark=bench, primary=True)


def one(rng: np.random.Generator, n: int, sd: float, gap: float) -> tuple[bool, bool]:
    """(below by the unpaired test, below by the paired one) of one simulated pair."""
    cells, items = {}, {}
    for bench in BENCHES:
        d = rng.normal(0.0, sd, n)
        for model, shift in (("A", gap), ("B", 0.0)):
            p = 1.0 / (1.0 + np.exp(-(d + 0.4 + shift)))
            got = (rng.random(n) < p).astype(float)
            items[(model, bench)] = {f"{bench}/{i}": [float(x)] for i, x in enumerate(got)}
            cells[(model, bench)] = _cell(model, bench, items[(model, bench)])
    tests = [compare_pair(cells[("A", b)], cells[("B", b)], items[("A", b)], items[("B", b)])
             for b in BENCHES]
    fine = domain_scores(cells, BENCHES, grouped=False)
    ranking = rank_profile(PROFILE, ["A", "B"], fine)
    paired = paired_with_top(ranking, fine, cells, tests)
    return not ranking.rows[1].within_noise_of_top, not paired.rows[1].within_noise_of_top


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 2:
        raise argparse.ArgumentTypeError(f"needs 2 or more, got {text}")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description="Size and power of a profile's test against #1, "
                                 "each SE alone or paired, on simulated models.")
    ap.add_argument("--sims", type=_positive, default=2000, help="simulated pairs per row")
    ap.add_argument("--items", type=_positive, default=200, help="items per benchmark")
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    print(f"{args.sims} simulated pairs, {args.items} items x 3 benchmarks each")
    print("| difficulty sd | true gap (logit) | 'below': each SE alone | 'below': paired |")
    print("|---:|---:|---:|---:|")
    for sd in (0.0, 1.5, 3.0):
        for gap in (0.0, 0.25):
            got = np.array([one(rng, args.items, sd, gap) for _ in range(args.sims)])
            print(f"| {sd:g} | {gap:g} | {got[:, 0].mean():.3f} | {got[:, 1].mean():.3f} |")


if __name__ == "__main__":
    main()
