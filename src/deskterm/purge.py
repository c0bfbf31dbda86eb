"""`deskterm purge`: buyers' personal data removed once it is no longer needed.

Amazon's Data Protection Policy asks sellers to delete buyers' personal information 30 days after
the order is delivered. deskterm keeps the facts claims are made of (orders, lines, refunds,
returns, ledger rows, claims, the tickets and what the buyer said) and removes the person:

- a buyer is replaced by a pseudonym (`purged:` and a digest of their address), so their tickets
  and orders still group together, and their name goes;
- messages lose their sender names, their raw .eml source, and, in subject and text, every e-mail
  address, phone number, street address, the buyer's known names and the order's ship-to city
  (`[removed]`);
- orders lose the ship-to city and region (the country stays: it names the marketplace);
- return comments and agents' notes are redacted the same way.

A ticket is due when its last message and its order's delivery (else the promised delivery, the
ship date, the purchase date) are both older than the configured days. Deleted and rewritten
pages are zeroed (`secure_delete`), the database is vacuumed and its WAL truncated, the search
index is rebuilt from the purged store (Whoosh keeps deleted text in its segments until then), and
the evidence folders under the workspace are rebuilt from it. The audit log is never purged: it
holds ids and counts, never personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskterm.clock import iso
from deskterm.store import Store

REMOVED = "[removed]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# +1 (206) 555-0142, 0151 1234 5678, 206.555.0142: groups of digits a phone number is made of, not
# an order id (the look-arounds refuse digits or dashes on either side) nor a date.
PHONE = re.compile(r"(?<![\w-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}(?:[ .-]?\d{2,4})?(?![\w-])")
STREET = re.compile(
    r"\b\d{1,5}[a-z]?,?\s+(?:[A-ZÄÖÜ][\w.'-]*\s+){0,4}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|"
    r"Blvd|Way|Court|Ct|Place|Pl|Close|Crescent|Terrace|Straße|Strasse|Str|Weg|Platz|Allee|Gasse)\b\.?"
    r"|\b(?:Via|Viale|Rue|Avenue|Calle|Avenida|Piazza|Plaza)\s+(?:[\w.'-]+\s+){0,4}\d{1,5}\b", re.UNICODE)
# a name word worth removing: two letters or more, not a word every message has
_COMMON = {"mr", "mrs", "ms", "dr", "the", "and", "von", "van", "de", "der", "amazon", "marketplace", "customer",
           "buyer", "shop", "tiktok", "shopify", "order", "seller", "support", "team"}


@dataclass
class PurgeOutcome:
    days: int
    tickets: int = 0
    messages: int = 0
    customers: int = 0
    orders: int = 0
    sources: int = 0
    evidence_folders: int = 0
    index_rebuilt: bool = False
    wal_truncated: bool = False
    folders: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"days": self.days, "tickets": self.tickets, "messages": self.messages, "customers": self.customers,
                "orders": self.orders, "sources": self.sources, "evidence_folders": self.evidence_folders,
                "index_rebuilt": self.index_rebuilt, "wal_truncated": self.wal_truncated}


def pseudonym(address: str) -> str:
    return "purged:" + hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]


def redact(text: str | None, names: set[str]) -> str | None:
    if not text:
        return text
    text = EMAIL.sub(REMOVED, text)
    text = STREET.sub(REMOVED, text)
    text = PHONE.sub(REMOVED, text)
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REMOVED, text, flags=re.I)
    return text


def _names(*values: str | None) -> set[str]:
    """A buyer's names, whole and word by word ("Jane Roe", "Jane", "Roe")."""
    found: set[str] = set()
    for value in values:
        if not value or value.startswith("purged:"):
            continue
        value = " ".join(value.replace("@", " ").split())
        found.add(value)
        found |= {word for word in re.findall(r"[^\W\d_][\w'-]*", value) if len(word) > 1 and word.lower() not in _COMMON}
    return found


