"""BFCL's AST checker on hand-made cases, and the decoders of prompted and native calls."""

from __future__ import annotations

from typing import Any

import pytest

from shootout.scoring.function_calls import (
    Call,
    check_calls,
    decode_native,
    decode_prompted,
    malformed,
)

AREA = {"name": "calc.area", "parameters": {"type": "dict", "required": ["base", "height"],
        "properties": {"base": {"type": "integer"}, "height": {"type": "float"},
                       "unit": {"type": "string"}}}}
AREA_GT = [{"calc.area": {"base": [10], "height": [5.0], "unit": ["units", ""]}}]

PLAY = {"name": "spotify.play", "parameters": {"type": "dict", "required": ["artist", "duration"],
        "properties": {"artist": {"type": "string"}, "duration": {"type": "integer"}}}}
PLAY_GT = [{"spotify.play": {"artist": ["Taylor Swift"], "duration": [20]}},
           {"spotify.play": {"artist": ["Maroon 5"], "duration": [15]}}]

SUM = {"name": "sum_of", "parameters": {"type": "dict", "required": ["numbers"],
       "properties": {"numbers": {"type": "array", "items": {"type": "float"}},
                      "exact": {"type": "boolean"}, "pairs": {"type": "tuple",
                                                              "items": {"type": "integer"}}}}}
SUM_GT = [{"sum_of": {"numbers": [[1.5, 2.0]], "exact": [True, ""], "pairs": ["", [1, 2]]}}]

WEATHER = {"name": "weather", "parameters": {"type": "dict", "required": ["where"],
           "properties": {"where": {"type": "dict", "properties": {
               "city": {"type": "string"}, "country": {"type": "string"}}},
               "when": {"type": "string"}, "opts": {"type": "array", "items": {"type": "dict"}},
               "anything": {"type": "any"}}}}
WEATHER_GT = [{"weather": {
    "where": [{"city": ["Paris"], "country": ["France", ""]}],
    "when": ["April 1, 2024", ""],
    "opts": [[{"k": ["a"]}, {"k": ["b"]}], ""],
    "anything": ["x", ""]}}]

PRIMES = {"name": "primes", "parameters": {"type": "dict", "required": ["count"],
          "properties": {"count": {"type": "integer"}}}}
MULTS = {"name": "multiples", "parameters": {"type": "dict", "required": ["upper"],
         "properties": {"upper": {"type": "integer"}, "of": {"type": "array",
                                                              "items": {"type": "integer"}}}}}
PM_GT = [{"multiples": {"upper": [1000], "of": [[3, 5]]}}, {"primes": {"count": [5]}}]

VAR = {"name": "f", "parameters": {"type": "dict", "required": ["x"],
       "properties": {"x": {"type": "integer"}}}}
VAR_GT = [{"f": {"x": ["n"]}}]  # the accepted value is a variable name, given as a string


def c(name: str, **args: Any) -> Call:
    return Call(name, args)


