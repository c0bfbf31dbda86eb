"""A loopback fake of the Amazon Selling Partner API and the LWA token endpoint, for tests.

It speaks the wire formats of the official OpenAPI models (ordersV0.json, financesV0.json,
reports_2021-06-30.json, fulfillmentInboundV0.json; research/amazon.md §1, §2) so that the real
`python-amazon-sp-api` client, or any HTTP client, can be pointed at it instead of Amazon:

    with SpApiServer(refresh_token="rt", client_id="id", client_secret="sec") as server:
        server.add_order({...}, items=[{...}])
        ...  # endpoint = server.endpoint, LWA token URL = server.token_url

Behaviour worth knowing, all taken from the models unless marked otherwise:

- `x-amzn-RateLimit-Limit` (the model's default rate) is sent on 2xx, 400 and 404 replies only;
  403, 429, 500 and 503 declare just `x-amzn-RequestId` in every model, so they carry no rate.
- NextTokens are opaque base64 strings with `+`, `/` and `=` in them, so clients must URL-encode.
- A report type with no registered text ends CANCELLED ("automatic cancellation if there is no
  data to return", reports model).
- listFinancialEvents windows over 180 days are rejected with 400 InvalidInput by default, as the
  brief for this server asks; the model text says "the response is empty" instead, which
  `long_finance_window="empty"` reproduces. Which one Amazon does today is unverified.
- Error texts quoted from public issue threads (not from the models): LWA `invalid_grant`, SP-API
  `Unauthorized` / "Access to requested resource is denied.", `QuotaExceeded`, and the finances
  NextToken expiry "Token is not valid, token duration is 25 minutes."
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopback import LoopbackServer, Reply

Json = dict[str, Any]

RATE_LIMITS: dict[str, str] = {
    "getOrders": "0.0167",
    "getOrderItems": "0.5",
    "listFinancialEvents": "0.5",
    "createReport": "0.0167",
    "getReport": "2",
    "getReportDocument": "0.0167",
    "getShipments": "2",
    "getShipmentItemsByShipmentId": "2",
}
"""Default rates per operation, from each model's "Usage Plan" table (rate column)."""

ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/auth/o2/token"), "token"),
    ("GET", re.compile(r"/orders/v0/orders"), "getOrders"),
    ("GET", re.compile(r"/orders/v0/orders/(?P<orderId>[^/]+)/orderItems"), "getOrderItems"),
    ("GET", re.compile(r"/finances/v0/financialEvents"), "listFinancialEvents"),
    ("POST", re.compile(r"/reports/2021-06-30/reports"), "createReport"),
    ("GET", re.compile(r"/reports/2021-06-30/reports/(?P<reportId>[^/]+)"), "getReport"),
    ("GET", re.compile(r"/reports/2021-06-30/documents/(?P<reportDocumentId>[^/]+)"), "getReportDocument"),
    ("GET", re.compile(r"/fba/inbound/v0/shipments"), "getShipments"),
    ("GET", re.compile(r"/fba/inbound/v0/shipments/(?P<shipmentId>[^/]+)/items"), "getShipmentItemsByShipmentId"),
    ("GET", re.compile(r"/download/(?P<key>[^/]+)"), "download"),
]

FINANCIAL_EVENT_LISTS: tuple[str, ...] = (
    "ShipmentEventList", "ShipmentSettleEventList", "RefundEventList", "GuaranteeClaimEventList",
    "EBTRefundReimbursementOnlyEventList", "ChargebackEventList", "PayWithAmazonEventList",
    "ServiceProviderCreditEventList", "RetrochargeEventList", "RentalTransactionEventList",
    "ProductAdsPaymentEventList", "ServiceFeeEventList", "SellerDealPaymentEventList",
    "DebtRecoveryEventList", "LoanServicingEventList", "AdjustmentEventList",
    "SAFETReimbursementEventList", "SellerReviewEnrollmentPaymentEventList", "FBALiquidationEventList",
    "CouponPaymentEventList", "ImagingServicesFeeEventList", "NetworkComminglingTransactionEventList",
    "AffordabilityExpenseEventList", "AffordabilityExpenseReversalEventList", "RemovalShipmentEventList",
    "RemovalShipmentAdjustmentEventList", "TrialShipmentEventList", "TDSReimbursementEventList",
    "AdhocDisbursementEventList", "TaxWithholdingEventList", "ChargeRefundEventList",
    "FailedAdhocDisbursementEventList", "ValueAddedServiceChargeEventList",
    "CapacityReservationBillingEventList",
)
"""Every list of the model's `FinancialEvents`; replies carry all of them, empty or not."""

