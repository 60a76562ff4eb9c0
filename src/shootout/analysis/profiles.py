"""Use-case profiles (`profiles.yaml`, or a user's `--profiles` file) and the ranking of the
models under each: the weighted domain scores, cost and latency, each model's distance from the
top with its uncertainty, and the use-case takeaways that cite them (`use_cases`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import yamlfile
from ..errors import ConfigError, not_utf8
from .formatting import pct, pval
from .medians import bootstrap_medians
from .paired_tests import holm
from .stats import z_test
from .takeaways import DOMAINS, DomainScore, Takeaway, normalize_domain

PROFILE_KEYS = (*DOMAINS, "cost", "latency")
MIN_COVERAGE = 0.5  # a profile is ranked only if its measured domains carry this much weight


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    weights: Mapping[str, float]  # domains, plus "cost" and "latency"
    requires: tuple[str, ...] = ()  # parts without which the profile is not ranked

    @property
    def domain_weights(self) -> dict[str, float]:
        return {k: v for k, v in self.weights.items() if k in DOMAINS and v > 0}


def load_profiles(path: Path | str | None = None) -> list[Profile]:
    """The shipped profiles, or the user's file (same format; see docs/report.md)."""
    if path is None:
        text = resources.files("shootout.report").joinpath("profiles.yaml").read_text("utf-8")
        where = "profiles.yaml (shipped)"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{where}: cannot read profiles ({e.strerror})") from None
        except UnicodeDecodeError as e:
            raise not_utf8(where, e) from None
    try:
        data = yamlfile.load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML ({_one_line(str(e))})") from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict) or not profiles:
        raise ConfigError(f"{where}: expected a top-level 'profiles' mapping")
    return [_profile(where, str(name), body) for name, body in profiles.items()]


def _profile(where: str, name: str, body: Any) -> Profile:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: profile {name!r} must be a mapping")
    for key in body:
        if key not in ("description", "weights", "requires"):
            raise ConfigError(f"{where}: profile {name!r}: unknown key {key!r} "
                              "(expected description, weights, requires)")
    weights = body.get("weights")
    if not isinstance(weights, dict) or not weights:
        raise ConfigError(f"{where}: profile {name!r}: 'weights' must be a non-empty mapping")
    clean: dict[str, float] = {}
    for key, w in weights.items():
        k = normalize_domain(str(key))
        if k not in PROFILE_KEYS:
            raise ConfigError(f"{where}: profile {name!r}: unknown weight {key!r} "
                              f"(expected one of {', '.join(PROFILE_KEYS)})")
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise ConfigError(f"{where}: profile {name!r}: weight {key!r} must be a number >= 0")
        clean[k] = float(w)
    if not any(v > 0 for k, v in clean.items() if k in DOMAINS):
        raise ConfigError(f"{where}: profile {name!r}: needs a positive weight on some domain")
    req = body.get("requires") or []
    if not isinstance(req, list) or any(normalize_domain(str(r)) not in clean for r in req):
        raise ConfigError(f"{where}: profile {name!r}: 'requires' must list keys of its weights")
    return Profile(name, str(body.get("description", "")), clean,
                   tuple(normalize_domain(str(r)) for r in req))


def _one_line(s: str) -> str:
    return " ".join(s.split())


@dataclass(frozen=True)
class RankRow:
    model: str
    rank: int
    score: float
    se: float
    quality: float
    cost_score: float | None
    latency_score: float | None
    p_vs_top: float | None  # Holm-adjusted z-test against the first row
    within_noise_of_top: bool
    n_items: int = 0  # items behind the used domain scores
    quality_se: float = math.nan
    # the same test on the quality part alone (None for the first row)
    quality_within_noise_of_top: bool | None = None


@dataclass(frozen=True)
class Ranking:
    profile: Profile
    rows: tuple[RankRow, ...]
    domains_used: tuple[str, ...]
    domains_missing: tuple[str, ...]
    notes: tuple[str, ...]
    # set when the first row was scored on fewer items than a model below it: no recommendation
    caveat: str = ""


