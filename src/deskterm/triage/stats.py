"""`deskterm stats`: response metrics computed as Amazon computes them, and the ODR inputs known here.

Late Response Rate (research/helpdesk.md §2b): of the buyer messages received in the last 7, 30
or 90 days that needed a reply, the share not answered within 24 hours, weekends and holidays
included; each message counts on its own, so two messages answered by one reply are two
responses. "No response needed" takes a message out. A message younger than 24 hours with no
reply yet is not late yet: it is counted as waiting, outside the rate.

ODR (§2a) counts orders with an A-to-z claim, a chargeback or negative feedback over 60 days. Amazon
holds the feedback; deskterm knows the claim and chargeback notices it received and the buyers who
threatened negative feedback, which is what an agent can still act on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from deskterm.clock import iso
from deskterm.store import Store
WINDOWS = (7, 30, 90)
BUYER_KINDS = ("buyer_message", "message")  # Amazon's metric counts buyer messages, not claim notices
ODR_DAYS = 60


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def response_stats(store: Store, now: dt.datetime, limit_hours: float = 24) -> dict[str, Any]:
    """Per channel and window: messages, answered, late, no response, waiting, rate, average."""
    since = iso(now - dt.timedelta(days=max(WINDOWS)))
    marks = ", ".join("?" for _ in BUYER_KINDS)
    rows = store.rows(
        "SELECT m.channel, m.sent_at, (SELECT min(o.sent_at) FROM messages o WHERE o.ticket_id = m.ticket_id"
        " AND o.direction = 'outbound' AND o.sent_at > m.sent_at) AS replied FROM messages m"
        f" WHERE m.direction = 'inbound' AND m.kind IN ({marks}) AND m.no_response_needed IS NULL"
        " AND m.sent_at >= ? AND m.sent_at <= ?", (*BUYER_KINDS, since, iso(now)))
    limit = dt.timedelta(hours=limit_hours)
    result: dict[str, Any] = {}
    for channel in sorted({row[0] for row in rows}):
        result[channel] = {}
        for days in WINDOWS:
            start = now - dt.timedelta(days=days)
            answered: list[float] = []
            late = no_response = waiting = 0
            for _channel, sent, replied in (row for row in rows if row[0] == channel):
                received = _instant(sent)
                if received < start:
                    continue
                if replied:
                    took = _instant(replied) - received
                    answered.append(took.total_seconds() / 3600)
                    late += took > limit
                elif now - received > limit:
                    no_response += 1
                else:
                    waiting += 1
            counted = len(answered) + no_response
            result[channel][f"{days}d"] = {
                "messages": counted, "answered": len(answered), "late": late + no_response,
                "over_24h": late, "no_response": no_response, "waiting": waiting,
                "late_response_rate": round((late + no_response) / counted, 4) if counted else None,
                "average_response_hours": round(sum(answered) / len(answered), 2) if answered else None,
            }
    return result


def odr_inputs(store: Store, now: dt.datetime) -> dict[str, Any]:
    """A-to-z and chargeback notices and negative-feedback threats of the last 60 days, by order."""
    since = iso(now - dt.timedelta(days=ODR_DAYS))
    notices = store.rows(
        "SELECT kind, coalesce(order_id, '') FROM messages WHERE kind IN ('a_to_z', 'chargeback') AND sent_at >= ?",
        (since,))
    threats = store.rows(
        "SELECT DISTINCT coalesce(m.order_id, t.order_id, '') FROM messages m JOIN tickets t ON t.id = m.ticket_id"
        " WHERE m.direction = 'inbound' AND m.sent_at >= ? AND m.risk_reasons LIKE '%\"negative_feedback\"%'",
        (since,))
    orders = store.scalar("SELECT count(*) FROM orders WHERE channel = 'amazon' AND purchase_date >= ?", (since,))
    defective = ({order for kind, order in notices if order} | {row[0] for row in threats if row[0]})
    return {
        "days": ODR_DAYS,
        "a_to_z_claims": sum(1 for kind, _order in notices if kind == "a_to_z"),
        "chargebacks": sum(1 for kind, _order in notices if kind == "chargeback"),
        "negative_feedback_threats": len(threats),
        "orders": orders,
        "orders_at_risk": sorted(defective),
        "known_defect_rate": round(len(defective) / orders, 4) if orders else None,
    }
