"""What the index knows of a message: built from the store, the one source of truth."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from deskterm.digest import digest
from deskterm.store import Store

AMAZON_ORDER = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
SHOPIFY_ORDER = re.compile(r"#\d{3,10}\b")
ASIN = re.compile(r"\bB0[A-Z0-9]{8}\b")

_MESSAGES = """
SELECT m.id, m.ticket_id, m.channel, m.direction, m.sender, m.sender_name, m.recipients, m.subject, m.body,
       m.sent_at, m.order_id, m.marketplace, m.content_hash,
       t.status, t.tags, t.risk, t.order_id AS ticket_order,
       coalesce(t.last_inbound_at, '') > coalesce(t.last_outbound_at, '') AS unanswered,
       (SELECT group_concat(filename, ' ') FROM message_attachments a WHERE a.message_id = m.id) AS attachment_names
FROM messages m JOIN tickets t ON t.id = m.ticket_id
"""


@dataclass
class MessageDoc:
    """The fields of one index document (engine-neutral)."""

    id: int
    fields: dict[str, Any]
    stamp: str   # changes whenever anything indexed changes: `index check` finds stale documents


def load_docs(store: Store, rowids: list[int] | None, known_skus: set[str]) -> list[MessageDoc]:
    """Documents for these message rows (all of them when `rowids` is None)."""
    if rowids is None:
        rows = store.rows(_MESSAGES + " ORDER BY m.id")
    else:
        marks = ", ".join("?" for _ in rowids)
        rows = store.rows(_MESSAGES + f" WHERE m.id IN ({marks})", rowids)
    return [_doc(row, known_skus) for row in rows]


def known_skus(store: Store) -> set[str]:
    return {row[0] for row in store.rows(
        "SELECT DISTINCT sku FROM order_lines WHERE sku IS NOT NULL "
        "UNION SELECT DISTINCT sku FROM sourcing_costs")}


def _doc(row: Any, skus: set[str]) -> MessageDoc:
    text = f"{row['subject'] or ''}\n{row['body'] or ''}"
    orders = set(AMAZON_ORDER.findall(text)) | set(SHOPIFY_ORDER.findall(text))
    orders |= {o for o in (row["order_id"], row["ticket_order"]) if o}
    mentioned = {word for word in re.findall(r"[A-Za-z0-9][\w-]{2,}", text) if word in skus}
    tags = json.loads(row["tags"] or "[]")
    states = {row["status"], row["direction"]}
    if row["unanswered"]:
        states.add("unanswered")
    fields = {
        "id": str(row["id"]),
        "ticket": str(row["ticket_id"]),
        "subject": row["subject"] or "",
        "body": row["body"] or "",
        "sender": f"{row['sender_name'] or ''} {row['sender'] or ''}",
        "to": row["recipients"] or "",
        "attachment": row["attachment_names"] or "",
        "channel": row["channel"],
        "marketplace": (row["marketplace"] or "").lower(),
        "order": " ".join(sorted(o.lower() for o in orders)),
        "sku": " ".join(sorted(s.lower() for s in mentioned)),
        "asin": " ".join(sorted(a.lower() for a in set(ASIN.findall(text)))),
        "tag": " ".join(sorted(str(t).lower() for t in tags)),
        "risk": row["risk"] or "",
        "is": " ".join(sorted(states)),
        "has": "attachment" if row["attachment_names"] else "",
        "sent_at": row["sent_at"] or "",
    }
    stamp = digest([bytes(row["content_hash"]).hex(), row["status"], row["tags"], row["risk"], row["unanswered"],
                    row["attachment_names"], fields["sku"]]).hex()
    return MessageDoc(int(row["id"]), fields, stamp)
