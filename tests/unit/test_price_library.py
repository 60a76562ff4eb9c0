"""Prices: the shipped table first, then the genai-prices library for models the table lacks,
else unknown -- never 0 -- and the report says which, per model (issue 20, item 7)."""

from __future__ import annotations

import asyncio
import sys

import genai_prices
import pytest
from toy_run import Colours

from shootout.benchmarks import REGISTRY, register_benchmark
from shootout.config import validate_config
from shootout.perf.cost import Tokens, token_cost
from shootout.perf.prices import PriceTable, price_label, resolve_price
from shootout.report.build import build_report
from shootout.report.html import render_html
from shootout.report.markdown import render_markdown
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.store import Store
from shootout.testing import FakeProvider

VERSION = genai_prices.__version__
TABLE_MODEL = "openai:gpt-4o-mini"  # in the shipped table (as of 2024-10-01)
LIBRARY_MODEL = "anthropic:claude-3-5-haiku-20241022"  # not in the table; in genai-prices
UNKNOWN_MODEL = "openai:no-such-model-xyz"


def _price(spec: str, base_url: str | None = None, table: PriceTable | None = None):
    return resolve_price(spec.partition(":")[2], spec=spec, base_url=base_url, table=table)


def test_the_table_comes_first_with_its_date():
    p = _price(TABLE_MODEL)
    assert (p.origin, p.input_per_m, p.output_per_m, p.as_of) == ("table", 0.15, 0.6,
                                                                    "2024-10-01")
    assert price_label(p.to_dict()) == ("price table: https://openai.com/api/pricing/, "
                                        "as of 2024-10-01")


@pytest.mark.parametrize("spec", [LIBRARY_MODEL, "openai:o3-mini"])
def test_a_model_only_the_library_knows_costs_what_the_library_says(spec):
    p = _price(spec)
    assert p.origin == "library" and p.known
    assert price_label(p.to_dict()).startswith(f"genai-prices {VERSION} (")
    # the cost of a request, ours against the library's own calculator
    tokens = Tokens(input=120_000, cached_input=20_000, output=7_000)
    kind, _, model = spec.partition(":")
    theirs = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=120_000, cache_read_tokens=20_000, output_tokens=7_000),
        model, provider_id=kind)
    assert token_cost(tokens, p) == pytest.approx(float(theirs.total_price), rel=1e-12)


def test_an_unknown_model_stays_unknown():
    p = _price(UNKNOWN_MODEL)
    assert not p.known and p.origin == "none"
    assert token_cost(Tokens(input=1000, output=100), p) is None  # not 0
    assert price_label(p.to_dict()) == (
        f"unknown: not in the price table; genai-prices {VERSION} has no price for "
        "no-such-model-xyz at openai")


def test_a_library_entry_without_a_token_price_is_unknown_not_zero():
    """GitHub Copilot's gpt-4o-mini is "included in the subscription": no rate at all."""
    p = _price(TABLE_MODEL, "https://api.githubcopilot.com/v1", table=PriceTable({}, {}))
    assert not p.known and p.input_per_m is None
    assert "without a token price" in price_label(p.to_dict())


def test_the_provider_is_the_endpoints_and_a_tier_is_named():
    gemini = _price("openai:gemini-2.5-pro",
                    "https://generativelanguage.googleapis.com/v1beta/openai/")
    assert (gemini.input_per_m, gemini.output_per_m) == (1.25, 10.0)  # the base tier
    assert "base tier" in price_label(gemini.to_dict())
    # an endpoint the library does not know: no guess from the model name; the host only
    other = _price("openai:o3-mini", "https://user:secret@api.example.com/v1?key=k")
    assert not other.known
    label = price_label(other.to_dict())
    assert "api.example.com" in label and "secret" not in label and "key=k" not in label


def test_without_the_library_the_table_alone_and_the_source_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "genai_prices", None)  # `import genai_prices` fails
    assert _price(TABLE_MODEL).origin == "table"
    p = _price(LIBRARY_MODEL)
    assert not p.known
    assert price_label(p.to_dict()) == ("unknown: not in the price table; genai-prices not "
                                        "installed (pip install 'shootout[prices]')")


