"""A loopback fake of the Shopify Admin GraphQL API (orders), for tests.

Queries are parsed, validated and executed for real by graphql-core against an SDL subset of the
Admin schema (names and types as Shopify's), so a client typo fails here as it would at Shopify:

    with ShopifyServer(access_token="shpat_x") as server:
        server.add_order(order(1, "2026-01-02T03:04:05Z"))
        httpx.post(server.graphql_url(), json={"query": ..., "variables": {...}},
                   headers={"X-Shopify-Access-Token": "shpat_x"})

Behaviour, and where it comes from ("fixtures" = live replies captured in
github.com/airhorns/shopify-draft-proxy fixtures/conformance/, API 2025-01):

- POST /admin/api/{version}/graphql.json; a wrong or missing token is 401 `{"errors": "[API] Invalid
  API key or access token (unrecognized login or wrong password)"}`. A well-formed unsupported
  version is served by the oldest supported one, named in the `X-Shopify-API-Version` header
  (help.shopify.com/en/api/versioning/migration-guide); a malformed one is 404 `{"errors": "Not
  Found"}` (public client code only: unverified).
- Cost (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and enums 0, objects 1,
  connections 2 + first/last x one node; lists of objects are not multiplied (fixture: an order with
  fulfillments(first: 5) { trackingInfo(first: 5) } cost 3). actualQueryCost counts what came back,
  an empty page as one node (3 for an empty customers(first: 10), github.com/Shopify/shopify-api-js
  issue 602). Fragments on several types are summed (Shopify takes the maximum). Executed replies
  carry `extensions.cost`; parse and validation errors carry none (fixtures).
- Leaky bucket, standard plan by default: 2000 points, 100/s (rate-limits page; fixtures). Requested
  cost must be available, actual cost is taken. Short: HTTP 200 `errors [{"message": "Throttled",
  "extensions": {"code": "THROTTLED", ...}}]`, actualQueryCost null, no data. Over 1000 in one query:
  MAX_COST_EXCEEDED in Shopify's words (gist.github.com/lacom/56e3834834e250270062583f425274b9).
- Validation errors read like Shopify's graphql-ruby: HTTP 200, "Field 'x' doesn't exist on type
  'Order'", code undefinedField, path led by "query Name" (fixtures). The argument and parse error
  wordings follow graphql-ruby conventions, unverified.
- Connections: at most 250 a page (shopify.dev/docs/api/usage/pagination-graphql; our error text for
  more is unverified); none asked is "you must provide one of first or last" with data null and a
  cost (Shopify's client tests). Cursors are base64 JSON {"last_id", "last_value"} like the fixtures'.
  Paging is by key, so an order updated mid-walk moves behind the cursor and comes round again.
- orders(query:) knows updated_at/created_at/processed_at with : >= > <= <, id, name, joined by
  spaces or AND. An unknown field is dropped with a warning in `extensions.search` ("Invalid search
  field for this query.", code invalid_field) while the other terms apply; an unquoted time is cut at
  its first colon, matches nothing and warns about field "00"/"45"... (comments in public connector
  code that probed live stores), so quote times: updated_at:>='2026-01-01T00:00:00Z'. Other real
  filters, OR/NOT/() and free text fail loudly with code FAKE_UNSUPPORTED. Bare dates are midnight
  UTC here (Shopify: shop time zone). Default sortKey PROCESSED_AT is from memory, unverified.
- Money amounts are Decimal strings as Ruby prints them ("10.0", "19.99"); DateTime is
  "2026-05-05T00:08:19Z" (fixtures: orderCreate, refundCreate).
- Amazon MCF: an app that fulfils through Amazon registers a FulfillmentService (type THIRD_PARTY)
  and Shopify creates a Location named after it (shopify.dev FulfillmentService, fulfillmentServiceCreate).
  So an MCF order shows fulfillments[].service {serviceName handle type}, fulfillments[].location.name
  and fulfillmentOrders.assignedLocation.name = the app's service name, which each app picks
  ("Amazon MCF by Codisto", "FBA US | Order Automator", Amazon's "Amazon Multichannel Fulfillment"
  app; vendor help pages). "amazon_marketplace_web" / "Amazon Marketplace Web" is the old built-in
  Amazon service, still a REST variant fulfillment_service value in public code. Handles derived
  from names, MCF tracking company/URL and the 5xx fault bodies are unverified.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from graphql import (
    FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, GraphQLObjectType,
    GraphQLSchema, OperationDefinitionNode, VariableNode, build_schema, execute,
    get_named_type, is_leaf_type, parse, validate, value_from_ast,
)
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from loopback import LoopbackServer, Reply

Json = dict[str, Any]

CONNECTION_ARGS = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"
CONNECTION_NODES = ("Order", "LineItem", "RefundLineItem", "Return", "ReturnLineItemType",
                    "FulfillmentOrder", "FulfillmentLineItem")
SDL = f"""
schema {{ query: QueryRoot }}
scalar DateTime
scalar Decimal
scalar URL
scalar UnsignedInt64
interface Node {{ id: ID! }}
type PageInfo {{ hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }}
enum CurrencyCode {{ USD EUR GBP CAD AUD NZD JPY CHF SEK NOK DKK PLN CZK HUF MXN BRL INR SGD HKD CNY AED ZAR KRW }}
enum CountryCode {{ US CA GB IE DE FR ES IT NL BE AT SE NO DK FI PL CZ CH PT AU NZ JP MX BR IN SG HK AE }}
enum OrderSortKeys {{ CREATED_AT CURRENT_TOTAL_PRICE CUSTOMER_NAME DESTINATION FINANCIAL_STATUS FULFILLMENT_STATUS ID
  ORDER_NUMBER PO_NUMBER PROCESSED_AT RELEVANCE TOTAL_ITEMS_QUANTITY TOTAL_PRICE UPDATED_AT }}
