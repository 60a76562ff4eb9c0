"""Architecture analysis: parameters (total / active), FLOPs, KV cache, memory and a roofline."""

from __future__ import annotations

from .compute import (
    DEFAULT_CONTEXT,
    Flops,
    default_context,
    facts_to_dict,
    flops_per_token,
    kv_bytes_per_token,
    kv_cache_bytes,
    prefill_flops,
    weight_memory,
)
from .gguf_file import read_gguf
from .hf_config import parse_hf_config
from .params import count_params
from .resolve import facts_from_config, load_arch, read_config_json, resolve_arch
from .roofline import Accelerator, Roofline, get_accelerator, load_accelerators, roofline
from .spec import ArchFacts, ArchSpec, ParamBreakdown

__all__ = [
    "DEFAULT_CONTEXT",
    "Accelerator",
    "ArchFacts",
    "ArchSpec",
    "Flops",
    "ParamBreakdown",
    "Roofline",
    "count_params",
    "default_context",
    "facts_from_config",
    "facts_to_dict",
    "flops_per_token",
    "get_accelerator",
    "kv_bytes_per_token",
    "kv_cache_bytes",
    "load_accelerators",
    "load_arch",
    "parse_hf_config",
    "prefill_flops",
    "read_config_json",
    "read_gguf",
    "resolve_arch",
    "roofline",
    "weight_memory",
]
