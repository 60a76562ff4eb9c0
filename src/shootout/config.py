"""Run configuration: pydantic models at the edge (CLI flags and YAML files)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import yamlfile
from .errors import ConfigError, not_utf8
from .settings import Settings

if TYPE_CHECKING:
    from .runner.adaptive import AdaptiveRepeats

Scoring = Literal["auto", "loglikelihood", "generative"]
# the response cache: "use" stored answers to the same request, "refresh" ask again and store
# the new answer for later runs, "off" ask again and keep the answers to this run alone
CachePolicy = Literal["use", "refresh", "off"]


def _cache_off(v: Any) -> Any:
    """`cache: off` as YAML 1.1 (PyYAML) reads it: the boolean false, taken as "off"."""
    return "off" if v is False else v

# How generative benchmarks decode when the user sets nothing:
# - "reference": each benchmark's published decoding (greedy for GSM8K, MATH, HumanEval pass@1,
#   multiple choice, translation and needle, as lm-evaluation-harness and RULER do), so a
#   score can be put beside a published one;
# - "seed": the seed analysis's protocol, temperature 0.7, top-p 0.9, 3 samples per item
#   averaged (needle retrieval stays greedy: RULER scores it so).
Protocol = Literal["reference", "seed"]
SEED_PROTOCOL = {"temperature": 0.7, "top_p": 0.9, "repeats": 3}
PROTOCOL_DESCRIPTIONS: dict[str, str] = {
    "reference": "each benchmark's reference decoding (greedy unless its method says otherwise)",
    "seed": "the seed analysis's protocol: temperature 0.7, top-p 0.9, 3 samples per item averaged",
}
# samples per item when the user samples (temperature > 0) without saying how many
DEFAULT_SAMPLED_REPEATS = 3


class SamplingConfig(Settings):
    model_config = ConfigDict(extra="forbid")

    # None: decided by the run's protocol and the benchmark (see Protocol above)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)


def model_sampling(model: ModelConfig, run: SamplingConfig) -> SamplingConfig:
    """A model's sampling: the fields its own `sampling:` gives, the run's for the others
    (key by key, as `price:` is; the model's block replaced the run's whole, so a model
    giving only `temperature` lost the run's top_p and max_tokens; an audit's)."""
    own = model.sampling
    if own is None:
        return run
    return run.model_copy(update={k: v for k in SamplingConfig.model_fields
                                  if (v := getattr(own, k)) is not None})


class PriceConfig(Settings):
    """USD prices overriding the shipped price table for one model."""

    model_config = ConfigDict(extra="forbid")

    input_per_m: float | None = Field(None, ge=0)
    cached_input_per_m: float | None = Field(None, ge=0)
    output_per_m: float | None = Field(None, ge=0)
    per_hour: float | None = Field(None, ge=0)
    cache_write_per_m: float | None = Field(None, ge=0)
    source: str | None = None
    as_of: str | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_as_text(cls, v: Any) -> Any:
        """`as_of: 2025-06-01` unquoted is a date to YAML: taken as its ISO text, as the
        price table takes it."""
        import datetime as dt

        return v.isoformat() if isinstance(v, dt.date) else v


class ModelConfig(Settings):
    """One model: its spec, what shootout itself does with it, and the provider's options.

    Keys other than the generic ones below (base_url, chat, n_ctx, concurrency, ...) are the
    provider's: each provider declares them in its `Options` model, which validates them here.
    """

    model_config = ConfigDict(extra="allow")

    spec: str
    name: str | None = None
    scoring: Scoring = "auto"
    sampling: SamplingConfig | None = None
    price: PriceConfig | None = None
    retry_budget: int = Field(200, ge=0)
    max_attempts: int = Field(6, ge=1, le=50)
    # put before every chat request's messages (joined with a benchmark's own system message)
    system_prompt: str | None = None
    cache: CachePolicy | None = None  # None: the run's
    _cache_off = field_validator("cache", mode="before")(_cache_off)
    # the provider's rate limits for this model: requests and tokens per minute (pacing)
    rpm: float | None = Field(None, gt=0)
    tpm: float | None = Field(None, gt=0)
    # the most this model may spend in this run, USD (docs/budget.md); not part of the run id
    max_cost: float | None = Field(None, gt=0, allow_inf_nan=False)

    @field_validator("spec")
    @classmethod
    def _spec_form(cls, v: str) -> str:
        from .providers.registry import parse_spec

        try:
            parse_spec(v)
        except ConfigError as e:  # pydantic attaches the location to ValueErrors only
            raise ValueError(str(e)) from None
        return v.strip()

    @field_validator("name")
    @classmethod
    def _name_form(cls, v: str | None) -> str | None:
        """A name is a table's cell and a report's heading: not blank, and no control
        characters (a newline split table rows, an escape sequence reached the terminal). A
        new run's names hold no comma either (`check_new_names`): a stored run's may."""
        if v is None:
            return v
        if not v.strip():
            raise ValueError("a model's name must not be blank")
        if bad := next((c for c in v if unicodedata.category(c) == "Cc"), None):
            raise ValueError(f"a model's name must not hold control characters ({bad!r} in "
                             f"{v!r})")
        return v

    @model_validator(mode="after")
    def _provider_options(self) -> ModelConfig:
        from .providers.registry import validate_options

        try:
            validate_options(self.spec, self.provider_options)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return self

    @property
    def provider_options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    _derived_name: str | None = PrivateAttr(default=None)

    @property
    def display(self) -> str:
        """The model's name in tables and reports: `name:` if given, else one derived from
        the model itself (see `model_names`), else the spec."""
        return self.name or self._derived_name or self.spec


class BenchmarkConfig(Settings):
    model_config = ConfigDict(extra="forbid")

    name: str
    fewshot: int | None = Field(None, ge=0, le=64)
    limit: int | None = Field(None, ge=1)
    # benchmark-specific settings (e.g. needle lengths and depths); see each benchmark's docs
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _options_on_the_entry(cls, data: Any) -> Any:
        """An option of the benchmark given on its entry (`{name: mt_bench, judge: m}`, as
        issue 17 writes `judge:` in YAML) is one of its `options:`."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return data
        known = _option_names(data["name"])
        moved = {k: v for k, v in data.items() if k not in cls.model_fields and k in known}
        if not moved:
            return data
        options = data.get("options", {})
        if not isinstance(options, dict):
            return data  # (options that are not a mapping: refused as they are)
        if twice := sorted(set(moved) & set(options)):
            raise ValueError(f"{twice[0]} is given on the entry and in its options: give it "
                             "once")
        rest = {k: v for k, v in data.items() if k not in moved}
        return {**rest, "options": {**options, **moved}}


