"""Read a Hugging Face ``config.json`` (as a dict) into an ArchSpec.

Field names follow the published configs of each family: Llama / Mistral / Qwen
(``num_key_value_heads``, ``head_dim``), Mixtral (``num_local_experts``), Qwen-MoE
(``num_experts``, ``moe_intermediate_size``, ``decoder_sparse_step``, ``mlp_only_layers``),
DeepSeek-V3 / Kimi K2 (``n_routed_experts``, ``n_shared_experts``, ``first_k_dense_replace``,
``moe_layer_freq``, ``q_lora_rank``, ``kv_lora_rank``, ``qk_*_head_dim``, ``v_head_dim``,
``num_nextn_predict_layers``), Gemma 3 (``text_config`` nesting, ``sliding_window``,
``layer_types`` or ``sliding_window_pattern``) and gpt-oss (``experts_per_token``, sinks).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .spec import DENSE, FULL, LINEAR, MOE, SLIDING, ArchSpec

# Defaults the transformers config classes apply when a field is absent from config.json.
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {  # (Gemma 3 4B's published config gives no head counts: these)
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_hidden_layers": 26,
        "head_dim": 256,
        "vocab_size": 262208,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": True,
    },
    "gemma2": {"head_dim": 256, "sliding_window_pattern": 2, "tie_word_embeddings": True},
    "gemma": {"head_dim": 256, "tie_word_embeddings": True},
    "deepseek_v3": {"moe_layer_freq": 1, "first_k_dense_replace": 0, "v_head_dim": 128},
}
# families whose MLP is two matrices (up, down: not gated) with biases, and whose norms are
# LayerNorms: the counts here are of gated (SwiGLU / GeGLU) transformers, and would be wrong
# (Phi-2 counted 3.6B, StarCoder2-3B 4.2B, OPT-1.3B 1.8B; an audit's)
_UNGATED = {"phi", "starcoder2", "opt", "gpt2", "gpt_neox", "gpt_neo", "gpt_bigcode", "gptj",
            "falcon", "bloom", "mpt", "codegen", "bert", "roberta", "t5"}
# the gated families these formulas follow (their published configs checked)
_KNOWN = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe",
          "qwen3_next", "gemma", "gemma2", "gemma3", "gemma3_text", "deepseek_v2",
          "deepseek_v3", "kimi_k2", "phi3", "phimoe", "gpt_oss", "llama4_text"}
_QK_NORM = {"qwen3", "qwen3_moe", "gemma3", "gemma3_text", "qwen3_next"}
_FOUR_NORMS = {"gemma2", "gemma3", "gemma3_text"}
_LAYER_TYPES = {
    "full_attention": FULL,
    "attention": FULL,
    "sliding_attention": SLIDING,
    "chunked_attention": SLIDING,
    "linear_attention": LINEAR,
    "mamba": LINEAR,
}


def _flatten(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Lift a multimodal ``text_config`` to the top; the vision tower is not counted."""
    notes: list[str] = []
    cfg = dict(raw)
    text = raw.get("text_config")
    if isinstance(text, dict):
        cfg = {**{k: v for k, v in raw.items() if k != "text_config"}, **text}
        cfg["architectures"] = raw.get("architectures") or text.get("architectures")
        if "vision_config" in raw:
            notes.append("multimodal config: only the text model is counted (no vision tower)")
    model_type = str(cfg.get("model_type") or "")
    if model_type == "gemma3":
        model_type = "gemma3_text"
    merged = {**_FAMILY_DEFAULTS.get(model_type, {}), **{k: v for k, v in cfg.items()}}
    merged["model_type"] = model_type
    return merged, notes


def _req(cfg: dict[str, Any], source: str, *names: str) -> int:
    """A required size: a positive integer (a head count of 0 would divide by zero)."""
    for name in names:
        if cfg.get(name) is not None:
            raw = cfg[name]
            try:  # (true was read as 1, 4096.5 as 4096)
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    raise ValueError
                value = int(raw)
            except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 (inf)
                raise ConfigError(f"{source}: field {name!r} is not an integer") from None
            if value < 1:
                raise ConfigError(f"{source}: field {name!r} is {cfg[name]!r}; it must be a "
                                  "positive integer")
            return value
    raise ConfigError(f"{source}: missing field {names[0]!r}; is this a transformer config.json?")


