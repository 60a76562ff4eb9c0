"""Shared fixtures: the real data directory, the embedded model, and local servers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    raw = os.environ.get("SHOOTOUT_DATA")
    path = Path(raw) if raw else REPO.parent / "shared" / "data"
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if not (path / "SOURCES.md").exists():
        pytest.fail(f"benchmark data not found at {path}: set SHOOTOUT_DATA")
    return path


@pytest.fixture(scope="session")
def shootout_cmd() -> list[str]:
    """The installed CLI, run as a subprocess exactly as a user would."""
    return [sys.executable, "-m", "shootout"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    from shootout.providers.local import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def local_provider():
    from shootout.providers.local import LocalProvider

    provider = LocalProvider(n_ctx=4096)
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def llama_server(embedded_gguf, tmp_path_factory):
    """A real `python -m llama_cpp.server` serving the embedded GGUF on 127.0.0.1."""
    import subprocess
    import time

    import httpx

    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
         "--logits_all", "true", "--model_alias", "gemma-3-270m"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("llama_cpp.server did not start in 120 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
