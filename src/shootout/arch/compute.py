"""FLOPs, KV cache and weight memory from the facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .spec import LINEAR, SLIDING, ArchFacts, ArchSpec

DEFAULT_CONTEXT = 4096
# Nominal bytes per parameter; int4 ignores the per-group scales (~0.25-0.5 bit more).
BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}


@dataclass(frozen=True)
class Flops:
    """Forward FLOPs for one token at a context length (a multiply-add counts 2)."""

    context: int
    weights: int  # 2 x active matmul params
    attention: int  # scores and weighted sum over the cached context

    @property
    def total(self) -> int:
        return self.weights + self.attention


def _window(s: ArchSpec, kind: str, context: int) -> int:
    if kind == LINEAR:
        return 0
    if kind == SLIDING and s.sliding_window:
        return min(context, s.sliding_window)
    return context


def _attn_flops_per_position(s: ArchSpec) -> int:
    """2 x heads x (qk dim + v dim): FLOPs per layer per cached position attended to."""
    return 2 * s.num_heads * (s.qk_head_dim + s.v_head_dim)


def flops_per_token(facts: ArchFacts, context: int) -> Flops:
    """FLOPs to generate the token at position ``context`` (decode cost).

    MLA is counted in its expanded (per-head) form, as DeepSeek does."""
    s = facts.spec
    per_pos = _attn_flops_per_position(s)
    attn = sum(per_pos * _window(s, k, context) for k in s.layer_attn)
    return Flops(context=context, weights=2 * facts.params.active_matmul, attention=attn)


def _sum_windows(length: int, window: int) -> int:
    """sum over t = 1..length of min(t, window): attended positions over a causal prompt."""
    if length <= window:
        return length * (length + 1) // 2
    return window * (window + 1) // 2 + (length - window) * window


def prefill_flops(facts: ArchFacts, length: int) -> int:
    """FLOPs to process a prompt of ``length`` tokens (causal attention)."""
    s = facts.spec
    per_pos = _attn_flops_per_position(s)
    attn = 0
    for kind in s.layer_attn:
        if kind == LINEAR:
            continue
        w = s.sliding_window if kind == SLIDING and s.sliding_window else length
        attn += per_pos * _sum_windows(length, w)
    return length * 2 * facts.params.active_matmul + attn


def kv_bytes_per_token(facts: ArchFacts, kv_dtype: str = "bf16") -> int:
    """Cache bytes one token adds across all layers while the context is within every window."""
    s = facts.spec
    elems = sum(s.kv_elems_per_token_layer(k) for k in s.layer_attn)
    return int(elems * kv_bytes(kv_dtype))


def kv_cache_bytes(facts: ArchFacts, context: int, kv_dtype: str = "bf16") -> int:
    """Cache bytes for one sequence at ``context`` tokens; windowed layers keep at most W."""
    s = facts.spec
    elems = sum(s.kv_elems_per_token_layer(k) * _window(s, k, context) for k in s.layer_attn)
    return int(elems * kv_bytes(kv_dtype))


def kv_bytes(kv_dtype: str) -> float:
    try:
        return KV_BYTES[kv_dtype.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown KV-cache dtype {kv_dtype!r}; expected one of {', '.join(KV_BYTES)}"
        ) from None


def bytes_per_param(facts: ArchFacts, precision: str) -> float:
    """Average bytes per weight at a precision; 'gguf' is the file's own quantisation."""
    p = precision.lower()
    if p == "gguf":
        if not facts.file_weight_bytes:
            raise ConfigError("precision 'gguf' needs a GGUF file; use bf16, fp8 or int4")
        return facts.file_weight_bytes / facts.params.total
    try:
        return BYTES_PER_PARAM[p]
    except KeyError:
        known = ", ".join([*BYTES_PER_PARAM, "gguf"])
        raise ConfigError(f"unknown precision {precision!r}; expected one of {known}") from None


def weight_memory(facts: ArchFacts) -> dict[str, int]:
    """Bytes to hold all weights (MTP excluded) at bf16 / fp8 / int4 and the GGUF's own."""
    total = facts.params.total
    out = {p: int(total * BYTES_PER_PARAM[p]) for p in ("bf16", "fp8", "int4")}
    if facts.file_weight_bytes:
        out[f"gguf ({facts.quantization or 'file'})"] = facts.file_weight_bytes
    return out


def default_context(facts: ArchFacts) -> int:
    window = facts.spec.context_length
    return min(DEFAULT_CONTEXT, window) if window else DEFAULT_CONTEXT


def facts_to_dict(facts: ArchFacts, context: int, kv_dtype: str = "bf16") -> dict[str, Any]:
    """Everything as one JSON-ready object."""
    s, p = facts.spec, facts.params
    fl = flops_per_token(facts, context)
    return {
        "name": s.name,
        "source": s.source,
        "architecture": s.architecture,
        "model_type": s.model_type,
        "family": s.family,
        "layers": s.layers,
        "hidden_size": s.hidden_size,
        "attention": s.attention_kind,
        "num_attention_heads": s.num_heads,
        "num_key_value_heads": s.num_kv_heads,
        "head_dim": s.head_dim,
        "sliding_window": s.sliding_window,
        "sliding_window_layers": s.sliding_layers,
        "mla": (
            {
                "q_lora_rank": s.q_lora_rank,
                "kv_lora_rank": s.kv_lora_rank,
                "qk_nope_head_dim": s.qk_nope_head_dim,
                "qk_rope_head_dim": s.qk_rope_head_dim,
                "v_head_dim": s.v_head_dim,
            }
            if s.is_mla
            else None
        ),
        "experts": s.num_experts,
        "experts_per_token": s.experts_per_token,
        "shared_experts": s.num_shared_experts,
        "dense_layers": s.dense_layers,
        "moe_layers": s.moe_layers,
        "vocab_size": s.vocab_size,
        "context_window": s.context_length,
        "tie_word_embeddings": s.tie_embeddings,
        "total_params": p.total,
        "active_params": p.active,
        "embedding_params": p.embedding,
        "head_params": p.head,
        "non_embedding_params": p.non_embedding,
        "active_non_embedding_params": p.active_non_embedding,
        "params_breakdown": {c: {"total": t, "active": a} for c, t, a in p.rows()},
        "mtp_params_excluded": p.mtp,
        "param_source": facts.param_source,
        "context": context,
        "flops_per_token": {"weights": fl.weights, "attention": fl.attention, "total": fl.total},
        "kv_cache_dtype": kv_dtype,
        "kv_cache_bytes_per_token": kv_bytes_per_token(facts, kv_dtype),
        "kv_cache_bytes_at_context": kv_cache_bytes(facts, context, kv_dtype),
        "kv_cache_bytes_full_window": kv_cache_bytes(facts, s.context_length, kv_dtype),
        "weight_memory_bytes": weight_memory(facts),
        "quantization": facts.quantization,
        "notes": list(facts.all_notes),
    }
