"""Needle in a haystack: filler text, prompts of an exact token length, scoring, analysis.

The haystack is a run of whole sentences from a corpus (cycled when it is too short). Each
sentence's token count in the model's tokenizer is measured once; a prompt of L tokens is the
shortest run of sentences that reaches the target, with one sentence near the end left out to
absorb the overshoot, so the text starts and ends on sentence boundaries and every needle sits
between two sentences. A full count of the assembled prompt confirms the length (and corrects it
when token counts are not additive at the joins).
"""

from __future__ import annotations

import atexit
import bisect
import gzip
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..analysis.stats import summarize
from ..data.files import DataDir
from ..errors import ConfigError, DataError

SYNTHETIC_TEXT = (
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
)
HAYSTACK_FILES = {
    "gatsby": "haystack_en/gatsby.txt",
    "pg": "haystack_en/PaulGrahamEssays",
    "zh": "haystack_zh/340-zhiyanzhai-chongpi-hongloumeng.txt.gz",
}
HAYSTACKS = (*HAYSTACK_FILES, "synthetic")
BUCKETS = {"beginning": (0.0, 20.0), "middle": (40.0, 60.0), "end": (80.0, 100.0)}
EFFECTIVE_THRESHOLD = 0.85

Counter = Callable[[str], int]


# -- corpora --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Corpus:
    name: str
    sentences: tuple[str, ...]
    language: str  # "en" or "zh"
    source: str

    @property
    def joiner(self) -> str:
        return "" if self.language == "zh" else " "


def load_corpus(name: str, data: DataDir, *, fallback: bool = False) -> Corpus:
    """The named haystack from the data directory; the built-in filler if asked or if absent
    and `fallback` (the default haystack was not chosen explicitly)."""
    if name not in HAYSTACKS:
        raise ConfigError(f"unknown haystack {name!r}; choose one of {', '.join(HAYSTACKS)}")
    if name == "synthetic" or (fallback and not data.has(HAYSTACK_FILES[name])):
        return synthetic_corpus()
    rel = HAYSTACK_FILES[name]
    path = data.path(rel)
    if name == "pg":
        files = sorted(path.glob("*.txt"))
        if not files:
            raise DataError(f"{path}: no essays (*.txt)")
        for f in files:
            data.path(f"{rel}/{f.name}")
        return Corpus(name, _pg_sentences(tuple(files)), "en", str(path))
    if name == "zh":
        return Corpus(name, _zh_sentences(path), "zh", str(path))
    return Corpus(name, _gatsby_sentences(path), "en", str(path))


def synthetic_corpus() -> Corpus:
    return Corpus("synthetic", tuple(split_english(SYNTHETIC_TEXT)), "en", "built-in (RULER)")


@lru_cache(maxsize=4)
def _gatsby_sentences(path: Path) -> tuple[str, ...]:
    text = _read(path)
    start, end = text.find("*** START OF"), text.find("*** END OF")
    if start >= 0 and end > start:  # drop the Project Gutenberg header and licence
        text = text[text.index("\n", start) + 1 : end]
    lines = [ln for ln in text.splitlines() if not re.fullmatch(r"\s*[IVXL]+\s*", ln)]
    return tuple(split_english(" ".join(lines)))


@lru_cache(maxsize=4)
def _pg_sentences(files: tuple[Path, ...]) -> tuple[str, ...]:
    # the scraped essays lost their paragraph breaks: "accelerating.We wouldn't"
    essays = [re.sub(r"([.!?])([A-Z])", r"\1 \2", _read(f)) for f in files]
    return tuple(split_english(" ".join(essays)))


@lru_cache(maxsize=2)
def _zh_sentences(path: Path) -> tuple[str, ...]:
    return tuple(split_chinese(_read(path)))


def _read(path: Path) -> str:
    try:
        if path.suffix == ".gz":
            return gzip.decompress(path.read_bytes()).decode("utf-8")
        return path.read_text(encoding="utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from e


_EN_END = re.compile(r"[.!?]+[\"”’')\]]*(?=\s+[\"“‘(\[]?[A-Z0-9])")
_ABBREV = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "mt", "vs", "etc", "e.g", "i.e"}


def split_english(text: str) -> list[str]:
    """Sentences of whitespace-collapsed English text (abbreviations and initials kept)."""
    text = " ".join(text.split())
    out, start = [], 0
    for m in _EN_END.finditer(text):
        word = re.search(r"[\w.]*$", text[start : m.start()])
        w = word.group(0).lower() if word else ""
        if w in _ABBREV or (len(w) == 1 and w.isalpha() and m.group(0) == "."):
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return [s for s in out if s]


