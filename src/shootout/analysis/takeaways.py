"""Takeaways and use-case recommendations, each sentence citing the number behind it.

Domain scores: a model's score in a domain is the unweighted mean of its scores on that domain's
benchmarks, with SE sqrt(Σ se_b²)/k (benchmarks treated as independent; se_b is the larger of
the benchmark's SE and the SE its 95% interval implies, see `cell_se`). Takeaways group the
benchmark domains as knowledge, reasoning/math, coding, commonsense, factuality, multilingual
and long context; profiles weight the finer domains (reasoning and math apart).

A model "leads" or "trails" another only where the paired test is significant after Holm
correction across the suite (see `compare`), and never "leads" a model that was scored on more
items; everything else is reported as within noise.

A model's strongest and weakest domains are picked after looking at its scores, so their gap is
tested as one of all the pairs of its domains that could have been picked: z-tests on every
pair, Holm-adjusted over the k(k−1)/2 pairs.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import yamlfile
from ..errors import ConfigError, not_utf8
from ..scores import Score
from .compare import MCNEMAR, PAIRED, UNTESTABLE, MddNote, PairTest, cell_se
from .formatting import pct, pval
from .medians import bootstrap_medians
from .paired_tests import holm
from .stats import z_quantile, z_test

DOMAINS = ("knowledge", "reasoning", "math", "coding", "commonsense", "factuality",
           "multilingual", "long_context")
_ALIASES = {"translation": "multilingual", "long-context": "long_context",
            "long context": "long_context", "longcontext": "long_context"}
GROUPS = {"knowledge": "knowledge", "reasoning": "reasoning/math", "math": "reasoning/math",
          "coding": "coding", "commonsense": "commonsense", "factuality": "factuality",
          "multilingual": "multilingual", "long_context": "long context"}
PROFILE_KEYS = (*DOMAINS, "cost", "latency")
MIN_COVERAGE = 0.5  # a profile is ranked only if its measured domains carry this much weight


def normalize_domain(domain: str) -> str:
    d = domain.strip().lower()
    return _ALIASES.get(d, d.replace("-", "_"))


@dataclass(frozen=True)
class DomainScore:
    model: str
    domain: str
    score: float
    se: float
    benchmarks: tuple[str, ...]
    n: int = 0  # items scored, summed over the benchmarks


def domain_scores(
    cells: Mapping[tuple[str, str], Score], bench_domain: Mapping[str, str], *, grouped: bool
) -> dict[str, dict[str, DomainScore]]:
    """Per model, per domain (or domain group): mean of benchmark scores and its SE."""
    acc: dict[str, dict[str, list[Score]]] = {}
    for (model, bench), cell in cells.items():
        d = normalize_domain(bench_domain.get(bench, "other"))
        key = GROUPS.get(d, d) if grouped else d
        acc.setdefault(model, {}).setdefault(key, []).append(cell)
    out: dict[str, dict[str, DomainScore]] = {}
    for model, by_dom in acc.items():
        out[model] = {}
        for dom, cs in sorted(by_dom.items()):
            cs.sort(key=lambda c: c.benchmark)
            k = len(cs)
            se = math.sqrt(sum(cell_se(c) ** 2 for c in cs)) / k
            out[model][dom] = DomainScore(model, dom, sum(c.score for c in cs) / k, se,
                                          tuple(c.benchmark for c in cs), sum(c.n for c in cs))
    return out


def _pts(x: float, sign: bool = True) -> str:
    return pct(x, sign=sign, missing="n/a")


def _pm(ds: DomainScore, confidence: float) -> str:
    """"71.3% ± 2.1, 2 benchmarks": the half-width of the normal interval at `confidence`."""
    half = pct(z_quantile(confidence) * ds.se, missing="")
    nb = len(ds.benchmarks)
    return (f"{pct(ds.score, unit='%', missing='n/a')}{f' ± {half}' if half else ''}, "
            f"{nb} benchmark{'s' if nb != 1 else ''}")


@dataclass(frozen=True)
class Takeaway:
    topic: str
    text: str


def strengths(models: Sequence[str], grouped: Mapping[str, Mapping[str, DomainScore]],
              confidence: float = 0.95,
              at_chance: Mapping[str, Collection[str]] | None = None,
              failed: Mapping[tuple[str, str], int] | None = None) -> list[Takeaway]:
    """Each model's strongest and weakest domain group, and whether that gap is noise once the
    choice of the pair is accounted for (Holm over every pair of the model's domains); each
    domain score with the half-width of its interval at `confidence`. A domain group in which
    the model is not above chance on any benchmark (`at_chance`, per model) says nothing of
    its ability: it is named apart, not compared (a model guessing on WinoGrande, 50%
    chance, and on ARC, 25%, had "a significant gap" of chance levels). `failed`: the failed
    items of each (model, benchmark), said beside a domain score that leaves them out (a
    domain "100.0%" over 14 of 40 items read as a strength; an audit's)."""
    out = []

    def pm(m: str, d: DomainScore) -> str:
        k = sum((failed or {}).get((m, b), 0) for b in d.benchmarks)
        return _pm(d, confidence) + (f"; {k} failed item{'s' if k != 1 else ''} left out"
                                     if k else "")

    for m in models:
        every = sorted(grouped.get(m, {}).values(), key=lambda d: (-d.score, d.domain))
        if not every:
            continue
        guessing = (at_chance or {}).get(m, ())
        ds = [d for d in every if d.domain not in guessing]
        apart = [d.domain for d in every if d.domain in guessing]
        if not ds:
            out.append(Takeaway("strengths", f"{m} is not above chance in any domain measured "
                                f"({', '.join(apart)}): its scores say nothing of its "
                                "strengths."))
            continue
        left = (f" Not above chance in {', '.join(apart)}: left out, those scores say nothing "
                "of ability." if apart else "")
        if len(ds) == 1:
            where = ("at chance in every domain but one" if apart
                     else "measured in one domain only")
            out.append(Takeaway("strengths", f"{m} was {where}: "
                                f"{ds[0].domain} ({pm(m, ds[0])}).{left}"))
            continue
        hi, lo = ds[0], ds[-1]
        gap = hi.score - lo.score
        p, pairs = extreme_gap_p(ds)
        verdict = ("a significant gap" if p <= 0.05 else "a gap within noise")  # as Holm
        over = (f" over all {pairs} pairs of its {len(ds)} domains" if pairs > 1 else "")
        out.append(Takeaway(
            "strengths",
            f"{m} is strongest in {hi.domain} ({pm(m, hi)}) and weakest in {lo.domain} "
            f"({pm(m, lo)}): {verdict} ({_pts(gap, False)} points, z-test "
            f"{pval(p, 'Holm p' if pairs > 1 else 'p')}{over}).{left}",
        ))
    return out


def extreme_gap_p(ds: Sequence[DomainScore]) -> tuple[float, int]:
    """Holm-adjusted p of the gap between the first and last of `ds` (sorted by score), in the
    family of z-tests of every pair of `ds`, and the size of that family."""
    pairs = list(combinations(range(len(ds)), 2))
    ps = [z_test(ds[i].score - ds[j].score, math.sqrt(ds[i].se ** 2 + ds[j].se ** 2))
          for i, j in pairs]
    adj = holm(ps)
    return adj[pairs.index((0, len(ds) - 1))].p_adjusted, len(pairs)


MAX_PAIR_TAKEAWAYS = 6  # four models' pairs; past that, the leader's pairs and a tally


def positions(models: Sequence[str], tests: Sequence[PairTest],
              mdd: Sequence[MddNote] = ()) -> list[Takeaway]:
    """Per pair: where one leads significantly (Holm), where it trails, how many are ties.
    With more pairs than `MAX_PAIR_TAKEAWAYS` (five models or more: ten models make 45),
    a tally of each model's significant leads and deficits, then the pairs of the model with
    the most net leads only; every pair stays in the report's head-to-head section."""
    mdd_med = sorted(n.mdd for n in mdd if math.isfinite(n.mdd))
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]
             if any({t.a, t.b} == {a, b} for t in tests)]
    shown = pairs
    out = []
    if len(pairs) > MAX_PAIR_TAKEAWAYS:
        leads = {m: sum(t.winner == m for t in tests) for m in models}
        trails = {m: sum(t.winner is not None and t.winner != m and m in (t.a, t.b)
                         for t in tests) for m in models}
        # significant, but the model ahead was scored on fewer items: no lead is claimed
        fewer = {m: sum(t.significant and t.winner is None and t.ahead_on_fewer_items
                        and t.ahead == m for t in tests) for m in models}
        tested = [m for m in models if any(m in p for p in pairs)]
        where = f"{len(pairs)} pairs of the {len(models)} models"
        if not any(leads.values()) and not any(fewer.values()):
            out.append(Takeaway("position", (
                f"No model is significantly ahead of another on any benchmark over the "
                f"{where} (Holm-corrected per pair); the head-to-head section has every "
                "pair.")))
            return out
        order = sorted(tested, key=lambda m: (-(leads[m] - trails[m]), -leads[m],
                                              models.index(m)))
        top = order[0]
        tally = "; ".join(
            f"{m} {leads[m]} ahead, {trails[m]} behind"
            + (f", {fewer[m]} ahead on fewer items (no lead claimed)" if fewer[m] else "")
            for m in order)
        out.append(Takeaway("position", (
            f"Significant differences over the {where} (a model ahead of or behind another "
            f"on a benchmark, Holm-corrected per pair): {tally}. Below, {top}'s pairs; the "
            "head-to-head section has every pair.")))
        shown = [(top, b if a == top else a) for a, b in pairs if top in (a, b)]
    for a, b in shown:
        ts = [t.oriented(a) for t in tests if {t.a, t.b} == {a, b}]
        out.append(Takeaway("position", _pair_sentence(a, b, ts, mdd_med)))
    return out


