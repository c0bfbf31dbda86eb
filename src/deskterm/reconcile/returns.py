"""Customer returns that cost the seller: refunded but never returned, returned damaged by Amazon or
the carrier, and returns graded SELLABLE although the buyer said the item was damaged.

All three are dated by the refund (DESIGN.md), falling back to the return's own date when no
refund is on record. Only FBA orders count: Amazon is answerable for its own returns only.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from deskterm.reconcile.found import Found, Reimbursement, day, where
from deskterm.reconcile.value import decimal
from deskterm.store import Store
from deskterm.triage.rules import RuleSet

DAMAGED_DISPOSITIONS = ("CARRIER_DAMAGED", "DAMAGED")
DAMAGE_REASONS = ("DEFECTIVE", "QUALITY_UNACCEPTABLE", "DAMAGED_BY_FC", "DAMAGED_BY_CARRIER")
DAMAGE_RULES = ("damaged", "defective")
PARTIAL_REFUND = Decimal("0.5")  # a refund under half the item price is a goodwill refund, not a return


def find(store: Store, reimbursements: list[Reimbursement], rules: RuleSet,
         said_in_tickets: dict[str, list[tuple[int, str, str]]]) -> list[Found]:
    """`said_in_tickets`: per order id, (ticket, rule, words) of what buyers wrote about it."""
    refunds = _refunds(store)
    reimbursed: dict[tuple[str, str], list[Reimbursement]] = defaultdict(list)
    for item in reimbursements:
        if item.order_id and item.quantity > 0:
            reimbursed[(item.order_id, "")].append(item)
            for code in {item.sku, item.fnsku} - {None}:
                reimbursed[(item.order_id, code)].append(item)
    returned: dict[tuple[str, str], int] = defaultdict(int)
    candidates = []  # only the returns that may be claims are kept: a hundred thousand rows stream past
    for row in store.each_row(
            "SELECT r.id, r.return_date, r.order_id, r.sku, r.fnsku, r.asin, r.quantity, r.disposition, r.reason,"
            " r.license_plate_number, r.customer_comments, r.source_file, r.source_line, o.marketplace,"
            " o.fulfillment_channel IN ('Amazon', 'AFN') AS fba FROM returns r LEFT JOIN orders o ON o.order_id = r.order_id"
            " ORDER BY r.return_date, r.id"):
        returned[(row["order_id"], row["sku"])] += abs(row["quantity"] or 0)
        disposition = (row["disposition"] or "").upper()
        if row["fba"] and (disposition in DAMAGED_DISPOSITIONS or disposition == "SELLABLE" and (
                (row["reason"] or "").upper() in DAMAGE_REASONS or row["customer_comments"]
                or row["order_id"] in said_in_tickets)):
            candidates.append(dict(row))
    claims = _not_received(refunds, returned, reimbursed)
    for row in candidates:
        order_id, sku = row["order_id"], row["sku"]
        if reimbursed.get((order_id, sku)) or reimbursed.get((order_id, row["fnsku"] or "")):
            continue
        refund = refunds.get((order_id, sku))
        disposition = (row["disposition"] or "").upper()
        if disposition in DAMAGED_DISPOSITIONS:
            claims.append(_claim("return_damaged", row, refund,
                                 [f"return graded {disposition}, no reimbursement for the order and SKU"]))
            continue
        talk = [(ticket, words) for ticket, rule, words in said_in_tickets.get(order_id, []) if rule in DAMAGE_RULES]
        said = _damage_said(row, rules, talk)
        if said:
            claims.append(_claim("return_sellable_dispute", row, refund, said))
    return claims


@dataclass(slots=True)
class _Refunded:
    """The refunds of one order line: first day, units, amount, and the line's price."""

    refund_date: str
    currency: str | None
    marketplace: str | None
    source: str
    line_price: Decimal | None
    line_quantity: int | None
    units: int = 0
    amount: Decimal = Decimal(0)
    ids: list[int] = field(default_factory=list)


