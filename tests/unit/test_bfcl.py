"""bfcl end to end on the real data: the reference answers pass the checker, a scripted
model's calls are scored per category, and the mode each model ran is recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from shootout.analysis.resampling import item_statistic
from shootout.analysis.results import build_results
from shootout.benchmarks import REGISTRY, Doc, PromptContext
from shootout.benchmarks.bfcl import BFCL, CATEGORIES, PYTHON_NOTE, native_tools
from shootout.config import validate_config
from shootout.data import DataDir
from shootout.errors import ConfigError
from shootout.providers.base import GenerateRequest, GenerateResponse, Sampling, ToolCall
from shootout.runner.retry import RetryPolicy
from shootout.runner.run import Runner
from shootout.scoring.function_calls import Call, check_calls
from shootout.store.sqlite import Store
from shootout.testing import FakeProvider

CHAT = PromptContext("generative", True, Sampling(max_tokens=512), 0)


@pytest.fixture(scope="module")
def docs(data_dir: Path) -> list[Doc]:
    return BFCL(data=DataDir(data_dir)).load()


def _pick(options: list[Any]) -> Any:
    return _unwrap(next(o for o in options if o != ""))


def _unwrap(x: Any) -> Any:  # a dict's accepted values are wrapped in lists, key by key
    if isinstance(x, dict):
        return {k: _pick(v) for k, v in x.items() if any(o != "" for o in v)}
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    return x


def reference_calls(doc: Doc) -> list[Call]:
    """The first accepted value of each parameter the function declares, calls reversed (the
    checker matches parallel calls in any order, greedily as BFCL's does: reversed,
    parallel_178's answer fails there too, `BFCL_FAILS_REVERSED`)."""
    calls = []
    for exp in doc.fields["ground_truth"]:
        (name, params), = exp.items()
        fn = next(f for f in doc.fields["functions"] if f["name"] == name)
        props = fn["parameters"]["properties"]
        calls.append(Call(name, {p: _pick(v) for p, v in params.items()
                                 if p in props and any(o != "" for o in v)}))
    return calls[::-1]


def as_prompted(calls: list[Call]) -> str:
    return "[" + ", ".join(
        f"{c.name}(" + ", ".join(f"{k}={v!r}" for k, v in c.args.items()) + ")"
        for c in calls) + "]"


def test_categories_and_counts(docs: list[Doc]) -> None:
    by = {g: sum(d.group == g for d in docs) for g in {d.group for d in docs}}
    assert by == {"simple": 400, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
                  "irrelevance": 240}


# BFCL's own checker (gorilla 6ea5797) fails this reference answer in reverse order: its first
# expected call (Microsoft or Apple, Jan 1) takes the Apple Jan 1 call that the third needs
BFCL_FAILS_REVERSED = {"parallel_178"}


def test_every_reference_answer_passes_the_checker(docs: list[Doc]) -> None:
    for d in docs:
        if d.group == "irrelevance":
            continue
        f = d.fields
        v = check_calls(f["category"], f["functions"], reference_calls(d), f["ground_truth"])
        assert v.valid is (d.id not in BFCL_FAILS_REVERSED), f"{d.id}: {v.reason}"
        in_order = check_calls(f["category"], f["functions"], reference_calls(d)[::-1],
                               f["ground_truth"])
        assert in_order.valid, f"{d.id}: {in_order.reason}"


def test_reference_answers_score_right_through_the_prompted_format(docs: list[Doc]) -> None:
    bench = BFCL(data=DataDir(None))
    for d in docs[::7]:
        req = bench.request(d, CHAT)
        text = "I can't answer that." if d.group == "irrelevance" else as_prompted(
            reference_calls(d))
        s = bench.score(d, CHAT, GenerateResponse(text=text), req)
        assert s.metrics == {"acc": 1.0, "malformed": 0.0}, f"{d.id}: {s.reason}"


def test_prompted_request_is_bfcl_system_prompt_with_the_docs(docs: list[Doc]) -> None:
    req = BFCL(data=DataDir(None)).request(docs[0], CHAT)
    assert isinstance(req, GenerateRequest) and req.messages and not req.tools
    system, user = req.messages
    assert system.role == "system" and user.role == "user"
    assert "[func_name1(params_name1=params_value1" in system.content
    assert '"name": "calculate_triangle_area"' in system.content
    assert user.content == docs[0].fields["messages"][0].content


def test_native_tools_are_json_schema_with_api_names(docs: list[Doc]) -> None:
    d = next(d for d in docs if d.id == "simple_python_1")  # math.factorial
    req = BFCL(data=DataDir(None), options={"mode": "native"}).request(d, CHAT)
    assert isinstance(req, GenerateRequest)
    assert req.tool_choice == "auto" and len(req.messages or ()) == 1
    (tool,) = req.tools
    assert tool["name"] == "math_factorial"
    assert tool["parameters"]["type"] == "object"
    assert native_tools([{"name": "f", "parameters": {"type": "dict", "properties": {
        "x": {"type": "float"}, "t": {"type": "tuple", "items": {"type": "integer"}}}}}])[0][
        "parameters"]["properties"] == {
            "x": {"type": "number", "format": "float",
                  "description": " This is a float type value."},
            "t": {"type": "array", "items": {"type": "integer"}}}
    # BFCL's float note, in nested objects' properties too, and the docs left as they were
    fn = {"name": "g", "parameters": {"type": "dict", "properties": {
        "o": {"type": "dict", "description": "o", "properties": {
            "r": {"type": "float", "description": "rate."}}},
        "l": {"type": "array", "items": {"type": "dict", "properties": {
            "w": {"type": "float", "description": "w."}}}}}}}
    props = native_tools([fn])[0]["parameters"]["properties"]
    assert props["o"]["properties"]["r"] == {
        "type": "number", "format": "float", "description": "rate. This is a float type value."}
    assert props["o"]["description"] == "o" and "format" not in props["o"]
    assert props["l"]["items"]["properties"]["w"]["description"] == (
        "w. This is a float type value.")
    assert fn["parameters"]["properties"]["o"]["properties"]["r"] == {
        "type": "float", "description": "rate."}


@pytest.mark.parametrize(("calls", "metrics", "kind"), [
    ([ToolCall("math_factorial", '{"number": 5}')], {"acc": 1.0, "malformed": 0.0}, ""),
    ([ToolCall("math_factorial", '{"number": "5"}')], {"acc": 0.0, "malformed": 1.0},
     "wrong_type"),
    ([ToolCall("math_factorial", '{"number": 5')], {"acc": 0.0, "malformed": 1.0},
     "invalid_call"),
    ([ToolCall("factorial", '{"number": 5}')], {"acc": 0.0, "malformed": 1.0},
     "unknown_function"),
    ([], {"acc": 0.0, "malformed": 0.0}, ""),
])
def test_native_calls_scored(docs: list[Doc], calls: list[ToolCall], metrics: dict[str, float],
                             kind: str) -> None:
    bench = BFCL(data=DataDir(None), options={"mode": "native"})
    d = next(d for d in docs if d.id == "simple_python_1")
    req = bench.request(d, CHAT)
    s = bench.score(d, CHAT, GenerateResponse(text="", tool_calls=tuple(calls)), req)
    assert s.metrics == metrics, s.reason
    assert s.detail["malformed_kind"] == kind and s.detail["tool_mode"] == "native"


def test_unreadable_call_on_irrelevance_is_no_call_but_malformed(docs: list[Doc]) -> None:
    bench = BFCL(data=DataDir(None))
    d = next(d for d in docs if d.group == "irrelevance")
    name = d.fields["functions"][0]["name"]
    req = bench.request(d, CHAT)
    for text in (f"[{name}(x=]", f"Let me call it: [{name}(x=1)]", f"```python\n{name}(x=1)\n```"):
        s = bench.score(d, CHAT, GenerateResponse(text=text), req)
        assert s.metrics == {"acc": 1.0, "malformed": 1.0}, text
    # a call BFCL decodes is a call, its positional arguments unread
    for text in (f"[{name}()]", f"[{name}(1, 2)]", f"`{name}(x=1)`"):
        s = bench.score(d, CHAT, GenerateResponse(text=text), req)
        assert s.metrics["acc"] == 0.0, text
    s = bench.score(d, CHAT, GenerateResponse(text="No function fits: I cannot help."), req)
    assert s.metrics == {"acc": 1.0, "malformed": 0.0}


def test_a_call_in_prose_or_a_python_fence_is_wrong_as_in_bfcl(docs: list[Doc]) -> None:
    """BFCL reads only the answer itself as the calls (its backticks, newlines and spaces
    stripped): a right call inside prose or a ```python fence does not decode, and is wrong."""
    bench = BFCL(data=DataDir(None))
    d = next(d for d in docs if d.id == "simple_python_1")  # math.factorial(number=5)
    req = bench.request(d, CHAT)
    right = "[math.factorial(number=5)]"
    assert bench.score(d, CHAT, GenerateResponse(text=right), req).metrics["acc"] == 1.0
    assert bench.score(d, CHAT, GenerateResponse(text=f"```\n{right}\n```"), req
                       ).metrics["acc"] == 1.0
    for text in (f"```python\n{right}\n```", f"Sure! {right}", f"{right}\nThat is all."):
        s = bench.score(d, CHAT, GenerateResponse(text=text), req)
        assert s.metrics == {"acc": 0.0, "malformed": 1.0}, text
        assert s.extraction_failed


def test_system_prompt_is_bfcls_default_format(docs: list[Doc]) -> None:
    """The system prompt as BFCL's `formulate_system_prompt` writes it for its default format
    (persona and task joined without a space, two spaces where the empty type note is), with
    the docs as `json.dumps(functions, indent=4)`, each description with the Python note."""
    d = next(d for d in docs if d.id == "simple_python_1")
    req = BFCL(data=DataDir(None)).request(d, CHAT)
    assert isinstance(req, GenerateRequest) and req.messages
    system = req.messages[0].content
    assert system.startswith("You are an expert in composing functions.You are given a "
                             "question and a set of possible functions.")
    assert "func_name2(params)].  You SHOULD NOT include any other text" in system
    fns = [{**f, "description": f["description"] + PYTHON_NOTE} for f in d.fields["functions"]]
    assert system.endswith("\n\nHere is a list of functions in json format that you can "
                           "invoke.\n" + json.dumps(fns, indent=4) + "\n")


def test_mode_option_is_checked() -> None:
    with pytest.raises(ConfigError, match="bfcl: option mode"):
        BFCL(data=DataDir(None), options={"mode": "xml"})


def test_native_mode_refused_for_a_provider_without_tools(docs: list[Doc]) -> None:
    bench = BFCL(data=DataDir(None), options={"mode": "native"})
    with pytest.raises(ConfigError, match=r"-o bfcl\.mode=prompted"):
        asyncio.run(bench.bind(FakeProvider(), docs[:1], CHAT))


def test_runner_scores_per_category_and_records_the_mode(docs: list[Doc], data_dir: Path,
                                                         tmp_path: Path) -> None:
    """A scripted model answers every item with its reference calls, except the first
    parallel item, where it gives one call too few."""
    bench = BFCL(data=DataDir(None))
    by_request = {bench.request(d, CHAT).messages: d for d in docs}  # a question may repeat
    short = next(d for d in docs if d.group == "parallel")

    budgets: set[int] = set()

    def answer(req: GenerateRequest) -> str:
        budgets.add(req.sampling.max_tokens)
        d = by_request[req.messages]
        if d.group == "irrelevance":
            return "None of these functions fits."
        calls = reference_calls(d)
        return as_prompted(calls[1:] if d.id == short.id else calls)

    config = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                              "benchmarks": ["bfcl"]}, "test")
    store = Store(tmp_path / "r.sqlite")
    runner = Runner(config, store, data_dir=str(data_dir))
    run_id = asyncio.run(runner.run({"fake": FakeProvider(answer=answer)}))
    samples = list(store.samples(run_id))
    assert len(samples) == 1240
    wrong = [s.item_id for s in samples if s.metrics["acc"] != 1.0]
    assert wrong == sorted([short.id, *BFCL_FAILS_REVERSED])
    assert all(s.detail["tool_mode"] == "prompted" for s in samples)
    # the scoring mode the results read (extraction failures, truncation) is left as it was
    assert all(s.detail["mode"] == "generative" for s in samples)
    manifest = (store.get_run(run_id) or {})["manifest"]
    binding = manifest["benchmarks"]["bfcl"]["per_model"]["fake"]["model_binding"]
    assert binding == {"mode": "prompted"}
    analysis = REGISTRY["bfcl"].analyze([s for s in samples])
    assert analysis == {"mode": "prompted", "errors": {"wrong_count": 1, "no_match": 1},
                        "malformed": {}}
    assert json.dumps(analysis)
    assert budgets == {4096}  # a chat model's budget, BFCL's for the models it runs locally
    # the headline is BFCL's AST summary: the mean of the four AST categories' accuracies,
    # irrelevance reported apart; the accuracy over every item is beside it
    res = build_results(store, [run_id]).runs[0]
    rows = {r.metric: r for r in res.scores}
    cats = {c: [s.metrics["acc"] for s in samples if s.group == c] for c in CATEGORIES}
    ast = [sum(v) / len(v) for c, v in cats.items() if c != "irrelevance"]
    assert rows["acc"].primary and rows["acc"].score == pytest.approx(sum(ast) / 4)
    assert rows["acc"].n == 1000 and rows["acc"].ci_low < rows["acc"].score
    assert rows["irrelevance"].score == 1.0 and rows["irrelevance"].n == 240
    assert rows["acc_item_mean"].score == pytest.approx(1 - len(wrong) / 1240)
    assert rows["malformed"].score == 0.0
    # the paired comparison's statistic gives back the headline (it leaves irrelevance out)
    ok = [s for s in samples if s.status == "ok"]
    st = item_statistic("acc", rows["acc"].extra, ok)
    assert st is not None and st.matches(rows["acc"].score)


