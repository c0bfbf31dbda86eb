"""Store parsed messages: dedupe by Message-ID, thread into tickets, queue them for the index.

The original bytes are kept too (compressed), so a claim's evidence can carry the message exactly
as it arrived. Threading: a message that answers a known one (In-Reply-To, then References) joins its ticket;
otherwise it joins the ticket of the same channel, customer and order id; otherwise it opens a
new ticket. Each new message writes an index-outbox row in the same transaction.
"""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deskterm.attachments import store_blob
from deskterm.clock import iso
from deskterm.digest import digest
from deskterm.mail.classify import Classified, classify
from deskterm.mail.parse import MAX_MESSAGE_BYTES, MailRejected, ParsedMail, parse_message
from deskterm.mail.sources import RawMessage
from deskterm.outcome import ImportOutcome, Rejection
from deskterm.quarantine import quarantine
from deskterm.store import Store

BATCH_MESSAGES = 500
BATCH_BYTES = 64 * 1024 * 1024   # ... or fewer: a batch of large messages is written before it fills memory
MAX_KEPT_SOURCE = 25 * 1024 * 1024  # originals are kept for evidence (.eml); the parse limit is larger
_REPLY_PREFIX = ("re:", "aw:", "r:", "sv:", "fw:", "fwd:", "wg:", "tr:", "rv:", "rif:")


@dataclass
class _Ready:
    raw: RawMessage
    mail: ParsedMail
    facts: Classified
    message_id: str


class MailIngest:
    """Takes raw messages, writes them in batches of one transaction each."""

    def __init__(self, store: Store, attachments_root: Path, own_addresses: set[str], outcome: ImportOutcome,
                 source_kind: str = "import") -> None:
        self.store = store
        self.attachments_root = attachments_root
        self.own = own_addresses
        self.outcome = outcome
        self.source_kind = source_kind
        self.pending: list[_Ready] = []
        self.rejected: list[tuple[RawMessage, str]] = []
        self.pending_bytes = 0
        # Message-IDs of messages written early because the batch grew past BATCH_BYTES, by raw `line`,
        # handed to the next `before_commit` with the rest (a sync's batch of UIDs is shorter than this).
        self.written_early: dict[int, str] = {}

    def add(self, raw: RawMessage) -> None:
        try:
            if raw.oversized:  # the reader kept only its head
                raise MailRejected(f"message is {raw.size:,} bytes; the limit is {MAX_MESSAGE_BYTES:,} (the quarantine "
                                   f"keeps its first {len(raw.data):,} bytes; the whole message is still in "
                                   f"{raw.source}" + (f" at line {raw.line:,})" if raw.line else ")"))
            mail = parse_message(raw.data)
        except MailRejected as exc:
            self.rejected.append((raw, str(exc)))
        else:
            message_id = mail.message_id or f"<{hashlib.sha256(raw.data).hexdigest()}@deskterm.invalid>"
            self.pending.append(_Ready(raw, mail, classify(mail, self.own), message_id))
            self.pending_bytes += sum(len(a.data) for a in mail.attachments)
        self.pending_bytes += len(raw.data)
        if len(self.pending) + len(self.rejected) >= BATCH_MESSAGES or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def flush(self, before_commit: Callable[[sqlite3.Connection, dict[int, str]], None] | None = None) -> None:
        """Write the pending messages in one transaction. `before_commit(conn, ids)` runs inside it (a
        sync connector saves its cursor there) with the Message-ID of each parsed message by its raw
        `line`, new or already stored; a message that could not be parsed is in the quarantine."""
        if not self.pending and not self.rejected and before_commit is None:
            return
        # Attachment files first: a crash then leaves an unreferenced file, never a dangling row.
        blobs = {id(r): [store_blob(self.attachments_root, a.data) for a in r.mail.attachments] for r in self.pending}
        with self.store.write() as conn:
            for ready in self.pending:
                if self._store_one(conn, ready, blobs[id(ready)]):
                    self.outcome.imported["messages"] += 1
                else:
                    self.outcome.duplicates["messages"] += 1
            for raw, reason in self.rejected:
                quarantine(conn, self.store, "mail", raw.source, raw.line, reason, raw.data)
            ids = {ready.raw.line: ready.message_id for ready in self.pending}
            if before_commit is not None:
                before_commit(conn, {**self.written_early, **ids})
        if before_commit is None:
            if len(self.written_early) + len(ids) > BATCH_MESSAGES:
                self.written_early.clear()  # no caller waits for that many
            self.written_early.update(ids)
        else:
            self.written_early = {}
        self.outcome.rejected.extend(Rejection(raw.source, raw.line, reason) for raw, reason in self.rejected)
        self.pending, self.rejected, self.pending_bytes = [], [], 0

    def _store_one(self, conn: sqlite3.Connection, ready: _Ready, blobs: list[str]) -> int | None:
        """The new message's rowid; None when a message with its Message-ID is already stored."""
        if conn.execute("SELECT 1 FROM messages WHERE message_id = ?", (ready.message_id,)).fetchone():
            return None
        mail, facts = ready.mail, ready.facts
        sent_at = iso(mail.sent_at) if mail.sent_at else self.store.now()
        customer_id = _customer(conn, facts)
        ticket_id, channel = _thread(conn, mail, facts, customer_id, sent_at)
        cursor = conn.execute(
            "INSERT INTO messages (message_id, ticket_id, channel, kind, direction, sender, sender_name, recipients,"
            " subject, sent_at, body, wrapper, order_id, marketplace, in_reply_to, refs, source, content_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ready.message_id, ticket_id, channel, facts.kind, facts.direction, mail.sender, mail.sender_name,
             ", ".join(mail.recipients), mail.subject, sent_at, facts.body, facts.wrapper, facts.order_id,
             facts.marketplace, " ".join(mail.in_reply_to), " ".join(mail.references),
             f"{self.source_kind}:{ready.raw.source}", digest([ready.raw.data])),
        )
        rowid = cursor.lastrowid
        if len(ready.raw.data) <= MAX_KEPT_SOURCE:
            conn.execute("INSERT INTO message_sources (message_rowid, raw) VALUES (?, ?)",
                         (rowid, zlib.compress(ready.raw.data, 6)))
        for position, (attachment, sha) in enumerate(zip(mail.attachments, blobs)):
            conn.execute(
                "INSERT OR IGNORE INTO attachments (sha256, size, content_type) VALUES (?, ?, ?)",
                (sha, len(attachment.data), attachment.content_type),
            )
            conn.execute(
                "INSERT INTO message_attachments (message_id, position, sha256, filename) VALUES (?, ?, ?, ?)",
                (rowid, position, sha, attachment.filename),
            )
        conn.execute("INSERT INTO index_outbox (message_rowid) VALUES (?)", (rowid,))
        _touch_ticket(conn, ticket_id, facts, sent_at)
        return rowid


