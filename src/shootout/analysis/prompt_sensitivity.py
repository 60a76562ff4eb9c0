"""Prompt sensitivity: how much each model's score moves across prompt templates of one
benchmark (`benchmarks.prompt_variants`), and whether the models keep their order.

Per model: the score under each template with its interval (the results' own), the spread
(max − min over templates) and the standard deviation across templates (ddof 1; NaN with one
template). Across models: each template's ranking (best first), Kendall's tau-b between each
template's scores and the reference template's (scipy; NaN with fewer than two models or all
scores tied), whether the order is the same under every template, the overall winner (the best
mean over templates) and the share of templates it tops. Per template, every pair of models is
tested on the items both answered (`compare.compare_models`: McNemar's exact test on 0/1
items scored once, else the paired t on item scores), Holm-adjusted over the templates for
each pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..scores import Score
from .compare import PairTest, compare_models

Key = tuple[str, str]  # (model, benchmark name: `arc_easy` or `arc_easy@v1`)


@dataclass(frozen=True)
class ModelSpread:
    model: str
    scores: tuple[Score | None, ...]  # one per template, in the order of `Sensitivity.names`
    spread: float  # max − min over the templates it was scored on
    sd: float  # standard deviation across them (ddof 1)


@dataclass(frozen=True)
class TemplateRanking:
    name: str
    order: tuple[str, ...]  # models best first (tied ones in the models' given order)
    tau: float  # Kendall's tau-b against the reference template's scores
    tiers: tuple[tuple[str, ...], ...] = ()  # `order` in groups of equal scores

    def shown(self) -> str:
        """"a = b > c": tied models joined by "=" (they were shown as strictly ordered)."""
        return " > ".join(" = ".join(t) for t in (self.tiers or tuple((m,) for m in self.order)))

    def tier_of(self, model: str) -> int | None:
        return next((i for i, t in enumerate(self.tiers) if model in t), None)


@dataclass(frozen=True)
class Sensitivity:
    benchmark: str
    metric: str
    names: tuple[str, ...]  # the benchmark's name under each template, reference first
    models: tuple[ModelSpread, ...]
    rankings: tuple[TemplateRanking, ...]
    tests: tuple[PairTest, ...]  # every pair on every template, Holm over templates per pair
    winner: str | None  # the best mean over the templates (None: no model scored on all)
    winner_share: float  # the share of templates on which the winner is first (or tied)
    winners: tuple[str, ...] = ()  # every model with that best mean (more than one: a tie)

    @property
    def stable(self) -> bool:
        """The models are in the same order, ties alike, under every template."""
        return len({r.tiers or r.order for r in self.rankings}) <= 1


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(max − min, standard deviation with ddof 1) of a model's scores across templates;
    NaN, both, where fewer than two are finite (one template spreads nothing: a model of a
    run without variants, in a report beside one with them, read "spread 0.0")."""
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if x.size < 2:
        return math.nan, math.nan
    return float(x.max() - x.min()), float(x.std(ddof=1))


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b between two score vectors over the same models (NaN: undefined)."""
    if len(a) < 2 or len(set(a)) < 2 or len(set(b)) < 2:
        return math.nan
    from scipy import stats  # on first use: it costs a second at start-up

    return float(stats.kendalltau(a, b).statistic)


def _order(models: Sequence[str], scores: Mapping[str, float]) -> tuple[str, ...]:
    """Best first; ties keep the models' given order."""
    have = [m for m in models if m in scores]
    return tuple(sorted(have, key=lambda m: -scores[m]))


def _tiers(order: Sequence[str], scores: Mapping[str, float]) -> tuple[tuple[str, ...], ...]:
    """`order` (best first) in groups of models with the same score (to rounding)."""
    out: list[list[str]] = []
    for m in order:
        if out and math.isclose(scores[out[-1][0]], scores[m], rel_tol=0.0, abs_tol=1e-12):
            out[-1].append(m)
        else:
            out.append([m])
    return tuple(tuple(t) for t in out)


def prompt_sensitivity(
    benchmark: str,
    names: Sequence[str],
    models: Sequence[str],
    cells: Mapping[Key, Score],
    items: Mapping[Key, Mapping[str, Sequence[float]]],
    *,
    confidence: float = 0.95,
) -> Sensitivity:
    """The sensitivity of `models` on `benchmark` across its templates `names` (the reference
    first). `cells`: each model's score of the compared metric per template; `items`: its item
    scores, for the paired tests."""
    metric = next((c.metric for (m, n), c in cells.items() if n in names and m in models), "")
    spreads = []
    for m in models:
        row = tuple(cells.get((m, n)) for n in names)
        width, sd = spread([c.score for c in row if c is not None])
        spreads.append(ModelSpread(m, row, width, sd))
    per_name = {n: {m: cells[(m, n)].score for m in models if (m, n) in cells} for n in names}
    everywhere = [m for m in models if all(m in per_name[n] for n in names)]
    ref = names[0]
    rankings = []
    for n in names:
        shared = [m for m in everywhere if m in per_name[ref]]
        tau = kendall_tau([per_name[ref][m] for m in shared], [per_name[n][m] for m in shared])
        order = _order(everywhere, per_name[n])
        rankings.append(TemplateRanking(n, order, tau, _tiers(order, per_name[n])))
    means = {m: float(np.mean([per_name[n][m] for n in names])) for m in everywhere}
    by_mean = _order(everywhere, means)
    winners = _tiers(by_mean, means)[0] if everywhere else ()
    winner = winners[0] if winners else None
    share = (sum(winner in r.tiers[0] for r in rankings if r.tiers) / len(rankings)
             if winner else math.nan)
    tests = compare_models(models, list(names), cells, items, confidence=confidence)
    return Sensitivity(benchmark, metric, tuple(names), tuple(spreads), tuple(rankings),
                       tuple(tests), winner, share, winners)


def reversals(sens: Sensitivity) -> list[PairTest]:
    """The tests in which a template puts a model significantly (after Holm) ahead of one that
    the reference template ranks above it: prompt dependence, not noise."""
    if not sens.rankings:
        return []
    first = sens.rankings[0]
    out = []
    for t in sens.tests:
        if t.benchmark == first.name:  # (the reference's own test against its own order:
            continue  # on partly shared items they may disagree; it is no template's reversal)
        win = t.winner
        lose = t.b if win == t.a else t.a
        if win is None:
            continue
        tw, tl = first.tier_of(win), first.tier_of(lose)
        if tw is not None and tl is not None and tw > tl:  # tied in the reference: no reversal
            out.append(t)
    return out