def test_reasoning_is_taken_out_before_the_calls_are_read(docs: list[Doc]) -> None:
    """A reasoning model's `<think>` block, left in the answer by its server, is not part of
    the calls (BFCL's reasoning handlers drop what comes before `</think>`): the calls after
    it are scored, and an irrelevance answer that thought about a call is no call."""
    bench = BFCL(data=DataDir(None))
    d = next(d for d in docs if d.id == "simple_python_1")  # math.factorial(number=5)
    req = bench.request(d, CHAT)
    for text in ("<think>\nThe user wants 5!, so math.factorial(number=5).\n</think>\n\n"
                 "[math.factorial(number=5)]",
                 "The factorial function fits.</think>[math.factorial(number=5)]"):
        s = bench.score(d, CHAT, GenerateResponse(text=text), req)
        assert s.metrics == {"acc": 1.0, "malformed": 0.0}, text
    irrelevant = next(d for d in docs if d.group == "irrelevance")
    name = irrelevant.fields["functions"][0]["name"]
    text = f"<think>Maybe [{name}(x=1)]? No: it does not fit.</think>None of them fits."
    s = bench.score(irrelevant, CHAT, GenerateResponse(text=text),
                    bench.request(irrelevant, CHAT))
    assert s.metrics == {"acc": 1.0, "malformed": 0.0}


