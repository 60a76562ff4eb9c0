"""Parameter counts from a spec, by formula (the config path; GGUF files are counted exactly)."""

from __future__ import annotations

from .spec import DENSE, MOE, ArchSpec, ParamBreakdown


def attention_params(s: ArchSpec) -> int:
    """Projection weights (and biases, sinks) of one attention layer; norms are counted apart."""
    h, nh = s.hidden_size, s.num_heads
    if s.is_mla:
        qk = s.qk_nope_head_dim + s.qk_rope_head_dim
        rank = int(s.kv_lora_rank or 0)
        q = h * s.q_lora_rank + s.q_lora_rank * nh * qk if s.q_lora_rank else h * nh * qk
        kv = h * (rank + s.qk_rope_head_dim) + rank * nh * (s.qk_nope_head_dim + s.v_head_dim)
        return q + kv + nh * s.v_head_dim * h
    q = h * nh * s.head_dim
    k = h * s.num_kv_heads * s.head_dim
    v = h * s.num_kv_heads * s.v_head_dim
    o = nh * s.v_head_dim * h
    total = q + k + v + o
    if s.qkv_bias:
        total += nh * s.head_dim + s.num_kv_heads * (s.head_dim + s.v_head_dim)
    if s.o_bias:
        total += h
    if s.attn_sinks:
        total += nh
    return total


def mlp_params(hidden: int, inter: int, bias: bool = False) -> int:
    """A gated MLP (gate, up, down), as in SwiGLU / GeGLU."""
    return 3 * hidden * inter + ((2 * inter + hidden) if bias else 0)


def layer_norm_params(s: ArchSpec) -> int:
    """RMSNorm weights in one layer, including q/k norms and MLA's latent norms."""
    n = s.norms_per_layer * s.hidden_size
    if s.qk_norm:
        n += 2 * s.qk_head_dim
    if s.is_mla:
        n += int(s.kv_lora_rank or 0) + int(s.q_lora_rank or 0)
    return n


def router_params(s: ArchSpec) -> int:
    n = s.num_experts * s.hidden_size + (s.num_experts if s.router_bias else 0)
    return n + (s.hidden_size if s.shared_expert_gate else 0)


def moe_layer_params(s: ArchSpec) -> tuple[int, int, int]:
    """(routed experts, shared experts, router) in one MoE layer."""
    routed = s.num_experts * mlp_params(s.hidden_size, s.moe_intermediate_size, s.mlp_bias)
    shared = (
        mlp_params(s.hidden_size, s.shared_intermediate_size, s.mlp_bias)
        if s.shared_intermediate_size
        else 0
    )
    return routed, shared, router_params(s)


def mtp_params(s: ArchSpec) -> int:
    """DeepSeek-V3-style next-token-prediction modules: one MoE block each, a 2h->h projection,
    three norms, and their own copies of the embedding and head as shipped in the checkpoint."""
    if not s.mtp_layers:
        return 0
    h = s.hidden_size
    routed, shared, router = moe_layer_params(s)
    block = attention_params(s) + layer_norm_params(s) + routed + shared + router
    return s.mtp_layers * (block + 2 * h * h + 3 * h + 2 * s.vocab_size * h)


def count_params(s: ArchSpec) -> ParamBreakdown:
    """Parameter breakdown implied by a spec."""
    routed_1, shared_1, router_1 = moe_layer_params(s) if s.num_experts else (0, 0, 0)
    n_moe = sum(1 for k in s.layer_mlp if k == MOE)
    n_dense = sum(1 for k in s.layer_mlp if k == DENSE)
    embedding = s.vocab_size * s.hidden_size
    routed = n_moe * routed_1
    active_routed = routed * s.experts_per_token // s.num_experts if s.num_experts else 0
    return ParamBreakdown(
        embedding=embedding,
        attention=s.layers * attention_params(s),
        dense_mlp=n_dense * mlp_params(s.hidden_size, s.intermediate_size, s.mlp_bias),
        routed_experts=routed,
        shared_experts=n_moe * shared_1,
        router=n_moe * router_1,
        norms=s.layers * layer_norm_params(s) + s.hidden_size,
        head=0 if s.tie_embeddings else embedding,
        active_routed_experts=active_routed,
        head_tied=s.tie_embeddings,
        head_matmul=embedding,
        mtp=mtp_params(s),
    )
