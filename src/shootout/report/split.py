"""A large run's report data built in several processes, none of them holding the whole run
(issue 18).

A report needs, besides a run's results, figures from every sample: each model's item scores
for the paired tests, the statistics of metrics that are not item means (a subject average,
corpus BLEU, pass@k) and each stored response's latencies. Those are functions of one model's
samples, as the results are (`analysis.parallel`): where the results would be built in several
processes, `report_results` has each process read its share of the models and give back the
results with those figures (per model x benchmark and metric), not the samples. The few
sections that show samples (the per-item evidence of two models, coding by language, safety,
function calling, the prompt variants) read theirs from the store when they ask for them
(`StoredCells`), one model x benchmark at a time.

Everything else is as one process builds it: the same results, figures and samples, so the
same report. A run is built in one process where `analysis.parallel.plan` says so, or where a
share fails (the one-process build then raises what it always raised). A statistic that
cannot be sent between processes (corpus BLEU's holds its sacrebleu metric) is computed in
this process, from the cell's samples read then.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..analysis.parallel import (
    held,
    in_processes,
    joined,
    part_of,
    plan,
    release,
    share_results,
)
from ..analysis.resampling import ItemStatistic, item_statistic
from ..analysis.results import (
    Key,
    Latency,
    Results,
    RunResults,
    build_results,
    item_scores,
    request_latency,
)
from ..frozen import gc_paused
from ..scores import COMPARED_GROUPS, Score
from ..store import SampleRow, Store
from ..store.rows import ANSWERED

# a cell's item scores under one metric, and the metric's statistic where the metric is not a
# mean of item scores (None: none, or none known for the metric)
Figures = tuple[dict[str, list[float]], ItemStatistic | None]
FigureKey = tuple[str, str, str, str]  # run, model, benchmark, metric
UNSENT = "unsent"  # the statistic could not be pickled: computed here from the samples


def cell_figures(samples: Sequence[SampleRow], row: Score, *, answered: bool = False
                 ) -> Figures:
    """The answered samples' item scores under the row's metric, and the statistic
    `item_statistic` gives where they are not the metric (no item scores, or a mean of
    subject means). `answered`: `samples` are the answered ones already."""
    ok = samples if answered else [s for s in samples if s.status in ANSWERED]
    if isinstance(only := row.extra.get(COMPARED_GROUPS), list):  # the row's groups alone
        ok = [s for s in ok if s.group in only]
    per_item = item_scores(ok, row.metric)
    if bool(per_item) and row.extra.get("average") != "subject":
        return per_item, None
    return per_item, item_statistic(row.metric, row.extra, ok)


class StoredCells(Mapping[Key, tuple[SampleRow, ...]]):
    """A run's samples per (model, benchmark), in the store's order, each cell read from the
    store when first asked for (`Store.samples`: the samples without their responses' usage
    and timing, which the results and figures already hold) and kept."""

    def __init__(self, store: Store, run_id: str, keys: Sequence[Key]) -> None:
        self._store, self._run_id = store, run_id
        self._keys = list(keys)
        self._known = set(self._keys)
        self._read: dict[Key, tuple[SampleRow, ...]] = {}

    def reading_from(self, store: Store) -> StoredCells:
        """The same cells, read from `store` (another connection to the same file: a
        forked process must not use its parent's), none of them read yet."""
        return StoredCells(store, self._run_id, self._keys)

    def __getitem__(self, key: Key) -> tuple[SampleRow, ...]:
        if key not in self._known:
            raise KeyError(key)
        if key not in self._read:  # in the store's order, as `Store.read_run` reads them
            self._read[key] = tuple(self._store.samples(self._run_id, *key))
        return self._read[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._known

    def rows(self, key: Key, items: Collection[str] | None = None) -> Iterator[SampleRow]:
        """The cell's samples (of `items` only, where given) in the store's order, read as
        they are asked for where the cell is not read yet (and not kept)."""
        if key not in self._known:
            raise KeyError(key)
        if key in self._read:
            yield from _of_items(self._read[key], items)
        else:
            yield from self._store.samples(self._run_id, *key, items=items)


def _of_items(rows: Iterable[SampleRow], items: Collection[str] | None) -> Iterator[SampleRow]:
    return iter(rows) if items is None else (r for r in rows if r.item_id in items)


def cell_rows(samples: Mapping[Key, Sequence[SampleRow]], key: Key,
              items: Collection[str] | None = None) -> Iterator[SampleRow]:
    """A cell's samples (of `items` only, where given) in the store's order, without reading
    the whole cell where it is still in the store (`Relabeled`, `StoredCells`)."""
    if isinstance(samples, Relabeled | StoredCells):
        return samples.rows(key, items)
    return _of_items(samples.get(key, ()), items)


class Relabeled(Mapping[Key, list[SampleRow]]):
    """The report's samples by (label, benchmark), in `order`: those `given`, and the others
    read from their run's `StoredCells` when first asked for."""

    def __init__(self, order: Sequence[Key], given: Mapping[Key, list[SampleRow]],
                 stored: Mapping[Key, tuple[Mapping[Key, Sequence[SampleRow]], Key]]) -> None:
        self._order, self._given, self._stored = list(order), dict(given), stored

    def reading_from(self, store: Store) -> Relabeled:
        """The same samples, those still to be read read from `store` (see
        `StoredCells.reading_from`)."""
        fresh: dict[int, StoredCells] = {}
        stored: dict[Key, tuple[Mapping[Key, Sequence[SampleRow]], Key]] = {}
        for key, (cells, cell) in self._stored.items():
            if isinstance(cells, StoredCells):
                if id(cells) not in fresh:
                    fresh[id(cells)] = cells.reading_from(store)
                cells = fresh[id(cells)]
            stored[key] = (cells, cell)
        return Relabeled(self._order, self._given, stored)

    def __getitem__(self, key: Key) -> list[SampleRow]:
        if key not in self._given:
            cells, cell = self._stored[key]  # KeyError where there is no such cell
            self._given[key] = list(cells[cell])
        return self._given[key]

    def rows(self, key: Key, items: Collection[str] | None = None) -> Iterator[SampleRow]:
        """`cell_rows` of one of these cells."""
        if key in self._given:
            return _of_items(self._given[key], items)
        cells, cell = self._stored[key]  # KeyError where there is no such cell
        return cell_rows(cells, cell, items)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._given or key in self._stored


Share = tuple[tuple[Any, ...], dict[Key, dict[str, Figures | str]], dict[str, Latency]]


def _report_share(args: tuple[str, str, Sequence[str]]) -> Share | None:
    """In a worker: the results of some models of the run, their cells' figures under every
    metric of their rows, and their latencies (None where the efficiency rows failed)."""
    release()
    with gc_paused():
        res = share_results(*args)
        if res is None:
            return None
        held(res)  # freed by the worker's exit, not before its result is sent
        rows: dict[Key, list[Score]] = defaultdict(list)
        for s in res.scores:
            rows[(s.model, s.benchmark)].append(s)
        figures: dict[Key, dict[str, Figures | str]] = {}
        for key, rs in rows.items():
            ok = [s for s in res.samples.get(key, ()) if s.status in ANSWERED]
            figures[key] = {r.metric: _sendable(_figures(res, key, ok, r)) for r in rs}
        return part_of(res), figures, dict(request_latency(res.run))


def _figures(res: RunResults, key: Key, ok: list[SampleRow], row: Score) -> Figures:
    """`cell_figures` of the cell's answered samples `ok`: the item scores the build
    computed the row's score from, where it kept them (a mean of item scores)."""
    kept = res.per_item.get((*key, row.metric))
    if kept is not None and row.extra.get("average") != "subject":
        return kept, None
    return cell_figures(ok, row, answered=True)


def _sendable(fig: Figures) -> Figures | str:
    if fig[1] is None:
        return fig
    try:
        pickle.dumps(fig[1])
    except Exception:  # a closure over a sacrebleu metric
        return UNSENT
    return fig


class SplitFigures:
    """The figures the shares sent, by run, model, benchmark and metric; the samples of a
    cell whose statistic was not sent are read for it."""

    def __init__(self) -> None:
        self._sent: dict[FigureKey, Figures | str] = {}
        self._cells: dict[str, StoredCells] = {}

    def add(self, run_id: str, cells: StoredCells,
            figures: Mapping[Key, Mapping[str, Figures | str]]) -> None:
        self._cells[run_id] = cells
        for (model, bench), by_metric in figures.items():
            for metric, fig in by_metric.items():
                self._sent[(run_id, model, bench, metric)] = fig

    def get(self, run_id: str, model: str, row: Score) -> Figures | None:
        """The row's figures, or None where its run was built in one process."""
        got = self._sent.get((run_id, model, row.benchmark, row.metric))
        if got is None:
            return None
        if isinstance(got, str):
            return cell_figures(self._cells[run_id].get((model, row.benchmark), ()), row)
        return got


def report_results(store: Store, run_ids: Sequence[str], *, kept: bool = True
                   ) -> tuple[Results, SplitFigures]:
    """Each run's results (`build_results`), in shares where `analysis.parallel.plan` says
    so: then without their samples in memory (`StoredCells`) and with their figures and
    latencies sent by the shares, or taken from the run's report basis (`report.basis`)
    where one is kept for its current state (`kept`: False builds from the samples)."""
    out: list[RunResults] = []
    figures = SplitFigures()
    for run_id in dict.fromkeys(run_ids):
        built = _split(store, run_id, figures, kept)
        out.append(build_results(store, [run_id]).runs[0] if built is None else built)
    return Results(tuple(out)), figures


Joined = tuple[RunResults, dict[Key, dict[str, Figures | str]], dict[str, Latency]]


def _report_imports() -> None:
    """What the rest of a report imports (its tests' scipy, its renderers and their
    templates: ~0.45 s), imported while the shares are built rather than after them."""
    from ..analysis.stats import _scipy_special
    from . import html, markdown  # noqa: F401

    _scipy_special()


def report_shares(store: Store, run_id: str, *, kept: bool = True,
                  meanwhile: Callable[[], object] | None = None
                  ) -> tuple[Joined, list[Key]] | None:
    """A run's results without samples, its cells' figures and its models' latencies, and
    its cells (model, benchmark) in the store's order: from the run's report basis where
    `kept` and one is kept for its current state, else built in shares (None where
    `analysis.parallel.plan` builds it in one process, or a share failed) and kept as its
    basis. `meanwhile`: done while the shares are built (`parallel.in_processes`)."""
    from . import basis

    revision = store.revision(run_id)  # before the build: a write during it makes it stale
    planned = plan(store, run_id)
    if planned is None:
        return None
    if kept and (got := basis.load(store, run_id, revision, planned.head)) is not None:
        return got, planned.cells
    shares = in_processes(_report_share, [(str(store.path), run_id, s) for s in planned.shares],
                          meanwhile)
    if shares is None:
        return None
    latency: dict[str, Latency] = {}
    sent: dict[Key, dict[str, Figures | str]] = {}
    for _, figs, lat in shares:
        sent.update(figs)
        latency.update(lat)
    joined_ = joined(planned.head, [g[0] for g in shares]), sent, latency
    basis.keep(store, run_id, revision, joined_)
    return joined_, planned.cells


def _split(store: Store, run_id: str, figures: SplitFigures, kept: bool) -> RunResults | None:
    got = report_shares(store, run_id, kept=kept, meanwhile=_report_imports)
    if got is None:
        return None
    (built, sent, latency), keys = got
    cells = StoredCells(store, run_id, keys)
    figures.add(run_id, cells, sent)
    res = replace(built, samples=cells)
    res.__dict__["latency"] = latency  # the cached property, as the shares computed it
    return res
