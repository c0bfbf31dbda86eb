"""What a detector reports: one claim as the data shows it today, before windows and statuses."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from deskterm.reconcile.value import decimal
from deskterm.store import Store

_CODES = {"fc_lost": "LOST", "fc_damaged": "DMG", "inbound_shortfall": "INB", "return_not_received": "RNR",
          "return_damaged": "RDM", "return_sellable_dispute": "RSD", "reimbursement_underpaid": "UND"}
_COUNTRY_TO_MARKETPLACE = {"GB": "UK"}


@dataclass(slots=True)  # a large scan holds a hundred thousand of them
class Found:
    kind: str
    key: tuple[str, ...]            # what makes it this claim and no other: its id across rescans
    event_date: dt.date
    quantity: int
    reasons: list[str]
    marketplace: str | None = None
    order_id: str | None = None
    shipment_id: str | None = None
    sku: str | None = None
    fnsku: str | None = None
    asin: str | None = None
    currency: str | None = None      # fixed by the data (a reimbursement's currency), else by the unit value
    paid_per_unit: Decimal | None = None
    sources: list[tuple[str, int]] = field(default_factory=list)   # (table, rowid): the evidence
    tickets: list[int] = field(default_factory=list)

    @property
    def claim_id(self) -> str:
        digest = hashlib.sha256("\x1f".join((self.kind, *self.key)).encode()).hexdigest()
        return f"{_CODES[self.kind]}-{digest[:10].upper()}"


def marketplace_of_country(country: str | None) -> str | None:
    if not country:
        return None
    code = country.strip().upper()
    return _COUNTRY_TO_MARKETPLACE.get(code, code)


def day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text[:10]) if text else None


def where(row) -> str:
    """`line 12 of ledger.txt`: where a report row came from, for reasons a person can check."""
    return f"line {row['source_line']} of {row['source_file']}"


@dataclass
class Reimbursement:
    """A reimbursement net of its reversals."""

    rowid: int
    reimbursement_id: str
    approval_date: dt.date
    reason: str
    order_id: str | None
    sku: str | None
    fnsku: str | None
    currency: str
    amount_per_unit: Decimal | None
    quantity: int          # cash + inventory, less reversed units
    quantity_cash: int


def reimbursements(store: Store) -> list[Reimbursement]:
    """Every reimbursement with its reversals applied: a reversal names the reimbursement it takes
    back; one that does not takes back the latest of its type for the same FNSKU."""
    found: list[Reimbursement] = []
    reversals = []
    for row in store.rows("SELECT * FROM reimbursements ORDER BY approval_date, id"):
        total = row["quantity_total"]
        if total is None:
            total = (row["quantity_cash"] or 0) + (row["quantity_inventory"] or 0)
        if row["reason"] == "Reimbursement_Reversal":
            reversals.append((row, total))
            continue
        found.append(Reimbursement(row["id"], row["reimbursement_id"], day(row["approval_date"]), row["reason"],
                                   row["order_id"], row["sku"], row["fnsku"], row["currency"],
                                   decimal(row["amount_per_unit"]), total, row["quantity_cash"] or 0))
    for row, total in reversals:
        units = abs(total)
        target = next((r for r in found if r.reimbursement_id == row["original_reimbursement_id"]
                       and (r.fnsku == row["fnsku"] or not row["fnsku"])), None)
        if target is None:
            target = next((r for r in reversed(found) if r.reason == row["original_reimbursement_type"]
                           and r.fnsku == row["fnsku"] and r.quantity > 0), None)
        if target is not None:
            target.quantity = max(0, target.quantity - units)
            target.quantity_cash = max(0, target.quantity_cash - abs(row["quantity_cash"] or units))
    return found