def _opt(cfg: dict[str, Any], *names: str, default: int = 0) -> int:
    """An optional size: the first of `names` given, else `default`; one given must be a
    whole number of at least 0 (a negative expert count gave a negative total, a negative
    head_dim a negative KV cache; an audit's)."""
    for name in names:
        if cfg.get(name) is not None:
            raw = cfg[name]
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(f"field {name!r} is {raw!r}, not a whole number")
            value = int(raw)
            if value < 0:
                raise ValueError(f"field {name!r} is {raw!r}; it cannot be negative")
            return value
    return default


def _layer_mlp(cfg: dict[str, Any], layers: int, experts: int) -> tuple[str, ...]:
    if not experts:
        return (DENSE,) * layers
    if isinstance(moe := cfg.get("moe_layers"), list):  # Llama 4: the MoE layers named
        return tuple(MOE if i in set(moe) else DENSE for i in range(layers))
    if cfg.get("interleave_moe_layer_step"):  # Llama 4: every step-th layer (Maverick: 2)
        step = int(cfg["interleave_moe_layer_step"])
        return tuple(MOE if i % step == step - 1 else DENSE for i in range(layers))
    if "first_k_dense_replace" in cfg or "moe_layer_freq" in cfg:  # DeepSeek family
        k, freq = int(cfg.get("first_k_dense_replace") or 0), int(cfg.get("moe_layer_freq") or 1)
        return tuple(MOE if i >= k and i % freq == 0 else DENSE for i in range(layers))
    if "decoder_sparse_step" in cfg or "mlp_only_layers" in cfg:  # Qwen-MoE family
        step = int(cfg.get("decoder_sparse_step") or 1)
        only = set(cfg.get("mlp_only_layers") or [])
        return tuple(MOE if i not in only and (i + 1) % step == 0 else DENSE for i in range(layers))
    return (MOE,) * layers


def _layer_attn(cfg: dict[str, Any], layers: int, source: str) -> tuple[str, ...]:
    types = cfg.get("layer_types") or cfg.get("layers_block_type")
    if not types and cfg.get("attention_chunk_size") and cfg.get("model_type") == "llama4_text":
        # as transformers' Llama4TextConfig: the RoPE layers attend in chunks, the NoPE
        # layers (every 4th by default) over the whole context
        rope = cfg.get("no_rope_layers")
        if not isinstance(rope, list) or not rope:
            rope = [int((i + 1) % 4 != 0) for i in range(layers)]
        types = ["chunked_attention" if r else "full_attention" for r in rope]
    if isinstance(types, list) and types:
        if len(types) != layers:
            raise ConfigError(f"{source}: layer_types has {len(types)} entries, expected {layers}")
        unknown = sorted({str(t) for t in types} - set(_LAYER_TYPES))
        if unknown:
            raise ConfigError(f"{source}: layer_types has {', '.join(map(repr, unknown[:3]))}, "
                              f"not one of {', '.join(sorted(_LAYER_TYPES))}")
        return tuple(_LAYER_TYPES[str(t)] for t in types)
    window = cfg.get("sliding_window")
    if not _windowed(window) or cfg.get("use_sliding_window") is False:
        return (FULL,) * layers
    pattern = cfg.get("sliding_window_pattern") or cfg.get("_sliding_window_pattern")
    if pattern:
        p = int(pattern)
        return tuple(SLIDING if i % p < p - 1 else FULL for i in range(layers))
    if cfg.get("use_sliding_window"):  # Qwen2: sliding from max_window_layers on
        first = int(cfg.get("max_window_layers") or 0)
        return tuple(SLIDING if i >= first else FULL for i in range(layers))
    return (SLIDING,) * layers  # Mistral-style: every layer windowed


