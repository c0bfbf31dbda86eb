"""The real python-amazon-sp-api client against the loopback SP-API in spapi_server.py.

How the library is pointed at the server (read in sp_api/base/client.py and
sp_api/auth/access_token_client.py, version 2.1.35):

- SP-API calls: there is no endpoint option; `Client.__init__` copies `marketplace.endpoint` into
  the plain attribute `endpoint`, and every request URL is `self.endpoint + path`. So set
  `client.endpoint = server.endpoint` after construction.
- LWA: every client takes `auth_token_client_class=`; `AccessTokenClient` builds its URL as
  `scheme + host + path`, so a subclass with `scheme="http://"` and `host="127.0.0.1:PORT"` works.
- The library caches access tokens in a module-level TTLCache keyed only by the refresh token,
  for 3200 s, across clients and servers; the autouse fixture below empties it around each test.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sp_api.api import Finances, FulfillmentInbound, Orders, Reports
from sp_api.auth import AccessTokenClient, access_token_client
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    ApiResponse,
    Client,
    Marketplaces,
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
)
from sp_api.util import load_all_pages, throttle_retry

from spapi_server import FINANCIAL_EVENT_LISTS, RATE_LIMITS, SpApiServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
US = Marketplaces.US.marketplace_id
REFRESH_TOKEN = "Atzr|loopback-refresh-token"
CLIENT_ID = "amzn1.application-oa2-client.loopback"
CLIENT_SECRET = "loopback-secret"
MODELS = Path("/work/shared/spapi-models")
Servers = Callable[..., SpApiServer]
Clients = Callable[..., Any]

LEDGER = (
    "Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
    "Disposition\tReason\tCountry\tReconciled Quantity\tUnreconciled Quantity\tDate and Time\n"
    "11/02/2026\tX00ABC1234\tB0ABC12345\tTORCH-01\tCrème brûlée torch\tAdjustments\t"
    "1234567890\t-2\tPHX7\tSELLABLE\tM\tUS\t0\t2\t2026-11-02T08:15:00-08:00\n"
    "11/03/2026\tX00ABC1234\tB0ABC12345\tTORCH-01\tCrème brûlée torch\tReceipts\tFBA15DJ9SVVD\t"
    "24\tPHX7\tSELLABLE\t\tUS\t0\t0\t2026-11-03T10:00:00-08:00\n"
)


@pytest.fixture(autouse=True)
def fresh_token_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The library's token cache outlives clients and servers; a stale token from an earlier server would 403."""
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


@pytest.fixture
def spapi() -> Iterator[Servers]:
    """A factory of started servers with this file's credentials and a fixed clock; all stop at teardown."""
    with ExitStack() as stack:
        def start(**options: Any) -> SpApiServer:
            server = SpApiServer(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, now=lambda: NOW, **options)
            return stack.enter_context(server)

        yield start


@pytest.fixture
def connect() -> Iterator[Clients]:
    """Library clients aimed at a server; closed at teardown, including the auth client's own httpx pool,
    which the library never closes."""
    with ExitStack() as stack:
        def open_client(server: SpApiServer, api: type[Client], refresh_token: str = REFRESH_TOKEN) -> Any:
            client = aim(server, api, refresh_token)
            stack.callback(client._auth._transport.close)
            stack.callback(client.close)
            return client

        yield open_client


def lwa_client_for(token_url: str) -> type[AccessTokenClient]:
    """The library's own auth client, re-aimed: it requests `scheme + host + path`."""
    parts = urlsplit(token_url)
    return type("LoopbackLwa", (AccessTokenClient,), {"scheme": f"{parts.scheme}://", "host": parts.netloc, "path": parts.path})


def aim(server: SpApiServer, api: type[Client], refresh_token: str) -> Any:
    client = api(
        Marketplaces.US,
        credentials={"refresh_token": refresh_token, "lwa_app_id": CLIENT_ID, "lwa_client_secret": CLIENT_SECRET},
        auth_token_client_class=lwa_client_for(server.token_url),
    )
    client.endpoint = server.endpoint
    return client


