"""Refunds, fees and inventory adjustments over Finances v0 `listFinancialEvents`, in posting
windows of at most 180 days (the API's limit), each page committed with its cursor.

A refund is stored as the settlement and Date Range reports store it (one row per order, SKU and
posting day, keyed alike), so the reports and the API never count one refund twice. The
reimbursements themselves come from the Reimbursements report, which carries their reasons.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sp_api.api import Finances

from deskterm import marketplaces
from deskterm.clock import iso, parse_instant
from deskterm.reports.load import insert_refunds
from deskterm.digest import digest
from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller, ExpiredCursor
from deskterm.sync.amazon.client import make_client
from deskterm.sync.base import Days, Progress, SyncReport, cursor, save_cursor

WINDOW = dt.timedelta(days=180)
SETTLE = dt.timedelta(minutes=2)


def sync_finances(store: Store, name: str, channel: dict[str, Any], caller: Caller, report: SyncReport,
                  progress: Progress = None) -> None:
    now = store.clock.now() - SETTLE
    client = make_client(Finances, name, channel, channel["marketplaces"][0])  # events cover the whole region
    with store.write() as conn:
        state, _ = cursor(conn, name, "finances")
    after = parse_instant(state["after"]) if state.get("after") else now - dt.timedelta(days=channel["history_days"])
    token = state.get("next_token")
    begun = parse_instant(state["from"]) if state.get("from") else after  # a resumed first sync's bar goes on
    shown = Days("refunds", begun, now, progress)
    while after < now:
        until = parse_instant(state["until"]) if token and state.get("until") else min(now, after + WINDOW)
        try:
            params = {"NextToken": token} if token else {"PostedAfter": iso(after), "PostedBefore": iso(until)}
            response = caller("listFinancialEvents", client.list_financial_events, expect="FinancialEvents",
                              MaxResultsPerPage=100, **params)
        except ExpiredCursor:
            token = None  # the window again from its start: refunds are keyed, so nothing doubles
            continue
        events = response.payload["FinancialEvents"]
        refunds = list(_refunds(events.get("RefundEventList") or []))
        charges = list(_fees(events)) + list(_adjustments(events.get("AdjustmentEventList") or []))
        token = response.next_token
        state = ({"after": iso(after), "until": iso(until), "next_token": token, "from": iso(begun)} if token
                 else {"after": iso(until), **({"from": iso(begun)} if until < now else {})})
        with store.write() as conn:
            new_refunds = insert_refunds(conn, refunds)
            added = _insert_events(conn, charges, f"SP-API {name} listFinancialEvents")
            save_cursor(conn, name, "finances", state)
        report.fetched["refunds"] += new_refunds
        report.fetched["fees"] += sum(1 for event in added if event[0] == "fee")
        report.fetched["adjustments"] += sum(1 for event in added if event[0] == "adjustment")
        if not token:
            after = until
            shown(until)


def _refunds(events: list[dict[str, Any]]):
    """(order, SKU, marketplace, day, quantity, amount, currency, source) per refunded item."""
    for event in events:
        day = iso(parse_instant(event["PostedDate"]))[:10] if event.get("PostedDate") else None
        market = marketplaces.from_site(event.get("MarketplaceName"))
        for item in event.get("ShipmentItemAdjustmentList") or event.get("ShipmentItemList") or []:
            charges = item.get("ItemChargeAdjustmentList") or item.get("ItemChargeList") or []
            principal = next((c["ChargeAmount"] for c in charges if c.get("ChargeType") == "Principal"), None)
            if day is None or principal is None:
                continue
            amount = Decimal(str(principal.get("CurrencyAmount")))
            yield (event["AmazonOrderId"], item.get("SellerSKU"), market, day,
                   item.get("QuantityShipped") or 1, str(-abs(amount)), principal.get("CurrencyCode"), "finances")


def _fees(events: dict[str, Any]):
    """(group, posted, order, SKU, FNSKU, type, quantity, amount, currency) per fee on a shipped or
    refunded item: what Amazon charged, and gave back on a refund."""
    for list_name, items_key, fees_key in (("ShipmentEventList", "ShipmentItemList", "ItemFeeList"),
                                           ("RefundEventList", "ShipmentItemAdjustmentList", "ItemFeeAdjustmentList")):
        for event in events.get(list_name) or []:
            for item in event.get(items_key) or []:
                for fee in item.get(fees_key) or []:
                    amount = fee.get("FeeAmount") or {}
                    if event.get("PostedDate") and fee.get("FeeType") and amount.get("CurrencyAmount") is not None:
                        yield ("fee", iso(parse_instant(event["PostedDate"])), event.get("AmazonOrderId"),
                               item.get("SellerSKU"), None, fee["FeeType"], item.get("QuantityShipped"),
                               str(Decimal(str(amount["CurrencyAmount"]))), amount.get("CurrencyCode"))


def _adjustments(events: list[dict[str, Any]]):
    """Inventory adjustments (lost or damaged in a warehouse, reimbursement reversals, ...) per SKU."""
    for event in events:
        for item in event.get("AdjustmentItemList") or []:
            amount = item.get("TotalAmount") or {}
            if event.get("PostedDate") and event.get("AdjustmentType") and amount.get("CurrencyAmount") is not None:
                yield ("adjustment", iso(parse_instant(event["PostedDate"])), None, item.get("SellerSKU"),
                       item.get("FnSKU"), event["AdjustmentType"],
                       int(item["Quantity"]) if str(item.get("Quantity") or "").lstrip("-").isdigit() else None,
                       str(Decimal(str(amount["CurrencyAmount"]))), amount.get("CurrencyCode"))


def _insert_events(conn, events: list[tuple[Any, ...]], source: str) -> list[tuple[Any, ...]]:
    """The events not already stored (a window read again after an expired NextToken adds nothing)."""
    added = []
    for event in events:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO financial_events (event_key, event_group, posted_at, order_id, sku, fnsku, type,"
            " quantity, amount, currency, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (digest(event), *event, source))
        if cursor.rowcount:
            added.append(event)
    return added
