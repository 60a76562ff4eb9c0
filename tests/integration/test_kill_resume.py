"""SIGKILL a run mid-way, rerun it: nothing stored is lost or requested twice, same scores."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter

from shootout.testing import FakeOpenAIServer


def _args(url: str, store, data_dir, benchmarks: str = "arc_easy,mmlu") -> list[str]:
    return ["run", "-m", "openai:fake-model", "--base-url", url, "-b", benchmarks,
            "--limit", "25", "--protocol", "seed", "--repeats", "2", "--concurrency", "4",
            "--store", str(store), "--data-dir", str(data_dir), "--no-progress", "--json"]


def _signature(body: dict) -> str:
    return json.dumps([body.get("messages"), body.get("prompt"), body.get("seed")], sort_keys=True)


def _stored_signatures(store) -> set[str]:
    db = sqlite3.connect(store)
    rows = db.execute("SELECT request_json FROM responses").fetchall()
    db.close()
    out = set()
    for (req,) in rows:
        r = json.loads(req)
        msgs = [{"role": m["role"], "content": m["content"]} for m in r["messages"]]
        out.add(json.dumps([msgs, r["prompt"], r["sampling"]["seed"]], sort_keys=True))
    return out


def _scores(stdout: str) -> list[tuple]:
    payload = json.loads(stdout)
    return sorted((r["model"], r["benchmark"], r["metric"], r["score"], r["n"])
                  for r in payload["results"])


def test_sigkill_and_resume(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "killed.sqlite"
    with FakeOpenAIServer(ttft=0.03, itl=0.005) as srv:
        kills = 0
        phases: list[tuple[int, set[str]]] = []  # (requests sent before the kill, stored then)
        # seven kills at seeded random moments (3-15 new requests into each attempt, plus a
        # random few ms); with 4 requests in flight and a commit per answer, some kills land
        # while a response or sample is being written
        rng = random.Random(42)
        while kills < 7:
            start = len(srv.requests)
            target = start + rng.randint(3, 15)
            proc = subprocess.Popen([*shootout_cmd, *_args(srv.base_url, store, data_dir)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.time() + 60
            while len(srv.requests) < target and time.time() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.03))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            assert len(srv.requests) >= target, "the run ended before it could be killed"
            kills += 1
            phases.append((len(srv.requests), _stored_signatures(store)))
        # killed outright, the run could not say so: it is listed as interrupted, not running
        listed = subprocess.run([*shootout_cmd, "runs", "--json", "--store", str(store)],
                                capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert [r["status"] for r in json.loads(listed.stdout)["runs"]] == ["interrupted"]
        done = subprocess.run([*shootout_cmd, *_args(srv.base_url, store, data_dir)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        requests = list(srv.requests)

    # nothing whose answer was stored at a kill was requested again afterwards
    for sent_before, stored in phases:
        later = {_signature(r["body"]) for r in requests[sent_before:]}
        assert not (later & stored)
    counts = Counter(_signature(r["body"]) for r in requests)
    # 100 items x 2 repeats, each answered exactly once in the store
    assert len(_stored_signatures(store)) == 100
    assert len(counts) == 100
    assert len(requests) - 100 <= kills * 4  # at most the in-flight requests were resent

    with FakeOpenAIServer(ttft=0.0) as srv2:
        clean = subprocess.run([*shootout_cmd, *_args(srv2.base_url, tmp_path / "clean.sqlite",
                                                      data_dir)],
                               capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    assert _scores(done.stdout) == _scores(clean.stdout)

    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_samples = db.execute("SELECT COUNT(*) FROM samples WHERE status='ok'").fetchone()[0]
    assert n_samples == 100
    db.close()


def test_rerun_is_served_from_cache(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "cache.sqlite"
    with FakeOpenAIServer() as srv:
        first = subprocess.run([*shootout_cmd, *_args(srv.base_url, store, data_dir)],
                               capture_output=True, text=True, timeout=300)
        n = len(srv.requests)
        second = subprocess.run([*shootout_cmd, *_args(srv.base_url, store, data_dir)],
                                capture_output=True, text=True, timeout=300)
        assert len(srv.requests) == n  # only the /models preflight... which is a GET
    assert first.returncode == 0 and second.returncode == 0
    assert json.loads(first.stdout)["run_id"] == json.loads(second.stdout)["run_id"]
    assert _scores(first.stdout) == _scores(second.stdout)


def test_another_run_with_the_same_requests_is_served_from_the_cache(
    shootout_cmd, tmp_path, data_dir
):
    """A different run (its own id) whose requests were answered before sends none of them
    again: the response cache is keyed on the request, not on the run."""
    store = tmp_path / "cache.sqlite"
    with FakeOpenAIServer() as srv:
        first = subprocess.run([*shootout_cmd, *_args(srv.base_url, store, data_dir, "arc_easy")],
                               capture_output=True, text=True, timeout=300)
        sent_first = [_signature(r["body"]) for r in srv.requests]
        second = subprocess.run(
            [*shootout_cmd, *_args(srv.base_url, store, data_dir, "arc_easy,winogrande")],
            capture_output=True, text=True, timeout=300,
        )
        sent_second = [_signature(r["body"]) for r in srv.requests][len(sent_first):]
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    run_a, run_b = json.loads(first.stdout)["run_id"], json.loads(second.stdout)["run_id"]
    assert run_a != run_b
    assert len(sent_first) == 25 * 2
    # only winogrande's 25 x 2 requests reached the server; arc_easy came from the cache
    assert len(sent_second) == 25 * 2 and not set(sent_second) & set(sent_first)
    arc = [r for r in json.loads(second.stdout)["results"] if r["benchmark"] == "arc_easy"]
    assert arc and all(r["n"] == 25 for r in arc)
    assert _scores(first.stdout) == [r for r in _scores(second.stdout) if r[1] == "arc_easy"]


def test_a_second_process_does_not_run_a_run_already_running(shootout_cmd, tmp_path,
                                                              data_dir):
    """The same `shootout run` command twice at once (two terminals, a retried CI job) was
    accepted twice, and both sent every request not yet answered. The second is refused in
    one line while the first is alive; once it is gone (killed outright here), the same
    command resumes the run."""
    store = tmp_path / "s.sqlite"
    args = _args("", store, data_dir, "arc_easy")
    with FakeOpenAIServer(ttft=0.2) as srv:
        args[args.index("--base-url") + 1] = srv.base_url
        first = subprocess.Popen([*shootout_cmd, *args], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 60
            while len(srv.requests) < 2 and time.time() < deadline:
                time.sleep(0.01)
            assert len(srv.requests) >= 2, "the first run did not start"
            # the first run's later requests wait: it cannot finish on its own while the
            # second process starts, however slowly a loaded machine starts it
            srv.ttft = 30.0
            second = subprocess.run([*shootout_cmd, *args], capture_output=True, text=True,
                                    timeout=120)
            assert second.returncode == 2, second.stderr
            lines = [x for x in second.stderr.splitlines() if x.strip()]
            assert len(lines) == 1 and "is already running (process " in lines[0], second.stderr
            assert f"process {first.pid} " in lines[0]
            assert first.poll() is None, "the first run ended before the second started"
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            srv.ttft = 0.2
        sent = len(srv.requests)
        done = subprocess.run([*shootout_cmd, *args], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["manifest"]["resumed"] is True
        assert len(srv.requests) > sent
