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


_COLUMNS = (
    "SELECT t.id, t.risk, t.risk_reasons, t.sla_due, t.sla_started_at, t.channel, t.marketplace, t.order_id,"
    " coalesce(c.name, c.address) AS customer, t.subject, t.status, t.assignee, t.tags, t.created_at,"
    " t.snoozed_until, t.claim_badge, t.queue_key FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id")


def _where(which: QueueFilter, now: dt.datetime) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
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
    return where, params


def queue(store: Store, now: dt.datetime, which: QueueFilter = QueueFilter(), limit: int | None = None,
          ) -> list[dict[str, Any]]:
    """Tickets in queue order, in the shape of `deskterm queue --json`."""
    where, params = _where(which, now)
    sql = (_COLUMNS + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.queue_key"
           + (" LIMIT ?" if limit else ""))
    return [as_json(row) for row in store.rows(sql, [*params, limit] if limit else params)]


class QueuePager:
    """The queue as numbered rows, read a page at a time for a scrolling screen.

    The next page is read by keyset from the last key of the page before it (0.05 ms at a million
    tickets); a jump far ahead reads one page by OFFSET and continues by keyset from there. Pages
    stay cached until `reset()` (new messages, a filter change).
    """

    PAGE = 100

    def __init__(self, store: Store, which: QueueFilter, now: dt.datetime) -> None:
        self.store = store
        self.which = which
        self.now = now
        self._pages: dict[int, list[Any]] = {}
        self._count: int | None = None

    def reset(self, which: QueueFilter | None = None, now: dt.datetime | None = None) -> None:
        self.which = which or self.which
        self.now = now or self.now
        self._pages.clear()
        self._count = None

    def count(self) -> int:
        if self._count is None:
            self._count = self.count_with(self.store)
        return self._count

    def count_with(self, store: Store) -> int:
        """The number of tickets in the queue, read through `store` (a thread can use its own)."""
        where, params = _where(self.which, self.now)
        return store.scalar("SELECT count(*) FROM tickets t" + (" WHERE " + " AND ".join(where) if where else ""),
                            params)

    @property
    def known(self) -> int | None:
        """The count, when it has been read (None while a worker is still counting)."""
        return self._count

    def known_count(self, count: int) -> None:
        """A count read elsewhere (a worker) for the filter and time this pager still has."""
        self._count = count

    def first_page(self) -> list[Any]:
        return [row for row in (self.row(i) for i in range(self.PAGE)) if row is not None]

    def row(self, index: int) -> Any | None:
        """Row `index` (0-based) of the queue, or None past the end."""
        if index < 0 or (self._count is not None and index >= self._count):
            return None
        number, within = divmod(index, self.PAGE)
        page = self._pages.get(number)
        if page is None:
            page = self._pages[number] = self._read(number)
        if self._count is not None and index >= self._count:  # reading the page may have counted
            return None
        return page[within] if within < len(page) else None

    def _read(self, number: int) -> list[Any]:
        where, params = _where(self.which, self.now)
        before, after = self._pages.get(number - 1), self._pages.get(number + 1)
        order, extra = "t.queue_key", [self.PAGE]
        if number == 0:
            pass
        elif before:  # scrolling down: keyset from the page above
            where, params = [*where, "t.queue_key > ?"], [*params, before[-1]["queue_key"]]
        elif after:  # scrolling up from a jump: keyset from the page below, read backwards
            where, params, order = [*where, "t.queue_key < ?"], [*params, after[0]["queue_key"]], "t.queue_key DESC"
        elif number * self.PAGE > self.count() // 2:  # a jump near the end: OFFSET from the end
            first, end = number * self.PAGE, min((number + 1) * self.PAGE, self.count())
            if first >= end:
                return []  # past the end
            order, extra = "t.queue_key DESC", [end - first, self.count() - end]
        else:
            extra = [self.PAGE, number * self.PAGE]
        rows = self.store.rows(_COLUMNS + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order}"
                               + (" LIMIT ? OFFSET ?" if len(extra) == 2 else " LIMIT ?"), [*params, *extra])
        return rows[::-1] if order.endswith("DESC") else rows


def as_json(row: Any) -> dict[str, Any]:
    """One queue row in the shape of `deskterm queue --json`."""
    return {
        "ticket_id": row["id"], "risk": row["risk"], "risk_reasons": json.loads(row["risk_reasons"] or "[]"),
        "sla_due": row["sla_due"], "channel": row["channel"], "order_id": row["order_id"],
        "customer": row["customer"], "subject": row["subject"], "status": row["status"],
        "marketplace": row["marketplace"], "assignee": row["assignee"], "tags": json.loads(row["tags"] or "[]"),
        "waiting_since": row["sla_started_at"], "created_at": row["created_at"], "snoozed_until": row["snoozed_until"],
        "claim": row["claim_badge"],
    }


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
