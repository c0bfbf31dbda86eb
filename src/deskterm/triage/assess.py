"""Triage: read each new message for risk, then bring its ticket's risk, status and SLA up to date.

Messages are read once (`messages.risk IS NULL` marks the unread ones, so an interrupted pass
resumes); each batch and the tickets it touches are written in one transaction. A ticket's level
is the highest of its messages and of the behaviour signals below, and triage never lowers it:
only an agent does, and that is audit-logged (`actions.set_risk`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from deskterm.clock import Clock, iso
from deskterm.config import Config
from deskterm.store import Store
from deskterm.triage.rules import LEVELS, RANK, RuleSet
from deskterm.triage.sla import CLOCK_KINDS, Policy, policy_for

BATCH = 500
DAMAGE_RULES = ("damaged", "defective", "wrong_item", "missing_parts", "not_as_described")
DELIVERY_RULES = ("not_received", "where_is_my_order", "late")
A_TO_Z_GRACE = dt.timedelta(days=3)  # a buyer may claim 3 days after the latest delivery date
ESCALATION_DAYS = dt.timedelta(days=90)  # A-to-z allows claims up to 90 days after that date
_NOTICES = {"a_to_z": "Amazon A-to-z claim notice", "chargeback": "chargeback notice"}


@dataclass
class TriageOutcome:
    messages: int = 0
    tickets: int = 0


def reason(level: str, rule: str, text: str) -> dict[str, str]:
    return {"level": level, "rule": rule, "text": text}


def highest(reasons: Iterable[dict[str, str]], floor: str = "low") -> str:
    return max((r["level"] for r in reasons), key=RANK.__getitem__, default=floor) if reasons else floor


class Triage:
    def __init__(self, store: Store, config: Config, clock: Clock, rules: RuleSet) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.rules = rules
        self._policies: dict[str, Policy] = {}

    def policy(self, channel: str) -> Policy:
        if channel not in self._policies:
            self._policies[channel] = policy_for(channel, self.config.sla)
        return self._policies[channel]

    # -- messages ----------------------------------------------------------------------------
    def assess(self, direction: str, kind: str, subject: str, body: str) -> tuple[str, list[dict[str, str]]]:
        """The level of one message and why. Only what buyers (and claim notices) say counts."""
        if direction != "inbound":
            return "low", []
        if kind in _NOTICES:
            found = [reason("critical", kind, _NOTICES[kind])]
        elif kind == "return_request":
            found = [reason("medium", "return_request", "Amazon return request")]
        elif kind == "notification":
            found = []  # Amazon's own boilerplate says "refund" and "return" everywhere
        else:
            found = [reason(m.rule.level, m.rule.name, m.describe()) for m in self.rules.find(f"{subject}\n{body}")]
        return highest(found), found

    def refresh(self, ticket_ids: Iterable[int] = ()) -> TriageOutcome:
        """Read new messages; recompute their tickets, `ticket_ids`, and tickets a date has escalated."""
        outcome = TriageOutcome()
        pending = set(ticket_ids)
        while True:
            rows = self.store.rows(
                "SELECT id, ticket_id, direction, kind, coalesce(subject, ''), coalesce(body, '') FROM messages"
                " WHERE risk IS NULL ORDER BY id LIMIT ?", (BATCH,))
            if not rows:
                break
            assessed = []
            for rowid, _ticket, direction, kind, subject, body in rows:
                level, found = self.assess(direction, kind, subject, body)
                assessed.append((level, json.dumps(found, ensure_ascii=False), rowid))
            touched = {row[1] for row in rows} | pending
            pending = set()
            with self.store.write() as conn:
                conn.executemany("UPDATE messages SET risk = ?, risk_reasons = ? WHERE id = ? AND risk IS NULL",
                                 assessed)
                for ticket_id in sorted(touched):
                    self.recompute(conn, ticket_id)
            outcome.messages += len(rows)
            outcome.tickets += len(touched)
        pending |= self._escalated_by_date()
        if pending:
            with self.store.write() as conn:
                for ticket_id in sorted(pending):
                    self.recompute(conn, ticket_id)
            outcome.tickets += len(pending)
        return outcome

    def _escalated_by_date(self) -> set[int]:
        """Open tickets about delivery whose order has since passed its latest delivery date."""
        today = self.clock.now().date()
        return {row[0] for row in self.store.rows(
            "SELECT t.id FROM orders o JOIN tickets t ON t.order_id = o.order_id"
            " WHERE o.latest_delivery_date < ? AND o.latest_delivery_date >= ? AND t.status = 'open'"
            " AND t.risk_reasons NOT LIKE '%\"past_delivery\"%'"
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND (" +
            " OR ".join(f"m.risk_reasons LIKE '%\"{rule}\"%'" for rule in DELIVERY_RULES) + "))",
            (today.isoformat(), (today - ESCALATION_DAYS).isoformat()))}

    # -- tickets -----------------------------------------------------------------------------
    def recompute(self, conn: sqlite3.Connection, ticket_id: int) -> None:
        """Risk, status and SLA clock of one ticket, inside the caller's write transaction."""
        conn.row_factory = sqlite3.Row
        ticket = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if ticket is None:
            return
        messages = conn.execute(
            "SELECT m.id, m.direction, m.kind, coalesce(m.sent_at, '') AS sent_at, m.risk_reasons,"
            " m.no_response_needed, EXISTS (SELECT 1 FROM message_attachments a JOIN attachments b"
            " ON b.sha256 = a.sha256 WHERE a.message_id = m.id AND b.content_type LIKE 'image/%') AS photos"
            " FROM messages m WHERE m.ticket_id = ? ORDER BY m.sent_at, m.id", (ticket_id,)).fetchall()
        last_out = max((m["sent_at"] for m in messages if m["direction"] == "outbound"), default="")
        waiting = [m for m in messages if m["direction"] == "inbound" and m["kind"] in CLOCK_KINDS
                   and m["sent_at"] > last_out and not m["no_response_needed"]]
        boundary = ticket["risk_override_message"]
        found = self._reasons(conn, ticket, [m for m in messages if m["id"] > boundary],
                              [m for m in waiting if m["id"] > boundary])
        stored = json.loads(ticket["risk_reasons"] or "[]")
        merged = {(r["rule"], r["text"]): r for r in [*stored, *found]}
        reasons = sorted(merged.values(), key=lambda r: -RANK[r["level"]])
        level = max(ticket["risk"], highest(found), key=RANK.__getitem__)  # never lowered here

        status, snoozed = ticket["status"], ticket["snoozed_until"]
        if ticket["status_at"] is None:  # no agent has set it: imported history says whose turn it is
            status = "open" if waiting else "pending"
        elif any(m["id"] > ticket["status_message"] for m in waiting):  # arrived since, whatever its Date
            if status in ("pending", "closed"):
                status = "open"  # the buyer wrote again
            snoozed = None
        clock = None
        if status == "open" and waiting:
            clock = self.policy(ticket["channel"]).clock(
                level, [(_instant(m["sent_at"]), m["kind"]) for m in waiting if m["sent_at"]])
        values = (level, json.dumps(reasons, ensure_ascii=False), status, snoozed,
                  iso(clock.started_at) if clock else None, iso(clock.due) if clock else None)
        if values == tuple(ticket[key] for key in ("risk", "risk_reasons", "status", "snoozed_until",
                                                   "sla_started_at", "sla_due")):
            return  # unchanged: no write, so a watching TUI is not woken for nothing
        conn.execute("UPDATE tickets SET risk = ?, risk_reasons = ?, status = ?, snoozed_until = ?,"
                     " sla_started_at = ?, sla_due = ? WHERE id = ?", (*values, ticket_id))

    def _reasons(self, conn: sqlite3.Connection, ticket: Any, messages: list[Any], waiting: list[Any]) -> list[dict]:
        """Reasons from the messages since the last override, and the behaviour signals."""
        found: list[dict[str, str]] = []
        rules_seen: set[str] = set()
        for message in messages:
            if message["direction"] != "inbound":
                continue
            for item in json.loads(message["risk_reasons"] or "[]"):
                found.append(item)
                rules_seen.add(item["rule"])
                if message["photos"] and item["rule"] in DAMAGE_RULES:
                    found.append(reason("high", "photos", "photos attached to a damage report"))
        if len(waiting) >= 3:
            found.append(reason("high", "repeat_contact", f"{len(waiting)} buyer messages without a reply"))
        elif len(waiting) == 2:
            found.append(reason("medium", "repeat_contact", "a second buyer message without a reply"))
        override_at = ticket["risk_override_at"] or ""
        if ticket["order_id"] and rules_seen & set(DELIVERY_RULES):
            row = conn.execute("SELECT latest_delivery_date FROM orders WHERE order_id = ?",
                               (ticket["order_id"],)).fetchone()
            latest = row[0] if row else None
            today = self.clock.now().date()
            if latest and latest < today.isoformat() and latest > override_at[:10]:
                text = f"past the latest delivery date ({latest})"
                claimable = dt.date.fromisoformat(latest[:10]) + A_TO_Z_GRACE
                if today >= claimable:
                    text += f"; the buyer may open an A-to-z claim since {claimable.isoformat()}"
                found.append(reason("high", "past_delivery", text))
        if ticket["customer_id"] is not None:
            earlier = conn.execute(
                "SELECT t.id FROM tickets t JOIN messages m ON m.ticket_id = t.id WHERE t.customer_id = ?"
                " AND t.id != ? AND m.kind IN ('a_to_z', 'chargeback') AND coalesce(m.sent_at, '') > ?"
                " ORDER BY t.id LIMIT 1", (ticket["customer_id"], ticket["id"], override_at)).fetchone()
            if earlier:
                found.append(reason("high", "earlier_claim",
                                    f"the buyer filed an A-to-z claim or chargeback before (ticket {earlier[0]})"))
        return found


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


__all__ = ["LEVELS", "Triage", "TriageOutcome", "highest", "reason"]
