"""One analyzer for five languages: split on word characters, lower-case, fold accents.

No stemming and no stop words: English stemmers mangle Italian and German words, and stop
lists differ per language (Italian "non" is the point of "non funziona").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from whoosh.analysis import Filter, RegexTokenizer, Token

# Letters that decomposition does not fold the way readers expect.
_SPECIAL = str.maketrans({"ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "þ": "th", "ı": "i"})


def fold(text: str) -> str:
    """`Größe` -> `grosse`, `endommagé` -> `endommage`, `Rückbuchung` -> `ruckbuchung`."""
    text = text.lower().translate(_SPECIAL)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class FoldFilter(Filter):
    """Accent folding with a per-process cache: a vocabulary is small, token streams are not."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        cache = self.cache
        for token in tokens:
            text = token.text
            folded = cache.get(text)
            if folded is None:
                folded = fold(text)
                if len(cache) < 200_000:
                    cache[text] = folded
            token.text = folded
            yield token


def text_analyzer():
    """Words, folded (fold() lower-cases too, so no separate LowercaseFilter pass)."""
    return RegexTokenizer(r"\w+") | FoldFilter()


def terms(text: str) -> list[str]:
    """The index terms of `text`, as the query side needs them."""
    return [token.text for token in text_analyzer()(text)]
