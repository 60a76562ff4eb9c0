"""`response_facts`: what a run's results read of each response, kept beside it by triggers,
and filled on open for a store written before it existed (issue 18, item 4)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from shootout.analysis.efficiency import efficiency_rows
from shootout.perf.metrics import metrics_of, summarize
from shootout.store import RunRecord, SampleRow, Store, StoredResponse

RUN = "r-1"


def _sample(item: str, key: str) -> SampleRow:
    return SampleRow(model="m", benchmark="gsm8k", item_id=item, repeat=0, group="",
                     status="ok", metrics={"acc": 1.0}, extracted=None, reason="",
                     extraction_failed=False, error=None, response_key=key,
                     detail={"mode": "generative"})


def _response(e2e: float, tokens: int = 3) -> dict[str, object]:
    return {"kind": "generate", "text": "Answer: 3", "finish_reason": "stop",
            "usage": {"prompt_tokens": 10, "completion_tokens": tokens},
            "timing": {"ttft": 0.1, "e2e": e2e, "chunk_times": [0.1, 0.2]}}


def _store(path: Path) -> Store:
    store = Store(path)
    store.upsert_run(RUN, {"models": ["m"]})
    store.put_response("k1", "m", "generate", {"kind": "generate"}, _response(0.5))
    inf = {**_response(0.25), "kind": "loglikelihood",
           "scores": [{"logprob": float("-inf"), "is_greedy": False, "n_tokens": 1}]}
    store.put_response("k2", "m", "loglikelihood", {"kind": "loglikelihood"}, inf)
    for s in (_sample("a", "k1"), _sample("b", "k2"), _sample("c", "k-lost")):
        store.put_sample(RUN, s)
    return store


def _as_before(path: Path, *tables: str) -> None:
    """The store as a shootout before `tables` left it (the rest is unchanged)."""
    db = sqlite3.connect(path)
    for table in tables:
        for name in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER {table}_{name}")
        db.execute(f"DROP TABLE {table}")
    db.commit()
    db.close()


def _as_before_facts(path: Path) -> None:
    _as_before(path, "response_facts", "response_lean")


def _as_read(r: StoredResponse) -> tuple[object, ...]:
    """A stored response as the results use it: its chunk times wherever they are kept."""
    timing = {k: v for k, v in r.timing.items() if k != "chunk_times"}
    return r.key, r.kind, r.created_at, r.usage, timing, r.finish_reason, r.chunk_times


def test_an_older_store_is_filled_on_open_and_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = _store(path)
    before = store.read_run(RUN)
    store.close()
    _as_before_facts(path)
    # an older shootout goes on writing to it: a response it adds is found as well
    db = sqlite3.connect(path)
    db.execute("INSERT INTO responses SELECT 'k3', model, kind, request_json, "
               "replace(response_json, '0.5', '0.75'), created_at FROM responses "
               "WHERE key='k1'")
    db.execute("INSERT INTO samples SELECT run_id, model, benchmark, 'd', repeat, item_group, "
               "'k3', status, metrics_json, extracted, reason, extraction_failed, error, "
               "attempts, created_at, detail_json FROM samples WHERE item_id='a'")
    db.commit()
    db.close()
    store = Store(path)
    after = store.read_run(RUN)
    assert before is not None and after is not None
    assert after.samples[:3] == before.samples
    assert {k: _as_read(after.responses[k]) for k in ("k1", "k2")} == {
        k: _as_read(r) for k, r in before.responses.items()}
    assert after.responses["k3"].timing["e2e"] == 0.75
    assert after.responses["k2"].usage["completion_tokens"] == 3  # read from the whole text
    store.close()
    Store(path).close()  # a second open finds it done
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM response_facts").fetchone()
    assert rows == (3,)


def test_facts_follow_every_write_to_the_responses(tmp_path: Path) -> None:
    """A response replaced, changed or removed, by the store or by SQL of its own (a merge, an
    older shootout), reads as it now is."""
    path = tmp_path / "s.sqlite"
    store = _store(path)
    store.put_response("k1", "m", "generate", {"kind": "generate"}, _response(0.5, tokens=7))
    run = store.read_run(RUN)
    assert run is not None and run.responses["k1"].usage["completion_tokens"] == 7
    db = sqlite3.connect(path)
    db.execute("UPDATE responses SET kind='loglikelihood', created_at=5.0 WHERE key='k1'")
    db.execute("DELETE FROM responses WHERE key='k2'")
    db.commit()
    db.close()
    run = store.read_run(RUN)
    assert run is not None and set(run.responses) == {"k1"}
    k1 = run.responses["k1"]
    assert (k1.kind, k1.created_at, k1.usage["completion_tokens"]) == ("loglikelihood", 5.0, 7)


def test_each_sample_has_a_detail_of_its_own(tmp_path: Path) -> None:
    """A detail text repeated over samples is parsed once where it is flat, and each sample
    still gets its own dict (nested ones are parsed for each sample)."""
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {})
    flat, nested = {"mode": "generative", "n": 2}, {"mode": "generative", "refs": ["x"]}
    for item, detail in (("a", flat), ("b", flat), ("c", nested), ("d", nested)):
        store.put_sample(RUN, SampleRow(**{**vars(_sample(item, "k")), "detail": detail}))
    run = store.read_run(RUN)
    assert run is not None
    a, b, c, d = (s.detail for s in run.samples)
    assert a == b == flat and c == d == nested
    assert a is not b and c is not d and c["refs"] is not d["refs"]


def _add_k3(db: sqlite3.Connection) -> None:
    """Response k3 (chunk times of its own) and sample d using it, written by SQL of its own
    (a merge, an older shootout): the triggers alone keep the facts."""
    db.execute("INSERT INTO responses SELECT 'k3', model, kind, request_json, "
               "replace(response_json, '[0.1, 0.2]', '[0.5, 0.625, 1.5]'), created_at "
               "FROM responses WHERE key='k1'")
    db.execute("INSERT INTO samples SELECT run_id, model, benchmark, 'd', repeat, item_group, "
               "'k3', status, metrics_json, extracted, reason, extraction_failed, error, "
               "attempts, created_at, detail_json FROM samples WHERE item_id='a'")


def _as_before_lean(path: Path) -> None:
    """The store as a shootout before `response_lean` left it, and a response an older
    shootout then added (k3: chunk times of its own)."""
    _as_before(path, "response_lean")
    db = sqlite3.connect(path)
    _add_k3(db)
    db.commit()
    db.close()


def _itl(run: RunRecord) -> dict[str, float]:
    """The model's inter-token latency statistics as the results give them."""
    total = next(r for r in efficiency_rows(run, []) if r["scope"] == "model")
    return dict(total["latency"]["itl_ms"])