enum OrderDisplayFinancialStatus {{ AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED }}
enum OrderDisplayFulfillmentStatus {{ FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT
  REQUEST_DECLINED RESTOCKED SCHEDULED UNFULFILLED }}
enum OrderCancelReason {{ CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }}
enum FulfillmentStatus {{ CANCELLED ERROR FAILURE SUCCESS OPEN PENDING }}
enum FulfillmentDisplayStatus {{ ATTEMPTED_DELIVERY CANCELED CONFIRMED DELIVERED FAILURE FULFILLED IN_TRANSIT
  LABEL_PRINTED LABEL_PURCHASED LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED OUT_FOR_DELIVERY PICKED_UP
  READY_FOR_PICKUP SUBMITTED }}
enum FulfillmentServiceType {{ GIFT_CARD MANUAL THIRD_PARTY }}
enum FulfillmentOrderStatus {{ CANCELLED CLOSED INCOMPLETE IN_PROGRESS ON_HOLD OPEN SCHEDULED }}
enum FulfillmentOrderRequestStatus {{ ACCEPTED CANCELLATION_ACCEPTED CANCELLATION_REJECTED CANCELLATION_REQUESTED
  CLOSED REJECTED SUBMITTED UNSUBMITTED }}
enum ReturnStatus {{ CANCELED CLOSED DECLINED OPEN REQUESTED }}
enum ReturnReason {{ COLOR DEFECTIVE NOT_AS_DESCRIBED OTHER SIZE_TOO_LARGE SIZE_TOO_SMALL STYLE UNKNOWN UNWANTED
  WRONG_ITEM }}
enum RefundLineItemRestockType {{ CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }}
type MoneyV2 {{ amount: Decimal! currencyCode: CurrencyCode! }}
type MoneyBag {{ shopMoney: MoneyV2! presentmentMoney: MoneyV2! }}
type Shop implements Node {{ id: ID! name: String! myshopifyDomain: String! currencyCode: CurrencyCode!
  ianaTimezone: String! }}
type Customer implements Node {{ id: ID! firstName: String lastName: String displayName: String! email: String
  phone: String }}
type MailingAddress implements Node {{ id: ID! name: String firstName: String lastName: String company: String
  address1: String address2: String city: String province: String provinceCode: String zip: String
  country: String countryCodeV2: CountryCode phone: String }}
type ProductVariant implements Node {{ id: ID! sku: String title: String! }}
type LineItem implements Node {{ id: ID! name: String! title: String! sku: String vendor: String quantity: Int!
  currentQuantity: Int! variant: ProductVariant originalUnitPriceSet: MoneyBag! discountedUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag! }}
type RefundLineItem {{ id: ID! quantity: Int! restockType: RefundLineItemRestockType! restocked: Boolean!
  lineItem: LineItem! priceSet: MoneyBag! subtotalSet: MoneyBag! totalTaxSet: MoneyBag! }}
type Refund implements Node {{ id: ID! createdAt: DateTime updatedAt: DateTime! note: String totalRefundedSet: MoneyBag!
  refundLineItems({CONNECTION_ARGS}): RefundLineItemConnection! }}
type FulfillmentLineItem implements Node {{ id: ID! quantity: Int lineItem: LineItem! }}
interface ReturnLineItemType {{ id: ID! quantity: Int! returnReason: ReturnReason! returnReasonNote: String!
  customerNote: String refundableQuantity: Int! refundedQuantity: Int! }}
type ReturnLineItem implements Node & ReturnLineItemType {{ id: ID! quantity: Int! returnReason: ReturnReason!
  returnReasonNote: String! customerNote: String refundableQuantity: Int! refundedQuantity: Int!
  fulfillmentLineItem: FulfillmentLineItem! }}
type UnverifiedReturnLineItem implements Node & ReturnLineItemType {{ id: ID! quantity: Int! returnReason: ReturnReason!
  returnReasonNote: String! customerNote: String refundableQuantity: Int! refundedQuantity: Int! unitPrice: MoneyV2! }}
type Return implements Node {{ id: ID! name: String! status: ReturnStatus! createdAt: DateTime! closedAt: DateTime
  totalQuantity: Int! returnLineItems({CONNECTION_ARGS}): ReturnLineItemTypeConnection! }}
type Location implements Node {{ id: ID! name: String! }}
type FulfillmentService {{ id: ID! handle: String! serviceName: String! type: FulfillmentServiceType!
  location: Location }}
type FulfillmentTrackingInfo {{ company: String number: String url: URL }}
type Fulfillment implements Node {{ id: ID! name: String! status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus createdAt: DateTime! updatedAt: DateTime! deliveredAt: DateTime
  inTransitAt: DateTime estimatedDeliveryAt: DateTime
  totalQuantity: Int! trackingInfo(first: Int): [FulfillmentTrackingInfo!]! service: FulfillmentService
  location: Location fulfillmentLineItems({CONNECTION_ARGS}): FulfillmentLineItemConnection! }}
type FulfillmentOrderAssignedLocation {{ name: String! countryCode: CountryCode! location: Location }}
type FulfillmentOrder implements Node {{ id: ID! status: FulfillmentOrderStatus!
  requestStatus: FulfillmentOrderRequestStatus!
  createdAt: DateTime! updatedAt: DateTime! assignedLocation: FulfillmentOrderAssignedLocation! }}
