"""The facts: a normalised architecture spec, a parameter breakdown, and the two together."""

from __future__ import annotations

from dataclasses import dataclass, field

FULL, SLIDING, LINEAR = "full", "sliding", "linear"
DENSE, MOE = "dense", "moe"


@dataclass(frozen=True)
class ArchSpec:
    """What the analysis needs from a config, whatever file it came from.

    ``layer_attn`` holds one of full / sliding / linear per layer (linear = an SSM or
    linear-attention mixer with a fixed-size state); ``layer_mlp`` holds dense / moe per layer.
    """

    name: str
    source: str
    model_type: str
    architecture: str
    hidden_size: int
    vocab_size: int
    context_length: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    v_head_dim: int
    intermediate_size: int
    layer_attn: tuple[str, ...]
    layer_mlp: tuple[str, ...]
    tie_embeddings: bool = False
    sliding_window: int | None = None
    num_experts: int = 0
    experts_per_token: int = 0
    num_shared_experts: int = 0
    moe_intermediate_size: int = 0
    shared_intermediate_size: int = 0  # all shared experts together
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    router_bias: bool = False
    shared_expert_gate: bool = False
    qk_norm: bool = False
    attn_sinks: bool = False
    norms_per_layer: int = 2
    mtp_layers: int = 0
    notes: tuple[str, ...] = ()

    @property
    def layers(self) -> int:
        return len(self.layer_mlp)

    @property
    def is_mla(self) -> bool:
        return bool(self.kv_lora_rank)

    @property
    def qk_head_dim(self) -> int:
        """Per-head query/key width used by the attention scores."""
        if self.is_mla:
            return self.qk_nope_head_dim + self.qk_rope_head_dim
        return self.head_dim

    @property
    def moe_layers(self) -> int:
        return sum(1 for k in self.layer_mlp if k == MOE)

    @property
    def dense_layers(self) -> int:
        return self.layers - self.moe_layers

    @property
    def sliding_layers(self) -> int:
        return sum(1 for k in self.layer_attn if k == SLIDING)

    @property
    def linear_layers(self) -> int:
        return sum(1 for k in self.layer_attn if k == LINEAR)

    @property
    def family(self) -> str:
        if self.linear_layers:
            return "hybrid"
        return "MoE" if self.moe_layers else "dense"

    @property
    def attention_kind(self) -> str:
        if self.is_mla:
            kind = "MLA"
        elif self.num_kv_heads == 1:
            kind = "MQA"
        elif self.num_kv_heads < self.num_heads:
            kind = "GQA"
        else:
            kind = "MHA"
        if self.sliding_layers:
            kind += f" + sliding window {self.sliding_window} ({self.sliding_layers}/{self.layers})"
        if self.linear_layers:
            kind += f" + linear/SSM ({self.linear_layers}/{self.layers})"
        return kind

    def kv_elems_per_token_layer(self, kind: str) -> int:
        """Cached values per token in one layer of the given attention kind."""
        if kind == LINEAR:
            return 0
        if self.is_mla:  # the compressed latent plus the decoupled RoPE key
            return int(self.kv_lora_rank or 0) + self.qk_rope_head_dim
        return self.num_kv_heads * (self.head_dim + self.v_head_dim)


COMPONENTS = (
    "embedding",
    "attention",
    "dense_mlp",
    "routed_experts",
    "shared_experts",
    "router",
    "norms",
    "head",
    "other",
)


@dataclass(frozen=True)
class ParamBreakdown:
    """Parameter counts by component. ``head`` is 0 when tied to the embedding.

    ``mtp`` (multi-token-prediction modules shipped with some checkpoints) is *not* part of
    ``total``: published totals such as DeepSeek-V3's 671B exclude it.
    """

    embedding: int
    attention: int
    dense_mlp: int
    routed_experts: int
    shared_experts: int
    router: int
    norms: int
    head: int
    active_routed_experts: int
    head_tied: bool = False
    head_matmul: int = 0  # vocab x hidden: the output projection, tied or not
    other: int = 0
    mtp: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, c) for c in COMPONENTS)

    @property
    def active(self) -> int:
        return self.total - self.routed_experts + self.active_routed_experts

    @property
    def non_embedding(self) -> int:
        return self.total - self.embedding - self.head

    @property
    def active_non_embedding(self) -> int:
        return self.active - self.embedding - self.head

    @property
    def active_matmul(self) -> int:
        """Weights read and multiplied per token: active params less the embedding lookup,
        with the output projection counted even when tied."""
        return self.active - self.embedding - self.head + self.head_matmul

    def rows(self) -> list[tuple[str, int, int]]:
        """(component, total, active) for each component."""
        out = []
        for c in COMPONENTS:
            total = getattr(self, c)
            if c == "other" and not total:
                continue
            active = self.active_routed_experts if c == "routed_experts" else total
            out.append((c, total, active))
        return out


@dataclass(frozen=True)
class ArchFacts:
    """A spec, its parameter breakdown, and where the numbers came from."""

    spec: ArchSpec
    params: ParamBreakdown
    param_source: str
    quantization: str | None = None
    file_weight_bytes: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def all_notes(self) -> tuple[str, ...]:
        return self.spec.notes + self.notes
