"""Decoding protocols, and per-item failures that never end a run (in-process Runner against a
real local HTTP server: FakeOpenAIServer)."""

from __future__ import annotations

import asyncio

import pytest

from shootout.benchmarks.arc import ARCEasy
from shootout.benchmarks.base import sample_docs
from shootout.benchmarks.gsm8k import GSM8K
from shootout.config import validate_config
from shootout.data import DataDir
from shootout.runner.execute import execute_run
from shootout.store.sqlite import Store
from shootout.testing import FakeOpenAIServer


def _run(tmp_path, data_dir, url: str, benchmarks: list, **extra) -> tuple[Store, str]:
    cfg = validate_config(
        {"models": [{"spec": "openai:fake-model", "base_url": url}],
         "benchmarks": benchmarks, **extra},
        "test",
    )
    store = Store(tmp_path / "s.sqlite")
    run_id = asyncio.run(execute_run(cfg, store, data_dir=str(data_dir)))
    return store, run_id


def _sent_sampling(srv: FakeOpenAIServer) -> set[tuple]:
    return {(r["body"].get("temperature"), r["body"].get("top_p"), r["body"].get("seed"))
            for r in srv.requests if "messages" in r["body"] or "prompt" in r["body"]}


@pytest.mark.parametrize("bench", ["gsm8k", "math500", "humaneval", "arc_easy"])
def test_reference_protocol_decodes_greedily_once_per_item(bench, tmp_path, data_dir):
    """Defect 5 of issue 12: GSM8K, MATH and HumanEval pass@1 decode greedily (lm-eval's
    do_sample: false), one sample per item, unless the seed protocol is asked for."""
    with FakeOpenAIServer(answer_fn=lambda body: "x") as srv:
        store, run_id = _run(tmp_path, data_dir, srv.base_url, [bench], limit=3)
        sampling = _sent_sampling(srv)
    rows = list(store.samples(run_id))
    assert {r.repeat for r in rows} == {0} and len(rows) == 3
    assert sampling == {(0.0, 1.0, None)}
    manifest = store.get_run(run_id)["manifest"]
    assert manifest["protocol"]["name"] == "reference"


def test_seed_protocol_samples_three_times_at_t07(tmp_path, data_dir):
    with FakeOpenAIServer(answer_fn=lambda body: "The answer is 3.") as srv:
        store, run_id = _run(tmp_path, data_dir, srv.base_url, ["gsm8k"], limit=2,
                             protocol="seed")
        sampling = _sent_sampling(srv)
    assert {(t, p) for t, p, _ in sampling} == {(0.7, 0.9)}
    rows = list(store.samples(run_id))
    assert len({r.item_id for r in rows}) == 2
    assert sorted(r.repeat for r in rows) == [0, 0, 1, 1, 2, 2]
    assert store.get_run(run_id)["manifest"]["protocol"]["name"] == "seed"


def test_an_explicit_temperature_wins_over_the_protocol(tmp_path, data_dir):
    with FakeOpenAIServer(answer_fn=lambda body: "x") as srv:
        _run(tmp_path, data_dir, srv.base_url, ["gsm8k"], limit=1,
             sampling={"temperature": 0.3}, repeats=2)
        sampling = _sent_sampling(srv)
    assert {(t, p) for t, p, _ in sampling} == {(0.3, 1.0)}
    assert len(sampling) == 2  # two repeats, two seeds


def test_an_item_whose_request_cannot_be_built_fails_alone(tmp_path, data_dir, monkeypatch):
    """Defect 2 of issue 12: an exception while building one item's request (TruthfulQA's
    11th option had no letter) ended the whole run as interrupted."""
    original = ARCEasy.request

    def request(self, doc, ctx):
        if doc.id == bad_id:
            raise IndexError("string index out of range")
        return original(self, doc, ctx)

    bad_id = sample_docs(ARCEasy(data=DataDir(data_dir)).load(), 5, 1234)[2].id
    monkeypatch.setattr(ARCEasy, "request", request)
    with FakeOpenAIServer() as srv:
        store, run_id = _run(tmp_path, data_dir, srv.base_url, [{"name": "arc_easy"}], limit=5)
    rows = {r.item_id: r for r in store.samples(run_id)}
    assert store.get_run(run_id)["status"] == "complete"
    assert len(rows) == 5
    assert rows[bad_id].status == "failed"
    assert rows[bad_id].error == (
        "could not build the request: IndexError: string index out of range"
    )
    assert all(r.status == "ok" for i, r in rows.items() if i != bad_id)


