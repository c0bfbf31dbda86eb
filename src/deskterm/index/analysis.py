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


def _positions(value: str) -> dict[str, list[int]]:
    """Each term of `value` with the positions of its words, in order of first appearance."""
    positions: dict[str, list[int]] = {}
    for position, word in enumerate(_WORDS.findall(value)):
        term = FOLDED.get(word) or folded(word)
        found = positions.get(term)
        if found is None:
            positions[term] = [position]
        else:
            found.append(position)
    return positions


def _counts(value: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in _WORDS.findall(value):
        term = FOLDED.get(word) or folded(word)
        counts[term] = counts.get(term, 0) + 1
    return counts


class LeanPositions(formats.Positions):
    """Whoosh's `Positions` postings, byte for byte, from the same words as `text_analyzer`."""

    _encoded: dict[int | tuple[int, ...], bytes] = {}

    def _encode(self, found: list[int]) -> bytes:
        """The posting's encoded positions, memoised by their deltas (most words occur once,
        so a lone position is its own key)."""
        deltas = found[0] if len(found) == 1 else tuple(b - a for a, b in zip([0, *found], found))
        value_bytes = self._encoded.get(deltas)
        if value_bytes is None:
            value_bytes = self.encode(found)
            if len(self._encoded) < CACHE_LIMIT:
                self._encoded[deltas] = value_bytes
        return value_bytes

    def word_values(self, value: str, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        boost = self.field_boost
        for term, found in _positions(value).items():
            yield term, len(found), len(found) * boost, self._encode(found)

    def postings(self, fieldname: str, value: str, docnum: int, out: list[tuple[Any, ...]]) -> int:
        """Append the writer's posting tuples for `value` to `out`; return its length in words.
        (What `field.index()` yields, with the term already UTF-8, for `speedups._add_document`.)"""
        boost = self.field_boost
        length = 0
        for term, found in _positions(value).items():
            count = len(found)
            length += count
            out.append((fieldname, term.encode("utf-8"), docnum, count * boost, self._encode(found)))
        return length


class LeanFrequency(formats.Frequency):
    """Whoosh's `Frequency` postings from the same words as `text_analyzer`."""

    def word_values(self, value: str, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        boost = self.field_boost
        for term, count in _counts(value).items():
            yield term, count, count * boost, pack_uint(count)

    def postings(self, fieldname: str, value: str, docnum: int, out: list[tuple[Any, ...]]) -> int:
        """As `LeanPositions.postings`."""
        boost = self.field_boost
        length = 0
        for term, count in _counts(value).items():
            length += count
            out.append((fieldname, term.encode("utf-8"), docnum, count * boost, pack_uint(count)))
        return length


def text_field(phrase: bool = True) -> TEXT:
    """A TEXT field over `text_analyzer`, indexed through the lean formats."""
    field = TEXT(analyzer=text_analyzer(), phrase=phrase)
    field.format = (LeanPositions if phrase else LeanFrequency)(field_boost=field.format.field_boost)
    return field
