"""The models of a report: each model of each run, labelled (`name`, or `name@run_id` where
the name is in more than one run), read from the runs' configurations without their samples."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..naming import specs_by_name


@dataclass(frozen=True)
class ModelRef:
    label: str
    model: str
    run_id: str


def model_refs(runs: Sequence[tuple[str, Mapping[str, Any], set[str]]]) -> list[ModelRef]:
    """The report's models, from each run's (id, configuration, models with samples): in the
    configuration's order, then any other; a name in more than one run is `name@run_id`."""
    pairs: list[tuple[str, str]] = []
    for run_id, spec, scored in runs:
        # the display names the samples are stored under (an unnamed model's is derived
        # from its spec: "local" is "Gemma 3 270M · Q4_K_M"), in the configuration's order
        names = [*specs_by_name(spec), *sorted(scored)]
        pairs += [(run_id, n) for n in dict.fromkeys(names) if n in scored]
    count: dict[str, int] = defaultdict(int)
    for _, name in pairs:
        count[name] += 1
    return [ModelRef(name if count[name] == 1 else f"{name}@{rid}", name, rid)
            for rid, name in pairs]


def select_models(refs: list[ModelRef], wanted: list[str] | None) -> list[ModelRef]:
    """The models `--models` names (name, label, or name@run_id whether or not the name
    is in other runs too), in its order; all where it names none."""
    if not refs:
        raise ConfigError("the runs have no scored samples")
    if not wanted:
        return refs
    out: list[ModelRef] = []
    for w in wanted:
        hit = [m for m in refs if w in (m.label, m.model, f"{m.model}@{m.run_id}")]
        if not hit:
            have = ", ".join(m.label for m in refs)
            raise ConfigError(f"unknown model {w!r}; the runs have: {have}")
        out += [m for m in hit if m not in out]
    return out
