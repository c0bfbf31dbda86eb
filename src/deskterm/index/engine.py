"""The Whoosh side of the index. Nothing outside deskterm.index imports Whoosh.

The index is a cache of the store. Documents are fed from `index_outbox`, whose rows are written
in the same transaction as the data; the highest outbox position applied is kept in a meta
document committed with the batch, so after a crash (or a `kill -9`) the next sync resumes where
the index really is. Whoosh allows one writer per index: it is taken with a timeout, and a
process that does not get it leaves the work to the one that has it. Readers never wait.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import highlight, index, query
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.index import LockError

from deskterm.index import query as q
from deskterm.index.analysis import terms, text_analyzer
from deskterm.index.documents import AMAZON_ORDER, SHOPIFY_ORDER, MessageDoc, known_skus, load_docs
from deskterm.store import Store

META_ID = "__meta__"
SCHEMA_VERSION = 4  # bump when the fields change: an older index is then rebuilt on open
BATCH = 2000
KEYWORD_FIELDS = ("order", "sku", "asin", "tag", "risk", "is", "has")
_WITHOUT_POSITIONS = ("sender", "to")
# `body:` searches the combined field: the body is indexed once, there.
_FIELD_OF = {"from": "sender", "to": "to", "subject": "subject", "body": "text"}


def make_schema() -> Schema:
    analyzer = text_analyzer()
    fields: dict[str, Any] = {
        "id": ID(stored=True, unique=True),
        "kind": ID,
        "ticket": ID,
        # What a bare word searches: subject (twice, so it weighs more), body, sender and
        # attachment names in one field: one posting list per word instead of an OR over four
        # fields (words p50 at 10,000 messages: 9.5 -> 5.8 ms).
        "text": TEXT(analyzer=analyzer),
        "subject": TEXT(analyzer=analyzer),
        "sender": TEXT(analyzer=analyzer, phrase=False),  # names and addresses: no phrases, no positions
        "to": TEXT(analyzer=analyzer, phrase=False),
        "channel": ID,
        "marketplace": ID,
        # Sorting uses the column; ranges use `day`, so fewer trie terms per message (shift 16).
        "sent_at": NUMERIC(int, bits=64, sortable=True, shift_step=16),
        # Whole days since 1970: a date filter over days expands to a few terms, where the same
        # range over seconds expanded to hundreds (dated queries were the slowest kind).
        "day": NUMERIC(int, bits=32),
        "stamp": STORED,
        "applied": STORED,
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

    def applied(self) -> int:
        meta = self.searcher().document(id=META_ID)
        return int(meta["applied"]) if meta else 0

    def doc_count(self) -> int:
        searcher = self.searcher()
        return searcher.doc_count() - (1 if searcher.document(id=META_ID) else 0)

    def stamps(self) -> dict[int, str]:
        found = {}
        with self.open().searcher() as searcher:
            for fields in searcher.all_stored_fields():
                if fields.get("id") != META_ID:
                    found[int(fields["id"])] = fields.get("stamp", "")
        return found

    # -- writing -----------------------------------------------------------------------------
    def apply(self, store: Store, lock_timeout: float, batch: int = BATCH) -> int:
        """Apply pending outbox rows in batches; return how many rows were applied.

        If another process holds the writer lock past `lock_timeout`, return 0: it is applying
        the same outbox, and nothing is lost by leaving it the work.
        """
        applied_total = 0
        skus: set[str] | None = None
        while True:
            pending = store.scalar("SELECT max(seq) FROM index_outbox")
            if not pending or pending <= self.applied():
                return applied_total  # nothing to do: no lock taken, readers undisturbed
            skus = known_skus(store) if skus is None else skus
            try:
                writer = self.open().writer(timeout=lock_timeout, delay=0.05)
            except LockError:
                return applied_total
            try:
                with writer.searcher() as searcher:
                    meta = searcher.document(id=META_ID)
                start = int(meta["applied"]) if meta else 0
                rows = store.rows("SELECT seq, message_rowid FROM index_outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                                  (start, batch))
                if not rows:
                    writer.cancel()
                    return applied_total
                rowids = sorted({row[1] for row in rows})
                docs = {doc.id: doc for doc in load_docs(store, rowids, skus)}
                for rowid in rowids:
                    if rowid in docs:
                        writer.update_document(**_document(docs[rowid]))
                    else:
                        writer.delete_by_term("id", str(rowid))
                writer.update_document(id=META_ID, kind="meta", applied=rows[-1][0], version=SCHEMA_VERSION)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            self._index = self._searcher = None  # reopen to see the new commit
            applied_total += len(rows)

    def rebuild(self, store: Store, progress: Callable[[int, int], None] | None = None) -> int:
        """Build a fresh index beside the old one from every message, then swap it in."""
        parent = self.folder.parent
        fresh = parent / f".{self.folder.name}.new-{os.getpid()}"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True, mode=0o700)
        applied = store.scalar("SELECT coalesce(max(seq), 0) FROM index_outbox")
        total = store.scalar("SELECT count(*) FROM messages")
        built = index.create_in(str(fresh), make_schema())
        writer = built.writer(limitmb=128, procs=2, multisegment=True)
        done = 0
        try:
            for chunk in _chunks(store):
                for doc in chunk:
                    writer.add_document(**_document(doc))
                done += len(chunk)
                if progress:
                    progress(done, total)
            writer.add_document(id=META_ID, kind="meta", applied=applied, version=SCHEMA_VERSION)
            writer.commit()
        except BaseException:
            writer.cancel()
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        old = parent / f".{self.folder.name}.old-{os.getpid()}"
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(fresh, self.folder)
        shutil.rmtree(old, ignore_errors=True)
        self._index = self._searcher = None
        return done

    # -- reading -----------------------------------------------------------------------------
    def search(self, node: q.Node, limit: int, newest_first: bool,
               texts: Callable[[list[int]], dict[int, str]]) -> list[EngineHit]:
        """The best `limit` hits; `texts` gives their bodies, for snippets. (No total count:
        counting every match of a broad word cost a third of a search.)"""
        whoosh_query = to_whoosh(node)
        searcher = self.searcher()
        # No mask and no matched-term recording: at 100,000 messages both cost a third of the
        # median search. The meta document has no text and no day, and negations start from
        # kind:message, so it never matches.
        results = searcher.search(whoosh_query, limit=limit, sortedby="sent_at" if newest_first else None,
                                  reverse=newest_first)
        results.fragmenter = highlight.ContextFragmenter(maxchars=160, surround=50)
        results.formatter = _Marks()
        rowids = [int(hit["id"]) for hit in results]
        bodies = texts(rowids)
        hits = []
        for hit, rowid in zip(results, rowids):
            snippet = hit.highlights("text", text=bodies.get(rowid, ""), top=2) or None
            hits.append(EngineHit(rowid, float(hit.score or 0.0), snippet))
        return hits


def _chunks(store: Store, size: int = 5000) -> Iterator[list[MessageDoc]]:
    skus = known_skus(store)
    last = 0
    while True:
        ids = [row[0] for row in store.rows("SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?", (last, size))]
        if not ids:
            return
        yield load_docs(store, ids, skus)
        last = ids[-1]


class _Marks(highlight.Formatter):
    """Matched words as **word**: plain text, so it is safe in JSON and on a terminal."""

    between = " … "

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return "**" + highlight.get_text(text, token, replace) + "**"


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
    return query.Phrase(field, words)


def _term(node: q.Term) -> Any:
    if node.field is None:
        words = _text_query("text", node.text)
        if AMAZON_ORDER.fullmatch(node.text) or SHOPIFY_ORDER.fullmatch(node.text):
            return query.Or([words, query.Term("order", node.text.lower())])
        return words
    if node.field in _FIELD_OF:
        return _text_query(_FIELD_OF[node.field], node.text)
    return query.Term(node.field, node.text.lower())  # keyword and id fields are stored lower-case
