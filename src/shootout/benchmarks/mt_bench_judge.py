"""MT-Bench's judge phase and its aggregation (see `mt_bench.py`).

Every judgment is a request to the judge model through the run's cross-model phase: cached,
retried and stored like any response (its key is in the sample's detail). The verdicts are
written into each MT-Bench sample (`Store.update_sample_scores`): its metrics get the grades and
the win rate, its detail a `judge` record — per turn the rating (or None and why), per opponent
the verdict of every order — from which the report recomputes pairwise statistics. A rerun
judges again from the cache, so the samples always reflect the run's judge.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import combinations
from typing import TYPE_CHECKING, Any

from ..analysis.judged import (
    Comparison,
    Verdict,
    bootstrap_ratings,
    combine_orders,
    position_bias,
    win_rates,
)
from ..analysis.stats import summarize
from ..errors import ConfigError
from ..providers.base import GenerateRequest, Message, Sampling
from ..scores import Score
from ..scoring.judge import (
    JudgeKind,
    JudgePrompt,
    format_instruction,
    pair_prompt,
    parse_rating,
    parse_verdict,
    single_prompt,
    structured_tag,
    template_name,
    verdict_format,
)
from ..scoring.text import strip_reasoning
from ..store.rows import ANSWERED, SampleRow
from .base import CrossModelPhase, Doc

if TYPE_CHECKING:
    from .mt_bench import MTBench

TURNS = (1, 2)
Record = dict[str, Any]


def resolve_judge(wanted: str, models: Mapping[str, str], bench: str = "mt_bench") -> str:
    """The judge's display name: `wanted` is a model of the run by name or by spec."""
    if wanted in models:
        return wanted
    by_spec = [name for name, spec in models.items() if spec == wanted]
    if len(by_spec) == 1:
        return by_spec[0]
    if by_spec:  # (it was "not a model of this run": it is, several times)
        raise ConfigError(f"{bench}: judge {wanted!r} is the spec of several models of this "
                          f"run ({', '.join(by_spec)}); name the one to judge with")
    raise ConfigError(f"{bench}: judge {wanted!r} is not a model of this run (models: "
                      f"{', '.join(models)}); add it to the run's models (-m, or models: "
                      "in a config file)")


class _Judge:
    """Asks the judge and reads its verdicts."""

    def __init__(self, bench: MTBench, phase: CrossModelPhase, judge: str) -> None:
        self.phase, self.judge = phase, judge
        self.templates: Mapping[str, JudgePrompt] = bench.templates()
        self.chat = phase.is_chat(judge)
        self.sampling = Sampling(temperature=0.0, max_tokens=bench.opts.judge_max_tokens)
        # the runner refused a judge that takes no JSON Schema before anything was asked
        self.structured = bench.opts.judge_format == "json"

    async def _ask(self, t: JudgePrompt, user: str, kind: JudgeKind
                   ) -> tuple[str | None, Record]:
        fmt = None
        if self.structured:
            user, fmt = f"{user}\n\n{format_instruction(kind)}", verdict_format(kind)
        if self.chat:
            request = GenerateRequest(messages=(Message("system", t.system),
                                                Message("user", user)), sampling=self.sampling,
                                      response_format=fmt)
        else:
            request = GenerateRequest(prompt=f"{t.system}\n\n{user}\n\n", sampling=self.sampling)
        response, key, error = await self.phase.ask(self.judge, request)
        record: Record = {"key": key, "template": t.name}
        if response is None:
            record["error"] = error
            return None, record
        return response.text, record

    def _tag(self, text: str, kind: JudgeKind) -> str:
        """The text the verdict is read from: the whole judgment, or a constrained judgment's
        verdict field ("" when there is none: unreadable)."""
        text = strip_reasoning(text)  # a thinking judge's thoughts are not its verdict
        return (structured_tag(text, kind) or "") if self.structured else text

    async def single(self, doc: Doc, answers: Sequence[str], turn: int) -> Record:
        ref = doc.fields["reference"]
        t = self.templates[template_name("single", ref is not None, turn == 2)]
        text, record = await self._ask(t, single_prompt(t, doc.fields["turns"], answers, turn,
                                                        ref), "single")
        rating = parse_rating(self._tag(text, "single")) if text is not None else None
        if text is not None and rating is None:
            record["unreadable"] = text[-300:]
        return {**record, "turn": turn, "rating": rating}

    async def pair(self, doc: Doc, first: tuple[str, Sequence[str]],
                   second: tuple[str, Sequence[str]], turn: int) -> Record:
        """`first`'s answers shown as assistant A, `second`'s as B."""
        ref = doc.fields["reference"]
        t = self.templates[template_name("pair", ref is not None, turn == 2)]
        user = pair_prompt(t, doc.fields["turns"], first[1], second[1], turn, ref)
        text, record = await self._ask(t, user, "pair")
        verdict = parse_verdict(self._tag(text, "pair")) if text is not None else None
        if text is not None and verdict is None:
            record["unreadable"] = text[-300:]
        return {**record, "turn": turn, "first": first[0], "verdict": verdict}


