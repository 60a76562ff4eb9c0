"""Per-item statistics behind metrics that are not a mean of item scores, for paired bootstraps.

Corpus BLEU/chrF++, pass@k (k > 1) and a mean of subject means (CMMLU's `acc`) are not the
mean of a per-item score, so a paired t-test on item scores tests a different number from
the one reported (for CMMLU, the item mean printed beside it as `acc_item_mean`). They can be
compared by resampling items: each metric is rebuilt here as `stat(values of n items)`, where
an item's value is its sufficient statistics (sacrebleu's per-sentence match counts; a
problem's unbiased pass@k; an item's score, with its subject as the stratum), and
`bootstrap.paired_bootstrap` resamples the items of both models together — within subjects
for a subject average, whose subjects are fixed strata (see `bootstrap`).

The statistic is rebuilt from what the result row says about itself — a subject average from
`extra["average"] == "subject"` (`benchmarks.cmmlu.subject_average_rows`), pass@k from its
name, a sacrebleu metric from its signature (which sacrebleu prints so that a score can be
reproduced) — and `matches` checks that it gives back the row's score on the full sample;
callers drop it when it does not, rather than test a different number.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scores import row_groups
from ..scoring.code import pass_at_k
from .bootstrap import register_batched, register_linear, stratum_codes

_PASS_AT_K = re.compile(r"pass@(\d+)")
_SMOOTH = re.compile(r"([\w-]+)(?:\[([\d.]+)\])?")


@dataclass(frozen=True)
class ItemStatistic:
    """A metric as stat(stacked per-item values); two cells are compared only if `key`s agree."""

    key: str
    values: Mapping[str, np.ndarray]
    stat: Callable[..., float]  # stat(values), or stat(values, stratum codes) with `strata`
    description: str
    strata: Mapping[str, Hashable] | None = None  # item -> stratum, resampled within

    def full(self) -> float:
        """The statistic on every item: the row's score, if this statistic is the right one."""
        x = np.asarray([self.values[k] for k in self.values], dtype=float)
        if self.strata is None:
            return float(self.stat(x))
        return float(self.stat(x, stratum_codes([self.strata[k] for k in self.values])))

    def matches(self, score: float, tol: float = 1e-6) -> bool:
        return bool(self.values) and math.isclose(self.full(), score, rel_tol=tol, abs_tol=tol)


def item_statistic(metric: str, extra: Mapping[str, Any], rows: Sequence[Any]
                   ) -> ItemStatistic | None:
    """The resampling statistic of one result row, from the samples (status "ok") behind it;
    None for a metric of unknown construction."""
    if extra.get("average") == "subject":
        groups = row_groups(extra)
        return subject_average_statistic(
            rows if groups is None else [r for r in rows if r.group in groups], metric)
    m = _PASS_AT_K.fullmatch(metric)
    if m:
        return pass_at_k_statistic(rows, int(m.group(1)))
    sig = extra.get("signature")
    if isinstance(sig, str) and sig:
        return corpus_statistic(rows, sig)
    return None


def pass_at_k_statistic(rows: Sequence[Any], k: int) -> ItemStatistic | None:
    """pass@k = mean over problems of the unbiased estimator 1 − C(n−c, k)/C(n, k) (Chen et al.
    2021), from each problem's n samples of which c passed (`pass@1` of each sample)."""
    per_item: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if "pass@1" in r.metrics:
            per_item[r.item_id].append(float(r.metrics["pass@1"]))
    if not per_item or min(len(v) for v in per_item.values()) < k:
        return None
    values = {i: np.asarray(pass_at_k(len(v), int(sum(v)), k), dtype=float)
              for i, v in per_item.items()}
    return ItemStatistic(f"pass@{k}", values, _mean, f"pass@{k}: mean of per-problem estimates")


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def subject_average_statistic(rows: Sequence[Any], metric: str) -> ItemStatistic | None:
    """The mean over subjects (`group`) of each subject's mean item score, an item's score
    being the mean of its repeats (Miller 2024) — as `stratified.stratified_summary` computes
    CMMLU's `acc`. Its subjects are the strata the paired bootstrap resamples within."""
    per_item: dict[str, list[float]] = defaultdict(list)
    group_of: dict[str, str] = {}
    for r in rows:
        if metric in r.metrics:
            per_item[r.item_id].append(float(r.metrics[metric]))
            group_of[r.item_id] = r.group
    if not per_item:
        return None
    values = {i: np.asarray(sum(v) / len(v), dtype=float) for i, v in per_item.items()}
    return ItemStatistic(f"subject_average:{metric}", values, _mean_of_stratum_means,
                         f"{metric}: mean of the subject means", strata=group_of)


