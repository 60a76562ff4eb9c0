"""A use-case profile's "within noise of #1", tested on the paired differences.

`profiles.rank_profile` tests each model against the top one with the SE of each profile
score on its own (sqrt(se_top² + se_m²)): as if the two had answered different items. They
answered the same ones, and two models' item scores move together (an item hard for one is
hard for the other), so that SE overstates the noise in their difference and the test said
"within noise" more often than it should. Here the quality part of each difference gets the
SE of the difference itself: per benchmark, the SE of the pair's paired test
(`compare.compare_models`: paired t on item means, or the paired bootstrap of the
statistic; for a benchmark tested by McNemar's exact test, near significance (t p < 0.2),
the larger of the t's SE and the SE at which a z-test gives McNemar's p; for a paired t
whose differences are all the same, the SE at which a z-test gives its sign-test p), where
both models
were scored on the same items; the SEs on their own otherwise,
and for a domain whose benchmarks differ between the two. Benchmarks are independent, and a
domain's score is the mean of its benchmarks' (`takeaways.domain_scores`), so

    Var(ΔD_d) = Σ_b Var(Δ_b) / k_d²      Var(Δq) = Σ_d w_d² Var(ΔD_d) / w_q²

The latency score's part stays unpaired (each model's latencies are resampled on their own),
and cost is exact. The p-values are Holm-adjusted over the rows, as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from statistics import NormalDist

from ..scores import Score
from .compare import MCNEMAR, PAIRED, PAIRED_BOOTSTRAP, PairTest, cell_se
from .paired_tests import holm
from .profiles import Ranking, RankRow
from .stats import z_test
from .takeaways import DomainScore

Cells = Mapping[tuple[str, str], Score]
_NORMAL = NormalDist()


def paired_with_top(ranking: Ranking, fine: Mapping[str, Mapping[str, DomainScore]],
                    cells: Cells, tests: Sequence[PairTest]) -> Ranking:
    """`ranking` with each row's test against the top row made on the paired differences
    (see the module doc): its p (Holm-adjusted) and whether it is within noise of the top,
    overall and on quality alone. Scores, SEs and order are unchanged."""
    rows = ranking.rows
    if len(rows) < 2:
        return ranking
    weights = ranking.profile.domain_weights
    used = ranking.domains_used
    wq = sum(weights[d] for d in used)
    wc = ranking.profile.weights.get("cost", 0.0) if rows[0].cost_score is not None else 0.0
    wl = ranking.profile.weights.get("latency", 0.0) \
        if rows[0].latency_score is not None else 0.0
    total = wq + wc + wl
    top = rows[0]
    by_pair = {(frozenset((t.a, t.b)), t.benchmark): t for t in tests}

    def latency_part(row: RankRow) -> float:
        """(w_l · latency score SE)² of a row, from its SEs: (total·se)² − (w_q·se_q)²."""
        se, se_q = row.se, row.quality_se
        return max(0.0, (total * se) ** 2 - (wq * se_q) ** 2) if wl else 0.0

    ps, q_ps = [], []
    for row in rows[1:]:
        var_q = sum((weights[d] / wq) ** 2 * _domain_var(
            fine[top.model][d], fine[row.model][d], cells, by_pair) for d in used)
        se_s = math.sqrt(wq ** 2 * var_q + latency_part(top) + latency_part(row)) / total
        exact = _exact_gap(top, row, se_s, var_q)
        ps.append(z_test(top.score - row.score, se_s) if exact is None else exact)
        q_ps.append(z_test(top.quality - row.quality, math.sqrt(var_q)))
    adj, q_adj = holm(ps), holm(q_ps)
    out = [top] + [replace(r, p_vs_top=h.p_adjusted, within_noise_of_top=not h.reject,
                           quality_within_noise_of_top=not hq.reject)
                   for r, h, hq in zip(rows[1:], adj, q_adj, strict=True)]
    return replace(ranking, rows=tuple(out))


def _exact_gap(top: RankRow, row: RankRow, se: float, var_q: float) -> float | None:
    """p = 0 where the whole gap is exact: the same item scores (the same quality, with no
    variance in the paired differences) and a score apart only by the cost score, which has
    no sampling error (and no latency part with one). The z-test gave such a gap, which has
    no noise, p = 1 ("within noise"), where a profile with a latency part beside it said
    "significantly ahead" of the same models (an audit's); None otherwise."""
    if se == 0.0 and var_q == 0.0 and abs(top.quality - row.quality) <= _SAME \
            and top.score != row.score:
        return 0.0
    return None


_SAME = 1e-12  # quality equal to within rounding (means of the same item scores)


def _domain_var(a: DomainScore, b: DomainScore, cells: Cells,
                by_pair: Mapping[tuple[frozenset[str], str], PairTest]) -> float:
    """Var(score of a's domain − b's): paired per benchmark where both were scored on the
    same benchmarks (and, per benchmark, the same items), else of each on its own."""
    if a.benchmarks != b.benchmarks:
        return a.se ** 2 + b.se ** 2
    k = len(a.benchmarks)
    return sum(_bench_var(a.model, b.model, bench, cells, by_pair)
               for bench in a.benchmarks) / k ** 2


def _bench_var(a: str, b: str, bench: str, cells: Cells,
               by_pair: Mapping[tuple[frozenset[str], str], PairTest]) -> float:
    test = by_pair.get((frozenset((a, b)), bench))
    if test is not None and test.n == test.n_a == test.n_b and math.isfinite(test.se):
        return max(test.se, _exact_se(test)) ** 2
    return cell_se(cells[(a, bench)]) ** 2 + cell_se(cells[(b, bench)]) ** 2


def _exact_se(test: PairTest) -> float:
    """For a pair tested by McNemar's exact test whose difference is within reach of
    significance (the t-test's p below 0.2): the SE at which a z-test of the difference gives
    McNemar's p, so that a profile on that one benchmark says what the head-to-head says (the
    t-test's SE made a handful of discordant items significant where McNemar did not); 0
    otherwise (the t's SE serves: the exact test's discreteness doubled the SE of a
    difference of one or two items, and diluted real differences elsewhere in a profile).
    Likewise for a paired t-test of repeats whose every item differs by the same amount: its
    SE is 0 and its p the exact sign test's (a z-test on SE 0 gave p = 1, "within noise", to
    a gap the head-to-head calls significant); and for a statistic's paired randomization
    test (corpus BLEU, BFCL's mean of category means), whose p is not its bootstrap SE's."""
    if not test.diff or not 0.0 < test.p_value < 1.0:
        return 0.0
    if (test.method == MCNEMAR and test.p_ttest < 0.2) or (test.method == PAIRED
                                                            and test.se == 0.0) \
            or test.method == PAIRED_BOOTSTRAP:
        # (and a statistic's randomization p: on the bootstrap's SE, a profile of that one
        # benchmark called 4 differing items of 7 significant where the head-to-head's p is
        # 0.125; a review's)
        return abs(test.diff) / -_NORMAL.inv_cdf(test.p_value / 2.0)
    return 0.0
