"""A segment's common words, their documents grouped by how much each scores.

BM25F scores a word in a document from two numbers only: how often the word is there (its
weight) and the document's length byte. The segment's postings are in document order, so the
best documents of a common word can be found only by reading all of them: at 1,000,000 messages
an AND of two words each in a seventh of the archive read 300,000 postings for the best 20, and
Whoosh's block bounds (the highest weight with the shortest length of a block) skip almost
nothing, because nearly every block of 128 messages holds one short message with the word twice.

Beside each time slice the rebuild writes, `MAIN_<segment>.imp` keeps, for every word in at
least `MIN_DOCS` of its messages, the word's documents grouped by (weight, length byte). A
search scores each group once, with the index's current idf and average length, and reads only
the groups that can still reach the page: in that AND, a tenth of each word's documents. Whoosh
deletes the file with its segment (its name matches the segment's files); a segment without one
(written by a small sync, or before this file existed) is read as before.

The file also keeps each word's group number for every document of the segment: an AND with a
few candidates left looks each one up there instead of building the word's documents.
"""

from __future__ import annotations

import marshal
import mmap
import os
import zlib
from array import array
from collections import defaultdict
from typing import Any

from whoosh.filedb.filestore import FileStorage, OverlayStorage

MIN_DOCS = 1024  # eight blocks of postings: a rarer word is read whole in well under a millisecond
SUFFIX = ".imp"
MAX_GROUPS = 0xFFFF  # a document's group number is two bytes (0: the word is not in it)
_MAGIC = b"deskterm impacts 2\n"
_TRAILER = 8  # the directory's offset, at the end of the file

Group = tuple[float, int, list[int]]  # weight, length byte, the documents' numbers


class Words(dict[tuple[str, bytes], list[Group]]):
    """What a segment writer gathers for its impacts file: (field, word) -> the word's groups,
    for the words in at least `min_docs` documents."""

    def __init__(self, min_docs: int = MIN_DOCS) -> None:
        super().__init__()
        self.min_docs = min_docs


def groups(docnums: Any, weights: Any, lengths: bytes) -> list[Group]:
    """A word's documents (in order) grouped by (weight, length byte)."""
    grouped: dict[tuple[float, int], list[int]] = defaultdict(list)
    for docnum, weight in zip(docnums, weights):
        grouped[weight, lengths[docnum]].append(docnum)
    return [(weight, lbyte, found) for (weight, lbyte), found in grouped.items()]


def write(folder: str, segment_id: str, words: Words, doc_count: int) -> None:
    """Write a segment's impacts file (`doc_count`: the segment's documents, deleted or not).
    Written under a temporary name and renamed, so a reader never sees half of one."""
    path = os.path.join(folder, segment_id + SUFFIX)
    partial = path + ".part"
    directory: dict[tuple[str, bytes], tuple[int, int, int, int]] = {}
    with open(partial, "wb") as out:
        out.write(_MAGIC)
        for word, found in words.items():
            # Crafted mail (a word repeated a different number of times in each of many messages)
            # can give a word more groups than two bytes number: its postings answer for it.
            if len(found) > MAX_GROUPS:
                continue
            groups = marshal.dumps(([weight for weight, _lbyte, _docnums in found],
                                    [lbyte for _weight, lbyte, _docnums in found],
                                    [len(docnums) for _weight, _lbyte, docnums in found]))
            everything = array("I", [docnum for _weight, _lbyte, docnums in found for docnum in docnums])
            packed = zlib.compress(everything.tobytes(), 1)
            group_of = array("H", bytes(2 * doc_count))
            for number, (_weight, _lbyte, docnums) in enumerate(found, 1):
                for docnum in docnums:
                    group_of[docnum] = number
            packed_map = zlib.compress(group_of.tobytes(), 1)
            directory[word] = (out.tell(), len(groups), len(packed), len(packed_map))
            out.write(groups)
            out.write(packed)
            out.write(packed_map)
        at = out.tell()
        out.write(marshal.dumps(directory))
        out.write(at.to_bytes(_TRAILER, "little"))
    os.replace(partial, path)


class Impacts:
    """A segment's impacts file, mapped: the groups of each word it holds."""

    def __init__(self, mapped: mmap.mmap) -> None:
        self._mapped = mapped
        at = int.from_bytes(mapped[-_TRAILER:], "little")
        self._directory: dict[tuple[str, bytes], tuple[int, int, int, int]] = marshal.loads(mapped[at:-_TRAILER])

    def groups(self, fieldname: str, btext: bytes) -> tuple[list[float], list[int], list[int]] | None:
        """The word's groups as three lists: weights, length bytes and how many documents each
        has, in the order `docnums` lists them. None when the file does not hold the word."""
        place = self._directory.get((fieldname, btext))
        if place is None:
            return None
        at, size, _packed, _packed_map = place
        return marshal.loads(self._mapped[at:at + size])

    def docnums(self, fieldname: str, btext: bytes) -> array:
        """The word's documents, group after group (each group's in order)."""
        at, size, packed, _packed_map = self._directory[fieldname, btext]
        return array("I", zlib.decompress(self._mapped[at + size:at + size + packed]))

    def group_of(self, fieldname: str, btext: bytes) -> array:
        """Each document's group, numbered from 1 in the order of `groups`; 0 where the word
        is not. An AND looks its candidates up here, without building the word's documents."""
        at, size, packed, packed_map = self._directory[fieldname, btext]
        start = at + size + packed
        return array("H", zlib.decompress(self._mapped[start:start + packed_map]))


def of(reader: Any) -> Impacts | None:
    """The impacts of a segment's reader, opened once per reader; None without a file."""
    cached = reader.__dict__.get("_deskterm_impacts", False)
    if cached is not False:
        return cached
    found = None
    folder = _folder(reader)
    if folder is not None:
        try:
            with open(os.path.join(folder, reader.segment().segment_id() + SUFFIX), "rb") as file:
                mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            if mapped[:len(_MAGIC)] == _MAGIC:
                found = Impacts(mapped)
        except (OSError, ValueError, EOFError, TypeError):
            found = None  # no file, or not one of ours: the postings are read instead
    reader.__dict__["_deskterm_impacts"] = found
    return found


def _folder(reader: Any) -> str | None:
    storage = reader.storage()
    if isinstance(storage, OverlayStorage):
        storage = storage.b
    return storage.folder if isinstance(storage, FileStorage) else None

