"""Find the facts for a config path, GGUF file, hub id, model spec or API model id."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .gguf_file import read_gguf
from .hf_config import parse_hf_config
from .params import count_params
from .spec import ArchFacts

log = logging.getLogger(__name__)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def facts_from_config(raw: dict[str, Any], source: str, name: str | None = None) -> ArchFacts:
    spec = parse_hf_config(raw, source, name)
    return ArchFacts(spec=spec, params=count_params(spec), param_source="config formula")


def read_config_json(path: str | Path) -> ArchFacts:
    path = Path(path).expanduser()
    try:
        raw = json.loads(path.read_text("utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None
    return facts_from_config(raw, str(path), name=path.parent.name or path.stem)


def _is_gguf(path: Path) -> bool:
    if path.suffix.lower() == ".gguf":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None


def read_path(path: Path) -> ArchFacts:
    if path.is_dir():
        path = path / "config.json"
        if not path.is_file():
            raise ConfigError(f"{path}: no config.json in that directory")
    return read_gguf(path) if _is_gguf(path) else read_config_json(path)


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("model_configs.yaml").read_text("utf-8")
    data = yaml.safe_load(text) or {}
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigError("model_configs.yaml: expected a top-level 'models' mapping")
    return models


def _index() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, entry in _table().items():
        for alias in [key, *(entry.get("aliases") or [])]:
            out[str(alias).lower()] = key
    return out


def _candidates(model_id: str) -> list[str]:
    mid = model_id.strip().lower()
    if mid.startswith("openai:"):
        mid = mid.removeprefix("openai:")
    out = [mid]
    base = mid.split(":", 1)[0]  # OpenRouter-style ":free" / ":beta" suffixes
    out.append(base)
    if "/" in base:
        out.append(base.rsplit("/", 1)[1])
    return out


def table_key(model_id: str) -> str | None:
    """The shipped table's entry for a model id, or None."""
    index = _index()
    return next((index[c] for c in _candidates(model_id) if c in index), None)


def table_facts(key: str) -> ArchFacts:
    entry = _table()[key]
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ConfigError(f"model_configs.yaml: entry {key!r} has no 'config' mapping")
    facts = facts_from_config(config, f"model_configs.yaml:{key} ({entry.get('source', '?')})")
    spec = facts.spec
    notes = (f"published: {entry['published']}",) if entry.get("published") else ()
    return ArchFacts(
        spec=replace(spec, name=key),
        params=facts.params,
        param_source="config formula (shipped table)",
        notes=notes,
    )


def _embedded_gguf(spec: str) -> Path:
    """The GGUF of `local` or `local:NAME` (an embedded model)."""
    from ..providers.embedded import embedded_model

    return embedded_model(spec.partition(":")[2]).path()


def _from_hub(repo_id: str) -> ArchFacts:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ConfigError(
            f"{repo_id}: not a local file, and a hub id needs huggingface_hub (pip install "
            "huggingface_hub, or 'shootout[hub]'); or pass a local config.json path"
        ) from None
    try:
        path = hf_hub_download(repo_id, "config.json")
    except Exception as e:  # offline, gated, missing repo: all one line for the user
        raise ConfigError(
            f"{repo_id}: could not fetch config.json from the hub ({type(e).__name__}); "
            "pass a local config.json path"
        ) from None
    facts = read_config_json(path)
    return replace(facts, spec=replace(facts.spec, name=repo_id))


def load_arch(config: str) -> ArchFacts:
    """Facts for what the user typed: a path (config.json, directory or GGUF), ``gguf:PATH``,
    ``local`` (the embedded model), an id from the shipped table, or a hub id."""
    if config == "local" or config.startswith("local:"):
        return read_gguf(_embedded_gguf(config))
    if config.startswith("gguf:"):
        return read_gguf(config.removeprefix("gguf:"))
    path = Path(config).expanduser()
    if path.exists():
        return read_path(path)
    key = table_key(config)
    if key:
        return table_facts(key)
    if path.suffix.lower() in (".json", ".gguf") or config.startswith((".", "/", "~")):
        raise ConfigError(f"{config}: file not found")
    if _HUB_ID.match(config):
        return _from_hub(config)
    raise ConfigError(
        f"{config}: not a file, not in model_configs.yaml, and not a hub id (org/name)"
    )


def resolve_arch(model_id: str) -> ArchFacts | None:
    """Facts for a model as the report names it, or None when it cannot be resolved.

    Handles ``local`` and ``gguf:PATH`` specs, GGUF / config.json paths and ids in the shipped
    table (``openai:`` prefixes and OpenRouter-style ``org/`` prefixes are tolerated). Never
    goes to the network. A file that exists but cannot be read is logged and gives None."""
    try:
        if model_id == "local" or model_id.startswith("local:"):
            return read_gguf(_embedded_gguf(model_id))
        if model_id.startswith("gguf:"):
            return read_gguf(model_id.removeprefix("gguf:"))
        key = table_key(model_id)
        if key:
            return table_facts(key)
        path = Path(model_id).expanduser()
        if path.is_file() or path.is_dir():
            return read_path(path)
    except ConfigError as e:
        log.warning("architecture facts unavailable for %s: %s", model_id, e)
    return None
