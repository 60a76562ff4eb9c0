"""`shootout arch CONFIG`: parameters, FLOPs, KV cache, memory and a roofline for a model."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ..arch import (
    ArchFacts,
    default_context,
    facts_to_dict,
    get_accelerator,
    load_arch,
    roofline,
)
from ..arch.roofline import Roofline
from ..errors import ConfigError
from .console import stdout_console


def fmt_count(n: float) -> str:
    """1.026T, 32.86B, 268.1M: four significant figures with an SI-like suffix."""
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.4g}{suffix}"
    return f"{n:.4g}"


def fmt_bytes(n: float) -> str:
    """Decimal units (1 GB = 1e9 bytes)."""
    for div, suffix in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if abs(n) >= div:
            return f"{n / div:.4g} {suffix}"
    return f"{n:.0f} B"


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, str(value))
    return table


def _arch_rows(d: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("model", d["name"]),
        ("source", d["source"]),
        ("architecture", f"{d['architecture']} ({d['model_type']})"),
        ("family", d["family"]),
        ("layers", d["layers"]),
        ("hidden size", d["hidden_size"]),
        ("attention", d["attention"]),
        ("heads (q / kv)", f"{d['num_attention_heads']} / {d['num_key_value_heads']}"),
    ]
    if d["mla"]:
        mla = d["mla"]
        rows.append(
            (
                "MLA ranks",
                f"q {mla['q_lora_rank']}, kv {mla['kv_lora_rank']}, rope "
                f"{mla['qk_rope_head_dim']}, nope {mla['qk_nope_head_dim']}, v {mla['v_head_dim']}",
            )
        )
    else:
        rows.append(("head dim", d["head_dim"]))
    if d["experts"]:
        rows += [
            ("experts (routed)", d["experts"]),
            ("experts per token", d["experts_per_token"]),
            ("shared experts", d["shared_experts"]),
            ("dense / MoE layers", f"{d['dense_layers']} / {d['moe_layers']}"),
        ]
    rows += [
        ("vocabulary", d["vocab_size"]),
        ("context window", d["context_window"]),
        ("tied embeddings", "yes" if d["tie_word_embeddings"] else "no"),
    ]
    if d["quantization"]:
        rows.append(("GGUF quantisation", d["quantization"]))
    return rows


def _params_table(d: dict[str, Any]) -> Table:
    table = Table(title=f"Parameters: {d['param_source']}", title_justify="left")
    table.add_column("component")
    table.add_column("total", justify="right")
    table.add_column("active / token", justify="right")
    table.add_column("exact total", justify="right")
    total = d["total_params"]
    moe_only = ("routed_experts", "shared_experts", "router")
    for comp, v in d["params_breakdown"].items():
        if comp in moe_only and not d["experts"]:
            continue
        label = comp.replace("_", " ")
        if comp == "head" and d["tie_word_embeddings"]:
            label += " (tied to embedding)"
        table.add_row(label, fmt_count(v["total"]), fmt_count(v["active"]), f"{v['total']:,}")
    table.add_section()
    table.add_row(
        Text("total", style="bold"), fmt_count(total), fmt_count(d["active_params"]), f"{total:,}"
    )
    table.add_row(
        "non-embedding (no emb., no head)",
        fmt_count(d["non_embedding_params"]),
        fmt_count(d["active_non_embedding_params"]),
        f"{d['non_embedding_params']:,}",
    )
    if d["mtp_params_excluded"]:
        table.add_row(
            "MTP module (excluded)",
            fmt_count(d["mtp_params_excluded"]),
            "-",
            f"{d['mtp_params_excluded']:,}",
        )
    return table


def _compute_rows(d: dict[str, Any]) -> list[tuple[str, Any]]:
    fl, ctx, kvd = d["flops_per_token"], d["context"], d["kv_cache_dtype"]
    rows: list[tuple[str, Any]] = [
        (
            f"forward FLOPs / token @ {ctx:,}",
            f"{fmt_count(fl['total'])} = {fmt_count(fl['weights'])} weights (2 x active matmul "
            f"params) + {fmt_count(fl['attention'])} attention",
        ),
        (f"KV cache / token ({kvd})", fmt_bytes(d["kv_cache_bytes_per_token"])),
        (f"KV cache @ {ctx:,} tokens", fmt_bytes(d["kv_cache_bytes_at_context"])),
        (
            f"KV cache @ full window {d['context_window']:,}",
            fmt_bytes(d["kv_cache_bytes_full_window"]),
        ),
    ]
    for prec, nbytes in d["weight_memory_bytes"].items():
        rows.append((f"weights @ {prec}", fmt_bytes(nbytes)))
    return rows


def _roofline_rows(r: Roofline) -> list[tuple[str, Any]]:
    a = r.accelerator
    rows: list[tuple[str, Any]] = [
        ("accelerator", f"{a.name}: {a.description}"),
        (
            "devices needed",
            f"{r.devices} (weights + KV {fmt_bytes(r.resident_bytes)} "
            f"vs {fmt_bytes(a.memory)} each)",
        ),
        ("setting", f"{r.precision} weights, context {r.context:,}, batch {r.batch}"),
        (
            "decode tokens/s (upper bound)",
            f"{r.decode_tokens_per_s:,.1f} ({r.decode_bound} bound; "
            f"{fmt_bytes(r.bytes_per_step)} read per step)",
        ),
        ("prefill tokens/s (upper bound)", f"{r.prefill_tokens_per_s:,.0f} (FLOP bound)"),
        (f"time to first token @ {r.context:,} (lower bound)", f"{r.ttft_s:.3g} s"),
    ]
    if r.usd_per_m_output is not None:
        rows.append(
            (
                "$ / 1M output tokens (lower bound)",
                f"{r.usd_per_m_output:,.2f} at ${a.usd_per_hour}/device-hour",
            )
        )
        rows.append(("$ / 1M input tokens (lower bound)", f"{r.usd_per_m_input:,.4f}"))
    return rows


def _print(facts: ArchFacts, d: dict[str, Any], r: Roofline | None) -> None:
    console = stdout_console()
    console.print(_kv_table("Architecture", _arch_rows(d)))
    console.print(_params_table(d))
    console.print(_kv_table("Compute and memory", _compute_rows(d)))
    if r is not None:
        console.print(_kv_table("Roofline (an upper bound, not a measurement)", _roofline_rows(r)))
        for line in r.assumptions:
            console.print(f"  - {line}")
    for note in facts.all_notes:
        console.print(f"note: {note}", style="dim")


def arch(
    config: str = typer.Argument(
        ...,
        help="config.json path or directory, GGUF file, 'local', a hub id, or a model id "
        "from the shipped table (e.g. kimi-k2-0905-preview, deepseek-chat).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    context: int | None = typer.Option(
        None,
        "--context",
        help="Context length for FLOPs, KV cache and roofline (default: 4096 "
        "or the window if smaller).",
    ),
    accelerator: str | None = typer.Option(
        None,
        "--accelerator",
        help="Add a roofline on H100, H200, A100, L40S, MI300X, cpu, ...",
    ),
    accelerator_table: str | None = typer.Option(
        None,
        "--accelerator-table",
        help="Your own accelerators YAML (same format as shipped).",
    ),
    precision: str | None = typer.Option(
        None,
        "--precision",
        help="Weights for the roofline: bf16, fp8, int4 or gguf "
        "(default: gguf for a GGUF file, else bf16).",
    ),
    kv_dtype: str = typer.Option("bf16", "--kv-dtype", help="KV-cache element type."),
    batch: int = typer.Option(1, "--batch", help="Concurrent sequences for the roofline."),
) -> None:
    """Architecture facts: total and active parameters, FLOPs, KV cache, memory, roofline."""
    facts = load_arch(config)
    ctx = context if context is not None else default_context(facts)
    if ctx < 1 or batch < 1:
        raise ConfigError("--context and --batch must be positive")
    unused = [flag for flag, value in (("--precision", precision),
                                       ("--accelerator-table", accelerator_table),
                                       ("--batch", batch != 1)) if value]
    if unused and not accelerator:  # they shape the roofline only: ignored, they misled
        raise ConfigError(f"{' and '.join(unused)} set the roofline: give --accelerator too")
    window = facts.spec.context_length
    if window and ctx > window:  # the figures hold for a context the model cannot take
        print(f"warning: --context {ctx:,} is past {facts.spec.name}'s context window "
              f"({window:,} tokens): the KV cache and FLOPs are for a context it cannot take",
              file=sys.stderr)
    d = facts_to_dict(facts, ctx, kv_dtype)
    r = None
    if accelerator:
        prec = precision or ("gguf" if facts.file_weight_bytes else "bf16")
        acc = get_accelerator(accelerator, accelerator_table)
        r = roofline(facts, acc, ctx, batch=batch, precision=prec, kv_dtype=kv_dtype)
        d["roofline"] = r.to_dict()
    if json_out:
        typer.echo(json.dumps(d, indent=2))
    else:
        _print(facts, d, r)
