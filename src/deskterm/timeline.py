"""The whole story of a ticket in one chronological list, with what does not add up marked.

Built from `views.ticket_view`, so the CLI and the TUI tell the same story: ordered, delivered,
shipped, each message, returns with their disposition, refunds, reimbursements, claims, notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAMAGE_RULES = ("damaged", "defective", "wrong_item", "missing_parts", "not_as_described")


@dataclass(frozen=True)
class Event:
    at: str            # ISO 8601, UTC; sorts as text
    kind: str          # ordered, shipped, delivered, message, reply, note, return, refund, reimbursement, claim
    text: str          # plain text; the caller sanitizes before display
    anomaly: str = ""  # why this event deserves a second look


def timeline(view: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    for order in view["orders"]:
        if order.get("purchase_date"):
            events.append(Event(order["purchase_date"], "ordered", f"order {order['order_id']} placed"))
        for shipment in order.get("shipments", []):
            how = " ".join(part for part in (shipment.get("carrier"), shipment.get("tracking_number")) if part)
            events.append(Event(shipment["shipment_date"], "shipped",
                                f"{shipment.get('quantity')} × {shipment.get('sku')} shipped"
                                + (f" from {shipment['fulfillment_center']}" if shipment.get("fulfillment_center") else "")
                                + (f" ({how})" if how else "")))
        if order.get("delivered_at"):
            events.append(Event(order["delivered_at"], "delivered", f"order {order['order_id']} delivered"))
        if order.get("latest_delivery_date"):
            events.append(Event(order["latest_delivery_date"], "promised",
                                f"latest delivery date of {order['order_id']}"))
    damage_reported = None
    for message in view["messages"]:
        rules = {reason["rule"] for reason in message.get("risk_reasons") or []}
        if message["direction"] == "inbound" and rules & set(DAMAGE_RULES) and damage_reported is None:
            damage_reported = message["sent_at"]
        who = "we replied" if message["direction"] == "outbound" else f"{message['sender_name'] or message['sender']} wrote"
        first_line = next((line.strip() for line in (message["body"] or "").splitlines() if line.strip()), "")
        events.append(Event(message["sent_at"] or "", "reply" if message["direction"] == "outbound" else "message",
                            f"{who}: {first_line[:120]}"))
    for ret in view["returns"]:
        anomaly = ""
        if damage_reported and (ret.get("disposition") or "").upper() == "SELLABLE":
            anomaly = "the buyer reported damage, and the return was graded SELLABLE"
        events.append(Event(ret.get("return_date") or "", "return",
                            f"return of {ret.get('quantity')} × {ret.get('sku')}: {ret.get('disposition')} "
                            f"({ret.get('reason')})", anomaly))
    for refund in view["refunds"]:
        events.append(Event(refund["refund_date"], "refund",
                            f"refund {refund.get('amount')} {refund.get('currency') or ''} for {refund.get('sku')}"))
    for item in view.get("reimbursements", []):
        events.append(Event(item.get("approval_date") or "", "reimbursement",
                            f"reimbursed {item.get('amount_total')} {item.get('currency') or ''} "
                            f"({item.get('reason')}, {item.get('quantity_total')} units)"))
    for claim in view["claims"]:
        events.append(Event(claim.get("detected_at") or "", "claim",
                            f"claim {claim['claim_id']} {claim['kind']} {claim['status']}, deadline {claim['deadline']}"))
    for note in view.get("notes", []):
        events.append(Event(note["created_at"], "note", f"note by {note['agent']}: {note['body'][:120]}"))
    return sorted(events, key=lambda event: event.at)
