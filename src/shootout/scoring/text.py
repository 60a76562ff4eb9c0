"""Text helpers every scorer shares."""

from __future__ import annotations

import re

# <think>, <thinking>, <thought> (Gemini's OpenAI-compatible endpoint with include_thoughts),
# <reasoning> blocks; an unclosed one runs to the end (no answer came)
_BLOCK_RE = re.compile(
    r"<(think|thinking|thought|reasoning)>.*?(?:</\1>|\Z)", re.DOTALL | re.IGNORECASE
)
# a closing tag whose opening tag was in the prompt (chat templates that start the reasoning)
_STRAY_CLOSE_RE = re.compile(r"^.*</(?:think|thinking|thought|reasoning)>",
                             re.DOTALL | re.IGNORECASE)
_CLOSE_RE = re.compile(r"</(?:think|thinking|thought|reasoning)>", re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """The answer without its reasoning: `<think>…</think>` blocks (also `<thinking>`,
    `<thought>`, `<reasoning>`) are removed, an unclosed block runs to the end of the text, and
    text before a lone closing tag is reasoning too. Surrounding whitespace is kept."""
    text = _BLOCK_RE.sub("", text)
    if _CLOSE_RE.search(text):
        text = _STRAY_CLOSE_RE.sub("", text)
    return text


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about 4 characters a token, one per CJK character."""
    cjk = len(_CJK.findall(text))
    return max(1, round((len(text) - cjk) / 4 + cjk))


def text_of_tokens(tokens: int) -> str:
    """A placeholder text that `estimate_tokens` counts as `tokens` tokens (an answer not
    yet given, in an estimate)."""
    return "x" * (4 * max(1, tokens))