def all_pages(call: Callable[..., ApiResponse], **kwargs: Any) -> list[ApiResponse]:
    """The library's pager with no sleep; its default sleeps 2 s per page, and 1/rate would be 60 s for getOrders."""
    return list(load_all_pages(throttle_by_seconds=0)(call)(**kwargs))


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: str) -> dict[str, str]:
    return {"CurrencyCode": "USD", "Amount": amount}


def currency(amount: str) -> dict[str, Any]:
    return {"CurrencyCode": "USD", "CurrencyAmount": float(amount)}


def order(n: int, updated: datetime) -> dict[str, Any]:
    purchased = updated - timedelta(days=3)
    return {
        "AmazonOrderId": f"113-{n:07d}-{(n * 7919) % 10_000_000:07d}",
        "PurchaseDate": stamp(purchased),
        "LastUpdateDate": stamp(updated),
        "OrderStatus": "Shipped",
        "FulfillmentChannel": "AFN",
        "SalesChannel": "Amazon.com",
        "MarketplaceId": US,
        "OrderTotal": money("24.99"),
        "NumberOfItemsShipped": 1,
        "NumberOfItemsUnshipped": 0,
        "EarliestShipDate": stamp(purchased + timedelta(hours=6)),
        "LatestShipDate": stamp(purchased + timedelta(days=1)),
        "EarliestDeliveryDate": stamp(purchased + timedelta(days=2)),
        "LatestDeliveryDate": stamp(purchased + timedelta(days=4)),
        "IsPrime": True,
        "IsBusinessOrder": False,
    }


def order_item(n: int, sku: str = "TORCH-01", asin: str = "B0ABC12345") -> dict[str, Any]:
    return {
        "ASIN": asin,
        "SellerSKU": sku,
        "OrderItemId": f"{60_000_000_000_000 + n}",
        "Title": "Crème brûlée torch",
        "QuantityOrdered": 1,
        "QuantityShipped": 1,
        "ItemPrice": money("24.99"),
        "ItemTax": money("2.06"),
    }


def shipment_event(order_id: str, posted: datetime) -> dict[str, Any]:
    return {
        "AmazonOrderId": order_id,
        "MarketplaceName": "Amazon.com",
        "PostedDate": stamp(posted),
        "ShipmentItemList": [{
            "SellerSKU": "TORCH-01",
            "OrderItemId": "60000000000001",
            "QuantityShipped": 1,
            "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": currency("24.99")}],
            "ItemFeeList": [
                {"FeeType": "Commission", "FeeAmount": currency("-3.75")},
                {"FeeType": "FBAPerUnitFulfillmentFee", "FeeAmount": currency("-4.75")},
            ],
        }],
    }


def reimbursement(posted: datetime) -> dict[str, Any]:
    return {
        "AdjustmentType": "FBAInventoryReimbursement",
        "PostedDate": stamp(posted),
        "AdjustmentAmount": currency("21.40"),
        "AdjustmentItemList": [{
            "Quantity": "2", "PerUnitAmount": currency("10.70"), "TotalAmount": currency("21.40"),
            "SellerSKU": "TORCH-01", "FnSKU": "X00ABC1234", "ASIN": "B0ABC12345",
            "ProductDescription": "Crème brûlée torch", "TransactionNumber": "2291876543",
        }],
    }


def inbound_shipment(shipment_id: str, status: str) -> dict[str, Any]:
    return {
        "ShipmentId": shipment_id,
        "ShipmentName": f"Torches {shipment_id}",
        "ShipFromAddress": {"Name": "Torch Co", "AddressLine1": "1 Main St", "City": "Tempe",
                            "StateOrProvinceCode": "AZ", "CountryCode": "US", "PostalCode": "85281"},
        "DestinationFulfillmentCenterId": "PHX7",
        "ShipmentStatus": status,
        "LabelPrepType": "SELLER_LABEL",
        "AreCasesRequired": False,
        "BoxContentsSource": "FEED",
    }


def inbound_item(sku: str, fnsku: str, shipped: int, received: int) -> dict[str, Any]:
    return {"SellerSKU": sku, "FulfillmentNetworkSKU": fnsku, "QuantityShipped": shipped,
            "QuantityReceived": received, "QuantityInCase": 0}


