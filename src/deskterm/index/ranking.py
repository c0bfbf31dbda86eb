"""Relevance search with Whoosh's BM25F scores, computed a segment's postings at a time.

Whoosh ranks by walking its matchers one document at a time: for every match of every word a
chain of a dozen Python calls (next, id, weight, the scorer, the length column, the heap). Its
block-max skipping does not help here, because a block's bound pairs the highest word count with
the shortest message of the block, which nearly always beats the top 20. At 1,000,000 messages a
common word took 300 ms and a two-word phrase 1.5 s, checking the word positions of 120,000
messages to find the 20 best of 8,000.

Here a word's postings are read a block at a time and scored by table look-ups, with the same
formula and the same floats as Whoosh. ANDs intersect the words' documents as sets, rarest word
first, and score only what is left. Once the page is full, what cannot beat its last score is
not read (a word's blocks and segments) or is dropped (a candidate whose score so far, plus the
best the other words can add, is too low). A phrase is scored as the AND of its words (the score
Whoosh gives it), and its positions are checked only for the best candidates, best first, until
the page is full. Anything else in the query (dates, keywords) is asked of Whoosh's own matcher,
for the candidates only.

In a segment with an impacts file (`impacts`: a rebuild's time slices), a common word is not
read from its postings at all: its documents come grouped by score, and only the groups that can
still reach the page are taken. A phrase then reads its words' positions for the candidates it
checks only.

The answer is Whoosh's, best first with ties in document order; only the order in which a few
scores are summed may differ, in the last bit"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, chain, compress, repeat
from operator import neg
from typing import Any

from whoosh import query, scoring
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from deskterm.index import impacts
from deskterm.index.phrase import AdjacentWords, adjacent
from deskterm.index.speedups import whole_lengths

_FIRST_CHECK = 8  # times the page: phrase candidates whose positions are read in the first round
_PROBE_BELOW = 16  # a word with 16 times more documents than the candidates is read only where they are
_LOOK_UP_BELOW = 32  # the same for a word with groups: its candidates are looked up by their group


@dataclass
class _Matches:
    """One segment's matches of a query: document number -> score, and the phrase checks the
    documents must still pass (each takes document numbers in order and keeps those that pass)."""

    scores: dict[int, float]
    checks: list[Callable[[list[int]], list[int]]] = field(default_factory=list)


_NONE = _Matches({})
_ANY = float("-inf")  # no score needed: every match counts
_NO_BOUND = float("inf")


def best(searcher: Any, whoosh_query: Any, limit: int) -> list[tuple[int, float]] | None:
    """The `limit` best (document number, score) pairs, best first, ties by document number, as
    `searcher.search(whoosh_query, limit=limit)` ranks them; None for a query this does not
    handle (a negation, a scoring other than BM25F): Whoosh's collector answers those."""
    weighting = searcher.weighting
    if type(weighting) is not scoring.BM25F or not _handled(whoosh_query):
        return None
    if limit < 1:
        return []
    top: list[tuple[float, int]] = []  # a heap of (score, -document number): the worst on top
    tables: dict[tuple[str, bytes], _BM25Table | None] = {}
    for leaf, offset in searcher.leaf_searchers():
        floor = top[0][0] if len(top) >= limit else None
        matches = _Evaluation(leaf, weighting, tables).of(whoosh_query, _ANY if floor is None else floor)
        for score, docnum in _segment_best(matches, limit, floor):
            entry = (score, -(offset + docnum))
            if len(top) < limit:
                heapq.heappush(top, entry)
            elif entry > top[0]:
                heapq.heapreplace(top, entry)
    return [(-negated, score) for score, negated in sorted(top, reverse=True)]


def _handled(node: Any) -> bool:
    if isinstance(node, query.Not):
        return False  # every message but some: Whoosh's matcher is the right tool
    if isinstance(node, query.Or) and node.scale:
        return False
    return all(_handled(child) for child in node.children())


