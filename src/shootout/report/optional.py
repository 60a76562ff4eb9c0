"""Data from modules that may be absent: architecture facts and the efficiency/cost report.

Each collector returns None when its module is not installed, so the report omits the section
and says why; it never fills a section with guesses.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Any

from ..store.sqlite import Store
from .model import ModelRef, ReportData

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- architecture


def collect_arch(data: ReportData) -> dict[str, dict[str, Any] | None] | None:
    """Per model label: parameters, experts, context window, quantisation (or None)."""
    try:
        from ..arch import resolve_arch
    except ImportError:
        return None
    out: dict[str, dict[str, Any] | None] = {}
    for m in data.models:
        info = data.run(m.run_id).manifest.get("models", {}).get(m.model, {}) or {}
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


# --------------------------------------------------------------------------- efficiency


def collect_efficiency(store: Store, data: ReportData) -> tuple[list[dict[str, Any]] | None, str]:
    """Rows of `analysis.efficiency.efficiency_report` for the selected models, each with
    `label`, and an error text; None when the efficiency module is not installed."""
    try:
        from ..analysis.efficiency import efficiency_report
    except ImportError:
        return None, ""
    out: list[dict[str, Any]] = []
    for run in data.runs:
        labels = {m.model: m.label for m in data.models if m.run_id == run.run_id}
        if not labels:
            continue
        try:
            rows = efficiency_report(store, run.run_id, price_overrides(run.spec))
        except Exception as e:  # its failure must not sink the rest of the report
            log.warning("efficiency of run %s: %s", run.run_id, e)
            return [], f"{type(e).__name__}: {' '.join(str(e).split())}"
        for row in rows:
            d = as_dict(row)
            if d.get("model") in labels:
                out.append({**d, "label": labels[d["model"]], "run_id": run.run_id})
    return out, ""


def price_overrides(spec: dict[str, Any]) -> dict[str, Any]:
    """Per-model price overrides stored in the run's configuration (config.PriceConfig)."""
    from ..config import PriceConfig

    out: dict[str, Any] = {}
    for m in spec.get("models", []):
        if isinstance(m, dict) and m.get("price"):
            out[m.get("name") or m["spec"]] = PriceConfig(**m["price"])
    return out


def as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return dict(row)
    if hasattr(row, "to_dict"):
        return dict(row.to_dict())
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return dataclasses.asdict(row)
    return dict(vars(row))


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