class Purge:
    def __init__(self, store: Store, days: int) -> None:
        self.store = store
        self.days = days
        self.due: set[int] = set()

    def due_tickets(self) -> list[int]:
        cutoff = iso(self.store.clock.now() - dt.timedelta(days=self.days))
        return [r[0] for r in self.store.rows(
            "SELECT t.id FROM tickets t LEFT JOIN orders o ON o.order_id = t.order_id"
            " WHERE coalesce(t.last_message_at, t.created_at) < ? AND (o.order_id IS NULL OR"
            " coalesce(o.delivered_at, o.latest_delivery_date, o.shipped_at, o.purchase_date, '') < ?)"
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND (m.sender_name IS NOT NULL"
            " OR m.sender NOT LIKE 'purged:%' OR EXISTS (SELECT 1 FROM message_sources s WHERE s.message_rowid = m.id)))"
            " ORDER BY t.id", (cutoff, cutoff))]

    def run(self, dry_run: bool = False) -> PurgeOutcome:
        outcome = PurgeOutcome(self.days)
        tickets = self.due_tickets()
        self.due = set(tickets)
        outcome.tickets = len(tickets)
        if dry_run:
            return outcome
        cutoff = iso(self.store.clock.now() - dt.timedelta(days=self.days))
        self.store.conn.execute("PRAGMA secure_delete = ON")  # freed and rewritten cells are zeroed
        for start in range(0, len(tickets), 500):
            self._tickets(tickets[start:start + 500], outcome)
        self._orders(cutoff, outcome)
        with self.store.write() as conn:
            self.store.audit(conn, "purge", None, {k: v for k, v in outcome.as_json().items() if isinstance(v, int)})
        return outcome

    def _tickets(self, ticket_ids: list[int], outcome: PurgeOutcome) -> None:
        marks = ", ".join("?" * len(ticket_ids))
        with self.store.write() as conn:
            customers = conn.execute(
                f"SELECT DISTINCT c.id, c.address, c.name FROM customers c JOIN tickets t ON t.customer_id = c.id"
                f" WHERE t.id IN ({marks})", ticket_ids).fetchall()
            messages = conn.execute(
                f"SELECT id, ticket_id, direction, sender, sender_name, recipients, subject, body, wrapper"
                f" FROM messages WHERE ticket_id IN ({marks})", ticket_ids).fetchall()
            places = [r[0] for r in conn.execute(  # where the parcel went, as the buyer may write it
                f"SELECT o.ship_city FROM orders o JOIN tickets t ON t.order_id = o.order_id WHERE t.id IN ({marks})"
                f" AND o.ship_city IS NOT NULL", ticket_ids)]
            names = _names(*places, *(c[2] for c in customers), *(m[4] for m in messages),
                           *(c[1].split("@")[0] for c in customers if c[1] and "@" in c[1]
                             and not c[1].endswith(".amazon.com") and not c[1].startswith("purged:")))
            addresses = {c[1] for c in customers if c[1]}
            for rowid, _ticket, direction, sender, _name, recipients, subject, body, wrapper in messages:
                conn.execute(
                    "UPDATE messages SET sender_name = NULL, sender = ?, recipients = ?, subject = ?, body = ?,"
                    " wrapper = ? WHERE id = ?",
                    (_hide(sender, addresses, direction == "inbound"), _hide_list(recipients, addresses),
                     redact(subject, names), redact(body, names), redact(wrapper, names), rowid))
                conn.execute("INSERT INTO index_outbox (message_rowid) VALUES (?)", (rowid,))
            outcome.messages += len(messages)
            outcome.sources += conn.execute(
                f"DELETE FROM message_sources WHERE message_rowid IN (SELECT id FROM messages WHERE ticket_id IN ({marks}))",
                ticket_ids).rowcount
            for customer_id, address, _name in customers:
                others = conn.execute("SELECT id FROM tickets WHERE customer_id = ?", (customer_id,)).fetchall()
                if any(other[0] not in self.due for other in others):
                    continue  # a buyer still writing about another order keeps their address: replies need it
                if address and not address.startswith("purged:"):
                    hidden = pseudonym(address)
                    clash = conn.execute("SELECT id FROM customers WHERE channel = (SELECT channel FROM customers"
                                         " WHERE id = ?) AND address = ?", (customer_id, hidden)).fetchone()
                    if clash is None:
                        conn.execute("UPDATE customers SET address = ?, name = NULL WHERE id = ?", (hidden, customer_id))
                        outcome.customers += 1
            for note_id, body in conn.execute(f"SELECT rowid, body FROM notes WHERE ticket_id IN ({marks})", ticket_ids):
                conn.execute("UPDATE notes SET body = ? WHERE rowid = ?", (redact(body, names), note_id))
            conn.execute(f"UPDATE send_queue SET body = '' WHERE ticket_id IN ({marks}) AND state IN ('sent', 'failed')",
                         ticket_ids)

    def _orders(self, cutoff: str, outcome: PurgeOutcome) -> None:
        with self.store.write() as conn:
            due = "coalesce({o}delivered_at, {o}latest_delivery_date, {o}shipped_at, {o}purchase_date, '') < ?"
            outcome.orders = conn.execute(
                f"UPDATE orders SET ship_city = NULL, ship_state = NULL WHERE {due.format(o='')}"
                " AND (ship_city IS NOT NULL OR ship_state IS NOT NULL)", (cutoff,)).rowcount
            for rowid, comments in conn.execute(
                    f"SELECT r.id, r.customer_comments FROM returns r JOIN orders o ON o.order_id = r.order_id"
                    f" WHERE r.customer_comments IS NOT NULL AND {due.format(o='o.')}",
                    (cutoff,)).fetchall():
                conn.execute("UPDATE returns SET customer_comments = ? WHERE id = ?", (redact(comments, set()), rowid))


def _hide(address: str | None, buyers: set[str], inbound: bool) -> str | None:
    if not address:
        return address
    return pseudonym(address) if inbound or address in buyers else address


def _hide_list(recipients: str | None, buyers: set[str]) -> str | None:
    if not recipients:
        return recipients
    return ", ".join(pseudonym(r) if r.strip() in buyers else r.strip() for r in recipients.split(","))


def compact(store: Store) -> bool:
    """Rewrite the database without the freed pages and empty the WAL; False when a reader held it."""
    store.conn.execute("VACUUM")
    busy, _log, _done = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def evidence_subjects(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The evidence folders under the workspace and what each was built for (its manifest)."""
    found = []
    for manifest in sorted(root.glob("*/manifest.json")) if root.is_dir() else []:
        try:
            found.append((manifest.parent, json.loads(manifest.read_text(encoding="utf-8"))["subject"]))
        except (OSError, ValueError, KeyError):
            continue
    return found
