"""The one score type: a figure with its uncertainty, from a benchmark's aggregate up to the
results table, the JSON and the report.

A benchmark's `aggregate` builds a `Score` from the first seven fields. The results build
(`analysis.results.build_results`) completes it with where it belongs (model, benchmark, group
for a breakdown), whether it is the benchmark's headline (`primary`) and how failed requests
bear on it; the report marks whether it is a mean of item scores (`item_level`). Undefined
values are None or NaN (an SE from one item); `se` and the `ci` bounds read both as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# the keys of a row of the results JSON (`shootout results --json`), in their order
RESULT_KEYS = ("model", "benchmark", "metric", "score", "stderr", "n", "ci_low", "ci_high",
               "repeats", "n_failed", "extraction_failure_rate", "primary", "extra",
               "n_attempted", "score_failed_as_wrong", "ci_low_failed_as_wrong",
               "ci_high_failed_as_wrong", "truncated_rate", "filtered_rate")
BREAKDOWN_KEYS = ("model", "benchmark", "group", "metric", "score", "stderr", "n", "ci_low",
                  "ci_high")


@dataclass(frozen=True)
class Score:
    """One figure of a benchmark (a metric over its items) with its uncertainty."""

    metric: str
    score: float
    stderr: float | None
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # where the figure belongs; `group` is set on a breakdown (MMLU subject, MATH level...)
    model: str = ""
    benchmark: str = ""
    group: str = ""
    primary: bool = False
    repeats: int = 1
    # failed requests: items with a failed sample, items attempted (answered or failed), and
    # only when n_failed > 0 the metric with every failed sample scored 0 over n_attempted
    n_failed: int = 0
    n_attempted: int | None = None
    extraction_failure_rate: float | None = None
    # generated answers cut off by the output limit (finish_reason "length"), of all generated
    truncated_rate: float | None = None
    # generated answers the API filtered or refused (finish_reason "content_filter", stop_reason
    # "refusal": status "filtered"), of all generated
    filtered_rate: float | None = None
    score_failed_as_wrong: float | None = None
    ci_low_failed_as_wrong: float | None = None
    ci_high_failed_as_wrong: float | None = None
    # the score is the mean of per-item scores that exist, so a paired t-test tests it
    item_level: bool = True

    @property
    def se(self) -> float:
        return _nan(self.stderr)

    @property
    def ci(self) -> tuple[float, float]:
        return _nan(self.ci_low), _nan(self.ci_high)

    @property
    def half_width(self) -> float:
        lo, hi = self.ci
        return (hi - lo) / 2

    @property
    def ci_method(self) -> str:
        """How the interval was built: `analysis.stats.summarize`'s method for an item mean,
        "benchmark" for a benchmark's own aggregate, "normal" when nothing says."""
        return str(self.extra.get("ci_method") or ("benchmark" if self.extra else "normal"))

    @property
    def items_left_out(self) -> int:
        """The failed items that are not in the score at all: every sample of theirs failed.
        An item with a failed repeat and an answered one is in the score, on the repeats
        answered (`n_failed` counts every item with a failed sample). `n` counts the items
        scored, item-level or not (CMMLU's subject average's: its items, in their subjects);
        where the counts disagree, every failed item is taken as left out."""
        if not self.n_failed:
            return 0
        whole = (self.n_attempted or 0) - self.n
        return whole if 0 <= whole <= self.n_failed else self.n_failed

    def result_dict(self) -> dict[str, Any]:
        """A row of the results JSON (NaN stays NaN: the JSON writer turns it into null)."""
        return {k: dict(self.extra) if k == "extra" else getattr(self, k) for k in RESULT_KEYS}

    def breakdown_dict(self) -> dict[str, Any]:
        """A row of the results JSON's `breakdowns`."""
        return {k: getattr(self, k) for k in BREAKDOWN_KEYS}


# a mean row over the groups every model of the run ran (`Benchmark.compared_groups`): its
# item scores are those groups' (`report.split.cell_figures` takes the same items)
COMPARED_GROUPS = "compared_groups"


def row_groups(extra: Mapping[str, Any]) -> frozenset[str] | None:
    """The groups a row is over (`extra["groups"]`: BFCL's AST summary leaves irrelevance
    out), or None for a row over the whole cell."""
    groups = extra.get("groups")
    return frozenset(map(str, groups)) if isinstance(groups, list | tuple) else None


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)