def rank_profile(
    profile: Profile,
    models: Sequence[str],
    fine: Mapping[str, Mapping[str, DomainScore]],
    cost: Mapping[str, float] | None = None,
    latency: Mapping[str, float] | None = None,
    latency_se: Mapping[str, float] | None = None,
    latency_note: str = "",
) -> Ranking:
    """Score = weighted mean of domain scores, cost score and latency score.

    Domains count only where every ranked model has a score, and the profile is ranked only
    when every part it `requires` has data and the parts with data carry at least
    MIN_COVERAGE of its total weight. cost score =
    cheapest / cost (1 for the cheapest; beside a free model, cheapest priced / (cost +
    cheapest priced): ½ for the cheapest priced one, `relative`), latency
    score = fastest / latency; both enter only when every model has the figure. The SE comes
    from the domain SEs and, where given, the latency score's (`latency_score_se`; cost is
    taken as exact, being a price times counted tokens); models whose Holm-adjusted
    z-test against the top model is not significant are marked within noise of it (each
    score's SE on its own: the report tests the paired differences instead,
    `profile_tests.paired_with_top`). `latency_note`: why there is no latency (said where
    the profile weighs it). When the
    top model was scored on fewer items (over the used domains) than a model below it, the
    ranking carries a `caveat` and no model is recommended.
    """
    dw = profile.domain_weights
    used = tuple(d for d in dw if all(d in fine.get(m, {}) for m in models))
    missing = tuple(d for d in dw if d not in used)
    notes = []
    if missing:
        notes.append("no data for every model in: "
                     + ", ".join(m.replace("_", " ") for m in missing))
    wc = _aux_weight(profile, "cost", cost, models, notes)
    wl = _aux_weight(profile, "latency", latency, models, notes, latency_note)
    wq = sum(dw[d] for d in used)
    total = wq + wc + wl
    coverage = total / sum(v for v in profile.weights.values() if v > 0)
    have = {*used, *(["cost"] if wc else []), *(["latency"] if wl else [])}
    lacking = [r for r in profile.requires if r not in have]
    why = ""
    if lacking == ["cost"] and cost is not None and all(m in cost for m in models) \
            and _all_alike(cost, models):
        why = f"not ranked: it requires cost, and {SAME_COST}"
    elif lacking:
        why = (f"not ranked: it requires {', '.join(r.replace('_', ' ') for r in lacking)} "
               "data for every model")
    elif not models or not used or coverage < MIN_COVERAGE:
        why = (f"not ranked: the measured parts carry {100 * coverage:.0f}% of this "
               f"profile's weight (needs {100 * MIN_COVERAGE:.0f}%)")
    if why:
        return Ranking(profile, (), used, missing, (*notes, why))
    raw = []
    for m in models:
        q = sum(dw[d] * fine[m][d].score for d in used) / wq
        se_q = math.sqrt(sum((dw[d] * fine[m][d].se) ** 2 for d in used)) / wq
        cs = _relative(cost, m) if wc else None
        ls = _relative(latency, m) if wl else None
        s = (wq * q + wc * (cs or 0.0) + wl * (ls or 0.0)) / total
        se_l = (latency_se or {}).get(m, 0.0) if wl else 0.0
        raw.append((m, s, math.hypot(wq * se_q, wl * se_l) / total, q, cs, ls, se_q))
    raw.sort(key=lambda r: (-r[1], models.index(r[0])))
    n_items = {m: sum(fine[m][d].n for d in used) for m in models}
    rows = tuple(replace(r, n_items=n_items[r.model]) for r in _rank_rows(raw))
    more = [r for r in rows[1:] if r.n_items > rows[0].n_items]
    caveat = ""
    if more:
        caveat = (f"{rows[0].model} was scored on fewer items ({rows[0].n_items}) than "
                  + ", ".join(f"{r.model} ({r.n_items})" for r in more))
    return Ranking(profile, rows, used, missing, tuple(notes), caveat)


def _aux_weight(profile: Profile, key: str, values: Mapping[str, float] | None,
                models: Sequence[str], notes: list[str], why: str = "") -> float:
    w = profile.weights.get(key, 0.0)
    if w <= 0:
        return 0.0
    if values is None or any(m not in values or not math.isfinite(values[m]) for m in models):
        notes.append(f"{key} weight {w:g} dropped: {why or f'no {key} data for every model'}")
        return 0.0
    if key == "cost" and _all_alike(values, models):
        # every model scored 1 on cost: the profile was its quality ranking plus a constant,
        # given as a recommendation of its own (all local models, $0; an audit's)
        notes.append(f"cost weight {w:g} dropped: {SAME_COST}"
                     + (" (no token cost: price a local model by the hour, price: {per_hour: …})"
                        if not values[models[0]] else ""))
        return 0.0
    return w


