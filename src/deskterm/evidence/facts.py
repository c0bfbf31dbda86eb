"""The rows that prove a claim, as stored: the claim's own sources, and the rows around them that
a case worker checks (the reimbursements already paid for the FNSKU, the order's lines, refunds and
returns, the shipment's receipts). Each row says which file (or report) it came from and when it
was imported."""

from __future__ import annotations

from typing import Any

from deskterm.store import Store

# table: (date field, quantity field, amount field)
_SHAPE = {
    "ledger_events": ("event_date", "quantity", None),
    "returns": ("return_date", "quantity", None),
    "refunds": ("refund_date", "quantity", "amount"),
    "reimbursements": ("approval_date", "quantity_total", "amount_total"),
    "order_lines": (None, "quantity", "item_price"),
    "customer_shipments": ("shipment_date", "quantity", "item_price"),
    "inbound_lines": (None, "quantity_shipped", None),
    "sourcing_costs": ("effective_date", None, "unit_cost"),
}
_HIDDEN = {"row_key", "content_hash", "source_file", "source_line", "imported_at", "id", "refund_key", "fields"}


def _fact(table: str, row: Any) -> dict[str, Any]:
    keys = row.keys()
    date, quantity, amount = _SHAPE[table]
    if "source_file" in keys:
        source = f"{row['source_file']}:{row['source_line']}"
    else:
        source = f"{row['source']} report"
    return {"table": table, "id": row["id"], "source": source,
            "imported_at": row["imported_at"] if "imported_at" in keys else None,
            "date": row[date] if date else None, "quantity": row[quantity] if quantity else None,
            "amount": row[amount] if amount else None,
            "row": {k: row[k] for k in keys if k not in _HIDDEN and not isinstance(row[k], bytes)}}


def _rows(store: Store, table: str, where: str, params: list[Any]) -> list[dict[str, Any]]:
    return [_fact(table, row) for row in store.rows(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)]


def facts_for_claim(store: Store, claim: dict[str, Any]) -> list[dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}

    def add(facts: list[dict[str, Any]]) -> None:
        for fact in facts:
            found.setdefault((fact["table"], fact["id"]), fact)

    for source in claim["sources"]:
        add(_rows(store, source["table"], "id = ?", [source["id"]]))
    kind, fnsku, sku, order_id = claim["kind"], claim["fnsku"], claim["sku"], claim["order_id"]
    if kind in ("fc_lost", "fc_damaged") and fnsku:
        reason = "Lost_Warehouse" if kind == "fc_lost" else "Damaged_Warehouse"
        add(_rows(store, "reimbursements", "fnsku = ? AND reason IN (?, 'Reimbursement_Reversal')", [fnsku, reason]))
        add(_rows(store, "ledger_events", "event_type IN ('Adjustments', 'Receipts') AND event_type = 'Adjustments'"
                  " AND fnsku = ? AND reason IN ('F', 'N') AND event_date >= ?", [fnsku, claim["event_date"]]))
    elif kind == "inbound_shortfall":
        add(_rows(store, "ledger_events", "event_type IN ('Adjustments', 'Receipts') AND event_type = 'Receipts'"
                  " AND reference_id = ?", [claim["shipment_id"]]))
        add(_rows(store, "reimbursements", "reason = 'Lost_Inbound' AND (sku = ? OR fnsku = ?)", [sku, fnsku]))
    if order_id:
        add(facts_for_order(store, order_id))
    if kind == "reimbursement_underpaid" and sku:
        add(_rows(store, "sourcing_costs", "sku = ?", [sku]))
    return sorted(found.values(), key=lambda fact: (fact["table"], fact["id"]))


def facts_for_order(store: Store, order_id: str) -> list[dict[str, Any]]:
    facts = []
    for table in ("order_lines", "customer_shipments", "refunds", "returns", "reimbursements"):
        facts += _rows(store, table, "order_id = ?", [order_id])
    return facts


def identifiers(store: Store, claim: dict[str, Any], facts: list[dict[str, Any]]) -> dict[str, str]:
    """What Amazon's case form asks to be named, found in the claim and its own rows."""
    own = {(source["table"], source["id"]) for source in claim["sources"]}
    mine = [fact for fact in facts if (fact["table"], fact["id"]) in own]
    fnsku = claim["fnsku"] or (store.scalar("SELECT group_concat(fnsku, ' ') FROM skus WHERE msku = ?", (claim["sku"],))
                               if claim["sku"] else None)
    asin = claim["asin"] or (store.scalar("SELECT max(asin) FROM skus WHERE msku = ?", (claim["sku"],))
                             if claim["sku"] else None)
    found = {"Order ID": claim["order_id"], "Shipment ID": claim["shipment_id"], "SKU": claim["sku"],
             "FNSKU": fnsku, "ASIN": asin}
    for fact in mine:
        row = fact["row"]
        if fact["table"] == "ledger_events":
            found["Ledger Reference ID"] = row.get("reference_id")
            found["Fulfillment center"] = row.get("fulfillment_center")
        elif fact["table"] == "returns":
            found["LPN"] = row.get("license_plate_number")
        elif fact["table"] == "reimbursements":
            found["Reimbursement ID"] = row.get("reimbursement_id")
            found["Paid per unit"] = row.get("amount_per_unit")
        elif fact["table"] == "inbound_lines":
            found["Units shipped / received"] = f"{row.get('quantity_shipped')} / {row.get('quantity_received')}"
    return {label: str(value) for label, value in found.items() if value not in (None, "")}