def _itl_of_records(run: RunRecord) -> dict[str, float]:
    """The same from `perf.metrics`, request by request, from the chunk times as read."""
    records = [metrics_of((r.timing["e2e"], r.timing["ttft"], r.chunk_times, None, None),
                          (10, 0, 3, False))
               for _, r in sorted(run.responses.items()) if r.kind == "generate"]
    return dict(summarize(records).to_dict()["itl_ms"])


def test_chunk_times_are_kept_apart_as_bytes_and_read_as_numbers(tmp_path: Path) -> None:
    """This shootout keeps a response's chunk times as float64 bytes, out of the facts it
    parses; a response written by other SQL keeps the triggers' JSON; both read alike."""
    path = tmp_path / "s.sqlite"
    store = _store(path)
    db = sqlite3.connect(path)  # a merge or an older shootout, by SQL of its own
    _add_k3(db)
    db.commit()
    kinds = dict(db.execute("SELECT key, typeof(chunks) FROM response_lean").fetchall())
    lean = db.execute("SELECT facts_json FROM response_lean WHERE key='k1'").fetchone()[0]
    db.close()
    assert kinds == {"k1": "blob", "k2": "blob", "k3": "text"}
    assert "chunk_times" not in lean
    run = store.read_run(RUN)
    assert run is not None
    assert run.responses["k1"].chunk_times == (0.1, 0.2)
    assert run.responses["k3"].chunk_times == (0.5, 0.625, 1.5)
    assert "chunk_times" not in run.responses["k3"].timing
    itl = _itl(run)
    assert itl["n"] == 3 and itl == _itl_of_records(run)
    assert itl["median"] == pytest.approx(125.0)  # 0.1, 0.125 and 0.875 s


def test_a_store_before_lean_facts_is_filled_on_open_and_reads_the_same(tmp_path: Path
                                                                        ) -> None:
    """A store that predates `response_lean` (and a response an older shootout added to
    it) gets it, filled, on open; read-only, it is read from its `response_facts`."""
    path = tmp_path / "s.sqlite"
    _store(path).close()
    _as_before_lean(path)
    old = Store.reader(path)  # as a store that cannot be written is read: not migrated
    as_is = old.read_run(RUN)
    old.close()
    store = Store(path)
    run = store.read_run(RUN)
    assert as_is is not None and run is not None
    assert {k: _as_read(r) for k, r in run.responses.items()} == {
        k: _as_read(r) for k, r in as_is.responses.items()}
    assert run.responses["k3"].chunk_times == (0.5, 0.625, 1.5)
    assert _itl(run) == _itl(as_is) == _itl_of_records(run)
    assert _itl(run)["n"] == 3
    # filled from `response_facts` (chunk times as JSON), then by the triggers and the store
    store.put_response("k4", "m", "generate", {"kind": "generate"}, _response(0.5))
    db = sqlite3.connect(path)
    got = db.execute("SELECT typeof(facts_json), typeof(chunks) FROM response_lean "
                     "WHERE key IN ('k1', 'k4') ORDER BY key").fetchall()
    db.close()
    assert got == [("text", "text"), ("text", "blob")]
    store.close()