def _report_of(tmp_path, names: dict[str, str]):
    """The report of a run of the toy benchmark by each model (name -> spec)."""
    store = Store(tmp_path / "s.sqlite")
    cfg = validate_config({"models": [{"spec": s, "name": n, "scoring": "generative"}
                                      for n, s in names.items()],
                           "benchmarks": ["toy_colours"]}, "test")
    register_benchmark(Colours)
    try:
        run_id = asyncio.run(Runner(cfg, store, policy=RetryPolicy(base_delay=0.0)).run(
            {n: FakeProvider(answer="Answer: A") for n in names}))
        return build_report(store, [run_id])
    finally:
        REGISTRY.pop(Colours.name, None)


def test_the_report_shows_each_price_source(tmp_path):
    report = _report_of(tmp_path, {"table": TABLE_MODEL, "library": LIBRARY_MODEL,
                                   "unknown": UNKNOWN_MODEL})
    md = render_markdown(report, charts=False)
    row = next(ln for ln in md.splitlines() if ln.startswith("| Price source |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells == ["price table: https://openai.com/api/pricing/, as of 2024-10-01",
                     f"genai-prices {VERSION} (anthropic/claude-3-5-haiku-latest)",
                     f"unknown: not in the price table; genai-prices {VERSION} has no price "
                     "for no-such-model-xyz at openai"]
    costs = report.model_costs
    assert costs["table"]["cost_usd"] > 0 and costs["library"]["cost_usd"] > 0
    assert costs["unknown"]["cost_usd"] is None
    assert f"genai-prices {VERSION} (anthropic/claude-3-5-haiku-latest)" in render_html(report)


def test_results_prints_each_price_source(tmp_path, capsys):
    from shootout.cli.main import main

    store = Store(tmp_path / "s.sqlite")
    cfg = validate_config({"models": [{"spec": UNKNOWN_MODEL, "name": "unknown",
                                       "scoring": "generative"}],
                           "benchmarks": ["toy_colours"]}, "test")
    register_benchmark(Colours)
    try:
        run_id = asyncio.run(Runner(cfg, store, policy=RetryPolicy(base_delay=0.0)).run(
            {"unknown": FakeProvider(answer="Answer: A")}))
        main(["results", run_id, "--store", str(store.path)])
    finally:
        REGISTRY.pop(Colours.name, None)
    out = " ".join(capsys.readouterr().out.split())
    assert (f"price of unknown: unknown: not in the price table; genai-prices {VERSION} has "
            "no price for no-such-model-xyz at openai") in out


def test_costs_from_estimated_token_counts_are_marked(tmp_path, capsys):
    """A model whose server reported no usage has estimated token counts: its tokens and
    costs carry "~" in the report, a note says why, and a cost-per-point takeaway says so."""
    from dataclasses import replace as _replace

    from shootout.providers.base import Usage

    class NoUsage(FakeProvider):
        async def generate(self, request):
            r = await super().generate(request)
            return _replace(r, usage=Usage(prompt_tokens=r.usage.prompt_tokens,
                                           completion_tokens=r.usage.completion_tokens,
                                           estimated=True))

    store = Store(tmp_path / "s.sqlite")
    names = {"told": TABLE_MODEL, "guessed": LIBRARY_MODEL}
    cfg = validate_config({"models": [{"spec": s, "name": n, "scoring": "generative"}
                                      for n, s in names.items()],
                           "benchmarks": ["toy_colours"]}, "test")
    register_benchmark(Colours)
    try:
        run_id = asyncio.run(Runner(cfg, store, policy=RetryPolicy(base_delay=0.0)).run(
            {"told": FakeProvider(answer="Answer: A"),
             "guessed": NoUsage(model_id="fake-no-usage", answer="Answer: A")}))
        report = build_report(store, [run_id])
    finally:
        REGISTRY.pop(Colours.name, None)
    assert report.model_costs["guessed"]["estimated_requests"] > 0
    assert report.model_costs["told"]["estimated_requests"] == 0
    md = render_markdown(report, charts=False)
    for name in ("Cost of the run (USD)", "Cost per benchmark point (USD)",
                 "Tokens in / out (scored benchmarks)"):
        row = next(ln for ln in md.splitlines() if ln.startswith(f"| {name} |"))
        told, guessed = [c.strip() for c in row.strip("|").split("|")][1:]
        assert guessed.startswith("~") and not told.startswith("~"), row
    assert "~ marks figures partly estimated" in md and "guessed (" in md
    # a count of requests, not "(6.0 requests)" (an audit's)
    n = report.model_costs["guessed"]["estimated_requests"]
    assert type(n) is int and f"guessed ({n:,} requests)" in " ".join(md.split())
    takeaway = next(t.text for t in report.takeaways if t.topic == "efficiency")
    assert "guessed's token counts are partly estimated" in takeaway
    # and in the results table
    from shootout.cli.main import main

    capsys.readouterr()
    main(["results", run_id, "--store", str(store.path)])
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if "toy_colours" in ln]
    assert any("guessed" in ln and "~" in ln for ln in lines), out
    assert not any("told" in ln and "~" in ln for ln in lines), out
    assert "~ estimated: the server reported no token usage" in " ".join(out.split())