def _segment_best(matches: _Matches, limit: int, floor: float | None) -> list[tuple[float, int]]:
    """The segment's best `limit` that pass its checks, as (score, document number), best first.
    Only scores above `floor` (the page's worst so far, from earlier segments) can count: an equal
    score loses to the earlier document."""
    scores = matches.scores
    if floor is None:
        candidates: Iterable[tuple[float, int]] = zip(scores.values(), map(neg, scores))
    else:
        candidates = [(score, -docnum) for docnum, score in scores.items() if score > floor]
    if not matches.checks:
        return [(score, -negated) for score, negated in heapq.nlargest(limit, candidates)]
    candidates = list(candidates)
    kept: list[tuple[float, int]] = []
    looked = 0
    want = limit * _FIRST_CHECK
    while len(kept) < limit and looked < len(candidates):
        chunk = heapq.nlargest(want, candidates)[looked:]
        looked += len(chunk)
        passing = sorted(-negated for _score, negated in chunk)
        for check in matches.checks:
            passing = check(passing)
        passed = set(passing)
        for score, negated in chunk:
            if -negated in passed:
                kept.append((score, -negated))
                if len(kept) == limit:
                    break
        # Enough for the rest of the page at the rate seen so far, and half as many to spare.
        want = looked + max(limit, 3 * (limit - len(kept)) * looked // max(2 * len(kept), 1))
    return kept


class _BM25Table(dict):
    """A word's BM25F score by word count, then by length byte: a message's score is two
    look-ups. Filled with `bm25()` of whoosh.scoring, the same operations in the same order, so
    the same floats (scoring a common word went from 0.5 µs a message to a look-up)."""

    def __init__(self, scorer: Any) -> None:
        super().__init__()
        self.idf, self.k1 = scorer.idf, scorer.K1
        b, avgfl = scorer.B, scorer.avgfl
        # Byte 0 (no length kept) scores as Whoosh's default length, 1.
        self.norm = [scorer.K1 * ((1 - b) + b * (byte_to_length(lbyte) or 1) / avgfl) for lbyte in range(256)]

    def __missing__(self, tf: float) -> list[float]:
        idf, k1_plus_1 = self.idf, self.k1 + 1
        row = self[tf] = [idf * ((tf * k1_plus_1) / (tf + norm)) for norm in self.norm]
        return row


class _Evaluation:
    """A query's matches in one segment.

    Each node is evaluated with `needed`: a document whose score from that node is at most
    `needed` cannot reach the page, whatever the rest of the query adds. A word's blocks (and
    whole segments) whose best possible score is that low are not read: at 1,000,000 messages,
    nine blocks in ten of a word in every message, once the first segment has filled the page.
    """

    def __init__(self, leaf: Any, weighting: Any, tables: dict[tuple[str, bytes], _BM25Table | None]) -> None:
        self.leaf = leaf
        self.reader = leaf.reader()
        self.weighting = weighting
        self.deleted = self.reader.deleted_docs_set
        # A word's idf and the average length are the whole index's, and whether it is scored by
        # weight alone is its field's: one table for every segment, and no scorer made for each.
        self.tables = tables
        self.impacts = impacts.of(self.reader)
        self._best_of_word: dict[tuple[str, Any], float] = {}
        self._words: dict[tuple[str, Any], _Word | None] = {}
        self._groups_of_word: dict[tuple[str, bytes], _ScoredGroups | None] = {}

    def of(self, node: Any, needed: float = _ANY) -> _Matches:
        if node is query.NullQuery:
            return _NONE
        if isinstance(node, AdjacentWords) and node.boost == 1.0:
            return self._phrase(node.fieldname, node.words, needed)
        if type(node) is query.Term and node.boost == 1.0:
            return _Matches(self._term(node.fieldname, node.text, needed=needed))
        if type(node) is query.And and node.boost == 1.0:
            return self._and(node.subqueries, needed)
        if type(node) is query.Or and node.boost == 1.0:
            parts = [self.of(child, child_needed) for child, child_needed in self._shares(node.subqueries, needed)]
            if not any(part.checks for part in parts):
                return _Matches(_union([part.scores for part in parts]))
        return _Matches(self._probe(node, None))

    def best_possible(self, node: Any) -> float:
        """The highest score `node` can give a document of this segment."""
        if node is query.NullQuery:
            return 0.0
        if isinstance(node, AdjacentWords) and node.boost == 1.0:
            return sum(self.best_possible(query.Term(node.fieldname, word)) for word in node.words)
        if type(node) is query.Term and node.boost == 1.0:
            key = (node.fieldname, node.text)
            if key not in self._best_of_word:
                word = self._word(node.fieldname, node.text)
                groups = None if word is None else self._scored_groups(word)
                if word is None:
                    self._best_of_word[key] = 0.0
                elif groups is not None:
                    self._best_of_word[key] = groups.best  # exact: the best group's score
                else:
                    self._best_of_word[key] = word.bound(word.info.max_weight(), length_to_byte(word.info.min_length()))
            return self._best_of_word[key]
        if type(node) in (query.And, query.Or) and node.boost == 1.0:
            return sum(self.best_possible(child) for child in node.subqueries)
        try:
            return float(node.matcher(self.leaf, self.leaf.context(weighting=self.weighting)).max_quality())
        except Exception:  # noqa: BLE001 - a matcher that cannot say: no bound
            return _NO_BOUND

    def _shares(self, children: list[Any], needed: float) -> list[tuple[Any, float]]:
        """Each child with what it must give a document for the node to reach `needed`: the
        node's score is the sum of its children's, so `needed` less the others' best."""
        bests = [self.best_possible(child) for child in children] if needed != _ANY else []
        if needed == _ANY or _NO_BOUND in bests:
            return [(child, _ANY) for child in children]
        total = sum(bests)
        return [(child, needed - (total - best)) for child, best in zip(children, bests)]

    # -- words -------------------------------------------------------------------------------
    def _word(self, fieldname: str, text: Any) -> _Word | None:
        """The word's bytes and scoring in this segment, or None when the segment lacks it."""
        key = (fieldname, text)
        if key not in self._words:
            self._words[key] = self._new_word(fieldname, text)
        return self._words[key]

    def _new_word(self, fieldname: str, text: Any) -> _Word | None:
        if fieldname not in self.reader.schema:
            return None
        try:
            btext = self.reader.schema[fieldname].to_bytes(text)
        except ValueError:
            return None
        try:
            info = self.reader.term_info(fieldname, btext)  # read once: each look-up hashes the word
        except TermNotFound:
            return None
        if (fieldname, btext) not in self.tables:  # the word's first segment: how BM25F scores it
            scorer = self.weighting.scorer(self.leaf, fieldname, btext)  # one of these two, by field
            self.tables[fieldname, btext] = None if isinstance(scorer, scoring.WeightScorer) else _BM25Table(scorer)
        return _Word(fieldname, btext, self.tables[fieldname, btext], info)

    def _documents_with(self, term: query.Term) -> int:
        word = self._word(term.fieldname, term.text)
        return 0 if word is None else word.info.doc_frequency()

    def _term(self, fieldname: str, text: Any, needed: float = _ANY) -> dict[int, float]:
        """A word's documents and scores: all of them that can score above `needed`."""
        word = self._word(fieldname, text)
        if word is None:
            return {}
        if needed != _ANY and _below(self.best_possible(query.Term(fieldname, text)), needed):
            return {}
        groups = self._scored_groups(word)
        if groups is not None:
            return self._from_groups(word, groups, needed)
        ids, weights = self._postings(word, needed)
        return self._scores(word, dict(zip(ids, weights)))

    def _scored_groups(self, word: _Word) -> _ScoredGroups | None:
        """The word's groups in this segment's impacts file, scored; None when the file does
        not hold the word (or there is no file)."""
        key = (word.fieldname, word.btext)
        if key not in self._groups_of_word:
            found = None if self.impacts is None or word.table is None else self.impacts.groups(*key)
            self._groups_of_word[key] = None if found is None else _ScoredGroups(word.table, found)
        return self._groups_of_word[key]

    def _from_groups(self, word: _Word, groups: _ScoredGroups, needed: float) -> dict[int, float]:
        """The live documents of the word's groups that can score above `needed`, with their
        scores: one dictionary built from slices of the word's documents, without a Python step
        per group or per document."""
        cut = _cut(needed) if needed != _ANY else _ANY
        if groups.best < cut:
            return {}
        taken = groups.take(cut)
        docnums = self.impacts.docnums(word.fieldname, word.btext)
        found = dict(zip(chain.from_iterable(map(docnums.__getitem__, compress(groups.slices, taken))),
                         chain.from_iterable(map(repeat, compress(groups.scores, taken), compress(groups.counts, taken)))))
        for docnum in self.deleted & found.keys() if self.deleted else ():
            del found[docnum]
        return found

    def _groups_among(self, word: _Word, groups: _ScoredGroups, candidates: dict[int, float]) -> dict[int, float]:
        """The word's scores in the candidates that have it, each looked up by its group."""
        group_of = self.impacts.group_of(word.fieldname, word.btext)
        scores = [0.0, *groups.scores]
        return {docnum: scores[group_of[docnum]] for docnum in candidates if group_of[docnum]}

    def _scores(self, word: _Word, weights: dict[int, float]) -> dict[int, float]:
        """Each document's score for the word, from its weight and length."""
        if word.table is None:
            return weights
        lengths = whole_lengths(self.reader, word.fieldname)
        if lengths is None:  # no length column: Whoosh scores with its default length, 1
            lengths = bytes(max(weights, default=0) + 1)
        rows = {tf: word.table[tf] for tf in set(weights.values())}  # a plain dict: faster to index
        return {docnum: rows[tf][lengths[docnum]] for docnum, tf in weights.items()}

    def _postings(self, word: _Word, needed: float, values: list[bytes] | None = None) -> tuple[list[int], list[float]]:
        """A word's live document numbers and weights, a block at a time, leaving out the
        blocks whose best score is not above `needed` (a block's header says its highest
        weight and shortest length). With `values`, the postings' values are added to it."""
        matcher = self._raw_matcher(word)
        ids: list[int] = []
        weights: list[float] = []
        if isinstance(matcher, W3LeafMatcher) and (values is None or matcher._fixedsize is None):
            skipping = needed != _ANY
            while matcher.is_active():
                if skipping and _below(word.bound(matcher._maxweight, length_to_byte(matcher._minlength)), needed):
                    matcher._next_block()
                    continue
                matcher._read_data()
                block_ids, block_weights, block_values = matcher._data
                ids.extend(block_ids if matcher._byteids else accumulate(block_ids))
                count = matcher._blocklength
                if block_weights is None:
                    weights.extend(array("f", [1.0]) * count)
                elif isinstance(block_weights, float):
                    weights.extend(array("f", [block_weights]) * count)
                else:
                    weights.extend(block_weights)
                if values is not None:
                    values.extend(block_values)
                matcher._next_block()
        else:
            while matcher.is_active():
                ids.append(matcher.id())
                weights.append(matcher.weight())
                if values is not None:
                    values.append(matcher.value())
                matcher.next()
        if self.deleted:
            live = [at for at, docnum in enumerate(ids) if docnum not in self.deleted]
            ids, weights = [ids[at] for at in live], [weights[at] for at in live]
            if values is not None:
                values[:] = [values[at] for at in live]
        return ids, weights

    def _postings_among(self, word: _Word, among: list[int], values: list[bytes] | None = None) -> tuple[list[int], list[float]]:
        """A word's weights in the documents `among` that have it, skipping the blocks between
        (and with `values`, their values)."""
        matcher = self._raw_matcher(word)
        ids: list[int] = []
        weights: list[float] = []
        for docnum in among:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
                if not matcher.is_active():
                    break
            if matcher.id() == docnum:
                ids.append(docnum)
                weights.append(matcher.weight())
                if values is not None:
                    values.append(matcher.value())
        return ids, weights

    def _values_among(self, word: _Word, docnums: list[int]) -> dict[int, bytes]:
        """The word's postings values (its positions) in these documents, each of which has it."""
        values: list[bytes] = []
        ids, _weights = self._postings_among(word, docnums, values)
        return dict(zip(ids, values))

    def _raw_matcher(self, word: _Word) -> Any:
        matcher = self.reader.postings(word.fieldname, word.btext)
        return matcher.child if isinstance(matcher, FilterMatcher) else matcher

    def _all_words(self, together: dict[int, float] | None, words: list[tuple[query.Term, float]],
                   needed: float, later_best: float,
                   positions: dict[bytes, dict[int, bytes]] | None = None) -> dict[int, float]:
        """The documents in `together` (all, if None) with every word, their scores summed.

        The rarest word is read first; a common one only where the candidates are once they are
        few, so an address AND a common word reads a block per candidate, as Whoosh does. After
        each word, a candidate whose score so far plus the best the other words (and what is
        added `later`) can give is not above `needed` is dropped: in "package order" at 1M,
        "order" is in every message and adds at most 2.1, so only the messages where "package"
        alone scores above the page's last score less 2.1 are looked up in it. With
        `positions`, each word's postings values (its positions, for a phrase) are kept there,
        for the words read from their postings.
        """
        found = []
        for term, share in words:
            word = self._word(term.fieldname, term.text)
            if word is None:
                return {}
            found.append((word.info.doc_frequency(), term, word, share))
        remaining = later_best + sum(self.best_possible(term) for term, _share in words)
        pruning = needed != _ANY and remaining != _NO_BOUND
        scores = together
        for frequency, term, word, share in sorted(found, key=lambda item: item[0]):
            groups = self._scored_groups(word)
            if groups is not None and scores is not None and len(scores) * _LOOK_UP_BELOW < frequency:
                part = self._groups_among(word, groups, scores)
            elif groups is not None:
                # Only the groups that can still add what is needed: the page's last score less
                # the best the rest can give. A phrase reads positions where it checks them.
                rest = remaining - self.best_possible(term) + (max(scores.values()) if scores else 0.0)
                part = self._from_groups(word, groups, needed - rest if pruning else _ANY)
            else:
                values: list[bytes] | None = None if positions is None else []
                if scores is not None and len(scores) * _PROBE_BELOW < frequency:
                    ids, weights = self._postings_among(word, sorted(scores), values)
                else:
                    ids, weights = self._postings(word, share, values)
                if positions is not None:
                    positions[word.btext] = dict(zip(ids, values))
                weight_of = dict(zip(ids, weights))
                if scores is not None:
                    weight_of = {docnum: weight_of[docnum] for docnum in scores.keys() & weight_of.keys()}
                part = self._scores(word, weight_of)
            scores = part if scores is None else {docnum: score + part[docnum] for docnum, score in scores.items() if docnum in part}
            if pruning:
                remaining -= self.best_possible(term)
                cut = _cut(needed - remaining)
                scores = {docnum: score for docnum, score in scores.items() if score >= cut}
            if not scores:
                return {}
        return scores or {}

    def _phrase(self, fieldname: str, words: list[str], needed: float) -> _Matches:
        terms = [query.Term(fieldname, word) for word in words]
        found = [self._word(fieldname, word) for word in words]
        if None in found:
            return _NONE
        positions: dict[bytes, dict[int, bytes]] = {}
        together = self._all_words(None, self._shares(terms, needed), needed, 0.0, positions)
        if not together:
            return _NONE

        def check(docnums: list[int]) -> list[int]:
            in_order = [positions[word.btext] if word.btext in positions else self._values_among(word, docnums)
                        for word in found if word is not None]
            return [docnum for docnum in docnums if adjacent(of_word[docnum] for of_word in in_order)]

        return _Matches(together, [check])

    # -- compounds ---------------------------------------------------------------------------
    def _and(self, children: list[Any], needed: float) -> _Matches:
        shares = self._shares(children, needed)
        words = [(child, share) for child, share in shares if type(child) is query.Term and child.boost == 1.0]
        parts = [self.of(child, share) for child, share in shares
                 if _scored_here(child) and not (type(child) is query.Term and child.boost == 1.0)]
        if not words and not parts:
            return _Matches(self._probe(query.And(children), None))
        # The rest (a date range, say) is asked of Whoosh: read whole first when it is smaller
        # than every word (the last 90 days, in a segment of older mail: nothing), else only
        # where the words are.
        rarest = min((self._documents_with(word) for word, _share in words), default=None)
        probed = []
        for child in children:
            if not _scored_here(child):
                size = child.estimate_size(self.reader)
                if size == 0:
                    return _NONE
                if rarest is not None and size < rarest:
                    parts.append(_Matches(self._probe(child, None)))
                else:
                    probed.append(child)
        later_best = sum(self.best_possible(child) for child in probed) if needed != _ANY else 0.0
        scores = self._all_words(_intersection([part.scores for part in parts]) if parts else None, words, needed, later_best)
        for child in probed:
            if not scores:
                break
            found = self._probe(child, sorted(scores))
            scores = {docnum: score + found[docnum] for docnum, score in scores.items() if docnum in found}
        return _Matches(scores, [check for part in parts for check in part.checks])

    def _probe(self, node: Any, docnums: list[int] | None) -> dict[int, float]:
        """Whoosh's own matcher for `node`: every match, or only those among `docnums`."""
        matcher = node.matcher(self.leaf, self.leaf.context(weighting=self.weighting))
        found: dict[int, float] = {}
        if docnums is None:
            while matcher.is_active():
                found[matcher.id()] = matcher.score()
                matcher.next()
            return found
        for docnum in docnums:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                found[docnum] = matcher.score()
        return found


class _ScoredGroups:
    """A word's groups of one segment, with their scores: each group's documents are a slice of
    the word's (`impacts.Impacts.docnums`)."""

    def __init__(self, table: _BM25Table, groups: tuple[list[float], list[int], list[int]]) -> None:
        weights, lbytes, self.counts = groups
        self.scores = [table[weight][lbyte] for weight, lbyte in zip(weights, lbytes)]
        self.best = max(self.scores, default=0.0)

    @cached_property
    def slices(self) -> list[slice]:
        """Each group's place among the word's documents: needed only when they are read, not
        for a word's best score or a look-up by group."""
        ends = list(accumulate(self.counts))
        return list(map(slice, [end - count for end, count in zip(ends, self.counts)], ends))

    def take(self, cut: float) -> list[bool]:
        """Which groups score `cut` or more."""
        return list(map(cut.__le__, self.scores))


@dataclass(frozen=True)
class _Word:
    """A word of a segment, and how its postings score: by BM25F's table, or by weight alone
    (no table: fields without lengths)."""

    fieldname: str
    btext: bytes
    table: _BM25Table | None
    info: Any  # Whoosh's TermInfo in this segment: its document count and best weight

    def bound(self, weight: float, length_byte: int) -> float:
        """The best score of postings whose highest weight and shortest length are these."""
        return weight if self.table is None else self.table[weight][length_byte]


def _below(bound: float, needed: float) -> bool:
    """Whether nothing scoring at most `bound` can beat `needed`."""
    return bound < _cut(needed)


def _cut(needed: float) -> float:
    """The lowest score that may still beat `needed`, with room for the last bits a different
    order of sums can change."""
    return needed - 1e-9 * (1.0 + abs(needed))


def _scored_here(node: Any) -> bool:
    """Whether `_Evaluation.of` reads this node's postings itself, rather than probing Whoosh."""
    if node.boost != 1.0:
        return False
    if isinstance(node, AdjacentWords) or type(node) is query.Term:
        return True
    if type(node) in (query.And, query.Or):
        return any(_scored_here(child) for child in node.subqueries)
    return False


def _intersection(parts: list[dict[int, float]]) -> dict[int, float]:
    parts = sorted(parts, key=len)
    scores = parts[0]
    for other in parts[1:]:
        scores = {docnum: score + other[docnum] for docnum, score in scores.items() if docnum in other}
    return scores


def _union(parts: Iterable[dict[int, float]]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for part in parts:
        for docnum, score in part.items():
            scores[docnum] = scores[docnum] + score if docnum in scores else score
    return scores
