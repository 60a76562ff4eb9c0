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


@pytest.fixture
def sample_store(tmp_path):
    """A store holding the report's sample run (`shootout.report.sample_data`), closed after."""
    from shootout.report.sample_data import build_sample_store

    db = build_sample_store(tmp_path / "s.sqlite")
    yield db
    db.close()


@pytest.fixture(scope="session")
def shootout_cmd() -> list[str]:
    """The installed CLI, run as a subprocess exactly as a user would."""
    return [sys.executable, "-m", "shootout"]


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
    from shootout.testing.llama_server import llama_server as serve

    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    with serve(embedded_gguf, "gemma-3-270m", log, "--logits_all", "true") as url:
        yield url