def _refunds(store: Store) -> dict[tuple[str, str], _Refunded]:
    """Refunds of FBA order lines per order and SKU. (A slotted object with its repeated words
    interned: at 250,000 refunded lines, dicts of the same facts took 250 MB.)"""
    grouped: dict[tuple[str, str], _Refunded] = {}
    for row in store.each_row(
            "SELECT r.id, r.order_id, r.sku, r.refund_date, coalesce(r.quantity, 1) AS quantity, r.amount, r.currency,"
            " coalesce(r.marketplace, o.marketplace) AS marketplace, r.source, l.item_price, l.quantity AS line_quantity"
            " FROM refunds r JOIN orders o ON o.order_id = r.order_id"
            " LEFT JOIN order_lines l ON l.order_id = r.order_id AND +l.sku = r.sku"  # by order: SKUs repeat
            " WHERE o.fulfillment_channel IN ('Amazon', 'AFN') AND o.channel = 'amazon'"  # not MCF: Amazon refunded
            " ORDER BY r.refund_date, r.id"):
        group = grouped.get((row["order_id"], row["sku"]))
        if group is None:
            group = grouped[(row["order_id"], row["sku"])] = _Refunded(
                row["refund_date"], _interned(row["currency"]), _interned(row["marketplace"]), sys.intern(row["source"]),
                decimal(row["item_price"]), row["line_quantity"])
        group.units += abs(row["quantity"])
        group.amount += abs(decimal(row["amount"]) or Decimal(0))
        group.ids.append(row["id"])
    return grouped


def _interned(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _not_received(refunds: dict, returned: dict, reimbursed: dict) -> list[Found]:
    claims = []
    for (order_id, sku), refund in refunds.items():
        back = returned.get((order_id, sku), 0)
        units = refund.units - back
        if units <= 0 or any(item.reason == "CustomerReturn" for item in reimbursed.get((order_id, ""), ())):
            continue
        price, line_units = refund.line_price, refund.line_quantity
        if price and line_units and refund.amount < price / line_units * refund.units * PARTIAL_REFUND:
            continue  # a partial refund: Amazon does not expect the item back
        reasons = [f"refunded {refund.amount} {refund.currency or ''} on {refund.refund_date} for "
                   f"{refund.units} × {sku} (from the {refund.source.replace('_', ' ')} report)",
                   f"no customer return received for {units} of them" if back == 0 else
                   f"only {back} returned", "no CustomerReturn reimbursement for the order"]
        claims.append(Found("return_not_received", (order_id, sku or ""), day(refund.refund_date), units, reasons,
                            refund.marketplace, order_id=order_id, sku=sku,
                            sources=[("refunds", rowid) for rowid in refund.ids]))
    return claims


def _claim(kind: str, row: dict, refund: _Refunded | None, reasons: list[str]) -> Found:
    dated = refund.refund_date if refund else row["return_date"]
    lines = [f"return of {row['quantity']} × {row['sku']} on {row['return_date'][:10]} (LPN "
             f"{row['license_plate_number'] or '-'}, reason {row['reason'] or '-'}; {where(row)})", *reasons]
    lines.append(f"refunded on {dated}" if refund else "no refund on record: dated by the return")
    sources = [("returns", row["id"])] + ([("refunds", rowid) for rowid in refund.ids] if refund else [])
    return Found(kind, (row["order_id"], row["sku"] or "", row["license_plate_number"] or row["return_date"]),
                 day(dated), abs(row["quantity"] or 0), lines, refund.marketplace if refund else row["marketplace"],
                 order_id=row["order_id"], sku=row["sku"], fnsku=row["fnsku"], asin=row["asin"], sources=sources)


def _damage_said(row, rules: RuleSet, talk: list[tuple[int, str]]) -> list[str]:
    said = []
    if (row["reason"] or "").upper() in DAMAGE_REASONS:
        said.append(f"the buyer's return reason is {row['reason']}")
    comments = row["customer_comments"] or ""
    matches = [m for m in rules.find(comments) if m.rule.name in DAMAGE_RULES] if comments else []
    if matches:
        said.append(f"the buyer's return comment says {matches[0].describe()}")
    for ticket, text in talk:
        said.append(f"ticket #{ticket}: {text}")
    if said:
        said.append("graded SELLABLE: ask for an inspection or a removal of the unit")
    return said
