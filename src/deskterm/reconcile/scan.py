"""`claims scan`: run every detector, then bring the claims table in line with what they found.

A claim keeps its id from scan to scan (the id is a digest of what makes it this claim). Its
facts, window and status are recomputed while it is the reconciler's (`pending`, `open`,
`expired`, or dismissed by a scan). Once the seller has acted (`filed`, `paid`, or dismissed by an
agent) only its ticket links are refreshed. A claim the data no longer supports is dismissed with
the reason; if it comes back (a reimbursement reversed) it is re-opened.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from deskterm.clock import Clock
from deskterm.reconcile import fc, inbound, returns, underpaid
from deskterm.reconcile.found import Found, reimbursements
from deskterm.reconcile.policy import Policy
from deskterm.reconcile.value import UnitValues, money
from deskterm.store import Store
from deskterm.triage.rules import RuleSet

# What a buyer says that supports a claim on their order (risk rule names).
SUPPORTING_RULES = ("damaged", "defective", "wrong_item", "missing_parts", "not_as_described", "not_received")
LIVE = ("pending", "open", "expired")   # statuses the reconciler owns
CHUNK = 2000
ACTED = ("filed", "paid")


@dataclass
class ScanOutcome:
    found: int = 0          # new claims
    updated: int = 0        # claims whose facts or status changed
    expired: int = 0        # claims whose deadline passed since the last scan
    resolved: int = 0       # claims the data no longer supports, dismissed
    reopened: int = 0
    unchanged: int = 0
    recoverable: dict[str, str] = field(default_factory=dict)   # currency: pending + open amounts
    not_dated: list[str] = field(default_factory=list)           # shortfalls without a delivery date

    def as_json(self) -> dict[str, Any]:
        return {"found": self.found, "updated": self.updated, "expired": self.expired, "resolved": self.resolved,
                "reopened": self.reopened, "unchanged": self.unchanged, "recoverable": self.recoverable,
                "not_dated": self.not_dated}


def scan(store: Store, clock: Clock, policy: Policy, rules: RuleSet) -> ScanOutcome:
    outcome = ScanOutcome()
    today = clock.now().date()
    paid = reimbursements(store)
    catalog = {row["fnsku"]: (row["msku"], row["asin"]) for row in store.rows("SELECT * FROM skus ORDER BY msku DESC")}
    values = UnitValues(store)
    said = said_in_tickets(store)
    shortfalls, outcome.not_dated = inbound.find(store, paid)
    found = [*fc.find(store, paid, catalog), *shortfalls, *returns.find(store, paid, rules, said),
             *underpaid.find(store, paid, values, policy.tolerance, catalog)]
    for claim in found:
        if claim.order_id:
            claim.tickets = sorted({ticket for ticket, _rule, _words in said.get(claim.order_id, [])})
    by_id = {claim.claim_id: claim for claim in found}
    ids = sorted(by_id)
    now = store.now()
    # A chunk of claims per transaction: memory stays flat and the write lock is held for
    # milliseconds, so the TUI and the sync go on during a long scan. A scan cut short is finished
    # by the next one: each chunk is whole.
    for start in range(0, len(ids), CHUNK):
        rows = {claim_id: _row(by_id[claim_id], policy, values, today) for claim_id in ids[start:start + CHUNK]}
        with store.write() as conn:
            existing = {row["claim_id"]: dict(row) for row in conn.execute(
                f"SELECT * FROM claims WHERE claim_id IN ({', '.join('?' * len(rows))})", list(rows))}
            for claim_id, row in rows.items():
                _apply(conn, existing.get(claim_id), row, now, outcome)
    with store.write() as conn:
        gone = [dict(row) for row in conn.execute(
            f"SELECT claim_id, kind, order_id, sku FROM claims WHERE status IN ({', '.join('?' * len(LIVE))})", LIVE)
            if row["claim_id"] not in by_id]
        for old in gone:
            conn.execute("UPDATE claims SET status = 'dismissed', closed_by = 'scan', closed_reason = ?,"
                         " updated_at = ? WHERE claim_id = ?", (_why_gone(conn, old, today), now, old["claim_id"]))
        outcome.resolved = len(gone)
        _badge_tickets(conn)
        store.audit(conn, "claims.scan", None, {k: v for k, v in outcome.as_json().items() if isinstance(v, int)})
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in store.rows("SELECT amount, currency FROM claims WHERE status IN ('pending', 'open') AND amount IS NOT NULL"):
        totals[row["currency"]] += Decimal(row["amount"])
    outcome.recoverable = {currency: str(money(total)) for currency, total in sorted(totals.items())}
    return outcome


def said_in_tickets(store: Store) -> dict[str, list[tuple[int, str, str]]]:
    """Per order id: (ticket, rule, the buyer's words) for buyer messages that support a claim."""
    said: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    likes = " OR ".join(f"m.risk_reasons LIKE '%\"{rule}\"%'" for rule in SUPPORTING_RULES)
    for row in store.rows(
            "SELECT coalesce(m.order_id, t.order_id) AS order_id, m.ticket_id, m.risk_reasons FROM messages m"
            f" JOIN tickets t ON t.id = m.ticket_id WHERE m.direction = 'inbound' AND ({likes}) ORDER BY m.sent_at, m.id"):
        for reason in json.loads(row["risk_reasons"] or "[]"):
            if reason["rule"] in SUPPORTING_RULES and row["order_id"]:
                said[row["order_id"]].append((row["ticket_id"], reason["rule"], reason["text"]))
    return said


def _row(claim: Found, policy: Policy, values: UnitValues, today: dt.date) -> dict[str, Any]:
    window = policy.window(claim.kind, claim.marketplace, claim.event_date)
    opens, deadline = window.opens(claim.event_date), window.deadline(claim.event_date)
    status = "pending" if today < opens else "expired" if today > deadline else "open"
    value = values.value(claim.sku, claim.marketplace, claim.event_date, claim.currency)
    reasons = list(claim.reasons)
    unit_value = amount = None
    currency = claim.currency
    if value is None:
        reasons.append(f"no unit value: import a sourcing cost for {claim.sku or claim.fnsku} "
                       f"(or orders of it in the 90 days before {claim.event_date})")
    else:
        unit_value, currency = value.amount, value.currency
        per_unit = unit_value - claim.paid_per_unit if claim.paid_per_unit is not None else unit_value
        amount = money(per_unit * claim.quantity)
        if claim.paid_per_unit is None:
            reasons.append(f"unit value {unit_value} {currency}: {value.source}")
    reasons.append(f"window {opens} to {deadline} ({window.kind} {claim.marketplace or 'any marketplace'}, "
                   f"rule in force since {window.effective}: {window.source})")
    return {
        "claim_id": claim.claim_id, "kind": claim.kind, "status": status, "marketplace": claim.marketplace,
        "order_id": claim.order_id, "shipment_id": claim.shipment_id, "sku": claim.sku, "fnsku": claim.fnsku,
        "asin": claim.asin, "quantity": claim.quantity, "unit_value": str(unit_value) if unit_value is not None else None,
        "amount": str(amount) if amount is not None else None, "currency": currency,
        "event_date": claim.event_date.isoformat(), "window_opens": opens.isoformat(), "deadline": deadline.isoformat(),
        "reasons": json.dumps(reasons), "ticket_ids": json.dumps(claim.tickets),
        "value_source": value.source if value else None,
        "sources": json.dumps([{"table": table, "id": rowid} for table, rowid in claim.sources]),
    }


_FACTS = ("kind", "status", "marketplace", "order_id", "shipment_id", "sku", "fnsku", "asin", "quantity",
          "unit_value", "amount", "currency", "event_date", "window_opens", "deadline", "reasons", "ticket_ids",
          "value_source", "sources")


def _apply(conn, old: dict | None, row: dict[str, Any], now: str, outcome: ScanOutcome) -> None:
    if old is None:
        names = [*_FACTS, "claim_id", "detected_at", "updated_at"]
        conn.execute(f"INSERT INTO claims ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     [*(row[n] for n in _FACTS), row["claim_id"], now, now])
        outcome.found += 1
        return
    acted = old["status"] in ACTED or (old["status"] == "dismissed" and old["closed_by"] != "scan")
    facts = ("ticket_ids",) if acted else _FACTS  # once the seller acted, keep what they acted on
    changed = [name for name in facts if old[name] != row[name]]
    if not changed:
        outcome.unchanged += 1
        return
    if not acted and old["status"] == "dismissed":
        outcome.reopened += 1
        changed += ["closed_by", "closed_reason"]
        row = {**row, "closed_by": None, "closed_reason": None}
    elif not acted and row["status"] == "expired" != old["status"]:
        outcome.expired += 1
    else:
        outcome.updated += 1
    conn.execute(f"UPDATE claims SET {', '.join(f'{n} = ?' for n in changed)}, updated_at = ? WHERE claim_id = ?",
                 [*(row[n] for n in changed), now, row["claim_id"]])


def _why_gone(conn, claim: dict, today: dt.date) -> str:
    if claim["kind"] == "return_not_received":
        back = conn.execute("SELECT min(return_date), sum(quantity) FROM returns WHERE order_id = ? AND sku = ?",
                            (claim["order_id"], claim["sku"])).fetchone()
        if back[0]:
            return f"the item came back: a return of {back[1]} received on {back[0][:10]}"
    return (f"no longer found by the scan of {today}: the data now shows the units reconciled, returned "
            "or reimbursed")


def _badge_tickets(conn) -> None:
    """Each ticket linked to a live or filed claim shows the most pressing claim's badge."""
    conn.execute("UPDATE tickets SET claim_badge = NULL WHERE claim_badge IS NOT NULL")
    badges = {"return_sellable_dispute": "return graded SELLABLE, buyer reported damage",
              "return_damaged": "return graded damaged", "return_not_received": "refunded, item never returned",
              "reimbursement_underpaid": "reimbursement underpaid"}
    rows = conn.execute(
        "SELECT j.value, c.kind, c.status, c.deadline FROM claims c, json_each(c.ticket_ids) j"
        " WHERE c.status IN ('pending', 'open', 'filed') ORDER BY c.deadline DESC").fetchall()
    for ticket_id, kind, status, deadline in rows:  # the soonest deadline is written last and wins
        conn.execute("UPDATE tickets SET claim_badge = ? WHERE id = ?",
                     (f"claim: {badges.get(kind, kind)} ({status}, deadline {deadline})", ticket_id))