SAME_COST = "every model costs the same, so cost cannot tell them apart"


def _all_alike(values: Mapping[str, float], models: Sequence[str]) -> bool:
    return len(models) >= 2 and all(
        math.isclose(values[m], values[models[0]], rel_tol=1e-9, abs_tol=1e-15) for m in models)


def relative(mine: float, best: float, priced: float | None) -> float:
    """best / mine: 1 for the best (the cheapest, the fastest). Where the best is 0 (a free
    model), a priced model's is priced / (mine + priced), `priced` the lowest figure above 0:
    ½ for the cheapest priced model, falling with the figure as best / mine does. (Every priced
    model scored 0 beside a free one: a $0.27 and a $30 model alike, ranked on latency.)"""
    if mine <= 0:
        return 1.0
    if best > 0:
        return best / mine
    return priced / (mine + priced) if priced is not None and priced > 0 else 0.0


def _relative(values: Mapping[str, float] | None, m: str) -> float:
    assert values is not None
    priced = min((v for v in values.values() if v > 0), default=None)
    return relative(values[m], min(values.values()), priced)


def _rank_rows(raw: list[tuple[str, float, float, float, float | None, float | None, float]]
               ) -> tuple[RankRow, ...]:
    top = raw[0]
    ps = [z_test(top[1] - r[1], math.sqrt(top[2] ** 2 + r[2] ** 2)) for r in raw[1:]]
    adj = holm(ps) if ps else []
    q_ps = [z_test(top[3] - r[3], math.sqrt(top[6] ** 2 + r[6] ** 2)) for r in raw[1:]]
    q_adj = holm(q_ps) if q_ps else []
    rows = [RankRow(top[0], 1, top[1], top[2], top[3], top[4], top[5], None, True,
                    quality_se=top[6])]
    for i, (r, h, hq) in enumerate(zip(raw[1:], adj, q_adj, strict=True), start=2):
        rows.append(RankRow(r[0], i, r[1], r[2], r[3], r[4], r[5], h.p_adjusted, not h.reject,
                            quality_se=r[6], quality_within_noise_of_top=not hq.reject))
    return tuple(rows)


def latency_score_se(samples: Mapping[str, Sequence[float]], reps: int = 400,
                     seed: int = 0) -> dict[str, float]:
    """The bootstrap SE of each model's latency score (fastest median / its median): each
    model's latencies resampled with replacement, the medians and scores recomputed `reps`
    times with a fixed seed. Models with fewer than 2 latencies get no entry."""
    have = {m: np.asarray(v, dtype=float) for m, v in samples.items() if len(v) >= 2}
    if len(have) != len(samples) or not have:
        return {}
    rng = np.random.default_rng(seed)
    med = {m: bootstrap_medians(v, reps, rng) for m, v in have.items()}
    best = np.min(np.stack(list(med.values())), axis=0)
    out = {}
    for m, md in med.items():
        score = np.where(md > 0, best / np.where(md > 0, md, 1.0), 1.0)
        out[m] = float(np.std(score, ddof=1))
    return out


def _p(p: float | None) -> float:
    return 1.0 if p is None else p


def shares_top(row: RankRow, top: RankRow) -> bool:
    """Whether a ranked row ties the top row exactly (its score the same, to rounding)."""
    return math.isclose(row.score, top.score, rel_tol=0.0, abs_tol=5e-13)