FAULT_ERRORS: dict[str, tuple[int, str, str]] = {
    "429": (429, "QuotaExceeded", "You exceeded your quota for the requested resource."),
    "500": (500, "InternalFailure", "We encountered an internal error. Please try again."),
    "503": (503, "ServiceUnavailable", "Service temporarily unavailable. Please try again."),
    "403": (403, "Unauthorized", "Access to requested resource is denied."),
}
"""Faults that replace the reply outright; the 403 is also what a missing or stale token gets."""
FAULTS = frozenset({*FAULT_ERRORS, "truncated", "expired_next_token"})
DOWNLOAD_FAULTS = frozenset({"500", "403", "truncated"})
QUERY_TYPES = frozenset({"SHIPMENT", "DATE_RANGE", "NEXT_TOKEN"})
REPORT_OUTCOMES = frozenset({"DONE", "CANCELLED", "FATAL"})
TWO_MINUTES = timedelta(minutes=2)
FINANCE_WINDOW = timedelta(days=180)
NEXT_TOKEN_EXPIRED = {
    "listFinancialEvents": "Token is not valid, token duration is 25 minutes.",
}
NEXT_TOKEN_UNREADABLE = (
    "We could not decode your NextToken. Possible reasons include: a transmission error, "
    "improper quoting or a truncation problem."
)


class ApiError(Exception):
    """An SP-API error reply: raised anywhere in a handler, rendered as `{"errors": [...]}`."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


@dataclass
class Call:
    """One decoded request: what a handler needs, nothing about sockets."""

    operation: str
    args: dict[str, str]
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]


@dataclass
class Cursor:
    """A result set frozen at the first page, so later pages are stable while data changes."""

    operation: str
    items: list[Any]
    size: int
    extra: Json


@dataclass
class Report:
    report: Json
    polls_needed: int
    outcome: str
    document: bytes | None
    polls_seen: int = 0


def utc(value: str, name: str = "date") -> datetime:
    """ISO 8601 to an aware UTC datetime; naive input counts as UTC (the library sends naive isoformat)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ApiError(400, "InvalidInput", f"Invalid {name}: {value!r}") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv(value: str | None) -> list[str]:
    """Array query parameters arrive comma-separated or repeated; both are flattened here."""
    return [part for part in (value or "").split(",") if part]


def flat_query(raw: str) -> dict[str, str]:
    return {key: ",".join(values) for key, values in parse_qs(raw, keep_blank_values=True).items()}


def json_reply(status: int, doc: Any, rate: str | None = None) -> Reply:
    headers = {"x-amzn-RateLimit-Limit": rate} if rate else {}
    return Reply(status, json.dumps(doc).encode(), headers=headers)


def error_doc(code: str, message: str, details: str = "") -> Json:
    return {"errors": [{"code": code, "message": message, "details": details}]}


def error_reply(error: ApiError, rate: str | None) -> Reply:
    carries_rate = error.status in (400, 404)
    return json_reply(error.status, error_doc(error.code, error.message, error.details), rate if carries_rate else None)


def fault_error(fault: str) -> ApiError:
    status, code, message = FAULT_ERRORS[fault]
    return ApiError(status, code, message)


def s3_error(status: int, code: str, message: str) -> Reply:
    """Presigned report URLs are served by S3/CloudFront, whose errors are XML, not SP-API JSON."""
    body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Reply(status, body.encode(), "application/xml")


