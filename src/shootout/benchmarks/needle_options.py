"""The needle grid's items and options (`-o needle.lengths=1k,4k`, or `options:` in a run
config): lengths, depths, trials, variant, haystack, budget, tokenizer and window."""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import Field, ValidationInfo, field_validator

from ..scoring.needle import HAYSTACKS
from .base import BenchmarkOptions

VARIANTS = ("single", "multivalue", "multikey", "multiquery")
ALIASES = {"multi": "multivalue", "multi-value": "multivalue", "multi-key": "multikey",
           "multi-query": "multiquery"}
DEFAULT_DEPTHS = tuple(float(d) for d in range(0, 101, 10))
DEFAULT_LENGTHS = tuple(2**k for k in range(10, 21))  # 1K .. 1M, cut to the model's window


class NeedleItem(TypedDict):
    length: int
    depth: float
    trial: int
    variant: str
    haystack: str
    needles: list[dict[str, Any]]
    query: list[str]
    answers: list[str]
    distractors: list[str]


MAX_TRIALS = 1000  # prompts per cell (RULER draws 500 a task)
MAX_NEEDLES = 100  # needles per prompt (RULER's multi-needle tasks take 4)
# the longest haystack: 16M tokens, past any model's window (10M at most, in 2026); a dry run
# of 10,000,000k built its prompts until the machine ran out of memory (an audit's)
MAX_LENGTH = 16 * 1024 * 1024


class NeedleOptions(BenchmarkOptions):
    """Options of the needle grid (`-o needle.lengths=1k,4k`, or `options:` in a run config)."""

    lengths: tuple[int, ...] | None = Field(None, description="context lengths, e.g. 1k,2k,4k")
    depths: tuple[float, ...] = Field(
        DEFAULT_DEPTHS, validate_default=True, description="needle depths in percent"
    )
    trials: int = Field(3, description=f"prompts per length x depth cell (at most {MAX_TRIALS})")
    variant: str = Field("single", description=", ".join(VARIANTS))
    needles: int = Field(4, description="needles per prompt for the multi-needle variants "
                         f"(at most {MAX_NEEDLES})")
    haystack: str | None = Field(None, description="gatsby (default), pg, zh or synthetic")
    max_tokens_budget: int | None = Field(None, description="refuse grids that cost more")
    tokenizer: Any = Field(None, description="local, gguf:PATH, tiktoken:NAME or chars")
    context_window: int | None = Field(None, description="the API model's window in tokens")
    calibrate: bool = Field(True, description="confirm prompt sizes against the server")

    @field_validator("lengths", mode="before")
    @classmethod
    def _lengths(cls, v: Any) -> Any:
        if v in (None, ""):
            return None
        return tuple(sorted(set(_int_list(v, "lengths"))))

    @field_validator("depths", mode="before")
    @classmethod
    def _depths(cls, v: Any) -> Any:
        depths = _float_list(v) if v not in (None, "") else list(DEFAULT_DEPTHS)
        if not depths or any(not 0 <= d <= 100 for d in depths):
            raise ValueError("depths are percentages between 0 and 100")
        return tuple(sorted(set(depths), reverse=True))

    @field_validator("trials", "needles", mode="before")
    @classmethod
    def _positive(cls, v: Any, info: ValidationInfo) -> int:
        n = _positive(v, str(info.field_name))
        most = MAX_TRIALS if info.field_name == "trials" else MAX_NEEDLES
        if n > most:  # (a grid is built whole before --limit draws from it: a billion
            # trials ran the machine out of memory; 2,000 needles outnumbered the keys)
            raise ValueError(f"{info.field_name} must be at most {most}")
        return n

    @field_validator("max_tokens_budget", "context_window", mode="before")
    @classmethod
    def _opt_positive(cls, v: Any, info: ValidationInfo) -> int | None:
        return None if v in (None, "") else _positive(v, str(info.field_name))

    @field_validator("variant", mode="before")
    @classmethod
    def _variant(cls, v: Any) -> str:
        variant = ALIASES.get(str(v), str(v))
        if variant not in VARIANTS:
            raise ValueError(f"variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        return variant

    @field_validator("haystack", mode="before")
    @classmethod
    def _haystack(cls, v: Any) -> str | None:
        if v in (None, ""):
            return None
        if str(v) not in HAYSTACKS:
            raise ValueError(f"haystack {v!r}; choose {', '.join(HAYSTACKS)}")
        return str(v)


def _split(v: Any) -> list[Any]:
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return list(v) if isinstance(v, list | tuple) else [v]


def _int_list(v: Any, what: str) -> list[int]:
    out = []
    for x in _split(v):
        s = str(x).strip().lower()
        mult = {"k": 1024, "m": 1024 * 1024}.get(s[-1:], 1)
        try:
            n = int(float(s[:-1] if mult > 1 else s) * mult)
        except (ValueError, OverflowError):  # (inf: an OverflowError, exit 70)
            raise ValueError(f"{what}: {x!r} is not a token count") from None
        if n < 128:
            raise ValueError(f"{what}: {n} is too short (at least 128 tokens)")
        if n > MAX_LENGTH:
            raise ValueError(f"{what}: {x} is too long (at most {MAX_LENGTH // 1024**2}M "
                             f"tokens, {MAX_LENGTH:,})")
        out.append(n)
    return out


def _float_list(v: Any) -> list[float]:
    try:
        return [float(x) for x in _split(v)]
    except ValueError:
        raise ValueError(f"depths: {v!r} are not numbers") from None


def _positive(v: Any, what: str) -> int:
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number, not {v!r}") from None
    if n < 1:
        raise ValueError(f"{what} must be at least 1")
    return n
