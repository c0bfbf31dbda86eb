"""Linking a buyer's e-mail to their Shopify order.

Shopify buyers write from their own address, to the seller's mailbox, so their mail arrives as
plain e-mail with no order attached. A ticket without an order is linked to a Shopify order placed
from the same address: the one whose number the buyer wrote ("#1001", "order 1001"), else their
only order. A number alone is not enough (another shop's order, a parcel number), and neither is
an address with several orders and no number: those stay for the agent to link.
"""

from __future__ import annotations

import re
from collections import defaultdict

from deskterm.store import Store

ORDER_NUMBER = re.compile(r"(?:#\s?|\border\s*(?:no\.?|number|nr\.?)?\s*#?\s*)(\d{3,10})\b", re.I)


def link_shop_orders(store: Store) -> list[int]:
    """Link what can be linked; returns the tickets that were."""
    candidates: dict[int, list[str]] = defaultdict(list)
    for row in store.rows(
            "SELECT t.id AS ticket_id, o.order_id FROM tickets t JOIN customers c ON c.id = t.customer_id"
            " JOIN customers s ON s.channel = 'shopify' AND s.address = lower(c.address)"
            " JOIN orders o ON o.customer_id = s.id AND o.channel = 'shopify'"
            " WHERE t.order_id IS NULL AND t.channel IN ('email', 'shopify')"):
        candidates[row["ticket_id"]].append(row["order_id"])
    links = []
    for ticket_id, orders in candidates.items():
        text = " ".join(f"{r['subject'] or ''} {r['body'] or ''}" for r in store.rows(
            "SELECT subject, body FROM messages WHERE ticket_id = ? AND direction = 'inbound'", (ticket_id,)))
        named = {f"#{number}" for number in ORDER_NUMBER.findall(text)}
        chosen = [order for order in orders if order in named]
        if len(chosen) == 1 or (not chosen and not named and len(orders) == 1):
            links.append((chosen[0] if chosen else orders[0], ticket_id))
    if links:
        with store.write() as conn:
            conn.executemany("UPDATE tickets SET order_id = ? WHERE id = ? AND order_id IS NULL", links)
            for order_id, ticket_id in links:
                store.audit(conn, "ticket.linked", f"ticket:{ticket_id}", {"order": order_id, "by": "shopify e-mail"})
    return [ticket_id for _order, ticket_id in links]
