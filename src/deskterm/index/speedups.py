"""Ten fixes to Whoosh's own hot paths, installed by the engine.

Each keeps Whoosh's results exactly; they only remove work Whoosh repeats in pure Python. They
target whoosh-reloaded 2.7 (the `whoosh3` codec); the test suite runs every search through them.
"""

from __future__ import annotations

import pickle
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from whoosh.codec import whoosh3
from whoosh.codec.base import OutOfOrderError
from whoosh.columns import FixedBytesColumn
from whoosh.filedb.structfile import BufferFile
from whoosh.matching import IntersectionMatcher, ReadTooFar
from whoosh.searching import Searcher
from whoosh.writing import SegmentWriter
from whoosh.util.numeric import byte_to_length

from deskterm.index import impacts


def _cached_column_reader(self: Any, fieldname: str, column: Any) -> Any:
    """`W3PerDocReader._cached_reader`, remembering absent columns too.

    Whoosh looks up a length column for every posting it writes and every document it scores; for
    a field without lengths (ids, keywords, numbers) it asked the file system each time: twenty
    `stat` calls per indexed message, a sixth of the indexing time.
    """
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


# A length byte's length, as Whoosh answers it: None for 0, a field without a length.
_LENGTH_OF_BYTE = [None, *(byte_to_length(lbyte) for lbyte in range(1, 256))]


def _doc_field_length(self: Any, docnum: int, fieldname: str, default: int = 0) -> int | None:
    """`W3PerDocReader.doc_field_length` from the whole length column, read once.

    Whoosh read each length through a column reader, a seek and a one-byte read: once per posting
    when it writes a segment, once per document when it scores one (a quarter of a relevance
    search for a common word).
    """
    if docnum > self._doccount:
        raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
    column = self.__dict__.get("_whole_lengths", {}).get(fieldname, b"")
    if column == b"":
        column = _whole_column(self, fieldname)
    if column is None:
        return default
    return _LENGTH_OF_BYTE[column[docnum]]


def whole_lengths(reader: Any, fieldname: str) -> bytes | None:
    """A segment's length byte per document for `fieldname` (`byte_to_length` decodes one), or
    None when the field keeps no lengths. `reader` is a segment's reader."""
    return _whole_column(reader._perdoc, fieldname)


def _whole_column(perdoc: Any, fieldname: str) -> bytes | None:
    columns = perdoc.__dict__.setdefault("_whole_lengths", {})
    column = columns.get(fieldname, b"")
    if column == b"":
        reader = perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        column = columns[fieldname] = None if reader is None else _length_bytes(reader)
    return column


def _length_bytes(reader: Any) -> bytes:
    """A length column's byte per document, in one read of the file.

    Lengths are a column of one byte per document, written up to the last document that has one;
    the rest read as 0. Read document by document, the first relevance search over the 1M index
    took 2.3 s to load the text and subject lengths of its 101 segments; in one read, 1.3 ms.
    """
    if isinstance(reader, FixedBytesColumn.Reader) and reader._fixedlen == 1:
        stored = bytes(reader._dbfile.get(reader._basepos, min(reader._count, reader._doccount)))
        return stored + bytes(reader._doccount - len(stored))
    return bytes(reader)


def _skip_to(self: Any, targetid: int) -> None:
    """`W3LeafMatcher.skip_to` with a binary search inside the block.

    Whoosh stepped through a block's postings one by one; an AND of two common words spends most
    of its time there (at 100,000 messages: 5 million calls for 33 queries).
    """
    if not self.is_active():
        raise ReadTooFar
    if targetid <= self.id():
        return
    if targetid > self._maxid:
        self._skip_to_block(lambda: targetid > self._maxid)
        if not self.is_active():
            return
    if self._ids is None:
        self._read_ids()
    self._i = bisect_left(self._ids, targetid, self._i)
    if self._i >= self._blocklength:
        self._next_block()


def _read_ids(self: Any) -> None:
    """`W3LeafMatcher._read_ids`, summing the block's id deltas with `accumulate`, in C, where
    Whoosh ran a Python generator per id (at 100,000 messages: 655,420 calls for 29 phrases)."""
    if self._data is None:
        self._read_data()
    ids = self._data[0]
    self._ids = ids if self._byteids else tuple(accumulate(ids))


def _intersection_ids(self: Any) -> Any:
    """`IntersectionMatcher.all_ids` by leapfrogging with `skip_to`.

    Whoosh made a set of every id of both sides: a rare word AND a common one read the common
    word's whole posting list (at 1,000,000 messages, 4.5 million ids for 68 queries, 430 ms at
    the 95th percentile). Sorted and unscored searches take this path.
    """
    while self.is_active():
        yield self.id()
        self.next()


def _field_length(self: Any, fieldname: str) -> int:
    """`Searcher.field_length`, summed over the segments once per searcher instead of once per
    scorer (a search over 100 segments built 100 scorers, each summing 100 segments)."""
    if self.has_parent():
        return self.get_parent().field_length(fieldname)
    lengths = self.__dict__.setdefault("_field_lengths", {})
    if fieldname not in lengths:
        lengths[fieldname] = self.reader().field_length(fieldname)
    return lengths[fieldname]


