"""`response_nums`: each response's figures as fixed-width numbers, written as it is stored,
so that a run's responses are read as numpy columns (issue 18, item 4). They give back the
response's facts as stored; a response they do not fit, or one another writer stored, is
read from `response_lean` as before, with the same results."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_efficiency_columns import SCORES, _run, _usage
from test_store_facts import _as_read

from shootout.analysis import columns
from shootout.analysis.efficiency import efficiency_rows
from shootout.providers.base import Timing, Usage
from shootout.store import Store, nums, reading
from shootout.store.rows import SampleRow

RUN = "r-1"


def _typed(d: dict[str, Any] | None) -> list[tuple[str, str, Any]]:
    return sorted((k, type(v).__name__, v) for k, v in (d or {}).items())


def _timing(rng: random.Random) -> dict[str, Any]:
    t: dict[str, Any] = {}
    for name in nums.TIMES:
        if rng.random() < 0.7:
            t[name] = rng.choice([0.0, -0.0, 3, rng.uniform(0, 9), 2**53, float("inf")]
                                 + ([None] if name != "e2e" else []))
    if rng.random() < 0.5:
        t["chunk_times"] = [0.1, 0.2]
    return t


def test_the_layout_has_a_place_for_every_field_of_usage_and_timing() -> None:
    from dataclasses import asdict

    assert set(nums.USAGE) == set(asdict(Usage())) == columns.USAGE_FIELDS
    assert {*nums.TIMES, "chunk_times"} == set(asdict(Timing())) == columns.TIMING_FIELDS


@pytest.mark.parametrize("seed", range(30))
def test_a_row_gives_back_the_facts_as_stored(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        kind = rng.choice(nums.KINDS)
        usage, timing = _usage(rng), _timing(rng)
        finish = rng.choice(nums.FINISH)
        created = rng.uniform(1e9, 2e9)
        blob = nums.pack(kind, created, {"usage": usage, "timing": timing,
                                         "finish_reason": finish})
        assert blob is not None and nums.readable(blob)
        k, c, u, t, f = nums.facts(blob)
        assert (k, c, f) == (kind, created, finish)
        assert _typed(u) == _typed(usage)
        assert _typed(t) == _typed({n: v for n, v in timing.items() if n != "chunk_times"})


@pytest.mark.parametrize("response", [
    {"usage": {"prompt_tokens": 3, "made_up": 1}},  # a field Usage lacks
    {"timing": {"e2e": 1.0, "made_up": 1.0}},  # a field Timing lacks
    {"usage": {"prompt_tokens": "3"}},
    {"usage": {"prompt_tokens": 2.5}},
    {"usage": {"prompt_tokens": True}},
    {"usage": {"prompt_tokens": 2**63}},
    {"usage": {"estimated": 1}},
    {"usage": {"prompt_tokens": None}},
    {"timing": {"e2e": None}},
    {"timing": {"e2e": True}},
    {"timing": {"ttft": "0.5"}},
    {"timing": {"ttft": 2**53 + 1}},  # not a float64 exactly
    {"finish_reason": "eos"},  # a finish reason the layout has no code for
    {"usage": [1]},
])
def test_what_does_not_fit_has_no_row(response: dict[str, Any]) -> None:
    assert nums.pack("generate", 1.5, response) is None
    assert nums.pack("judge", 1.5, {}) is None
    assert nums.pack("generate", 1, {}) is None  # a time that is not a float


def _response(e2e: float, tokens: int = 3, finish: str = "stop") -> dict[str, Any]:
    return {"kind": "generate", "text": "Answer: 3", "finish_reason": finish,
            "usage": {"prompt_tokens": 10, "completion_tokens": tokens},
            "timing": {"ttft": 0.1, "e2e": e2e, "chunk_times": [0.1, 0.2, 0.45]}}


def _sample(item: str, key: str | None) -> SampleRow:
    return SampleRow(model="m", benchmark="gsm8k", item_id=item, repeat=0, group="",
                     status="ok" if key else "error", metrics={"acc": 1.0} if key else {},
                     extracted=None, reason="", extraction_failed=False, error=None,
                     response_key=key, detail={"mode": "generative"})


def _store(path: Path) -> Store:
    store = Store(path)
    store.upsert_run(RUN, {"models": ["m"]})
    store.put_response("k1", "m", "generate", {"kind": "generate"}, _response(0.5))
    store.put_response("k2", "m", "generate", {"kind": "generate"}, _response(0.75, 5))
    store.put_response("k3", "m", "generate", {"kind": "generate"},
                       _response(1.25, 7, finish="eos"))  # no row: read from its facts
    for i, key in enumerate(("k1", "k2", "k3", "k1", None, "k-lost")):
        store.put_sample(RUN, _sample(f"i{i}", key))
    return store


def _rows(path: Path) -> dict[str, float]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT key, created_at FROM response_nums"))
    finally:
        db.close()


def _without_nums(path: Path, to: Path) -> Path:
    """A copy of the store as this shootout read it before `response_nums`."""
    shutil.copy(path, to)
    db = sqlite3.connect(to)
    for name in ("insert", "update", "delete"):
        db.execute(f"DROP TRIGGER response_nums_{name}")
    db.execute("DROP TABLE response_nums")
    db.commit()
    db.close()
    return to


def _read(path: Path) -> tuple[dict[str, Any], str]:
    store = Store.reader(path)
    try:
        run = store.read_run(RUN)
    finally:
        store.close()
    assert run is not None
    return ({k: _as_read(r) for k, r in run.responses.items()},
            json.dumps(efficiency_rows(run, SCORES)))


def test_a_run_reads_the_same_from_its_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = _store(path)
    run = store.read_run(RUN)
    store.close()
    assert run is not None
    assert set(_rows(path)) == {"k1", "k2"}
    raw = run.responses.raw  # type: ignore[attr-defined]
    assert list(raw) == ["k1", "k2", "k3"]  # in the order read
    assert [len(raw[k]) for k in raw] == [2, 2, 4]
    assert columns.collect(run) is not None
    assert _read(path) == _read(_without_nums(path, tmp_path / "before.sqlite"))
    assert run.responses["k2"].chunk_times == (0.1, 0.2, 0.45)
    assert run.responses["k2"].finish_reason == "stop"


def test_many_responses_without_numbers_are_read_by_a_join(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite"
    _store(path).close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM response_nums WHERE key = 'k2'")
    db.commit()
    db.close()
    few = _read(path)
    monkeypatch.setattr(reading, "_FEW", 0)
    assert _read(path) == few == _read(_without_nums(path, tmp_path / "before.sqlite"))


def test_a_response_another_writer_replaces_is_read_as_it_now_is(tmp_path: Path) -> None:
    """An older shootout or raw SQL replaces, changes or deletes a response: its row of
    numbers (of the answer before) goes with it, and the response reads from its facts."""
    path = tmp_path / "s.sqlite"
    _store(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT OR REPLACE INTO responses SELECT key, model, kind, request_json, "
               "replace(response_json, '\"completion_tokens\": 3', '\"completion_tokens\": 9'), "
               "created_at + 1 FROM responses WHERE key = 'k1'")
    db.execute("UPDATE responses SET response_json = replace(response_json, "
               "'\"completion_tokens\": 5', '\"completion_tokens\": 6') WHERE key = 'k2'")
    db.commit()
    assert _rows(path) == {}
    db.close()
    got, _ = _read(path)
    assert got["k1"][3]["completion_tokens"] == 9 and got["k2"][3]["completion_tokens"] == 6
    store = Store(path)  # written again by this shootout: a row again
    store.put_response("k1", "m", "generate", {"kind": "generate"}, _response(0.5, 4))
    store._db.execute("DELETE FROM responses WHERE key = 'k1'")
    store.close()
    assert _rows(path) == {}


def test_an_older_store_gets_the_table_and_reads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store(path).close()
    old = _without_nums(path, tmp_path / "old.sqlite")
    before = _read(old)
    Store(old).close()  # opened by this shootout: the table, empty
    assert _rows(old) == {}
    assert _read(old) == before


def test_a_merge_copies_the_numbers_of_the_answers_it_copies(tmp_path: Path) -> None:
    _store(tmp_path / "a.sqlite").close()
    target = Store(tmp_path / "b.sqlite")
    target.upsert_run("r-2", {"models": ["m"]})
    kept = _response(2.5, 11)
    target.put_response("k2", "m", "generate", {"kind": "generate"}, kept)
    mine = _rows(tmp_path / "b.sqlite")["k2"]
    target.copy_run_samples(tmp_path / "a.sqlite", RUN, "r-2")
    run = target.read_run("r-2")
    target.close()
    rows = _rows(tmp_path / "b.sqlite")
    assert set(rows) == {"k1", "k2"} and rows["k2"] == mine  # its own answer kept
    assert run is not None
    assert run.responses["k2"].usage["completion_tokens"] == 11
    assert run.responses["k1"].usage["completion_tokens"] == 3
    assert len(run.responses.raw["k1"]) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(20))
def test_the_columns_of_stored_numbers_give_the_records_rows(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The randomized runs of `test_efficiency_columns`, each response that fits as the
    store keeps it (its numbers), the others as read from their facts: the same rows."""
    from shootout.store.decode import StoredResponses

    run = _run(seed)
    raw = dict(run.responses.raw)  # type: ignore[attr-defined]
    for key, (kind, created, facts, chunks) in list(raw.items()):
        usage, timing, finish = json.loads(facts)
        blob = nums.pack(kind, created, {"usage": usage, "timing": timing,
                                         "finish_reason": finish})
        if blob is not None and not isinstance(chunks, str) and "chunk_times" not in timing:
            raw[key] = (blob, chunks)
    assert any(len(r) == 2 for r in raw.values())
    stored = type(run)(**{**run.__dict__, "responses": StoredResponses(raw)})
    got = json.dumps(efficiency_rows(stored, SCORES))
    assert columns.collect(stored) is not None
    assert got == json.dumps(efficiency_rows(run, SCORES))
    with monkeypatch.context() as m:
        m.setattr(columns, "collect", lambda *a: None)
        assert json.dumps(efficiency_rows(stored, SCORES)) == got


def test_a_run_stored_before_the_numbers_is_read_in_one_pass(tmp_path: Path) -> None:
    """A run whose first response has no numbers (stored before them) is read as before,
    in one pass, not a second one for the responses without numbers."""
    path = tmp_path / "s.sqlite"
    _store(path).close()
    want = _read(path)
    db = sqlite3.connect(path)
    db.execute("DELETE FROM response_nums WHERE key = 'k1'")
    db.commit()
    db.close()
    store = Store(path)
    queries: list[str] = []
    store._db.set_trace_callback(queries.append)
    run = store.read_run(RUN)
    store.close()
    assert run is not None and all(len(r) == 4 for r in run.responses.raw.values())  # type: ignore[attr-defined]
    assert sum("FROM samples s" in q for q in queries) == 1
    assert _read(path) == want
