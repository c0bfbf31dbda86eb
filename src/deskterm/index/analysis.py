"""One analyzer for five languages: split on word characters, lower-case, fold accents.

No stemming and no stop words: English stemmers mangle Italian and German words, and stop
lists differ per language (Italian "non" is the point of "non funziona").

Indexing does not run the analyzer token by token: `LeanPositions` and `LeanFrequency` find the
same words with one regex pass and a fold cache, and memoise the encoded position lists. Whoosh's
token objects and a pickle call per posting were a third of the indexing time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from whoosh import formats
from whoosh.analysis import Filter, RegexTokenizer, Token
from whoosh.fields import TEXT
from whoosh.system import pack_uint

from deskterm.fold import CACHE_LIMIT, FOLDED, folded

WORD = r"\w+"
_WORDS = re.compile(WORD)


class FoldFilter(Filter):
    """fold() as a Whoosh filter: queries and highlighting analyse text through it."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = folded(token.text)
            yield token


def text_analyzer() -> Any:
    """Words, folded (fold() lower-cases too, so no separate LowercaseFilter pass)."""
    return RegexTokenizer(WORD) | FoldFilter()


def terms(text: str) -> list[str]:
    """The index terms of `text`, as the query side needs them."""
    return [folded(word) for word in _WORDS.findall(text)]


class LeanPositions(formats.Positions):
    """Whoosh's `Positions` postings, byte for byte, from the same words as `text_analyzer`."""

    _encoded: dict[tuple[int, ...], bytes] = {}

    def word_values(self, value: str, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        positions: dict[str, list[int]] = {}
        for position, word in enumerate(_WORDS.findall(value)):
            term = FOLDED.get(word) or folded(word)
            found = positions.get(term)
            if found is None:
                positions[term] = [position]
            else:
                found.append(position)
        boost = self.field_boost
        encoded = self._encoded
        for term, found in positions.items():
            deltas = tuple(b - a for a, b in zip([0, *found], found))
            value_bytes = encoded.get(deltas)
            if value_bytes is None:
                value_bytes = self.encode(found)
                if len(encoded) < CACHE_LIMIT:
                    encoded[deltas] = value_bytes
            yield term, len(found), len(found) * boost, value_bytes


class LeanFrequency(formats.Frequency):
    """Whoosh's `Frequency` postings from the same words as `text_analyzer`."""

    def word_values(self, value: str, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        counts: dict[str, int] = {}
        for word in _WORDS.findall(value):
            term = FOLDED.get(word) or folded(word)
            counts[term] = counts.get(term, 0) + 1
        boost = self.field_boost
        for term, count in counts.items():
            yield term, count, count * boost, pack_uint(count)


def text_field(phrase: bool = True) -> TEXT:
    """A TEXT field over `text_analyzer`, indexed through the lean formats."""
    field = TEXT(analyzer=text_analyzer(), phrase=phrase)
    field.format = (LeanPositions if phrase else LeanFrequency)(field_boost=field.format.field_boost)
    return field