def test_a_local_endpoint_given_by_openai_base_url_costs_nothing(monkeypatch):
    """The same local server was free with --base-url and priced at OpenAI's list price
    ($1.97 for a dry run of o1) when given by $OPENAI_BASE_URL, the endpoint the provider
    then uses."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    listed = resolve_price("o1", "openai:o1")
    assert listed.origin == "library" and listed.input_per_m
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert resolve_price("o1", "openai:o1").origin == "local"
    assert resolve_price("o1", "openai:o1", "http://127.0.0.1:8000/v1").origin == "local"
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.example.com/v1")  # not local
    assert resolve_price("o1", "openai:o1").origin != "local"


def test_a_dated_snapshot_without_a_row_takes_the_librarys_price_of_that_snapshot():
    """gpt-4o-2024-05-13 fell back to the gpt-4o row ($2.50/$10) before the library, which
    prices that snapshot at $5/$15 (an audit's); a snapshot the table lists is the table's."""
    snap = resolve_price("openai:gpt-4o-2024-05-13", "openai:gpt-4o-2024-05-13")
    assert (snap.input_per_m, snap.output_per_m, snap.origin) == (5.0, 15.0, "library")
    base = resolve_price("openai:gpt-4o", "openai:gpt-4o")
    assert base.origin == "table" and base.input_per_m == 2.5
    # a local endpoint's dated id is not looked up in the library (nor priced as the API)
    local = resolve_price("x", "openai:gpt-4o-2024-05-13", "http://127.0.0.1:8000/v1")
    assert local.origin == "table" and local.input_per_m == 2.5


def test_the_display_name_does_not_price_a_model():
    """`-m gpt-4o=openai:llama-3-8b` was priced as gpt-4o: the name is a label, the API model
    id is what runs (docs/efficiency.md, rules 3-4)."""
    local = resolve_price("gpt-4o", "openai:llama-3-8b", "http://127.0.0.1:8000/v1")
    assert local.origin == "local" and local.input_per_m == 0
    hosted = resolve_price("gpt-4o", "openai:llama-3-8b", "https://api.together.xyz/v1")
    assert hosted.origin != "table" and hosted.input_per_m != 2.5


def test_the_report_shows_what_a_prompt_cache_and_batch_jobs_billed(tmp_path):
    """The report's efficiency table showed tokens in / out and the input and output prices
    only: a cost with cached input reads (at 10%) or cache writes (at 125%) could not be
    recomputed from it, and nothing said so (a cost audit's)."""
    from dataclasses import replace as _replace

    class Cached(FakeProvider):
        async def generate(self, request):
            got = await super().generate(request)
            return _replace(got, usage=_replace(got.usage, prompt_tokens=1000,
                                                cached_tokens=800, cache_write_tokens=100))

    store = Store(tmp_path / "s.sqlite")
    cfg = validate_config({"models": [{"spec": "anthropic:claude-sonnet-4-5", "name": "sonnet",
                                       "scoring": "generative"}],
                           "benchmarks": ["toy_colours"]}, "test")
    register_benchmark(Colours)
    try:
        run_id = asyncio.run(Runner(cfg, store, policy=RetryPolicy(base_delay=0.0)).run(
            {"sonnet": Cached(answer="Answer: A")}))
        report = build_report(store, [run_id])
    finally:
        REGISTRY.pop(Colours.name, None)
    md = render_markdown(report, charts=False)
    n = report.model_costs["sonnet"]
    rows = {ln.split("|")[1].strip(): ln.split("|")[2].strip() for ln in md.splitlines()
            if ln.startswith("| ") and ln.count("|") == 3}
    items = int(n["tokens_in"]) // 1000
    assert rows["Of input: cached / written to cache"] == f"{800 * items:,} / {100 * items:,}"
    assert rows["Cached input / cache write price (USD per 1M tokens)"] == "$0.30 / $3.75"
    assert "Requests answered by batch jobs (half price)" not in rows


def test_a_report_without_any_price_says_so_once(tmp_path):
    """No model priced: the efficiency table was seven rows of dashes and one "unknown: not in
    the price table; ..." per model (ten with ten models; an audit's). Said once now."""
    report = _report_of(tmp_path, {"a": UNKNOWN_MODEL, "b": UNKNOWN_MODEL + "-2"})
    md = render_markdown(report, charts=False)
    section = md.split("## Efficiency")[1].split("\n## ")[0]
    for row in ("| Input price", "| Price source", "| Cost of the run", "| Cost per"):
        assert row not in section, section
    assert "| Time to first token" in section and "| Mean compared score" in section
    assert section.count("No price is known for any model (neither shootout's price table "
                         "nor genai-prices has one)") == 1, section


def test_figures_per_output_token_are_marked_estimated_with_the_tokens() -> None:
    """TPOT and output tokens/s divide by the output tokens: where those are estimated (no
    usage from the server), they were shown unmarked beside "~" token counts (a cost
    audit's)."""
    from rich.console import Console

    from shootout.cli.results import efficiency_table

    def row(name: str, estimated: int) -> dict:
        med = {"median": 14.0}
        return {"model_name": name, "benchmark": "gsm8k", "scope": "benchmark",
                "price": {"input_per_m": 1.0, "output_per_m": 2.0},
                "tokens": {"input": 100, "output": 50, "reasoning": 0,
                           "estimated_requests": estimated},
                "cost_usd": 0.001, "cost_per_1k_items": 0.1, "cost_per_point": 0.0001,
                "latency": {"ttft_ms": med, "tpot_ms": med, "itl_ms": med},
                "throughput": {"per_request_output_tokens_per_s": {"median": 42.6}}}

    console = Console(record=True, width=250)
    console.print(efficiency_table([row("told", 0), row("guessed", 3)]))
    lines = console.export_text().splitlines()
    (told,) = [x for x in lines if "told" in x]
    (guessed,) = [x for x in lines if "guessed" in x]
    assert "~14.0" in guessed and "~42.6" in guessed, guessed
    assert "~" not in told, told


def test_no_figure_is_marked_estimated() -> None:
    """A model whose answers all came from batch jobs has no throughput: "n/a (batch)", not
    "~n/a (batch)" where its tokens are estimated (a review's)."""
    from shootout.report.view_extra import _est

    assert _est({"estimated_requests": 2}, "n/a (batch)") == "n/a (batch)"
    assert _est({"estimated_requests": 2}, "–") == "–"
    assert _est({"estimated_requests": 2}, "42.6") == "~42.6"
    assert _est({"estimated_requests": 0}, "42.6") == "42.6"
