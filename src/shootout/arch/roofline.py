"""Roofline upper bounds for serving a model on a named accelerator."""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, not_utf8
from .compute import bytes_per_param, flops_per_token, kv_cache_bytes, prefill_flops
from .spec import ArchFacts


@dataclass(frozen=True)
class Accelerator:
    name: str
    description: str
    bf16_flops: float  # FLOP/s
    bandwidth: float  # bytes/s
    memory: float  # bytes
    usd_per_hour: float | None = None


@dataclass(frozen=True)
class Roofline:
    """Upper bounds: real serving is slower (kernels, communication, scheduling)."""

    accelerator: Accelerator
    devices: int
    precision: str
    context: int
    batch: int
    resident_bytes: int  # all weights + KV cache for the batch
    bytes_per_step: int  # weights touched + KV read per decode step
    decode_tokens_per_s: float  # summed over the batch
    decode_bound: str  # "memory bandwidth" or "compute"
    prefill_tokens_per_s: float
    ttft_s: float  # prefill of one ``context``-token prompt
    usd_per_m_output: float | None
    usd_per_m_input: float | None
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        a = self.accelerator
        return {
            "accelerator": a.name,
            "description": a.description,
            "devices": self.devices,
            "precision": self.precision,
            "context": self.context,
            "batch": self.batch,
            "resident_bytes": self.resident_bytes,
            "bytes_per_decode_step": self.bytes_per_step,
            "decode_tokens_per_s_upper_bound": self.decode_tokens_per_s,
            "decode_bound": self.decode_bound,
            "prefill_tokens_per_s_upper_bound": self.prefill_tokens_per_s,
            "ttft_s_lower_bound": self.ttft_s,
            "usd_per_hour_per_device": a.usd_per_hour,
            "usd_per_million_output_tokens_lower_bound": self.usd_per_m_output,
            "usd_per_million_input_tokens_lower_bound": self.usd_per_m_input,
            "assumptions": list(self.assumptions),
        }


def _num(entry: dict[str, Any], key: str, where: str, *, zero: bool = False) -> float:
    """A positive (or, with `zero`, non-negative) finite number: a peak of 0 divided by zero,
    a negative one gave negative throughputs; a bool is no number."""
    value: Any = entry.get(key)
    try:
        got = math.nan if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        got = math.nan
    if not math.isfinite(got):
        raise ConfigError(f"{where}: missing or non-numeric {key!r}")
    if got < 0 or (got == 0 and not zero):
        raise ConfigError(f"{where}: {key!r} must be {'0 or more' if zero else 'above 0'} "
                          f"(got {value!r})")
    return got


def load_accelerators(path: str | Path | None = None) -> dict[str, Accelerator]:
    """The table, keyed by lower-cased name and alias."""
    if path is None:
        text = resources.files(__package__).joinpath("accelerators.yaml").read_text("utf-8")
        where = "accelerators.yaml"
    else:
        where = str(path)
        try:
            text = Path(path).expanduser().read_text("utf-8")
        except OSError as e:
            raise ConfigError(f"{where}: cannot read accelerator table ({e.strerror})") from None
        except UnicodeDecodeError as e:
            raise not_utf8(where, e) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: invalid YAML ({e})".replace("\n", " ")) from None
    table = data.get("accelerators") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a top-level 'accelerators' mapping")
    out: dict[str, Accelerator] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: entry {name!r} is not a mapping")
        at = f"{where}: {name}"
        price = entry.get("usd_per_hour")
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list):
            raise ConfigError(f"{at}: 'aliases' must be a list of names")
        acc = Accelerator(
            name=str(name),
            description=str(entry.get("description", name)),
            bf16_flops=_num(entry, "bf16_tflops", at) * 1e12,
            bandwidth=_num(entry, "bandwidth_gbs", at) * 1e9,
            memory=_num(entry, "memory_gb", at) * 1e9,
            usd_per_hour=_num(entry, "usd_per_hour", at, zero=True) if price is not None else None,
        )
        for key in [name, *aliases]:
            out[str(key).lower()] = acc
    return out


def get_accelerator(name: str, path: str | Path | None = None) -> Accelerator:
    table = load_accelerators(path)
    try:
        return table[name.lower()]
    except KeyError:
        names = sorted({a.name for a in table.values()})
        raise ConfigError(
            f"unknown accelerator {name!r}; known: {', '.join(names)} "
            "(edit accelerators.yaml or pass --accelerator-table)"
        ) from None


def _weights_touched(facts: ArchFacts, batch: int) -> float:
    """Matmul params read per decode step; experts hit by a batch under uniform routing."""
    p, s = facts.params, facts.spec
    if not s.num_experts or not p.routed_experts:
        return float(p.active_matmul)
    hit = 1.0 - (1.0 - s.experts_per_token / s.num_experts) ** batch
    return p.active_matmul - p.active_routed_experts + p.routed_experts * hit


def _assumptions(facts: ArchFacts, precision: str, kv_dtype: str, devices: int) -> list[str]:
    out = [
        "upper bound: peak datasheet FLOP/s and bandwidth, perfect overlap, no kernel, "
        "scheduling or communication overhead",
        f"weights at {precision}; KV cache at {kv_dtype}; compute at the bf16 peak",
        "decode: each step reads the touched weights once plus every sequence's KV cache "
        "(embedding lookup not counted as a read)",
        "prefill: bound by FLOPs alone (causal attention over the prompt included)",
        "memory fit ignores activations, workspace and framework overhead",
    ]
    if facts.spec.num_experts:
        out.append("MoE: experts hit by the batch assume uniform, independent routing")
    if devices > 1:
        out.append(f"{devices} devices with ideal tensor/expert parallel scaling")
    return out


def roofline(
    facts: ArchFacts,
    acc: Accelerator,
    context: int,
    batch: int = 1,
    precision: str = "bf16",
    kv_dtype: str = "bf16",
) -> Roofline:
    """Decode bound by bytes moved per step, prefill by FLOPs, on as many devices as fit."""
    if context < 1 or batch < 1:
        raise ConfigError("context and batch must be positive")
    bpp = bytes_per_param(facts, precision)
    kv = batch * kv_cache_bytes(facts, context, kv_dtype)
    resident = int(facts.params.total * bpp + kv)
    devices = max(1, math.ceil(resident / acc.memory))
    bw, peak = acc.bandwidth * devices, acc.bf16_flops * devices
    step_bytes = int(_weights_touched(facts, batch) * bpp + kv)
    t_mem = step_bytes / bw
    t_compute = batch * flops_per_token(facts, context).total / peak
    decode = batch / max(t_mem, t_compute)
    prompt_flops = prefill_flops(facts, context)
    prefill = context * peak / prompt_flops
    price = acc.usd_per_hour * devices if acc.usd_per_hour is not None else None
    return Roofline(
        accelerator=acc,
        devices=devices,
        precision=precision,
        context=context,
        batch=batch,
        resident_bytes=resident,
        bytes_per_step=step_bytes,
        decode_tokens_per_s=decode,
        decode_bound="memory bandwidth" if t_mem >= t_compute else "compute",
        prefill_tokens_per_s=prefill,
        ttft_s=prompt_flops / peak,
        usd_per_m_output=price / 3600 / decode * 1e6 if price is not None else None,
        usd_per_m_input=price / 3600 / prefill * 1e6 if price is not None else None,
        assumptions=tuple(_assumptions(facts, precision, kv_dtype, devices)),
    )
