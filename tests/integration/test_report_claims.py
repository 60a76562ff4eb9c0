"""What the report claims where models tie exactly, were scored on different benchmarks or
were not scored at all (a report audit's findings, 2026-12-03): built from the synthetic
store (`report.sample_data`) edited in SQL, and rendered as a user runs it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shootout.cli.main import main
from shootout.report.sample_data import RUN_ID, build_sample_store


def _report(capsys, store: Path, *extra: str) -> str:
    capsys.readouterr()
    main(["report", RUN_ID, "--store", str(store), "--no-charts", "--rebuild", *extra])
    return capsys.readouterr().out


def _copy_model(store: Path, source: str, target: str) -> None:
    db = sqlite3.connect(store)
    cols = [r[1] for r in db.execute("PRAGMA table_info(samples)")]
    picked = ",".join(f"'{target}'" if c == "model" else c for c in cols)
    db.execute(f"DELETE FROM samples WHERE model='{target}'")
    db.execute(f"INSERT INTO samples ({','.join(cols)}) SELECT {picked} FROM samples "
               f"WHERE model='{source}'")
    db.commit()
    db.close()


@pytest.fixture(scope="module")
def ident(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "ident.sqlite"
    build_sample_store(path, models=("kimi-k2", "llama-3.1-70b", "kimi-clone")).close()
    _copy_model(path, "kimi-k2", "kimi-clone")
    return path


def test_identical_models_are_not_given_a_detectable_difference(ident, capsys):
    """Two models with the same item scores: the SE of their differences is 0, so no MDD
    (it said "differences below about 0.0 points are not reliably detectable")."""
    md = _report(capsys, ident)
    assert "below about 0.0 points" not in md
    line = next(ln for ln in md.splitlines() if "kimi-k2 vs kimi-clone:" in ln)
    assert "the same score on every item both were scored on" in line, line


def test_an_exact_tie_at_the_top_of_a_profile_is_shared(ident, capsys):
    """A profile whose top two models score the same: neither "ranks first" over the other."""
    md = _report(capsys, ident)
    lines = [ln for ln in md.splitlines() if ln.lstrip("- ").startswith("For ")]
    assert lines, md
    for ln in lines:
        if "kimi-clone" in ln:
            assert "kimi-k2 and kimi-clone share the top score" in ln, ln
            assert "ranks first" not in ln, ln


def test_a_model_with_no_score_does_not_unrank_the_others(tmp_path, capsys):
    """Every request of one model failed: the others are still ranked for each use case (no
    profile was ranked: no domain had "every model's" score), and the report says which
    model is left out."""
    path = tmp_path / "fail.sqlite"
    build_sample_store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE samples SET status='failed', metrics_json='{}', extracted=NULL, "
               "response_key=NULL, error='HTTP 401' WHERE model='mixtral-8x7b'")
    db.commit()
    db.close()
    md = _report(capsys, path)
    ranked = [ln for ln in md.splitlines() if ln.lstrip("- ").startswith("For ")
              and ("ranks first" in ln or "share the top score" in ln)]
    assert ranked, md
    assert all("mixtral-8x7b" not in ln for ln in ranked)
    assert "Left out (no score on any benchmark): mixtral-8x7b." in md
