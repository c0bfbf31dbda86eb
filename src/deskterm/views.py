"""Read-side queries shared by the CLI and (later) the TUI: status, a ticket with its context."""

from __future__ import annotations

import json
from typing import Any

from deskterm.config import Config
from deskterm.store import Store

STATUS_COUNTS = {
    "orders": "SELECT count(*) FROM orders",
    "order_lines": "SELECT count(*) FROM order_lines",
    "returns": "SELECT count(*) FROM returns",
    "refunds": "SELECT count(*) FROM refunds",
    "reimbursements": "SELECT count(*) FROM reimbursements",
    "ledger": "SELECT count(*) FROM ledger_events",
    "inbound_lines": "SELECT count(*) FROM inbound_lines",
    "removals": "SELECT (SELECT count(*) FROM removal_orders) + (SELECT count(*) FROM removal_shipments)",
    "messages": "SELECT count(*) FROM messages",
    "tickets": "SELECT count(*) FROM tickets",
    "attachments": "SELECT count(*) FROM attachments",
}


def channel_states(store: Store, config: Config) -> dict[str, dict[str, Any]]:
    """Each channel's last successful sync and last error (the status line reads only this)."""
    channels: dict[str, dict[str, Any]] = {name: {"last_success": None, "last_error": None} for name in config.channels}
    for row in store.rows(
        "SELECT channel, max(last_success) AS ok, "
        "(SELECT last_error FROM sync_state s2 WHERE s2.channel = s.channel ORDER BY last_attempt DESC LIMIT 1) AS err "
        "FROM sync_state s GROUP BY channel"
    ):
        channels[row["channel"]] = {"last_success": row["ok"], "last_error": row["err"]}
    return channels


def outbound_queued(store: Store) -> int:
    return store.scalar("SELECT count(*) FROM send_queue WHERE state IN ('queued', 'sending')")


def status(store: Store, config: Config, indexed: int) -> dict[str, Any]:
    """The workspace at a glance, in the shape DESIGN.md fixes for `status --json`."""
    channels = channel_states(store, config)
    return {
        "counts": {kind: store.scalar(sql) for kind, sql in STATUS_COUNTS.items()},
        "claims": {row["status"]: row["n"] for row in store.rows(
            "SELECT status, count(*) AS n FROM claims GROUP BY status ORDER BY status")},
        "quarantined": store.scalar("SELECT count(*) FROM quarantine"),
        "outbound_queued": outbound_queued(store),
        "indexed": indexed,
        "channels": channels,
    }


def _dicts(rows: list[Any], drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{k: row[k] for k in row.keys() if k not in drop} for row in rows]


_REPORT_META = ("row_key", "content_hash", "imported_at")


def _merchant_ids(order: Any) -> tuple[str | None, str | None, str | None]:
    """The ids an MCF app may give Amazon for a shop's order: its name ("#1001"), its number, its id."""
    if order["channel"] != "shopify":
        return (None, None, None)
    return (order["order_id"], order["order_id"].lstrip("#"), order["merchant_order_id"])


