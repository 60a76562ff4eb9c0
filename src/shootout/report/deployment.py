"""The report's "Deployment considerations" (the published analysis's last part: API access,
prompting differences, structured output and function calling, monitoring), from what the runs
recorded: how each model was reached, how it was prompted, what its endpoint refused and had
to be sent differently, and how reliably it answered. A part with no data says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..analysis.formatting import pct
from ..naming import host
from .sections import SectionContent, register_section
from .tables import Table, cell, lcell

if TYPE_CHECKING:
    from .build import Report

TITLE = "Deployment considerations"
HEADERS = ("Model", "Access", "Prompting", "Sent differently", "Failed items", "Backoff (s)")
# the benchmarks that test what an integration needs beyond the answer's text
INTEGRATION = {"structured": "Integration: JSON mode and structured outputs",
               "bfcl": "Function calling"}


def access(info: Mapping[str, Any]) -> str:
    """How the model was reached: embedded in the process, or an endpoint (its host only)."""
    spec = str(info.get("spec") or "")
    if not info:  # a run recorded before the manifest named its models' endpoints
        return "not recorded"
    if info.get("embedded") or info.get("gguf"):
        what = info.get("package") or info.get("embedded") or "GGUF"
        licence = f"; licence: {info['licence']}" if info.get("licence") else ""
        return f"in-process (llama.cpp, {what}{licence}): no key, no network"
    base = str(info.get("base_url") or "")
    server = f", server {info['server_header']}" if info.get("server_header") else ""
    conc = f", {info['concurrency']} requests at once" if info.get("concurrency") else ""
    kind = "Anthropic Messages API" if spec.startswith("anthropic:") else \
        "OpenAI-compatible endpoint"
    return f"{kind} at {host(base) or 'its default host'}{server}{conc}"


def prompting(per_model: Mapping[str, Mapping[str, Any]], info: Mapping[str, Any]) -> str:
    """How the benchmarks were asked: scoring modes, chat or completion, a reasoning model."""
    modes = sorted({str(pm.get("mode")) for pm in per_model.values() if pm.get("mode")})
    # a chat model scored by log-likelihood was sent completion pairs (context, choice), not
    # messages ("loglikelihood; chat messages" of SmolLM2: a docs audit's)
    chat = {bool(pm.get("chat")) and pm.get("mode") != "loglikelihood"
            for pm in per_model.values()}
    parts = [", ".join(modes) or "not recorded"]
    if chat == {True}:
        parts.append("chat messages")
    elif chat == {False}:
        parts.append("completion prompts (a base model)" if info.get("kind") == "base"
                     else "completion prompts")
    elif chat:
        parts.append("chat and completion prompts")
    if any(pm.get("reasoning") for pm in per_model.values()):
        parts.append("a reasoning model (its hidden reasoning is billed as output)")
    return "; ".join(parts)


def sent_differently(info: Mapping[str, Any]) -> str:
    """What the endpoint refused and how the requests were changed (`param_policy_learnt`),
    and samplers set to neutral on a llama.cpp server."""
    out = []
    for learnt in info.get("param_policy_learnt") or ():
        if isinstance(learnt, Mapping) and learnt.get("param"):
            out.append(f"{learnt['param']} {learnt.get('action') or 'changed'}")
    if info.get("neutral_samplers"):
        out.append("the server's own samplers set neutral")
    return "; ".join(out) or "nothing"


def failed_items(d: Any, label: str) -> tuple[int, int]:
    """(items failed, items asked) of a model over its benchmarks: each benchmark's widest
    row (the compared one may cover some of its items only: BFCL's AST summary leaves
    irrelevance out, whose failures were not counted; an audit's), and the cells where
    every request failed."""
    cells = [rows for (m, _), rows in d.rows.items() if m == label and rows]
    lost = [n for (m, _), (n, _) in d.unanswered.items() if m == label]
    asked = sum(max(r.n_attempted or r.n for r in rows) for rows in cells) + sum(lost)
    failed = sum(max(r.n_failed for r in rows) for rows in cells) + sum(lost)
    return failed, asked


@register_section(TITLE)
def deployment_section(report: Report) -> SectionContent | None:
    d = report.data
    if not d.models:
        return None
    rows = []
    for ref in d.models:
        man = d.run(ref.run_id).manifest
        info = (man.get("models") or {}).get(ref.model) or {}
        per_model = {b: pm for b, e in (man.get("benchmarks") or {}).items()
                     if isinstance(e, Mapping) and isinstance(
                         pm := (e.get("per_model") or {}).get(ref.model), Mapping)}
        failed, asked = failed_items(d, ref.label)
        waited = (info.get("waiting") or {}).get("retry_backoff_s")
        rows.append((
            lcell(ref.label), lcell(access(info)), lcell(prompting(per_model, info)),
            lcell(sent_differently(info)),
            cell(f"{failed} of {asked} ({pct(failed / asked)}%)" if asked else "–"),
            cell(f"{waited:.1f}" if isinstance(waited, int | float) else "–"),
        ))
    ran = {b.name for b in d.benchmarks}
    measured = [f"{b} (section \"{title}\")" for b, title in INTEGRATION.items() if b in ran]
    integration = ("Structured output and function calling: measured by " + ", ".join(measured)
                   if measured else "Structured output and function calling: not measured by "
                   "these runs (the structured and bfcl benchmarks test them)")
    monitoring = ("Availability over time: see the availability section" if report.monitors
                  else "Availability over time: not measured (shootout monitor probes each "
                  "endpoint on a schedule, docs/monitor.md); this run's own failures and "
                  "retries are in the table")
    return SectionContent(
        paragraphs=(
            "How each model was reached and prompted in these runs, what its endpoint refused "
            "and had sent differently (a parameter renamed or left out: prompt and sampling "
            "differences a deployment inherits), and how reliably it answered: failed items "
            "(every retry spent, or not sent once its endpoint refused it alike) and the "
            "seconds its requests spent backing off before retries, summed over requests.",
            integration + ".", monitoring + "."),
        tables=(Table("deployment", HEADERS, tuple(rows), left_cols=4),))
