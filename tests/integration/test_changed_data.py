"""A run's data file changed since it was scored (another gold, another item under the same
id): `rescore`, `export` and a resumed `run` refuse it in one line, exit 3, where they had
scored the stored answers against the new golds, written golds that contradicted the rows'
reasons, and mixed two data sets in one run (a commands audit's)."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from shootout.cli.main import main
from shootout.data.files import sha256_file
from shootout.store import Store
from shootout.testing import FakeOpenAIServer

FILE = "arc/arc_easy/test_rc_5shot/requests.jsonl.gz"


def _exit(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def _move_every_gold(path: Path) -> None:
    """Each request's gold moved to the next option (the same items, other answers)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    for r in rows:
        doc = r["doc"]
        doc["gold"] = (doc["gold"] + 1) % len(doc["choices"])
        r["label"] = doc["gold"]
    path.chmod(0o644)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)


def test_rescore_export_and_resume_refuse_data_the_run_did_not_read(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    shutil.copytree(data_dir / "arc", data / "arc")
    store = tmp_path / "s.sqlite"
    run = ["run", "-m", "openai:fake", "--base-url", "", "-b", "arc_easy", "--limit", "4",
           "--data-dir", str(data), "--store", str(store), "--no-progress"]
    with FakeOpenAIServer() as srv:
        run[4] = srv.base_url
        code, err = _exit(run, capsys)
        assert code == 0, err
        (run_id,) = [r["run_id"] for r in Store(store).list_runs()]
        before = [s.metrics for s in Store(store).samples(run_id)]
        # the same data read again: nothing refused
        assert _exit(["rescore", run_id, "--store", str(store), "--data-dir", str(data)],
                     capsys)[0] == 0
        _move_every_gold(data / FILE)
        for args in (["rescore", run_id, "--store", str(store), "--data-dir", str(data)],
                     ["export", run_id, "--store", str(store), "--data-dir", str(data),
                      "--out", str(tmp_path / "e.jsonl")],
                     run):
            code, err = _exit(args, capsys)
            assert code == 3 and err.count("\n") == 1, (args[0], err)
            assert err.startswith(f"error: {FILE} is not the file run {run_id} read"), err
        assert [s.metrics for s in Store(store).samples(run_id)] == before  # none rescored
        assert not (tmp_path / "e.jsonl").exists()
        # without the gold column the export reads no data: written
        assert _exit(["export", run_id, "--store", str(store), "--no-gold",
                      "--out", str(tmp_path / "e.jsonl")], capsys)[0] == 0


def test_a_few_shot_file_read_as_prompts_are_built_is_checked_too(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MMLU's dev files are read when a subject's first prompt is built, after the check at
    the start of a resumed run: a rerun mixed old and new few-shot examples and recorded the
    new files' sha256 for all (a review's). A file read at any point is checked."""
    data = tmp_path / "data"
    shutil.copytree(data_dir / "mmlu", data / "mmlu")
    for f in (data / "mmlu").rglob("*"):
        f.chmod(0o755 if f.is_dir() else 0o644)
    store = tmp_path / "s.sqlite"
    with FakeOpenAIServer() as srv:
        run = ["run", "-m", "openai:fake", "--base-url", srv.base_url, "-b", "mmlu",
               "--limit", "6", "--data-dir", str(data), "--store", str(store), "--no-progress"]
        assert _exit(run, capsys)[0] == 0
        db = Store(store)
        (run_id,) = [r["run_id"] for r in db.list_runs()]
        dev = sorted({s.group for s in db.samples(run_id)})[0]
        db.close()
        with sqlite3.connect(store) as con:  # as a run killed before that subject's items
            con.execute("DELETE FROM samples WHERE run_id = ? AND item_group = ?",
                        (run_id, dev))
        path = data / "mmlu" / "dev" / f"{dev}_dev.csv"
        path.write_text(path.read_text(encoding="utf-8") + path.read_text(
            encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
        code, err = _exit(run, capsys)
    assert code == 3 and err.count("\n") == 1, err
    assert err.startswith(f"error: mmlu/dev/{dev}_dev.csv is not the file run {run_id} read")
    manifest = Store(store).get_run(run_id)["manifest"]
    assert manifest["data_checksums"][f"mmlu/dev/{dev}_dev.csv"] != sha256_file(path)


def test_a_shipped_gz_file_compressed_again_is_the_same_file(
        tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The data check compared a .gz file's bytes: the shipped HellaSwag compressed again
    (the same lines) was refused, where a pulled cache accepts it (a review's)."""
    store = tmp_path / "s.sqlite"
    with FakeOpenAIServer() as srv:
        code, err = _exit(["run", "-m", "openai:fake", "--base-url", srv.base_url, "-b",
                           "hellaswag", "--limit", "3", "--data-dir", str(data_dir),
                           "--store", str(store), "--no-progress"], capsys)
    assert code == 0, err
    (run_id,) = [r["run_id"] for r in Store(store).list_runs()]
    copy = tmp_path / "copy" / "hellaswag"
    copy.mkdir(parents=True)
    raw = gzip.decompress((data_dir / "hellaswag" / "hellaswag_val.jsonl.gz").read_bytes())
    (copy / "hellaswag_val.jsonl.gz").write_bytes(gzip.compress(raw, 6))
    code, err = _exit(["rescore", run_id, "--store", str(store), "--data-dir",
                       str(tmp_path / "copy")], capsys)
    assert code == 0, err
    (copy / "hellaswag_val.jsonl.gz").write_bytes(gzip.compress(raw + b"\n", 6))  # other
    code, err = _exit(["rescore", run_id, "--store", str(store), "--data-dir",
                       str(tmp_path / "copy")], capsys)
    assert code == 3 and "hellaswag/hellaswag_val.jsonl.gz is not the file" in err, err


def test_a_resumed_run_is_refused_where_its_endpoint_serves_another_build(tmp_path, data_dir,
                                                                          capsys):
    """The endpoint's /models said another checkpoint (vLLM's `root`) under the same name
    and URL when a run was resumed: the response cache kept the two apart, but the run
    mixed 8 answers of one with 32 of the other, "complete" with no word of it (an
    audit's). Refused in one line; the same build resumes."""
    first = {"n": 0}

    def once(body: dict) -> dict | None:  # the second item's first request is refused
        first["n"] += 1
        return {"error": {"message": "nope", "type": "invalid_request_error"}} \
            if first["n"] == 2 else None

    store = tmp_path / "s.sqlite"
    args = ["run", "-m", "openai:fake-model", "-b", "gsm8k", "--limit", "3", "--store",
            str(store), "--data-dir", str(data_dir), "--no-progress", "--concurrency", "1"]
    with FakeOpenAIServer(model_entry={"root": "/models/ckptA"}, reject_fn=once) as srv:
        args += ["--base-url", srv.base_url]
        code, _ = _exit(args, capsys)
        assert code == 1  # one sample failed: a rerun asks it again
        srv.reject_fn = None
        srv.model_entry = {"root": "/models/ckptB"}  # the same URL, another build
        asked = len(srv.requests)
        code, err = _exit(args, capsys)
        sent = [r for r in srv.requests[asked:] if r["path"].endswith("completions")]
        assert code == 2, err
        assert "fake-model: its endpoint now serves another build" in err
        assert "root '/models/ckptA' then, '/models/ckptB' now" in err
        assert sent == [] and len(err.strip().splitlines()) == 1
        srv.model_entry = {"root": "/models/ckptA"}
        code, err = _exit(args, capsys)
        assert code == 0, err