def _mean_of_stratum_means(x: np.ndarray, codes: np.ndarray) -> float:
    """codes: 0..S−1, each present (`bootstrap.stratum_codes` of the items compared), so a
    subject none of the compared items is in is not in the average."""
    return float(np.mean(np.bincount(codes, weights=x) / np.bincount(codes)))


def _means_of_stratum_means(m: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """`_mean_of_stratum_means` of each row of m (resamples x items)."""
    assert codes is not None
    counts = np.bincount(codes)
    weights = np.zeros((codes.size, counts.size))
    weights[np.arange(codes.size), codes] = 1.0 / counts[codes]
    return np.asarray((m @ weights).mean(axis=1))


def _stratum_weights(codes: np.ndarray | None, n: int) -> np.ndarray:
    """Each item's weight in `_mean_of_stratum_means`: 1 / (strata x its stratum's items)."""
    assert codes is not None
    counts = np.bincount(codes)
    return 1.0 / (counts.size * counts[codes])


register_batched(_mean, lambda m, _codes: m.mean(axis=1))
register_batched(_mean_of_stratum_means, _means_of_stratum_means)
register_linear(_mean, lambda _codes, n: np.full(n, 1.0 / n))
register_linear(_mean_of_stratum_means, _stratum_weights)


def corpus_statistic(rows: Sequence[Any], signature: str) -> ItemStatistic | None:
    """A sacrebleu corpus metric as the mean over repeats of the score of summed per-sentence
    statistics, over the items present in every repeat (as the translation benchmarks score:
    one system output per repeat). The metric is rebuilt from its signature; None when the
    signature is not BLEU's or chrF's, or the samples lack hypotheses and references. Whether
    the rebuilt metric is the reported one is for the caller to check (`matches`)."""
    fields = dict(p.split(":", 1) for p in signature.split("|") if ":" in p)
    metric_factory = _metric_from_signature(fields)
    if metric_factory is None or "nrefs" not in fields:
        return None
    nrefs = int(fields["nrefs"])
    by_rep: dict[int, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        if "hyp" in r.detail and len(_refs(r.detail)) >= nrefs:
            by_rep[r.repeat][r.item_id] = r
    if not by_rep:
        return None
    items = sorted(set.intersection(*(set(v) for v in by_rep.values())))
    if not items:
        return None
    reps = sorted(by_rep)
    metric = metric_factory()
    per_rep = []
    for k in reps:
        hyps = [str(by_rep[k][i].detail["hyp"]) for i in items]
        refs = [_refs(by_rep[k][i].detail)[:nrefs] for i in items]
        streams = [[r[j] for r in refs] for j in range(nrefs)]
        per_rep.append(np.asarray(metric._extract_corpus_statistics(hyps, streams), float))
    stacked = np.stack(per_rep, axis=1)  # items x repeats x statistics
    values = {i: stacked[n] for n, i in enumerate(items)}

    def of_sums(sums: np.ndarray) -> float:
        return float(np.mean([metric._compute_score_from_stats(s).score for s in sums])) / 100

    def stat(x: np.ndarray) -> float:
        return of_sums(x.sum(axis=0))

    stat.of_sums = of_sums  # type: ignore[attr-defined]  # (`bootstrap.randomization_p`)

    name = "BLEU" if "tok" in fields else "chrF"
    return ItemStatistic(_core(signature), values, stat,
                         f"corpus {name} from per-sentence statistics ({signature})")


def _refs(detail: Mapping[str, Any]) -> list[str]:
    """An item's references in the order the benchmark scores them: the primary ones (`refs`),
    then those only the multi-reference metrics use (`extra_refs`)."""
    return [*(detail.get("refs") or ()), *(detail.get("extra_refs") or ())]


def _metric_from_signature(f: Mapping[str, str]) -> Callable[[], Any] | None:
    """A factory of the sacrebleu metric a signature describes, or None."""
    from sacrebleu.metrics import BLEU, CHRF

    lower = f.get("case") == "lc"
    if "tok" in f:
        sm = _SMOOTH.fullmatch(f.get("smooth", "exp"))
        if sm is None:
            return None
        value = float(sm.group(2)) if sm.group(2) else None
        return lambda: BLEU(lowercase=lower, tokenize=f["tok"], smooth_method=sm.group(1),
                            smooth_value=value, effective_order=f.get("eff") == "yes")
    if "nc" in f and "nw" in f:
        # chrF's signature says eff:yes when epsilon smoothing is off
        return lambda: CHRF(char_order=int(f["nc"]), word_order=int(f["nw"]), lowercase=lower,
                            whitespace=f.get("space") == "yes",
                            eps_smoothing=f.get("eff") == "no")
    return None


def _core(signature: str) -> str:
    """The signature without the parts that do not change the score (version, bootstrap)."""
    drop = ("version", "bs", "seed")
    return "|".join(p for p in signature.split("|") if p.split(":", 1)[0] not in drop)
