"""Shipments to Amazon over FBA Inbound v0: `getShipments` by last update (NextToken paging) and
`getShipmentItemsByShipmentId` for units shipped against units received, so `inbound_shortfall`
claims appear after a sync.

A page of shipments with their items commits with its cursor. Lines take the inbound lines CSV's
row keys (shipment id and SKU), so a CSV and the API describe one line. v0 gives no delivery date:
the reconciler then dates a shipment by its first ledger Receipts row (DESIGN.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sp_api.api import FulfillmentInbound

from deskterm.clock import iso, parse_instant
from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller, ExpiredCursor
from deskterm.sync.amazon.client import make_client
from deskterm.sync.rows import upsert_row
from deskterm.sync.base import SyncReport, cursor, save_cursor

OVERLAP = dt.timedelta(minutes=10)


def sync_inbound(store: Store, name: str, channel: dict[str, Any], caller: Caller, report: SyncReport) -> None:
    now = store.clock.now()
    for marketplace_id in channel["marketplaces"]:
        client = make_client(FulfillmentInbound, name, channel, marketplace_id)
        scope = f"inbound:{marketplace_id}"
        with store.write() as conn:
            state, _ = cursor(conn, name, scope)
        after = state.get("after") or iso(now - dt.timedelta(days=channel["history_days"]))
        until = state.get("until") or iso(now)
        token = state.get("next_token")
        while True:
            try:
                query = ({"QueryType": "NEXT_TOKEN", "NextToken": token} if token else
                         {"QueryType": "DATE_RANGE", "LastUpdatedAfter": after, "LastUpdatedBefore": until})
                response = caller("getShipments", client.get_shipments, expect="ShipmentData",
                                  MarketplaceId=marketplace_id, **query)
            except ExpiredCursor:
                token, after = None, iso(parse_instant(after) - OVERLAP)
                continue
            shipments = response.payload["ShipmentData"]
            items = {s["ShipmentId"]: caller("getShipmentItemsByShipmentId", client.shipment_items_by_shipment,
                                             expect="ItemData", shipment_id=s["ShipmentId"],
                                             MarketplaceId=marketplace_id).payload["ItemData"] for s in shipments}
            token = response.next_token
            with store.write() as conn:
                report.fetched["inbound"] += _store_page(conn, store, name, shipments, items)
                save_cursor(conn, name, scope, {"after": after, "until": until, "next_token": token} if token
                            else {"after": until})
            if not token:
                break


def _store_page(conn, store: Store, name: str, shipments: list[dict[str, Any]],
                items: dict[str, list[dict[str, Any]]]) -> int:
    lines = 0
    for shipment in shipments:
        conn.execute(
            "INSERT INTO inbound_shipments (shipment_id, name, status) VALUES (?, ?, ?) ON CONFLICT(shipment_id)"
            " DO UPDATE SET name = coalesce(excluded.name, name), status = coalesce(excluded.status, status)",
            (shipment["ShipmentId"], shipment.get("ShipmentName"), shipment.get("ShipmentStatus")))
        for item in items.get(shipment["ShipmentId"], []):
            line = {"shipment_id": shipment["ShipmentId"], "sku": item.get("SellerSKU"),
                    "fnsku": item.get("FulfillmentNetworkSKU"), "quantity_shipped": item.get("QuantityShipped"),
                    "quantity_received": item.get("QuantityReceived")}
            upsert_row(conn, "inbound_lines", line, ("shipment_id", "sku"),
                       f"SP-API {name} getShipmentItemsByShipmentId", store.now())
            if line["sku"] and line["fnsku"]:
                conn.execute("INSERT OR IGNORE INTO skus (msku, fnsku) VALUES (?, ?)", (line["sku"], line["fnsku"]))
            lines += 1
    return lines