_ZH_END = re.compile(r"[。！？!?]+[”」』’）】]*")


def split_chinese(text: str) -> list[str]:
    text = re.sub(r"\s+", "", text)
    out, start = [], 0
    for m in _ZH_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if text[start:]:
        out.append(text[start:])
    return out

# -- token counting ------------------------------------------------------------------------
def make_counter(spec: Any, provider: Any) -> tuple[Counter, str, bool]:
    """(count, name, exact) where count(text) is the prompt's tokens, BOS included.

    `spec`: a callable, "local" (the embedded GGUF's vocabulary), "gguf:PATH",
    "tiktoken:ENCODING", "chars" (an estimate), or None: the provider's own tokenizer, else
    tiktoken for a model it knows, else the estimate.
    """
    if callable(spec):
        return _as_count(spec), getattr(spec, "__name__", "custom"), True
    if spec in (None, "", "auto"):
        tok = getattr(provider, "tokenize", None)
        if callable(tok):
            return _as_count(tok), "model (llama.cpp)", True
        spec = _tiktoken_name(str(getattr(provider, "model", ""))) or "chars"
    spec = str(spec)
    if spec == "chars":
        return estimate_tokens, "estimate (4 chars or 1 CJK character per token)", False
    if spec == "local" or spec.startswith("gguf:"):
        from ..providers.local import embedded_model_path

        path = embedded_model_path() if spec == "local" else Path(spec[5:]).expanduser()
        return _gguf_counter(str(path)), f"gguf:{path.name}", True
    if spec.startswith("tiktoken:"):
        return _tiktoken_counter(spec[9:]), spec, False
    raise ConfigError(f"needle: tokenizer {spec!r}: use local, gguf:PATH, tiktoken:NAME or chars")


def model_window(provider: Any, explicit: int | None) -> tuple[int | None, int | None]:
    """(context window, hard limit on prompt + generation): n_ctx for local models."""
    window = explicit or getattr(provider, "context_window", None) or _server_window(provider)
    n_ctx = getattr(provider, "n_ctx", None)
    return window, n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else window


def estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return max(1, round((len(text) - cjk) / 4 + cjk))


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _as_count(f: Callable[[str], Any]) -> Counter:
    def count(text: str) -> int:
        r = f(text)
        return r if isinstance(r, int) else len(r)

    return count


def _server_window(provider: Any) -> int | None:
    info = provider.info() if callable(getattr(provider, "info", None)) else {}
    model = info.get("server_model") or {}
    for key in ("max_model_len", "context_length", "context_window", "max_context_length"):
        if isinstance(model.get(key), int) and model[key] > 0:
            return int(model[key])
    return None


@lru_cache(maxsize=2)
def _gguf_counter(path: str) -> Counter:
    from ..providers.local import _import_llama, _quiet_stderr

    with _quiet_stderr():
        llm = _import_llama().Llama(path, vocab_only=True, verbose=False)
    atexit.register(llm.close)  # llama.cpp's own finaliser fails noisily at interpreter exit
    return lambda text: len(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))


def _tiktoken_name(model: str) -> str | None:
    try:
        import tiktoken  # type: ignore[import-not-found]

        return "tiktoken:" + tiktoken.encoding_for_model(model).name
    except (ImportError, KeyError):
        return None