def test_dry_run_cost_counts_the_native_tools(docs: list[Doc]) -> None:
    native = BFCL(data=DataDir(None), options={"mode": "native"})
    base = super(BFCL, native).cost(docs[:5], CHAT)["prompt_tokens"]
    assert native.cost(docs[:5], CHAT)["prompt_tokens"] > base


def test_failed_items_are_counted_in_the_rows_they_belong_to(docs: list[Doc], data_dir: Path,
                                                              tmp_path: Path) -> None:
    """The AST summary covers the AST items, the irrelevance row the irrelevance items: each
    row's items attempted and failed are its own (a review found the whole cell's on every
    row: "126 of 1240 items failed" beside a summary over 1,000)."""
    from shootout.errors import ProviderError

    bench = BFCL(data=DataDir(None))
    by_request = {bench.request(d, CHAT).messages: d for d in docs}

    def fail(_i: int, req: Any) -> BaseException | None:
        d = by_request[req.messages]
        # the first two items of irrelevance and of simple fail; nothing else
        n = int(d.id.rsplit("_", 1)[1])
        return ProviderError("down") if d.group in ("irrelevance", "simple") and n < 2 else None

    config = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                              "benchmarks": ["bfcl"]}, "test")
    store = Store(tmp_path / "r.sqlite")
    runner = Runner(config, store, data_dir=str(data_dir),
                    policy=RetryPolicy(max_attempts=1, base_delay=0.0))
    run_id = asyncio.run(runner.run({"fake": FakeProvider(answer="[]", fail=fail)}))
    rows = {r.metric: r for r in build_results(store, [run_id]).runs[0].scores}
    assert (rows["acc"].n_attempted, rows["acc"].n_failed, rows["acc"].n) == (1000, 2, 998)
    assert (rows["irrelevance"].n_attempted, rows["irrelevance"].n_failed) == (240, 2)
    assert (rows["acc_item_mean"].n_attempted, rows["acc_item_mean"].n_failed) == (1240, 4)
    # with them counted wrong, the summary is still over the AST items' categories
    assert rows["acc"].score_failed_as_wrong == pytest.approx(rows["acc"].score)  # all wrong