type Order implements Node {{ id: ID! legacyResourceId: UnsignedInt64! name: String! email: String phone: String
  createdAt: DateTime! updatedAt: DateTime! processedAt: DateTime! cancelledAt: DateTime cancelReason: OrderCancelReason
  closed: Boolean! closedAt: DateTime test: Boolean! note: String tags: [String!]!
  displayFinancialStatus: OrderDisplayFinancialStatus displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  currencyCode: CurrencyCode! presentmentCurrencyCode: CurrencyCode! totalPriceSet: MoneyBag! subtotalPriceSet: MoneyBag
  currentTotalPriceSet: MoneyBag! totalRefundedSet: MoneyBag! totalShippingPriceSet: MoneyBag! totalTaxSet: MoneyBag
  customer: Customer shippingAddress: MailingAddress billingAddress: MailingAddress
  lineItems({CONNECTION_ARGS}): LineItemConnection! refunds(first: Int): [Refund!]!
  returns({CONNECTION_ARGS}, query: String): ReturnConnection! fulfillments(first: Int): [Fulfillment!]!
  fulfillmentOrders({CONNECTION_ARGS}, displayable: Boolean = false, query: String): FulfillmentOrderConnection! }}
type QueryRoot {{ shop: Shop! order(id: ID!): Order
  orders({CONNECTION_ARGS}, sortKey: OrderSortKeys = PROCESSED_AT, query: String,
    savedSearchId: ID): OrderConnection! }}
