"""The Whoosh side of the index. Nothing outside deskterm.index imports Whoosh.

The index is a cache of the store. Documents are fed from `index_outbox`, whose rows are written
in the same transaction as the data; the highest outbox position applied is kept in a meta
document committed with the batch, so after a crash (or a `kill -9`) the next sync resumes where
the index really is. Whoosh allows one writer per index: it is taken with a timeout, and a
process that does not get it leaves the work to the one that has it. Readers never wait.

A rebuild writes the messages newest first as time slices of `SEGMENT_DOCS`, in parallel worker
processes; syncs add small segments that are merged among themselves only. A newest-first
search (the default, as in notmuch) reads segments from the newest and stops once no older
segment can change the page.
"""

from __future__ import annotations

import datetime as dt
import heapq
import multiprocessing
import os
import shutil
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index, query, scoring
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, Schema
from whoosh.index import LockError
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from deskterm.index import query as q
from deskterm.index import impacts, ranking, speedups
from deskterm.index.analysis import terms, text_field
from deskterm.index.phrase import AdjacentWords
from deskterm.index.snippets import snippet
from deskterm.index.documents import AMAZON_ORDER, SHOPIFY_ORDER, MessageDoc, known_skus, load_docs
from deskterm.store import Store

speedups.install()

META_ID = "__meta__"
SCHEMA_VERSION = 7  # bump when the fields change: an older index is then rebuilt on open
BATCH = 10_000  # outbox rows per commit; each commit writes a segment, costly per term (2,000 was slower)
PARALLEL_FROM = 4_000  # messages in one batch from which worker processes write them
SEGMENT_DOCS = 10_000  # messages per time slice written by a rebuild (bigger slices spill to disk)
SMALL_SEGMENT = 5_000  # segments below this (written by syncs) are merged together, never into slices
MAX_WORKERS = 4
KEYWORD_FIELDS = ("order", "sku", "asin", "tag", "risk", "is", "has")
_WITHOUT_POSITIONS = ("sender", "to")
# `body:` searches the combined field: the body is indexed once, there.
_FIELD_OF = {"from": "sender", "to": "to", "subject": "subject", "body": "text"}


def make_schema() -> Schema:
    fields: dict[str, Any] = {
        "id": ID(stored=True, unique=True),
        "kind": ID,
        "ticket": ID,
        # What a bare word searches: subject (twice, so it weighs more), body, sender and
        # attachment names in one field: one posting list per word instead of an OR over four
        # fields (words p50 at 10,000 messages: 9.5 -> 5.8 ms).
        "text": text_field(),
        "subject": text_field(),
        "sender": text_field(phrase=False),  # names and addresses: no phrases, no positions
        "to": text_field(phrase=False),
        "channel": ID,
        "marketplace": ID,
        # Sorting uses the column; ranges use `day`, so fewer trie terms per message (shift 16).
        "sent_at": NUMERIC(int, bits=64, sortable=True, shift_step=16),
        # Whole days since 1970: a date filter over days expands to a few terms, where the same
        # range over seconds expanded to hundreds (dated queries were the slowest kind).
        "day": NUMERIC(int, bits=16, signed=False),  # 4 trie terms instead of 8; good until 2149
        "stamp": STORED,
        "applied": STORED,
        "top": STORED,       # the highest message row id the index has ever held
        "version": STORED,
    }
    fields.update({name: KEYWORD(lowercase=True) for name in KEYWORD_FIELDS})
    return Schema(**fields)


class IndexUnreadable(Exception):
    """The index folder is missing, empty or damaged; it can be rebuilt from the store."""


@dataclass
class EngineHit:
    rowid: int
    score: float
    snippet: str | None


def _epoch(iso_text: str) -> int:
    if not iso_text:
        return 0
    return int(dt.datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp())


def _document(doc: MessageDoc) -> dict[str, Any]:
    fields = dict(doc.fields)
    body, attachment = fields.pop("body"), fields.pop("attachment")
    fields["text"] = "\n".join((fields["subject"], fields["subject"], body, fields["sender"], attachment))
    fields["kind"] = "message"
    fields["sent_at"] = _epoch(fields["sent_at"])
    fields["day"] = fields["sent_at"] // 86400
    fields["stamp"] = doc.stamp
    return {k: v for k, v in fields.items() if v != ""}