def _tiktoken_counter(name: str) -> Counter:
    try:
        import tiktoken  # type: ignore[import-not-found]

        enc = tiktoken.get_encoding(name)
    except (ImportError, ValueError) as e:
        raise ConfigError(f"needle: tokenizer tiktoken:{name} is unavailable ({e})") from e
    return lambda text: len(enc.encode(text, disallowed_special=()))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- prompt templates (RULER's wording) ----------------------------------------------------
@dataclass(frozen=True)
class Template:
    intro: str
    needle: str
    ask_one: str
    answer_one: str
    ask_all: str
    answer_all: str
    sep: str


EN = Template(
    intro="Some special magic numbers are hidden within the following text. Make sure to "
    "memorize it. I will quiz you about the numbers afterwards.\n",
    needle="One of the special magic numbers for {key} is: {value}.",
    ask_one="What is the special magic number for {key} mentioned in the provided text?",
    answer_one="The special magic number for {key} mentioned in the provided text is",
    ask_all="What are all the special magic numbers for {key} mentioned in the provided text?",
    answer_all="The special magic numbers for {key} mentioned in the provided text are",
    sep=" ",
)
ZH = Template(
    intro="下面的文本中隐藏着一些特殊的魔法数字。请记住它们，之后我会考你这些数字。\n",
    needle="{key}的其中一个特殊魔法数字是：{value}。",
    ask_one="文中提到的{key}的特殊魔法数字是多少？",
    answer_one="文中提到的{key}的特殊魔法数字是：",
    ask_all="文中提到的{key}的所有特殊魔法数字是哪些？",
    answer_all="文中提到的{key}的所有特殊魔法数字是：",
    sep="",
)
ADJECTIVES = _words(
    "amber ancient brave bright calm clever crimson curious daring dusty eager elegant fancy "
    "fierce gentle golden grumpy hollow humble icy jolly lively lucky misty noble odd quiet "
    "rapid rusty shiny silent silver sleepy smooth sturdy swift tender tidy vivid wandering "
    "wild witty"
)
NOUNS = _words(
    "anchor badger barrel beacon blossom canyon castle cellar comet compass falcon feather "
    "garden glacier harbor hammock helmet island kettle lantern meadow mirror needle orchard "
    "otter pebble pepper puzzle quilt raven ribbon saddle scarf spindle tapestry teapot thimble "
    "tunnel violin walrus willow"
)


# -- prompts of an exact length ------------------------------------------------------------
@dataclass(frozen=True)
class Needle:
    text: str
    depth: float  # requested, fraction of the haystack's tokens before the needle


@dataclass(frozen=True)
class Built:
    text: str
    tokens: int  # the assembled prompt, counted
    target: int
    depths: tuple[float, ...]  # where each needle landed (fraction of haystack tokens)
    slack: tuple[float, ...]  # half the larger neighbouring sentence, per needle (fraction)
    haystack_tokens: int
    n_sentences: int


@dataclass
class Haystack:
    """A corpus's sentences, cycled, with their token counts in one tokenizer."""

    corpus: Corpus
    count: Counter  # tokens of a whole prompt, as the model sees it (BOS included)
    _base: int = field(init=False)
    _tok: list[int] = field(init=False, default_factory=list)  # per corpus sentence
    _cum: list[int] = field(init=False, default_factory=lambda: [0])  # over the cycled run

    def __post_init__(self) -> None:
        if not self.corpus.sentences:
            raise DataError(f"haystack {self.corpus.name}: no sentences")
        self._base = self.count("")

    def sentence(self, i: int) -> str:
        return self.corpus.sentences[i % len(self.corpus.sentences)]

    def tokens(self, i: int) -> int:
        j = i % len(self.corpus.sentences)
        while len(self._tok) <= j:
            s = self.corpus.sentences[len(self._tok)]
            self._tok.append(max(1, self.count(self.corpus.joiner + s) - self._base))
        return self._tok[j]

    def _ensure(self, tokens: int) -> None:
        while self._cum[-1] < tokens:
            self._cum.append(self._cum[-1] + self.tokens(len(self._cum) - 1))

    def select(self, target: int, tol: int) -> tuple[list[int], str]:
        """Sentences from the corpus start whose tokens sum to `target` within about `tol`:
        whole sentences, then the words of the next one that fit (the haystack's last piece).

        Cutting only at the end keeps every prompt of one length identical up to its first
        needle, whatever the needles' own lengths, so a backend's prefix cache serves the
        shared part of consecutive prompts (depths descending, trials of one cell)."""
        target = max(target, 1)
        self._ensure(target)
        m = bisect.bisect_left(self._cum, target)  # sentences [0, m) reach the target
        if self._cum[m] - target <= tol or m == 0:
            return list(range(m)), ""
        under = target - self._cum[m - 1]
        if under <= tol:
            return list(range(m - 1)), ""
        return list(range(m - 1)), self._prefix(m - 1, under)

    def _prefix(self, i: int, budget: int) -> str:
        """The longest word prefix (characters for Chinese) of sentence i within `budget`."""
        joiner, sentence = self.corpus.joiner, self.sentence(i)
        units = sentence.split(" ") if joiner else list(sentence)
        glue = " " if joiner else ""
        lo, hi = 0, len(units)
        while lo < hi:  # the largest k whose prefix fits
            k = (lo + hi + 1) // 2
            if self.count(joiner + glue.join(units[:k])) - self._base <= budget:
                lo = k
            else:
                hi = k - 1
        return glue.join(units[:lo])

    def build(
        self, head: str, tail: str, needles: Sequence[Needle], target: int, tol: int
    ) -> Built:
        """Prompt = head + haystack with needles + tail, of `target` tokens within `tol`."""
        fixed = self.count(head + tail) + sum(
            self.count(self.corpus.joiner + n.text) - self._base for n in needles
        )
        hay_target, best, under = target - fixed, None, None
        for attempt in range(10):
            kept, partial = self.select(hay_target, tol)
            built = self._assemble(head, tail, needles, kept, partial, target)
            err = built.tokens - target
            if abs(err) <= tol:
                best = built
                break
            if best is None or abs(err) < abs(best.tokens - target):
                best = built
            if err < 0 and (under is None or built.tokens > under.tokens):
                under = built
            # token counts are not quite additive (merges at the cut): step by less each time
            hay_target -= err if attempt < 5 else (err // 2 or (1 if err > 0 else -1))
        assert best is not None
        close_under = under is not None and target - under.tokens <= 0.01 * target
        if best.tokens > target + tol and close_under:
            best = under  # too long could overflow the context; slightly short cannot
        if abs(best.tokens - target) > max(tol, 0.01 * target):
            raise DataError(
                f"haystack {self.corpus.name}: could not reach {target} tokens "
                f"(best {best.tokens}); the filler's token counts are not additive"
            )
        return best

    def _assemble(
        self, head: str, tail: str, needles: Sequence[Needle], kept: list[int], partial: str,
        target: int,
    ) -> Built:
        pieces = [self.sentence(i) for i in kept]
        sizes = [self.tokens(i) for i in kept]
        if partial:
            pieces.append(partial)
            sizes.append(max(1, self.count(self.corpus.joiner + partial) - self._base))
        offs = [0]
        for n_tok in sizes:
            offs.append(offs[-1] + n_tok)
        total = offs[-1]
        slots: dict[int, list[str]] = {}
        depths, slack = [], []
        for n in needles:
            p = _nearest(offs, n.depth * total)
            slots.setdefault(p, []).append(n.text)
            depths.append(offs[p] / total if total else 0.0)
            around = max(offs[p] - offs[max(p - 1, 0)], offs[min(p + 1, len(pieces))] - offs[p])
            slack.append(around / 2 / total if total else 1.0)
        parts: list[str] = []
        for p, piece in enumerate(pieces):
            parts.extend(slots.get(p, ()))
            parts.append(piece)
        parts.extend(slots.get(len(pieces), ()))
        text = head + self.corpus.joiner.join(parts) + tail
        return Built(text, self.count(text), target, tuple(depths), tuple(slack), total,
                     len(pieces))


def _nearest(offs: list[int], x: float) -> int:
    """Index of the boundary offset nearest to x (the earlier one on a tie)."""
    p = bisect.bisect_left(offs, x)
    if p == 0:
        return 0
    if p >= len(offs):
        return len(offs) - 1
    return p if offs[p] - x < x - offs[p - 1] else p - 1


# -- scoring --------------------------------------------------------------------------------
_VALUE = re.compile(r"(?<!\d)\d{7}(?!\d)")
_GROUPING = re.compile(r"(?<=\d)[,\u202f\u00a0\u2009](?=\d{3}(?!\d))")


def find_values(text: str) -> list[str]:
    """7-digit numbers in order of appearance ("1,234,567" counts as 1234567)."""
    return _VALUE.findall(_GROUPING.sub("", text))


def score_one(text: str, value: str, distractors: Iterable[str] = ()) -> dict[str, Any]:
    """Exact match of the first 7-digit number in the output."""
    found = find_values(text)
    first = found[0] if found else None
    return {
        "acc": float(first == value),
        "extracted": first,
        "distractor": first is not None and first in set(distractors),
    }


def score_all(text: str, values: Sequence[str]) -> dict[str, Any]:
    """Every value must appear; recall is the fraction that did."""
    found = set(find_values(text))
    hit = [v for v in values if v in found]
    return {
        "acc": float(len(hit) == len(values)),
        "recall": len(hit) / len(values) if values else 0.0,
        "extracted": ",".join(sorted(found)) or None,
    }


# -- analysis -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    length: int
    depth: float  # percent, as requested
    acc: float  # mean over repeats
    recall: float


def mean_se(values: Sequence[float]) -> tuple[float, float | None]:
    n = len(values)
    if n == 0:
        return math.nan, None
    m = sum(values) / n
    if n < 2:
        return m, None
    return m, math.sqrt(sum((x - m) ** 2 for x in values) / (n - 1) / n)


def analyse(items: Sequence[Item], threshold: float = EFFECTIVE_THRESHOLD) -> dict[str, Any]:
    """Heatmap (length x depth), per-length and per-bucket accuracy, the lost-in-the-middle gap
    and the effective length."""
    lengths = sorted({i.length for i in items})
    depths = sorted({i.depth for i in items})
    recalls = [i.recall for i in items]
    cell: dict[tuple[int, float], list[float]] = {}
    for it in items:
        cell.setdefault((it.length, it.depth), []).append(it.acc)
    grid = [[_mean_or_none(cell.get((L, d))) for d in depths] for L in lengths]
    counts = [[len(cell.get((L, d), ())) for d in depths] for L in lengths]
    by_length = {L: _stat([i.acc for i in items if i.length == L]) for L in lengths}
    buckets = {
        name: {**_stat([i.acc for i in items if lo <= i.depth <= hi]), "range": [lo, hi]}
        for name, (lo, hi) in BUCKETS.items()
    }
    return {
        "lengths": lengths,
        "depths": depths,
        "heatmap": grid,
        "counts": counts,
        "overall": {**_stat([i.acc for i in items]), "recall": _mean_or_none(recalls)},
        "by_length": {str(L): v for L, v in by_length.items()},
        "buckets": buckets,
        "gap": lost_in_middle_gap(buckets),
        "effective_length": effective_length(
            {L: v["acc"] for L, v in by_length.items()}, threshold
        ),
        "threshold": threshold,
    }


def lost_in_middle_gap(buckets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """mean(beginning, end) - middle, with a normal-approximation 95% CI."""
    b, m, e = (buckets[k] for k in ("beginning", "middle", "end"))
    if not (b["n"] and m["n"] and e["n"]):
        return {"value": None, "stderr": None, "ci": [None, None]}
    value = (b["acc"] + e["acc"]) / 2 - m["acc"]
    if None in (b["stderr"], m["stderr"], e["stderr"]):
        return {"value": value, "stderr": None, "ci": [None, None]}
    se = math.sqrt(b["stderr"] ** 2 / 4 + e["stderr"] ** 2 / 4 + m["stderr"] ** 2)
    return {"value": value, "stderr": se, "ci": [value - 1.96 * se, value + 1.96 * se]}


def effective_length(acc_by_length: dict[int, float], threshold: float) -> int:
    """The longest length up to which accuracy stays >= threshold (0 if the shortest fails)."""
    best = 0
    for L in sorted(acc_by_length):
        if acc_by_length[L] < threshold:
            break
        best = L
    return best


def _stat(values: list[float]) -> dict[str, Any]:
    """Mean, SE and 95% CI (Wilson for few all-0/1 items, so it stays inside [0, 1])."""
    m, se = mean_se(values)
    ci: list[float | None] = [None, None]
    if values:
        sm = summarize([[v] for v in values])
        ci = [max(0.0, sm.ci_low), min(1.0, sm.ci_high)]
    return {"acc": None if math.isnan(m) else m, "stderr": se, "n": len(values), "ci": ci}


def _mean_or_none(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


def token_summary(details: list[Mapping[str, Any]]) -> dict[str, Any]:
    built = [(d["prompt_tokens"], d["target_tokens"]) for d in details if "prompt_tokens" in d]
    rep = [(d["reported_prompt_tokens"], d["prompt_tokens"], d["target_tokens"])
           for d in details if d.get("reported_prompt_tokens") and "prompt_tokens" in d]
    depth = [abs(d["depth_actual"] - d["depth"]) for d in details if "depth_actual" in d]
    return {"tokens": {
        "n": len(built),
        "max_rel_error_vs_target": max((abs(p - t) / t for p, t in built), default=None),
        "n_reported": len(rep),
        "n_reported_equal_built": sum(r == p for r, p, _ in rep),
        "max_rel_error_reported_vs_target": max((abs(r - t) / t for r, _, t in rep),
                                                default=None),
        "prompt_tokens_reported": sum(r for r, _, _ in rep),
        "cached_tokens": sum(int(d.get("cached_tokens") or 0) for d in details),
        "max_depth_error_pct": max(depth, default=None),
    }}