def distinct(calls: list[dict[str, Any]]) -> bool:
    return len({json.dumps(call, sort_keys=True) for call in calls}) == len(calls)


# Orders


def test_get_orders_pages_250_orders_in_three_pages(spapi: Servers, connect: Clients) -> None:
    server = spapi()
    for n in range(250):
        server.add_order(order(n, NOW - timedelta(days=5, minutes=n)))
    server.add_order(order(999, NOW - timedelta(days=40)))
    orders = connect(server, Orders)

    pages = all_pages(orders.get_orders, LastUpdatedAfter=stamp(NOW - timedelta(days=30)), MarketplaceIds=[US])

    assert [len(page.payload["Orders"]) for page in pages] == [100, 100, 50]
    assert len({o["AmazonOrderId"] for page in pages for o in page.payload["Orders"]}) == 250
    assert pages[0].rate_limit == "0.0167"
    assert pages[0].payload["LastUpdatedBefore"] == stamp(NOW - timedelta(minutes=2))
    assert pages[-1].next_token is None
    calls = server.calls("getOrders")
    assert len(calls) == 3 and distinct(calls)
    assert [("NextToken" in call) for call in calls] == [False, True, True]
    assert calls[1]["NextToken"] == pages[0].next_token


def test_get_orders_rejects_a_before_date_less_than_two_minutes_ago(spapi: Servers, connect: Clients) -> None:
    orders = connect(spapi(), Orders)
    with pytest.raises(SellingApiBadRequestException) as caught:
        orders.get_orders(LastUpdatedAfter=stamp(NOW - timedelta(days=1)), LastUpdatedBefore=stamp(NOW))
    assert caught.value.amzn_code == "InvalidInput"
    assert caught.value.headers["x-amzn-RateLimit-Limit"] == "0.0167"


def test_get_order_items_with_paging(spapi: Servers, connect: Clients) -> None:
    server = spapi(page_sizes={"getOrderItems": 2})
    placed = order(1, NOW - timedelta(days=2))
    server.add_order(placed, items=[order_item(n, sku=f"TORCH-0{n}") for n in range(1, 4)])
    orders = connect(server, Orders)

    pages = all_pages(orders.get_order_items, order_id=placed["AmazonOrderId"])

    assert [item["SellerSKU"] for page in pages for item in page.payload["OrderItems"]] == ["TORCH-01", "TORCH-02", "TORCH-03"]
    assert pages[0].payload["AmazonOrderId"] == placed["AmazonOrderId"]
    assert pages[0].payload["OrderItems"][0]["ItemPrice"] == money("24.99")
    assert pages[0].rate_limit == "0.5"
    assert len(server.calls("getOrderItems")) == 2


# Finances


def test_list_financial_events_by_posted_window(spapi: Servers, connect: Clients) -> None:
    server = spapi()
    server.add_financial_events("ShipmentEventList", [shipment_event(f"113-000000{n}-0000000", NOW - timedelta(days=n)) for n in range(1, 4)])
    server.add_financial_events("Refund", [shipment_event("113-0000001-0000000", NOW - timedelta(days=1))])
    server.add_financial_events("AdjustmentEvent", [reimbursement(NOW - timedelta(days=2))])
    server.add_financial_events("ShipmentEventList", [shipment_event("113-0000099-0000000", NOW - timedelta(days=60))])
    finances = connect(server, Finances)

    pages = all_pages(finances.list_financial_events, PostedAfter=stamp(NOW - timedelta(days=30)),
                      PostedBefore=stamp(NOW - timedelta(hours=1)), MaxResultsPerPage=2)

    events = [page.payload["FinancialEvents"] for page in pages]
    assert len(pages) == 3 and all(set(lists) == set(FINANCIAL_EVENT_LISTS) for lists in events)
    assert sum(len(lists["ShipmentEventList"]) for lists in events) == 3
    assert sum(len(lists["RefundEventList"]) for lists in events) == 1
    adjustments = [event for lists in events for event in lists["AdjustmentEventList"]]
    assert adjustments[0]["AdjustmentType"] == "FBAInventoryReimbursement"
    assert pages[0].rate_limit == "0.5"