def truncate(reply: Reply) -> Reply:
    """Cut the body in half but keep a matching Content-Length, as a broken proxy would deliver it."""
    return Reply(reply.status, reply.body[: len(reply.body) // 2], reply.content_type, reply.headers)


def new_token() -> str:
    """NextTokens look like Amazon's: standard base64, so `+`, `/` and `=` test the client's URL quoting."""
    return base64.b64encode(secrets.token_bytes(48)).decode()


def in_window(moment: datetime, after: datetime | None, before: datetime | None, *, before_inclusive: bool = True) -> bool:
    if after and moment < after:
        return False
    if before and (moment > before if before_inclusive else moment >= before):
        return False
    return True


class SpApiServer(LoopbackServer):
    """In-memory SP-API + LWA on 127.0.0.1, on a free port, in a background thread.

    Data in: `add_order`, `add_financial_events`, `add_report`, `add_shipment`.
    Trouble in: `inject(operation, *faults)` and `expire_tokens()`.
    Evidence out: `requests` (every request as `(operation, params)`, faulted ones included) and
    `calls(operation)`. `params` is the flattened query string; for createReport it is the JSON body.
    """

    def __init__(
        self,
        refresh_token: str = "rt",
        client_id: str = "id",
        client_secret: str = "sec",
        *,
        page_size: int = 100,
        page_sizes: Mapping[str, int] | None = None,
        report_polls: int = 2,
        now: Callable[[], datetime] | None = None,
        long_finance_window: str = "reject",
        rates: Mapping[str, str] | None = None,
    ) -> None:
        if long_finance_window not in ("reject", "empty"):
            raise ValueError("long_finance_window is 'reject' or 'empty'")
        self.refresh_token, self.client_id, self.client_secret = refresh_token, client_id, client_secret
        self.page_size = page_size
        self.page_sizes = dict(page_sizes or {})
        self.report_polls = report_polls
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.long_finance_window = long_finance_window
        self.rates = {**RATE_LIMITS, **(rates or {})}  # what x-amzn-RateLimit-Limit says, per operation
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.RLock()
        self._tokens: set[str] = set()
        self._expired_tokens: set[str] = set()
        self._faults: dict[str, deque[str]] = {}
        self._orders: dict[str, tuple[Json, list[Json]]] = {}
        self._events: list[tuple[datetime, int, str, Json]] = []
        self._report_texts: dict[str, tuple[bytes, str]] = {}
        self._reports: dict[str, Report] = {}
        self._documents: dict[str, str] = {}
        self._downloads: dict[str, bytes] = {}
        self._shipments: dict[str, tuple[Json, list[Json], datetime]] = {}
        self._cursors: dict[str, tuple[Cursor, int]] = {}
        self._expired_cursors: set[str] = set()
        self._sequence = itertools.count(1)

    @property
    def token_url(self) -> str:
        return f"{self.endpoint}/auth/o2/token"

    def reply_headers(self, target: str) -> dict[str, str]:
        return {} if target.startswith(("/download/", "/auth/")) else {"x-amzn-RequestId": str(uuid.uuid4())}

    # data in

    def add_order(self, order: Json, items: Iterable[Json] = ()) -> None:
        """`order` is an Orders v0 `Order`; its PurchaseDate and LastUpdateDate drive the date filters."""
        for key in ("AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus"):
            if key not in order:
                raise ValueError(f"an Order requires {key} (ordersV0.json)")
        for key in ("PurchaseDate", "LastUpdateDate"):
            utc(order[key], key)
        with self._lock:
            self._orders[order["AmazonOrderId"]] = (dict(order), [dict(item) for item in items])

    def add_financial_events(self, kind: str, events: Iterable[Json], posted: str | None = None) -> None:
        """`kind` names a `FinancialEvents` list ("ShipmentEventList", or short: "ShipmentEvent", "Refund").

        Events are filtered on their PostedDate; pass `posted` for event types that have none
        (ServiceFeeEvent, DebtRecoveryEvent, LoanServicingEvent carry no PostedDate in the model).
        """
        name = kind if kind.endswith("EventList") else kind.removesuffix("Event") + "EventList"
        if name not in FINANCIAL_EVENT_LISTS:
            raise ValueError(f"{kind!r} is not a FinancialEvents list of financesV0.json")
        with self._lock:
            for event in events:
                when = event.get("PostedDate") or posted
                if not when:
                    raise ValueError(f"a {name} event needs PostedDate or posted=")
                self._events.append((utc(when), next(self._sequence), name, dict(event)))

    def add_report(self, report_type: str, text: str, encoding: str = "utf-8", outcome: str = "DONE") -> None:
        """Register the flat file (TSV text) that reports of `report_type` will contain.

        `outcome` FATAL or CANCELLED makes such reports end that way, without a document.
        """
        if outcome not in REPORT_OUTCOMES:
            raise ValueError(f"outcome is one of {sorted(REPORT_OUTCOMES)}")
        with self._lock:
            self._report_texts[report_type] = (text.encode(encoding), outcome)

    def add_shipment(self, shipment: Json, items: Iterable[Json] = (), last_updated: str | None = None) -> None:
        """`shipment` is an `InboundShipmentInfo`; the model has no update date, so `last_updated` carries it."""
        shipment_id = shipment["ShipmentId"]
        moment = utc(last_updated) if last_updated else self.now()
        rows = [{"ShipmentId": shipment_id, **item} for item in items]
        with self._lock:
            self._shipments[shipment_id] = (dict(shipment), rows, moment)

    # trouble in, evidence out

    def inject(self, operation: str, *faults: str) -> None:
        """Queue faults for `operation`; each request to it consumes one.

        "expired_next_token" waits for the first request that carries a NextToken, then makes that
        token permanently invalid (400 InvalidInput), as a token that timed out would be.
        """
        allowed = DOWNLOAD_FAULTS if operation == "download" else FAULTS
        if operation not in RATE_LIMITS and operation != "download":
            raise ValueError(f"unknown operation {operation!r}")
        unknown = set(faults) - allowed
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)} for {operation}")
        with self._lock:
            self._faults.setdefault(operation, deque()).extend(faults)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working, as after its 3600 s lifetime."""
        with self._lock:
            self._expired_tokens |= self._tokens
            self._tokens.clear()

    def calls(self, operation: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.requests if name == operation]

    @property
    def issued_tokens(self) -> int:
        with self._lock:
            return len(self._tokens) + len(self._expired_tokens)

    # dispatch

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Route one request; the HTTP layer only moves bytes, so this is the whole server."""
        parts = urlsplit(target)
        for verb, pattern, operation in ROUTES:
            match = pattern.fullmatch(parts.path)
            if match and verb == method:
                call = Call(operation, match.groupdict(), flat_query(parts.query), body, headers)
                with self._lock:
                    return self._serve(call)
        return json_reply(404, error_doc("NotFound", f"No route for {method} {parts.path}"))

    def _serve(self, call: Call) -> Reply:
        if call.operation == "token":
            return self._token(call)
        if call.operation == "download":
            self.requests.append(("download", {"key": call.args["key"]}))
            return self._download(call)
        self.requests.append((call.operation, self._logged_params(call)))
        rate = self.rates[call.operation]
        fault = self._next_fault(call)
        if fault in FAULT_ERRORS:
            return error_reply(fault_error(fault), rate)
        try:
            self._authorize(call)
            if fault == "expired_next_token":
                self._expire_cursor(call.query["NextToken"])
            reply = json_reply(202 if call.operation == "createReport" else 200, self._operation(call), rate)
        except ApiError as error:
            return error_reply(error, rate)
        return truncate(reply) if fault == "truncated" else reply

    def _logged_params(self, call: Call) -> dict[str, Any]:
        if call.operation == "createReport":
            try:
                return dict(json.loads(call.body or b"{}"))
            except (ValueError, TypeError):
                return {}
        return {**call.args, **call.query}

    def _next_fault(self, call: Call) -> str | None:
        queue = self._faults.get(call.operation)
        if not queue:
            return None
        if queue[0] == "expired_next_token" and "NextToken" not in call.query:
            return None
        return queue.popleft()

    def _authorize(self, call: Call) -> None:
        token = call.headers.get("x-amz-access-token")
        if token not in self._tokens:
            raise fault_error("403")

    def _operation(self, call: Call) -> Json:
        handlers: dict[str, Callable[[Call], Json]] = {
            "getOrders": self._get_orders,
            "getOrderItems": self._get_order_items,
            "listFinancialEvents": self._list_financial_events,
            "createReport": self._create_report,
            "getReport": self._get_report,
            "getReportDocument": self._get_report_document,
            "getShipments": self._get_shipments,
            "getShipmentItemsByShipmentId": self._get_shipment_items,
        }
        return handlers[call.operation](call)

    # LWA

    def _token(self, call: Call) -> Reply:
        form = flat_query(call.body.decode("utf-8", "replace"))
        self.requests.append(("token", {k: v for k, v in form.items() if k in ("grant_type", "client_id")}))
        if form.get("grant_type") != "refresh_token":
            return json_reply(400, {"error": "unsupported_grant_type",
                                    "error_description": "The authorization grant type is not supported"})
        if (form.get("refresh_token"), form.get("client_id"), form.get("client_secret")) != (
            self.refresh_token, self.client_id, self.client_secret,
        ):
            return json_reply(400, {"error": "invalid_grant",
                                    "error_description": "The request has an invalid grant parameter : refresh_token"})
        token = "Atza|" + secrets.token_urlsafe(32)
        self._tokens.add(token)
        return json_reply(200, {"access_token": token, "refresh_token": self.refresh_token,
                                "token_type": "bearer", "expires_in": 3600})

    # paging

    def _size(self, operation: str, query: Mapping[str, str]) -> int:
        raw = query.get("MaxResultsPerPage")
        if raw is None:
            return self.page_sizes.get(operation, self.page_size)
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ApiError(400, "InvalidInput", "MaxResultsPerPage must be between 1 and 100")
        return int(raw)

    def _resume(self, operation: str, token: str) -> tuple[Cursor, int]:
        if token in self._expired_cursors:
            raise ApiError(400, "InvalidInput", NEXT_TOKEN_EXPIRED.get(operation, "The NextToken has expired."))
        entry = self._cursors.get(token)
        if not entry or entry[0].operation != operation:
            raise ApiError(400, "InvalidInput", NEXT_TOKEN_UNREADABLE)
        return entry

    def _expire_cursor(self, token: str) -> None:
        """From now on the operation's own NextToken check answers 400 for this token."""
        self._cursors.pop(token, None)
        self._expired_cursors.add(token)

    def _page(self, cursor: Cursor, offset: int) -> tuple[list[Any], str | None]:
        chunk = cursor.items[offset: offset + cursor.size]
        if offset + cursor.size >= len(cursor.items):
            return chunk, None
        token = new_token()
        self._cursors[token] = (cursor, offset + cursor.size)
        return chunk, token

    def _paged(self, call: Call, first: Callable[[], Cursor]) -> tuple[Cursor, list[Any], str | None]:
        token = call.query.get("NextToken")
        cursor, offset = self._resume(call.operation, token) if token else (first(), 0)
        chunk, next_token = self._page(cursor, offset)
        return cursor, chunk, next_token

    # Orders v0

    def _get_orders(self, call: Call) -> Json:
        cursor, chunk, token = self._paged(call, lambda: self._select_orders(call.query))
        return {"payload": {"Orders": chunk, "NextToken": token, **cursor.extra}}

    def _select_orders(self, query: Mapping[str, str]) -> Cursor:
        if not csv(query.get("MarketplaceIds")):
            raise ApiError(400, "InvalidInput", "MarketplaceIds is required")
        created, updated = query.get("CreatedAfter"), query.get("LastUpdatedAfter")
        if bool(created) == bool(updated):
            raise ApiError(400, "InvalidInput", "Exactly one of CreatedAfter or LastUpdatedAfter is required")
        if created and ("LastUpdatedBefore" in query):
            raise ApiError(400, "InvalidInput", "LastUpdatedBefore cannot be used with CreatedAfter")
        field_name, prefix = ("PurchaseDate", "Created") if created else ("LastUpdateDate", "LastUpdated")
        after = utc(query[f"{prefix}After"], f"{prefix}After")
        before = self._before(query.get(f"{prefix}Before"), f"{prefix}Before")
        orders = [
            order for order, _ in self._orders.values()
            if in_window(utc(order[field_name]), after, before) and self._order_matches(order, query)
        ]
        orders.sort(key=lambda order: (utc(order[field_name]), order["AmazonOrderId"]))
        size = self._size("getOrders", query)
        return Cursor("getOrders", orders, size, {f"{prefix}Before": iso(before)})

    def _before(self, value: str | None, name: str) -> datetime:
        """`*Before` must be at least two minutes before now (ordersV0.json); absent means now - 2 min."""
        latest = self.now() - TWO_MINUTES
        if value is None:
            return latest
        moment = utc(value, name)
        if moment > latest:
            raise ApiError(400, "InvalidInput", f"{name} must be at least two minutes before the current time")
        return moment

    @staticmethod
    def _order_matches(order: Json, query: Mapping[str, str]) -> bool:
        filters = {
            "MarketplaceIds": "MarketplaceId",
            "OrderStatuses": "OrderStatus",
            "FulfillmentChannels": "FulfillmentChannel",
            "AmazonOrderIds": "AmazonOrderId",
        }
        for param, key in filters.items():
            wanted = csv(query.get(param))
            if wanted and order.get(key) not in wanted:
                return False
        return True

    def _get_order_items(self, call: Call) -> Json:
        order_id = call.args["orderId"]
        if order_id not in self._orders:
            raise ApiError(404, "NotFound", f"Order {order_id} not found")

        def first() -> Cursor:
            items = self._orders[order_id][1]
            return Cursor("getOrderItems", list(items), self._size("getOrderItems", {}), {"AmazonOrderId": order_id})

        cursor, chunk, token = self._paged(call, first)
        if cursor.extra["AmazonOrderId"] != order_id:
            raise ApiError(400, "InvalidInput", NEXT_TOKEN_UNREADABLE)
        return {"payload": {"OrderItems": chunk, "NextToken": token, "AmazonOrderId": order_id}}

    # Finances v0

    def _list_financial_events(self, call: Call) -> Json:
        _, chunk, token = self._paged(call, lambda: self._select_events(call.query))
        lists: dict[str, list[Json]] = {name: [] for name in FINANCIAL_EVENT_LISTS}
        for name, event in chunk:
            lists[name].append(event)
        return {"payload": {"FinancialEvents": lists, "NextToken": token}}

    def _select_events(self, query: Mapping[str, str]) -> Cursor:
        after_raw, before_raw = query.get("PostedAfter"), query.get("PostedBefore")
        if before_raw and not after_raw:
            raise ApiError(400, "InvalidInput", "PostedAfter is required when PostedBefore is specified")
        before = self._before(before_raw, "PostedBefore")
        after = utc(after_raw, "PostedAfter") if after_raw else None
        if after and after >= before:
            raise ApiError(400, "InvalidInput", "PostedBefore must be later than PostedAfter")
        size = self._size("listFinancialEvents", query)
        if after and before - after > FINANCE_WINDOW:
            if self.long_finance_window == "reject":
                raise ApiError(400, "InvalidInput", "Date range between PostedAfter and PostedBefore cannot exceed 180 days")
            return Cursor("listFinancialEvents", [], size, {})
        picked = sorted(entry for entry in self._events if in_window(entry[0], after, before, before_inclusive=False))
        return Cursor("listFinancialEvents", [(name, event) for _, _, name, event in picked], size, {})

    # Reports 2021-06-30

    def _create_report(self, call: Call) -> Json:
        try:
            spec = json.loads(call.body or b"{}")
        except ValueError:
            raise ApiError(400, "InvalidInput", "Request body is not valid JSON") from None
        if not isinstance(spec, dict) or not spec.get("reportType") or not spec.get("marketplaceIds"):
            raise ApiError(400, "InvalidInput", "reportType and marketplaceIds are required")
        report_id = str(50_000_000_000 + next(self._sequence))
        report = {"reportId": report_id, "reportType": spec["reportType"], "marketplaceIds": spec["marketplaceIds"],
                  "createdTime": iso(self.now()), "processingStatus": "IN_QUEUE"}
        for key in ("dataStartTime", "dataEndTime"):
            if spec.get(key):
                report[key] = iso(utc(spec[key], key))
        text, outcome = self._report_texts.get(spec["reportType"], (None, "CANCELLED"))
        self._reports[report_id] = Report(report, self.report_polls, outcome, text)
        return {"reportId": report_id}

    def _get_report(self, call: Call) -> Json:
        entry = self._reports.get(call.args["reportId"])
        if not entry:
            raise ApiError(400, "InvalidInput", "Invalid input", "Invalid input")
        self._advance(entry)
        return dict(entry.report)

    def _advance(self, entry: Report) -> None:
        """With `report_polls` n, polls 1..n see IN_QUEUE then IN_PROGRESS; poll n + 1 sees the outcome."""
        report = entry.report
        if report["processingStatus"] in REPORT_OUTCOMES:
            return
        entry.polls_seen += 1
        if entry.polls_seen > entry.polls_needed:
            self._finish(entry)
        elif entry.polls_seen > 1:
            report["processingStatus"] = "IN_PROGRESS"
            report.setdefault("processingStartTime", iso(self.now()))

    def _finish(self, entry: Report) -> None:
        report = entry.report
        report.setdefault("processingStartTime", iso(self.now()))
        report["processingEndTime"] = iso(self.now())
        report["processingStatus"] = entry.outcome
        if entry.outcome == "DONE" and entry.document is not None:
            document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid4()}"
            key = secrets.token_urlsafe(24)
            self._documents[document_id] = key
            self._downloads[key] = gzip.compress(entry.document)
            report["reportDocumentId"] = document_id

    def _get_report_document(self, call: Call) -> Json:
        document_id = call.args["reportDocumentId"]
        key = self._documents.get(document_id)
        if not key:
            raise ApiError(400, "InvalidInput", "Invalid input", "Invalid input")
        return {"reportDocumentId": document_id, "url": f"{self.endpoint}/download/{key}", "compressionAlgorithm": "GZIP"}

    def _download(self, call: Call) -> Reply:
        """A plain GET with no SP-API auth, like a presigned S3 URL; the body is the gzip bytes."""
        data = self._downloads.get(call.args["key"])
        queue = self._faults.get("download")
        fault = queue.popleft() if queue else None
        if fault == "403" or data is None:
            return s3_error(403, "AccessDenied", "Request has expired")
        if fault == "500":
            return s3_error(500, "InternalError", "We encountered an internal error. Please try again.")
        reply = Reply(200, data, "application/octet-stream")
        return truncate(reply) if fault == "truncated" else reply

    # FBA Inbound v0

    def _get_shipments(self, call: Call) -> Json:
        query_type = self._query_type(call.query)
        _, chunk, token = self._paged(call, lambda: self._select_shipments(query_type, call.query))
        return {"payload": {"ShipmentData": chunk, "NextToken": token}}

    @staticmethod
    def _query_type(query: Mapping[str, str]) -> str:
        query_type = query.get("QueryType", "")
        if query_type not in QUERY_TYPES:
            raise ApiError(400, "InvalidInput", "QueryType must be SHIPMENT, DATE_RANGE or NEXT_TOKEN")
        if not query.get("MarketplaceId"):
            raise ApiError(400, "InvalidInput", "MarketplaceId is required")
        if (query_type == "NEXT_TOKEN") != ("NextToken" in query):
            raise ApiError(400, "InvalidInput", "NextToken goes with QueryType=NEXT_TOKEN and only with it")
        return query_type

    def _select_shipments(self, query_type: str, query: Mapping[str, str]) -> Cursor:
        statuses, ids = csv(query.get("ShipmentStatusList")), csv(query.get("ShipmentIdList"))
        after = before = None
        if query_type == "SHIPMENT" and not (statuses or ids):
            raise ApiError(400, "InvalidInput", "QueryType=SHIPMENT needs ShipmentStatusList or ShipmentIdList")
        if query_type == "DATE_RANGE":
            if not (query.get("LastUpdatedAfter") and query.get("LastUpdatedBefore")):
                raise ApiError(400, "InvalidInput", "QueryType=DATE_RANGE needs LastUpdatedAfter and LastUpdatedBefore")
            after, before = utc(query["LastUpdatedAfter"]), utc(query["LastUpdatedBefore"])
        picked = [
            shipment for shipment, _, moment in self._shipments.values()
            if (not statuses or shipment.get("ShipmentStatus") in statuses)
            and (not ids or shipment["ShipmentId"] in ids)
            and in_window(moment, after, before)
        ]
        return Cursor("getShipments", picked, self._size("getShipments", {}), {})

    def _get_shipment_items(self, call: Call) -> Json:
        entry = self._shipments.get(call.args["shipmentId"])
        if not entry:
            raise ApiError(404, "NotFound", f"Shipment {call.args['shipmentId']} not found")
        return {"payload": {"ItemData": list(entry[1]), "NextToken": None}}