# what a run's configuration may give once for every benchmark that has the option (as
# `-o KEY=VALUE` does on the command line): issue 17's `judge:` and `prompt_variants`
RUN_WIDE_OPTIONS = ("judge", "prompt_variants")


def _option_names(bench: str) -> set[str]:
    """The options of the benchmark `bench` (none where it is not one: refused elsewhere)."""
    from .benchmarks import find_benchmark_class

    found = find_benchmark_class(bench)
    return set(found.Options.model_fields) if found is not None else set()


class RunConfig(Settings):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelConfig] = Field(min_length=1)
    benchmarks: list[BenchmarkConfig] = Field(min_length=1)
    limit: int | None = Field(None, ge=1)
    # a number of samples per item, or "auto": rounds until the resampling SE reaches
    # target_se (runner.adaptive), at most max_repeats
    repeats: int | Literal["auto"] | None = None
    target_se: float | None = Field(None, gt=0.0, le=0.5)
    max_repeats: int | None = Field(None, ge=2, le=100)
    # a request's seed is this plus its repeat: llama.cpp takes an unsigned 32-bit one (-1:
    # random) and numpy's generator refuses a negative one
    seed: int = Field(1234, ge=0, le=2**31 - 1)
    protocol: Protocol = "reference"
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    # price the work (each benchmark's `cost`) and send nothing
    dry_run: bool = False
    cache: CachePolicy = "use"
    _cache_off = field_validator("cache", mode="before")(_cache_off)
    # the most the whole run may spend, USD (docs/budget.md); not part of the run id
    max_cost: float | None = Field(None, gt=0, allow_inf_nan=False)
    # "I/N": run the I-th of N disjoint parts of every benchmark's items (`shootout merge`
    # puts the parts back together); see runner/shard.py
    shard: str | None = None

    @field_validator("shard")
    @classmethod
    def _shard_form(cls, v: str | None) -> str | None:
        from .runner.shard import parse_shard

        if v is None:
            return None
        try:
            i, n = parse_shard(v)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return f"{i}/{n}"

    @model_validator(mode="before")
    @classmethod
    def _run_wide_options(cls, data: Any) -> Any:
        """`judge: M` or `prompt_variants: N` at the top: that option on every benchmark of
        the run that has it (where its own entry does not give it), as `--judge M` and
        `--prompt-variants N` do; refused where no benchmark of the run has it."""
        if not isinstance(data, dict) or not any(k in data for k in RUN_WIDE_OPTIONS):
            return data
        benches = cls._names_to_configs(data.get("benchmarks"))
        if not isinstance(benches, list):
            return data  # refused as it is
        given = {k: v for k, v in data.items() if k in RUN_WIDE_OPTIONS}
        data = {k: v for k, v in data.items() if k not in RUN_WIDE_OPTIONS} | {
            "benchmarks": benches}
        for key in RUN_WIDE_OPTIONS:
            if key not in given:
                continue
            takers = [i for i, e in enumerate(benches) if isinstance(e, dict)
                      and isinstance(e.get("name"), str) and key in _option_names(e["name"])]
            if not takers:
                raise ValueError(f"{key}: no benchmark of this run has the option {key!r}")
            for i in takers:
                entry = dict(benches[i])
                options = entry.get("options")
                options = dict(options) if isinstance(options, dict) else {}
                if key not in options and key not in entry:
                    options[key] = given[key]
                entry["options"] = options
                benches[i] = entry
        return data

    @model_validator(mode="before")
    @classmethod
    def _repeats_form(cls, data: Any) -> Any:
        """`repeats` as a number, `auto`, or `auto:target_se=X,max_repeats=N` (the form the
        command line's --target-se and --max-repeats arrive in)."""
        if not isinstance(data, dict) or not isinstance(data.get("repeats"), str):
            return data
        text = data["repeats"].strip()
        if text.lstrip("-").isdigit():
            return {**data, "repeats": int(text)}
        from .runner.adaptive import parse_auto

        try:
            return {**data, **parse_auto(text)}
        except ValueError:  # the field's own validator says what is wrong, at `repeats`
            return data

    @field_validator("repeats", mode="before")
    @classmethod
    def _repeats_text(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "auto":
            from .runner.adaptive import parse_auto

            parse_auto(v)  # raises the one-line reason
        return v

    @field_validator("repeats")
    @classmethod
    def _repeats_range(cls, v: int | str | None) -> int | str | None:
        # the messages pydantic gave when repeats was a plain bounded number
        if isinstance(v, int) and v < 1:
            raise ValueError("Input should be greater than or equal to 1")
        if isinstance(v, int) and v > 100:
            raise ValueError("Input should be less than or equal to 100")
        return v

    @model_validator(mode="after")
    def _adaptive_settings(self) -> RunConfig:
        from .runner.adaptive import check_rule

        try:
            check_rule(self.repeats, self.target_se, self.max_repeats)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        if self.repeats == "auto" and self.shard is not None:
            # each shard would stop on its own items' spread: the merged run would not be
            # the unsharded one (items with other numbers of repeats)
            raise ValueError("repeats auto cannot be sharded: its stopping rule reads every "
                             "item's scores; give a number of repeats, or run unsharded")
        return self

    def adaptive_rule(self) -> AdaptiveRepeats | None:
        """The adaptive-repeats rule of `repeats: auto`, else None."""
        from .runner.adaptive import AdaptiveRepeats

        if self.repeats != "auto":
            return None
        rule = AdaptiveRepeats()
        return AdaptiveRepeats(target_se=self.target_se or rule.target_se,
                               max_repeats=self.max_repeats or rule.max_repeats)

    @field_validator("benchmarks", mode="before")
    @classmethod
    def _names_to_configs(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [x for x in v.split(",") if x.strip()]
        if isinstance(v, list):
            return _once(_expand_suites([{"name": x} if isinstance(x, str) else x for x in v]))
        return v

    @field_validator("models", mode="before")
    @classmethod
    def _specs_to_configs(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [{"spec": x} if isinstance(x, str) else x for x in v]
        return v

    @field_validator("models", mode="after")
    @classmethod
    def _model_names(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        from .naming import derive_names

        try:
            derived = derive_names(
                [(m.spec, m.name, m.provider_options) for m in models]
            )
        except ConfigError as e:
            raise ValueError(str(e)) from None
        for m, name in zip(models, derived, strict=True):
            m._derived_name = name
        return models

    def stored(self) -> dict[str, Any]:
        """The configuration as a run keeps it (`runs.spec_json`): every URL in it without
        its credentials (`urls.stored_url`)."""
        from .urls import stored_options

        data: dict[str, Any] = stored_options(self.model_dump(mode="json"))
        return data

    def run_id(self) -> str:
        """Deterministic: the same configuration is the same run, so a rerun resumes it
        (whatever credentials its URLs carry: they are not part of it)."""
        data = self.stored()
        # settings added later are left out at their defaults, so a configuration keeps the
        # id (and resumes the run) it had before they existed
        if data.get("cache") == "use":
            del data["cache"]
        for key in _LATER_RUN_KEYS:
            if data.get(key) is None:
                data.pop(key, None)
        # a cost cap limits how much of the run is done, not what it is: raising it resumes
        data.pop("max_cost", None)
        if data.get("shard") is None:
            data.pop("shard", None)
        for m in data["models"]:
            m.pop("max_cost", None)
            for key in _LATER_MODEL_KEYS:
                if m.get(key) is None:
                    m.pop(key, None)
        blob = json.dumps(data, sort_keys=True)
        return "r-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


_LATER_MODEL_KEYS = ("system_prompt", "cache", "rpm", "tpm")
_LATER_RUN_KEYS = ("target_se", "max_repeats")


def _once(entries: list[Any]) -> list[Any]:
    """Each benchmark once: a repeat of an entry is dropped (as `-b gsm8k,gsm8k` is); two
    entries of one benchmark with different settings are refused (one of them was run, and
    the manifest said the other's)."""
    seen: dict[Any, Any] = {}
    out: list[Any] = []
    for e in entries:
        n = e.get("name") if isinstance(e, dict) else None
        if n is None or not isinstance(n, str):
            out.append(e)
        elif n not in seen:
            seen[n] = e
            out.append(e)
        elif seen[n] != e:
            raise ValueError(f"benchmark {n!r} is listed twice, with different settings; "
                             "list it once")
    return out


def _expand_suites(entries: list[Any]) -> list[Any]:
    """A suite name (`quick`, `mc`, `math_code`, ...) stands for its benchmarks, each with the
    entry's other settings, each at its first appearance (as `-b` orders them). A benchmark
    also listed on its own keeps its own entry there; one that two suites share comes once,
    and is refused where the two give it different settings."""
    from .benchmarks import SUITES

    def name(e: Any) -> str | None:  # another type is refused by the model's validation
        n = e.get("name") if isinstance(e, dict) else None
        return n if isinstance(n, str) else None

    # a benchmark's own entry (its first), which a suite that names it takes in its place
    explicit: dict[str, Any] = {}
    for e in entries:
        if (n := name(e)) is not None and n not in SUITES:
            explicit.setdefault(n, e)
    out: list[Any] = []
    placed: dict[str, Any] = {}  # each benchmark's entry, at its first appearance
    for entry in entries:
        n = name(entry)
        if n not in SUITES:
            if n is not None and placed.get(n) is entry:
                continue  # a suite before it put it there (as `-b quick,arc_easy` orders it)
            out.append(entry)
            if n is not None:
                placed.setdefault(n, entry)
            continue
        assert n is not None
        for m in SUITES[n]:
            member = explicit.get(m, {**entry, "name": m})
            if m in placed:
                if placed[m] != member:  # (the second suite's settings were dropped)
                    raise ValueError(f"benchmark {m!r} is in two suites listed with "
                                     "different settings; list it once on its own")
                continue
            out.append(member)
            placed[m] = member
    return out


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise not_utf8(path, e) from None
    try:
        data = yamlfile.load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with models and benchmarks")
    return data


def validate_config(data: dict[str, Any], source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        given = err.get("input")
        # a number refused is named (`--temperature nan` was "should be less than or equal
        # to 2"); no other value is echoed: a text may be a URL with a secret in it
        if isinstance(given, int | float) and not isinstance(given, bool):
            msg += f" (got {given!r})"
        path = list(err["loc"])
        if path and path[-1] == "[key]":  # a mapping's key that is not text, inside
            path.pop()
        if err["msg"] == "Keys should be strings" or err["loc"][-1:] == ("[key]",):
            # (`yes: x` was "1: Keys should be strings", a date key "datetime.date(...)")
            path = path[:-1]
            key = err.get("input")  # the key as YAML read it (True for `yes`)
            loc = ".".join(str(p) for p in path) or "(top level)"
            msg = (f"the key {key!r} is not text: YAML reads yes/no/on/off as true/false, a "
                   "number as a number and a date as a date; quote the key")
        if loc == "options" and err["type"] == "extra_forbidden":  # where options go
            msg += (": a benchmark's options go on its entry, `benchmarks: [{name: BENCH, "
                    "options: {KEY: VALUE}}]`")
        raise ConfigError(f"{source}: {loc}: {msg}") from e


def check_new_names(cfg: RunConfig, source: str) -> None:
    """A new run's model names hold no comma: `report --models` and `--items` list names
    separated by commas, and could not name it; nor does its specs a control character (a
    run stored before these rules keeps its names and specs: resumed, rescored and merged as
    it is); nor its benchmarks options a benchmark refuses to new runs (`check_new_options`)."""
    for i, m in enumerate(cfg.models):
        # (a model id with a newline became a name that split the report's title and rows;
        # no API's model id holds one)
        if bad := next((c for c in m.spec if unicodedata.category(c) == "Cc"), None):
            raise ConfigError(f"{source}: models.{i}.spec: a model's spec must not hold "
                              f"control characters ({bad!r} in {m.spec!r})")
        if m.name is not None and "," in m.name:
            raise ConfigError(f"{source}: a model's name must not hold a comma ({m.name!r}): "
                              "`report --models` and `--items` list names separated by commas")
    from .benchmarks import find_benchmark_class

    for b in cfg.benchmarks:  # options a new run may not take (`Benchmark.check_new_options`)
        cls = find_benchmark_class(b.name)
        if cls is not None and b.options:
            cls.check_new_options(b.options)
