"""A run against a server that misbehaves: every item is answered or recorded as failed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest
import yaml
from json_server import json_server

from shootout.testing import FakeOpenAIServer, Fault


def _config(tmp_path, url: str, **model: object) -> str:
    cfg = {
        "models": [{"spec": "openai:fake-model", "base_url": url, "concurrency": 16,
                    "timeout": 2.0, **model}],  # a loaded machine can hold a clean answer 1 s
        "benchmarks": ["mmlu"],
        "limit": 70,
        "repeats": 3,
        "protocol": "seed",  # sampled: three distinct requests per item
    }
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize("http", ["httpx", "aiohttp"])
def test_every_fault_kind_is_retried_and_nothing_is_lost(shootout_cmd, tmp_path, data_dir,
                                                         http):
    store = tmp_path / "s.sqlite"
    with FakeOpenAIServer(fault_rate=0.3, seed=7, hang_seconds=5.0) as srv:
        proc = subprocess.run(
            [*shootout_cmd, "run", "-c",
             _config(tmp_path, srv.base_url, retry_budget=2000, http=http),
             "--store", str(store), "--data-dir", str(data_dir), "--json", "--no-progress"],
            capture_output=True, text=True, timeout=600,
        )
        log = list(srv.requests)
    assert proc.returncode in (0, 1), proc.stderr
    assert len(log) >= 200
    # which faults the server injected into which request (the seed draws a mix)
    injected = [r["fault"] for r in log if r["fault"] is not None]
    db = sqlite3.connect(store)
    rows = db.execute("SELECT status, metrics_json, extracted, error, response_key "
                      "FROM samples").fetchall()
    # 70 items x 3 repeats: every one present, answered or failed with its error
    assert len(rows) == 210
    for status, metrics, extracted, error, key in rows:
        if status == "ok":
            assert json.loads(metrics) and error is None
            resp = db.execute("SELECT response_json FROM responses WHERE key=?", (key,)).fetchone()
            text = json.loads(resp[0])["text"]
            assert text.startswith("The answer is ")  # the real answer, not a fault's leftovers
            assert extracted == text[len("The answer is "):].rstrip(".")
        else:
            assert status == "failed" and error
    payload = json.loads(proc.stdout)
    failed = sum(1 for r in rows if r[0] != "ok")
    n_failed_items = {r["benchmark"]: r["n_failed"] for r in payload["results"]}
    assert (n_failed_items["mmlu"] > 0) == (failed > 0)
    # every kind of fault was exercised, and each faulted request was answered by a retry:
    # more requests than samples, by at least the number of faults that ended in an answer
    assert set(injected) == set(srv.fault_kinds), set(srv.fault_kinds) - set(injected)
    # a faulted request never became a score: the scored samples are exactly the requests
    # that were answered without a fault
    clean = [r for r in log if r["fault"] is None and "messages" in r["body"]]
    assert len(clean) == len(rows) - failed
    db.close()


def test_retry_budget_ends_a_dead_endpoint_quickly(shootout_cmd, tmp_path, data_dir):
    store = tmp_path / "s.sqlite"
    with FakeOpenAIServer(fault_rate=1.0, fault_kinds=(Fault.UNAVAILABLE,)) as srv:
        proc = subprocess.run(
            [*shootout_cmd, "run", "-c", _config(tmp_path, srv.base_url, retry_budget=5),
             "--store", str(store), "--data-dir", str(data_dir), "--json", "--no-progress"],
            capture_output=True, text=True, timeout=300,
        )
        sent = len(srv.requests)
    assert proc.returncode == 1
    assert "210 samples failed" in proc.stderr
    assert sent == 210 + 5  # one try each, plus the budget's five retries
    payload = json.loads(proc.stdout)
    assert payload["results"] == [] or all(r["n"] == 0 for r in payload["results"])
    db = sqlite3.connect(store)
    errors = [e for (e,) in db.execute("SELECT error FROM samples")]
    db.close()
    assert len(errors) == 210 and all("HTTP 503" in e for e in errors)
    # its report says there is nothing to report, and exits non-zero: it printed an empty
    # report (a results table of its header, "Key takeaways" with nothing under it), rc 0
    report = subprocess.run([*shootout_cmd, "report", "--store", str(store)],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 2 and not report.stdout
    (line,) = report.stderr.strip().splitlines()
    assert line.startswith("error: the runs have no scores to report: no sample was answered "
                           "(most common: "), line
    assert "HTTP 503" in line and "shootout results r-" in line and str(store) in line


def test_a_run_answered_without_a_compared_score_is_still_reported(shootout_cmd, tmp_path,
                                                                     data_dir):
    """MT-Bench without its judge answers every item but has no headline to compare: its
    report (efficiency, latency) is made, not refused as a run with nothing answered."""
    store = tmp_path / "s.sqlite"
    with FakeOpenAIServer() as srv:
        done = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
             "-b", "mt_bench", "--limit", "2", "--store", str(store), "--data-dir",
             str(data_dir), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = subprocess.run([*shootout_cmd, "report", "--store", str(store)],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    assert "# " in report.stdout and "no scores to report" not in report.stderr


def test_retry_after_is_honoured(tmp_path):
    import asyncio
    import random
    import time

    from shootout.providers.base import GenerateRequest, Message
    from shootout.providers.openai import OpenAIProvider
    from shootout.runner.retry import RetryBudget, RetryPolicy, with_retries

    with FakeOpenAIServer(schedule={0: Fault.RATE_LIMIT_RETRY_AFTER}) as srv:
        p = OpenAIProvider(model="m", base_url=srv.base_url)
        req = GenerateRequest(messages=(Message("user", "hi"),))

        async def go():
            t0 = time.perf_counter()
            r, attempts = await with_retries(lambda: p.generate(req),
                                             RetryPolicy(base_delay=0.01), RetryBudget(3),
                                             random.Random(0))
            await p.aclose()
            return r, attempts, time.perf_counter() - t0

        r, attempts, elapsed = asyncio.run(go())
    assert attempts == 2
    assert elapsed >= 0.2  # the server asked for 0.2 s
    assert r.text.startswith("The answer is")


def test_a_report_of_only_models_that_answered_nothing_is_refused(shootout_cmd, tmp_path,
                                                                   data_dir):
    """`report --models BAD`, BAD's every request failed while another model's were answered:
    the report had empty takeaways, a results table of its header and profiles saying every
    domain was measured, exit 0 (an audit's). It is refused as a run with nothing answered
    is; the report of both models is still made."""
    store = tmp_path / "s.sqlite"
    with FakeOpenAIServer() as good, \
            FakeOpenAIServer(fault_rate=1.0, fault_kinds=(Fault.UNAVAILABLE,)) as bad:
        cfg = {"models": [
            {"name": "good", "spec": "openai:fake-model", "base_url": good.base_url},
            {"name": "bad", "spec": "openai:fake-model", "base_url": bad.base_url,
             "retry_budget": 0}],
            "benchmarks": ["arc_easy"], "limit": 3}
        path = tmp_path / "two.yaml"
        path.write_text(yaml.safe_dump(cfg))
        done = subprocess.run(
            [*shootout_cmd, "run", "-c", str(path), "--store", str(store), "--data-dir",
             str(data_dir), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    only_bad = subprocess.run([*shootout_cmd, "report", "--store", str(store), "--models",
                               "bad"], capture_output=True, text=True, timeout=300)
    assert only_bad.returncode == 2 and not only_bad.stdout, only_bad.stdout[-500:]
    (line,) = only_bad.stderr.strip().splitlines()
    assert "no scores to report" in line and "HTTP 503" in line, line
    both = subprocess.run([*shootout_cmd, "report", "--store", str(store)],
                          capture_output=True, text=True, timeout=300)
    assert both.returncode == 0 and "# " in both.stdout, both.stderr[-1000:]
    # the model that answered nothing is named first in the takeaways, and is why there is
    # no pair ("One model only", of a two-model run)
    takeaways = both.stdout[both.stdout.index("## Key takeaways"):both.stdout.index("## Arch")]
    assert "- **Failures.** bad has no score: all 3 items of its 1 benchmark failed" in \
        takeaways and "HTTP 503" in takeaways, takeaways
    assert "_No comparisons: bad has no score on any benchmark" in both.stdout
    assert "One model only" not in both.stdout
    # no contest: not "good has the highest score on 1 of 1 benchmarks"
    assert "- good is the only model with a score on arc_easy." in both.stdout
    assert "has the highest score on" not in both.stdout
    # the score of guessing is recorded with the run, and a score whose interval reaches it
    # is flagged (3 items: any score's interval does)
    db = sqlite3.connect(store)
    (manifest,) = db.execute("SELECT manifest_json FROM runs").fetchone()
    db.close()
    chance = json.loads(manifest)["benchmarks"]["arc_easy"]["chance"]
    assert chance == pytest.approx(0.25, abs=0.02)
    assert "chance, the score of a uniform guess: arc_easy 2" in both.stdout
    assert "- good: not above chance (a uniform guess) on arc_easy " in both.stdout
    # the deployment part: how each was reached, and how reliably it answered
    deploy = both.stdout[both.stdout.index("## Deployment considerations"):]
    assert "| good | OpenAI-compatible endpoint at 127.0.0.1" in deploy
    assert "| 3 of 3 (100.0%) |" in deploy and "not measured" in deploy
    # a chat model's multiple choice is compared on its lenient acc: the report says so
    assert "arc_easy: a generated answer's acc reads its letter leniently" in both.stdout


def test_a_model_refused_alike_is_not_asked_for_every_item(shootout_cmd, tmp_path, data_dir):
    """A key the endpoint's `/models` did not check (it answers 404 there), refused with
    the same 401 for every chat request: every item's request was sent to be refused (14,000
    for MMLU; an audit's). After three alike, before any answer, the rest are not sent; they
    fail with the refusal named, and a rerun sends them."""
    def refuse(method: str, path: str, headers: object) -> tuple[int, dict]:
        if method == "GET":
            return 404, {"error": {"message": "not here"}}
        return 401, {"error": {"message": "Incorrect API key provided",
                               "type": "invalid_request_error"}}

    store = tmp_path / "s.sqlite"
    env = {**os.environ, "OPENAI_API_KEY": "sk-wrong-1234"}
    with json_server(refuse) as (port, posts):
        cmd = [*shootout_cmd, "run", "-m", "openai:m", "--base-url",
               f"http://127.0.0.1:{port}/v1", "-b", "arc_easy", "--limit", "12",
               "--concurrency", "1", "--store", str(store), "--data-dir", str(data_dir),
               "--no-progress"]
        first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
        sent = len(posts)
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode != 0 and sent == 3, (sent, first.stderr[-1500:])
    assert again.returncode != 0 and len(posts) == 6  # the rerun sends again, stops as soon
    db = sqlite3.connect(store)
    errors = [e for (e,) in db.execute("SELECT error FROM samples ORDER BY created_at")]
    db.close()
    assert len(errors) == 12 and all("HTTP 401" in e for e in errors)
    assert sum(e.startswith("not sent: the model's requests were refused alike 3 times")
               for e in errors) == 9
