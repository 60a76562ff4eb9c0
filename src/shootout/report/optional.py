"""Architecture facts for the report, and helpers to read the efficiency rows.

A model whose architecture cannot be resolved gets None, so the report says so; it never fills
a section with guesses.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..arch import resolve_arch
from .refs import ModelRef

if TYPE_CHECKING:
    from .model import ReportData

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- architecture


def collect_arch(data: ReportData) -> dict[str, dict[str, Any] | None]:
    """Per model label: parameters, experts, context window, quantisation (or None)."""
    return arch_of(data.models, {r.run_id: r.manifest for r in data.runs})


def arch_of(models: Sequence[ModelRef], manifests: Mapping[str, Mapping[str, Any]]
            ) -> dict[str, dict[str, Any] | None]:
    """`collect_arch` from the models and their runs' manifests (by run id)."""
    out: dict[str, dict[str, Any] | None] = {}
    for m in models:
        info = (manifests.get(m.run_id) or {}).get("models", {}).get(m.model, {}) or {}
        facts = None
        for cand in _arch_candidates(m, info):
            try:
                facts = resolve_arch(cand)
            except Exception as e:  # a broken file must not sink the whole report
                log.warning("architecture of %s from %s: %s", m.label, cand, e)
                facts = None
            if facts is not None:
                out[m.label] = _facts_dict(facts, cand, info)
                break
        else:
            out[m.label] = None
    return out


def _arch_candidates(m: ModelRef, info: dict[str, Any]) -> list[str]:
    cands = []
    gguf = info.get("gguf")
    if gguf and Path(str(gguf)).is_file():
        cands.append(f"gguf:{gguf}")
    for c in (info.get("spec"), info.get("model_id"), m.model):
        if c and c not in cands and not str(c).startswith("local:"):
            cands.append(str(c))
    return cands


def _facts_dict(facts: Any, source: str, info: dict[str, Any]) -> dict[str, Any]:
    spec, params = facts.spec, facts.params
    return {
        "name": spec.name,
        "architecture": spec.architecture,
        "total_params": int(params.total),
        "active_params": int(params.active),
        "experts": int(spec.num_experts),
        "experts_per_token": int(spec.experts_per_token),
        "context_window": int(spec.context_length),
        "context_used": info.get("n_ctx"),
        "quantization": facts.quantization,
        "param_source": facts.param_source,
        "resolved_from": source if not source.startswith("gguf:") else "GGUF file",
    }


# --------------------------------------------------------------------------- rows


def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"ttft": {"p50": 1}} -> {"ttft.p50": 1}."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flat(v, key + "."))
        else:
            out[key] = v
    return out


def pick(d: dict[str, Any], *names: str) -> float | None:
    """The first finite number among `names` in a flattened row."""
    for n in names:
        v = d.get(n)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            return float(v)
    return None
