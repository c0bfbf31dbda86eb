"""TikTok Shop orders and returns, walked by update time (Get Order List, Search Returns).

An order is stored like any other: its header, one line per seller SKU (TikTok lists one line
item per unit), and a shipment per package with its tracking. The buyer is their TikTok user id;
their name, address and phone number are not kept. A return with money back is also a refund of
the order's line, so the order pane shows it; the Amazon claims never read TikTok's refunds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from deskterm.clock import iso
from deskterm.reports.load import insert_refunds
from deskterm.store import Store
from deskterm.sync.base import ExpiredCursor, Progress, SyncReport
from deskterm.sync.rows import customer_id, upsert_order, upsert_row
from deskterm.sync.tiktok.api import VERSION, TikTokApi
from deskterm.sync.web import Refused
from deskterm.sync.windows import Walk

WINDOW = dt.timedelta(days=30)
ORDERS_PAGE = 50
RETURNS_PAGE = 50
BAD_PAGE_TOKEN = "page_token"      # TikTok's message for a page token it no longer accepts names it


def sync_orders(store: Store, name: str, channel: dict[str, Any], api: TikTokApi, report: SyncReport,
                progress: Progress = None) -> None:
    end = store.clock.now()
    source = f"TikTok Shop {name} Get Order List"

    def fetch(after: dt.datetime, until: dt.datetime, token: str | None) -> tuple[list[Any], str | None]:
        data = _search(api, "GetOrderList", f"/order/{VERSION}/orders/search", ORDERS_PAGE, after, until, token)
        return data.get("orders") or [], data.get("next_page_token") or None

    def keep(conn, orders: list[dict[str, Any]]) -> int:
        for order in orders:
            _store_order(conn, store, order, source)
        return len(orders)

    report.fetched["orders"] += Walk(store, name, "orders", channel["history_days"], WINDOW, "orders").run(
        end, fetch, keep, progress)

    def fetch_returns(after: dt.datetime, until: dt.datetime, token: str | None) -> tuple[list[Any], str | None]:
        data = _search(api, "SearchReturns", f"/return_refund/{VERSION}/returns/search", RETURNS_PAGE, after, until,
                       token)
        return data.get("return_orders") or [], data.get("next_page_token") or None

    def keep_returns(conn, returns: list[dict[str, Any]]) -> int:
        for item in returns:
            _store_return(conn, store, item, f"TikTok Shop {name} Search Returns")
        return len(returns)

    report.fetched["returns"] += Walk(store, name, "returns", channel["history_days"], WINDOW, "returns").run(
        end, fetch_returns, keep_returns, progress)


def _search(api: TikTokApi, operation: str, path: str, size: int, after: dt.datetime, until: dt.datetime,
            token: str | None) -> dict[str, Any]:
    query = {"page_size": size, "sort_field": "update_time", "sort_order": "ASC", **({"page_token": token} if token else {})}
    body = {"update_time_ge": int(after.timestamp()), "update_time_lt": int(until.timestamp())}
    try:
        return api.call(operation, "POST", path, query, body, refuse=True)
    except Refused as refused:
        if token and BAD_PAGE_TOKEN in str((refused.document or {}).get("message", "")):
            raise ExpiredCursor(operation) from None
        raise api.failure(operation, refused) from None


def _instant(seconds: Any) -> str | None:
    return iso(dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc)) if seconds else None


def _store_order(conn, store: Store, order: dict[str, Any], source: str) -> None:
    payment = order.get("payment") or {}
    order_id = str(order["id"])
    upsert_order(conn, {
        "order_id": order_id, "channel": "tiktok", "sales_channel": "TikTok Shop",
        "purchase_date": _instant(order.get("create_time")), "last_updated": _instant(order.get("update_time")),
        "status": order.get("status"), "currency": payment.get("currency"),
        "fulfillment_channel": "TikTok" if order.get("fulfillment_type") == "FULFILLMENT_BY_TIKTOK" else "Merchant",
        "delivered_at": _instant(order.get("delivery_time")),
        "customer_id": customer_id(conn, "tiktok", f"tiktok:{order['user_id']}" if order.get("user_id") else None, None),
    })
    lines: dict[str, dict[str, Any]] = defaultdict(lambda: {"quantity": 0, "price": Decimal(0)})
    parcels: dict[str, dict[str, Any]] = {}
    for item in order.get("line_items") or []:
        sku = item.get("seller_sku") or item.get("sku_id")
        line = lines[sku]
        line.update(product_name=item.get("product_name"), currency=item.get("currency"))
        line["quantity"] += 1
        line["price"] += Decimal(str(item.get("sale_price") or 0))
        if item.get("tracking_number"):
            parcel = parcels.setdefault(item["tracking_number"], {"carrier": item.get("shipping_provider_name"),
                                                                  "package": item.get("package_id"), "skus": defaultdict(int)})
            parcel["skus"][sku] += 1
    now = store.now()
    for sku, line in lines.items():
        upsert_row(conn, "order_lines", {"order_id": order_id, "sku": sku, "product_name": line["product_name"],
                                         "item_status": order.get("status"), "quantity": line["quantity"],
                                         "currency": line["currency"], "item_price": str(line["price"])},
                   ("order_id", "sku"), source, now)
    for tracking, parcel in parcels.items():
        for sku, quantity in parcel["skus"].items():
            upsert_row(conn, "customer_shipments", {
                "order_id": order_id, "shipment_id": parcel["package"], "sku": sku, "quantity": quantity,
                "carrier": parcel["carrier"], "tracking_number": tracking, "fulfillment_channel": "TikTok Shop",
                "sales_channel": "TikTok Shop"}, ("order_id", "shipment_id", "sku"), source, now)


def _store_return(conn, store: Store, item: dict[str, Any], source: str) -> None:
    """One returns row per SKU (TikTok lists a line per unit), and the money back as a refund."""
    created = _instant(item.get("create_time")) or store.now()
    order_id = str(item["order_id"])
    units: dict[str, dict[str, Any]] = defaultdict(lambda: {"quantity": 0, "amount": Decimal(0), "currency": None})
    for line in item.get("return_line_items") or []:
        unit = units[line.get("seller_sku")]
        unit.update(product_name=line.get("product_name"), currency=(line.get("refund_amount") or {}).get("currency"))
        unit["quantity"] += 1
        unit["amount"] += Decimal(str((line.get("refund_amount") or {}).get("refund_total") or 0))
    refunds = []
    for sku, unit in units.items():
        upsert_row(conn, "returns", {"return_date": created, "order_id": order_id, "sku": sku,
                                     "product_name": unit["product_name"], "quantity": unit["quantity"],
                                     "reason": item.get("return_reason_text"), "status": item.get("return_status")},
                   ("order_id", "sku", "return_date"), source, store.now())
        if item.get("return_type") in ("REFUND", "RETURN_AND_REFUND") and unit["amount"]:
            refunds.append((order_id, sku, None, created[:10], unit["quantity"], str(-abs(unit["amount"])),
                            unit["currency"], "tiktok"))
    insert_refunds(conn, refunds)