def test_without_an_ast_item_the_headline_is_the_item_mean() -> None:
    """A run whose items drawn are all irrelevance ones (a small --limit) has no AST
    summary: its headline is the accuracy over its items, not the irrelevance row."""
    from shootout.analysis.results import score_groups
    from shootout.store import SampleRow

    rows = [SampleRow("m", "bfcl", f"irrelevance_{i}", 0, "irrelevance", "ok",
                      {"acc": 1.0, "malformed": 0.0}, "[]", "right", False, None, None)
            for i in range(3)]
    scores, _ = score_groups({("m", "bfcl"): rows})
    assert [s.metric for s in scores if s.primary] == ["acc_item_mean"]


def test_the_report_says_the_headline_is_a_mean_of_group_means(data_dir: Path,
                                                               tmp_path: Path) -> None:
    """The results section said every score is a mean over items, and named the interval of
    a mean of group means by its internal key ("wilson_stratified") (a review)."""
    from shootout.report.build import build_report
    from shootout.report.markdown import render_markdown

    config = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                              "benchmarks": ["bfcl"], "limit": 40}, "test")
    store = Store(tmp_path / "r.sqlite")
    run_id = asyncio.run(Runner(config, store, data_dir=str(data_dir)).run(
        {"fake": FakeProvider(answer="[]")}))
    md = render_markdown(build_report(store, [run_id]), charts=False)
    assert "Scores are means over items (for bfcl: the mean of the groups' means" in md
    assert "the Wilson interval at the effective sample size of a mean of group means" in md
    assert "wilson_stratified" not in md
    # the function-calling section's AST summary is the headline's figure
    head = next(r for r in build_results(store, [run_id]).runs[0].scores if r.primary)
    row = next(ln for ln in md.splitlines() if ln.startswith("| fake | prompted |"))
    assert row.split(" | ")[2].startswith(f"{100 * head.score:.1f} [")


