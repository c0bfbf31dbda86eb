"""Refunds over Finances v0 `listFinancialEvents`, in posting windows of at most 180 days (the
API's limit), each page committed with its cursor.

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
from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller, ExpiredCursor
from deskterm.sync.amazon.client import make_client
from deskterm.sync.base import SyncReport, cursor, save_cursor

WINDOW = dt.timedelta(days=180)
SETTLE = dt.timedelta(minutes=2)


def sync_finances(store: Store, name: str, channel: dict[str, Any], caller: Caller, report: SyncReport) -> None:
    now = store.clock.now() - SETTLE
    client = make_client(Finances, name, channel, channel["marketplaces"][0])  # events cover the whole region
    with store.write() as conn:
        state, _ = cursor(conn, name, "finances")
    after = parse_instant(state["after"]) if state.get("after") else now - dt.timedelta(days=channel["history_days"])
    token = state.get("next_token")
    while after < now:
        until = parse_instant(state["until"]) if token and state.get("until") else min(now, after + WINDOW)
        try:
            params = {"NextToken": token} if token else {"PostedAfter": iso(after), "PostedBefore": iso(until)}
            response = caller("listFinancialEvents", client.list_financial_events, expect="FinancialEvents",
                              MaxResultsPerPage=100, **params)
        except ExpiredCursor:
            token = None  # the window again from its start: refunds are keyed, so nothing doubles
            continue
        refunds = list(_refunds(response.payload["FinancialEvents"].get("RefundEventList") or []))
        token = response.next_token
        state = {"after": iso(after), "until": iso(until), "next_token": token} if token else {"after": iso(until)}
        with store.write() as conn:
            insert_refunds(conn, refunds)
            save_cursor(conn, name, "finances", state)
        report.fetched["refunds"] += len(refunds)
        if not token:
            after = until


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