def _pair_sentence(a: str, b: str, ts: list[PairTest], mdd_sorted: list[float]) -> str:
    lead = sorted((t for t in ts if t.winner == a), key=lambda t: -t.diff)
    trail = sorted((t for t in ts if t.winner == b), key=lambda t: t.diff)
    fewer = [t for t in ts if t.significant and t.winner is None and t.ahead_on_fewer_items]
    ties = [t for t in ts if not t.significant and t.method != UNTESTABLE]
    untested = [t.benchmark for t in ts if t.method == UNTESTABLE]
    parts = []
    if lead:
        parts.append(f"{a} leads {b} on " + _diff_phrases(lead))
    if trail:
        who = "trails on " if lead else f"{a} trails {b} on "
        parts.append(who + _diff_phrases(trail))
    if fewer:  # (named the pair where nothing before it does: "a vs b: no lead ...")
        parts.append(("no lead is claimed on " if parts else f"{a} vs {b}: no lead is claimed "
                      "on ") + "; ".join(_fewer_phrase(t) for t in fewer))
    if not parts and all(t.method in (PAIRED, MCNEMAR) and t.diff == 0 and t.se == 0
                         for t in ts):
        return (f"{a} vs {b}: the same score on every item both were scored on, on all "
                f"{len(ts)} benchmark{'s' if len(ts) != 1 else ''}: no difference to test.")
    not_tested = (f"; not tested on {', '.join(untested)} (no standard error)"
                  if untested else "")
    if not parts and not ties:
        return f"{a} vs {b}: no benchmark could be tested{not_tested}."
    if not parts:
        big = max(ties, key=lambda t: abs(t.diff))
        mdd = ""
        # this pair's own detectable differences (the suite's where it has none)
        own = sorted(t.mdd for t in ts if math.isfinite(t.mdd)) or mdd_sorted
        if own:
            mid = _pts(own[len(own) // 2], False)
            # the largest gap's own, where it differs (a gap of 25 points beside "below 17.4
            # are not detectable" read as detectable: its benchmark's was 27.5; an audit's)
            at_big = (f" ({_pts(big.mdd, False)} on {big.benchmark})"
                      if math.isfinite(big.mdd) and _pts(big.mdd, False) != mid else "")
            mdd = (f"; at these n, differences below about {mid} points{at_big} are not "
                   "reliably detectable")
        return (f"{a} vs {b}: no significant difference on any of {len(ties)} benchmark"
                f"{'s' if len(ties) != 1 else ''} (largest gap {_pts(big.diff)} points on "
                f"{big.benchmark}, {pval(big.p_holm, 'Holm p')}){mdd}{not_tested}.")
    tail = (f"; the other {len(ties)} benchmark{'s are' if len(ties) != 1 else ' is'} "
            "within noise" if ties else "") + not_tested
    return ", and ".join(parts) + tail + "."


def _fewer_phrase(t: PairTest) -> str:
    """A significant difference whose leader was scored on fewer items than the other."""
    lead, other = (t.a, t.b) if t.diff > 0 else (t.b, t.a)
    n_lead, n_other = (t.n_a, t.n_b) if t.diff > 0 else (t.n_b, t.n_a)
    f_lead, f_other = (t.failed_a, t.failed_b) if t.diff > 0 else (t.failed_b, t.failed_a)
    head = (f"{t.benchmark}, where {lead} scores higher ({_pts(abs(t.diff), False)} points, "
            f"{pval(t.p_holm, 'Holm p')})")
    if n_lead == n_other:  # as many items, more of its own failed
        return (f"{head} but on as many items as {other} had {f_lead} of its own fail "
                f"({f_other} for {other})")
    return f"{head} but was scored on fewer items than {other} ({n_lead} vs {n_other})"


MAX_DIFF_PHRASES = 4  # past this, the largest few in full and the others by name


def _diff_phrases(ts: Sequence[PairTest]) -> str:
    """The differences in full, largest first; past MAX_DIFF_PHRASES the largest three in full
    and the others named: a lead on 14 benchmarks was a sentence of 14 intervals, nine such in
    a ten-model report's takeaways (the head-to-head section has every figure)."""
    if len(ts) <= MAX_DIFF_PHRASES:
        return "; ".join(_diff_phrase(t) for t in ts)
    shown, rest = ts[:MAX_DIFF_PHRASES - 1], ts[MAX_DIFF_PHRASES - 1:]
    return ("; ".join(_diff_phrase(t) for t in shown)
            + f"; and {len(rest)} more ({', '.join(t.benchmark for t in rest)})")


def _diff_phrase(t: PairTest) -> str:
    return (f"{t.benchmark} ({_pts(t.diff)} points, 95% CI [{_pts(t.ci_low)}, {_pts(t.ci_high)}], "
            f"{pval(t.p_holm, 'Holm p')}, n={t.n})")


# --------------------------------------------------------------------------- profiles


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
    whose every ranked domain is so is named as such (its rank is its cost and speed)."""
    out = []
    for rk in rankings:
        if not rk.rows:
            continue
        top = rk.rows[0]
        chance = (guessing or {}).get(top.model, ())
        if rk.domains_used and all(d in chance for d in rk.domains_used):
            out.append(Takeaway("use cases", f"For {rk.profile.name}, {top.model} ranks first "
                                f"(score {top.score:.3f}), but none of its scores on the "
                                "profile's benchmarks is above chance (a uniform guess): its "
                                "rank is its cost and speed, not its answers."))
            continue
        tied = [r for r in rk.rows[1:] if r.within_noise_of_top]
        if max(r.quality for r in rk.rows) <= 0.0:  # "good and flaky share the top score" of
            # 0 solved (an audit's)
            out.append(Takeaway("use cases", f"For {rk.profile.name}, no model scored above 0 "
                                "on the profile's benchmarks: no model is recommended."))
            continue
        if rk.caveat:
            out.append(Takeaway("use cases", f"For {rk.profile.name}, {top.model} has the "
                                f"highest score ({top.score:.3f}), but {rk.caveat}: no model "
                                "is recommended on this comparison."))
            continue
        head = f"For {rk.profile.name}, {top.model} ranks first (score {top.score:.3f}"
        shared = [r for r in tied if shares_top(r, top)]
        if shared:  # an exact tie: the first in model order is not ahead of the others
            firsts = [top.model, *(r.model for r in shared)]
            head = (f"For {rk.profile.name}, {', '.join(firsts[:-1])} and {firsts[-1]} share "
                    f"the top score ({top.score:.3f}")
            tied = [r for r in tied if r not in shared]
            if not tied:
                out.append(Takeaway("use cases", head + ")."))
                continue
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
    return out
