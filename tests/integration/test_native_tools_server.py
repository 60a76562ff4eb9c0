"""bfcl's native-tools mode against a real `python -m llama_cpp.server` serving the embedded
SmolLM2-135M-Instruct with `--chat_format chatml-function-calling`, the server's chat format
for OpenAI tools. That server cannot stream a request with tools ("Automatic streaming tool
choice is not supported", raised mid-stream), so the model runs with `-M stream=false`: every
item must then be answered (none failed), with the tools sent as the API's `tools`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from shootout.providers.embedded import embedded_model
from shootout.testing.llama_server import llama_server


def test_bfcl_native_tools_through_llama_cpp_server(shootout_cmd, data_dir: Path,
                                                     tmp_path: Path) -> None:
    gguf = embedded_model("smollm2-135m").path()
    store = str(tmp_path / "s.sqlite")
    with llama_server(gguf, "smol", tmp_path / "server.log",
                      "--chat_format", "chatml-function-calling") as url:
        run = subprocess.run(
            [*shootout_cmd, "run", "-m", "openai:smol", "--base-url", url, "-M", "stream=false",
             "-b", "bfcl", "-o", "bfcl.mode=native", "--limit", "2", "--concurrency", "1",
             "--max-tokens", "64", "--store", store, "--data-dir", str(data_dir),
             "--no-progress"],
            capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})
    assert run.returncode == 0, run.stderr
    out = subprocess.run([*shootout_cmd, "results", "--json", "--store", store],
                         capture_output=True, text=True, timeout=120)
    data = json.loads(out.stdout)
    row = next(r for r in data["results"] if r["benchmark"] == "bfcl")
    assert row["n"] == 2 and row["n_failed"] == 0
    binding = json.dumps(data["manifest"]["benchmarks"]["bfcl"])
    assert "native" in binding  # the mode the model ran is recorded