def _customer(conn: sqlite3.Connection, facts: Classified) -> int | None:
    if not facts.customer_address:
        return None
    conn.execute(
        "INSERT INTO customers (channel, address, name, marketplace) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(channel, address) DO UPDATE SET name = coalesce(excluded.name, name), "
        "marketplace = coalesce(excluded.marketplace, marketplace)",
        (facts.channel, facts.customer_address, facts.customer_name, facts.marketplace),
    )
    row = conn.execute("SELECT id FROM customers WHERE channel = ? AND address = ?",
                       (facts.channel, facts.customer_address)).fetchone()
    return row[0]


def _thread(conn: sqlite3.Connection, mail: ParsedMail, facts: Classified, customer_id: int | None,
            sent_at: str) -> tuple[int, str]:
    """The ticket this message belongs to, and the channel it is filed under."""
    for parent in [*mail.in_reply_to, *reversed(mail.references)]:
        row = conn.execute(
            "SELECT t.id, t.channel FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.message_id = ?",
            (parent,),
        ).fetchone()
        if row:
            return row[0], row[1]
    if customer_id is not None:
        row = conn.execute(
            "SELECT id FROM tickets WHERE channel = ? AND customer_id = ? AND order_id IS ? ORDER BY id DESC LIMIT 1",
            (facts.channel, customer_id, facts.order_id),
        ).fetchone()
    elif facts.order_id:
        row = conn.execute(
            "SELECT id FROM tickets WHERE channel = ? AND order_id = ? ORDER BY id DESC LIMIT 1",
            (facts.channel, facts.order_id),
        ).fetchone()
    else:
        row = None
    if row:
        return row[0], facts.channel
    cursor = conn.execute(
        "INSERT INTO tickets (channel, customer_id, order_id, marketplace, subject, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'open', ?)",
        (facts.channel, customer_id, facts.order_id, facts.marketplace, _topic(mail.subject), sent_at),
    )
    return int(cursor.lastrowid), facts.channel


def _topic(subject: str) -> str:
    text = subject.strip()
    while text.lower().startswith(_REPLY_PREFIX):
        text = text.split(":", 1)[1].strip()
    return text


def _touch_ticket(conn: sqlite3.Connection, ticket_id: int, facts: Classified, sent_at: str) -> None:
    column = "last_inbound_at" if facts.direction == "inbound" else "last_outbound_at"
    conn.execute(
        f"UPDATE tickets SET {column} = max(coalesce({column}, ''), ?),"
        " last_message_at = max(coalesce(last_message_at, ''), ?),"
        " order_id = coalesce(order_id, ?), marketplace = coalesce(marketplace, ?) WHERE id = ?",
        (sent_at, sent_at, facts.order_id, facts.marketplace, ticket_id),
    )
