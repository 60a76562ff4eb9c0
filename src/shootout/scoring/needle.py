"""Needle in a haystack: filler text, prompts of an exact token length, RULER's wording, scoring.

The haystack is a run of whole sentences from a corpus (cycled when it is too short). Each
sentence's token count in the model's tokenizer is measured once; a prompt of L tokens is the
run of sentences from the corpus start that stays under the target, completed by the words of
the next sentence that fit, so every needle sits between two sentences. A full count of the
assembled prompt confirms the length (and corrects it when token counts are not additive at
the joins). The analysis of scored cells is in `needle_analysis`.
"""
from __future__ import annotations

import atexit
import bisect
import gzip
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..data.files import DataDir
from ..errors import ConfigError, DataError
from ..providers.base import Provider
from .text import estimate_tokens

SYNTHETIC_TEXT = (
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
)
HAYSTACK_FILES = {
    "gatsby": "haystack_en/gatsby.txt",
    "pg": "haystack_en/PaulGrahamEssays",
    "zh": "haystack_zh/340-zhiyanzhai-chongpi-hongloumeng.txt.gz",
}
HAYSTACKS = (*HAYSTACK_FILES, "synthetic")

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
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as e:
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
def make_counter(spec: Any, provider: Provider) -> tuple[Counter, str, bool]:
    """(count, name, exact) where count(text) is the prompt's tokens, BOS included.

    `spec`: a callable, "local" (the embedded GGUF's vocabulary), "gguf:PATH",
    "tiktoken:ENCODING", "chars" (an estimate), or None: the provider's own tokenizer, else
    tiktoken for a model it knows, else the estimate.
    """
    if callable(spec):
        return _as_count(spec), getattr(spec, "__name__", "custom"), True
    if spec in (None, "", "auto"):
        if provider.capabilities.tokenize:
            return _as_count(provider.tokenize), "model (llama.cpp)", True
        model = provider.model_id.partition(":")[2] or provider.model_id
        spec = _tiktoken_name(model) or "chars"
    spec = str(spec)
    if spec == "chars":
        return estimate_tokens, "estimate (4 chars or 1 CJK character per token)", False
    if spec == "local" or spec.startswith("gguf:"):
        from ..providers.local import embedded_model_path

        path = embedded_model_path() if spec == "local" else Path(spec[5:]).expanduser()
        if not path.is_file():
            raise ConfigError(f"needle: tokenizer gguf: GGUF file not found: {path}")
        from ..arch.gguf_header import read_header

        read_header(path)  # a file that is not a GGUF: said in one line, as for -m gguf:
        return _gguf_counter(str(path)), f"gguf:{path.name}", True
    if spec.startswith("tiktoken:"):
        return _tiktoken_counter(spec[9:]), spec, False
    raise ConfigError(f"needle: tokenizer {spec!r}: use local, gguf:PATH, tiktoken:NAME or chars")


def model_window(provider: Provider, explicit: int | None) -> tuple[int | None, int | None]:
    """(context window, hard limit on prompt + generation): n_ctx for local models."""
    caps = provider.capabilities
    window = explicit or caps.context_window
    return window, caps.prompt_limit or window




def _as_count(f: Callable[[str], Any]) -> Counter:
    def count(text: str) -> int:
        r = f(text)
        return r if isinstance(r, int) else len(r)

    return count


@lru_cache(maxsize=2)
def _gguf_counter(path: str) -> Counter:
    from ..providers.llama_util import _import_llama, _quiet_stderr

    with _quiet_stderr():
        llm = _import_llama().Llama(path, vocab_only=True, verbose=False)
    atexit.register(llm.close)  # llama.cpp's own finaliser fails noisily at interpreter exit
    return lambda text: len(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))


def _tiktoken_name(model: str) -> str | None:
    """tiktoken's encoding of `model`, where tiktoken is installed, knows the model and has
    its encoding or can fetch it (it downloads an encoding on first use: offline, that raised
    a requests error past this, an internal error where the estimate was documented; an
    audit's); None otherwise (the estimate is used)."""
    try:
        import tiktoken

        return "tiktoken:" + tiktoken.encoding_for_model(model).name
    except Exception:  # (ImportError, KeyError for a model it does not know, a download's)
        return None


