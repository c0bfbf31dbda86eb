"""The e-mail channel's way in: Amazon's buyer-message relay (and plain e-mail) over IMAP.

Read-only towards the server: mailboxes are selected read-only and nothing is ever deleted, moved
or expunged; the one change deskterm may make is setting \\Seen, when `mark_seen` asks for it.
Messages are fetched in batches of BATCH by UID; each batch is stored through the same ingest as
`deskterm import` (one parser, one threading), and the batch's highest UID is saved in the same
transaction, with (mailbox, UIDVALIDITY, UID) -> Message-ID for each message. A crash therefore
resumes after the last committed batch, and a message fetched twice is stored once.

A changed UIDVALIDITY, or a mailbox that suddenly holds less than half the mail it held, deletes
nothing here: the mailbox is read again from the start (Message-IDs keep it free of duplicates)
and an operator event says what happened.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from deskterm.mail.ingest import MailIngest
from deskterm.mail.parse import MAX_MESSAGE_BYTES
from deskterm.mail.sources import KEPT_HEAD, RawMessage
from deskterm.outcome import ImportOutcome
from deskterm.store import Store
from deskterm.sync.base import Progress, SyncFailure, SyncReport, cursor, raise_event, save_cursor, secret
from deskterm.sync.smtp import ReplySender

BATCH = 100
FETCH_BYTES = 32 * 1024 * 1024   # fetched at once, so a batch of large messages never fills the memory
SHRINK_ALARM = 0.5      # a mailbox now below half its last size raises an event
SHRINK_MINIMUM = 20     # ... when it held at least this many


class ImapConnector:
    def __init__(self, store: Store, name: str, channel: dict[str, Any], attachments_root: Path,
                 own_addresses: set[str], undo_seconds: int) -> None:
        self.store = store
        self.name = name
        self.channel = channel
        self.attachments_root = attachments_root
        self.own = own_addresses
        self.sender = ReplySender(store, name, channel, attachments_root, undo_seconds)

    def pull(self, report: SyncReport, progress: Progress = None) -> None:
        try:
            client = self._connect()
        except (IMAPClientError, OSError, ssl.SSLError) as exc:
            raise SyncFailure(f"IMAP {self.channel['host']}:{self.channel['port']}: {_reason(exc)}") from None
        try:
            for mailbox in self.channel["mailboxes"]:
                self._mailbox(client, mailbox, report, progress)
        except (IMAPClientError, OSError, ssl.SSLError) as exc:
            raise SyncFailure(f"IMAP {self.channel['host']}:{self.channel['port']}: {_reason(exc)}") from None
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the connection is going away anyway
                pass

    def push(self, report: SyncReport) -> None:
        report.sent += self.sender.send_due()

    # -- parts -----------------------------------------------------------------------------------
    def _connect(self) -> IMAPClient:
        security, host = self.channel["security"], self.channel["host"]
        context = ssl.create_default_context()
        client = IMAPClient(host, port=self.channel["port"], ssl=security == "tls",
                            ssl_context=context if security == "tls" else None, timeout=60)
        if security == "starttls":
            client.starttls(context)
        client.login(self.channel["username"], secret(self.channel, self.name, "password"))
        return client

    def _mailbox(self, client: IMAPClient, mailbox: str, report: SyncReport, progress: Progress) -> None:
        readonly = not self.channel["mark_seen"]
        info = client.select_folder(mailbox, readonly=readonly)
        validity, exists = int(info[b"UIDVALIDITY"]), int(info.get(b"EXISTS", 0))
        with self.store.write() as conn:
            state, known_validity = cursor(conn, self.name, mailbox)
        last_uid = int(state.get("last_uid", 0))
        if known_validity is not None and known_validity != validity:
            self._event(report, f"{mailbox}: UIDVALIDITY changed from {known_validity} to {validity}; nothing was "
                                "deleted here, the mailbox is read again and matched by Message-ID")
            last_uid = 0
        before = int(state.get("exists", 0))
        if before >= SHRINK_MINIMUM and exists < before * SHRINK_ALARM:
            self._event(report, f"{mailbox}: the server now holds {exists} messages, {before} at the last sync; "
                                "nothing was deleted here")
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        outcome = ImportOutcome()
        ingest = MailIngest(self.store, self.attachments_root, self.own, outcome, source_kind="imap")
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            for message in self._fetch(client, batch):
                ingest.add(RawMessage(f"{self.name}/{mailbox}", *message))

            def commit(conn, ids: dict[int, str], batch: list[int] = batch) -> None:
                conn.executemany(
                    "INSERT OR IGNORE INTO imap_uids (channel, mailbox, uidvalidity, uid, message_id) VALUES (?, ?, ?, ?, ?)",
                    [(self.name, mailbox, validity, uid, ids[uid]) for uid in batch if uid in ids])
                save_cursor(conn, self.name, mailbox, {"last_uid": batch[-1], "exists": exists}, validity)

            ingest.flush(before_commit=commit)
            if not readonly:
                client.add_flags(batch, [b"\\Seen"])
            if progress:
                progress(mailbox, start + len(batch), len(uids), "messages")
        if not uids:
            with self.store.write() as conn:
                save_cursor(conn, self.name, mailbox, {"last_uid": last_uid, "exists": exists}, validity)
        report.fetched["messages"] += outcome.imported["messages"]
        report.fetched["quarantined"] += len(outcome.rejected)

    @staticmethod
    def _fetch(client: IMAPClient, batch: list[int]):
        """(UID, bytes, size) of each message, sizes asked first: messages are fetched a few
        megabytes at a time, and one over the parser's limit only as far as the quarantine keeps."""
        sizes = {uid: int(item.get(b"RFC822.SIZE", 0)) for uid, item in client.fetch(batch, ["RFC822.SIZE"]).items()}
        chunk: list[int] = []
        chunks = [chunk]
        for uid in (u for u in batch if sizes.get(u, 0) <= MAX_MESSAGE_BYTES):
            if chunk and sum(sizes.get(u, 0) for u in chunk) + sizes.get(uid, 0) > FETCH_BYTES:
                chunk = []
                chunks.append(chunk)
            chunk.append(uid)
        for chunk in filter(None, chunks):
            fetched = client.fetch(chunk, ["BODY.PEEK[]"])
            for uid in chunk:
                data = fetched.get(uid, {}).get(b"BODY[]")
                if data is not None:
                    yield uid, bytes(data), None
        for uid in (u for u in batch if sizes.get(u, 0) > MAX_MESSAGE_BYTES):
            head = client.fetch([uid], [f"BODY.PEEK[]<0.{KEPT_HEAD}>"]).get(uid, {})
            data = next((value for key, value in head.items() if key.startswith(b"BODY[]")), None)
            if data is not None:
                yield uid, bytes(data), sizes[uid]

    def _event(self, report: SyncReport, text: str) -> None:
        raise_event(self.store, self.name, report, text)


def _reason(exc: BaseException) -> str:
    """Why, in words, without anything a server echoed back that could hold a secret."""
    if isinstance(exc, socket.timeout):
        return "timed out"
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