def _window(cfg: dict[str, Any], layer_attn: tuple[str, ...], source: str) -> int | None:
    if SLIDING not in layer_attn:
        return None
    window = cfg.get("sliding_window") or cfg.get("attention_chunk_size")
    if window is None or not _windowed(window):
        raise ConfigError(f"{source}: sliding-window layers but no 'sliding_window' size")
    return int(window)


def _windowed(window: Any) -> bool:
    """Whether a `sliding_window` value is a window's size: a positive number (null, 0 or -1,
    as some configs write "none", is no window: -1 gave a negative KV cache)."""
    return isinstance(window, int | float) and not isinstance(window, bool) and window >= 1


def _moe_fields(cfg: dict[str, Any], source: str) -> dict[str, Any]:
    experts = _opt(cfg, "n_routed_experts", "num_local_experts", "num_experts")
    if not experts:
        return {}
    per_tok = _req(cfg, source, "num_experts_per_tok", "experts_per_token", "moe_topk")
    moe_inter = _opt(cfg, "moe_intermediate_size") or _req(cfg, source, "intermediate_size")
    n_shared = _opt(cfg, "n_shared_experts", "num_shared_experts")
    if cfg.get("model_type") == "llama4_text":  # one shared expert in every MoE layer,
        n_shared = 1  # of the routed experts' width (transformers' Llama4TextMoe)
    shared_inter = n_shared * moe_inter
    gate = False
    if _opt(cfg, "shared_expert_intermediate_size"):  # Qwen2-MoE: one wide shared expert
        n_shared, shared_inter = 1, _opt(cfg, "shared_expert_intermediate_size")
        gate = True
    if per_tok > experts:
        raise ConfigError(f"{source}: {per_tok} experts per token of {experts} experts")
    return {
        "num_experts": experts,
        "experts_per_token": per_tok,
        "moe_intermediate_size": moe_inter,
        "num_shared_experts": n_shared,
        "shared_intermediate_size": shared_inter,
        "shared_expert_gate": gate,
    }


def _attention_fields(cfg: dict[str, Any], source: str, hidden: int) -> dict[str, Any]:
    heads = _req(cfg, source, "num_attention_heads", "n_head")
    kv_heads = _opt(cfg, "num_key_value_heads", "num_kv_heads", default=heads)
    if kv_heads < 1:
        field = next(n for n in ("num_key_value_heads", "num_kv_heads") if n in cfg)
        raise ConfigError(f"{source}: field {field!r} is {kv_heads}; it must be a positive "
                          "integer")
    if heads % kv_heads and not cfg.get("kv_lora_rank"):  # (more KV heads than query heads
        # was labelled MHA; an audit's)
        raise ConfigError(f"{source}: {heads} attention heads cannot share {kv_heads} key/value "
                          "heads (the query heads must be a multiple of them)")
    head_dim = _opt(cfg, "head_dim") or hidden // heads
    out: dict[str, Any] = {
        "num_heads": heads,
        "num_kv_heads": kv_heads,
        "head_dim": head_dim,
        "v_head_dim": head_dim,
    }
    if cfg.get("kv_lora_rank"):
        out.update(
            kv_lora_rank=int(cfg["kv_lora_rank"]),
            q_lora_rank=int(cfg["q_lora_rank"]) if cfg.get("q_lora_rank") else None,
            qk_nope_head_dim=_req(cfg, source, "qk_nope_head_dim"),
            qk_rope_head_dim=_req(cfg, source, "qk_rope_head_dim"),
            v_head_dim=_req(cfg, source, "v_head_dim"),
            head_dim=_req(cfg, source, "qk_nope_head_dim") + _req(cfg, source, "qk_rope_head_dim"),
        )
    return out


def _bias_fields(cfg: dict[str, Any], model_type: str) -> dict[str, Any]:
    attn_bias = bool(cfg.get("attention_bias", False))
    qkv_bias = attn_bias or model_type in ("qwen2", "qwen2_moe")
    return {
        "qkv_bias": qkv_bias,
        "o_bias": attn_bias,
        "mlp_bias": bool(cfg.get("mlp_bias", False)) or model_type == "gpt_oss",
        "router_bias": model_type == "gpt_oss" or cfg.get("topk_method") == "noaux_tc",
        "attn_sinks": model_type == "gpt_oss",
    }


