"""Two processes writing to one store at once do not corrupt it."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from shootout.testing import FakeOpenAIServer


def test_two_writers(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "shared.sqlite"
    with FakeOpenAIServer(ttft=0.002) as srv:
        procs = [
            subprocess.Popen(
                [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
                 "-b", bench, "--limit", "60", "--protocol", "seed", "--store", str(store),
                 "--data-dir",
                 str(data_dir), "--json", "--no-progress", "--concurrency", "8"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for bench in ("arc_easy", "arc_challenge")
        ]
        outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out)["results"]
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = dict(db.execute("SELECT benchmark, COUNT(*) FROM samples GROUP BY benchmark"))
    assert counts == {"arc_easy": 180, "arc_challenge": 180}
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
