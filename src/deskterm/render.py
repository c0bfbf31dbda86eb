"""Plain-text renderings for the CLI. Every outside string passes through the sanitizer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from deskterm.sanitize import for_terminal, one_line
from deskterm.triage.queue import time_left


def render_ticket(view: dict[str, Any], now: dt.datetime) -> str:
    ticket = view["ticket"]
    customer = ticket.get("customer_name") or ticket.get("customer_address") or "unknown customer"
    lines = [
        one_line(f"Ticket {ticket['id']} · {ticket['channel']} · {ticket['status']} · {customer}"),
        one_line(f"Subject: {ticket['subject']}"),
        one_line(f"Risk: {ticket['risk']} · SLA: {time_left(ticket['sla_due'], now)}"
                 + (f" (due {ticket['sla_due']})" if ticket["sla_due"] else "")
                 + (f" · assigned to {ticket['assignee']}" if ticket["assignee"] else "")
                 + (f" · tags {', '.join(ticket['tags'])}" if ticket["tags"] else "")),
    ]
    lines += ["    " + one_line(f"{item['level']}: {item['text']}") for item in ticket["risk_reasons"]]
    for order in view["orders"]:
        lines.append(one_line(
            f"Order {order['order_id']} · {order['marketplace'] or '?'} · {order['status']} · "
            f"{order['fulfillment_channel'] or ''} · purchased {order['purchase_date']}"))
        shipping = [f"{label} {order[key]}" for label, key in (
            ("shipped", "shipped_at"), ("latest delivery", "latest_delivery_date"), ("delivered", "delivered_at"),
            ("carrier", "carrier"), ("tracking", "tracking")) if order.get(key)]
        if shipping:
            lines.append("    " + one_line(" · ".join(shipping)))
        for line in order["lines"]:
            codes = "".join(f" {name} {line[key]}" for name, key in (("ASIN", "asin"), ("FNSKU", "fnsku")) if line[key])
            lines.append("    " + one_line(f"{line['quantity']} × {line['sku']} {line['product_name'] or ''} "
                                         f"{line['item_price'] or ''} {line['currency'] or ''}{codes}"))
    for ret in view["returns"]:
        lines.append(one_line(f"Return {ret['return_date']} {ret['sku']} ×{ret['quantity']} "
                              f"{ret['disposition']} ({ret['reason']})"))
    for refund in view["refunds"]:
        lines.append(one_line(f"Refund {refund['refund_date']} {refund['sku']} {refund['amount']} {refund['currency']}"))
    for claim in view["claims"]:
        lines.append(one_line(f"Claim {claim['claim_id']} {claim['kind']} {claim['status']} deadline {claim['deadline']}"))
    for message in view["messages"]:
        arrow = "→" if message["direction"] == "outbound" else "←"
        sender = message["sender_name"] or message["sender"] or ""
        lines += ["", one_line(f"{arrow} {message['sent_at']}  {sender}  [{message['kind']}]"),
                  "  " + one_line(message["subject"])]
        lines += ["  " + row for row in for_terminal(message["body"] or "").splitlines()]
        for attachment in message["attachments"]:
            lines.append("  " + one_line(f"📎 {attachment['filename']} ({attachment['size']:,} bytes)"))
        if message["no_response_needed"]:
            lines.append("  " + one_line(f"(no response needed: {message['no_response_needed']})"))
    for note in view["notes"]:
        lines += ["", one_line(f"✎ note by {note['agent']} at {note['created_at']}")]
        lines += ["  " + row for row in for_terminal(note["body"]).splitlines()]
    return "\n".join(lines)
