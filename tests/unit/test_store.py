"""The results store: one read per run, migrations of an older store, load tests, and no
SQLite anywhere else (issue 13)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from shootout.errors import StoreError
from shootout.store import PerfLevelRow, SampleRow, Store

RUN = "r-1"
SRC = Path(__file__).resolve().parents[2] / "src" / "shootout"


def _sample(item: str, key: str | None, status: str = "ok", model: str = "m") -> SampleRow:
    return SampleRow(model=model, benchmark="gsm8k", item_id=item, repeat=0, group="",
                     status=status, metrics={"acc": 1.0} if status == "ok" else {},
                     extracted=None, reason="", extraction_failed=False,
                     error=None if status == "ok" else "HTTP 503", response_key=key,
                     detail={"mode": "generative"} if status == "ok" else {})


def _response(e2e: float, **extra: object) -> dict[str, object]:
    return {"kind": "generate", "text": "Answer: 3", "finish_reason": "stop",
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "cached_tokens": 0,
                      "estimated": False},
            "timing": {"ttft": 0.1, "e2e": e2e, "chunk_times": [0.1, 0.2]}, **extra}


def test_read_run_joins_each_sample_with_its_response_in_one_query(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {"models": ["m"]})
    store.put_response("k1", "m", "generate", {"kind": "generate"}, _response(0.5))
    # a log-likelihood response with an infinite log-probability: Python writes -Infinity,
    # which SQLite's JSON functions (before 3.42) refuse
    inf = {**_response(0.25), "kind": "loglikelihood",
           "scores": [{"logprob": float("-inf"), "is_greedy": False, "n_tokens": 1}]}
    store.put_response("k2", "m", "loglikelihood", {"kind": "loglikelihood"}, inf)
    for s in (_sample("a", "k1"), _sample("b", "k1"), _sample("c", "k2"),
              _sample("d", "k-lost", status="failed")):
        store.put_sample(RUN, s)
    queries: list[str] = []
    store._db.set_trace_callback(queries.append)
    run = store.read_run(RUN)
    store._db.set_trace_callback(None)
    # one pass over the samples (and a look at the first one's response: `_stored_with_nums`)
    assert sum("FROM samples s" in q for q in queries) == 1
    assert sum("FROM samples" in q for q in queries) == 2
    assert not any("FROM responses" in q and "JOIN" not in q for q in queries)
    assert run is not None and [s.item_id for s in run.samples] == ["a", "b", "c", "d"]
    assert run.samples == tuple(store.samples(RUN))
    assert set(run.responses) == {"k1", "k2"}  # each once; the failed sample's was never stored
    k1 = run.responses["k1"]
    assert (k1.kind, k1.finish_reason, k1.usage["completion_tokens"]) == ("generate", "stop", 3)
    # the chunk times are kept apart from the timing, as float64 bytes (`store.schema.FACTS`)
    assert k1.timing == {"ttft": 0.1, "e2e": 0.5} and isinstance(k1.chunks, bytes)
    assert k1.chunk_times == (0.1, 0.2)
    k2 = run.responses["k2"]
    assert k2.timing["e2e"] == 0.25 and k2.kind == "loglikelihood"
    assert k2.chunk_times == (0.1, 0.2)
    assert store.read_run("r-none") is None


V1_STORE = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    status TEXT NOT NULL, spec_json TEXT NOT NULL, manifest_json TEXT NOT NULL DEFAULT '{}');
CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL,
    request_json TEXT NOT NULL, response_json TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE samples (run_id TEXT NOT NULL, model TEXT NOT NULL, benchmark TEXT NOT NULL,
    item_id TEXT NOT NULL, repeat INTEGER NOT NULL, item_group TEXT NOT NULL DEFAULT '',
    response_key TEXT, status TEXT NOT NULL, metrics_json TEXT NOT NULL DEFAULT '{}',
    extracted TEXT, reason TEXT NOT NULL DEFAULT '', extraction_failed INTEGER NOT NULL DEFAULT 0,
    error TEXT, attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    PRIMARY KEY (run_id, model, benchmark, item_id, repeat));
INSERT INTO runs VALUES ('r-old', 1.0, 2.0, 'complete', '{}', '{}');
INSERT INTO samples VALUES ('r-old', 'm', 'arc_easy', 'q1', 0, '', NULL, 'ok', '{"acc": 1.0}',
    'A', '', 0, NULL, 1, 1.0);
"""


