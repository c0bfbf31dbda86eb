"""The loopback Shopify Admin GraphQL in shopify_server.py, driven with plain httpx POSTs as the
deskterm connector will drive it: `{"query": ..., "variables": ...}` with X-Shopify-Access-Token.
The bucket's clock is a fake the tests advance, so nothing here sleeps.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from shopify_server import (
    AMAZON_LEGACY_SERVICE, INVALID_TOKEN, ShopifyServer, fulfillment, line_item, mcf_fulfillment, order, refund,
    return_request,
)

TOKEN = "shpat_loopback"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)

ORDERS_PAGE = """
query OrdersPage($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node { id name updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""

EXPENSIVE = """
query Expensive { orders(first: 100, sortKey: UPDATED_AT) { nodes { id lineItems(first: 5) { nodes { sku } } } } }"""

FULL_ORDER = """
query FullOrder($id: ID!) {
  order(id: $id) {
    id name email createdAt updatedAt processedAt cancelledAt legacyResourceId
    displayFinancialStatus displayFulfillmentStatus currencyCode
    totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
    customer { id firstName lastName email }
    shippingAddress { city provinceCode zip countryCodeV2 }
    lineItems(first: 10) {
      nodes { id sku title quantity originalUnitPriceSet { shopMoney { amount } } variant { sku } }
    }
    refunds(first: 5) {
      id createdAt totalRefundedSet { shopMoney { amount currencyCode } }
      refundLineItems(first: 10) { nodes { quantity lineItem { sku } subtotalSet { shopMoney { amount } } } }
    }
    returns(first: 5) {
      nodes {
        id name status createdAt
        returnLineItems(first: 10) {
          nodes { quantity returnReason ... on ReturnLineItem { fulfillmentLineItem { lineItem { sku } } } }
        }
      }
    }
    fulfillments(first: 5) {
      id status createdAt trackingInfo(first: 5) { company number url }
      service { serviceName handle type } location { name }
    }
    fulfillmentOrders(first: 5) { nodes { status assignedLocation { name location { id } } } }
  }
}"""


class Clock:
    """The bucket's clock: seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.seconds = 1_000.0

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[ShopifyServer]:
    with ShopifyServer(TOKEN, now=clock) as running:
        yield running


def post(server: ShopifyServer, query: str, variables: dict[str, Any] | None = None, *, token: str | None = TOKEN,
         version: str | None = None) -> httpx.Response:
    headers = {"X-Shopify-Access-Token": token} if token else {}
    return httpx.post(server.graphql_url(version), json={"query": query, "variables": variables or {}},
                      headers=headers, timeout=10)


def at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def walk(server: ShopifyServer, query: str, first: int = 100) -> list[dict[str, Any]]:
    """Page through `orders` the way a connector does; returns every node in order."""
    nodes, after = [], None
    while True:
        reply = post(server, ORDERS_PAGE, {"first": first, "after": after, "query": query}).json()
        assert "errors" not in reply, reply
        page = reply["data"]["orders"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_paging_600_orders_returns_each_once_in_updated_order(server: ShopifyServer) -> None:
    minutes = list(range(600))
    random.Random(7).shuffle(minutes)
    for n in minutes:
        server.add_order(order(n + 1, at(n)))
    for n in range(1, 41):  # older than the window: must not come back
        server.add_order(order(1000 + n, at(-n)))

    nodes = walk(server, f"updated_at:>='{at(0)}'")

    assert len(nodes) == 600 and len({node["id"] for node in nodes}) == 600
    assert [node["updatedAt"] for node in nodes] == [at(n) for n in range(600)]
    calls = server.calls("OrdersPage")
    assert len(calls) == 6
    assert calls[0].variables["after"] is None
    assert len({call.variables["after"] for call in calls}) == 6  # no page asked twice
    assert {call.requested_cost for call in calls} == {102}  # 2 + 100 x 1
    assert {call.actual_cost for call in calls} == {102}
    assert len(walk(server, f"updated_at:>'{at(0)}'")) == 599  # strictly after drops the boundary order


def test_an_order_updated_mid_walk_comes_round_again(server: ShopifyServer) -> None:
    for n in range(10):
        server.add_order(order(n + 1, at(n)))
    first = post(server, ORDERS_PAGE, {"first": 5, "query": f"updated_at:>='{at(0)}'"}).json()["data"]["orders"]
    server.add_order(order(2, at(30)))  # same id, newer updatedAt: replaces, and sorts last
    rest = walk_from(server, first["pageInfo"]["endCursor"])
    assert [node["name"] for node in rest] == ["#1006", "#1007", "#1008", "#1009", "#1010", "#1002"]
    assert len(server.orders()) == 10


def walk_from(server: ShopifyServer, after: str) -> list[dict[str, Any]]:
    reply = post(server, ORDERS_PAGE, {"first": 50, "after": after, "query": f"updated_at:>='{at(0)}'"}).json()
    return [edge["node"] for edge in reply["data"]["orders"]["edges"]]


def test_a_field_typo_fails_like_shopify(server: ShopifyServer) -> None:
    reply = post(server, "query Typo { orders(first: 1) { nodes { id totalPrice } } }")
    assert reply.status_code == 200
    body = reply.json()
    assert body == {"errors": [{
        "message": "Field 'totalPrice' doesn't exist on type 'Order'",
        "locations": [{"line": 1, "column": 44}],
        "path": ["query Typo", "orders", "nodes", "totalPrice"],
        "extensions": {"code": "undefinedField", "typeName": "Order", "fieldName": "totalPrice"},
    }]}
    assert server.calls()[-1].outcome == "invalid" and server.calls()[-1].requested_cost is None
    argument = post(server, "{ orders(frist: 1) { nodes { id } } }").json()["errors"][0]
    assert argument["message"] == "Field 'orders' doesn't accept argument 'frist'"


def test_cost_follows_shopifys_rules(server: ShopifyServer) -> None:
    query = "{ orders(first: 10) { edges { node { id name } } } }"
    empty = post(server, query).json()["extensions"]["cost"]
    assert (empty["requestedQueryCost"], empty["actualQueryCost"]) == (12, 3)  # 2 + 10 x 1; empty page pays one
    for n in range(3):
        server.add_order(order(n + 1, at(n)))
    three = post(server, query).json()["extensions"]["cost"]
    assert (three["requestedQueryCost"], three["actualQueryCost"]) == (12, 5)
    one = "query One($id: ID!) { order(id: $id) { id totalPriceSet { shopMoney { amount } } customer { id } } }"
    found = post(server, one, {"id": "gid://shopify/Order/5000000001"}).json()["extensions"]["cost"]
    missing = post(server, one, {"id": "gid://shopify/Order/1"}).json()["extensions"]["cost"]
    assert (found["requestedQueryCost"], found["actualQueryCost"]) == (4, 4)
    assert (missing["requestedQueryCost"], missing["actualQueryCost"]) == (4, 1)
    assert found["throttleStatus"] == {"maximumAvailable": 2000, "currentlyAvailable": 2000 - 3 - 5 - 4,
                                       "restoreRate": 100}


def test_a_burst_is_throttled_until_the_bucket_refills(server: ShopifyServer, clock: Clock) -> None:
    for n in range(100):
        server.add_order(order(n + 1, at(n), lines=[line_item(n * 10 + i, f"S{i}") for i in range(5)]))
    costs = [post(server, EXPENSIVE).json()["extensions"]["cost"] for _ in range(2)]
    assert [(c["requestedQueryCost"], c["actualQueryCost"]) for c in costs] == [(802, 802)] * 2
    assert [c["throttleStatus"]["currentlyAvailable"] for c in costs] == [1198, 396]

    throttled = post(server, EXPENSIVE)
    assert throttled.status_code == 200
    assert throttled.json() == {
        "errors": [{"message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": 802, "actualQueryCost": None, "throttleStatus": {
            "maximumAvailable": 2000, "currentlyAvailable": 396, "restoreRate": 100}}},
    }
    clock.advance(4.0)  # 396 + 400 = 796: still short of 802
    assert post(server, EXPENSIVE).json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    clock.advance(0.1)
    again = post(server, EXPENSIVE).json()
    assert len(again["data"]["orders"]["nodes"]) == 100
    assert again["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 4
    assert [call.outcome for call in server.calls("Expensive")] == ["ok", "ok", "throttled", "throttled", "ok"]
    server.set_available(10)
    assert post(server, EXPENSIVE).json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 10


def test_one_query_over_1000_points_is_refused(server: ShopifyServer) -> None:
    body = post(server, "{ orders(first: 250) { nodes { id lineItems(first: 10) { nodes { sku } } } } }").json()
    error = body["errors"][0]
    assert error["message"].startswith("Query cost is 3252, which exceeds the single query max cost limit (1000).")
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 3252, "maxCost": 1000,
                                   "documentation": "https://shopify.dev/api/usage/rate-limits"}
    assert "data" not in body
    assert server.throttle_status()["currentlyAvailable"] == 2000  # refused before anything was taken


def test_connection_arguments_are_checked(server: ShopifyServer) -> None:
    missing = post(server, "{ orders { nodes { id } } }").json()
    assert missing["data"] is None
    assert missing["errors"][0]["message"] == "you must provide one of first or last"
    assert missing["errors"][0]["path"] == ["orders"]
    assert missing["extensions"]["cost"]["requestedQueryCost"] == 2
    assert "250" in post(server, "{ orders(first: 251) { nodes { id } } }").json()["errors"][0]["message"]


@pytest.mark.parametrize("token", ["wrong", None])
def test_a_wrong_or_missing_token_is_401(server: ShopifyServer, token: str | None) -> None:
    reply = post(server, "{ shop { name } }", token=token)
    assert reply.status_code == 401
    assert reply.json() == {"errors": INVALID_TOKEN}
    assert server.calls()[-1].outcome == "unauthorized"


@pytest.mark.parametrize("fault,status", [("500", 500), ("502", 502), ("503", 503), ("401", 401)])
def test_injected_http_faults_hit_one_request_each(server: ShopifyServer, fault: str, status: int) -> None:
    server.inject("graphql", fault)
    assert post(server, "query Shop { shop { name } }").status_code == status
    assert post(server, "query Shop { shop { name } }").json()["data"] == {"shop": {"name": "deskterm-test"}}
    assert [call.outcome for call in server.calls("Shop")] == [fault, "ok"]  # the faulted one is named too


def test_injected_throttle_and_truncation(server: ShopifyServer) -> None:
    server.inject("graphql", "throttled", "truncated")
    throttled = post(server, "{ shop { name } }").json()
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000
    cut = post(server, "{ shop { name } }")
    assert cut.status_code == 200 and int(cut.headers["content-length"]) == len(cut.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert [call.outcome for call in server.calls()] == ["throttled", "truncated"]
    with pytest.raises(ValueError):
        server.inject("graphql", "429")


def test_money_and_datetime_formats(server: ShopifyServer) -> None:
    lines = [line_item(1, "MUG", quantity=2, price="10.00"), line_item(2, "PEN", price="19.99")]
    server.add_order(order(1, "2026-03-04T05:06:07.123456+02:00", lines=lines, currency="EUR"))
    body = post(server, FULL_ORDER, {"id": "gid://shopify/Order/5000000001"}).json()
    got = body["data"]["order"]
    assert got["updatedAt"] == "2026-03-04T03:06:07Z"
    assert got["totalPriceSet"] == {"shopMoney": {"amount": "39.99", "currencyCode": "EUR"},
                                    "presentmentMoney": {"amount": "39.99", "currencyCode": "EUR"}}
    units = [item["originalUnitPriceSet"]["shopMoney"]["amount"] for item in got["lineItems"]["nodes"]]
    assert units == ["10.0", "19.99"]
    assert got["legacyResourceId"] == "5000000001" and got["id"] == "gid://shopify/Order/5000000001"
    assert got["name"] == "#1001"


def test_refunds_returns_and_an_amazon_mcf_fulfillment(server: ShopifyServer) -> None:
    mug, pen = line_item(100, "MUG", quantity=2, price="12.50"), line_item(101, "PEN", price="3")
    shipped = mcf_fulfillment(1, at(60), lines=[(mug, 2), (pen, 1)])
    server.add_order(order(1, at(200), lines=[mug, pen], fulfillments=[shipped],
                           refunds=[refund(1, at(180), [(mug, 1)])], returns=[return_request(1, at(150), [(mug, 1)])]))
    body = post(server, FULL_ORDER, {"id": "gid://shopify/Order/5000000001"}).json()
    assert "errors" not in body and body["extensions"]["cost"]["requestedQueryCost"] < 1000
    got = body["data"]["order"]
    assert got["displayFinancialStatus"] == "PARTIALLY_REFUNDED" and got["displayFulfillmentStatus"] == "FULFILLED"
    assert got["refunds"][0]["totalRefundedSet"]["shopMoney"] == {"amount": "12.5", "currencyCode": "USD"}
    assert got["refunds"][0]["refundLineItems"]["nodes"][0]["lineItem"]["sku"] == "MUG"
    returned = got["returns"]["nodes"][0]
    assert (returned["name"], returned["status"]) == ("#1001-R1", "OPEN")
    assert returned["returnLineItems"]["nodes"][0]["fulfillmentLineItem"]["lineItem"]["sku"] == "MUG"
    (made,) = got["fulfillments"]
    assert made["service"] == {"serviceName": "Amazon Multichannel Fulfillment",
                               "handle": "amazon-multichannel-fulfillment", "type": "THIRD_PARTY"}
    assert made["location"] == {"name": "Amazon Multichannel Fulfillment"}
    assert made["trackingInfo"][0]["number"] == "TBA012345678901"
    assert got["fulfillmentOrders"]["nodes"][0]["assignedLocation"]["name"] == "Amazon Multichannel Fulfillment"
    legacy = mcf_fulfillment(2, at(60), service=AMAZON_LEGACY_SERVICE)
    assert legacy["service"]["handle"] == "amazon_marketplace_web"
    assert legacy["location"]["name"] == "Amazon Marketplace Web"
    assert fulfillment(3, at(1))["service"]["type"] == "MANUAL"


def test_search_warnings_and_unquoted_times(server: ShopifyServer) -> None:
    for n in range(4):
        server.add_order(order(n + 1, at(n)))
    query = "{ orders(first: 10, query: $q) { nodes { name } } }".replace("{ orders", "query Q($q: String) { orders", 1)
    unknown = post(server, query, {"q": f"colour:blue AND updated_at:>='{at(2)}'"}).json()
    assert [node["name"] for node in unknown["data"]["orders"]["nodes"]] == ["#1003", "#1004"]
    assert unknown["extensions"]["search"] == [{"path": ["orders"], "query": f"colour:blue AND updated_at:>='{at(2)}'",
                                               "warnings": [{"field": "colour", "code": "invalid_field",
                                                             "message": "Invalid search field for this query."}]}]
    unquoted = post(server, query, {"q": f"updated_at:>={at(0)}"}).json()
    assert unquoted["data"]["orders"]["nodes"] == []
    assert unquoted["extensions"]["search"][0]["warnings"][0]["field"] == "00"
    beyond = post(server, query, {"q": "financial_status:paid"}).json()
    assert beyond["data"] is None and beyond["errors"][0]["extensions"]["code"] == "FAKE_UNSUPPORTED"


def test_sort_keys_and_reverse(server: ShopifyServer) -> None:
    for n, minute in ((1, 5), (2, 1), (3, 3)):
        server.add_order(order(n, at(minute)))
    names = "{ orders(first: 5, sortKey: %s, reverse: %s) { nodes { name } } }"

    def read(key: str, rev: str) -> list[str]:
        return [node["name"] for node in post(server, names % (key, rev)).json()["data"]["orders"]["nodes"]]

    assert read("UPDATED_AT", "false") == ["#1002", "#1003", "#1001"]
    assert read("UPDATED_AT", "true") == ["#1001", "#1003", "#1002"]
    assert read("ID", "false") == ["#1001", "#1002", "#1003"]


def test_api_versions(server: ShopifyServer) -> None:
    old = post(server, "{ shop { name } }", version="2023-01")
    assert old.status_code == 200 and old.headers["x-shopify-api-version"] == server.versions[0]
    assert post(server, "{ shop { name } }", version="2026-01").headers["x-shopify-api-version"] == "2026-01"
    malformed = post(server, "{ shop { name } }", version="latest")
    assert (malformed.status_code, malformed.json()) == (404, {"errors": "Not Found"})


def test_add_order_replaces_by_id_and_checks_shape(server: ShopifyServer) -> None:
    server.add_order(order(1, at(0)))
    server.add_order(order(1, at(9)))
    assert [o["updatedAt"] for o in server.orders()] == [at(9)]
    with pytest.raises(ValueError):
        server.add_order({"id": "42", "name": "#1", "createdAt": at(0), "updatedAt": at(0)})