def ticket_view(store: Store, ticket_id: int) -> dict[str, Any] | None:
    """A ticket with its conversation and its order context, for `show` and the TUI."""
    ticket = store.row(
        "SELECT t.*, c.address AS customer_address, c.name AS customer_name FROM tickets t "
        "LEFT JOIN customers c ON c.id = t.customer_id WHERE t.id = ?", (ticket_id,))
    if ticket is None:
        return None
    messages = []
    for row in store.rows(
        "SELECT id, message_id, direction, kind, channel, sender, sender_name, recipients, subject, sent_at, body,"
        " order_id, marketplace, risk, risk_reasons, no_response_needed, agent FROM messages WHERE ticket_id = ?"
        " ORDER BY sent_at, id", (ticket_id,)):
        message = {k: row[k] for k in row.keys() if k != "id"}
        message["risk_reasons"] = json.loads(message["risk_reasons"] or "[]")
        message["attachments"] = _dicts(store.rows(
            "SELECT ma.filename, ma.sha256, a.size, a.content_type FROM message_attachments ma "
            "JOIN attachments a ON a.sha256 = ma.sha256 WHERE ma.message_id = ? ORDER BY position", (row["id"],)))
        messages.append(message)
    order_ids = sorted({ticket["order_id"], *(m["order_id"] for m in messages)} - {None})
    marks = ", ".join("?" for _ in order_ids)
    orders = []
    for row in store.rows(f"SELECT * FROM orders WHERE order_id IN ({marks}) ORDER BY purchase_date", order_ids):
        order = {k: row[k] for k in row.keys() if k != "content_hash"}
        order["lines"] = _dicts(store.rows(
            "SELECT l.sku, coalesce(l.asin, (SELECT max(asin) FROM skus WHERE msku = l.sku)) AS asin,"
            " (SELECT group_concat(fnsku, ' ') FROM skus WHERE msku = l.sku) AS fnsku, l.product_name,"
            " l.item_status, l.quantity, l.currency, l.item_price FROM order_lines l"
            " WHERE l.order_id = ? ORDER BY l.id", (row["order_id"],)))
        order["shipments"] = _dicts(store.rows(
            "SELECT shipment_id, shipment_date, sku, quantity, carrier, tracking_number, estimated_arrival,"
            " fulfillment_center FROM customer_shipments WHERE order_id = ?"
            " OR merchant_order_id IN (?, ?, ?) ORDER BY shipment_date, id",  # Amazon's MCF parcels of a shop order
            (row["order_id"], *_merchant_ids(row))))
        orders.append(order)
    ticket_dict = {k: ticket[k] for k in ticket.keys()}
    ticket_dict["tags"] = json.loads(ticket_dict["tags"] or "[]")
    ticket_dict["risk_reasons"] = json.loads(ticket_dict["risk_reasons"] or "[]")
    claims = []
    for row in store.rows(
        f"SELECT * FROM claims WHERE order_id IN ({marks}) "
        "OR EXISTS (SELECT 1 FROM json_each(claims.ticket_ids) WHERE value = ?) ORDER BY deadline",
        [*order_ids, ticket_id],
    ):
        claim = {k: row[k] for k in row.keys()}
        claim["reasons"] = json.loads(claim["reasons"])
        claim["ticket_ids"] = json.loads(claim["ticket_ids"])
        claims.append(claim)
    return {
        "ticket": ticket_dict,
        "messages": messages,
        "orders": orders,
        "returns": _dicts(store.rows(
            f"SELECT * FROM returns WHERE order_id IN ({marks}) ORDER BY return_date", order_ids), _REPORT_META),
        "refunds": _dicts(store.rows(
            f"SELECT * FROM refunds WHERE order_id IN ({marks}) ORDER BY refund_date", order_ids), ("refund_key",)),
        "claims": claims,
        "notes": _dicts(store.rows("SELECT agent, body, created_at FROM notes WHERE ticket_id = ? ORDER BY id",
                                   (ticket_id,))),
        "reimbursements": _dicts(store.rows(
            f"SELECT * FROM reimbursements WHERE order_id IN ({marks}) ORDER BY approval_date", order_ids),
            _REPORT_META),
        "other_orders": _dicts(store.rows(
            f"SELECT order_id, marketplace, purchase_date, status FROM orders WHERE customer_id = ?"
            f" AND order_id NOT IN ({marks}) ORDER BY purchase_date DESC LIMIT 20",
            [ticket["customer_id"], *order_ids])),
        "other_tickets": _dicts(store.rows(
            "SELECT id, channel, status, risk, subject, order_id, last_message_at FROM tickets WHERE customer_id = ?"
            " AND id != ? ORDER BY last_message_at DESC LIMIT 20", (ticket["customer_id"], ticket_id))),
    }
