"""Orders over SP-API Orders v0: `getOrders` by LastUpdatedAfter with NextToken, `getOrderItems`.

Each page of orders, with its items, is written in one transaction together with the cursor
(the query window and the NextToken), so an interrupted first sync of two years resumes at the
page it stopped on. History is walked in windows of 90 days of LastUpdateDate: Amazon gives no
total, and the windows are what lets a first sync show how far it has come, at the price of one
extra getOrders call (a minute of its rate, once the burst is spent) per window. Order lines take the same row keys as the All Orders report's (order id and
SKU), so the report and the API describe one line, never two. Everything specific to v0 lives in
this module: moving to v2026-01-01 `searchOrders` (Amazon retires v0 on 2027-03-27) replaces it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sp_api.api import Orders

from deskterm import marketplaces
from deskterm.clock import iso, parse_instant
from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller, ExpiredCursor
from deskterm.sync.amazon.client import make_client, marketplace
from deskterm.sync.rows import upsert_order, upsert_row
from deskterm.sync.base import Days, Progress, SyncReport, cursor, save_cursor

SETTLE = dt.timedelta(minutes=2)      # Amazon asks for LastUpdatedBefore at least two minutes ago
WINDOW = dt.timedelta(days=90)        # a first sync walks its history in windows, so it can show progress
OVERLAP = dt.timedelta(minutes=10)    # re-query this much earlier after an expired NextToken


def sync_orders(store: Store, name: str, channel: dict[str, Any], caller: Caller, report: SyncReport,
                progress: Progress = None) -> None:
    now = store.clock.now()
    end = now - SETTLE
    for marketplace_id in channel["marketplaces"]:
        client = make_client(Orders, name, channel, marketplace_id)
        code = _code(name, marketplace_id)
        scope = f"orders:{marketplace_id}"
        with store.write() as conn:
            state, _ = cursor(conn, name, scope)
        after = parse_instant(state["after"]) if state.get("after") else now - dt.timedelta(days=channel["history_days"])
        token = state.get("next_token")
        until = parse_instant(state["until"]) if token and state.get("until") else min(end, after + WINDOW)
        begun = parse_instant(state["from"]) if state.get("from") else after  # a resumed first sync's bar goes on
        shown = Days(f"orders {code or marketplace_id}", begun, end, progress)
        while token or after < end:
            try:
                if token:
                    response = caller("getOrders", client.get_orders, expect="Orders", NextToken=token)
                else:
                    response = caller("getOrders", client.get_orders, expect="Orders", LastUpdatedAfter=iso(after),
                                      LastUpdatedBefore=iso(until), MaxResultsPerPage=100)
            except ExpiredCursor:
                token, after = None, after - OVERLAP  # the upserts absorb the overlap
                continue
            orders = (response.payload or {}).get("Orders", [])
            items = {order["AmazonOrderId"]: _items(client, caller, order["AmazonOrderId"]) for order in orders}
            token = response.next_token
            with store.write() as conn:
                report.fetched["orders"] += _store_page(conn, store, name, code, orders, items)
                save_cursor(conn, name, scope, {"after": iso(after), "until": iso(until), "next_token": token,
                                                "from": iso(begun)} if token else
                            {"after": iso(until), **({"from": iso(begun)} if until < end else {})})
            if token:  # within a window, the newest change seen so far is the best guess of how far it has come
                shown(max((parse_instant(o["LastUpdateDate"]) for o in orders if o.get("LastUpdateDate")),
                          default=after))
            else:
                shown(until)
                after, until = until, min(end, until + WINDOW)


def _code(name: str, marketplace_id: str) -> str | None:
    endpoint_code = marketplace(name, marketplace_id).name
    return "UK" if endpoint_code == "GB" else endpoint_code if endpoint_code in marketplaces.MARKETPLACES else None


def _items(client: Any, caller: Caller, order_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = None
    while True:
        response = (caller("getOrderItems", client.get_order_items, expect="OrderItems", order_id=order_id,
                           NextToken=token) if token
                    else caller("getOrderItems", client.get_order_items, expect="OrderItems", order_id=order_id))
        found += (response.payload or {}).get("OrderItems", [])
        token = response.next_token
        if not token:
            return found


def _money(value: dict[str, Any] | None) -> str | None:
    return str(Decimal(value["Amount"])) if value and value.get("Amount") not in (None, "") else None


def _store_page(conn, store: Store, name: str, code: str | None, orders: list[dict[str, Any]],
                items: dict[str, list[dict[str, Any]]]) -> int:
    now = store.now()
    for order in orders:
        total = order.get("OrderTotal") or {}
        header = {
            "order_id": order["AmazonOrderId"], "marketplace": code, "sales_channel": order.get("SalesChannel"),
            "merchant_order_id": order.get("SellerOrderId"),
            "purchase_date": iso(parse_instant(order["PurchaseDate"])) if order.get("PurchaseDate") else None,
            "last_updated": iso(parse_instant(order["LastUpdateDate"])) if order.get("LastUpdateDate") else None,
            "status": order.get("OrderStatus"),
            "fulfillment_channel": {"AFN": "Amazon", "MFN": "Merchant"}.get(order.get("FulfillmentChannel") or "",
                                                                            order.get("FulfillmentChannel")),
            "currency": total.get("CurrencyCode"),
            "latest_delivery_date": (iso(parse_instant(order["LatestDeliveryDate"]))
                                     if order.get("LatestDeliveryDate") else None),
        }
        upsert_order(conn, header)
        for item in items.get(order["AmazonOrderId"], []):
            line = {"order_id": order["AmazonOrderId"], "sku": item.get("SellerSKU"), "asin": item.get("ASIN"),
                    "product_name": item.get("Title"), "item_status": order.get("OrderStatus"),
                    "quantity": item.get("QuantityOrdered"),
                    "currency": (item.get("ItemPrice") or total).get("CurrencyCode"),
                    "item_price": _money(item.get("ItemPrice")), "item_tax": _money(item.get("ItemTax")),
                    "shipping_price": _money(item.get("ShippingPrice"))}
            upsert_row(conn, "order_lines", line, ("order_id", "sku"), f"SP-API {name} getOrderItems", now)
    return len(orders)
