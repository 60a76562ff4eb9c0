"""Model specs: `local`, `gguf:/path/model.gguf`, `openai:MODEL` (with a base URL)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UnknownModelError
from .base import Provider

SPEC_FORMS = (
    "local (the embedded Gemma 3 270M)",
    "gguf:/path/to/model.gguf",
    "openai:MODEL with --base-url (any OpenAI-compatible server)",
)

DEFAULT_OPENAI_BASE = "https://api.openai.com/v1"


def describe_specs() -> list[str]:
    return list(SPEC_FORMS)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split a model spec into (kind, argument), validating its form without loading anything."""
    spec = spec.strip()
    if spec == "local":
        return "local", ""
    kind, sep, arg = spec.partition(":")
    if sep and kind in ("gguf", "openai") and arg.strip():
        return kind, arg.strip()
    raise UnknownModelError(
        f"unknown model spec {spec!r}; expected one of: " + "; ".join(SPEC_FORMS)
    )


def make_provider(spec: str, **options: Any) -> Provider:
    """Build the provider for a spec. Options come from the CLI or the run config."""
    kind, arg = parse_spec(spec)
    if kind in ("local", "gguf"):
        from .local import LocalProvider

        path = None
        if kind == "gguf":
            path = Path(arg).expanduser()
            if not path.is_file():
                raise ConfigError(f"GGUF file not found: {path}")
        local_opts = {
            k: v
            for k, v in options.items()
            if k in ("n_ctx", "min_n_ctx", "n_threads", "path", "chat") and v is not None
        }
        return LocalProvider(model_path=path, **local_opts)
    from .openai import OpenAIProvider

    base_url = options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_OPENAI_BASE
    oa_opts = {
        k: v
        for k, v in options.items()
        if k in ("api_key_env", "chat", "concurrency", "timeout", "logprobs", "extra_body")
        and v is not None
    }
    return OpenAIProvider(model=arg, base_url=base_url, **oa_opts)
