"""`response_facts`: what a run's results read of each response, kept beside it by triggers,
and filled on open for a store written before it existed (issue 18, item 4)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from shootout.store import SampleRow, Store

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


def _as_before_facts(path: Path) -> None:
    """The store as a shootout before `response_facts` left it (the rest is unchanged)."""
    db = sqlite3.connect(path)
    for name in ("response_facts_insert", "response_facts_update", "response_facts_delete"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE response_facts")
    db.commit()
    db.close()


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
    assert {k: after.responses[k] for k in ("k1", "k2")} == dict(before.responses)
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