def _tiktoken_counter(name: str) -> Counter:
    try:
        import tiktoken

        enc = tiktoken.get_encoding(name)
    except Exception as e:  # (not installed, an unknown name, a download that failed)
        raise ConfigError(f"needle: tokenizer tiktoken:{name} is unavailable "
                          f"({type(e).__name__}: {e})") from e
    return lambda text: len(enc.encode(text, disallowed_special=()))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- prompt templates (RULER's wording) ----------------------------------------------------
@dataclass(frozen=True)
class Template:
    """RULER's niah prompt (NVIDIA/RULER scripts/data/synthetic/constants.py): intro, haystack
    with needles, question, then the answer prefix, for base and chat models alike (RULER's
    API client sends input + answer prefix as the user message). niah.py makes the intro,
    question and prefix singular when one value is asked ("A special magic number is ...")."""

    intro_one: str
    intro_all: str
    needle: str
    ask_one: str
    answer_one: str
    ask_all: str
    answer_all: str
    sep: str


EN = Template(
    intro_one="A special magic number is hidden within the following text. Make sure to "
    "memorize it. I will quiz you about the number afterwards.\n",
    intro_all="Some special magic numbers are hidden within the following text. Make sure to "
    "memorize it. I will quiz you about the numbers afterwards.\n",
    needle="One of the special magic numbers for {key} is: {value}.",
    ask_one="What is the special magic number for {key} mentioned in the provided text?",
    answer_one="The special magic number for {key} mentioned in the provided text is",
    ask_all="What are all the special magic numbers for {key} mentioned in the provided text?",
    answer_all="The special magic numbers for {key} mentioned in the provided text are",
    sep=" ",
)
ZH = Template(  # RULER has no Chinese niah; the same sentences, translated
    intro_one="下面的文本中隐藏着一个特殊的魔法数字。请记住它，之后我会考你这个数字。\n",
    intro_all="下面的文本中隐藏着一些特殊的魔法数字。请记住它们，之后我会考你这些数字。\n",
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
        if fixed > target:  # the options' doing, not the data's: no haystack can fit
            raise ConfigError(
                f"needle: a prompt of {target} tokens cannot hold its {len(needles)} "
                f"needle(s) and the question ({fixed} tokens): give fewer needles "
                "(-o needle.needles=N) or longer lengths (-o needle.lengths=...)")
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
        if (best.tokens > target + tol and under is not None
                and target - under.tokens <= 0.01 * target):
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


def find_values(text: str) -> list[str]:
    """7-digit numbers in order of appearance, as written ("1,234,567" is none: RULER's match
    does not read digit grouping either)."""
    return _VALUE.findall(text)


def string_match(text: str, refs: Sequence[str]) -> float:
    """RULER's niah metric for one output (`string_match_all`, NVIDIA/RULER
    scripts/eval/synthetic/constants.py): the fraction of refs found in the text as
    case-insensitive substrings."""
    low = text.lower()
    return sum(r.lower() in low for r in refs) / len(refs) if refs else 0.0


def score_one(text: str, value: str, distractors: Iterable[str] = ()) -> dict[str, Any]:
    """`acc`: the value appears in the output (RULER). `acc_strict`: the first 7-digit number
    is the value, so an answer that names other numbers first does not count."""
    found = find_values(text)
    first = found[0] if found else None
    return {
        "acc": string_match(text, [value]),
        "acc_strict": float(first == value),
        "extracted": first,
        "distractor": first is not None and first in set(distractors),
    }


def score_all(text: str, values: Sequence[str]) -> dict[str, Any]:
    """`recall`: the fraction of values that appear (RULER's score); `acc`: all of them do;
    `acc_strict`: the first len(values) distinct 7-digit numbers are exactly the values."""
    found = list(dict.fromkeys(find_values(text)))
    recall = string_match(text, values)
    return {
        "acc": float(recall == 1.0),
        "recall": recall,
        "acc_strict": float(sorted(found[: len(values)]) == sorted(values)),
        "extracted": ",".join(found) or None,
    }