def test_a_store_from_the_first_release_opens_and_takes_load_tests(tmp_path: Path) -> None:
    """The first schema had no per-sample detail and no load-test tables: opening it adds both,
    and keeps what was there."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(V1_STORE)
    db.close()
    store = Store(path)
    run = store.read_run("r-old")
    assert run is not None and run.samples[0].metrics == {"acc": 1.0}
    assert run.samples[0].detail == {} and run.responses == {}
    store.put_perf("p-1", "m", "http://127.0.0.1:8000/v1", {"levels": [["concurrency", 1]]},
                   [PerfLevelRow("concurrency", 1.0, {"completed": 2}, [{"index": 0}])])
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT perf_id, model FROM perf_runs").fetchall() == [("p-1", "m")]
    level = db.execute("SELECT level, mode, value, summary_json, records_json "
                       "FROM perf_levels").fetchone()
    assert level == (0, "concurrency", 1.0, '{"completed": 2}', '[{"index":0}]')
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("1",)


def test_a_load_test_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    bad = PerfLevelRow("rate", 2.0, {"completed": 1}, [{"not json": object()}])
    with pytest.raises(TypeError):
        store.put_perf("p-2", "m", "http://h/v1", {}, [
            PerfLevelRow("rate", 1.0, {"completed": 1}, []), bad])
    db = sqlite3.connect(tmp_path / "s.sqlite")
    assert db.execute("SELECT COUNT(*) FROM perf_runs").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM perf_levels").fetchone() == (0,)
    store.put_sample(RUN, _sample("a", None))  # the connection is usable after the rollback
    assert [s.item_id for s in store.samples(RUN)] == ["a"]


def test_a_store_of_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99, this shootout expects 1"):
        Store(path)


def test_a_store_with_columns_a_later_shootout_added_is_written_and_merged(
        tmp_path: Path) -> None:
    """A later shootout may add a column with a default to a table (`store.schema`: this one
    ignores it), but rows were inserted by position: every write of a run resumed in such a
    store failed, exit 70, "table samples has 17 columns but 16 values were supplied" (an
    audit's). Rows are inserted by column name, and merged so too."""
    path = tmp_path / "later.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    for table in ("samples", "responses", "response_lean", "response_nums", "meta", "runs",
                  "built_results", "built_reports", "revisions", "perf_runs", "perf_levels"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN added_later TEXT NOT NULL DEFAULT 'x'")
    db.commit()
    db.close()
    store = Store(path)
    store.upsert_run(RUN, {"models": ["m"]})
    store.put_response("k1", "m", "generate", {"kind": "generate"}, _response(0.5))
    store.put_sample(RUN, _sample("a", "k1"))
    assert store.put_built(RUN, "f", "1", "{}")
    assert store.put_report("key", [RUN], "{}")
    store.put_perf("p-1", "m", "http://127.0.0.1:1/v1", {}, [PerfLevelRow(
        mode="concurrency", value=1.0, summary={}, records=[])])
    run = store.read_run(RUN)
    assert run is not None and [s.item_id for s in run.samples] == ["a"]
    assert run.responses["k1"].usage["completion_tokens"] == 3
    store.close()
    # merged into a store of this shootout, and one of this shootout into it
    plain = Store(tmp_path / "plain.sqlite")
    assert plain.copy_run_samples(path, RUN, RUN) == 1
    assert [s.item_id for s in plain.samples(RUN)] == ["a"]
    plain.put_sample(RUN, _sample("b", None, status="failed"))
    plain.close()
    later = Store(path)
    assert later.copy_run_samples(tmp_path / "plain.sqlite", RUN, "r-2") == 2
    assert [s.item_id for s in later.samples("r-2")] == ["a", "b"]
    later.close()


def test_no_module_outside_the_store_touches_sqlite() -> None:
    """SQL lives in `shootout.store`; everything else goes through `Store`'s methods."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent.name == "store":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\b_db\b|^\s*(import|from) sqlite3\b", text, re.M):
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def test_run_times_can_be_set_for_a_synthetic_run(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {})
    store.set_run_times(RUN, 100.0, 160.0)
    run = store.get_run(RUN)
    assert run is not None and (run["created_at"], run["updated_at"]) == (100.0, 160.0)
    assert json.loads(json.dumps(run["spec"])) == {}


def test_texts_a_scorer_made_of_half_a_character_are_stored(tmp_path: Path) -> None:
    """A model's JSON with a `\\ud800` escape, parsed by a scorer (structured outputs,
    BFCL), put a lone UTF-16 half in a sample's extracted answer or detail, which SQLite
    refused: the run stopped, and so did a rescore (a review). Stored as U+FFFD."""
    from dataclasses import replace

    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {"models": ["m"]})
    half = "x\ud800"
    row = replace(_sample("a", "k1"), extracted=half, reason=half, error=half,
                  detail={"mode": "generative", "parsed": {"answer": half}})
    store.put_sample(RUN, row)
    (got,) = store.samples(RUN)
    assert got.extracted == got.reason == got.error == "x\ufffd"
    assert got.detail["parsed"] == {"answer": "x\ufffd"}
    store.update_sample_scores(RUN, [replace(row, extracted="\udc00y")])
    (got,) = store.samples(RUN)
    assert got.extracted == "\ufffdy"


def test_a_rescores_scores_and_its_record_land_together(tmp_path):
    """Rescore wrote the changed scores, then the manifest that records them, in two commits:
    killed between, the scores had changed with no record, and the next rescore recorded no
    change (an audit's). Both land in one transaction, or neither."""
    from dataclasses import replace

    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {"models": ["m"]})
    row = _sample("a", "k1")
    store.put_sample(RUN, row)
    store.set_manifest(RUN, {"rescores": []})
    with pytest.raises(TypeError):  # the record cannot be written (a set is no JSON)
        store.update_sample_scores(RUN, [replace(row, extracted="Z")], {"bad": {1, 2}})
    (got,) = store.samples(RUN)
    assert got.extracted == row.extracted  # rolled back with it
    store.update_sample_scores(RUN, [replace(row, extracted="Z")], {"rescores": [{"n": 1}]})
    (got,) = store.samples(RUN)
    assert got.extracted == "Z" and store.get_run(RUN)["manifest"] == {"rescores": [{"n": 1}]}


def test_a_rescores_record_is_refused_where_the_run_was_resumed_meanwhile(tmp_path):
    """Rescore checked for a running run at its start only: a run resumed during a long
    rescore still wrote over its record at its end (a review's). The check is made again
    where the record is written, under the write lock."""
    import json
    import subprocess
    import sys
    from dataclasses import replace

    from shootout.store.owner import RunBusyError, _start_ticks, this_process

    store = Store(tmp_path / "s.sqlite")
    store.upsert_run(RUN, {"models": ["m"]}, status="complete")
    row = _sample("a", "k1")
    store.put_sample(RUN, row)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = json.dumps({**json.loads(this_process()), "pid": proc.pid,
                            "start": _start_ticks(proc.pid)})
        store._db.execute("UPDATE runs SET status='running' WHERE run_id=?", (RUN,))
        store._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                          (f"run_owner:{RUN}", owner))
        with pytest.raises(RunBusyError, match="its end would write over the record"):
            store.update_sample_scores(RUN, [replace(row, extracted="Z")], {"rescores": []})
        (got,) = store.samples(RUN)
        assert got.extracted == row.extracted
    finally:
        proc.kill()
        proc.wait()