def test_the_section_says_which_categories_its_summary_averages(data_dir: Path,
                                                                tmp_path: Path) -> None:
    """With a --limit that drew no item of a category, the note still said "the mean of the
    simple, multiple, parallel and parallel_multiple accuracies" (an audit's)."""
    from shootout.report.build import build_report
    from shootout.report.function_calling import function_calling

    config = validate_config({"models": [{"spec": "openai:fake", "name": "fake"}],
                              "benchmarks": ["bfcl"], "limit": 3}, "test")
    store = Store(tmp_path / "r.sqlite")
    run_id = asyncio.run(Runner(config, store, data_dir=str(data_dir)).run(
        {"fake": FakeProvider(answer="[]")}))
    report = build_report(store, [run_id])
    groups = {r.group for r in report.data.samples[("fake", "bfcl")]}
    asked = [c for c in ("simple", "multiple", "parallel", "parallel_multiple") if c in groups]
    assert len(asked) < 4, groups  # (a seeded draw of 3 items)
    content = function_calling(report)
    assert content is not None
    assert f"the categories with items here ({', '.join(asked)};" in content.paragraphs[0]


def test_a_failed_request_counted_wrong_is_a_malformed_call() -> None:
    """`malformed` is lower-better: a failed request stood in as 0 (not malformed), so the
    figure with failed counted wrong (which should never flatter a model that fails) fell
    from 0.5 to 0.4 (an audit's). It stands in as 1: 0.6; a mean metric does the same."""
    from shootout.analysis.results import _mean_scores, score_groups
    from shootout.store.rows import SampleRow

    rows = []
    for i in range(10):
        m = {"acc": 0.0, "malformed": 1.0} if i < 4 else {"acc": 1.0, "malformed": 0.0}
        rows.append(SampleRow("M", "bfcl", f"simple/{i}", 0, "simple",
                              "ok" if i < 8 else "error", m if i < 8 else {}, None, "", False,
                              None if i < 8 else "boom", None, {}))
    scores = {s.metric: s for s in score_groups({("M", "bfcl"): tuple(rows)})[0]}
    assert scores["malformed"].score == 0.5
    assert scores["malformed"].score_failed_as_wrong == pytest.approx(0.6)
    assert scores["acc"].score_failed_as_wrong == pytest.approx(0.4)
    means = {s.metric: s for s in _mean_scores(
        rows[:8], rows[8:], "acc", {"model": "M", "benchmark": "bfcl"},
        failed_values=BFCL.failed_values)}
    assert means["malformed"].score_failed_as_wrong == pytest.approx(0.6)
    assert means["acc"].score_failed_as_wrong == pytest.approx(0.4)