# (label, category, functions, calls, ground truth, expected kind; "" = valid)
CASES: list[tuple[str, str, list[Any], list[Call], list[Any], str]] = [
    ("right", "simple", [AREA], [c("calc.area", base=10, height=5.0)], AREA_GT, ""),
    ("right with optional", "simple", [AREA], [c("calc.area", base=10, height=5.0,
                                                 unit="units")], AREA_GT, ""),
    ("int as float", "simple", [AREA], [c("calc.area", base=10, height=5)], AREA_GT, ""),
    ("float as int", "simple", [AREA], [c("calc.area", base=10.0, height=5.0)], AREA_GT, "type"),
    ("string as int", "simple", [AREA], [c("calc.area", base="10", height=5.0)], AREA_GT, "type"),
    ("bool as int", "simple", [AREA], [c("calc.area", base=True, height=5.0)], AREA_GT, "type"),
    ("wrong value", "simple", [AREA], [c("calc.area", base=11, height=5.0)], AREA_GT, "value"),
    ("wrong float value", "simple", [AREA], [c("calc.area", base=10, height=5.5)], AREA_GT,
     "value"),
    ("missing required", "simple", [AREA], [c("calc.area", base=10)], AREA_GT,
     "missing_required"),
    ("missing both required", "simple", [AREA], [c("calc.area")], AREA_GT, "missing_required"),
    ("unexpected param", "simple", [AREA], [c("calc.area", base=10, height=5.0, color="red")],
     AREA_GT, "unexpected_param"),
    ("wrong name", "simple", [AREA], [c("calc.volume", base=10, height=5.0)], AREA_GT,
     "wrong_name"),
    ("dot vs underscore name", "simple", [AREA], [c("calc_area", base=10, height=5.0)],
     AREA_GT, "wrong_name"),
    ("no call", "simple", [AREA], [], AREA_GT, "wrong_count"),
    ("extra call", "simple", [AREA], [c("calc.area", base=10, height=5.0)] * 2, AREA_GT,
     "wrong_count"),
    ("string normalised", "simple", [AREA], [c("calc.area", base=10, height=5.0,
                                               unit="Units")], AREA_GT, ""),
    ("string wrong", "simple", [AREA], [c("calc.area", base=10, height=5.0, unit="cm")],
     AREA_GT, "value"),
    ("string as number", "simple", [AREA], [c("calc.area", base=10, height=5.0, unit=3)],
     AREA_GT, "type"),
    ("array right", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0])], SUM_GT, ""),
    # BFCL's int->float conversion is for a float parameter, not an array's items
    ("array ints as floats", "simple", [SUM], [c("sum_of", numbers=[1.5, 2])], SUM_GT, "type"),
    ("array as a tuple", "simple", [SUM], [c("sum_of", numbers=(1.5, 2.0))], SUM_GT, "type"),
    ("tuple as a tuple", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], pairs=(1, 2))],
     SUM_GT, ""),
    ("optional array empty", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], pairs=[])],
     SUM_GT, ""),  # "" accepted: BFCL's list_checker reads it as []
    ("optional string empty", "simple", [AREA], [c("calc.area", base=10, height=5.0,
                                                   unit="")], AREA_GT, ""),
    ("array wrong order", "simple", [SUM], [c("sum_of", numbers=[2.0, 1.5])], SUM_GT, "value"),
    ("array too long", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0, 3.0])], SUM_GT,
     "value"),
    ("array of strings", "simple", [SUM], [c("sum_of", numbers=["1.5", "2.0"])], SUM_GT,
     "type"),
    ("array as scalar", "simple", [SUM], [c("sum_of", numbers=1.5)], SUM_GT, "type"),
    ("boolean right", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], exact=True)], SUM_GT,
     ""),
    ("boolean wrong", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], exact=False)], SUM_GT,
     "value"),
    ("boolean as string", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], exact="true")],
     SUM_GT, "type"),
    ("boolean as int", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], exact=1)], SUM_GT,
     "type"),
    ("tuple as list", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], pairs=[1, 2])], SUM_GT,
     ""),
    ("tuple wrong", "simple", [SUM], [c("sum_of", numbers=[1.5, 2.0], pairs=[2, 1])], SUM_GT,
     "value"),
    ("dict right", "simple", [WEATHER], [c("weather", where={"city": "Paris"})], WEATHER_GT, ""),
    ("dict optional key", "simple", [WEATHER], [c("weather", where={"city": "paris",
                                                                   "country": "France"})],
     WEATHER_GT, ""),
    ("dict wrong value", "simple", [WEATHER], [c("weather", where={"city": "Lyon"})],
     WEATHER_GT, "value"),
    ("dict extra key", "simple", [WEATHER], [c("weather", where={"city": "Paris", "zip": "1"})],
     WEATHER_GT, "value"),
    ("dict missing key", "simple", [WEATHER], [c("weather", where={"country": "France"})],
     WEATHER_GT, "value"),
    ("dict as string", "simple", [WEATHER], [c("weather", where="Paris")], WEATHER_GT, "type"),
    ("date punctuation", "simple", [WEATHER], [c("weather", where={"city": "Paris"},
                                                 when="april 1 2024")], WEATHER_GT, ""),
    ("date wrong", "simple", [WEATHER], [c("weather", where={"city": "Paris"},
                                           when="April 2, 2024")], WEATHER_GT, "value"),
    ("list of dicts right", "simple", [WEATHER], [c("weather", where={"city": "Paris"},
                                                    opts=[{"k": "a"}, {"k": "b"}])],
     WEATHER_GT, ""),
    ("list of dicts order", "simple", [WEATHER], [c("weather", where={"city": "Paris"},
                                                    opts=[{"k": "b"}, {"k": "a"}])],
     WEATHER_GT, "value"),
    ("any type", "simple", [WEATHER], [c("weather", where={"city": "Paris"}, anything="x")],
     WEATHER_GT, ""),
    ("variable as string", "simple", [VAR], [c("f", x="n")], VAR_GT, ""),
    ("variable wrong name", "simple", [VAR], [c("f", x="m")], VAR_GT, "value"),
    ("variable compared exactly", "simple", [VAR], [c("f", x="N")], VAR_GT, "value"),
    ("multiple right pick", "multiple", [PRIMES, AREA], [c("calc.area", base=10, height=5.0)],
     AREA_GT, ""),
    ("multiple wrong pick", "multiple", [PRIMES, AREA], [c("primes", count=5)], AREA_GT,
     "wrong_name"),
    ("multiple two calls", "multiple", [PRIMES, AREA],
     [c("calc.area", base=10, height=5.0), c("primes", count=5)], AREA_GT, "wrong_count"),
    ("parallel in order", "parallel", [PLAY],
     [c("spotify.play", artist="Taylor Swift", duration=20),
      c("spotify.play", artist="Maroon 5", duration=15)], PLAY_GT, ""),
    ("parallel reversed", "parallel", [PLAY],
     [c("spotify.play", artist="Maroon 5", duration=15),
      c("spotify.play", artist="Taylor Swift", duration=20)], PLAY_GT, ""),
    ("parallel one missing", "parallel", [PLAY],
     [c("spotify.play", artist="Taylor Swift", duration=20)], PLAY_GT, "wrong_count"),
    ("parallel extra call", "parallel", [PLAY],
     [c("spotify.play", artist="Taylor Swift", duration=20),
      c("spotify.play", artist="Maroon 5", duration=15),
      c("spotify.play", artist="Adele", duration=5)], PLAY_GT, "wrong_count"),
    ("parallel duplicate", "parallel", [PLAY],
     [c("spotify.play", artist="Taylor Swift", duration=20)] * 2, PLAY_GT, "no_match"),
    ("parallel swapped values", "parallel", [PLAY],
     [c("spotify.play", artist="Taylor Swift", duration=15),
      c("spotify.play", artist="Maroon 5", duration=20)], PLAY_GT, "no_match"),
    ("parallel wrong type", "parallel", [PLAY],
     [c("spotify.play", artist="Taylor Swift", duration="20"),
      c("spotify.play", artist="Maroon 5", duration=15)], PLAY_GT, "no_match"),
    ("parallel multiple in order", "parallel_multiple", [PRIMES, MULTS],
     [c("multiples", upper=1000, of=[3, 5]), c("primes", count=5)], PM_GT, ""),
    ("parallel multiple reversed", "parallel_multiple", [PRIMES, MULTS],
     [c("primes", count=5), c("multiples", upper=1000, of=[3, 5])], PM_GT, ""),
    ("parallel multiple one wrong", "parallel_multiple", [PRIMES, MULTS],
     [c("primes", count=6), c("multiples", upper=1000, of=[3, 5])], PM_GT, "no_match"),
    ("parallel multiple same fn twice", "parallel_multiple", [PRIMES, MULTS],
     [c("primes", count=5), c("primes", count=5)], PM_GT, "no_match"),
    ("parallel multiple missing param", "parallel_multiple", [PRIMES, MULTS],
     [c("primes", count=5), c("multiples", of=[3, 5])], PM_GT, "no_match"),
    ("irrelevance no call", "irrelevance", [AREA], [], [], ""),
    ("irrelevance a call", "irrelevance", [AREA], [c("calc.area", base=1, height=1.0)], [],
     "made_call"),
    ("irrelevance unknown call", "irrelevance", [AREA], [c("triangle", a=1)], [], "made_call"),
]


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({label for label, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("label", "category", "functions", "calls", "gt", "kind"), CASES,
                         ids=[case[0] for case in CASES])
def test_ast_checker(label: str, category: str, functions: list[Any], calls: list[Call],
                     gt: list[Any], kind: str) -> None:
    v = check_calls(category, functions, calls, gt)
    assert v.valid == (kind == ""), v.reason
    assert v.kind == kind, v.reason


def test_parallel_pairing_is_bfcls_greedy_one() -> None:
    """BFCL's `parallel_function_checker_no_order`: each expected call takes the first call
    left that passes, so a right answer whose first call a later expected call needed fails
    (as in BFCL: its parallel_178 in reverse order)."""
    fn = {"name": "g", "parameters": {"type": "dict", "required": [],
          "properties": {"x": {"type": "integer"}}}}
    gt = [{"g": {"x": [1, 2]}}, {"g": {"x": [1]}}]
    assert check_calls("parallel", [fn], [c("g", x=2), c("g", x=1)], gt).valid
    assert not check_calls("parallel", [fn], [c("g", x=1), c("g", x=2)], gt).valid
    assert not check_calls("parallel", [fn], [c("g", x=2), c("g", x=2)], gt).valid


@pytest.mark.parametrize(("calls", "kind"), [
    ([c("calc.area", base=10, height=5)], ""),
    ([c("calc.area", base="10", height=5)], "wrong_type"),
    ([c("calc.area", base=10, height=5), c("nope")], "unknown_function"),
    ([], ""),
])
def test_malformed(calls: list[Call], kind: str) -> None:
    assert malformed([AREA], calls) == kind


def test_a_call_nobody_expected_is_typed_by_its_declaration() -> None:
    """With no accepted values to go by (an irrelevance item, a function the answer was not
    expected to call), an array is well-typed when its items have the item type."""
    assert malformed([SUM], [c("sum_of", numbers=[1.5, 2.0])]) == ""
    assert malformed([SUM], [c("sum_of", numbers=["a"])]) == "wrong_type"
    assert malformed([WEATHER], [c("weather", where={"city": "x"}, anything=3)]) == ""


NAMES = ["calc.area", "spotify.play"]


# Each case as BFCL's `default_decode_ast_prompting` reads it (ShishirPatil/gorilla at
# 6ea5797, bfcl_eval/model_handler/utils.py): its result, or [] where it raises. `error`: the
# answer looks like an attempted call that did not decode (counted as malformed).
@pytest.mark.parametrize(("text", "calls", "error"), [
    ("[calc.area(base=10, height=5.0)]", [c("calc.area", base=10, height=5.0)], False),
    ("calc.area(base=10, height=5)", [c("calc.area", base=10, height=5)], False),
    ("  \n[calc.area(base=1)]\n  ", [c("calc.area", base=1)], False),
    ("`calc.area(base=1)`", [c("calc.area", base=1)], False),
    ("```\n[calc.area(base=1, height=2)]\n```", [c("calc.area", base=1, height=2)], False),
    ('[spotify.play(artist="A", duration=1), spotify.play(artist=\'B\', duration=-2)]',
     [c("spotify.play", artist="A", duration=1), c("spotify.play", artist="B", duration=-2)],
     False),
    ("calc.area(base=1), spotify.play(artist='A')",
     [c("calc.area", base=1), c("spotify.play", artist="A")], False),
    # bare names are their names: `true` and `null` are the strings "true" and "null"
    ("[f(x=[1, 2], d={'a': true}, n=null, v=some_var, t=True, z=None)]",
     [c("f", x=[1, 2], d={"a": "true"}, n="null", v="some_var", t=True, z=None)], False),
    # arithmetic on constants is its value; a call without keywords its text, else nested
    ("[f(a=-5, b=2**3, c='x'+'y', d=3/2, e=7//2, g=7%3)]",
     [c("f", a=-5, b=8, c="xy", d=1.5, e=3, g=1)], False),
    ("calc.area(base=1+2)", [c("calc.area", base=3)], False),
    ("[f(a=math.sqrt(2), b=h(c=1), s=x[0], t=(1, 2), e=...)]",
     [c("f", a="math.sqrt(2)", b={"h": {"c": 1}}, s="x[0]", t=(1, 2), e="...")], False),
    # positional arguments are not read
    ("[calc.area(10, 5)]", [c("calc.area")], False),
    ("[]", [], False),
    ("None of the functions can be used (the question asks for a BMI).", [], False),
    ("I cannot help with that.", [], False),
    # a refusal that names a function's signature is prose, not a malformed call (an audit's)
    ("I cannot use calc.area(base, height) here: the question is not about areas.", [], False),
    # ... but a call with literal arguments in prose is an attempt (a review's)
    ("Sure: calc.area(10, 5) is the call.", [], True),
    ("Try calc.area('a', 2) instead.", [], True),
    # what BFCL does not decode: a fence with a language tag, prose around the calls, a
    # second line, calls in quotes, a list of values, a subscripted list
    ("```python\n[calc.area(base=1, height=2)]\n```", [], True),
    ("Sure! [calc.area(base=1, height=2)] is the call.", [], True),
    ("calc.area(base=1)\nThis computes the area.", [], True),
    ("[calc.area(base=1, height=2)]\nAnswer: [calc.area(base=3)]", [], True),
    ("'[calc.area(base=1)]'", [], True),
    ("[1, 2, 3]", [], True),
    ("[calc.area(base=1)][0]", [], True),
    ("[calc.area(base=10, height=]", [], True),
    ("[calc.area(base=lambda x: x)]", [], True),
    # arithmetic that BFCL would `eval` and shootout will not run: too large, or not numbers
    ("[calc.area(base=9**99999)]", [], True),
    ("[calc.area(base='ab'*99999999)]", [], True),
    ("[calc.area(base=x+1)]", [], True),
    # BFCL's decoder: any unary operator on a number is a minus; an unhashable dict key fails
    ("[calc.area(base=+5, height=~2)]", [c("calc.area", base=-5, height=-2)], False),
    ("[calc.area(base=-x)]", [], True),
    ("[calc.area(base={[1]: 2})]", [], True),
])
def test_decode_prompted(text: str, calls: list[Call], error: bool) -> None:
    d = decode_prompted(text, NAMES)
    assert list(d.calls) == calls
    assert bool(d.error) == error, d.error


def test_decode_native() -> None:
    names = {"calc_area": "calc.area"}
    d = decode_native([("calc_area", '{"base": 10, "height": 5}')], names)
    assert d.calls == (c("calc.area", base=10, height=5),) and not d.error
    assert decode_native([("calc_area", "{base: 10")], names).error
    assert decode_native([("calc_area", "[1]")], names).error
    # blank arguments are not JSON, as BFCL's decoder reads them: no call (an audit's)
    assert decode_native([("calc_area", "")], names).error
    assert decode_native([("calc_area", "  ")], names).calls == ()
    # a documented name the API was not sent ("." is not allowed there) is not the tool's
    (got,) = decode_native([("calc.area", '{"base": 10}')], names).calls
    assert got.name == "calc.area (not offered)"
