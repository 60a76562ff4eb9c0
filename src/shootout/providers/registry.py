"""Model specs (`local`, `gguf:/path/model.gguf`, `openai:MODEL`, and any plug-in's) and the
provider classes that serve them.

A provider class declares its spec `prefixes`, its `Options` (a pydantic model) and
`from_spec`; built-in providers are imported only when a spec needs them, so a missing extra
(llama-cpp-python) costs nothing until a local model is asked for. Third-party providers
register through the `shootout.providers` entry-point group:

    [project.entry-points."shootout.providers"]
    anthropic = "my_package.anthropic:AnthropicProvider"

or, in-process (tests, notebooks), with `register_provider(cls)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

from pydantic import ValidationError

from ..errors import ConfigError, UnknownModelError
from .base import Provider, ProviderOptions

ENTRY_POINT_GROUP = "shootout.providers"

# prefix -> "module:Class" of the built-in providers
_BUILTIN = {
    "local": "shootout.providers.embedded:EmbeddedProvider",
    "gguf": "shootout.providers.local:LocalProvider",
    "openai": "shootout.providers.openai:OpenAIProvider",
    "anthropic": "shootout.providers.anthropic:AnthropicProvider",
}
# spec prefixes that need no argument after them
_BARE = {"local"}

_REGISTERED: dict[str, type[ProviderClass]] = {}


class ProviderClass(Protocol):
    """What the registry needs of a provider class."""

    prefixes: tuple[str, ...]
    Options: type[ProviderOptions]
    spec_help: str

    @classmethod
    def from_spec(
        cls, argument: str, options: ProviderOptions, context_needed: int | None = None
    ) -> Provider: ...


def register_provider(cls: type[ProviderClass]) -> type[ProviderClass]:
    """Serve `cls.prefixes` with `cls` (usable as a class decorator)."""
    for prefix in cls.prefixes:
        _REGISTERED[prefix] = cls
    return cls


@cache
def _entry_point_targets() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_prefixes() -> list[str]:
    return sorted({*_BUILTIN, *_entry_point_targets(), *_REGISTERED})


def parse_spec(spec: str) -> tuple[str, str]:
    """Split a model spec into (prefix, argument), validating its form without loading."""
    spec = spec.strip()
    if spec in _BARE:
        return spec, ""
    prefix, sep, arg = spec.partition(":")
    if sep and prefix in known_prefixes() and arg.strip():
        return prefix, arg.strip()
    forms = "; ".join(describe_specs())
    raise UnknownModelError(f"unknown model spec {spec!r}; expected one of: {forms}")


def provider_class(prefix: str) -> type[ProviderClass]:
    if prefix in _REGISTERED:
        return _REGISTERED[prefix]
    target = _BUILTIN.get(prefix) or _entry_point_targets().get(prefix)
    if target is None:
        raise UnknownModelError(f"no provider serves {prefix!r} specs")
    module, _, name = target.partition(":")
    try:
        cls: type[ProviderClass] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"the provider for {prefix!r} specs ({target}) cannot load: {e}") from e
    return cls


def describe_specs() -> list[str]:
    """One line per spec form, from each provider's own `spec_help`."""
    out: dict[str, None] = {}
    for prefix in known_prefixes():
        try:
            out[provider_class(prefix).spec_help or f"{prefix}:ARGUMENT"] = None
        except ConfigError as e:
            out[f"{prefix}: unavailable ({e})"] = None
    return list(out)


def describe_options() -> list[str]:
    """One line per provider: its spec prefixes and the options `-M KEY=VALUE` can set."""
    out: list[str] = []
    seen: set[type[ProviderClass]] = set()
    for prefix in known_prefixes():
        try:
            cls = provider_class(prefix)
        except ConfigError:
            continue  # describe_specs says why
        if cls not in seen:
            seen.add(cls)
            names = ", ".join(cls.Options.model_fields) or "none"
            out.append(f"{', '.join(p + ':' for p in cls.prefixes)} {names}")
    return out


def validate_options(spec: str, options: Mapping[str, Any]) -> ProviderOptions:
    """The provider's options for `spec`, validated by its `Options` model."""
    cls = provider_class(parse_spec(spec)[0])
    try:
        return cls.Options.model_validate(dict(options))
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        # (a check of several options together names none)
        raise ConfigError(f"{where + ': ' if where else ''}{msg} (for {spec})") from None


def option_names(spec: str) -> set[str]:
    return set(provider_class(parse_spec(spec)[0]).Options.model_fields)


def build_provider(
    spec: str, options: Mapping[str, Any] | None = None, *, context_needed: int | None = None,
    dry_run: bool = False,
) -> Provider:
    """The provider for one model: its spec, its options, and the longest context a planned
    benchmark needs (a local model sizes its KV cache to it unless n_ctx is given).

    `dry_run`: built by the class's `for_dry_run` where it has one (an in-process model: not
    loaded, for a dry run sends nothing), else as for a run (an API's client sends nothing
    until asked)."""
    prefix, argument = parse_spec(spec)
    cls = provider_class(prefix)
    build = getattr(cls, "for_dry_run", None) if dry_run else None
    return (build or cls.from_spec)(argument, validate_options(spec, options or {}),
                                    context_needed)
