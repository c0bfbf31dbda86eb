"""The queue: open tickets, the most dangerous first, then the nearest deadline, then the oldest."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from deskterm.clock import iso
from deskterm.store import Store
from deskterm.triage.rules import LEVELS

CHANNELS = ("amazon", "shopify", "tiktok", "email")


@dataclass(frozen=True)
class QueueFilter:
    everything: bool = False          # --all: every ticket, closed and snoozed ones too
    channel: str | None = None
    risk: str | None = None           # this level and above
    assignee: str | None = None       # --mine
    unassigned: bool = False


def queue(store: Store, now: dt.datetime, which: QueueFilter = QueueFilter(), limit: int | None = None,
          ) -> list[dict[str, Any]]:
    """Tickets in queue order, in the shape of `deskterm queue --json`."""
    where, params = [], []
    if not which.everything:
        where.append("t.status = 'open' AND (t.snoozed_until IS NULL OR t.snoozed_until <= ?)")
        params.append(iso(now))
    if which.channel:
        where.append("t.channel = ?")
        params.append(which.channel)
    if which.risk:
        where.append("t.risk_rank >= ?")
        params.append(LEVELS.index(which.risk))
    if which.assignee:
        where.append("t.assignee = ?")
        params.append(which.assignee)
    if which.unassigned:
        where.append("t.assignee IS NULL")
    sql = (
        "SELECT t.id, t.risk, t.risk_reasons, t.sla_due, t.sla_started_at, t.channel, t.marketplace, t.order_id,"
        " coalesce(c.name, c.address) AS customer, t.subject, t.status, t.assignee, t.tags, t.created_at,"
        " t.snoozed_until FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY t.risk_rank DESC, t.sla_due IS NULL, t.sla_due, coalesce(t.sla_started_at, t.created_at), t.id"
        + (" LIMIT ?" if limit else ""))
    rows = store.rows(sql, [*params, limit] if limit else params)
    return [{
        "ticket_id": row["id"], "risk": row["risk"], "risk_reasons": json.loads(row["risk_reasons"] or "[]"),
        "sla_due": row["sla_due"], "channel": row["channel"], "order_id": row["order_id"],
        "customer": row["customer"], "subject": row["subject"], "status": row["status"],
        "marketplace": row["marketplace"], "assignee": row["assignee"], "tags": json.loads(row["tags"] or "[]"),
        "waiting_since": row["sla_started_at"], "created_at": row["created_at"], "snoozed_until": row["snoozed_until"],
    } for row in rows]


def time_left(due: str | None, now: dt.datetime) -> str:
    """`3h 20m left`, `overdue 1d 2h`, or `-` when no clock runs."""
    if not due:
        return "-"
    seconds = int((dt.datetime.fromisoformat(due.replace("Z", "+00:00")) - now).total_seconds())
    span = _span(abs(seconds))
    return f"{span} left" if seconds >= 0 else f"OVERDUE {span}"


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"