class WhooshEngine:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._index: Any = None
        self._searcher: Any = None  # kept open between searches: its caches are what make them fast
        self._spans: dict[str, tuple[int, int] | None] = {}
        self._meta_of: Any = None
        self._meta_fields: dict[str, Any] | None = None

    # -- opening -----------------------------------------------------------------------------
    def open(self) -> Any:
        if self._index is None:
            try:
                if not index.exists_in(str(self.folder)):
                    raise IndexUnreadable(f"no index in {self.folder}")
                opened = index.open_dir(str(self.folder))
                with opened.searcher() as searcher:  # touch it: a damaged segment fails here
                    meta = searcher.document(id=META_ID) or {}
                if meta.get("version") != SCHEMA_VERSION:
                    raise IndexUnreadable(f"the index in {self.folder} has an older layout")
                self._index = opened
            except IndexUnreadable:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to read means: rebuild
                raise IndexUnreadable(f"the index in {self.folder} cannot be read: {type(exc).__name__}: {exc}") from None
        return self._index

    def searcher(self) -> Any:
        """A reader of the latest commit, reused while it is current."""
        if self._searcher is None:
            self._searcher = self.open().searcher()
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
        return self._searcher

    def _meta(self) -> dict[str, Any] | None:
        """The meta document of the current commit, read once per commit: finding it by id
        visits every segment, and a search asked for it three times."""
        searcher = self.searcher()
        if self._meta_of is not searcher:
            self._meta_of, self._meta_fields = searcher, searcher.document(id=META_ID)
        return self._meta_fields

    def applied(self) -> int:
        meta = self._meta()
        return int(meta["applied"]) if meta else 0

    def doc_count(self) -> int:
        return self.searcher().doc_count() - (1 if self._meta() else 0)

    def stamps(self) -> dict[int, str]:
        found = {}
        with self.open().searcher() as searcher:
            for fields in searcher.all_stored_fields():
                if fields.get("id") != META_ID:
                    found[int(fields["id"])] = fields.get("stamp", "")
        return found

    # -- writing -----------------------------------------------------------------------------
    def apply(self, store: Store, lock_timeout: float, batch: int = BATCH,
              parallel_from: int = PARALLEL_FROM) -> int:
        """Apply pending outbox rows in batches; return how many rows were applied.

        If another process holds the writer lock past `lock_timeout`, return 0: it is applying
        the same outbox, and nothing is lost by leaving it the work.

        A message whose row id is above every id the index has held is new: it is added without
        looking for an older copy; an older one's copy is looked for where its day is first (see
        `_delete_copies`). A batch of `parallel_from` messages or more is written by worker
        processes, as a rebuild is. docs/performance.md has the measured sync rates.
        """
        applied_total = 0
        skus: set[str] | None = None
        # New messages a batch of ours left to a later one (see `_settled_in_batch`): no copy of
        # them exists to look for, though the next batch finds them under `top`. At 1M, looking for
        # them in every segment was most of a sync's index time. Forgotten if another process
        # applied batches in between (it may have indexed them).
        unindexed: set[int] = set()
        our_last: int | None = None
        while True:
            pending = store.scalar("SELECT max(seq) FROM index_outbox")
            if not pending or pending <= self.applied():
                return applied_total  # nothing to do: no lock taken, readers undisturbed
            try:
                writer = self.open().writer(timeout=lock_timeout, delay=0.05)
            except LockError:
                return applied_total
            try:
                with writer.searcher() as searcher:
                    meta = searcher.document(id=META_ID)
                start = int(meta["applied"]) if meta else 0
                top = int(meta["top"]) if meta else 0
                if start != our_last:
                    unindexed.clear()
                rows = store.rows("SELECT seq, message_rowid FROM index_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                                  (start, batch))
                if not rows:
                    writer.cancel()
                    return applied_total
                rowids = self._settled_in_batch(store, rows)
                unindexed.update(row[1] for row in rows if row[1] > top)
                self._delete_copies(writer, store, [rowid for rowid in rowids if rowid <= top
                                                    and rowid not in unindexed])
                unindexed.difference_update(rowids)
                slices: list[Any] = []
                if len(rowids) >= parallel_from:
                    # Much to write at once (a first sync, a day's mail): worker processes write the
                    # messages as rebuild does, in time slices.
                    marks = ", ".join("?" for _ in rowids)
                    newest_first = [row[0] for row in store.rows(
                        f"SELECT id FROM messages WHERE id IN ({marks}) ORDER BY sent_at DESC, id DESC", rowids)]
                    share = -(-len(newest_first) // (os.cpu_count() or 1))  # a slice for each core at least
                    slices = _write_slices(store.path, self.folder, _slices(newest_first, min(share, SEGMENT_DOCS)),
                                           None)
                    top = max([top, *newest_first])
                else:
                    skus = known_skus(store) if skus is None else skus  # workers read their own
                    docs = {doc.id: doc for doc in load_docs(store, rowids, skus)}
                    for rowid in rowids:
                        if rowid in docs:
                            writer.add_document(**_document(docs[rowid]))
                    top = max([top, *docs])
                writer.update_document(id=META_ID, kind="meta", applied=rows[-1][0], top=top, version=SCHEMA_VERSION)
                writer.commit(mergetype=lambda own, existing: [*_merge_small_segments(own, existing), *slices])
            except BaseException:
                writer.cancel()
                raise
            self._index = self._searcher = self._meta_of = None  # reopen to see the new commit
            applied_total += len(rows)
            our_last = rows[-1][0]

    def _delete_copies(self, writer: Any, store: Store, rowids: list[int]) -> None:
        """Delete the indexed copies of these messages.

        Whoosh's `delete_by_term` looks an id up in every segment, over a hundred at a million
        messages: a third of an IMAP sync into the 1M archive, where new mail re-indexes the older
        messages of its tickets. A message's copy lives in a segment whose days span its own, so
        those are looked in first, and the others only if no live copy is found there.
        """
        if not rowids:
            return
        marks = ", ".join("?" for _ in rowids)
        days = {row[0]: _epoch(row[1]) // 86400
                for row in store.rows(f"SELECT id, sent_at FROM messages WHERE id IN ({marks})", rowids)}
        searcher = writer.searcher()
        try:
            leaves = [(leaf.reader(), offset) for leaf, offset in searcher.leaf_searchers()]
            spans = [self._day_span(reader) for reader, _offset in leaves]
            for rowid in rowids:
                day = days.get(rowid)
                likely = [leaf for leaf, span in zip(leaves, spans) if day is not None and span
                          and span[0] <= day <= span[1]]
                if not _delete_in(writer, likely, str(rowid)):
                    _delete_in(writer, [leaf for leaf in leaves if leaf not in likely], str(rowid))
        finally:
            searcher.close()

    @staticmethod
    def _settled_in_batch(store: Store, rows: list[Any]) -> list[int]:
        """The messages of a batch of outbox rows that no later row names, in row id order.

        A message that arrives and is then triaged has two rows (its insert, then its ticket's
        change); indexed at its last row only, it is written once, as new, instead of added and
        then looked up in every segment and replaced."""
        rowids = sorted({row[1] for row in rows})
        marks = ", ".join("?" for _ in rowids)
        later = {row[0] for row in store.rows(
            f"SELECT DISTINCT message_rowid FROM index_outbox WHERE seq > ? AND message_rowid IN ({marks})",
            (rows[-1][0], *rowids))}
        return [rowid for rowid in rowids if rowid not in later]

    def rebuild(self, store: Store, progress: Callable[[int, int], None] | None = None,
                segment_docs: int = SEGMENT_DOCS) -> int:
        """Build a fresh index beside the old one from every message, then swap it in.

        Messages are written newest first in segments of `segment_docs`, one time slice each,
        so a newest-first search can stop after the newest slices (see `_search_newest`). Slices
        are written by worker processes in parallel, each reading its own messages from the store.
        """
        parent = self.folder.parent
        self._remove_leftovers()
        fresh = parent / f".{self.folder.name}.new-{os.getpid()}"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True, mode=0o700)
        try:
            applied = store.scalar("SELECT coalesce(max(seq), 0) FROM index_outbox")
            ids = [row[0] for row in store.rows("SELECT id FROM messages ORDER BY sent_at DESC, id DESC")]
            built = index.create_in(str(fresh), make_schema())
            slices = _slices(ids, segment_docs)
            segments = _write_slices(store.path, fresh, slices, progress)
            writer = built.writer()
            writer.add_document(id=META_ID, kind="meta", applied=applied, top=max(ids, default=0),
                                version=SCHEMA_VERSION)
            writer.commit(mergetype=lambda _writer, existing: [*existing, *segments])
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        old = parent / f".{self.folder.name}.old-{os.getpid()}"
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(fresh, self.folder)
        shutil.rmtree(old, ignore_errors=True)
        self._index = self._searcher = self._meta_of = None
        return len(ids)

    def _remove_leftovers(self) -> None:
        """Delete the folders of rebuilds that were killed: `.index.new-PID` (half written) and
        `.index.old-PID` (swapped out, not yet deleted) of a process that is gone. Each can be as
        big as the index, and nothing else would ever remove them."""
        if not self.folder.parent.is_dir():
            return
        for path in self.folder.parent.iterdir():
            stem, _, pid = path.name.rpartition("-")
            if stem not in (f".{self.folder.name}.new", f".{self.folder.name}.old") or not pid.isdigit():
                continue
            if int(pid) == os.getpid() or not _alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)

    # -- reading -----------------------------------------------------------------------------
    def search(self, node: q.Node, limit: int, newest_first: bool,
               texts: Callable[[list[int]], dict[int, str]]) -> list[EngineHit]:
        """The best `limit` hits; `texts` gives their bodies, for snippets. (No total count:
        counting every match of a broad word cost a third of a search.)"""
        whoosh_query = to_whoosh(node)
        searcher = self.searcher()
        if newest_first:
            found = [(rowid, 0.0) for rowid in self._search_newest(searcher, whoosh_query, limit)]
        else:
            found = self._search_relevant(searcher, whoosh_query, limit)
        words = frozenset(text for field, text in whoosh_query.iter_all_terms() if field in ("text", "subject"))
        bodies = texts([rowid for rowid, _score in found])
        return [EngineHit(rowid, score, snippet(bodies.get(rowid, ""), words)) for rowid, score in found]

    @staticmethod
    def _search_relevant(searcher: Any, whoosh_query: Any, limit: int) -> list[tuple[int, float]]:
        """Message ids and scores, best first. The meta document has no text and no day, and
        negations start from kind:message, so it never matches."""
        ranked = ranking.best(searcher, whoosh_query, limit)
        if ranked is None:
            # No mask and no matched-term recording: at 100,000 messages both cost a third of the
            # median search.
            ranked = [(hit.docnum, float(hit.score or 0.0)) for hit in searcher.search(whoosh_query, limit=limit)]
        return [(int(searcher.stored_fields(docnum)["id"]), score) for docnum, score in ranked]

    def _search_newest(self, searcher: Any, whoosh_query: Any, limit: int) -> list[int]:
        """Message ids, newest first: one segment at a time from the newest, stopping once no
        older segment can hold a match newer than the page's last.

        A rebuild writes the index as time slices, so a search for a common word reads the
        newest slice or two instead of every match in the archive. Matches are read unscored,
        straight from the matcher: Whoosh's sorting collector cost 2 ms a segment to set up.
        """
        leaves = []
        for leaf, _offset in searcher.leaf_searchers():
            span = self._day_span(leaf.reader())
            if span is not None:
                leaves.append((span[1], leaf))
        leaves.sort(key=lambda item: item[0], reverse=True)
        page: list[tuple[int, int]] = []  # (sent_at, message id), newest first
        for last_day, leaf in leaves:
            if len(page) >= limit and page[limit - 1][0] >= (last_day + 1) * 86400:
                break
            matcher = whoosh_query.matcher(leaf, leaf.context(needs_current=False, weighting=_UNSCORED))
            if not matcher.is_active():
                continue
            sent_at = leaf.reader().column_reader("sent_at")
            newest = heapq.nlargest(limit, ((sent_at[docnum], docnum) for docnum in matcher.all_ids()))
            found = [(stamp, int(leaf.stored_fields(docnum)["id"])) for stamp, docnum in newest]
            page = heapq.nlargest(limit, [*page, *found])
        return [rowid for _sent_at, rowid in page]

    def _day_span(self, reader: Any) -> tuple[int, int] | None:
        """The first and last day of a segment's messages, from its `day` terms (cached: a
        segment never changes; deletions only make the span wider than it needs to be)."""
        key = reader.segment().segment_id()
        if key not in self._spans:
            field = reader.schema["day"]
            days = [field.from_bytes(token) for token in field.sortable_terms(reader, "day")]
            self._spans[key] = (days[0], days[-1]) if days else None
        return self._spans[key]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _delete_in(writer: Any, leaves: list[tuple[Any, int]], rowid: str) -> bool:
    """Delete the message `rowid` from these (segment reader, first document number) pairs;
    True if a live copy was there."""
    found = False
    for reader, offset in leaves:
        if ("id", rowid) in reader:
            for docnum in reader.postings("id", rowid).all_ids():
                if not reader.is_deleted(docnum):
                    writer.delete_document(offset + docnum)
                    found = True
    return found