""" + "".join(f"type {n}Connection {{ edges: [{n}Edge!]! nodes: [{n}!]! pageInfo: PageInfo! }}\n"
              f"type {n}Edge {{ cursor: String! node: {n}! }}\n" for n in CONNECTION_NODES)

SUPPORTED_VERSIONS = ("2025-04", "2025-07", "2025-10", "2026-01", "2026-04")
MAX_PAGE = 250
MAX_QUERY_COST = 1000
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
FAULT_REPLIES: dict[str, tuple[int, str, bytes]] = {
    "500": (500, "application/json", b'{"errors":"Internal Server Error"}'),
    "502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "503": (503, "text/html", b"<html><body><h1>503 Service Unavailable</h1></body></html>"),
}
FAULTS = frozenset({*FAULT_REPLIES, "throttled", "truncated", "401"})
GRAPHQL_PATH = re.compile(r"/admin/api/(?P<version>[^/]+)/graphql\.json")
VERSION_FORMAT = re.compile(r"\d{4}-\d{2}|unstable")
FULL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?")
DATE_FIELDS = {"updated_at": "updatedAt", "created_at": "createdAt", "processed_at": "processedAt"}
SORT_FIELDS = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt", "PROCESSED_AT": "processedAt", "ID": None}
REAL_ORDER_FILTERS = frozenset("""cart_token channel channel_id chargeback_status checkout_token confirmation_number
    credit_card_last4 current_total_price customer_id delivery_method discount_code email financial_status
    fraud_protection_level fulfillment_location_id fulfillment_status gateway location_id payment_id
    payment_provider_id po_number reference_location_id return_status risk_level sales_channel sku source_identifier
    source_name status subtotal_line_items_quantity tag tag_not test total_weight""".split())
SEARCH_TERM = re.compile(
    r"""(?P<field>[A-Za-z0-9_]+):(?P<op>>=|<=|>|<)?(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<bare>[^\s:()]*))""")
STATIC = object()  # "no data": cost walks the query alone


class FakeUnsupported(GraphQLError):
    """Something real Shopify would do that this fake does not; loud, so a test notices."""

    def __init__(self, message: str) -> None:
        super().__init__(f"shopify_server: {message}", extensions={"code": "FAKE_UNSUPPORTED"})


def parse_time(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso(value: str | datetime) -> str:
    """Shopify's DateTime: UTC, whole seconds, Z."""
    return parse_time(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_text(value: Any) -> str:
    """Shopify's Decimal as Ruby's BigDecimal prints it: "10.0", "19.99", "0.0"."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." in text else text + ".0"


def numeric_id(item: Mapping[str, Any], fallback: int = 0) -> int:
    tail = str(item.get("id", "")).rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else fallback


def encode_cursor(key: tuple[Any, int]) -> str:
    return base64.b64encode(json.dumps({"last_id": key[1], "last_value": key[0]}).encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        doc = json.loads(base64.b64decode(cursor, validate=True))
        return doc["last_value"], int(doc["last_id"])
    except (ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor '{cursor}' (shopify_server; Shopify's text unverified)") from None


def items_of(raw: Any) -> list[Any]:
    """Data may hold a connection as a list, {"nodes": [...]} or {"edges": [{"node": ...}]}."""
    if isinstance(raw, Mapping):
        return list(raw["nodes"]) if "nodes" in raw else [edge["node"] for edge in raw.get("edges", [])]
    return list(raw or [])


def paginate(entries: list[tuple[tuple[Any, int], Any]], args: Mapping[str, Any]) -> Json:
    """A Relay connection over `entries` (key, node), already in ascending key order."""
    first, last, after, before = args.get("first"), args.get("last"), args.get("after"), args.get("before")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if first is not None and last is not None:
        raise GraphQLError("providing both first and last is not supported")
    size = first if first is not None else last
    if size < 0 or size > MAX_PAGE:
        raise GraphQLError(f"The {'first' if first is not None else 'last'} argument must be between 0 and "
                           f"{MAX_PAGE} (shopify_server; Shopify's text unverified)")
    descending = bool(args.get("reverse"))
    if descending:
        entries = entries[::-1]

    def beyond(key: tuple[Any, int], mark: tuple[Any, int]) -> bool:
        return key < mark if descending else key > mark

    window = entries
    try:
        if after:
            mark = decode_cursor(after)
            window = [entry for entry in window if beyond(entry[0], mark)]
        if before:
            mark = decode_cursor(before)
            window = [entry for entry in window if beyond(mark, entry[0])]
    except TypeError:  # a cursor made under another sortKey
        raise GraphQLError("Invalid cursor (shopify_server; Shopify's text unverified)") from None
    page = window[:size] if first is not None else window[max(len(window) - size, 0):]
    edges = [{"cursor": encode_cursor(key), "node": node} for key, node in page]
    full = len(entries)
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": (len(window) > len(page)) if first is not None else bool(before) and len(window) < full,
            "hasPreviousPage": (len(window) > len(page)) if last is not None else bool(after) and len(window) < full,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


@dataclass
class Search:
    predicates: list[Callable[[Json], bool]] = field(default_factory=list)
    warnings: list[Json] = field(default_factory=list)


def parse_search(text: str) -> Search:
    """The subset of Shopify search syntax the connector uses; see the module docstring."""
    search, rest = Search(), text.strip()
    while rest:
        if rest.startswith(":"):  # the remainder of an unquoted time, as Shopify splits it
            rest = rest[1:]
            continue
        word = re.match(r"\S+", rest)[0]
        if word == "AND":
            rest = rest[3:].lstrip()
            continue
        term = SEARCH_TERM.match(rest)
        if not term or word in ("OR", "NOT") or word.startswith(("(", "-")):
            raise FakeUnsupported(f"search syntax {word!r} is not implemented")
        rest = rest[term.end():].lstrip() if not rest[term.end():].startswith(":") else rest[term.end():]
        name, op = term["field"], term["op"] or "="
        value = next(v for v in (term["sq"], term["dq"], term["bare"]) if v is not None)
        if name in DATE_FIELDS or name == "id":
            search.predicates.append(_comparison(name, op, value))
        elif name == "name":
            search.predicates.append(lambda item, value=value: str(item.get("name", "")).lower() == value.lower())
        elif name in REAL_ORDER_FILTERS:
            raise FakeUnsupported(f"the orders search filter {name!r} is not implemented")
        else:
            search.warnings.append({"field": name, "message": "Invalid search field for this query.",
                                    "code": "invalid_field"})
    return search


def _comparison(name: str, op: str, raw: str) -> Callable[[Json], bool]:
    if name == "id":
        if not raw.isdigit():
            return lambda item: False
        bound: Any = int(raw)
        get: Callable[[Json], Any] = numeric_id
    else:
        if not FULL_TIME.fullmatch(raw):
            return lambda item: False  # e.g. "2026-01-01T00", left of an unquoted colon
        bound = parse_time(raw)
        get = lambda item: parse_time(item[DATE_FIELDS[name]])  # noqa: E731
    compare = {">=": bound.__le__, ">": bound.__lt__, "<=": bound.__ge__, "<": bound.__gt__, "=": bound.__eq__}[op]
    return lambda item: bool(compare(get(item)))


class Cost:
    """Shopify's calculated query cost for one operation: `requested()` before, `actual(data)` after."""

    def __init__(self, schema: GraphQLSchema, document: Any, operation: OperationDefinitionNode,
                 variables: Mapping[str, Any]) -> None:
        self.schema, self.operation, self.variables = schema, operation, variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def requested(self) -> int:
        return self._selection(self.operation.selection_set, self.schema.query_type, STATIC)

    def actual(self, data: Any) -> int:
        return self._selection(self.operation.selection_set, self.schema.query_type, data)

    def _fields(self, selection_set: Any, parent: Any) -> Iterator[tuple[FieldNode, Any]]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection, parent
                continue
            fragment = (self.fragments[selection.name.value] if isinstance(selection, FragmentSpreadNode)
                        else selection)
            condition = fragment.type_condition
            yield from self._fields(fragment.selection_set,
                                    self.schema.get_type(condition.name.value) if condition else parent)

    def _selection(self, selection_set: Any, parent: Any, data: Any) -> int:
        total = 0
        for node, owner in self._fields(selection_set, parent):
            definition = owner.fields.get(node.name.value) if hasattr(owner, "fields") else None
            if definition is None or is_leaf_type(get_named_type(definition.type)):
                continue
            key = node.alias.value if node.alias else node.name.value
            if data is not STATIC and (not isinstance(data, Mapping) or key not in data):
                continue
            value = STATIC if data is STATIC else data[key]
            named = get_named_type(definition.type)
            if named.name.endswith("Connection"):
                total += self._connection(node, named, value)
            elif value is STATIC:
                total += 1 + self._selection(node.selection_set, named, STATIC)
            elif isinstance(value, list):
                total += 1 + max((self._selection(node.selection_set, named, item) for item in value), default=0)
            else:
                total += 1 + (0 if value is None else self._selection(node.selection_set, named, value))
        return total

    def _connection(self, node: FieldNode, connection: Any, value: Any) -> int:
        node_type = get_named_type(connection.fields["nodes"].type)
        edge_type = get_named_type(connection.fields["edges"].type)
        selections = []
        for child, _ in self._fields(node.selection_set, connection):
            if child.name.value == "nodes":
                selections.append(child.selection_set)
            elif child.name.value == "edges":
                selections += [g.selection_set for g, _ in self._fields(child.selection_set, edge_type)
                               if g.name.value == "node"]

        def one(item: Any) -> int:
            return 1 + max((self._selection(s, node_type, item) for s in selections), default=0)

        if value is STATIC:
            return 2 + self._size(node) * one(STATIC)
        if not isinstance(value, Mapping):
            return 2
        items = value["nodes"] if "nodes" in value else [e["node"] for e in value.get("edges") or []]
        return 2 + (sum(one(item) for item in items) if items else 1)

    def _size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                raw = (self.variables.get(argument.value.name.value) if isinstance(argument.value, VariableNode)
                       else value_from_ast(argument.value, self.schema.type_map["Int"]))
                return raw if isinstance(raw, int) and raw > 0 else 0
        return 0


@dataclass
class RequestContext:
    server: ShopifyServer
    search: list[Json] = field(default_factory=list)


def _nested_connection(source: Mapping[str, Any], info: Any, **args: Any) -> Json:
    items = items_of(source.get(info.field_name))
    return paginate([((index, numeric_id(item, index)), item) for index, item in enumerate(items)], args)


def _first_of_list(source: Mapping[str, Any], info: Any, first: int | None = None) -> list[Any]:
    items = items_of(source.get(info.field_name))
    return items if first is None else items[:first]


def _orders(_root: Any, info: Any, **args: Any) -> Json:
    context: RequestContext = info.context
    search = parse_search(args.get("query") or "")
    if search.warnings:
        context.search.append({"path": list(info.path.as_list()), "query": args["query"], "warnings": search.warnings})
    sort_key = args.get("sortKey") or "PROCESSED_AT"
    if sort_key not in SORT_FIELDS:
        raise FakeUnsupported(f"sortKey {sort_key} is not implemented")
    attribute = SORT_FIELDS[sort_key]
    entries = []
    for order in context.server.orders():
        if all(predicate(order) for predicate in search.predicates):
            value = numeric_id(order) if attribute is None else parse_time(order[attribute]).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ")
            entries.append(((value, numeric_id(order)), order))
    entries.sort(key=lambda entry: entry[0])
    return paginate(entries, args)


@functools.cache
def build_admin_schema() -> GraphQLSchema:
    """The SDL above with resolvers: dict data for plain fields, paging for connections. Built once:
    resolvers find the server in `info.context`, so every server shares it."""
    schema = build_schema(SDL)
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__") or type_ is schema.query_type:
            continue
        for definition in type_.fields.values():
            if get_named_type(definition.type).name.endswith("Connection"):
                definition.resolve = _nested_connection
            elif "first" in definition.args:
                definition.resolve = _first_of_list
    root = schema.query_type.fields
    root["orders"].resolve = _orders
    root["order"].resolve = lambda _root, info, id: info.context.server.order(id)
    root["shop"].resolve = lambda _root, info: info.context.server.shop
    outputs: dict[str, Callable[[Any], Any]] = {"DateTime": iso, "Decimal": decimal_text, "URL": str,
                                                "UnsignedInt64": str}
    for name, output in outputs.items():
        scalar: Any = schema.type_map[name]
        scalar.serialize = scalar.coerce_output_value = output
    interface: Any = schema.type_map["ReturnLineItemType"]
    interface.resolve_type = lambda value, *_: value.get("__typename") or (
        "ReturnLineItem" if "fulfillmentLineItem" in value else "UnverifiedReturnLineItem")
    return schema


@dataclass
class Call:
    """One request as the server saw it; `outcome` is ok, error, throttled, max_cost, invalid, or the fault."""

    operation: str | None
    variables: Json
    query: str
    api_version: str
    status: int = 200
    outcome: str = "ok"
    requested_cost: int | None = None
    actual_cost: int | None = None


class ShopifyServer(LoopbackServer):
    """In-memory Shopify Admin GraphQL on 127.0.0.1, on a free port, in a background thread.

    Data in: `add_order` (a dict shaped like the GraphQL Order; same id replaces). Trouble in:
    `inject("graphql", *faults)`, `set_available(points)`. Evidence out: `calls()`, `throttle_status()`.
    `now` is the bucket's clock in seconds (monotonic by default), so tests can advance time.
    """

    def __init__(self, access_token: str = "shpat_test", *, shop: str = "deskterm-test",
                 currency: str = "USD", versions: Sequence[str] = SUPPORTED_VERSIONS,
                 maximum_available: float = 2000, restore_rate: float = 100,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.access_token, self.versions = access_token, tuple(sorted(versions))
        self.shop = {"id": "gid://shopify/Shop/1", "name": shop, "myshopifyDomain": f"{shop}.myshopify.com",
                     "currencyCode": currency, "ianaTimezone": "UTC"}
        self.maximum_available, self.restore_rate, self.now = maximum_available, restore_rate, now
        self.schema = build_admin_schema()
        self._available = float(maximum_available)
        self._refilled_at: float | None = None
        self._orders: dict[str, Json] = {}
        self._faults: deque[str] = deque()
        self._calls: list[Call] = []
        self._lock = threading.RLock()

    def graphql_url(self, version: str | None = None) -> str:
        return f"{self.endpoint}/admin/api/{version or self.versions[-1]}/graphql.json"

    # data in, trouble in, evidence out

    def add_order(self, order: Json) -> None:
        """Store (or replace, by id) an Order; mechanical defaults are filled, the rest must be there."""
        for key in ("id", "name", "createdAt", "updatedAt"):
            if key not in order:
                raise ValueError(f"an Order needs {key}")
        if not re.fullmatch(r"gid://shopify/Order/\d+", order["id"]):
            raise ValueError("Order ids look like gid://shopify/Order/123")
        stored = copy.deepcopy(order)
        stored.setdefault("legacyResourceId", str(numeric_id(stored)))
        stored.setdefault("processedAt", stored["createdAt"])
        stored.setdefault("presentmentCurrencyCode", stored.get("currencyCode"))
        for key, default in (("tags", []), ("closed", False), ("test", False), ("lineItems", []), ("refunds", []),
                             ("returns", []), ("fulfillments", []), ("fulfillmentOrders", [])):
            stored.setdefault(key, default)
        with self._lock:
            self._orders[stored["id"]] = stored

    def orders(self) -> list[Json]:
        with self._lock:
            return list(self._orders.values())

    def order(self, order_id: str) -> Json | None:
        with self._lock:
            return self._orders.get(order_id)

    def inject(self, operation: str, *faults: str) -> None:
        """Queue faults for the next requests, one each: 500, 502, 503, 401, throttled, truncated."""
        if operation != "graphql":
            raise ValueError("the only operation is 'graphql'")
        unknown = set(faults) - FAULTS
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS)}")
        with self._lock:
            self._faults.extend(faults)

    def calls(self, operation: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if operation is None or call.operation == operation]

    def set_available(self, points: float) -> None:
        with self._lock:
            self._refill()
            self._available = float(points)

    def throttle_status(self) -> Json:
        with self._lock:
            self._refill()
            return {"maximumAvailable": _number(self.maximum_available),
                    "currentlyAvailable": int(self._available), "restoreRate": _number(self.restore_rate)}

    # serving

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """One HTTP request in, one reply out; the HTTP layer only moves bytes."""
        match = GRAPHQL_PATH.fullmatch(urlsplit(target).path)
        if method != "POST" or not match or not VERSION_FORMAT.fullmatch(match["version"]):
            return Reply(404, b'{"errors":"Not Found"}')
        asked = match["version"]
        served = asked if asked in self.versions or asked == "unstable" else self.versions[0]
        with self._lock:
            call = Call(None, {}, "", served)
            fault = self._faults.popleft() if self._faults else None
            reply = self._serve(call, headers, body, fault)
            call.status = reply.status
            self._calls.append(call)
        reply.headers["X-Shopify-API-Version"] = served
        reply.headers["X-Request-Id"] = str(uuid.uuid4())
        return reply

    def _serve(self, call: Call, headers: Mapping[str, str], body: bytes, fault: str | None) -> Reply:
        try:
            payload = json.loads(body or b"null")
            call.query, call.variables = payload["query"], payload.get("variables") or {}
            call.operation = payload.get("operationName") or _operation_name(call.query)
            if not isinstance(call.query, str) or not isinstance(call.variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            payload = None
        if fault in FAULT_REPLIES:
            call.outcome = fault
            status, content_type, text = FAULT_REPLIES[fault]
            return Reply(status, text, content_type)
        if fault == "401" or headers.get("x-shopify-access-token") != self.access_token:
            call.outcome = fault or "unauthorized"
            return _json(401, {"errors": INVALID_TOKEN})
        if payload is None:
            call.outcome = "invalid"
            return _json(400, {"errors": {"query": "Required parameter missing or invalid"}})
        reply = self._graphql(call, payload.get("operationName"), fault == "throttled")
        if fault == "truncated":
            call.outcome = "truncated"
            return Reply(reply.status, reply.body[: len(reply.body) // 2], reply.content_type)
        return reply

    def _graphql(self, call: Call, operation_name: str | None, force_throttle: bool) -> Reply:
        call.outcome = "invalid"
        try:
            document = parse(call.query)
        except GraphQLError as error:
            location = error.locations[0] if error.locations else None
            where = f" at [{location.line}, {location.column}]" if location else ""
            text = error.message.removeprefix("Syntax Error: ")
            return _json(200, {"errors": [{"message": f"syntax error, {text}{where}",
                                           "locations": [loc.formatted for loc in error.locations or []],
                                           "extensions": {"code": "PARSE_ERROR"}}]})
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return _json(200, {"errors": [{"message": "An operation name is required (or unknown operationName)"}]})
        errors = validate(self.schema, document)
        if errors:
            return _json(200, {"errors": [shopify_validation_error(error, document) for error in errors]})
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), call.variables)
        if isinstance(coerced, list):
            return _json(200, {"errors": [{**error.formatted, "extensions": {"code": "INVALID_VARIABLE"}}
                                          for error in coerced]})
        cost = Cost(self.schema, document, operation, getattr(coerced, "coerced", coerced))
        requested = call.requested_cost = cost.requested()
        if requested > MAX_QUERY_COST:
            call.outcome = "max_cost"
            return _json(200, {"errors": [{"message": _max_cost_message(requested), "extensions": {
                "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST,
                "documentation": RATE_LIMITS_DOC}}]})
        self._refill()
        if force_throttle or requested > self._available:
            call.outcome = "throttled"
            return _json(200, {"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": RATE_LIMITS_DOC}}],
                "extensions": {"cost": self._cost_extension(requested, None)}})
        context = RequestContext(self)
        result: Any = execute(self.schema, document, None, context, call.variables, operation_name)
        actual = requested if result.data is None else min(requested, cost.actual(result.data))
        call.actual_cost, call.outcome = actual, "error" if result.errors else "ok"
        self._available -= actual
        doc: Json = {"data": result.data}
        if result.errors:
            doc["errors"] = [error.formatted for error in result.errors]
        doc["extensions"] = {"cost": self._cost_extension(requested, actual)}
        if context.search:
            doc["extensions"]["search"] = context.search
        return _json(200, doc)

    def _refill(self) -> None:
        moment = self.now()
        if self._refilled_at is not None:
            self._available = min(float(self.maximum_available),
                                  self._available + (moment - self._refilled_at) * self.restore_rate)
        self._refilled_at = moment

    def _cost_extension(self, requested: int, actual: int | None) -> Json:
        return {"requestedQueryCost": requested, "actualQueryCost": actual,
                "throttleStatus": {"maximumAvailable": _number(self.maximum_available),
                                   "currentlyAvailable": int(self._available),
                                   "restoreRate": _number(self.restore_rate)}}


