"""The e-mail channel's way out: queued replies sent over SMTP, each exactly once or flagged.

A reply's Message-ID was fixed when it was queued. Before connecting, its row is committed as
`sending`; after the server accepts it, as `sent`. So a process killed in between leaves
`sending`, which the next pass turns into `needs_attention` (a person checks the Sent folder):
SMTP has no idempotency key, and a second copy would reach the buyer. A refusal before the message
was handed over (connection, login, a 4xx) puts it back in the queue; a permanent refusal (5xx)
marks it `failed`; a failure while the server was receiving it is unknowable: `needs_attention`.

Replies wait `undo_seconds` after they were queued, so an agent's undo always wins. Headers are
built from the stored reply with `policy.SMTP`, after every value has passed `one_line`: no CR/LF
or control character from a buyer's message can reach a header.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from deskterm.attachments import attachment_path
from deskterm.clock import iso
from deskterm.sanitize import one_line
from deskterm.store import Store
from deskterm.sync.base import SyncFailure, secret

CHANNELS = ("amazon", "email")   # the ticket channels that answer by e-mail
_CRASHED = "the sender stopped while this reply was being handed over; check the Sent folder, then requeue or drop it"


class ReplySender:
    def __init__(self, store: Store, name: str, channel: dict[str, Any], attachments_root: Path,
                 undo_seconds: int) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.attachments_root = attachments_root
        self.undo = dt.timedelta(seconds=undo_seconds)

    def send_due(self) -> int:
        if not self.channel.get("smtp_host"):
            return 0
        marks = ", ".join("?" * len(CHANNELS))
        with self.store.write() as conn:  # a pass that died mid-send: never resend blindly
            conn.execute(f"UPDATE send_queue SET state = 'needs_attention', last_error = ? WHERE state = 'sending'"
                         f" AND channel IN ({marks})", (_CRASHED, *CHANNELS))
        due = iso(self.store.clock.now() - self.undo)
        rows = self.store.rows(f"SELECT id FROM send_queue WHERE state = 'queued' AND channel IN ({marks})"
                               " AND created_at <= ? ORDER BY id", (*CHANNELS, due))
        if not rows:
            return 0
        sent = 0
        smtp = self._connect()
        try:
            for row in rows:
                sent += self._send_one(smtp, row["id"])
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
        return sent

    def _connect(self) -> smtplib.SMTP:
        host, port, security = self.channel["smtp_host"], self.channel["smtp_port"], self.channel["smtp_security"]
        context = ssl.create_default_context()
        try:
            smtp = (smtplib.SMTP_SSL(host, port, timeout=60, context=context) if security == "tls"
                    else smtplib.SMTP(host, port, timeout=60))
            if security == "starttls":
                smtp.starttls(context=context)
            user = self.channel.get("smtp_username")
            if user:
                smtp.login(user, secret(self.channel, self.name, "smtp_password"))
        except (smtplib.SMTPException, OSError) as exc:
            raise SyncFailure(f"SMTP {host}:{port}: {type(exc).__name__}: {exc}"[:200]) from None
        return smtp

    def _send_one(self, smtp: smtplib.SMTP, queue_id: int) -> int:
        with self.store.write() as conn:
            claimed = conn.execute("UPDATE send_queue SET state = 'sending', attempts = attempts + 1 WHERE id = ?"
                                   " AND state = 'queued'", (queue_id,)).rowcount
            row = conn.execute("SELECT m.* FROM send_queue q JOIN messages m ON m.message_id = q.message_id"
                               " WHERE q.id = ?", (queue_id,)).fetchone()
        if not claimed or row is None:
            return 0
        message = self._message(row)
        try:
            refused = smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            code = getattr(exc, "smtp_code", None) or _first_code(exc)
            state = "failed" if code and code >= 500 else "queued"
            self._finish(queue_id, state, f"refused by the server ({code}): {exc}"[:300])
            return 0
        except (smtplib.SMTPException, OSError) as exc:
            self._finish(queue_id, "needs_attention", f"{type(exc).__name__} while sending: the server may have it; "
                                                      "check the Sent folder"[:300])
            raise SyncFailure(f"SMTP: {type(exc).__name__}") from None
        if refused:
            self._finish(queue_id, "failed", f"recipient refused: {one_line(str(refused))}"[:300])
            return 0
        self._finish(queue_id, "sent", None)
        return 1

    def _finish(self, queue_id: int, state: str, error: str | None) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE send_queue SET state = ?, last_error = ?, sent_at = CASE WHEN ? = 'sent' THEN ?"
                         " ELSE sent_at END WHERE id = ?", (state, error, state, self.store.now(), queue_id))
            self.store.audit(conn, f"reply.{state}", f"queue:{queue_id}", {})

    def _message(self, row: Any) -> EmailMessage:
        message = EmailMessage(policy=SMTP)
        message["From"] = one_line(self.channel.get("from") or row["sender"])
        message["To"] = one_line(row["recipients"])
        message["Subject"] = one_line(row["subject"] or "")
        message["Date"] = format_datetime(self.store.clock.now())
        message["Message-ID"] = one_line(row["message_id"])
        if row["in_reply_to"]:
            message["In-Reply-To"] = one_line(row["in_reply_to"])
        if row["refs"]:
            message["References"] = one_line(row["refs"])
        message.set_content(row["body"] or "", charset="utf-8")
        for attachment in self.store.rows(
                "SELECT filename, sha256 FROM message_attachments WHERE message_id = ? ORDER BY position", (row["id"],)):
            data = attachment_path(self.attachments_root, attachment["sha256"]).read_bytes()
            message.add_attachment(data, maintype="application", subtype="octet-stream",
                                   filename=one_line(attachment["filename"]))
        return message


def _first_code(exc: Exception) -> int | None:
    recipients = getattr(exc, "recipients", None)
    if isinstance(recipients, dict) and recipients:
        return next(iter(recipients.values()))[0]
    return None
