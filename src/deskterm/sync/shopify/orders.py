"""Shopify orders (with their lines, refunds, returns and fulfillments) by `updated_at`, walked in
windows with cursor pagination (Shopify stops a single walk at 25,000 objects).

An order is known by its name ("#1001"), as buyers and Shopify's own e-mails write it. One that an
Amazon Multi-Channel Fulfillment app fulfilled is marked as fulfilled by Amazon: its lines share the
FBA catalogue by SKU (so the order pane shows their FNSKU) and its parcels carry Amazon's tracking.
Its refunds are the seller's, not Amazon's, so they never become return claims. The buyer is their
e-mail address (so their mail finds the order); addresses and phone numbers are not kept.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from deskterm.clock import iso, parse_instant
from deskterm.reports.load import insert_refunds
from deskterm.store import Store
from deskterm.sync.base import Progress, SyncReport, raise_event
from deskterm.sync.rows import customer_id, upsert_order, upsert_row
from deskterm.sync.shopify.api import ShopifyApi
from deskterm.sync.windows import Walk

WINDOW = dt.timedelta(days=30)
MAX_QUERY_COST = 1000        # Shopify refuses a single query that may cost more
FIRST_PAGE = 4               # orders in the first page; later pages are sized from its cost
MCF_WORDS = ("amazon", "fba", "multi-channel", "multichannel")

ORDERS = """
query DesktermOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name email createdAt updatedAt processedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus currencyCode
      customer { displayName email }
      lineItems(first: 20) {
        pageInfo { hasNextPage endCursor }
        nodes { sku title quantity originalUnitPriceSet { shopMoney { amount currencyCode } } }
      }
      refunds(first: 10) {
        createdAt
        refundLineItems(first: 10) { nodes { quantity lineItem { sku } subtotalSet { shopMoney { amount currencyCode } } } }
      }
      returns(first: 3) {
        nodes {
          status createdAt
          returnLineItems(first: 5) {
            nodes { quantity returnReason ... on ReturnLineItem { fulfillmentLineItem { lineItem { sku } } } }
          }
        }
      }
      fulfillments(first: 10) {
        name createdAt deliveredAt estimatedDeliveryAt
        trackingInfo(first: 1) { company number }
        service { serviceName handle }
        location { name }
        fulfillmentLineItems(first: 10) { nodes { quantity lineItem { sku } } }
      }
      fulfillmentOrders(first: 3) { nodes { assignedLocation { name } } }
    }
  }
}
"""
"""Nested lists are cut at what one query may cost (an order: about 200 points of the 1,000 a query
may ask for): 20 lines, then the rest page by page (LINES); 10 refunds of 10 lines, 3 returns of 5
lines, 10 parcels of 10 lines, beyond which a sync event says what was left unread."""

LINES = """
query DesktermOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { sku title quantity originalUnitPriceSet { shopMoney { amount currencyCode } } }
    }
  }
}
"""
LIMITS = {"refunds": 10, "returns": 3, "fulfillments": 10}


def sync_orders(store: Store, name: str, channel: dict[str, Any], api: ShopifyApi, report: SyncReport,
                progress: Progress = None) -> None:
    page = {"size": FIRST_PAGE, "per_order": None}
    source = f"Shopify {name} orders"

    def fetch(after: dt.datetime, until: dt.datetime, token: str | None) -> tuple[list[Any], str | None]:
        search = f"updated_at:>='{iso(after)}' AND updated_at:<'{iso(until)}'"
        expected = 2 + page["per_order"] * page["size"] if page["per_order"] else MAX_QUERY_COST
        data = api.query("DesktermOrders", ORDERS, {"first": page["size"], "after": token, "query": search},
                         expected_cost=expected)
        if api.last_cost:  # the next page as large as one query may cost
            page["per_order"] = max(1.0, (api.last_cost - 2) / page["size"])
            page["size"] = max(1, min(100, int((MAX_QUERY_COST - 2) // page["per_order"])))
        orders = data["orders"]
        info = orders["pageInfo"]
        return orders["nodes"], info["endCursor"] if info["hasNextPage"] else None

    def keep(conn, orders: list[dict[str, Any]]) -> int:
        for order in orders:
            _store(conn, store, order, source)
        return len(orders)

    def fetch_page(after: dt.datetime, until: dt.datetime, token: str | None) -> tuple[list[Any], str | None]:
        orders, token = fetch(after, until, token)
        for order in orders:
            _all_lines(api, order)
            for text in _unread(order):
                raise_event(store, name, report, text)
        return orders, token

    report.fetched["orders"] += Walk(store, name, "orders", channel["history_days"], WINDOW, "orders").run(
        store.clock.now(), fetch_page, keep, progress)


def _all_lines(api: ShopifyApi, order: dict[str, Any]) -> None:
    """An order with more lines than the page asked for gets the rest, 100 at a time."""
    lines = order["lineItems"]
    while lines["pageInfo"]["hasNextPage"]:
        more = api.query("DesktermOrderLines", LINES, {"id": order["id"], "after": lines["pageInfo"]["endCursor"]},
                         expected_cost=2 + 100 * 3 + 1)["order"]["lineItems"]
        lines = {"pageInfo": more["pageInfo"], "nodes": lines["nodes"] + more["nodes"]}
    order["lineItems"] = lines


def _unread(order: dict[str, Any]) -> list[str]:
    """What an order holds beyond the lists a page reads (a sync event: a person should know)."""
    counts = {"refunds": len(order.get("refunds") or []), "fulfillments": len(order.get("fulfillments") or []),
              "returns": len((order.get("returns") or {}).get("nodes") or [])}
    return [f"Shopify order {order['name']}: the first {LIMITS[kind]} {kind} were read; it may have more"
            for kind, count in counts.items() if count >= LIMITS[kind]]


def is_mcf(order: dict[str, Any]) -> bool:
    """Fulfilled (or to be fulfilled) by an Amazon Multi-Channel Fulfillment app: each app names its
    fulfillment service and location after itself, and every one of them says Amazon or FBA."""
    fulfillments = order.get("fulfillments") or []
    names = [(f.get("service") or {}).get(key) for f in fulfillments for key in ("serviceName", "handle")]
    names += [(f.get("location") or {}).get("name") for f in fulfillments]
    names += [(f.get("assignedLocation") or {}).get("name")
              for f in (order.get("fulfillmentOrders") or {}).get("nodes") or []]
    return any(word in (n or "").lower() for n in names for word in MCF_WORDS)


def _sku(line: dict[str, Any] | None) -> str | None:
    return (line or {}).get("sku")


def _money(bag: dict[str, Any] | None) -> tuple[Decimal, str | None]:
    money = (bag or {}).get("shopMoney") or {}
    return Decimal(str(money.get("amount") or 0)), money.get("currencyCode")


def _store(conn, store: Store, order: dict[str, Any], source: str) -> None:
    order_id = order["name"]
    mcf = is_mcf(order)
    now = store.now()
    buyer = order.get("customer") or {}
    email = (order.get("email") or buyer.get("email") or "").strip().lower() or None
    delivered = max((f["deliveredAt"] for f in order.get("fulfillments") or [] if f.get("deliveredAt")), default=None)
    upsert_order(conn, {
        "order_id": order_id, "channel": "shopify", "sales_channel": "Shopify", "marketplace": None,
        "merchant_order_id": str(order.get("legacyResourceId") or order["id"]),
        "purchase_date": iso(parse_instant(order.get("processedAt") or order["createdAt"])),
        "last_updated": iso(parse_instant(order["updatedAt"])),
        "status": "CANCELLED" if order.get("cancelledAt") else order.get("displayFulfillmentStatus"),
        "currency": order.get("currencyCode"), "fulfillment_channel": "Amazon" if mcf else "Merchant",
        "delivered_at": iso(parse_instant(delivered)) if delivered else None,
        "customer_id": customer_id(conn, "shopify", email, buyer.get("displayName")),
    })
    lines: dict[tuple[str | None, str], dict[str, Any]] = {}
    for item in (order.get("lineItems") or {}).get("nodes") or []:
        price, currency = _money(item.get("originalUnitPriceSet"))
        line = lines.setdefault((_sku(item), item.get("title") or ""), {"quantity": 0, "price": Decimal(0),
                                                                         "currency": currency})
        line["quantity"] += item.get("quantity") or 0
        line["price"] += price * (item.get("quantity") or 0)
    for (sku, title), line in lines.items():
        upsert_row(conn, "order_lines", {"order_id": order_id, "sku": sku, "product_name": title,
                                         "item_status": order.get("displayFulfillmentStatus"),
                                         "quantity": line["quantity"], "currency": line["currency"],
                                         "item_price": str(line["price"])}, ("order_id", "sku", "product_name"), source, now)
    for fulfillment in order.get("fulfillments") or []:
        _store_fulfillment(conn, order_id, fulfillment, "Amazon" if mcf else "Merchant", source, now)
    _store_refunds(conn, order_id, order.get("refunds") or [])
    for item in (order.get("returns") or {}).get("nodes") or []:
        units: dict[str | None, dict[str, Any]] = defaultdict(lambda: {"quantity": 0, "reasons": set()})
        for line in (item.get("returnLineItems") or {}).get("nodes") or []:
            unit = units[_sku((line.get("fulfillmentLineItem") or {}).get("lineItem"))]
            unit["quantity"] += line.get("quantity") or 0
            unit["reasons"].add(line.get("returnReason") or "")
        for sku, unit in units.items():
            upsert_row(conn, "returns", {"return_date": iso(parse_instant(item["createdAt"])), "order_id": order_id,
                                         "sku": sku, "quantity": unit["quantity"],
                                         "reason": ", ".join(sorted(filter(None, unit["reasons"]))) or None,
                                         "status": item.get("status")}, ("order_id", "sku", "return_date"), source, now)


def _store_fulfillment(conn, order_id: str, fulfillment: dict[str, Any], channel: str, source: str, now: str) -> None:
    tracking = (fulfillment.get("trackingInfo") or [{}])[0] if fulfillment.get("trackingInfo") else {}
    skus: dict[str | None, int] = defaultdict(int)
    for item in (fulfillment.get("fulfillmentLineItems") or {}).get("nodes") or []:
        skus[_sku(item.get("lineItem"))] += item.get("quantity") or 0
    for sku, quantity in skus.items():
        upsert_row(conn, "customer_shipments", {
            "order_id": order_id, "shipment_id": fulfillment.get("name"),
            "shipment_date": iso(parse_instant(fulfillment["createdAt"])), "sku": sku, "quantity": quantity,
            "carrier": tracking.get("company"), "tracking_number": tracking.get("number"),
            "estimated_arrival": (iso(parse_instant(fulfillment["estimatedDeliveryAt"]))
                                  if fulfillment.get("estimatedDeliveryAt") else None),
            "fulfillment_channel": channel, "sales_channel": "Shopify"}, ("order_id", "shipment_id", "sku"), source, now)
    if fulfillment.get("createdAt"):
        conn.execute("UPDATE orders SET shipped_at = min(coalesce(shipped_at, ?), ?) WHERE order_id = ?",
                     (iso(parse_instant(fulfillment["createdAt"])),) * 2 + (order_id,))


def _store_refunds(conn, order_id: str, refunds: list[dict[str, Any]]) -> None:
    found = []
    for refund in refunds:
        day = iso(parse_instant(refund["createdAt"]))[:10] if refund.get("createdAt") else None
        for line in (refund.get("refundLineItems") or {}).get("nodes") or []:
            amount, currency = _money(line.get("subtotalSet"))
            if day:
                found.append((order_id, _sku(line.get("lineItem")), None, day, line.get("quantity") or 1,
                              str(-abs(amount)), currency, "shopify"))
    insert_refunds(conn, found)
