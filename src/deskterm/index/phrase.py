"""Phrase search without Whoosh's span machinery.

Whoosh answers a phrase through `SpanNear2`: for every message holding all the words it builds
span objects for every position of every word. At 100,000 messages a two-word phrase of common
words took 400 ms, nearly all of it there. `AdjacentWords` intersects the words' postings as an
AND does and then checks, with one set intersection per word, that some position of the first
word is followed by the others in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import accumulate
from pickle import loads
from typing import Any

from whoosh import matching, query
from whoosh.matching import IntersectionMatcher, NullMatcher, WrappingMatcher
from whoosh.system import _INT_SIZE
from whoosh.util import make_binary_tree

_CACHE_LIMIT = 100_000
_decoded: dict[bytes, tuple[int, ...]] = {}


def positions(value: bytes) -> tuple[int, ...]:
    """The word positions in one posting of a `Positions` field (cached: most are short)."""
    found = _decoded.get(value)
    if found is None:
        data = value if value.endswith(b".") else value + b"."  # Whoosh may drop pickle's STOP
        found = tuple(accumulate(loads(data[_INT_SIZE:])))
        if len(_decoded) < _CACHE_LIMIT:
            _decoded[value] = found
    return found


def adjacent(values: Iterable[bytes]) -> bool:
    """Whether some position of the first word is followed by the others, in order: one set
    intersection per word. `values` are the words' postings in one message, read as needed."""
    starts: set[int] | None = None
    for offset, value in enumerate(values):
        shifted = {position - offset for position in positions(value)}
        starts = shifted if starts is None else starts & shifted
        if not starts:
            return False
    return True


class AdjacentWords(query.Phrase):
    """The words next to each other, in this order (a `query.Phrase` with no slop)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        field = searcher.schema[self.fieldname]
        reader = searcher.reader()
        leaves = []
        for word in self.words:
            if (self.fieldname, field.to_bytes(word)) not in reader:
                return NullMatcher()
            leaves.append(query.Term(self.fieldname, word).matcher(searcher, context))
        return _AdjacentMatcher(leaves, boost=self.boost)


class _AdjacentMatcher(WrappingMatcher):
    """An AND of the words' postings that stops only where they stand next to each other."""

    def __init__(self, leaves: list[Any], boost: float = 1.0) -> None:
        super().__init__(make_binary_tree(IntersectionMatcher, leaves) if len(leaves) > 1 else leaves[0], boost)
        self.leaves = leaves
        self._settle()

    def _settle(self) -> None:
        child = self.child
        while child.is_active() and not adjacent(leaf.value() for leaf in self.leaves):
            child.next()

    def copy(self) -> "_AdjacentMatcher":
        return _AdjacentMatcher([leaf.copy() for leaf in self.leaves], self.boost)

    def replace(self, minquality: float = 0) -> Any:
        return self if self.is_active() else matching.NullMatcher()

    def all_ids(self) -> Any:
        while self.is_active():
            yield self.id()
            self.next()

    def next(self) -> None:
        self.child.next()
        self._settle()

    def skip_to(self, id: int) -> None:
        self.child.skip_to(id)
        self._settle()

    def skip_to_quality(self, minquality: float) -> int:
        skipped = self.child.skip_to_quality(minquality / self.boost)
        self._settle()
        return skipped

    def spans(self) -> Any:
        raise NotImplementedError("phrase matches have no spans here")