def _operation_name(query: Any) -> str | None:
    """The first operation's name, read the cheap way so faulted requests are still named in `calls()`."""
    found = re.search(r"\b(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)", query) if isinstance(query, str) else None
    return found[1] if found else None


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _json(status: int, doc: Any) -> Reply:
    return Reply(status, json.dumps(doc).encode())


def _max_cost_message(cost: int) -> str:
    return (f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\n"
            "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
            "cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations "
            "should be used instead.\nSee https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n")


def shopify_validation_error(error: GraphQLError, document: Any) -> Json:
    """graphql-core's validation messages, reworded the way Shopify (graphql-ruby) words them."""
    doc: Json = {"message": error.message, "locations": [loc.formatted for loc in error.locations or []]}
    path = _path_to(error.nodes[0], document) if error.nodes else None
    if path:
        doc["path"] = path
    if m := re.match(r"Cannot query field '([^']+)' on type '([^']+)'", error.message):
        doc["message"] = f"Field '{m[1]}' doesn't exist on type '{m[2]}'"
        doc["extensions"] = {"code": "undefinedField", "typeName": m[2], "fieldName": m[1]}
    elif m := re.match(r"Unknown argument '([^']+)' on field '[^.]+\.([^']+)'", error.message):
        doc["message"] = f"Field '{m[2]}' doesn't accept argument '{m[1]}'"
        doc["extensions"] = {"code": "argumentNotAccepted", "name": m[2], "typeName": "Field", "argumentName": m[1]}
    return doc