class _MemoryFile:
    """A read-only file over a memoryview that copies only what is read."""

    def __init__(self, view: memoryview) -> None:
        self._view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        self._position = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self._position
        end = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        self._position = max(start, end)
        return bytes(self._view[start:end])

    def peek(self, size: int = 0) -> bytes:
        """Bytes ahead, not consumed. The C unpickler peeks before it reads: a block header is
        then one call, not one a field (a relevance search loads a thousand of them)."""
        return bytes(self._view[self._position:self._position + min(max(size, 1), 1024)])

    def readinto(self, target: Any) -> int:
        data = self.read(len(memoryview(target).cast("B")))
        memoryview(target).cast("B")[:len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(self._position + size, len(self._view))
        line = bytearray()
        while self._position < end:
            byte = self._view[self._position]
            self._position += 1
            line.append(byte)
            if byte == 10:
                break
        return bytes(line)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._position, len(self._view))[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._view = memoryview(b"")


def _add_postings(self: Any, schema: Any, lengths: Any, items: Any) -> None:
    """`FieldWriter.add_postings` for the whoosh3 codec, adding each posting in the loop.

    Writing a segment, Whoosh made three calls per posting (the field writer's `add`, the
    posting writer's `add_posting` with its four type assertions, the length look-up); a
    10,000-message segment has 843,746 postings. This fills the same blocks with the same
    statistics: the block's highest weight and its shortest and longest length are kept in
    locals, and handed to the posting writer before it writes a block or finishes a term.

    A field writer given `impact_words` (`impacts.Words`) also keeps there the groups of each
    common word of a field with lengths: each block's documents are kept as the block is
    written, so the loop itself does no more per posting.
    """
    lastfn: str | None = None
    lasttext: bytes | None = None
    writer: Any = None
    ids: Any = None
    weights: Any = None
    values: Any = None
    maxweight: float = 0
    minlength: int | None = None
    maxlength: int = 0
    blocklimit = 0
    column: bytes | None = None
    other_lengths: Any = None
    impact_words = self.__dict__.get("impact_words")
    term_ids: list[int] = []
    term_weights: list[float] = []

    for fieldname, btext, docnum, weight, value in items:
        if fieldname != lastfn:
            if lastfn is not None and fieldname < lastfn:
                raise OutOfOrderError(f"Field {lastfn!r} .. {fieldname!r}")
            if lasttext is not None:
                _end_term(self, (maxweight, minlength, maxlength), impact_words, lastfn, lasttext, column,
                          term_ids, term_weights)
            if lastfn is not None:
                self.finish_field()
            self.start_field(fieldname, schema[fieldname])
            lastfn, lasttext = fieldname, None
            column, other_lengths = None, None
            if lengths and isinstance(lengths, whoosh3.W3PerDocReader):
                column = _whole_column(lengths, fieldname)
            elif lengths:
                other_lengths = lengths.doc_field_length
        elif lasttext and btext < lasttext:
            raise OutOfOrderError(f"Term {lastfn}:{lasttext!r} .. {fieldname}:{btext!r}")
        if docnum == -1:  # Whoosh's marker for a spelling word: not a posting
            continue
        if btext != lasttext:
            if lasttext is not None:
                _end_term(self, (maxweight, minlength, maxlength), impact_words, lastfn, lasttext, column,
                          term_ids, term_weights)
            self.start_term(btext)
            lasttext = btext
            writer = self._postwriter
            blocklimit = writer._blocklimit
            ids, weights, values = writer._ids, writer._weights, writer._values
            maxweight, minlength, maxlength = writer._maxweight, writer._minlength, writer._maxlength
        if len(ids) >= blocklimit:
            writer._maxweight, writer._minlength, writer._maxlength = maxweight, minlength, maxlength
            if impact_words is not None:
                term_ids += ids
                term_weights += weights
            writer._write_block()
            ids, weights, values = writer._ids, writer._weights, writer._values
            maxweight, minlength, maxlength = writer._maxweight, writer._minlength, writer._maxlength
        if column is not None:
            length = _LENGTH_OF_BYTE[column[docnum]]
        else:
            length = other_lengths(docnum, fieldname) if other_lengths else 0
        ids.append(docnum)
        weights.append(weight)
        if weight > maxweight:
            maxweight = weight
        if value:
            values.append(value)
        if length:
            if minlength is None or length < minlength:
                minlength = length
            if length > maxlength:
                maxlength = length
    if lasttext is not None:
        _end_term(self, (maxweight, minlength, maxlength), impact_words, lastfn, lasttext, column,
                  term_ids, term_weights)


def _end_term(field_writer: Any, stats: tuple[float, int | None, int], impact_words: impacts.Words | None,
              fieldname: str | None, btext: bytes | None, column: bytes | None,
              term_ids: list[int], term_weights: list[float]) -> None:
    """Finish the term `_add_postings` was writing: its last block's statistics, its groups for
    `impact_words` (emptying the two lists that gathered its postings), the term itself."""
    writer = field_writer._postwriter
    writer._maxweight, writer._minlength, writer._maxlength = stats
    if impact_words is not None:
        term_ids += writer._ids
        term_weights += writer._weights
        if column is not None and len(term_ids) >= impact_words.min_docs:
            impact_words[fieldname, btext] = impacts.groups(term_ids, term_weights, column)
        term_ids.clear()
        term_weights.clear()
    field_writer.finish_term()


_whoosh_add_document = SegmentWriter.add_document
_POSTING_BYTES = 200  # what the posting pool counts against its memory limit, per posting


def _add_document(self: Any, **fields: Any) -> None:
    """`SegmentWriter.add_document` handing a message's postings to the pool in one step.

    Whoosh's loop ran every posting through a generator that encodes its term, a boost multiply
    and the pool's `add` (two type assertions and a size sum): 84 postings a message. Fields
    whose format has `postings()` (deskterm's text fields) build the pool's tuples themselves;
    the others go through `field.index()` as before. The pool sorts what it is given, so the
    segment is the same; only its memory count is an estimate per posting. Documents with
    boosts, and schemas with spelling or vector fields, take Whoosh's own path.
    """
    schema = self.schema
    if any(name.startswith("_") for name in fields) or _needs_whoosh(self):
        return _whoosh_add_document(self, **fields)
    self._check_state()
    self._check_fields(schema, fields)
    docnum = self.docnum
    perdoc = self.perdocwriter
    postings: list[tuple[Any, ...]] = []
    perdoc.start_doc(docnum)
    try:
        for fieldname in sorted(fields):
            value = fields[fieldname]
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if field.indexed:
                before = len(postings)
                lean = getattr(field.format, "postings", None)
                if lean is not None:
                    length = lean(fieldname, value, docnum, postings)
                else:
                    for btext, frequency, weight, value_bytes in field.index(value):
                        length += frequency
                        postings.append((fieldname, btext, docnum, weight * 1.0, value_bytes))  # as Whoosh: x boost 1.0
                if not field.scorable:
                    length = 0
                if len(postings) > before:
                    self.pool.fieldnames.add(fieldname)
            perdoc.add_field(fieldname, field, value if field.stored else None, length)
            if field.column_type:
                perdoc.add_column_value(fieldname, field.column_type, field.to_column_value(value))
    except Exception:
        perdoc.cancel_doc()
        raise
    perdoc.finish_doc()
    pool = self.pool
    pool.current.extend(postings)
    pool.currentsize += _POSTING_BYTES * len(postings)
    if pool.currentsize > pool.limit:
        pool.save()
    self._added = True
    self.docnum += 1


def _needs_whoosh(writer: Any) -> bool:
    """Whether the writer's schema has fields `_add_document` leaves to Whoosh (spelling, vectors)."""
    needs = writer.__dict__.get("_needs_whoosh")
    if needs is None:
        needs = writer._needs_whoosh = any(field.separate_spelling() or field.vector
                                           for _, field in writer.schema.items())
    return needs


def _dumps(obj: Any, protocol: int | None = None) -> bytes:
    """The codec's `dumps`, with pickle protocol 5 where Whoosh asks for 2.

    A block of postings is a pickle of its ids, weights and values, and in protocol 2 each value
    (a posting's word positions, as bytes) is a call to `_codecs.encode` on loading. In protocol
    5 a block of a common word loads 2.3 times as fast and is a third smaller compressed
    (17.8 against 7.7 µs, 568 against 379 bytes). `pickle.loads` reads either, so an index
    written before reads as it did.
    """
    return pickle.dumps(obj, 5)


def _buffer_file_init(self: Any, buf: Any, name: str | None = None, onclose: Any = None) -> None:
    """`BufferFile.__init__` without the copy.

    Whoosh opens every part of a segment (postings, terms, stored fields, columns) as a view of
    the segment's memory map, and `BufferFile` wrapped each in a `BytesIO`, which copies the
    whole part: a searcher over the 1M index held its 2.1 GB twice, once mapped and once copied
    (3.9 GB resident). Reads by position already use the view; reads in sequence now copy only
    what they read.
    """
    self._buf = buf
    self._name = name
    self.file = _MemoryFile(memoryview(buf))
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def install() -> None:
    BufferFile.__init__ = _buffer_file_init
    whoosh3.dumps = _dumps
    whoosh3.W3FieldWriter.add_postings = _add_postings
    SegmentWriter.add_document = _add_document
    whoosh3.W3PerDocReader._cached_reader = _cached_column_reader
    whoosh3.W3PerDocReader.doc_field_length = _doc_field_length
    whoosh3.W3LeafMatcher.skip_to = _skip_to
    whoosh3.W3LeafMatcher._read_ids = _read_ids
    IntersectionMatcher.all_ids = _intersection_ids
    Searcher.field_length = _field_length
