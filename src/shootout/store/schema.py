"""The store's tables, and the migrations that bring an older store up to them.

SCHEMA_VERSION changes only for a change that an older shootout could not read. Additive
changes (a new table, a new column with a default) keep it: an older shootout opening the
store ignores them, and `migrate` adds them to an older store on open. Each migration checks
what is there first, so it is safe to run on every open and from several processes at once.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from .built import BUILT_SCHEMA, BUILT_TRIGGERS

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    manifest_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_json TEXT NOT NULL,
    response_json TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL,
    model TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    item_id TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    item_group TEXT NOT NULL DEFAULT '',
    response_key TEXT,
    status TEXT NOT NULL,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    extracted TEXT,
    reason TEXT NOT NULL DEFAULT '',
    extraction_failed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, model, benchmark, item_id, repeat)
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples (run_id, model, benchmark);
"""

# `shootout perf` load tests: one row per test, one per level (its summary and the records of
# every request)
PERF_SCHEMA = """
CREATE TABLE IF NOT EXISTS perf_runs (
    perf_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    model TEXT NOT NULL,
    base_url TEXT NOT NULL,
    config_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS perf_levels (
    perf_id TEXT NOT NULL,
    level INTEGER NOT NULL,
    mode TEXT NOT NULL,
    value REAL NOT NULL,
    summary_json TEXT NOT NULL,
    records_json TEXT NOT NULL,
    PRIMARY KEY (perf_id, level)
);
"""