def test_list_financial_events_rejects_windows_over_180_days(spapi: Servers, connect: Clients) -> None:
    finances = connect(spapi(), Finances)
    with pytest.raises(SellingApiBadRequestException) as caught:
        finances.list_financial_events(PostedAfter=stamp(NOW - timedelta(days=200)), PostedBefore=stamp(NOW - timedelta(days=1)))
    assert caught.value.amzn_code == "InvalidInput"


def test_list_financial_events_can_answer_empty_for_long_windows_as_the_model_says(spapi: Servers, connect: Clients) -> None:
    server = spapi(long_finance_window="empty")
    server.add_financial_events("ShipmentEvent", [shipment_event("113-0000001-0000000", NOW - timedelta(days=3))])
    response = connect(server, Finances).list_financial_events(PostedAfter=stamp(NOW - timedelta(days=200)))
    assert not any(response.payload["FinancialEvents"].values())


# Reports


def test_report_cycle_create_poll_document_download(spapi: Servers, connect: Clients) -> None:
    """The library has no poll helper, so the test polls; get_report_document(download=True) fetches and gunzips.

    Observed: with no charset on the download the library decodes as iso-8859-1 unless
    `character_code` is passed, so "Crème" arrives as "CrÃ¨me". Pass character_code="utf-8"
    (or fetch the bytes yourself) for UTF-8 reports.
    """
    server = spapi(report_polls=2)
    server.add_report("GET_LEDGER_DETAIL_VIEW_DATA", LEDGER)
    reports = connect(server, Reports)

    created = reports.create_report(reportType="GET_LEDGER_DETAIL_VIEW_DATA", marketplaceIds=[US],
                                    dataStartTime=NOW - timedelta(days=30), dataEndTime=NOW - timedelta(days=1))
    report_id = created.payload["reportId"]
    statuses: list[str] = []
    for _ in range(10):
        statuses.append(reports.get_report(report_id).payload["processingStatus"])
        if statuses[-1] in ("DONE", "CANCELLED", "FATAL"):
            break
    document_id = reports.get_report(report_id).payload["reportDocumentId"]
    document = reports.get_report_document(document_id, download=True, character_code="utf-8")
    fallback = reports.get_report_document(document_id, download=True)

    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert document.payload["compressionAlgorithm"] == "GZIP"
    assert document.payload["document"] == LEDGER
    assert fallback.payload["document"] == LEDGER.encode().decode("iso-8859-1")
    raw = httpx.get(document.payload["url"]).content
    assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw).decode() == LEDGER
    assert server.calls("createReport")[0]["dataStartTime"].startswith("2026-10-21T12:00:00")


def test_report_without_data_ends_cancelled(spapi: Servers, connect: Clients) -> None:
    reports = connect(spapi(report_polls=0), Reports)
    report_id = reports.create_report(reportType="GET_FBA_REIMBURSEMENTS_DATA", marketplaceIds=[US]).payload["reportId"]
    report = reports.get_report(report_id).payload
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report


def test_truncated_download_breaks_the_gunzip(spapi: Servers, connect: Clients) -> None:
    """Observed: the library lets zlib.error out of get_report_document; it does not re-fetch."""
    server = spapi(report_polls=0)
    server.add_report("GET_LEDGER_DETAIL_VIEW_DATA", LEDGER * 50)
    reports = connect(server, Reports)
    report_id = reports.create_report(reportType="GET_LEDGER_DETAIL_VIEW_DATA", marketplaceIds=[US]).payload["reportId"]
    document_id = reports.get_report(report_id).payload["reportDocumentId"]
    server.inject("download", "truncated")
    with pytest.raises(zlib.error):
        reports.get_report_document(document_id, download=True, character_code="utf-8")
    assert len(server.calls("download")) == 1


# FBA Inbound


