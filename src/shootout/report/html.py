"""The HTML report: one self-contained file (styles, scripts, charts and data inline)."""

from __future__ import annotations

import json
import re
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..analysis.formatting import json_safe
from ..analysis.routing import Policy, Routing
from .build import Report
from .specs import chart_specs
from .svg import render_svg
from .view import context

_CODE = re.compile(r"`([^`\n]+)`")


def inline(text: object) -> Markup:
    """Prose written for the Markdown report, escaped, its `code` spans as <code> (the
    HTML printed their backticks as they are: "`-M concurrency=N`")."""
    return Markup(_CODE.sub(r"<code>\1</code>", str(escape(text))))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("shootout.report", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
    )
    env.filters["inline"] = inline
    return env


def render_html(report: Report, *, max_items: int = 5) -> str:
    ctx: dict[str, Any] = context(report)
    specs = chart_specs(report)
    ctx["charts"] = {s.id: {"title": s.title, "svg": Markup(render_svg(s))} for s in specs}
    ctx["chart_ids"] = [s.id for s in specs]
    ctx["max_items"] = max_items
    ctx["data_json"] = Markup(_json_for_script(report_json(report)))
    return _env().get_template("report.html.j2").render(**ctx)


def report_json(report: Report) -> dict[str, Any]:
    """The numbers behind the page, embedded for anyone who wants to re-check them."""
    d = report.data
    return json_safe({
        "runs": [r.run_id for r in d.runs],
        "models": [{"label": m.label, "model": m.model, "run_id": m.run_id} for m in d.models],
        "benchmarks": [{"name": b.name, "domain": b.domain, "metric": b.metric} for b in
                       d.benchmarks],
        "cells": [{"model": c.model, "benchmark": c.benchmark, "metric": c.metric,
                   "score": c.score, "stderr": c.stderr, "ci": [c.ci_low, c.ci_high], "n": c.n,
                   "ci_method": c.ci_method} for c in d.cells.values()],
        "comparisons": [{"a": t.a, "b": t.b, "benchmark": t.benchmark, "diff": t.diff,
                         "se": t.se, "ci": [t.ci_low, t.ci_high], "p": t.p_value,
                         "p_holm": t.p_holm, "significant": t.significant, "n": t.n,
                         "method": t.method, "mdd": t.mdd, "p_ttest": t.p_ttest,
                         "p_mcnemar": t.p_mcnemar} for t in report.tests],
        "routing": [routing_json(r) for r in report.routing],
        "load_tests": list(report.perf),
    })


def routing_json(r: Routing) -> dict[str, Any]:
    def policy(p: Policy) -> dict[str, Any]:
        return {"name": p.name, "kind": p.kind, "routes": dict(p.routes),
                "quality": p.quality, "ci": [p.ci_low, p.ci_high], "diff_vs_best_single":
                p.diff, "diff_ci": [p.diff_low, p.diff_high],
                "cost_per_1k_requests": p.cost_per_1k, "profile_score": p.score}

    return {"profile": r.profile, "within_points": r.within, "shares": dict(r.shares),
            "best_single": r.best_single, "best_routing": r.best.name,
            "models": [policy(p) for p in r.singles], "policies": [policy(p) for p in r.policies],
            "left_out": dict(r.left_out), "n_boot": r.n_boot, "seed": r.seed}


def _json_for_script(obj: Any) -> str:
    """JSON that cannot close the <script> element it sits in."""
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