def _path_to(target: Any, document: Any) -> list[str] | None:
    """Where a validation error sits, as Shopify reports it: ["query Name", "orders", "nodes", "x"]."""
    def walk(selection_set: Any, path: list[str]) -> list[str] | None:
        for selection in selection_set.selections if selection_set else ():
            here = path + [(selection.alias or selection.name).value] if isinstance(selection, FieldNode) else path
            if selection is target or target in (getattr(selection, "arguments", None) or ()):
                return here
            if found := walk(getattr(selection, "selection_set", None), here):
                return found
        return None

    for definition in document.definitions:
        kind = definition.operation.value if isinstance(definition, OperationDefinitionNode) else "fragment"
        if found := walk(definition.selection_set, [f"{kind} {definition.name.value}" if definition.name else kind]):
            return found
    return None


# data helpers: orders in Shopify's own terms

ORDER_ID_BASE = 5_000_000_000
SHOP_LOCATION = {"id": "gid://shopify/Location/70000000001", "name": "Shop location"}
MANUAL_SERVICE = {"id": "gid://shopify/FulfillmentService/60000000001", "handle": "manual", "serviceName": "Manual",
                  "type": "MANUAL", "location": None}
AMAZON_MCF_LOCATION = {"id": "gid://shopify/Location/70000000002", "name": "Amazon Multichannel Fulfillment"}
AMAZON_MCF_SERVICE = {"id": "gid://shopify/FulfillmentService/60000000002", "handle": "amazon-multichannel-fulfillment",
                      "serviceName": "Amazon Multichannel Fulfillment", "type": "THIRD_PARTY",
                      "location": AMAZON_MCF_LOCATION}
