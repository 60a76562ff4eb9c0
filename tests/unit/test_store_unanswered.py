"""`Store.unanswered` (the results JSON's "unanswered" cells) found cell by cell: the same
rows as the one aggregate over the whole run it replaced (kept here as the reference), on
random runs with cells answered, partly answered and not at all, errors tied and missing."""

from __future__ import annotations

import random

from shootout.store import Store
from shootout.store.rows import ANSWERED, SampleRow

# the query `Store.unanswered` ran before (one GROUP BY over every sample of the run)
REFERENCE = (
    "SELECT s.model, s.benchmark, COUNT(DISTINCT s.item_id), (SELECT e.error FROM "
    "samples e WHERE e.run_id = s.run_id AND e.model = s.model AND e.benchmark = "
    "s.benchmark GROUP BY e.error ORDER BY COUNT(*) DESC, e.error LIMIT 1) "
    "FROM samples s WHERE s.run_id = ? GROUP BY s.model, s.benchmark "
    "HAVING SUM(s.status IN ('ok', 'truncated', 'filtered')) = 0 ORDER BY s.model, s.benchmark")


def _reference(store: Store, run_id: str) -> list[tuple[str, str, int, str]]:
    assert ANSWERED == ("ok", "truncated", "filtered")
    return [(str(m), str(b), int(n), str(e or "no error stored"))
            for m, b, n, e in store._db.execute(REFERENCE, (run_id,))]


def test_unanswered_cells_are_those_of_the_whole_run_aggregate(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite")
    rng = random.Random(3)
    found = 0
    for run in range(12):
        run_id = f"r-{run}"
        store.upsert_run(run_id, {"models": [], "benchmarks": []})
        models = rng.sample(["a", "b", "B", "a b", "é", "a\x00"], rng.randint(1, 4))
        benches = rng.sample(["arc_easy", "gsm8k", "mmlu", "arc_easy@v1"], rng.randint(1, 3))
        for m in models:
            for b in benches:
                kind = rng.choice(["answered", "partly", "none", "none"])
                for i in range(rng.randint(1, 6)):
                    for rep in range(rng.randint(1, 3)):
                        ok = kind == "answered" or (kind == "partly" and rng.random() < 0.3)
                        status = rng.choice(ANSWERED) if ok else "error"
                        error = None if ok else rng.choice(
                            [None, "HTTP 400: no such model", "HTTP 429", "timeout"])
                        store.put_sample(run_id, SampleRow(
                            model=m, benchmark=b, item_id=f"i{i}", repeat=rep, group="",
                            status=status, metrics={"acc": 1.0} if ok else {},
                            extracted=None, reason="", extraction_failed=False, error=error,
                            response_key=None))
        want = _reference(store, run_id)
        assert store.unanswered(run_id) == want, run_id
        assert store.cells(run_id) == sorted({(m, b) for m in models for b in benches})
        found += len(want)
    assert found > 5  # the runs had cells that nothing answered
    assert store.unanswered("no-such-run") == [] and store.cells("no-such-run") == []