async def judge_run(bench: MTBench, phase: CrossModelPhase) -> None:
    """Grade every answered sample and compare every pair of models (both orders); store the
    verdicts in the samples."""
    assert bench.opts.judge is not None
    judge = _Judge(bench, phase, resolve_judge(bench.opts.judge, phase.models))
    docs = {d.id: d for d in bench.load()}
    rows = [r for r in phase.samples(bench.name)
            if r.answered and len(r.detail.get("turns") or ()) == 2 and r.item_id in docs]
    singles = [judge.single(docs[r.item_id], r.detail["turns"], t) for r in rows for t in TURNS]
    single_keys = [(r.model, r.item_id, r.repeat) for r in rows for _ in TURNS]
    meets: list[tuple[SampleRow, SampleRow, int]] = []
    if bench.opts.pairwise:
        order = list(phase.models)
        by_item: dict[tuple[str, int], list[SampleRow]] = defaultdict(list)
        for r in rows:
            by_item[(r.item_id, r.repeat)].append(r)
        for group in by_item.values():
            group.sort(key=lambda r: order.index(r.model))
            meets += [(a, b, t) for a, b in combinations(group, 2) for t in TURNS]
    pairs = [judge.pair(docs[a.item_id], (x.model, x.detail["turns"]),
                        (y.model, y.detail["turns"]), t)
             for a, b, t in meets for x, y in ((a, b), (b, a))]
    done = await asyncio.gather(*singles, *pairs)
    graded: dict[tuple[str, str, int], list[Record]] = defaultdict(list)
    for k, rec in zip(single_keys, done[: len(singles)], strict=True):
        graded[k].append(rec)
    versus: dict[tuple[str, str, int], dict[str, list[Record]]] = defaultdict(
        lambda: defaultdict(list))
    for (a, b, _t), i in zip(meets, range(0, len(pairs), 2), strict=True):
        both = done[len(singles) + i: len(singles) + i + 2]
        versus[(a.model, a.item_id, a.repeat)][b.model] += both
        versus[(b.model, b.item_id, b.repeat)][a.model] += both
    phase.update([_judged(r, judge, graded[(r.model, r.item_id, r.repeat)],
                          versus.get((r.model, r.item_id, r.repeat), {})) for r in rows])


def _judged(row: SampleRow, judge: _Judge, grades: list[Record],
            versus: Mapping[str, list[Record]]) -> SampleRow:
    """`row` with its grades, win rate and the judge's records."""
    metrics: dict[str, float] = {k: v for k, v in row.metrics.items() if k == "answered"}
    ratings = {g["turn"]: g["rating"] for g in grades if g["rating"] is not None}
    for turn, rating in ratings.items():
        metrics[f"grade_t{turn}"] = rating / 10
    if ratings:
        metrics["grade"] = sum(ratings.values()) / len(ratings) / 10
    results = [s for opp, recs in versus.items() for s in _results(row.model, opp, recs)
               if s is not None]
    if results:
        metrics["win_rate"] = sum(results) / len(results)
    detail = {**row.detail, "judge": {"model": judge.judge, "single": grades,
                                      "format": "json" if judge.structured else "text",
                                      "pairwise": {o: list(v) for o, v in versus.items()}}}
    return replace(row, metrics=metrics, detail=detail)


def _results(model: str, opponent: str, records: Sequence[Record]) -> list[float | None]:
    """`model`'s result against `opponent` per turn, both orders combined."""
    return [result for _, result in _turn_results(model, opponent, records)]


def _turn_results(model: str, opponent: str, records: Sequence[Record]
                  ) -> list[tuple[int, float | None]]:
    """(turn, `model`'s result against `opponent`, both orders combined; None: undecided)
    for each turn compared."""
    out = []
    for turn in TURNS:
        mine = [r for r in records if r["turn"] == turn]
        first = next((r["verdict"] for r in mine if r["first"] == model), None)
        swapped = next((r["verdict"] for r in mine if r["first"] == opponent), None)
        if mine:
            out.append((turn, combine_orders(first, swapped)))
    return out