def use_cases(rankings: Sequence[Ranking],
              guessing: Mapping[str, Collection[str]] | None = None) -> list[Takeaway]:
    """One line per ranked profile. `guessing`: per model, the domains of the profile's
    benchmarks on which none of its scores is above chance (a uniform guess); a first model
    whose every ranked domain is so is named as such (its rank is its cost and speed, those
    the profile weighs); one at chance on some names them and what its rank rests on."""
    out: list[Takeaway] = []
    for rk in rankings:
        if not rk.rows:
            continue
        top = rk.rows[0]
        chance = (guessing or {}).get(top.model, ())
        said = len(out)
        _use_case(out, rk, chance)
        some = [d for d in rk.domains_used if d in chance]
        if len(out) > said and some and len(some) < len(rk.domains_used):
            # (a model answering "A" everywhere ranked first for cost-sensitive with no word
            # of it, its one domain above chance a translation that copied the source)
            last = out[-1]
            rest = [d for d in rk.domains_used if d not in chance]
            # its cost and speed only where the ranking weighed them (a profile of domains
            # alone said "its rank is its cost and speed" too: a docs audit's)
            paid = _weighed(top)
            out[-1] = Takeaway(last.topic, last.text.rstrip(".") + f"; {top.model} is not "
                               f"above chance (a uniform guess) on {', '.join(some)}: its "
                               f"rank rests on {', '.join(rest)}"
                               + (f" and its {' and '.join(paid)}" if paid else "") + ".")
    return out


def _weighed(row: RankRow) -> list[str]:
    """What besides its domains a ranked row's score weighed: "cost", "speed"."""
    return [what for what, got in (("cost", row.cost_score), ("speed", row.latency_score))
            if got is not None]


def _use_case(out: list[Takeaway], rk: Ranking, chance: Collection[str]) -> None:
    """The use-case sentence of one ranked profile, appended to `out`."""
    top = rk.rows[0]
    if rk.domains_used and all(d in chance for d in rk.domains_used):
        paid = _weighed(top)
        rests = (f"its rank is its {' and '.join(paid)}, not its answers" if paid
                 else "its rank says nothing of its answers")
        out.append(Takeaway("use cases", f"For {rk.profile.name}, {top.model} ranks first "
                            f"(score {top.score:.3f}), but none of its scores on the "
                            f"profile's benchmarks is above chance (a uniform guess): "
                            f"{rests}."))
        return
    tied = [r for r in rk.rows[1:] if r.within_noise_of_top]
    if max(r.quality for r in rk.rows) <= 0.0:  # "good and flaky share the top score" of
        # 0 solved (an audit's)
        out.append(Takeaway("use cases", f"For {rk.profile.name}, no model scored above 0 "
                            "on the profile's benchmarks: no model is recommended."))
        return
    if rk.caveat:
        out.append(Takeaway("use cases", f"For {rk.profile.name}, {top.model} has the "
                            f"highest score ({top.score:.3f}), but {rk.caveat}: no model "
                            "is recommended on this comparison."))
        return
    head = f"For {rk.profile.name}, {top.model} ranks first (score {top.score:.3f}"
    shared = [r for r in tied if shares_top(r, top)]
    if shared:  # an exact tie: the first in model order is not ahead of the others
        firsts = [top.model, *(r.model for r in shared)]
        head = (f"For {rk.profile.name}, {', '.join(firsts[:-1])} and {firsts[-1]} share "
                f"the top score ({top.score:.3f}")
        tied = [r for r in tied if r not in shared]
        if not tied:
            out.append(Takeaway("use cases", head + ")."))
            return
    if len(rk.rows) == 1:
        out.append(Takeaway("use cases", head + ", the only model ranked)."))
    elif tied:
        names = ", ".join(f"{r.model} ({r.score:.3f}, {pval(_p(r.p_vs_top), 'Holm p')})"
                          for r in tied)
        out.append(Takeaway("use cases", head + f"), but {names} "
                            f"{'is' if len(tied) == 1 else 'are'} within noise of it."))
    else:
        nxt = rk.rows[1]
        text = (head + f"), significantly ahead of {nxt.model} ({nxt.score:.3f}, "
                f"{pval(_p(nxt.p_vs_top), 'Holm p')}) on the profile's weighted score")
        ahead = [k for k, a, b in (("cost", top.cost_score, nxt.cost_score),
                                   ("latency", top.latency_score, nxt.latency_score))
                 if a is not None and b is not None and a > b]
        if nxt.quality_within_noise_of_top and ahead:
            text += (f"; on quality alone the two are within noise ({pct(top.quality)}% "
                     f"vs {pct(nxt.quality)}%), so the lead rests on {' and '.join(ahead)}")
        out.append(Takeaway("use cases", text + "."))
