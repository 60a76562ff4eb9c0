"""A real `python -m llama_cpp.server` on 127.0.0.1 serving a GGUF file, for tests and
benchmark scripts that talk to the embedded models over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(model: Path, alias: str, log_path: Path, *args: str,
                 n_ctx: int = 2048, startup_s: float = 120.0) -> Iterator[str]:
    """Start the server (extra server flags in `args`), wait until /v1/models answers, yield
    its base URL, and stop it on exit; its output goes to `log_path`."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
             "--model_alias", alias, *args],
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/v1"
            _wait_ready(proc, url, log_path, startup_s)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, startup_s: float) -> None:
    deadline = time.time() + startup_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError(f"llama_cpp.server did not start in {startup_s:.0f} s")
