"""Reimbursements paid below the unit value by more than the tolerance (`reimbursement_underpaid`).

The cash-reimbursed units count, net of reversals; the unit value is taken on the approval day in
the reimbursement's own currency, so a EUR reimbursement is never weighed against a USD cost.
"""

from __future__ import annotations

from decimal import Decimal

from deskterm import marketplaces
from deskterm.reconcile.found import Found, Reimbursement
from deskterm.reconcile.value import UnitValues
from deskterm.store import Store

_ONE_MARKETPLACE = {currency: code for code, (_d, _i, _r, currency) in marketplaces.MARKETPLACES.items()
                    if [c for *_x, c in marketplaces.MARKETPLACES.values()].count(currency) == 1}


def find(store: Store, reimbursements: list[Reimbursement], values: UnitValues, tolerance: float,
         catalog: dict[str, tuple[str, str | None]]) -> list[Found]:
    order_markets = {}
    orders = sorted({item.order_id for item in reimbursements if item.order_id})
    for start in range(0, len(orders), 500):
        chunk = orders[start:start + 500]
        order_markets.update({row[0]: row[1] for row in store.rows(
            f"SELECT order_id, marketplace FROM orders WHERE order_id IN ({', '.join('?' * len(chunk))})", chunk)})
    floor = Decimal(1) - Decimal(str(tolerance))
    claims = []
    for item in reimbursements:
        if item.amount_per_unit is None or item.amount_per_unit <= 0 or item.quantity_cash <= 0:
            continue
        sku = item.sku or (catalog.get(item.fnsku or "", (None, None))[0])
        marketplace = order_markets.get(item.order_id) or _ONE_MARKETPLACE.get(item.currency)
        value = values.value(sku, marketplace, item.approval_date, item.currency)
        if value is None or item.amount_per_unit >= value.amount * floor:
            continue
        short = value.amount - item.amount_per_unit
        claims.append(Found(
            "reimbursement_underpaid", (item.reimbursement_id, sku or item.fnsku or ""), item.approval_date,
            item.quantity_cash,
            [f"{item.reason} reimbursement {item.reimbursement_id} approved {item.approval_date} paid "
             f"{item.amount_per_unit} {item.currency} a unit for {item.quantity_cash} units",
             f"unit value {value.amount} {value.currency} ({value.source}): {short} {item.currency} a unit short, "
             f"{(short / value.amount * 100).quantize(Decimal('0.1'))}% under"],
            marketplace, order_id=item.order_id, sku=sku, fnsku=item.fnsku, currency=item.currency,
            paid_per_unit=item.amount_per_unit, sources=[("reimbursements", item.rowid)]))
    return claims
