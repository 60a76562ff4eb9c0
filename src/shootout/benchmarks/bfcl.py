"""BFCL (Berkeley Function Calling Leaderboard) AST categories: does the model call the right
function with the right arguments, and call none when none fits?

Five categories (simple 400, multiple 200, parallel 200, parallel_multiple 200, irrelevance
240), each item a user question with the docs of one or more functions. Two modes
(`-o bfcl.mode=`):

- `prompted` (default, any chat model): BFCL's default system prompt for prompting models
  with the function docs in JSON (`formulate_system_prompt`, format "ret_fmt=python&...&
  style=classic", the docs as `json.dumps(indent=4)`); the model answers
  `[func(a=1), other(b="x")]`, decoded as BFCL's `default_decode_ast_prompting` decodes it
  (`scoring.function_calls.decode_prompted`): a call inside prose or a ```python fence does
  not decode, and is wrong, as on the leaderboard; the few expressions decoded otherwise
  (BFCL `eval`s them) are listed in `scoring.function_calls`.
- `native`: the docs go as the API's `tools` (`tool_choice: auto`) and the calls come back as
  `tool_calls`; names with "." are sent with "_" (OpenAI's name pattern has no "."), as BFCL
  does, and the docs' types are mapped to JSON Schema (dict→object, float→number,
  tuple→array, any→string), each float parameter with BFCL's `"format": "float"` and note.
  Needs a provider whose capabilities say `tools`.

Scoring is the AST checker of `shootout.scoring.function_calls`, on the answer with any
`<think>…</think>` reasoning taken out (as BFCL's handlers for reasoning models drop what comes
before `</think>`); `acc` per item, broken down by category (the breakdown carries each
category's CI). The headline `acc` is BFCL's non-live AST summary (`eval_runner_helper.py`):
the unweighted mean of the simple, multiple, parallel and parallel_multiple accuracies, with
the stratified SE of a mean of group means (`analysis.stratified`); BFCL's simple is itself
the mean of its Python, Java and JavaScript parts, of which these files have Python's only.
Irrelevance is not in it: BFCL reports it apart (hallucination measurement), and so does
`irrelevance` here, its accuracy over the 240 items. `acc_item_mean` is the accuracy over
every item run, irrelevance included (shootout's headline before version 4). `malformed` is
the share of answers whose calls are malformed: unreadable (a call that does not parse,
arguments that are not a JSON object), a function that was not offered, or a value of the
wrong type. As in BFCL, an
unreadable call on an irrelevance item counts as no call (right), and malformed. The mode each
model ran is in the manifest (`model_binding.mode`), each sample's `tool_mode` and `analyze`.

Output budget: 4,096 tokens for a chat model (BFCL's for the models it runs locally; its API
handlers set none), 512 for a base model's completion (a prompt of shootout's own, cut at the
next "Question:"); the longest reference answer is about 640 characters.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, Literal, TypedDict

from pydantic import Field

from ..analysis.stats import Summary, summarize
from ..analysis.stratified import stratified_summary
from ..data.files import expect_count, read_jsonl
from ..errors import ConfigError, DataError
from ..providers.base import GenerateRequest, GenerateResponse, Message, Provider
from ..scoring.function_calls import (
    Decoded,
    check_calls,
    decode_native,
    decode_prompted,
    malformed,
)
from ..scoring.text import estimate_tokens, strip_reasoning
from ..store.rows import item_scores
from .base import (
    Benchmark,
    BenchmarkOptions,
    Doc,
    ItemScore,
    Mode,
    PromptContext,
    Request,
    Response,
    Score,
)

# category → (file stem, items)
CATEGORIES: dict[str, tuple[str, int]] = {
    "simple": ("simple_python", 400),
    "multiple": ("multiple", 200),
    "parallel": ("parallel", 200),
    "parallel_multiple": ("parallel_multiple", 200),
    "irrelevance": ("irrelevance", 240),
}

# BFCL's default system prompt for prompting models, as `formulate_system_prompt` builds it
# (bfcl_eval/model_handler/utils.py, bfcl_eval/constants/default_prompts.py) for its
# DEFAULT_SYSTEM_PROMPT_FORMAT "ret_fmt=python&tool_call_tag=False&func_doc_fmt=json&
# prompt_fmt=plaintext&style=classic": "{persona}{task}\n\n{tool_call_format}\n\n
# {multiturn_behavior}\n\n{available_tools}" with the classic style's parts (the persona and the
# task joined without a space, and the empty parameter-type note leaving two spaces, as there)
_PERSONA = "You are an expert in composing functions."
_TASK = (
    "You are given a question and a set of possible functions. Based on the question, you "
    "will need to make one or more function/tool calls to achieve the purpose. If none of the "
    "functions can be used, point it out. If the given question lacks the parameters required "
    "by the function, also point it out.")
_CALL_FORMAT = (
    "You should only return the function calls in your response.\n\nIf you decide to invoke "
    "any of the function(s), you MUST put it in the format of [func_name1(params_name1="
    "params_value1, params_name2=params_value2...), func_name2(params)].  You SHOULD NOT "
    "include any other text in the response.")
_MULTITURN = (
    "At each turn, you should try your best to complete the tasks requested by the user "
    "within the current turn. Continue to output functions to call until you have fulfilled "
    "the user's request to the best of your ability. Once you have no more functions to call, "
    "the system will consider the current turn complete and proceed to the next turn or task.")
SYSTEM_PROMPT = (
    _PERSONA + _TASK + "\n\n" + _CALL_FORMAT + "\n\n" + _MULTITURN + "\n\n"
    + "Here is a list of functions in json format that you can invoke.\n{functions}\n")
# BFCL appends this to each Python function's description
PYTHON_NOTE = " Note that the provided function is in Python 3 syntax."
# and BFCL appends this to a float parameter's description in the native tools
FLOAT_NOTE = " This is a float type value."

IRRELEVANCE = "irrelevance"  # the category BFCL reports apart from its AST summary
AST_CATEGORIES = tuple(c for c in CATEGORIES if c != IRRELEVANCE)
BASE_STOP = ("\nQuestion:", "<end_of_turn>", "<|im_end|>", "</s>")

# BFCL's types to JSON Schema's, for native tools (BFCL's GORILLA_TO_OPENAPI, Python part)
JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": "string"}


class BFCLItem(TypedDict):
    category: str
    messages: list[Message]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, dict[str, list[Any]]]]


class BFCLOptions(BenchmarkOptions):
    mode: Literal["prompted", "native"] = Field(
        "prompted", description="prompted (docs in the prompt) or native (the API's tools)")


def ast_summary(rows: Sequence[Any], confidence: float = 0.95) -> Summary | None:
    """BFCL's AST summary of answered samples: the mean of the AST categories' accuracies
    (irrelevance apart), with its stratified SE and interval; None without an AST item."""
    ast = [r for r in rows if r.group in AST_CATEGORIES]
    per_item = item_scores(ast, "acc")
    if not per_item:
        return None
    return stratified_summary(per_item, {r.item_id: r.group for r in ast},
                              confidence=confidence)


def _messages(turn: list[dict[str, Any]], where: str) -> list[Message]:
    out = []
    for m in turn:
        role = m.get("role")
        if role not in ("system", "user", "assistant"):
            raise DataError(f"{where}: unknown role {role!r}")
        out.append(Message(role, str(m.get("content", ""))))
    return out


def _with_note(fn: dict[str, Any]) -> dict[str, Any]:
    return {**fn, "description": str(fn.get("description", "")) + PYTHON_NOTE}


def _json_schema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _json_schema(v) for k, v in node.items()}
        if isinstance(out.get("type"), str):
            out["type"] = JSON_TYPES.get(out["type"], out["type"])
        return out
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    return node


def api_name(name: str) -> str:
    """A function name as OpenAI's pattern allows it (^[a-zA-Z0-9_-]{1,64}$)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64]


