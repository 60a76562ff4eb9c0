"""The second embedded model (SmolLM2-135M-Instruct, a chat model): its chat prompts are the
ones llama.cpp's server renders from the same GGUF template, its template hash is recorded, and
both embedded models are listed."""

from __future__ import annotations

import asyncio
import subprocess

import httpx
import pytest

from shootout.providers.base import GenerateRequest, Message, Sampling
from shootout.providers.embedded import EMBEDDED
from shootout.providers.registry import build_provider
from shootout.testing.llama_server import llama_server

CONVERSATIONS = [
    (Message("user", "What is the capital of France?"),),
    (Message("system", "You answer in one word."), Message("user", "Name a colour.")),
    (Message("user", "2+2?"), Message("assistant", "4"), Message("user", "And 3+3?")),
]


@pytest.fixture(scope="module")
def smol_server(tmp_path_factory):
    """`python -m llama_cpp.server` serving the SmolLM2 GGUF on 127.0.0.1."""
    log = tmp_path_factory.mktemp("smol_server") / "server.log"
    with llama_server(EMBEDDED["smollm2-135m"].path(), "smol", log) as url:
        yield url


def test_in_process_chat_prompts_are_the_servers(smol_server):
    local = build_provider("local:smollm2-135m", {"n_ctx": 2048})
    try:
        for msgs in CONVERSATIONS:
            req = GenerateRequest(messages=msgs, sampling=Sampling(max_tokens=8))
            mine = asyncio.run(local.generate(req))
            body = {"model": "smol", "messages": [{"role": m.role, "content": m.content}
                                                  for m in msgs],
                    "max_tokens": 8, "temperature": 0.0, "top_k": 1}
            theirs = httpx.post(f"{smol_server}/chat/completions", json=body, timeout=120).json()
            assert mine.usage.prompt_tokens == theirs["usage"]["prompt_tokens"], msgs
            assert mine.usage.prompt_tokens > 20  # the template's system turn is included
            assert mine.text.strip() == theirs["choices"][0]["message"]["content"].strip()
    finally:
        local.close()


def test_embedded_models_are_listed_with_their_facts(shootout_cmd):
    import os

    out = subprocess.run([*shootout_cmd, "list", "models"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "COLUMNS": "250"})
    assert out.returncode == 0, out.stderr
    assert "local:smollm2-135m" in out.stdout and "134,515,008" in out.stdout
    assert "268,098,176" in out.stdout and "Apache-2.0" in out.stdout


def test_the_run_manifest_records_the_chat_template_hash(shootout_cmd, tmp_path, data_dir):
    import json

    out = subprocess.run(
        [*shootout_cmd, "run", "-m", "local:smollm2-135m", "-b", "arc_easy", "--limit", "2",
         "--scoring", "generative", "--store", str(tmp_path / "s.db"), "--data-dir",
         str(data_dir), "--json", "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    manifest = json.loads(out.stdout)["manifest"]
    smol = "SmolLM2 135M Instruct · Q4_1"
    info = manifest["models"][smol]
    assert len(info["chat_template_sha256"]) == 64 and info["kind"] == "instruct"
    assert manifest["benchmarks"]["arc_easy"]["per_model"][smol]["chat"] is True


def test_names_given_on_the_command_line_are_used_everywhere(shootout_cmd, tmp_path, data_dir):
    """Issue 22's acceptance: `-m base=local -m chat=local:smollm2-135m` shows base and chat
    in the results and the report, and keeps the full spec in the JSON's `model`."""
    import json

    store = str(tmp_path / "s.db")
    out = subprocess.run(
        [*shootout_cmd, "run", "-m", "base=local", "-m", "chat=local:smollm2-135m", "-b",
         "arc_easy", "--limit", "3", "--store", store, "--data-dir", str(data_dir), "--json",
         "--no-progress"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    payload = json.loads(out.stdout)
    assert {(r["model"], r["model_name"]) for r in payload["results"]} == {
        ("local", "base"), ("local:smollm2-135m", "chat")}
    md = tmp_path / "r.md"
    rep = subprocess.run([*shootout_cmd, "report", payload["run_id"], "--store", store,
                          "--md", str(md), "--no-charts"], capture_output=True, text=True,
                         timeout=300)
    assert rep.returncode == 0, rep.stderr[-2000:]
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Model shootout: base vs chat")
    assert "| base | local | " in text and "| chat | local:smollm2-135m | " in text