def test_inter_token_gaps_are_each_requests_own_differences() -> None:
    """Every form a request's chunk times come in, empty and single ones among them: the
    gaps are those within each request, in order, none spanning two requests."""
    import random
    from array import array
    from itertools import pairwise

    from shootout.analysis.efficiency import inter_token_gaps

    rng = random.Random(7)
    for _ in range(200):
        requests = [sorted(rng.uniform(0, 5) for _ in range(rng.randrange(5)))
                    for _ in range(rng.randrange(6))]
        forms = [rng.choice((lambda t: array("d", t).tobytes(), lambda t: str(t),
                             lambda t: t))(t) for t in requests]
        want = [b - a for t in requests for a, b in pairwise(t)]
        assert inter_token_gaps(forms).tolist() == want


def test_a_merged_run_keeps_its_chunk_times_as_bytes(tmp_path: Path) -> None:
    """`shootout merge` copies responses by SQL: their chunk times are then the source's
    bytes, not the triggers' JSON, and read the same."""
    source = _store(tmp_path / "a.sqlite")
    want = source.read_run(RUN)
    source.close()
    target = Store(tmp_path / "b.sqlite")
    target.upsert_run("r-2", {"models": ["m"]})
    assert target.copy_run_samples(tmp_path / "a.sqlite", RUN, "r-2") == 3
    kinds = dict(target._db.execute("SELECT key, typeof(chunks) FROM response_lean"))
    got = target.read_run("r-2")
    assert kinds == {"k1": "blob", "k2": "blob"}
    assert want is not None and got is not None
    assert {k: _as_read(r) for k, r in got.responses.items()} == {
        k: _as_read(r) for k, r in want.responses.items()}


@pytest.mark.parametrize("kept_chunks", ["[0.5, 0.625, 1.5]", "[]"])
def test_a_merge_keeps_the_chunk_times_of_the_answers_it_keeps(tmp_path: Path,
                                                               kept_chunks: str) -> None:
    """Where the target already has a response under a key the source's run uses, the
    target's answer is kept, and so are its chunk times (or their absence): not the source's
    (an audit saw the merge put the other answer's chunk times on it)."""
    _store(tmp_path / "a.sqlite").close()
    target = Store(tmp_path / "b.sqlite")
    target.upsert_run("r-2", {"models": ["m"]})
    kept = {**_response(0.75), "timing": {"ttft": 0.1, "e2e": 0.75, "chunk_times": []}}
    target.put_response("k1", "m", "generate", {"kind": "generate"}, kept)
    # written as an older shootout (or the triggers alone) writes it: chunk times as JSON
    target._db.execute("UPDATE responses SET response_json = replace(response_json, "
                       "'\"chunk_times\": []', ?) WHERE key = 'k1'",
                       (f'"chunk_times": {kept_chunks}',))
    target.copy_run_samples(tmp_path / "a.sqlite", RUN, "r-2")
    got = target.read_run("r-2")
    assert got is not None
    k1 = got.responses["k1"]
    assert k1.timing["e2e"] == 0.75
    assert k1.chunk_times == tuple(json.loads(kept_chunks))
    assert got.responses["k2"].chunk_times == (0.1, 0.2)  # copied: the source's bytes


@pytest.mark.parametrize("times", [["0.1", "0.25"], [0.1, None, 0.3], [True, 0.5]])
def test_chunk_times_that_are_not_numbers_are_said_to_be(tmp_path: Path, times: list[object]
                                                         ) -> None:
    """Chunk times a store holds that are not numbers (text, null, true/false: a store edited
    by hand, a foreign writer) stop the efficiency rows with one line, not a crash (as the
    parsing in Python did) nor a figure read from them (as numpy would)."""
    from shootout.errors import StoreError

    store = _store(tmp_path / "s.sqlite")
    odd = {**_response(0.5), "timing": {"ttft": 0.1, "e2e": 0.5, "chunk_times": times}}
    store.put_response("k1", "m", "generate", {"kind": "generate"}, odd)
    run = store.read_run(RUN)
    assert run is not None
    with pytest.raises(StoreError, match="chunk times are not numbers"):
        efficiency_rows(run, [])
