"""Model names that read well: what tables, charts and reports call each model of a run.

In order: the `name:` the user gave (`-m NAME=SPEC` on the command line); for an embedded model
its title and quantisation ("Gemma 3 270M · Q4_K_M"); for a GGUF file its `general.name` (or
file name) and quantisation, or an embedded model's name where the file is one (its
`general.name` and quantisation are the embedded file's: "Smollm2 135M 8k Lc100K Mix1 Ep2"
is SmolLM2 135M Instruct's); for an API model the model id, with the host (and the port, where
two share a host) when two models of the run share an id; else the spec. Names are unique
within a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ConfigError


def derive_names(models: Sequence[tuple[str, str | None, Mapping[str, Any] | None]]
                 ) -> list[str]:
    """The display name of each (spec, given name, model options: where its endpoints are)
    of a run; a clash is a ConfigError naming both specs."""
    names = [given or _from_spec(spec) for spec, given, _ in models]
    ids = [_api_id(spec) for spec, _, _ in models]
    for i, (_, given, options) in enumerate(models):
        if not given and ids[i] and ids.count(ids[i]) > 1:
            names[i] = f"{ids[i]} @ {host((options or {}).get('base_url')) or 'default endpoint'}"
    # a model on replicas (`base_urls`, `endpoints`) has no `base_url`: named "@ default
    # endpoint" as it always was (a stored run's samples are under that name), unless another
    # model has that name too; then by its endpoints' hosts
    for i, (_, given, options) in enumerate(models):
        if (not given and ids[i] and names.count(names[i]) > 1
                and names[i].endswith(" @ default endpoint")
                and (where := endpoint_hosts(options or {}))):
            names[i] = f"{ids[i]} @ {where}"
    # two servers on one host (ports 8000 and 8001): by host and port (such a run had been
    # refused, so no stored run's name changes)
    clashing = [not given and ids[i] and names.count(names[i]) > 1
                for i, (_, given, _) in enumerate(models)]
    for i, (_, _, options) in enumerate(models):
        url = (options or {}).get("base_url")
        if clashing[i] and isinstance(url, str) and (where := host_port(url)) != host(url):
            names[i] = f"{ids[i]} @ {where}"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            j = seen[name]
            raise ConfigError(
                f"two models are called {name!r} ({models[j][0]} and {models[i][0]}); "
                "give one a name (`name:` in the config, NAME=SPEC with -m)"
            )
        seen[name] = i
    return names


def _api_id(spec: str) -> str | None:
    prefix, _, arg = spec.partition(":")
    return arg if prefix in ("openai", "anthropic") and arg else None


def _from_spec(spec: str) -> str:
    prefix, _, arg = spec.partition(":")
    if prefix == "local":
        from .providers.embedded import EMBEDDED, embedded_model

        model = embedded_model(arg) if not arg or arg in EMBEDDED else None
        return f"{model.title} · {model.quantisation}" if model else spec
    if prefix == "gguf":
        return _gguf_name(Path(arg).expanduser()) or spec
    return _api_id(spec) or spec


def _gguf_name(path: Path) -> str | None:
    """`general.name` (or the file name) and the quantisation, from the GGUF header."""
    if not path.is_file():
        return None
    from .arch.gguf_file import _quant_name
    from .arch.gguf_header import read_header

    try:
        meta = read_header(path).meta
    except ConfigError:
        return path.stem
    title = str(meta.get("general.name") or path.stem)
    quant = _quant_name(meta)
    from .providers.embedded import EMBEDDED

    for model in EMBEDDED.values():  # an embedded model's file: the name `local:` gives it
        if (title, quant) == (model.header_name, model.quantisation):
            return f"{model.title} · {model.quantisation}"
    return f"{title} · {quant}" if quant else title


def host(base_url: str | None) -> str:
    return urlparse(base_url or "").hostname or ""


def host_port(base_url: str) -> str:
    """The host and, where the URL gives one, the port ("127.0.0.1:8001")."""
    try:
        port = urlparse(base_url).port
    except ValueError:  # not a port number: the URL is refused where it is used
        port = None
    return f"{host(base_url)}:{port}" if port is not None else host(base_url)


def endpoint_urls(options: Mapping[str, Any]) -> list[str]:
    """The URLs of a model's endpoints: its `base_url`, or its replicas' (`base_urls`, or
    `endpoints`' `url`s), in order; [] where none is given."""
    urls: list[Any] = [options.get("base_url")]
    for key in ("base_urls", "endpoints"):
        listed = options.get(key)
        if isinstance(listed, list | tuple):
            urls += [u.get("url") if isinstance(u, Mapping) else u for u in listed]
    return [u for u in urls if isinstance(u, str)]


def endpoint_hosts(options: Mapping[str, Any]) -> str:
    """The host of a model's endpoint (`base_url`, else its replicas' `base_urls` or
    `endpoints`: the first one's host, "+N" for the other hosts), or ""."""
    hosts = list(dict.fromkeys(h for u in endpoint_urls(options) if (h := host(u))))
    if not hosts:
        return ""
    return hosts[0] + (f" +{len(hosts) - 1}" if len(hosts) > 1 else "")


def specs_by_name(run_spec: Mapping[str, Any]) -> dict[str, str]:
    """Display name -> spec for the models of a stored run configuration (read as written:
    an old configuration need not validate today)."""
    raw = run_spec.get("models") or []
    models = [m if isinstance(m, dict) else {"spec": str(m)} for m in raw]
    triples = [(str(m.get("spec", "")), m.get("name"), m) for m in models]
    try:
        names = derive_names(triples)
    except ConfigError:
        names = [str(n or s) for s, n, _ in triples]
    return {name: spec for name, (spec, _, _) in zip(names, triples, strict=True)}
