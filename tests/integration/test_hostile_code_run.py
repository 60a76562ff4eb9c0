"""A model that answers HumanEval with hostile programs: each is contained, the run goes on."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest

from shootout.testing import FakeOpenAIServer

HOSTILE = [
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.killpg(0, signal.SIGKILL)",
    "import os\nwhile True:\n    os.fork()",
    "x = bytearray(8 << 30)",
    "while True:\n    pass",
    "print('x' * (1 << 30))",
    "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)",
    "print(open({store!r}, 'rb').read()[:10])",
    "import os\nassert 'CANARY_KEY' not in os.environ, 'leaked'\nraise SystemExit(3)",
    "import time\ntime.sleep(3600)",
    "open('/etc/passwd', 'a').write('pwned')",
]


@pytest.mark.slow
def test_hostile_answers_are_contained(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "s.sqlite"
    answers: dict[str, str] = {}

    def answer(body: dict) -> str:
        content = body["messages"][-1]["content"]
        key = content[:200]
        if key not in answers:
            answers[key] = HOSTILE[len(answers) % len(HOSTILE)]
        return f"```python\n{answers[key]}\n```"

    with FakeOpenAIServer(answer_fn=answer, n_chunks=1) as srv:
        code_port = srv.port
        HOSTILE[5] = HOSTILE[5].format(port=code_port)
        HOSTILE[6] = HOSTILE[6].format(store=str(store))
        env = {**os.environ, "CANARY_KEY": "sk-canary-sandbox"}
        proc = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
             "-b", "humaneval", "--limit", "10", "--temperature", "0", "--store", str(store),
             "--data-dir", str(data_dir), "--json", "--no-progress"],
            capture_output=True, text=True, timeout=600, env=env,
        )
        requests_seen = len(srv.requests)
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout)
    row = next(r for r in payload["results"] if r["metric"] == "pass@1")
    assert row["n"] == 10 and row["score"] == 0.0 and row["n_failed"] == 0
    assert requests_seen == 10  # the socket attempt never reached the server as a request
    db = sqlite3.connect(store)
    statuses = [json.loads(d)["status"] for (d,) in db.execute("SELECT detail_json FROM samples")]
    assert len(statuses) == 10 and "ok" not in statuses
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with open("/etc/passwd") as f:
        assert "pwned" not in f.read()