# `shootout monitor` availability probes: one row per monitor session (its schedule: the first
# slot's wall-clock time, the interval and the number of slots), one per probe sent
MONITOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS monitors (
    monitor_id TEXT PRIMARY KEY,
    config_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    start REAL NOT NULL,
    every REAL NOT NULL,
    slots INTEGER NOT NULL,
    config_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS probes (
    monitor_id TEXT NOT NULL,
    model TEXT NOT NULL,
    slot INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    scheduled REAL NOT NULL,
    started REAL NOT NULL,
    status TEXT NOT NULL,
    error_class TEXT,
    http_status INTEGER,
    ttft REAL,
    latency REAL,
    output_tokens INTEGER,
    error TEXT,
    PRIMARY KEY (monitor_id, model, slot)
);
CREATE INDEX IF NOT EXISTS probes_by_model ON probes (model, scheduled);
"""


# What the results read of each stored response (`Store.read_run`), kept beside it: its kind,
# time and [usage, timing, finish_reason] (JSON), so a run is read without parsing every
# response's text. Triggers on `responses` keep it in step with every writer, this shootout's
# or an older one's, and with raw SQL (a merge, a copy). SQLite < 3.42 rejects JSON that Python
# writes for an infinite log-probability (-Infinity): such a response's facts are the whole
# response, read in Python.
FACTS = ("CASE WHEN json_valid({r}.response_json) THEN json_extract({r}.response_json, "
         "'$.usage', '$.timing', '$.finish_reason') ELSE {r}.response_json END")
_FACTS_ROW = f"new.key, new.kind, new.created_at, {FACTS.format(r='new')}"
FACTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS response_facts (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    facts_json TEXT
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS response_facts_insert AFTER INSERT ON responses BEGIN
    INSERT OR REPLACE INTO response_facts (key, kind, created_at, facts_json)
    VALUES ({_FACTS_ROW});
END;
CREATE TRIGGER IF NOT EXISTS response_facts_update AFTER UPDATE ON responses BEGIN
    DELETE FROM response_facts WHERE key = old.key;
    INSERT OR REPLACE INTO response_facts (key, kind, created_at, facts_json)
    VALUES ({_FACTS_ROW});
END;
CREATE TRIGGER IF NOT EXISTS response_facts_delete AFTER DELETE ON responses BEGIN
    DELETE FROM response_facts WHERE key = old.key;
END;
"""

# What the results read of each stored response, as `response_facts` has it but without the
# chunk times in its JSON (one time per streamed token: most of a streamed response's facts),
# and those chunk times apart (`chunks`): a JSON array as the triggers write it, float64 bytes
# (little endian) as `Store.put_response` writes it (before the response, in the same commit:
# the insert trigger then finds the row, same key and time, and leaves it). A run is
# read from it (`Store.read_run`): small rows, and inter-token latencies read as arrays
# (`analysis.efficiency`), not parsed number by number (issue 18, item 4). `response_facts`
# stays as it was, for an older shootout that reads the store. NULL chunks: none.
LEAN = ("CASE WHEN json_valid({r}.response_json) THEN json_array("
        "json_extract({r}.response_json, '$.usage'), "
        "json_remove(json_extract({r}.response_json, '$.timing'), '$.chunk_times'), "
        "json_extract({r}.response_json, '$.finish_reason')) ELSE {r}.response_json END")
CHUNKS = ("CASE WHEN json_valid({r}.response_json) AND "
          "json_array_length({r}.response_json, '$.timing.chunk_times') > 0 "
          "THEN json_extract({r}.response_json, '$.timing.chunk_times') END")
_LEAN_ROW = f"new.key, new.kind, new.created_at, {LEAN.format(r='new')}, " \
    f"{CHUNKS.format(r='new')}"
LEAN_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS response_lean (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    facts_json TEXT,
    chunks BLOB
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS response_lean_insert AFTER INSERT ON responses
WHEN NOT EXISTS (SELECT 1 FROM response_lean WHERE key = new.key
                 AND created_at = new.created_at) BEGIN
    INSERT OR REPLACE INTO response_lean (key, kind, created_at, facts_json, chunks)
    VALUES ({_LEAN_ROW});
END;
CREATE TRIGGER IF NOT EXISTS response_lean_update AFTER UPDATE ON responses BEGIN
    DELETE FROM response_lean WHERE key = old.key;
    INSERT OR REPLACE INTO response_lean (key, kind, created_at, facts_json, chunks)
    VALUES ({_LEAN_ROW});
END;
CREATE TRIGGER IF NOT EXISTS response_lean_delete AFTER DELETE ON responses BEGIN
    DELETE FROM response_lean WHERE key = old.key;
END;
"""
# Each response's figures as fixed-width numbers (`store.nums`) and its chunk times (float64
# bytes), written by `Store.put_response` beside the response (same key and time), for the
# fast read of a run (`Store.read_run`, `analysis.columns`). A response that another writer
# stores (an older shootout, raw SQL) has no row here, or a stale one, which its insert
# trigger deletes (another time: another answer): such a response is read from
# `response_lean` as before. No row is filled for the responses stored before this table.
NUMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS response_nums (
    key TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    nums BLOB NOT NULL,
    chunks BLOB
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS response_nums_insert AFTER INSERT ON responses BEGIN
    DELETE FROM response_nums WHERE key = new.key AND created_at IS NOT new.created_at;
END;
CREATE TRIGGER IF NOT EXISTS response_nums_update AFTER UPDATE ON responses BEGIN
    DELETE FROM response_nums WHERE key = old.key;
    DELETE FROM response_nums WHERE key = new.key;
END;
CREATE TRIGGER IF NOT EXISTS response_nums_delete AFTER DELETE ON responses BEGIN
    DELETE FROM response_nums WHERE key = old.key;
END;
"""
# the same from `response_facts.facts_json` ([usage, timing, finish_reason], or the whole
# response where SQLite could not read it: then the same text, and no chunks)
_LEAN_OF_FACTS = ("CASE WHEN json_valid(facts_json) AND json_type(facts_json) = 'array' "
                  "THEN json_remove(facts_json, '$[1].chunk_times') ELSE facts_json END")
_CHUNKS_OF_FACTS = ("CASE WHEN json_valid(facts_json) AND json_type(facts_json) = 'array' AND "
                    "json_array_length(facts_json, '$[1].chunk_times') > 0 "
                    "THEN json_extract(facts_json, '$[1].chunk_times') END")


def statements(script: str) -> list[str]:
    """A script's statements, one by one: `executescript` would commit an open transaction."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return [s for s in out if s]


def tables(script: str) -> list[str]:
    """The tables a script creates, in its order."""
    return re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", script)


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    """A table's column names, in their order."""
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def _sample_detail(db: sqlite3.Connection) -> None:
    """Per-sample detail (a corpus metric's references, needle positions), added in schema 1."""
    if "detail_json" not in columns(db, "samples"):
        db.execute("ALTER TABLE samples ADD COLUMN detail_json TEXT NOT NULL DEFAULT '{}'")


def _perf_tables(db: sqlite3.Connection) -> None:
    """Load-test results, once created by `perf.storage` on first use, now the store's own."""
    for statement in statements(PERF_SCHEMA):
        db.execute(statement)


def _monitor_tables(db: sqlite3.Connection) -> None:
    """Availability probes of `shootout monitor` (new tables: nothing to convert)."""
    for statement in statements(MONITOR_SCHEMA):
        db.execute(statement)


def _derived_table(db: sqlite3.Connection, script: str, table: str, backfill: str) -> None:
    """A table kept from `responses` by triggers (`script`: the table, then its triggers, the
    delete trigger last), created and filled by `backfill` once: that last trigger is
    created after the backfill, in the same transaction, and marks it done."""
    marker = f"{table}_delete"
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='trigger' AND name=?",
                  (marker,)).fetchone():
        return
    for statement in statements(script):
        if marker in statement:
            db.execute(backfill)
        db.execute(statement)


def _response_facts(db: sqlite3.Connection) -> None:
    """`response_facts`, filled from the responses already stored."""
    _derived_table(db, FACTS_SCHEMA, "response_facts",
                   "INSERT OR REPLACE INTO response_facts SELECT r.key, r.kind, "
                   f"r.created_at, {FACTS.format(r='r')} FROM responses r")


def _response_lean(db: sqlite3.Connection) -> None:
    """`response_lean`, filled from `response_facts` (chunk times as JSON arrays: this
    shootout reads both forms)."""
    _derived_table(db, LEAN_SCHEMA, "response_lean",
                   "INSERT OR REPLACE INTO response_lean SELECT key, kind, created_at, "
                   f"{_LEAN_OF_FACTS}, {_CHUNKS_OF_FACTS} FROM response_facts")


def _response_nums(db: sqlite3.Connection) -> None:
    """`response_nums` and its triggers (empty: the responses already stored are read from
    `response_lean`, as before)."""
    for statement in statements(NUMS_SCHEMA):
        db.execute(statement)


def _built_results(db: sqlite3.Connection) -> None:
    """Kept builds of the results JSON and the revision counters that say when one is stale
    (`store.built`). A store that had no counters has no kept builds either: they start at 0."""
    for statement in statements(BUILT_SCHEMA + BUILT_TRIGGERS):
        db.execute(statement)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _sample_detail, _perf_tables, _monitor_tables, _response_facts, _response_lean, _built_results,
    _response_nums)


# every table of a store that is up to date (the migrations applied) that a store opened
# read-only must have (`response_lean` and `response_nums` it need not: its runs are read from
# `response_facts`)
STORE_TABLES: tuple[str, ...] = tuple(
    tables(SCHEMA + PERF_SCHEMA + MONITOR_SCHEMA + FACTS_SCHEMA + BUILT_SCHEMA))


def migrate(db: sqlite3.Connection) -> None:
    """Every additive migration, in order (each is a no-op where it already applied)."""
    for step in MIGRATIONS:
        step(db)