AMAZON_LEGACY_LOCATION = {"id": "gid://shopify/Location/70000000003", "name": "Amazon Marketplace Web"}
AMAZON_LEGACY_SERVICE = {"id": "gid://shopify/FulfillmentService/60000000003", "handle": "amazon_marketplace_web",
                         "serviceName": "Amazon Marketplace Web", "type": "THIRD_PARTY",
                         "location": AMAZON_LEGACY_LOCATION}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def money(amount: Any, currency: str = "USD") -> Json:
    """A MoneyBag with the same amount in shop and presentment currency."""
    value = {"amount": decimal_text(amount), "currencyCode": currency}
    return {"shopMoney": dict(value), "presentmentMoney": dict(value)}


def _amount(bag: Json) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


def line_item(number: int, sku: str | None = "SKU-1", *, title: str = "Widget", quantity: int = 1,
              price: Any = "19.99", currency: str = "USD") -> Json:
    unit = money(price, currency)
    return {"id": gid("LineItem", number), "name": title, "title": title, "sku": sku, "vendor": "Acme",
            "quantity": quantity, "currentQuantity": quantity,
            "variant": {"id": gid("ProductVariant", number), "sku": sku, "title": "Default Title"},
            "originalUnitPriceSet": unit, "discountedUnitPriceSet": unit,
            "originalTotalSet": money(Decimal(str(price)) * quantity, currency)}


def refund(order_n: int, created_at: str, lines: Iterable[tuple[Json, int]], *, index: int = 1,
           amount: Any = None, restock: str = "RETURN", note: str | None = None) -> Json:
    """A Refund of (line item, quantity) pairs; `amount` defaults to their price."""
    lines = list(lines)
    currency = lines[0][0]["originalUnitPriceSet"]["shopMoney"]["currencyCode"] if lines else "USD"
    items = [{"id": gid("RefundLineItem", order_n * 100 + index * 10 + i), "quantity": qty, "restockType": restock,
              "restocked": restock == "RETURN", "lineItem": item, "priceSet": item["originalUnitPriceSet"],
              "subtotalSet": money(_amount(item["originalUnitPriceSet"]) * qty, currency),
              "totalTaxSet": money(0, currency)} for i, (item, qty) in enumerate(lines)]
    total = amount if amount is not None else sum((_amount(i["subtotalSet"]) for i in items), Decimal(0))
    return {"id": gid("Refund", order_n * 10 + index), "createdAt": iso(created_at), "updatedAt": iso(created_at),
            "note": note, "totalRefundedSet": money(total, currency), "refundLineItems": {"nodes": items}}


def return_request(order_n: int, created_at: str, lines: Iterable[tuple[Json, int]], *, index: int = 1,
                   status: str = "OPEN", reason: str = "DEFECTIVE", note: str = "") -> Json:
    """A Return named like Shopify's "#1001-R1", its lines tied to fulfilled line items."""
    items = [{"__typename": "ReturnLineItem", "id": gid("ReturnLineItem", order_n * 100 + index * 10 + i),
              "quantity": qty, "returnReason": reason, "returnReasonNote": note, "customerNote": None,
              "refundableQuantity": qty, "refundedQuantity": 0,
              "fulfillmentLineItem": {"id": gid("FulfillmentLineItem", order_n * 100 + i), "quantity": qty,
                                      "lineItem": item}} for i, (item, qty) in enumerate(lines)]
    return {"id": gid("Return", order_n * 10 + index), "name": f"#{1000 + order_n}-R{index}", "status": status,
            "createdAt": iso(created_at), "closedAt": None, "totalQuantity": sum(i["quantity"] for i in items),
            "returnLineItems": {"nodes": items}}