def test_get_shipments_and_their_items(spapi: Servers, connect: Clients) -> None:
    server = spapi(page_sizes={"getShipments": 1})
    server.add_shipment(inbound_shipment("FBA15DJ9SVVD", "CLOSED"),
                        items=[inbound_item("TORCH-01", "X00ABC1234", 24, 22)], last_updated="2026-11-05T10:00:00Z")
    server.add_shipment(inbound_shipment("FBA15DJ9SVVE", "RECEIVING"),
                        items=[inbound_item("TORCH-02", "X00ABC1235", 10, 4)], last_updated="2026-11-10T10:00:00Z")
    server.add_shipment(inbound_shipment("FBA15DJ9SVVF", "WORKING"), last_updated="2026-11-11T10:00:00Z")
    inbound = connect(server, FulfillmentInbound)

    pages = list(load_all_pages(throttle_by_seconds=0, extras={"QueryType": "NEXT_TOKEN"})(inbound.get_shipments)(
        QueryType="SHIPMENT", ShipmentStatusList="CLOSED,RECEIVING"))
    by_date = inbound.get_shipments(QueryType="DATE_RANGE", LastUpdatedAfter="2026-11-09T00:00:00Z",
                                    LastUpdatedBefore="2026-11-12T00:00:00Z")
    items = inbound.shipment_items_by_shipment("FBA15DJ9SVVE").payload["ItemData"]

    assert [s["ShipmentId"] for page in pages for s in page.payload["ShipmentData"]] == ["FBA15DJ9SVVD", "FBA15DJ9SVVE"]
    assert [call["QueryType"] for call in server.calls("getShipments")[:2]] == ["SHIPMENT", "NEXT_TOKEN"]
    assert by_date.payload["ShipmentData"][0]["ShipmentId"] == "FBA15DJ9SVVE"
    assert items == [{"ShipmentId": "FBA15DJ9SVVE", **inbound_item("TORCH-02", "X00ABC1235", 10, 4)}]
    assert pages[0].rate_limit == "2"


# Faults


def test_429_surfaces_at_once_and_retrying_is_the_callers_job(spapi: Servers, connect: Clients) -> None:
    """Observed: a 429 raises SellingApiRequestThrottledException on the first response, with no
    x-amzn-RateLimit-Limit header; the client never retries by itself. Only the opt-in
    `sp_api.util.throttle_retry` decorator retries (default 10 tries, 5 s, x1.3)."""
    server = spapi()
    server.add_order(order(1, NOW - timedelta(days=1)))
    orders = connect(server, Orders)
    since = stamp(NOW - timedelta(days=2))
    server.inject("getOrders", "429", "429")

    with pytest.raises(SellingApiRequestThrottledException) as caught:
        orders.get_orders(LastUpdatedAfter=since)
    retried = throttle_retry(tries=3, delay=0)(orders.get_orders)(LastUpdatedAfter=since)

    assert caught.value.amzn_code == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in caught.value.headers and "x-amzn-RequestId" in caught.value.headers
    assert len(retried.payload["Orders"]) == 1
    assert len(server.calls("getOrders")) == 3


def test_500_raises_server_exception_without_retry(spapi: Servers, connect: Clients) -> None:
    """Observed: SellingApiServerException after one request; no retry."""
    server = spapi()
    server.inject("getOrderItems", "500")
    server.add_order(order(1, NOW - timedelta(days=1)), items=[order_item(1)])
    orders = connect(server, Orders)
    with pytest.raises(SellingApiServerException) as caught:
        orders.get_order_items(order(1, NOW)["AmazonOrderId"])
    assert caught.value.amzn_code == "InternalFailure"
    assert len(server.calls("getOrderItems")) == 1


def test_expired_access_token_gives_403_until_the_cached_token_is_dropped(spapi: Servers, connect: Clients) -> None:
    """Observed: on 403 the library neither refreshes nor evicts its cached token, so every call
    keeps failing for up to SP_API_AUTH_CACHE_TTL (3200 s); clearing its cache entry is what
    makes the next call fetch a new token."""
    server = spapi()
    server.add_order(order(1, NOW - timedelta(days=1)))
    orders = connect(server, Orders)
    since = stamp(NOW - timedelta(days=2))
    orders.get_orders(LastUpdatedAfter=since)
    server.expire_tokens()

    for _ in range(2):
        with pytest.raises(SellingApiForbiddenException) as caught:
            orders.get_orders(LastUpdatedAfter=since)
        assert caught.value.error == [{"code": "Unauthorized", "message": "Access to requested resource is denied.", "details": ""}]
    assert len(server.calls("token")) == 1
    access_token_client.cache.clear()
    assert len(orders.get_orders(LastUpdatedAfter=since).payload["Orders"]) == 1
    assert len(server.calls("token")) == 2 and server.issued_tokens == 2