def _order_pairs(model: str, opponent: str, records: Sequence[Record]
                 ) -> list[tuple[Verdict | None, Verdict | None]]:
    out = []
    for turn in TURNS:
        mine = [r for r in records if r["turn"] == turn]
        if mine:
            out.append((next((r["verdict"] for r in mine if r["first"] == model), None),
                        next((r["verdict"] for r in mine if r["first"] == opponent), None)))
    return out


# --------------------------------------------------------------------------- aggregation


def aggregate_judged(rows_by_model: Mapping[str, Sequence[SampleRow]], metrics: Sequence[str]
                     ) -> dict[str, tuple[list[Score], dict[str, Any]] | None]:
    """Per model: the mean of each per-item metric with its interval, the grade per category,
    unreadable verdicts; for the run, Bradley–Terry ratings, the win-rate matrix and the
    judge's position bias (the same `pairwise` analysis in every model's entry)."""
    shared = _pairwise_analysis(rows_by_model)
    out: dict[str, tuple[list[Score], dict[str, Any]] | None] = {}
    for model, rows in rows_by_model.items():
        scores = [s for m in metrics if (s := _mean(rows, m)) is not None]
        judges = {r.detail["judge"]["model"] for r in rows if "judge" in r.detail}
        analysis: dict[str, Any] = {"categories": _categories(rows), **_unreadable(rows)}
        if judges:
            analysis["judge"] = sorted(judges)
            analysis["judge_format"] = sorted({r.detail["judge"].get("format", "text")
                                               for r in rows if "judge" in r.detail})
            if model in judges:
                analysis["self_judged"] = (
                    f"{model} is its own judge: its grades and win rates may be inflated "
                    "(self-enhancement bias, Zheng et al. 2023 §3.3)")
        if shared:
            analysis["pairwise"] = shared
        out[model] = (scores, analysis)
    return out


def _item_values(rows: Sequence[SampleRow], metric: str) -> dict[str, list[float]]:
    per: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if metric in r.metrics:
            per[r.item_id].append(float(r.metrics[metric]))
    return per


def _mean(rows: Sequence[SampleRow], metric: str) -> Score | None:
    if metric == "grade":
        return _grade(rows)
    if metric == "win_rate":
        return _win_rate(rows)
    per = _item_values(rows, metric)
    if not per:
        return None
    s = summarize(list(per.values()))
    return Score(metric, s.mean, s.se, s.n, s.ci_low, s.ci_high, extra={"ci_method": s.ci_method})


def _win_rate(rows: Sequence[SampleRow]) -> Score | None:
    """The win rate as FastChat's show_result.py pools it: over every decided comparison
    (question, opponent, turn; both orders combined, ties half), not over questions; the
    interval clustered by question."""
    per: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in rows:
        for opponent, records in r.detail.get("judge", {}).get("pairwise", {}).items():
            for turn, result in _decided(r.model, opponent, records):
                per[(r.item_id, opponent, turn)].append(result)
    if not per:
        return None
    s = summarize(list(per.values()), clusters=[q for q, _, _ in per])
    n = len({q for q, _, _ in per})
    return Score("win_rate", s.mean, s.se, n, s.ci_low, s.ci_high,
                 extra={"ci_method": s.ci_method, "comparisons": len(per)})


def _decided(model: str, opponent: str, records: Sequence[Record]
             ) -> list[tuple[int, float]]:
    """(turn, `model`'s result) of each decided comparison with `opponent`."""
    return [(turn, result) for turn, result in _turn_results(model, opponent, records)
            if result is not None]


def _turn_values(rows: Sequence[SampleRow]) -> dict[tuple[str, int], list[float]]:
    """Each (question, turn)'s readable ratings (/10), over its repeats."""
    per: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in rows:
        for turn in TURNS:
            if f"grade_t{turn}" in r.metrics:
                per[(r.item_id, turn)].append(float(r.metrics[f"grade_t{turn}"]))
    return per


def _grade(rows: Sequence[SampleRow]) -> Score | None:
    """The mean grade as FastChat's show_result.py takes it: over every readable (question,
    turn) rating, not over questions (a question with one readable turn weighs one turn);
    the interval clustered by question (its two turns are not independent)."""
    per = _turn_values(rows)
    if not per:
        return None
    s = summarize(list(per.values()), clusters=[q for q, _ in per])
    n = len({q for q, _ in per})
    lo, hi = _on_scale(s.ci_low, s.ci_high)
    return Score("grade", s.mean, s.se, n, lo, hi,
                 extra={"ci_method": s.ci_method, "turns": len(per)})