def _merge_small_segments(writer: Any, segments: list[Any]) -> list[Any]:
    """Merge the small segments syncs write, once there are several; never the time slices.

    Whoosh's default policy would, past some size, merge slices together: at a million messages
    one sync would rewrite half the index, and the merged slices would span all of time.
    """
    small = [segment for segment in segments if segment.doc_count_all() < SMALL_SEGMENT]
    if len(small) < 4:
        return segments
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    merged = {segment.segment_id() for segment in small}
    return [segment for segment in segments if segment.segment_id() not in merged]


def _slices(ids: list[int], most: int) -> list[list[int]]:
    """At most `most` ids a slice, in a number of slices the workers share evenly (5 slices on
    2 workers left one idle for the last fifth of a rebuild)."""
    if len(ids) <= most:
        return [ids] if ids else []
    count = -(-len(ids) // most)
    workers = _workers(count)
    count = -(-count // workers) * workers
    return [ids[number * len(ids) // count:(number + 1) * len(ids) // count] for number in range(count)]


def _workers(slices: int) -> int:
    return min(slices, os.cpu_count() or 1, MAX_WORKERS)


def _write_slices(db_path: Path, folder: Path, slices: list[list[int]],
                  progress: Callable[[int, int], None] | None) -> list[Any]:
    """Write each slice of message ids as one segment of the index in `folder`; return them."""
    total = sum(len(ids) for ids in slices)
    workers = _workers(len(slices))
    if workers < 2:
        done = 0

        def written_here(count: int) -> None:
            nonlocal done
            done += count
            if progress:
                progress(done, total)

        return [_write_segment(db_path, folder, ids, written_here) for ids in slices]
    context = multiprocessing.get_context("spawn")  # the parent's SQLite handle must not be forked
    written = context.Value("q", 0)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(written,)) as pool:
        futures = [pool.submit(_write_segment, db_path, folder, ids) for ids in slices]
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # the first failure stops the rebuild, not the last slice
                if progress:
                    progress(written.value, total)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        return [future.result() for future in futures]


_written: Any = None  # a worker's shared counter of messages written, for the parent's progress bar


def _start_worker(written: Any) -> None:
    global _written
    _written = written


def _write_segment(db_path: Path, folder: Path, ids: list[int],
                   written_here: Callable[[int], None] | None = None) -> Any:
    """One segment holding these messages, in this order (a worker process's job)."""
    store = Store(db_path)
    try:
        writer = SegmentWriter(index.open_dir(str(folder)), _lk=False, limitmb=256)
        writer.fieldwriter.impact_words = impact_words = impacts.Words()  # filled as postings are written
        skus = known_skus(store)
        for start in range(0, len(ids), 2000):
            part = ids[start:start + 2000]
            docs = {doc.id: doc for doc in load_docs(store, part, skus)}
            for rowid in part:
                if rowid in docs:  # deleted since the ids were read
                    writer.add_document(**_document(docs[rowid]))
            if written_here:
                written_here(len(part))
            else:
                with _written.get_lock():
                    _written.value += len(part)
        # Not writer._finish(): it would delete the temporary folder the other workers share; the
        # parent's commit removes it once every slice is written.
        segment = writer._finalize_segment()
        impacts.write(str(folder), segment.segment_id(), impact_words, segment.doc_count_all())
        return segment
    finally:
        store.close()


_UNSCORED = scoring.Frequency()  # matchers need a weighting; this one costs nothing to set up


def to_whoosh(node: q.Node) -> Any:
    if isinstance(node, q.And):
        return query.And([to_whoosh(child) for child in node.children])
    if isinstance(node, q.Or):
        return query.Or([to_whoosh(child) for child in node.children])
    if isinstance(node, q.Not):
        return query.And([query.Term("kind", "message"), query.Not(to_whoosh(node.child))])
    if isinstance(node, q.DateRange):
        start = int(node.start.timestamp()) if node.start else None
        end = int(node.end.timestamp()) if node.end else None
        if all(bound is None or bound % 86400 == 0 for bound in (start, end)):
            return query.NumericRange("day", None if start is None else start // 86400,
                                      None if end is None else end // 86400 - 1)
        return query.NumericRange("sent_at", start, None if end is None else end - 1)
    return _term(node)


def _text_query(field: str, text: str) -> Any:
    words = terms(text)
    if not words:
        return query.NullQuery
    if len(words) == 1:
        return query.Term(field, words[0])
    if field in _WITHOUT_POSITIONS:  # an address's parts: all of them, in any order
        return query.And([query.Term(field, word) for word in words])
    return AdjacentWords(field, words)


def _term(node: q.Term) -> Any:
    if node.field is None:
        words = _text_query("text", node.text)
        if AMAZON_ORDER.fullmatch(node.text) or SHOPIFY_ORDER.fullmatch(node.text):
            return query.Or([words, query.Term("order", node.text.lower())])
        return words
    if node.field in _FIELD_OF:
        return _text_query(_FIELD_OF[node.field], node.text)
    return query.Term(node.field, node.text.lower())  # keyword and id fields are stored lower-case
