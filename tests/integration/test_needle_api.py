"""Needle against an API (the fault-free fake server): the server's prompt-token count, and a
dry run that prices the grid without sending a generation request."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess

from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.openai import OpenAIProvider
from shootout.testing import FakeOpenAIServer


def test_count_prompt_tokens_is_one_short_non_streamed_call():
    with FakeOpenAIServer() as srv:
        text = OpenAIProvider(model="m", base_url=srv.base_url, chat=False)
        chat = OpenAIProvider(model="m", base_url=srv.base_url, chat=True)
        s = Sampling(temperature=0.7, max_tokens=500)
        prompt = "one two three four five"
        msgs = (Message("user", prompt),)

        async def go():
            a = await text.count_prompt_tokens(GenerateRequest(prompt=prompt, sampling=s))
            b = await chat.count_prompt_tokens(GenerateRequest(messages=msgs, sampling=s))
            await text.aclose()
            await chat.aclose()
            return a, b

        a, b = asyncio.run(go())
        log = [r for r in srv.requests if r["path"].endswith("completions")]
    # the fake server counts whitespace-separated words of the JSON-encoded prompt/messages
    assert a == len(json.dumps(prompt).split()) == 5
    assert b == len(json.dumps([{"role": "user", "content": prompt}]).split())
    assert [r["path"] for r in log] == ["/v1/completions", "/v1/chat/completions"]
    for r in log:
        assert r["body"]["stream"] is False and r["body"]["max_tokens"] == 1


def test_dry_run_prices_the_grid_and_stores_no_complete_run(shootout_cmd, tmp_path, data_dir):
    with FakeOpenAIServer() as srv:
        proc = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
             "-b", "needle", "--needle-lengths", "1k,2k", "--needle-depths", "0,50,100",
             "--needle-trials", "2", "--context-window", "4096", "--dry-run",
             "--store", str(tmp_path / "s.sqlite"), "--data-dir", str(data_dir), "--json",
             "--no-progress"],
            capture_output=True, text=True, timeout=300,
        )
        sent = [r for r in srv.requests if r["path"].endswith("completions")]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sent == []
    assert "dry run: fake-model · needle: 12 requests" in proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["status"] == "dry-run" and payload["results"] == []
    cost = payload["manifest"]["benchmarks"]["needle"]["dry_run"]["fake-model"]
    assert cost["total_tokens"] > 12 * 1000


def test_a_window_the_server_does_not_give_refuses_the_run_before_anything_is_sent(
        shootout_cmd, tmp_path, data_dir):
    """`-b arc_easy,needle` on an API model whose window nobody knows: the run sent and paid
    for arc_easy, then stopped at needle (a review's). It is refused before any request now,
    once the server was asked what it serves; a server whose /models gives the window
    (vLLM's max_model_len) runs."""
    args = ["run", "-m", "openai:fake-model", "-b", "arc_easy,needle", "--limit", "2",
            "--needle-depths", "50", "--store", str(tmp_path / "s.sqlite"), "--data-dir",
            str(data_dir), "--no-progress"]
    with FakeOpenAIServer() as srv:
        proc = subprocess.run([*shootout_cmd, *args, "--base-url", srv.base_url],
                              capture_output=True, text=True, timeout=300)
        sent = [r for r in srv.requests if r["path"].endswith("completions")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "needle: the model's context window is unknown" in proc.stderr
    assert sent == []
    for more in ([], ["--needle-lengths", "1k"]):  # the window from /models: 1k fits
        with FakeOpenAIServer(model_entry={"max_model_len": 1100}) as srv:
            proc = subprocess.run([*shootout_cmd, *args, "--base-url", srv.base_url, "--json",
                                   *more, "--store", str(tmp_path / f"s{len(more)}.sqlite")],
                                  capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    got = {r["benchmark"] for r in json.loads(proc.stdout)["results"] if r["n"]}
    assert {"arc_easy", "needle"} <= got, got


def test_a_system_prompt_on_a_model_without_chat_refuses_before_anything_is_sent(
        shootout_cmd, tmp_path, data_dir):
    """The second model's `system_prompt` without chat messages was refused when the run
    reached that model, after the first one's answers had been sent and paid for."""
    with FakeOpenAIServer() as srv:
        cfg = tmp_path / "run.yaml"
        cfg.write_text(json.dumps({"models": [
            {"spec": "openai:a", "base_url": srv.base_url},
            {"spec": "openai:b", "base_url": srv.base_url, "chat": False,
             "system_prompt": "Be brief."}], "benchmarks": ["arc_easy"], "limit": 2}))
        proc = subprocess.run(
            [*shootout_cmd, "run", "-c", str(cfg), "--store", str(tmp_path / "s.sqlite"),
             "--data-dir", str(data_dir), "--no-progress"],
            capture_output=True, text=True, timeout=300)
        sent = [r for r in srv.requests if r["path"].endswith("completions")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "b: system_prompt needs chat messages" in proc.stderr and sent == []


def test_items_drawn_past_the_context_are_said(shootout_cmd, tmp_path, data_dir):
    """`--limit 5` on needle ran 3 items without a word where 2 of those drawn were longer
    than the model's context (only the manifest kept it; an audit's)."""
    with FakeOpenAIServer() as srv:
        proc = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
             "-b", "needle", "--limit", "12", "--context-window", "4096", "--dry-run",
             "--store", str(tmp_path / "s.sqlite"), "--data-dir", str(data_dir),
             "--no-progress"],
            capture_output=True, text=True, timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = re.search(r"note: needle: (\d+) of the 12 items drawn are longer than fake-model's "
                     r"context and are not run for it", proc.stderr)
    assert said, proc.stderr[-2000:]
    assert f"dry run: fake-model · needle: {12 - int(said.group(1))} requests" in proc.stderr


def test_the_default_grid_cut_at_the_context_is_said_as_the_grid_run(shootout_cmd, tmp_path,
                                                                     data_dir):
    """The default lengths stop at the model's context, as documented; the note said "231 of
    the 363 items are longer than Gemma's context and are not run for it", which read as two
    thirds of the benchmark lost (a docs audit's)."""
    with FakeOpenAIServer() as srv:
        proc = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:fake-model", "--base-url", srv.base_url,
             "-b", "needle", "--context-window", "4096", "--dry-run",
             "--store", str(tmp_path / "s.sqlite"), "--data-dir", str(data_dir),
             "--no-progress"],
            capture_output=True, text=True, timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = re.search(r"note: needle: its default lengths stop at fake-model's context "
                     r"\(([\d,]+) tokens\): (\d+) of the grid's (\d+) items are run for it",
                     proc.stderr)
    assert said, proc.stderr[-2000:]
    assert "are longer than" not in proc.stderr
    assert f"dry run: fake-model · needle: {said.group(2)} requests" in proc.stderr