GRADE_MIN, GRADE_MAX = 0.1, 1.0  # the judge's 1-10 ratings as stored and averaged (/10)


def _on_scale(lo: float, hi: float) -> tuple[float, float]:
    """A normal interval of grades, clipped to the scale no mean can leave: the 1-10
    ratings /10, as the grades are kept (clipped to 1-10, every lower bound was 1.0, above
    the mean); an interval that is not a number, one rating's, stays so."""
    return ((lo if math.isnan(lo) else max(GRADE_MIN, lo)),
            (hi if math.isnan(hi) else min(GRADE_MAX, hi)))


def _categories(rows: Sequence[SampleRow]) -> dict[str, dict[str, float | None]]:
    out = {}
    for group in sorted({r.group for r in rows}):
        got = category_grade([r for r in rows if r.group == group])
        if got is not None:
            lo, hi = (None, None) if got.ci_low is None or math.isnan(got.ci_low) \
                else (got.ci_low, got.ci_high)
            out[group] = {"grade": got.score, "ci_low": lo, "ci_high": hi, "n": got.n}
    return out


def category_grade(rows: Sequence[SampleRow]) -> Score | None:
    """One category's grade as the headline's (`_grade`): over its every readable (question,
    turn) rating, the interval clustered by question; none from one question (its two turns
    as two clusters gave "9.5 [8.8, 10.0] n=1"; an audit's). The report's group table and
    the results' breakdowns take it too (they averaged question means: 60.2 beside this
    62.5 where a turn was unreadable; an audit's)."""
    per = _turn_values([r for r in rows if r.status in ANSWERED])
    if not per:
        return None
    s = summarize(list(per.values()), clusters=[q for q, _ in per])
    n = len({q for q, _ in per})
    lo, hi = _on_scale(s.ci_low, s.ci_high) if n >= 2 else (math.nan, math.nan)
    return Score("grade", s.mean, s.se, n, lo, hi,
                 extra={"ci_method": s.ci_method, "turns": len(per)})


def _unreadable(rows: Sequence[SampleRow]) -> dict[str, Any]:
    singles = [g for r in rows for g in r.detail.get("judge", {}).get("single", [])]
    pairs = [p for r in rows for v in r.detail.get("judge", {}).get("pairwise", {}).values()
             for p in v if p["first"] == r.model]
    # a failed request (the judge gave up, the prompt overflowed its window) is not a verdict
    # the judge gave badly: counted apart
    return {"single_judgments": len(singles),
            "single_unreadable": sum(g["rating"] is None and "error" not in g for g in singles),
            "single_failed": sum("error" in g for g in singles),
            "pair_judgments": len(pairs),
            "pair_unreadable": sum(p["verdict"] is None and "error" not in p for p in pairs),
            "pair_failed": sum("error" in p for p in pairs)}


def comparisons(rows_by_model: Mapping[str, Sequence[SampleRow]]
                ) -> tuple[list[Comparison], list[tuple[Verdict | None, Verdict | None]]]:
    """Every pairwise comparison once (question = item id, so a question's turns and repeats
    resample together) and its two verdicts."""
    out, orders = [], []
    for model, rows in rows_by_model.items():
        for r in rows:
            for opp, recs in r.detail.get("judge", {}).get("pairwise", {}).items():
                if opp not in rows_by_model or not model < opp:
                    continue
                out += [Comparison(r.item_id, model, opp, s)
                        for s in _results(model, opp, recs)]
                orders += _order_pairs(model, opp, recs)
    return out, orders


def _pairwise_analysis(rows_by_model: Mapping[str, Sequence[SampleRow]]) -> dict[str, Any]:
    comps, orders = comparisons(rows_by_model)
    decided = [c for c in comps if c.score is not None]
    if not decided:
        return {"comparisons": len(comps), "undecided": len(comps)} if comps else {}
    models = sorted({m for c in decided for m in (c.model_a, c.model_b)})
    bias = position_bias(orders)
    return {
        "comparisons": len(comps),
        "undecided": len(comps) - len(decided),
        "ratings": [vars(r) for r in bootstrap_ratings(decided, models)],
        "win_rates": [vars(w) for w in win_rates(comps)],
        "position_bias": vars(bias) if bias is not None else None,
    }
