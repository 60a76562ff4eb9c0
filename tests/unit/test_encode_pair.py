"""The embedded models' split of a (context, continuation) pair into tokens: lm-evaluation-
harness's `_encode_pair` (HFLM), whose context is tokenised alone and whose continuation is
the whole's tokens after as many (an audit's: the context was the whole's first tokens, which
differ where a token spans the boundary)."""

from __future__ import annotations

from shootout.providers.local_ll import LoglikelihoodEval


class Merging:
    """A tokenizer in which "ab" is one token: "a" + "bc" tokenised whole merges across."""

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        out, i = [], 0
        while i < len(text):
            if text.startswith("ab", i):
                out.append(1000)
                i += 2
            else:
                out.append(ord(text[i]))
                i += 1
        return out


def test_the_context_is_tokenised_alone_and_the_continuation_follows_it():
    ctx, cont = LoglikelihoodEval._encode_pair(Merging(), "xa", "bc")  # type: ignore[arg-type]
    assert ctx == [ord("x"), ord("a")]  # lm-eval: tok(context)
    assert cont == [ord("c")]  # lm-eval: tok(context + continuation)[len(tok(context)):]


def test_trailing_context_spaces_move_to_the_continuation():
    ctx, cont = LoglikelihoodEval._encode_pair(Merging(), "Q: 1 ", "yes")  # type: ignore[arg-type]
    assert ctx == [ord(c) for c in "Q: 1"] and cont == [ord(c) for c in " yes"]