def test_injected_403_rejects_once(spapi: Servers, connect: Clients) -> None:
    server = spapi()
    server.inject("getShipmentItemsByShipmentId", "403")
    server.add_shipment(inbound_shipment("FBA15DJ9SVVD", "CLOSED"), items=[inbound_item("TORCH-01", "X00ABC1234", 24, 24)])
    inbound = connect(server, FulfillmentInbound)
    with pytest.raises(SellingApiForbiddenException):
        inbound.shipment_items_by_shipment("FBA15DJ9SVVD")
    assert inbound.shipment_items_by_shipment("FBA15DJ9SVVD").payload["ItemData"][0]["QuantityReceived"] == 24


def test_truncated_body_comes_back_as_an_empty_payload(spapi: Servers, connect: Clients) -> None:
    """Observed: the library swallows the JSONDecodeError and returns ApiResponse with payload {}
    and next_token None. A pager reads that as "last page, no orders"; callers must check that
    `Orders` is present."""
    server = spapi()
    server.add_order(order(1, NOW - timedelta(days=1)))
    server.inject("getOrders", "truncated")
    response = connect(server, Orders).get_orders(LastUpdatedAfter=stamp(NOW - timedelta(days=2)))
    assert response.payload == {} and response.next_token is None
    assert response.rate_limit == "0.0167"


def test_expired_next_token_stays_expired(spapi: Servers, connect: Clients) -> None:
    server = spapi(page_size=2)
    for n in range(5):
        server.add_order(order(n, NOW - timedelta(days=1, minutes=n)))
    orders = connect(server, Orders)
    since = stamp(NOW - timedelta(days=2))
    first = orders.get_orders(LastUpdatedAfter=since)
    server.inject("getOrders", "expired_next_token")

    for _ in range(2):
        with pytest.raises(SellingApiBadRequestException) as caught:
            orders.get_orders(LastUpdatedAfter=since, NextToken=first.next_token)
        assert caught.value.amzn_code == "InvalidInput"
    assert len(all_pages(orders.get_orders, LastUpdatedAfter=since)) == 3


def test_wrong_refresh_token_fails_at_lwa(spapi: Servers, connect: Clients) -> None:
    server = spapi()
    orders = connect(server, Orders, refresh_token="Atzr|someone-else")
    with pytest.raises(AuthorizationError) as caught:
        orders.get_orders(LastUpdatedAfter=stamp(NOW - timedelta(days=2)))
    assert (caught.value.status_code, caught.value.error_code) == (400, "invalid_grant")
    assert server.calls("getOrders") == []


def test_calls_without_a_token_get_403_and_no_rate_header(spapi: Servers) -> None:
    server = spapi()
    reply = httpx.get(f"{server.endpoint}/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": "2026-11-01T00:00:00Z"})
    assert reply.status_code == 403 and reply.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RateLimit-Limit" not in reply.headers and reply.headers["x-amzn-RequestId"]


# Fidelity to the official models


@pytest.mark.skipif(not MODELS.is_dir(), reason="official SP-API models not available")
def test_rate_limits_and_event_lists_match_the_models() -> None:
    rates = {}
    for name in ("ordersV0.json", "financesV0.json", "reports_2021-06-30.json", "fulfillmentInboundV0.json"):
        model = json.loads((MODELS / name).read_text())
        for operations in model["paths"].values():
            for operation in operations.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    table = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", operation.get("description", ""))
                    if table:
                        rates[operation["operationId"]] = table.group(1)
        if name == "financesV0.json":
            assert tuple(model["definitions"]["FinancialEvents"]["properties"]) == FINANCIAL_EVENT_LISTS
    assert {operation: rates[operation] for operation in RATE_LIMITS} == RATE_LIMITS
