"""Units shipped to Amazon and never received (`inbound_shortfall`).

A CLOSED shipment's line with fewer units received than shipped, less Lost_Inbound reimbursements
of its SKU approved on or after its delivery, given to the oldest shortfall first. Delivery is the
delivered date where known, else the day of the shipment's first ledger Receipts row; a shipment
with neither cannot be dated, so it is reported but not claimed.
"""

from __future__ import annotations

from collections import defaultdict

from deskterm.reconcile.found import Found, Reimbursement, day, marketplace_of_country, where
from deskterm.store import Store


def find(store: Store, reimbursements: list[Reimbursement]) -> tuple[list[Found], list[str]]:
    receipts = {row["reference_id"]: row for row in store.rows(
        "SELECT reference_id, min(event_date) AS first, max(country) AS country FROM ledger_events"
        " WHERE event_type IN ('Adjustments', 'Receipts') AND event_type = 'Receipts'"
        " AND reference_id IN (SELECT shipment_id FROM inbound_shipments WHERE upper(status) = 'CLOSED')"
        " GROUP BY reference_id")}
    short = []
    undated = []
    for row in store.rows(
            "SELECT l.id, l.shipment_id, s.name, s.delivered_date, l.sku, l.fnsku, l.quantity_shipped,"
            " l.quantity_received, l.source_file, l.source_line FROM inbound_lines l"
            " JOIN inbound_shipments s ON s.shipment_id = l.shipment_id"
            " WHERE upper(s.status) = 'CLOSED' AND l.quantity_received < l.quantity_shipped"):
        receipt = receipts.get(row["shipment_id"])
        delivered = day(row["delivered_date"]) or (day(receipt["first"]) if receipt else None)
        if delivered is None:
            undated.append(f"{row['shipment_id']} {row['sku']}: no delivered date and no ledger Receipts row")
            continue
        short.append([row, delivered, row["quantity_shipped"] - row["quantity_received"],
                      receipt["country"] if receipt else None])
    short.sort(key=lambda item: (item[1], item[0]["id"]))
    lost_inbound: dict[str, list[Reimbursement]] = defaultdict(list)
    for item in reimbursements:
        if item.reason == "Lost_Inbound" and item.quantity > 0:
            for code in {item.sku, item.fnsku} - {None}:
                lost_inbound[code].append(item)
    left = {id(item): item.quantity for items in lost_inbound.values() for item in items}
    claims = []
    for row, delivered, units, country in short:
        reasons = [f"inbound shipment {row['shipment_id']} ({row['name'] or 'unnamed'}) CLOSED, delivered "
                   f"{delivered}{'' if row['delivered_date'] else ' (first ledger receipt)'}: "
                   f"{row['quantity_shipped']} units of {row['sku']} shipped, {row['quantity_received']} received "
                   f"({where(row)})"]
        for item in lost_inbound.get(row["fnsku"]) or lost_inbound.get(row["sku"]) or []:
            if units and left[id(item)] and item.approval_date >= delivered:
                taken = min(units, left[id(item)])
                left[id(item)] -= taken
                units -= taken
                reasons.append(f"{taken} covered by Lost_Inbound reimbursement {item.reimbursement_id} "
                               f"approved {item.approval_date}")
        if units > 0:
            claims.append(Found("inbound_shortfall", (row["shipment_id"], row["sku"]), delivered, units,
                                [*reasons, f"{units} units to claim"], marketplace_of_country(country),
                                shipment_id=row["shipment_id"], sku=row["sku"], fnsku=row["fnsku"],
                                sources=[("inbound_lines", row["id"])]))
    return claims, undated