def fulfillment(order_n: int, created_at: str, *, index: int = 1, company: str | None = "UPS",
                number: str | None = "1Z999AA10123456784", url: str | None = None, status: str = "SUCCESS",
                service: Json = MANUAL_SERVICE, location: Json | None = SHOP_LOCATION,
                lines: Iterable[tuple[Json, int]] = ()) -> Json:
    tracking = [] if number is None else [{"company": company, "number": number,
                                           "url": url or f"https://www.ups.com/track?tracknum={number}"}]
    items = [{"id": gid("FulfillmentLineItem", order_n * 100 + index * 10 + i), "quantity": qty, "lineItem": item}
             for i, (item, qty) in enumerate(lines)]
    return {"id": gid("Fulfillment", order_n * 10 + index), "name": f"#{1000 + order_n}.{index}", "status": status,
            "displayStatus": "FULFILLED" if status == "SUCCESS" else None, "createdAt": iso(created_at),
            "updatedAt": iso(created_at), "deliveredAt": None, "inTransitAt": None, "estimatedDeliveryAt": None,
            "totalQuantity": sum(i["quantity"] for i in items), "trackingInfo": tracking, "service": service,
            "location": location, "fulfillmentLineItems": {"nodes": items}}


def mcf_fulfillment(order_n: int, created_at: str, *, index: int = 1, number: str = "TBA012345678901",
                    service: Json = AMAZON_MCF_SERVICE, lines: Iterable[tuple[Json, int]] = ()) -> Json:
    """A fulfillment made by an Amazon MCF app: third-party service, at the location named after it."""
    return fulfillment(order_n, created_at, index=index, company="Amazon Logistics", number=number,
                       url=f"https://track.amazon.com/tracking/{number}", service=service,
                       location=service["location"], lines=lines)


def fulfillment_order(order_n: int, location: Json, created_at: str, *, index: int = 1, status: str = "CLOSED",
                      request_status: str | None = None) -> Json:
    third_party = location["id"] != SHOP_LOCATION["id"]
    return {"id": gid("FulfillmentOrder", order_n * 10 + index), "status": status,
            "requestStatus": request_status or ("ACCEPTED" if third_party else "UNSUBMITTED"),
            "createdAt": iso(created_at), "updatedAt": iso(created_at),
            "assignedLocation": {"name": location["name"], "countryCode": "US", "location": location}}


def order(n: int, updated_at: str | datetime, *, created_at: str | datetime | None = None, currency: str = "USD",
          lines: Sequence[Json] | None = None, refunds: Sequence[Json] = (), returns: Sequence[Json] = (),
          fulfillments: Sequence[Json] = (), fulfillment_orders: Sequence[Json] | None = None,
          financial_status: str | None = None, fulfillment_status: str | None = None,
          cancelled_at: str | None = None, customer: bool = True, tags: Sequence[str] = ()) -> Json:
    """Order number n ("#1000+n"), complete enough for every field of the SDL; totals add up."""
    created = iso(created_at or updated_at)
    lines = list(lines) if lines is not None else [line_item(n * 100, f"SKU-{n}", currency=currency)]
    subtotal = sum((_amount(item["originalTotalSet"]) for item in lines), Decimal(0))
    refunded = sum((_amount(r["totalRefundedSet"]) for r in refunds), Decimal(0))
    if financial_status is None:
        financial_status = "PAID" if not refunds else "REFUNDED" if refunded >= subtotal else "PARTIALLY_REFUNDED"
    if fulfillment_orders is None:
        places = {f["location"]["id"]: f["location"] for f in fulfillments if f.get("location")}
        fulfillment_orders = [fulfillment_order(n, place, created, index=i + 1)
                              for i, place in enumerate(places.values())]
        fulfillment_orders = fulfillment_orders or [fulfillment_order(n, SHOP_LOCATION, created, status="OPEN")]
    person = {"id": gid("Customer", 8_000_000 + n), "firstName": "Pat", "lastName": f"Buyer{n}",
              "displayName": f"Pat Buyer{n}", "email": f"buyer{n}@example.com", "phone": None}
    address = {"id": gid("MailingAddress", 9_000_000 + n), "name": person["displayName"], "firstName": "Pat",
               "lastName": person["lastName"], "company": None, "address1": "1 Main St", "address2": None,
               "city": "Springfield", "province": "Oregon", "provinceCode": "OR", "zip": "97477",
               "country": "United States", "countryCodeV2": "US", "phone": None}
    return {"id": gid("Order", ORDER_ID_BASE + n), "name": f"#{1000 + n}",
            "email": person["email"] if customer else None, "phone": None, "createdAt": created,
            "updatedAt": iso(updated_at), "processedAt": created,
            "cancelledAt": cancelled_at and iso(cancelled_at), "cancelReason": "CUSTOMER" if cancelled_at else None,
            "closed": False, "closedAt": None, "test": False, "note": None, "tags": list(tags),
            "displayFinancialStatus": financial_status,
            "displayFulfillmentStatus": fulfillment_status or ("FULFILLED" if fulfillments else "UNFULFILLED"),
            "currencyCode": currency, "presentmentCurrencyCode": currency, "totalPriceSet": money(subtotal, currency),
            "subtotalPriceSet": money(subtotal, currency), "currentTotalPriceSet": money(subtotal - refunded, currency),
            "totalRefundedSet": money(refunded, currency), "totalShippingPriceSet": money(0, currency),
            "totalTaxSet": money(0, currency), "customer": person if customer else None,
            "shippingAddress": address, "billingAddress": address, "lineItems": {"nodes": lines},
            "refunds": list(refunds), "returns": {"nodes": list(returns)}, "fulfillments": list(fulfillments),
            "fulfillmentOrders": {"nodes": list(fulfillment_orders)}}