def _float_notes(props: Any) -> Any:
    """Parameters' docs with BFCL's note on each float (`_cast_to_openai_type`: "format":
    "float" and " This is a float type value." added to its description), in nested objects'
    properties too; a float's type becomes JSON Schema's "number", which says no more."""
    if not isinstance(props, dict):
        return props
    out = {}
    for key, value in props.items():
        if isinstance(value, dict):
            value = dict(value)
            if value.get("type") == "float":
                value["format"] = "float"
                value["description"] = str(value.get("description", "")) + FLOAT_NOTE
            if "properties" in value:
                value["properties"] = _float_notes(value["properties"])
            elif isinstance(value.get("items"), dict) and "properties" in value["items"]:
                value["items"] = {**value["items"],
                                  "properties": _float_notes(value["items"]["properties"])}
        out[key] = value
    return out


def native_tools(functions: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    tools = []
    for f in functions:
        params = dict(f.get("parameters", {}))
        if "properties" in params:
            params["properties"] = _float_notes(params["properties"])
        tools.append({"name": api_name(f["name"]),
                      "description": str(f.get("description", "")) + PYTHON_NOTE,
                      "parameters": _json_schema(params)})
    return tuple(tools)


class BFCL(Benchmark):
    name: ClassVar[str] = "bfcl"
    # 2: BFCL's own decoding, its current system prompt; 3: its checker ported (no int->float
    # inside arrays, tuples kept, "" for an optional parameter, greedy parallel pairing);
    # 4: reasoning taken out before decoding, BFCL's AST summary as the headline, 4,096
    # tokens for a chat model; 5: native calls decoded as BFCL's decoder reads them (blank
    # arguments are no call; a name not sent, such as the dotted one, is not the tool's), a
    # prose mention of a function's signature no malformed call
    version: ClassVar[str] = "5"
    max_fewshot: ClassVar[int | None] = 0  # zero-shot: no solved examples
    domain: ClassVar[str] = "tools"
    description: ClassVar[str] = ("BFCL AST categories (1,240 function-calling items: simple, "
                                  "multiple, parallel, parallel_multiple, irrelevance)")
    citation: ClassVar[str] = (
        "Patil et al. 2025, The Berkeley Function Calling Leaderboard (BFCL): From Tool Use to "
        "Agentic Evaluation of Large Language Models")
    metrics: ClassVar[tuple[str, ...]] = ("acc", "malformed")
    primary_metric: ClassVar[str] = "acc"
    # a failed request counted wrong is a malformed call too (lower is better: 0 flattered it)
    failed_values: ClassVar[Mapping[str, float]] = {"malformed": 1.0}
    # no AST item answered (a small --limit): the accuracy over the items there are, not
    # the irrelevance row
    headline_fallback: ClassVar[tuple[str, ...] | None] = ("acc_item_mean",)
    modes: ClassVar[tuple[Mode, ...]] = ("generative",)
    default_max_tokens: ClassVar[int] = 512
    chat_max_tokens: ClassVar[int | None] = 4096
    Options: ClassVar[type[BenchmarkOptions]] = BFCLOptions

    def load(self) -> list[Doc[BFCLItem]]:
        docs: list[Doc[BFCLItem]] = []
        for category, (stem, count) in CATEGORIES.items():
            answers: dict[str, list[Any]] = {}
            if category != "irrelevance":
                apath = self.data.path(f"bfcl/possible_answer/BFCL_v4_{stem}.json")
                answers = {}
                for line, r in read_jsonl(apath):
                    try:
                        answers[str(r["id"])] = r["ground_truth"]
                    except KeyError as e:
                        raise DataError(f"{apath}:{line}: missing field {e}") from e
            path = self.data.path(f"bfcl/BFCL_v4_{stem}.json")
            n = 0
            for line, r in read_jsonl(path):
                try:
                    item_id, turns, functions = str(r["id"]), r["question"], r["function"]
                except KeyError as e:
                    raise DataError(f"{path}:{line}: missing field {e}") from e
                if category != "irrelevance" and item_id not in answers:
                    raise DataError(f"{path}:{line}: no possible answer for {item_id}")
                if not (isinstance(turns, list) and turns and isinstance(turns[0], list)
                        and all(isinstance(m, dict) for m in turns[0])
                        and isinstance(functions, list)
                        and all(isinstance(fn, dict) for fn in functions)):
                    raise DataError(f"{path}:{line}: 'question' must be a list of turns of "
                                    "messages and 'function' a list of objects")
                docs.append(Doc(item_id, BFCLItem(
                    category=category, messages=_messages(turns[0], f"{path}:{line}"),
                    functions=list(functions),
                    ground_truth=answers.get(item_id, [])), group=category))
                n += 1
            expect_count(path, n, count)
        return docs

    async def bind(self, provider: Provider, docs: Sequence[Doc], ctx: PromptContext, *,
                   send: bool = True) -> list[Doc]:
        if self.opts.mode == "native" and not provider.capabilities.tools:
            raise ConfigError(f"bfcl: {provider.model_id} takes no native tools here; "
                              "run it with -o bfcl.mode=prompted")
        return list(docs)

    def binding_info(self) -> dict[str, Any]:
        return {"mode": self.opts.mode}

    def request(self, doc: Doc[BFCLItem], ctx: PromptContext) -> Request:
        f = doc.fields
        turns = tuple(f["messages"])
        if self.opts.mode == "native":
            return GenerateRequest(messages=turns, sampling=ctx.sampling,
                                   tools=native_tools(f["functions"]), tool_choice="auto")
        # the docs as BFCL's `format_function_doc` writes them: json.dumps with indent 4
        docs = json.dumps([_with_note(fn) for fn in f["functions"]], indent=4)
        system = SYSTEM_PROMPT.format(functions=docs)
        if ctx.chat:
            return GenerateRequest(messages=(Message("system", system), *turns),
                                   sampling=ctx.sampling)
        # a base model: the docs, the question, and a stop before it writes the next question
        question = "\n".join(m.content for m in turns)
        sampling = replace(ctx.sampling, stop=ctx.sampling.stop or BASE_STOP)
        return GenerateRequest(prompt=f"{system}\nQuestion: {question}\nAnswer: ",
                               sampling=sampling)

    def cost(self, docs: Sequence[Doc], ctx: PromptContext) -> dict[str, Any]:
        """The base estimate, plus the tools' JSON in native mode (sent as prompt tokens)."""
        out = super().cost(docs, ctx)
        if self.opts.mode == "native":
            out["prompt_tokens"] += sum(
                estimate_tokens(json.dumps(native_tools(d.fields["functions"]))) for d in docs)
        return out

    def decode(self, doc: Doc[BFCLItem], response: GenerateResponse) -> Decoded:
        names = [str(fn["name"]) for fn in doc.fields["functions"]]
        if self.opts.mode == "native":
            back = {api_name(n): n for n in names}
            return decode_native([(c.name, c.arguments) for c in response.tool_calls], back)
        return decode_prompted(strip_reasoning(response.text), names)

    def score(self, doc: Doc[BFCLItem], ctx: PromptContext, response: Response,
              request: Request) -> ItemScore:
        assert isinstance(response, GenerateResponse)
        f = doc.fields
        decoded = self.decode(doc, response)
        bad = "invalid_call" if decoded.error else malformed(f["functions"], decoded.calls,
                                                                   f["ground_truth"])
        verdict = check_calls(f["category"], f["functions"], decoded.calls, f["ground_truth"])
        # an unreadable attempt is no call: right on irrelevance, as BFCL counts it
        correct = verdict.valid and (not decoded.error or f["category"] == "irrelevance")
        calls = [{"name": c.name, "args": dict(c.args)} for c in decoded.calls]
        reason = decoded.error or verdict.reason or ("right" if correct else "")
        return ItemScore(
            metrics={"acc": float(correct), "malformed": float(bool(bad))},
            extracted=json.dumps(calls, ensure_ascii=False, default=str),
            reason=reason,
            extraction_failed=bool(decoded.error),
            detail={"tool_mode": self.opts.mode, "error_kind": verdict.kind or "",
                    "malformed_kind": bad},
        )

    @classmethod
    def aggregate(cls, rows: Sequence[Any]) -> tuple[list[Score], dict[str, Any]] | None:
        """`acc`: BFCL's AST summary, the mean of the AST categories' accuracies (module doc);
        `irrelevance`, `acc_item_mean` and `malformed`: means over their items."""
        if not rows:
            return None
        out = []
        if (sm := ast_summary(rows)) is not None:
            out.append(Score("acc", sm.mean, sm.se, sm.n, sm.ci_low, sm.ci_high, {
                "ci_method": sm.ci_method, "within_item_var": sm.within_item_var,
                "average": "subject", "groups": list(AST_CATEGORIES),
                "n_subjects": len({r.group for r in rows if r.group in AST_CATEGORIES})}))
        for name, metric, groups in (("irrelevance", "acc", [IRRELEVANCE]),
                                     ("acc_item_mean", "acc", None),
                                     ("malformed", "malformed", None)):
            subset = [r for r in rows if r.group in groups] if groups else rows
            scores = item_scores(subset, metric)
            if scores:
                sm = summarize(list(scores.values()))
                extra = {"ci_method": sm.ci_method, "within_item_var": sm.within_item_var}
                out.append(Score(name, sm.mean, sm.se, sm.n, sm.ci_low, sm.ci_high,
                                 {**extra, "groups": groups} if groups else extra))
        return out, {}

    @classmethod
    def analyze(cls, rows: Sequence[Any]) -> dict[str, Any] | None:
        """The mode the model ran in, and its errors and malformed calls by kind."""
        if not rows:
            return None
        modes = sorted({str(r.detail.get("tool_mode", "")) for r in rows})
        errors = Counter(str(r.detail.get("error_kind", "")) for r in rows)
        bad = Counter(str(r.detail.get("malformed_kind", "")) for r in rows)
        return {"mode": ", ".join(modes),
                "errors": {k: v for k, v in sorted(errors.items()) if k},
                "malformed": {k: v for k, v in sorted(bad.items()) if k}}
