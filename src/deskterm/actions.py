"""The agent actions: one implementation for the CLI and the TUI.

Each action is one write transaction that also appends to the audit log (ids and counts, never
text) and brings the ticket's triage up to date, so the queue is right the moment it returns.
Replies never touch the network: they are stored as the ticket's outbound message and queued with
the Message-ID they will carry, for the sync daemon to send exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from deskterm.attachments import attachment_path, export_file, store_blob
from deskterm.clock import iso
from deskterm.compliance import amazon_reply_problems
from deskterm.config import Config
from deskterm.digest import digest
from deskterm.errors import UserError
from deskterm.sanitize import safe_filename
from deskterm.store import Store
from deskterm.triage.assess import Triage, reason
from deskterm.triage.rules import LEVELS
from deskterm.triage.sla import CLOCK_KINDS

STATUSES = ("open", "pending", "closed")
_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_TAG = re.compile(r"[\w-]{1,40}")


@dataclass
class Attachment:
    name: str
    data: bytes


@dataclass
class ReplyOutcome:
    ticket_id: int
    message_id: str
    queued: int                                   # send_queue row id
    warnings: list[str] = field(default_factory=list)  # what --force overrode


class Actions:
    """What an agent can do to a ticket. `agent` is who does it (audit log, collision check)."""

    def __init__(self, store: Store, config: Config, triage: Triage, agent: str, attachments_root: Path) -> None:
        self.store = store
        self.config = config
        self.triage = triage
        self.agent = agent
        self.attachments_root = attachments_root

    def _now(self) -> str:
        return iso(self.triage.clock.now())

    def _ticket(self, conn: sqlite3.Connection, ticket_id: int) -> sqlite3.Row:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise UserError(f"no ticket {ticket_id}")
        return row

    def _done(self, conn: sqlite3.Connection, action: str, ticket_id: int, **detail: object) -> None:
        self.store.audit(conn, action, f"ticket:{ticket_id}", detail, actor=self.agent)
        self.triage.recompute(conn, ticket_id)

    # -- reading -------------------------------------------------------------------------------
    def opened(self, ticket_id: int) -> None:
        """Remember what this agent has seen of the ticket, for the collision check of a reply, and
        audit the view: a ticket shows a buyer's personal data."""
        with self.store.write() as conn:
            self._ticket(conn, ticket_id)
            last = conn.execute("SELECT coalesce(max(id), 0) FROM messages WHERE ticket_id = ?", (ticket_id,)).fetchone()[0]
            conn.execute(
                "INSERT INTO ticket_views (ticket_id, agent, opened_at, last_message) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(ticket_id, agent) DO UPDATE SET opened_at = excluded.opened_at,"
                " last_message = excluded.last_message", (ticket_id, self.agent, self._now(), last))
            self.store.audit(conn, "ticket.viewed", f"ticket:{ticket_id}", {}, actor=self.agent)

    # -- replying ------------------------------------------------------------------------------
    def reply(self, ticket_id: int, body: str, attachments: list[Attachment] = (), force: bool = False,
              close: bool = False) -> ReplyOutcome:
        """Store and queue a reply; refuse (unless forced) what Amazon or a colleague would regret."""
        body = body.replace("\r\n", "\n").strip("\n")
        if not body.strip():
            raise UserError("the reply is empty")
        with self.store.write() as conn:
            ticket = self._ticket(conn, ticket_id)
            problems = self._collisions(conn, ticket_id)
            if ticket["channel"] == "amazon":
                problems += amazon_reply_problems(body, ticket["order_id"], [len(a.data) for a in attachments])
            if problems and not force:
                raise UserError(f"reply to ticket {ticket_id} not queued: " + "; ".join(problems)
                                + ". Fix it, or send anyway with --force.")
            # a TikTok reply leaves through TikTok's chat, from the shop: no mail address is involved
            sender = "TikTok Shop" if ticket["channel"] == "tiktok" else self._sender(ticket["channel"])
            recipient = self._recipient(conn, ticket)
            parent = conn.execute(
                "SELECT message_id, refs FROM messages WHERE ticket_id = ? AND direction = 'inbound'"
                " ORDER BY sent_at DESC, id DESC LIMIT 1", (ticket_id,)).fetchone()
            message_id = f"<{uuid.uuid4().hex}@{sender.rsplit('@', 1)[1] if '@' in sender else 'tiktok.invalid'}>"
            now = self._now()
            subject = _one_line(ticket["subject"] or "")
            subject = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
            refs = " ".join(filter(None, [parent["refs"] if parent else None, parent["message_id"] if parent else None]))
            cursor = conn.execute(
                "INSERT INTO messages (message_id, ticket_id, channel, kind, direction, sender, recipients, subject,"
                " sent_at, body, order_id, marketplace, in_reply_to, refs, source, content_hash, agent, risk,"
                " risk_reasons) VALUES (?, ?, ?, 'reply', 'outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'deskterm', ?, ?,"
                " 'low', '[]')",
                (message_id, ticket_id, ticket["channel"], sender, recipient, subject, now, body, ticket["order_id"],
                 ticket["marketplace"], parent["message_id"] if parent else None, refs or None,
                 digest([message_id, body]), self.agent))
            rowid = int(cursor.lastrowid)
            for position, attachment in enumerate(attachments):
                sha = store_blob(self.attachments_root, attachment.data)
                conn.execute("INSERT OR IGNORE INTO attachments (sha256, size, content_type) VALUES (?, ?, NULL)",
                             (sha, len(attachment.data)))
                conn.execute("INSERT INTO message_attachments (message_id, position, sha256, filename)"
                             " VALUES (?, ?, ?, ?)", (rowid, position, sha, safe_filename(attachment.name)))
            queued = conn.execute(
                "INSERT INTO send_queue (ticket_id, channel, message_id, body, created_at) VALUES (?, ?, ?, ?, ?)",
                (ticket_id, ticket["channel"], message_id, body, now)).lastrowid
            conn.execute("INSERT INTO index_outbox (message_rowid) VALUES (?)", (rowid,))
            conn.execute(
                "UPDATE tickets SET last_outbound_at = max(coalesce(last_outbound_at, ''), ?),"
                " last_message_at = max(coalesce(last_message_at, ''), ?) WHERE id = ?", (now, now, ticket_id))
            self._set_status(conn, ticket_id, "closed" if close else "pending")
            conn.execute("UPDATE ticket_views SET last_message = ? WHERE ticket_id = ? AND agent = ?",
                         (rowid, ticket_id, self.agent))
            self._done(conn, "reply", ticket_id, message=rowid, queued=queued, attachments=len(attachments),
                       forced=bool(problems))
        return ReplyOutcome(ticket_id, message_id, int(queued), problems)

    def _collisions(self, conn: sqlite3.Connection, ticket_id: int) -> list[str]:
        view = conn.execute("SELECT opened_at, last_message FROM ticket_views WHERE ticket_id = ? AND agent = ?",
                            (ticket_id, self.agent)).fetchone()
        if view is None:
            return [f"you have not opened ticket {ticket_id} (deskterm show {ticket_id}), so you may not have "
                    "read its latest message"]
        newer = conn.execute(
            "SELECT direction, coalesce(agent, '') FROM messages WHERE ticket_id = ? AND id > ?"
            " AND coalesce(agent, '') != ? ORDER BY id", (ticket_id, view[1], self.agent)).fetchall()
        problems = []
        if any(direction == "inbound" for direction, _agent in newer):
            problems.append(f"the buyer wrote again after you opened ticket {ticket_id} at {view[0]}")
        if any(direction == "outbound" for direction, _agent in newer):
            problems.append(f"someone else replied after you opened ticket {ticket_id} at {view[0]}")
        return problems

    def _sender(self, channel: str) -> str:
        """The approved address replies go out from: a mail channel's `from`, else `own_addresses`."""
        for settings in self.config.channels.values():
            if settings.get("kind") == "imap" and settings.get("from"):
                return _checked_address(settings["from"], "the channel's from address")
        if self.config.own_addresses:
            return _checked_address(self.config.own_addresses[0], "own_addresses")
        raise UserError("no sender address: set own_addresses in config.toml to the address Amazon approved "
                        "for buyer messages")

    def _recipient(self, conn: sqlite3.Connection, ticket: sqlite3.Row) -> str:
        row = conn.execute("SELECT address FROM customers WHERE id = ?", (ticket["customer_id"],)).fetchone()
        if row is None or row[0].startswith("tiktok:"):
            if ticket["channel"] == "tiktok" and row is not None:
                return row[0]  # TikTok replies go through its API, to the buyer's id
            raise UserError(f"ticket {ticket['id']} has no buyer address to reply to")
        return _checked_address(row[0], f"ticket {ticket['id']}'s buyer address")

    def undo_reply(self, message_id: str, within_seconds: int) -> None:
        """Take back a queued reply: only this agent's, only unsent, only within the undo delay."""
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT q.id, q.ticket_id, q.state, q.created_at, m.id AS rowid, m.agent FROM send_queue q"
                " JOIN messages m ON m.message_id = q.message_id WHERE q.message_id = ?", (message_id,)).fetchone()
            if row is None or row["agent"] != self.agent:
                raise UserError("there is no reply of yours to undo")
            age = (self.triage.clock.now() - dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")))
            if row["state"] != "queued" or age.total_seconds() > within_seconds:
                raise UserError(f"too late to undo: the reply is {row['state']} and {int(age.total_seconds())} s old")
            conn.execute("DELETE FROM send_queue WHERE id = ?", (row["id"],))
            conn.execute("DELETE FROM message_attachments WHERE message_id = ?", (row["rowid"],))
            conn.execute("DELETE FROM message_sources WHERE message_rowid = ?", (row["rowid"],))
            conn.execute("DELETE FROM messages WHERE id = ?", (row["rowid"],))
            conn.execute("INSERT INTO index_outbox (message_rowid) VALUES (?)", (row["rowid"],))  # drop it there too
            conn.execute(
                "UPDATE tickets SET last_outbound_at = (SELECT max(sent_at) FROM messages WHERE ticket_id = ?"
                " AND direction = 'outbound') WHERE id = ?", (row["ticket_id"], row["ticket_id"]))
            self._set_status(conn, row["ticket_id"], "open")
            self._done(conn, "undo_reply", row["ticket_id"], message=row["rowid"])

    def save_attachments(self, ticket_id: int, folder: Path) -> list[Path]:
        """Copy the ticket's attachments out of the store, by the safe recipe; never opens them."""
        rows = self.store.rows(
            "SELECT ma.filename, ma.sha256 FROM message_attachments ma JOIN messages m ON m.id = ma.message_id"
            " WHERE m.ticket_id = ? ORDER BY m.sent_at, ma.position", (ticket_id,))
        saved = []
        for row in rows:
            try:
                data = attachment_path(self.attachments_root, row["sha256"]).read_bytes()
            except OSError as exc:
                raise UserError(f"attachment {row['filename']} is missing from the store: {exc.strerror}") from None
            try:
                saved.append(export_file(folder, row["filename"] or "attachment", data))
            except OSError as exc:
                raise UserError(f"{folder}: cannot save there: {exc.strerror}") from None
        with self.store.write() as conn:
            self.store.audit(conn, "save_attachments", f"ticket:{ticket_id}", {"files": len(saved)}, actor=self.agent)
        return saved

    # -- everything else ---------------------------------------------------------------------
    def note(self, ticket_id: int, body: str) -> int:
        if not body.strip():
            raise UserError("the note is empty")
        with self.store.write() as conn:
            self._ticket(conn, ticket_id)
            note_id = conn.execute("INSERT INTO notes (ticket_id, agent, body, created_at) VALUES (?, ?, ?, ?)",
                                   (ticket_id, self.agent, body.strip(), self._now())).lastrowid
            self._done(conn, "note", ticket_id, note=note_id)
        return int(note_id)

    def tag(self, ticket_id: int, add: list[str] = (), remove: list[str] = ()) -> list[str]:
        for tag in [*add, *remove]:
            if not _TAG.fullmatch(tag):
                raise UserError(f"tag {tag!r}: use letters, digits, - and _ (up to 40)")
        with self.store.write() as conn:
            ticket = self._ticket(conn, ticket_id)
            tags = [t for t in json.loads(ticket["tags"] or "[]") if t.lower() not in {r.lower() for r in remove}]
            tags += [t for t in add if t.lower() not in {x.lower() for x in tags}]
            conn.execute("UPDATE tickets SET tags = ? WHERE id = ?", (json.dumps(tags), ticket_id))
            self._done(conn, "tag", ticket_id, added=len(add), removed=len(remove))
        return tags

    def assign(self, ticket_id: int, assignee: str | None) -> None:
        """Give the ticket to `assignee` (None: nobody)."""
        with self.store.write() as conn:
            self._ticket(conn, ticket_id)
            conn.execute("UPDATE tickets SET assignee = ? WHERE id = ?", (assignee, ticket_id))
            self._done(conn, "assign", ticket_id, assignee=assignee)

    def snooze(self, ticket_id: int, until: dt.datetime) -> None:
        if until <= self.triage.clock.now():
            raise UserError(f"snooze until {iso(until)}: that is not in the future")
        with self.store.write() as conn:
            self._ticket(conn, ticket_id)
            self._set_status(conn, ticket_id, "open", snoozed_until=iso(until))
            self._done(conn, "snooze", ticket_id, until=iso(until))

    def close(self, ticket_id: int, force: bool = False) -> None:
        with self.store.write() as conn:
            ticket = self._ticket(conn, ticket_id)
            waiting = self._unanswered(conn, ticket_id)
            if ticket["channel"] == "amazon" and waiting and not force:
                raise UserError(
                    f"ticket {ticket_id} has {waiting} unanswered buyer message(s): Amazon counts them as late "
                    f"unless you reply or mark them (deskterm nrn {ticket_id} --reason ...). Close anyway with --force.")
            self._set_status(conn, ticket_id, "closed")
            self._done(conn, "close", ticket_id, unanswered=waiting)

    def reopen(self, ticket_id: int) -> None:
        with self.store.write() as conn:
            self._ticket(conn, ticket_id)
            self._set_status(conn, ticket_id, "open")
            self._done(conn, "reopen", ticket_id)

    def no_response_needed(self, ticket_id: int, why: str) -> int:
        """Mark the unanswered buyer messages as needing no reply (Amazon's NRN) and close."""
        if not why.strip():
            raise UserError("say why no response is needed (--reason), e.g. \"buyer said thanks\"")
        with self.store.write() as conn:
            self._ticket(conn, ticket_id)
            last_out = conn.execute("SELECT coalesce(max(sent_at), '') FROM messages WHERE ticket_id = ?"
                                    " AND direction = 'outbound'", (ticket_id,)).fetchone()[0]
            marks = ", ".join("?" for _ in CLOCK_KINDS)
            marked = conn.execute(
                "UPDATE messages SET no_response_needed = ? WHERE ticket_id = ? AND direction = 'inbound'"
                f" AND kind IN ({marks}) AND coalesce(sent_at, '') > ? AND no_response_needed IS NULL",
                (why.strip(), ticket_id, *CLOCK_KINDS, last_out)).rowcount
            self._set_status(conn, ticket_id, "closed")
            self._done(conn, "nrn", ticket_id, messages=marked)
        return marked

    def set_risk(self, ticket_id: int, level: str, why: str) -> None:
        """An agent's override: the one way a ticket's level goes down. Later messages can raise it."""
        if level not in LEVELS:
            raise UserError(f"risk {level!r}: expected one of {', '.join(LEVELS)}")
        if not why.strip():
            raise UserError("say why (--reason): overrides are audited")
        with self.store.write() as conn:
            ticket = self._ticket(conn, ticket_id)
            last = conn.execute("SELECT coalesce(max(id), 0) FROM messages WHERE ticket_id = ?",
                                (ticket_id,)).fetchone()[0]
            why_text = f"set to {level} by {self.agent}: {_one_line(why)}"
            conn.execute(
                "UPDATE tickets SET risk = ?, risk_reasons = ?, risk_override_at = ?, risk_override_message = ?"
                " WHERE id = ?", (level, json.dumps([reason(level, "override", why_text)], ensure_ascii=False),
                                  self._now(), last, ticket_id))
            self._done(conn, "risk", ticket_id, before=ticket["risk"], after=level)

    def _set_status(self, conn: sqlite3.Connection, ticket_id: int, status: str,
                    snoozed_until: str | None = None) -> None:
        """Set by an agent: a buyer message that arrives later (by arrival, not by its Date) reopens."""
        conn.execute(
            "UPDATE tickets SET status = ?, status_at = ?, snoozed_until = ?, status_message ="
            " (SELECT coalesce(max(id), 0) FROM messages WHERE ticket_id = ?) WHERE id = ?",
            (status, self._now(), snoozed_until, ticket_id, ticket_id))

    def _unanswered(self, conn: sqlite3.Connection, ticket_id: int) -> int:
        marks = ", ".join("?" for _ in CLOCK_KINDS)
        return conn.execute(
            "SELECT count(*) FROM messages m WHERE m.ticket_id = ? AND m.direction = 'inbound'"
            f" AND m.kind IN ({marks}) AND m.no_response_needed IS NULL AND coalesce(m.sent_at, '') >"
            " (SELECT coalesce(max(sent_at), '') FROM messages WHERE ticket_id = m.ticket_id"
            " AND direction = 'outbound')", (ticket_id, *CLOCK_KINDS)).fetchone()[0]


def _checked_address(value: str, what: str) -> str:
    """One plain address, nothing that could smuggle another header or recipient."""
    address = value.strip()
    if not _ADDRESS.fullmatch(address):
        raise UserError(f"{what} is not a single plain e-mail address: {address!r}")
    return address


def _one_line(text: str) -> str:
    return " ".join(text.split())