def _dense_width(cfg: dict[str, Any], source: str, moe: dict[str, Any]) -> int:
    """The dense layers' MLP width (Llama 4's `intermediate_size_mlp`: its `intermediate_size`
    is the experts'); required where a layer is dense (a missing one counted 0 parameters)."""
    names = (("intermediate_size_mlp",) if cfg.get("model_type") == "llama4_text" else ()) \
        + ("intermediate_size",)
    if not moe or cfg.get("interleave_moe_layer_step", 1) != 1 or cfg.get("moe_layers") \
            or cfg.get("first_k_dense_replace") or cfg.get("mlp_only_layers") \
            or (cfg.get("decoder_sparse_step") or 1) != 1:
        return _req(cfg, source, *names)
    return _opt(cfg, *names)


def parse_hf_config(raw: dict[str, Any], source: str, name: str | None = None) -> ArchSpec:
    """Normalise a config.json dict; ConfigError naming ``source`` if a needed field is absent,
    or one is not a number it can use (1e400 reads as infinity; a size given as text)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a JSON object at the top level")
    try:
        return _parse(raw, source, name)
    except (OverflowError, ValueError, TypeError) as e:
        raise ConfigError(f"{source}: a field is not a number it can use ({e})") from None


def _parse(raw: dict[str, Any], source: str, name: str | None) -> ArchSpec:
    cfg, notes = _flatten(raw)
    model_type = cfg["model_type"]
    if model_type in _UNGATED:
        raise ConfigError(
            f"{source}: model_type {model_type!r} has a two-matrix (not gated) MLP and "
            "LayerNorms; shootout arch counts gated-MLP transformers (Llama, Mistral, Qwen, "
            "Gemma, DeepSeek, Phi-3, gpt-oss, ...) and would count it wrong")
    if model_type not in _KNOWN:
        notes.append(f"model_type {model_type or '(none)'!r} is not a family these formulas "
                     "were checked on: counted as a gated-MLP (SwiGLU) transformer")
    tie = cfg.get("tie_word_embeddings", False)
    if not isinstance(tie, bool):
        raise ConfigError(f"{source}: field 'tie_word_embeddings' is {tie!r}, not true or false")
    hidden = _req(cfg, source, "hidden_size", "n_embd", "d_model")
    layers = _req(cfg, source, "num_hidden_layers", "n_layer", "num_layers")
    moe = _moe_fields(cfg, source)
    layer_attn = _layer_attn(cfg, layers, source)
    if LINEAR in layer_attn:
        notes.append(
            "linear/SSM mixer layers: parameters approximated as standard attention; "
            "their fixed-size state is not in the KV cache"
        )
    if cfg.get("num_nextn_predict_layers"):
        notes.append("multi-token-prediction (MTP) module shipped in the checkpoint is excluded")
    archs = cfg.get("architectures") or [model_type or "unknown"]
    return ArchSpec(
        name=name or str(cfg.get("_name_or_path") or archs[0]),
        source=source,
        model_type=model_type,
        architecture=str(archs[0]),
        hidden_size=hidden,
        vocab_size=_req(cfg, source, "vocab_size"),
        context_length=_req(
            cfg, source, "max_position_embeddings", "max_sequence_length", "seq_length"
        ),
        intermediate_size=_dense_width(cfg, source, moe),
        layer_attn=layer_attn,
        layer_mlp=_layer_mlp(cfg, layers, moe.get("num_experts", 0)),
        tie_embeddings=tie,
        sliding_window=_window(cfg, layer_attn, source),
        qk_norm=model_type in _QK_NORM,
        norms_per_layer=4 if model_type in _FOUR_NORMS else 2,
        mtp_layers=_opt(cfg, "num_nextn_predict_layers"),
        notes=tuple(notes),
        **_attention_fields(cfg, source, hidden),
        **_bias_fields(cfg, model_type),
        **moe,
    )
