"""The full-text index: a cache of the store, rebuilt from it at any time.

The rest of deskterm uses only `SearchIndex` (add/update/delete come through the outbox, then
`sync`; `search`; `rebuild`; `check`), so the engine behind it can change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskterm.store import Store

SEARCH_LOCK_TIMEOUT = 0.5    # a search catches up if it can, else reads what is there
WRITE_LOCK_TIMEOUT = 30.0    # sync and rebuild wait their turn
BULK_BACKLOG = 5000          # from this many pending rows (and more than the index holds) rebuild


@dataclass
class CheckReport:
    readable: bool
    problem: str | None = None
    missing: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    pending: int = 0          # outbox rows not applied yet (normal between syncs)

    @property
    def ok(self) -> bool:
        return self.readable and not (self.missing or self.extra or self.stale)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "readable": self.readable, "problem": self.problem, "missing": self.missing,
                "extra": self.extra, "stale": self.stale, "pending": self.pending}


class SearchIndex:
    """Open (and, when missing or damaged, rebuild) the index of one workspace."""

    def __init__(self, folder: Path, store: Store) -> None:
        from deskterm.index.engine import WhooshEngine

        self.store = store
        self.engine = WhooshEngine(folder)
        self.rebuilt_because: str | None = None

    def ensure(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Make sure a readable index exists: rebuild it from the store when it does not."""
        from deskterm.index.engine import IndexUnreadable

        try:
            self.engine.open()
        except IndexUnreadable as exc:
            self.rebuilt_because = str(exc)
            self.engine.rebuild(self.store, progress)

    def sync(self, lock_timeout: float = WRITE_LOCK_TIMEOUT,
             progress: Callable[[int, int], None] | None = None) -> int:
        """Apply what the outbox holds; return the number of outbox rows applied.

        A backlog larger than the index itself (a first big import) is cheaper to rebuild.
        """
        self.ensure(progress)
        applied = self.engine.applied()
        if (self.store.scalar("SELECT max(seq) FROM index_outbox") or 0) <= applied:
            return 0  # the common case for a search: nothing to apply
        backlog = self.store.scalar("SELECT count(*) FROM index_outbox WHERE seq > ?", (applied,))
        if backlog > max(BULK_BACKLOG, self.engine.doc_count()):
            self.rebuild(progress)
            return backlog
        return self.engine.apply(self.store, lock_timeout)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        count = self.engine.rebuild(self.store, progress)
        self.engine.apply(self.store, WRITE_LOCK_TIMEOUT)  # whatever arrived while we built
        return count

    def count(self) -> int:
        """Documents in the index, without building it (0 when there is none or it is unreadable)."""
        from deskterm.index.engine import IndexUnreadable

        try:
            return self.engine.doc_count()
        except IndexUnreadable:
            return 0

    def search(self, text: str, now: dt.datetime, limit: int = 20, newest_first: bool = False) -> list[dict[str, Any]]:
        """Results in the shape of `deskterm search --json`. Raises QueryError for a bad query."""
        from deskterm.index.query import parse_query

        node = parse_query(text, now)
        self.sync(SEARCH_LOCK_TIMEOUT)
        hits = self.engine.search(node, limit, newest_first, self._bodies)
        if not hits:
            return []
        marks = ", ".join("?" for _ in hits)
        rows = {row["id"]: row for row in self.store.rows(
            "SELECT id, message_id, ticket_id, channel, sender, sender_name, subject, sent_at, order_id, body "
            f"FROM messages WHERE id IN ({marks})", [hit.rowid for hit in hits])}
        results = []
        for hit in hits:
            row = rows.get(hit.rowid)
            if row is None:  # deleted since the index saw it; the next sync drops it
                continue
            results.append({
                "message_id": row["message_id"], "ticket_id": row["ticket_id"], "channel": row["channel"],
                "sender": row["sender"], "subject": row["subject"], "sent_at": row["sent_at"],
                "order_id": row["order_id"], "snippet": hit.snippet or (row["body"] or "")[:160],
                "score": round(hit.score, 4),
            })
        return results

    def _bodies(self, rowids: list[int]) -> dict[int, str]:
        if not rowids:
            return {}
        marks = ", ".join("?" for _ in rowids)
        return {row[0]: row[1] or "" for row in self.store.rows(
            f"SELECT id, body FROM messages WHERE id IN ({marks})", rowids)}

    def check(self) -> CheckReport:
        """Compare the index with the store: missing, extra and stale documents."""
        from deskterm.index.documents import known_skus, load_docs
        from deskterm.index.engine import IndexUnreadable

        try:
            indexed = self.engine.stamps()
            applied = self.engine.applied()
        except IndexUnreadable as exc:
            return CheckReport(readable=False, problem=str(exc))
        expected = {doc.id: doc.stamp for doc in load_docs(self.store, None, known_skus(self.store))}
        pending_rows = self.store.rows("SELECT DISTINCT message_rowid FROM index_outbox WHERE seq > ?", (applied,))
        pending = {row[0] for row in pending_rows}
        # Rows still in the outbox are not faults: the next sync applies them.
        return CheckReport(
            readable=True,
            missing=sorted(set(expected) - set(indexed) - pending),
            extra=sorted(set(indexed) - set(expected) - pending),
            stale=sorted(i for i in set(expected) & set(indexed) if expected[i] != indexed[i] and i not in pending),
            pending=len(pending_rows),
        )