def test_a_scorer_that_raises_fails_its_item_and_keeps_the_response(tmp_path, data_dir,
                                                                    monkeypatch):
    def score(self, doc, ctx, response, request):
        raise ValueError("scorer bug")

    monkeypatch.setattr(GSM8K, "score", score)
    with FakeOpenAIServer() as srv:
        store, run_id = _run(tmp_path, data_dir, srv.base_url, ["gsm8k"], limit=2)
    rows = list(store.samples(run_id))
    assert [r.status for r in rows] == ["failed", "failed"]
    assert rows[0].error == "could not score the response: ValueError: scorer bug"
    # the answer is cached: a rerun after the fix re-scores it without a new request
    assert all(store.get_response(r.response_key) is not None for r in rows)


def test_a_rescore_runs_stored_code_in_the_sandbox_whatever_the_run_said(
        tmp_path, data_dir, monkeypatch):
    """A run made with --unsafe-exec (or a store from someone else saying so) is rescored in
    the sandbox, unless the rescore itself is given --unsafe-exec (a sandbox audit saw
    `shootout rescore` run the stored answers as the tool's user, unasked)."""
    import shutil

    from shootout.cli.main import main

    if shutil.which("bwrap") is None:
        pytest.skip("bwrap not installed")
    marker = tmp_path / "written-outside"
    body = f"    open({str(marker)!r}, 'w').write('x')\n    return False\n"
    with FakeOpenAIServer(answer_fn=lambda body_: body) as srv:
        store, run_id = _run(tmp_path, data_dir, srv.base_url,
                             [{"name": "humaneval", "options": {"unsafe_exec": True}}], limit=1)
    store.close()
    assert marker.exists()  # the run's own choice: outside the sandbox
    marker.unlink()
    args = ["rescore", run_id, "--store", str(tmp_path / "s.sqlite"), "--json",
            "--data-dir", str(data_dir)]
    main(args)
    assert not marker.exists()
    main([*args, "--unsafe-exec"])
    assert marker.exists()


def test_an_answer_with_half_a_character_is_stored_and_scored(tmp_path, data_dir):
    """A server's answer with a lone UTF-16 half (valid JSON: `\\ud800`), which no UTF-8 text
    holds: the run stopped with an internal error when SQLite refused it, and so did every
    rerun, from the cached answer (a sandbox audit). The half is now U+FFFD."""
    with FakeOpenAIServer(answer_fn=lambda body: "The answer is 3. \ud800") as srv:
        store, run_id = _run(tmp_path, data_dir, srv.base_url, ["gsm8k"], limit=2)
        sent = len(srv.requests)
        rows = list(store.samples(run_id))
        assert len(rows) == 2 and {r.status for r in rows} == {"ok"}
        assert {store.get_response(r.response_key)["text"] for r in rows} == {
            "The answer is 3. \ufffd"}
        # the cached answer read again, as a run before this change stored it (the half
        # escaped in its JSON): scored, not stopped
        store._db.execute("UPDATE responses SET response_json = "
                          "replace(response_json, '\\ufffd', '\\ud800')")
        assert "\\ud800" in store._db.execute(
            "SELECT response_json FROM responses").fetchone()[0]
        store._db.execute("DELETE FROM samples")
        store.close()
        store, again = _run(tmp_path, data_dir, srv.base_url, ["gsm8k"], limit=2)
        assert len(srv.requests) == sent == 2  # from the cache
    assert [(r.status, r.metrics) for r in store.samples(again)] == [
        (r.status, r.metrics) for r in rows]


def test_the_halves_of_a_character_are_joined_and_a_lone_half_replaced():
    from shootout.providers.base import GenerateResponse, ToolCall, well_formed_response

    got = well_formed_response(GenerateResponse(
        text="a\ud83d" + "\ude00b \udc00", reasoning="\ud800",
        tool_calls=(ToolCall("f", '{"x": "\ud83d"}'),)))
    assert got.text == "a\U0001f600b \ufffd" and got.reasoning == "\ufffd"
    assert got.tool_calls[0].arguments == '{"x": "\ufffd"}'
    fine = GenerateResponse(text="héllo 😀")
    assert well_formed_response(fine) is fine
