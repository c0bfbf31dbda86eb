"""A loopback fake of the TikTok Shop Partner API (202309 endpoints) and its auth host, for tests.

It verifies what TikTok verifies (app_key, timestamp window, HMAC signature, access token,
shop_cipher) and answers in TikTok's envelope, so a plain-httpx connector can be tested against
the real wire format:

    with TikTokServer(app_key="k", app_secret="s") as server:
        server.add_order(order(1, update_time=1_790_000_000))
        ...  # API base = server.endpoint, auth base = server.auth_url, token = server.access_token

Sources (P = partner.tiktokshop.com/docv2/page; "copy" = a public copy of that page, read in the
code index; "3rd" = third-party code or posts, weaker):
- Signing: P/sign-your-api-request (copy): query params except `sign` and `access_token`, sorted
  by key, concatenated `{key}{value}`, prefixed with the path, request body appended unless the
  content type is multipart/form-data, wrapped as secret+string+secret, HMAC-SHA256 keyed with
  the app secret, lowercase hex. Official vector: secret e59af819cc, /authorization/202309/shops,
  app_key 29a39d, timestamp 1623812664 -> b596b73e...582dc8. The official Go/Java samples sign
  the raw body bytes, which is what this server does (the Node sample re-serialises instead).
- Errors: P/common-errors (copy): 106001 bad sign; 105002 expired token; 36009004 for missing
  sign, bad app_key, bad token header, timestamps outside [now - 5 min, now + 30 s], unexpected
  shop_cipher; 106013 missing shop_cipher; 101000 token/shop mismatch; 36009002 + HTTP 429 rate
  limit ("respect Retry-After if present"); 36009003 internal error; 36009009 bad path;
  36009010 bad method; 36009014 bad version; 36009022 body not application/json.
  HTTP 401 with 106001 was seen live (tiktok-api.gemyno-lab.fr/scripts/get_shops.php); HTTP 400
  with 36009004 for a bad app_key, checked before the signature, was seen live (3rd, a research
  note in the code index). Every other HTTP status below is a guess; clients must branch on `code`.
- Envelope {"code", "message", "request_id", "data"} and "Success": endpoint samples (copy, e.g.
  P/6507ead7b99d5302be949ba9 Get Authorized Shops); errors carry "data": null (seen live).
- Auth host: GET https://auth.tiktok-shops.com/api/v2/token/refresh?app_key&app_secret&
  refresh_token&grant_type=refresh_token, unsigned (EcomPHP/tiktokshop-php src/Auth.php); POST
  is a 404 (3rd). Data: access_token, access_token_expire_in and refresh_token_expire_in as
  absolute Unix timestamps, access token default 7 days, open_id, seller_name,
  seller_base_region, user_type, granted_scopes (P/authorization-overview-202407 and the
  "generate a test access token" page, copies). 36004001 "rt has expired" and 36004005 "can not
  find related auth record" come from EcomPHP/tiktokshop-php PR #15 (a user's report); 98001004
  "invalid params" for a wrong grant_type was seen live (3rd, a script comment).
- Shops, orders, returns, customer service fields: endpoint pages (copies) for Get Authorized
  Shops, Get Order List, Search Returns, Get Conversations, Get Conversation Messages, Send
  Message, Read Message; page-size limits are theirs (orders 1-100, returns 10-50,
  conversations <= 20, messages <= 10). Send Message has no idempotency key in its parameter
  table, so a lost reply can only be reconciled by listing messages.

Unverified, chosen by this server: the order of the checks; HTTP statuses other than the two
above; the code (36009004) for bad business parameters, bad or stale page tokens and unknown
conversations; the refresh-token policy (`refresh_rotation`); refresh-token lifetime (365 days);
whether old access tokens survive a refresh (they do here); conversation participants'
`user_id`, `can_send_message` and `unread_count` (seen in 3rd-party code only); the sender role
of API-sent messages (`sender_role`, default SHOP); ordering of the conversation list (newest
message first); next_page_token "" at the end for orders and returns (documented for customer
service only); GET requests need no content-type.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from loopback import LoopbackServer, Reply

Json = dict[str, Any]

VERSION = "202309"
UNSIGNED = frozenset({"sign", "access_token"})
TIMESTAMP_PAST, TIMESTAMP_FUTURE = 300, 30
ACCESS_TTL, REFRESH_TTL = 7 * 86_400, 365 * 86_400
PARAM_CODE = 36009004  # unverified for business parameters; see the module docstring

_CS = "/customer_service/202309/conversations"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/api/v2/token/refresh"), "RefreshToken"),
    ("GET", re.compile(r"/authorization/202309/shops"), "GetAuthorizedShops"),
    ("POST", re.compile(r"/order/202309/orders/search"), "GetOrderList"),
    ("POST", re.compile(r"/return_refund/202309/returns/search"), "SearchReturns"),
    ("GET", re.compile(_CS), "GetConversations"),
    ("GET", re.compile(_CS + r"/(?P<conversation_id>[^/]+)/messages"), "GetConversationMessages"),
    ("POST", re.compile(_CS + r"/(?P<conversation_id>[^/]+)/messages"), "SendMessage"),
    ("POST", re.compile(_CS + r"/(?P<conversation_id>[^/]+)/messages/read"), "ReadMessage"),
]
PAGE_LIMITS = {"GetOrderList": (1, 100, None), "SearchReturns": (10, 50, 10),
               "GetConversations": (1, 20, None), "GetConversationMessages": (1, 10, None)}
"""(min, max, default) page_size per paged operation; a None default means page_size is required."""

ORDER_STATUSES = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING", "AWAITING_COLLECTION",
                  "IN_TRANSIT", "DELIVERED", "COMPLETED", "CANCELLED")
RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT")
SEND_TYPES = ("TEXT", "IMAGE", "VIDEO", "PRODUCT_CARD", "ORDER_CARD", "RETURN_REFUND_CARD", "COUPON_CARD",
              "LOGISTICS_CARD")
FAULTS = frozenset({"429", "500", "truncated", "expired_token", "bad_page_token", "lost_reply", "lost_reply_drop"})
"""lost_reply: SendMessage stores the message, then answers 500; lost_reply_drop: stores it, then
closes the connection without any response."""

E_PATH = (404, 36009009, "Invalid path. The specified path does not match any available endpoint.")
E_METHOD = (405, 36009010, "Invalid method. The HTTP method used is not supported by this endpoint.")
E_APP_KEY = (400, 36009004, "Invalid credentials. Invalid `app_key` query parameter.")
E_NO_SIGN = (401, 36009004, "Missing credentials. The request does not include a required signature in the query.")
_TS = "Invalid timestamp. The value of the `timestamp` query parameter must not "
E_TS_NEGATIVE = (400, 36009004, _TS + "be lesser than 0.")
E_TS_OLD = (400, 36009004, _TS + "be earlier than 5 minutes before the current time.")
E_TS_FUTURE = (400, 36009004, _TS + "exceed the current time by more than 30 seconds.")
E_SIGN = (401, 106001, "Invalid credentials. The `sign` query parameter is invalid.")
E_TOKEN = (401, 36009004, "Invalid credentials. The `x-tts-access-token` header is invalid.")
E_EXPIRED = (401, 105002, "Expired credentials. The `access_token` or `x-tts-access-token` header has expired.")
E_NO_CIPHER = (400, 106013, "Missing identifier. The `shop_cipher` query parameter is required to identify "
               "the target shop.")
E_CIPHER_UNEXPECTED = (400, 36009004, "Unexpected identifier. The `shop_cipher` query parameter is not required "
                       "for this request.")
E_CIPHER = (400, 101000, "Invalid query or header. The `category_asset_cipher` query parameter or "
            "`x-tts-access-token` header is invalid.")
E_VERSION = (400, 36009014, "Invalid API version. The `version` value is invalid or unsupported.")
E_FORMAT = (400, 36009022, "Invalid request format. The request body format must be `application/json` for "
            "structured data or `multipart/form-data` for binary files.")
E_RATE = (429, 36009002, "Too many requests. You've made too many requests in a short period of time.")
E_INTERNAL = (500, 36009003, "Internal error. Please try again. If the issue persists after multiple attempts, "
              "please contact platform support.")
E_PAGE_TOKEN = (400, PARAM_CODE, "Invalid parameter. The `page_token` is invalid or expired.")
E_NO_CONVERSATION = (400, PARAM_CODE, "Invalid parameter. The conversation does not exist.")
E_CLOSED = (400, PARAM_CODE, "The conversation can no longer receive messages.")
A_PARAMS = (200, 98001004, "invalid params")
A_RT_UNKNOWN = (200, 36004005, "can not find related auth record")
A_RT_EXPIRED = (200, 36004001, "rt has expired")


def sign(app_secret: str, path: str, query: Mapping[str, Any] | Iterable[tuple[str, Any]],
         body: bytes | str = b"", *, content_type: str = "application/json") -> str:
    """The documented TikTok Shop request signature, as lowercase hex.

    `query` holds the decoded query values exactly as sent (the first wins for a repeated key);
    `sign` and `access_token` are ignored. `body` is the raw request body; it is left out when
    `content_type` is multipart/form-data.
    """
    pairs: dict[str, Any] = {}
    for key, value in (query.items() if isinstance(query, Mapping) else query):
        pairs.setdefault(key, value)
    text = path + "".join(f"{key}{pairs[key]}" for key in sorted(pairs) if key not in UNSIGNED)
    raw = body.encode() if isinstance(body, str) else body
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        raw = b""
    secret = app_secret.encode()
    return hmac.new(secret, secret + text.encode() + raw + secret, hashlib.sha256).hexdigest()


# -- helpers that build data in TikTok's own terms ------------------------------------------------

SHOP_IM_ID = "7494560109732334261"


def shop(n: int = 1, *, name: str = "Loopback Shop", region: str = "US", seller_type: str = "LOCAL") -> Json:
    """One element of Get Authorized Shops `data.shops`; ciphers look like GCP_XF90igAAAABh00qs..."""
    tail = base64.urlsafe_b64encode(hashlib.sha256(f"shop{n}".encode()).digest()[:24]).decode()
    return {"id": str(7_000_714_532_876_273_420 + n), "name": name if n == 1 else f"{name} {n}", "region": region,
            "seller_type": seller_type, "cipher": f"GCP_{tail}", "code": f"US{n:03d}LOOPBK"}


def order(n: int, update_time: int, *, create_time: int | None = None, status: str = "AWAITING_SHIPMENT",
          currency: str = "USD", price: str = "19.99", quantity: int = 1, user_id: str | None = None,
          buyer_message: str = "", buyer_name: str = "David Kong", seller_sku: str | None = None,
          product_name: str = "Cotton ankle socks") -> Json:
    """An order as Get Order List returns it: ids are strings, times Unix seconds, money strings."""
    if status not in ORDER_STATUSES:
        raise ValueError(f"unknown order status {status!r}")
    created = update_time - 3600 if create_time is None else create_time
    order_id = str(576_461_413_038_700_000 + n)
    shipped = status in ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")
    tracking = f"JX{n:08d}" if shipped else ""
    package_id = str(1_153_132_168_123_800_000 + n)
    sku = seller_sku or f"SOCK-{n % 7:02d}"
    unit = Decimal(price)
    items = [{"id": str(577_086_512_123_700_000 + n * 10 + i), "sku_id": str(2_729_382_476_852_900_000 + n % 7),
              "product_id": str(1_729_582_718_312_300_000 + n % 7), "seller_sku": sku,
              "product_name": product_name, "sku_name": "Black, M", "sale_price": f"{unit:.2f}",
              "original_price": f"{unit:.2f}", "platform_discount": "0", "seller_discount": "0",
              "currency": currency, "package_id": package_id, "package_status": "TO_FULFILL",
              "tracking_number": tracking, "shipping_provider_name": "TT Virtual express" if shipped else "",
              "display_status": status, "is_gift": False} for i in range(quantity)]
    total = f"{unit * quantity:.2f}"
    first, _, last = buyer_name.partition(" ")
    result: Json = {
        "id": order_id, "status": status, "create_time": created, "update_time": update_time,
        "paid_time": created + 2, "buyer_email": f"v2b{n:04x}@chat.seller.tiktok.com", "buyer_message": buyer_message,
        "user_id": user_id or str(7_021_436_810_468_230_000 + n), "commerce_platform": "TIKTOK_SHOP",
        "payment_method_name": "CCDC", "is_cod": False, "shipping_type": "TIKTOK", "delivery_type": "HOME_DELIVERY",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "payment": {"currency": currency, "sub_total": total, "shipping_fee": "0", "seller_discount": "0",
                    "platform_discount": "0", "tax": "0", "original_shipping_fee": "0",
                    "original_total_product_price": total, "total_amount": total},
        "recipient_address": {"name": buyer_name, "first_name": first, "last_name": last,
                              "phone_number": "(+1)213-***-1234", "full_address": "1199 Coleman Ave San Jose, CA 95110",
                              "address_detail": "Unit one building 8", "address_line1": "1199 Coleman Ave",
                              "postal_code": "95110", "region_code": "US", "district_info": []},
        "line_items": items, "packages": [{"id": package_id}], "tracking_number": tracking,
        "shipping_provider": "TT Virtual express" if shipped else "",
        "shipping_provider_id": "6617675021119438849" if shipped else "",
    }
    if status in ("DELIVERED", "COMPLETED"):
        result["delivery_time"] = update_time
    return result


def return_order(n: int, order_id: str, update_time: int, *, create_time: int | None = None,
                 return_type: str = "REFUND", return_status: str = "RETURN_OR_REFUND_REQUEST_PENDING",
                 currency: str = "USD", amount: str = "19.99", reason: str = "Item doesn't match description",
                 seller_sku: str = "SOCK-01", product_name: str = "Cotton ankle socks") -> Json:
    """A return as Search Returns returns it (`data.return_orders[]`)."""
    if return_type not in RETURN_TYPES:
        raise ValueError(f"unknown return type {return_type!r}")
    refund = {"currency": currency, "refund_total": amount, "refund_subtotal": amount,
              "refund_shipping_fee": "0", "refund_tax": "0"}
    return {"return_id": str(4_035_318_922_160_000_000 + n), "order_id": order_id, "return_type": return_type,
            "return_status": return_status, "create_time": update_time - 600 if create_time is None else create_time,
            "update_time": update_time, "return_reason_text": reason, "refund_amount": dict(refund),
            "return_line_items": [{"return_line_item_id": str(4_035_318_922_170_000_000 + n),
                                   "order_line_item_id": str(577_086_512_123_700_000 + n * 10),
                                   "sku_id": "2729382476852921560", "seller_sku": seller_sku,
                                   "product_name": product_name, "sku_name": "Black, M",
                                   "refund_amount": dict(refund)}]}


def conversation(n: int, *, create_time: int, buyer_nickname: str = "buyer_fan",
                 buyer_user_id: str | None = None, shop_name: str = "Loopback Shop",
                 can_send_message: bool = True) -> Json:
    """A Get Conversations element without `latest_message`/`unread_count` (the server derives them)."""
    buyer = {"role": "BUYER", "nickname": buyer_nickname,
             "user_id": buyer_user_id or str(7_021_436_810_468_230_000 + n),
             "im_user_id": str(7_494_560_109_732_000_000 + n),
             "avatar": f"https://p16.example.invalid/avatar/{n}.image"}
    seller = {"role": "SHOP", "nickname": shop_name, "user_id": "", "im_user_id": SHOP_IM_ID,
              "avatar": "https://p16.example.invalid/avatar/shop.image"}
    return {"id": str(7_494_560_109_732_100_000 + n), "participants": [buyer, seller], "create_time": create_time,
            "can_send_message": can_send_message}


def buyer_message(text: str, create_time: int, *, type: str = "TEXT", content: Json | None = None,
                  sender: Json | None = None, is_visible: bool = True) -> Json:
    """A message from the buyer; `content` is TikTok's JSON *string*. Without `sender` the server uses
    the conversation's BUYER participant; `id` and `index` are assigned when the message is added."""
    message: Json = {"type": type, "content": json.dumps(content if content is not None else {"content": text}),
                     "create_time": create_time, "is_visible": is_visible}
    if sender is not None:
        message["sender"] = sender
    return message


# -- the server -----------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, error: tuple[int, int, str]) -> None:
        super().__init__(f"{error[1]}: {error[2]}")
        self.status, self.code, self.message = error


@dataclass
class Call:
    operation: str
    args: dict[str, str]
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]
    path: str
    method: str
    shop: str = ""


@dataclass
class Conversation:
    base: Json
    messages: list[Json] = field(default_factory=list)
    unread: int = 0


@dataclass
class Cursor:
    operation: str
    scope: str
    items: list[Json]


class TikTokServer(LoopbackServer):
    """In-memory TikTok Shop Partner API + auth host on 127.0.0.1, on a free port, in a thread.

    Data in: add_order, add_return, add_conversation, add_message. Trouble in: inject(operation,
    *faults), expire_access_token(), the `now` clock. Evidence out: requests, calls(operation),
    sent_messages(conversation_id), messages(conversation_id). Operation names are TikTok's
    (RefreshToken, GetAuthorizedShops, GetOrderList, SearchReturns, GetConversations,
    GetConversationMessages, SendMessage, ReadMessage).
    """

    def __init__(self, app_key: str = "loopback_app_key", app_secret: str = "loopback_app_secret", *,
                 access_token: str | None = None, refresh_token: str | None = None,
                 shops: Iterable[Json] | None = None, now: Callable[[], datetime] | None = None,
                 refresh_rotation: str = "rotate", require_shop_cipher: bool = True,
                 sender_role: str = "SHOP", retry_after: int | None = None) -> None:
        if refresh_rotation not in ("rotate", "rotate_keep_old", "same"):
            raise ValueError("refresh_rotation is 'rotate', 'rotate_keep_old' or 'same'")
        self.app_key, self.app_secret = app_key, app_secret
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.refresh_rotation, self.require_shop_cipher = refresh_rotation, require_shop_cipher
        self.sender_role, self.retry_after = sender_role, retry_after
        self.requests: list[tuple[str, Json]] = []
        self._lock = threading.RLock()
        self._faults: dict[str, deque[str]] = {}
        self._shops = {s["cipher"]: dict(s) for s in (shops or [shop(1)])}
        self._orders: dict[str, dict[str, Json]] = {cipher: {} for cipher in self._shops}
        self._returns: dict[str, dict[str, Json]] = {cipher: {} for cipher in self._shops}
        self._conversations: dict[str, dict[str, Conversation]] = {cipher: {} for cipher in self._shops}
        self._sent: dict[str, list[Json]] = {}
        self._access: dict[str, int] = {}
        self._expired: set[str] = set()
        self._refresh: dict[str, int] = {}
        self._cursors: dict[str, tuple[Cursor, int]] = {}
        self._seq = itertools.count(1)
        self.access_token = self._issue(self._access, ACCESS_TTL, access_token)
        self.refresh_token = self._issue(self._refresh, REFRESH_TTL, refresh_token)

    @property
    def auth_url(self) -> str:
        """Stands in for https://auth.tiktok-shops.com (the same loopback server)."""
        return self.endpoint

    @property
    def refresh_url(self) -> str:
        return self.auth_url + "/api/v2/token/refresh"

    @property
    def shop_cipher(self) -> str:
        return next(iter(self._shops))

    # data in

    def add_order(self, item: Json, shop: str | None = None) -> None:
        with self._lock:
            self._orders[self._shop(shop)][item["id"]] = copy.deepcopy(item)

    def add_return(self, item: Json, shop: str | None = None) -> None:
        with self._lock:
            self._returns[self._shop(shop)][item["return_id"]] = copy.deepcopy(item)

    def add_conversation(self, item: Json, messages: Iterable[Json] = (), shop: str | None = None) -> None:
        with self._lock:
            self._conversations[self._shop(shop)][item["id"]] = Conversation(copy.deepcopy(item))
            for message in messages:
                self.add_message(item["id"], message)

    def add_message(self, conversation_id: str, message: Json) -> Json:
        """New mail: the message joins the conversation; a BUYER message counts as unread."""
        with self._lock:
            entry = self._find(conversation_id)
            stamped = self._stamp(message, entry)
            entry.messages.append(stamped)
            if stamped["sender"]["role"] == "BUYER":
                entry.unread += 1
            return copy.deepcopy(stamped)

    # trouble in, evidence out

    def inject(self, operation: str, *faults: str) -> None:
        """Queue faults; each later call of `operation` takes the next one (bad_page_token waits
        for a call that carries a page_token)."""
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}")
            if fault.startswith("lost_reply") and operation != "SendMessage":
                raise ValueError("lost_reply faults apply to SendMessage only")
            if fault == "bad_page_token" and operation not in PAGE_LIMITS:
                raise ValueError(f"{operation} is not paged")
            if operation == "RefreshToken" and fault not in ("429", "500", "truncated"):
                raise ValueError("RefreshToken takes 429, 500 and truncated only")
        with self._lock:
            self._faults.setdefault(operation, deque()).extend(faults)

    def expire_access_token(self) -> None:
        """Every access token issued so far now gets 105002, as after its seven days."""
        with self._lock:
            self._expired |= set(self._access)
            self._access.clear()

    def calls(self, operation: str) -> list[Json]:
        with self._lock:
            return [copy.deepcopy(entry) for name, entry in self.requests if name == operation]

    def sent_messages(self, conversation_id: str) -> list[Json]:
        """Every message SendMessage stored, including those whose reply was lost."""
        with self._lock:
            return copy.deepcopy(self._sent.get(conversation_id, []))

    def messages(self, conversation_id: str) -> list[Json]:
        with self._lock:
            return copy.deepcopy(self._find(conversation_id).messages)

    # dispatch

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply | None:
        """Route one request; None means: close the connection without answering."""
        parts = urlsplit(target)
        path = unquote(parts.path)
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        matched = [(verb, op, m) for verb, pattern, op in ROUTES if (m := pattern.fullmatch(path))]
        with self._lock:
            chosen = next(((op, m) for verb, op, m in matched if verb == method), None)
            if chosen is None:
                self.requests.append(("unrouted", {"method": method, "path": path}))
                # a POST to the auth host's refresh route was seen answering 404 (3rd)
                api = [op for _, op, _ in matched if op != "RefreshToken"]
                return self._error(E_METHOD if api else E_PATH)
            call = Call(chosen[0], chosen[1].groupdict(), query, body, headers, path, method)
            self.requests.append((call.operation, self._logged(call)))
            return self._serve(call)

    def _serve(self, call: Call) -> Reply | None:
        queue = self._faults.get(call.operation)
        fault = None
        if queue and not (queue[0] == "bad_page_token" and not call.query.get("page_token")):
            fault = queue.popleft()
        try:
            if fault in ("429", "500"):
                raise ApiError(E_RATE if fault == "429" else E_INTERNAL)
            if call.operation == "RefreshToken":
                reply = self._auth_reply(self._refresh_tokens(call.query))
            else:
                if fault == "expired_token":
                    raise ApiError(E_EXPIRED)
                self._gate(call)
                if fault == "bad_page_token":
                    self._cursors.pop(call.query["page_token"], None)
                data = self._operation(call)
                if fault == "lost_reply":
                    raise ApiError(E_INTERNAL)
                if fault == "lost_reply_drop":
                    return None
                reply = Reply(200, self._envelope(0, "Success", data))
        except ApiError as error:
            return self._error((error.status, error.code, error.message))
        if fault == "truncated":
            return Reply(reply.status, reply.body[: len(reply.body) // 2], headers=reply.headers)
        return reply

    def _operation(self, call: Call) -> Json:
        handlers: dict[str, Callable[[Call], Json]] = {
            "GetAuthorizedShops": lambda c: {"shops": [dict(s) for s in self._shops.values()]},
            "GetOrderList": self._orders_search,
            "SearchReturns": self._returns_search,
            "GetConversations": self._conversation_list,
            "GetConversationMessages": self._message_list,
            "SendMessage": self._send,
            "ReadMessage": self._read,
        }
        return handlers[call.operation](call)

    @staticmethod
    def _logged(call: Call) -> Json:
        try:
            body = json.loads(call.body) if call.body else None
        except ValueError:
            body = call.body.decode("utf-8", "replace")
        query = {k: v for k, v in call.query.items() if k not in ("sign", "app_secret")}
        return {**call.args, "query": query, "body": body}

    # envelope

    def _request_id(self) -> str:
        return self.now().astimezone(timezone.utc).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()

    def _envelope(self, code: int, message: str, data: Any) -> bytes:
        return json.dumps({"code": code, "message": message, "request_id": self._request_id(), "data": data}).encode()

    def _error(self, error: tuple[int, int, str]) -> Reply:
        status, code, message = error
        headers = {"Retry-After": str(self.retry_after)} if status == 429 and self.retry_after is not None else {}
        return Reply(status, self._envelope(code, message, None), headers=headers)

    def _auth_reply(self, data: Json) -> Reply:
        """The auth host answers "success" in lower case (authorization overview sample)."""
        return Reply(200, self._envelope(0, "success", data))

    # gateway checks, in this server's order

    def _clock(self) -> int:
        return int(self.now().timestamp())

    def _gate(self, call: Call) -> None:
        query = call.query
        if query.get("app_key") != self.app_key:
            raise ApiError(E_APP_KEY)
        if not query.get("sign"):
            raise ApiError(E_NO_SIGN)
        stamp = query.get("timestamp", "")
        if not re.fullmatch(r"-?\d+", stamp) or int(stamp) < 0:
            raise ApiError(E_TS_NEGATIVE)
        if int(stamp) < self._clock() - TIMESTAMP_PAST:
            raise ApiError(E_TS_OLD)
        if int(stamp) > self._clock() + TIMESTAMP_FUTURE:
            raise ApiError(E_TS_FUTURE)
        if "version" in query and query["version"] != VERSION:
            raise ApiError(E_VERSION)
        content_type = call.headers.get("content-type", "")
        if call.method == "POST" and content_type.split(";")[0].strip().lower() not in ("application/json",
                                                                                         "multipart/form-data"):
            raise ApiError(E_FORMAT)
        expected = sign(self.app_secret, call.path, query, call.body, content_type=content_type or "application/json")
        if not hmac.compare_digest(expected, query["sign"]):
            raise ApiError(E_SIGN)
        token = call.headers.get("x-tts-access-token", "")
        if token in self._expired or (token in self._access and self._clock() >= self._access[token]):
            raise ApiError(E_EXPIRED)
        if token not in self._access:
            raise ApiError(E_TOKEN)
        cipher = query.get("shop_cipher")
        if call.operation == "GetAuthorizedShops":
            if cipher:
                raise ApiError(E_CIPHER_UNEXPECTED)
            return
        if not cipher:
            if self.require_shop_cipher:
                raise ApiError(E_NO_CIPHER)
            cipher = self.shop_cipher
        if cipher not in self._shops:
            raise ApiError(E_CIPHER)
        call.shop = cipher

    # auth host

    def _issue(self, store: dict[str, int], ttl: int, value: str | None = None) -> str:
        token = value or "TTP_" + secrets.token_urlsafe(30)
        store[token] = self._clock() + ttl
        return token

    def _refresh_tokens(self, query: Mapping[str, str]) -> Json:
        if query.get("grant_type") != "refresh_token" or not query.get("refresh_token"):
            raise ApiError(A_PARAMS)
        if (query.get("app_key"), query.get("app_secret")) != (self.app_key, self.app_secret):
            raise ApiError(E_APP_KEY)
        old = query["refresh_token"]
        if old not in self._refresh:
            raise ApiError(A_RT_UNKNOWN)
        if self._clock() >= self._refresh[old]:
            raise ApiError(A_RT_EXPIRED)
        self.access_token = self._issue(self._access, ACCESS_TTL)
        if self.refresh_rotation != "same":
            expiry = self._refresh[old]
            if self.refresh_rotation == "rotate":
                del self._refresh[old]
            self.refresh_token = "TTP_" + secrets.token_urlsafe(24)
            self._refresh[self.refresh_token] = expiry
        shop_one = next(iter(self._shops.values()))
        return {"access_token": self.access_token, "access_token_expire_in": self._access[self.access_token],
                "refresh_token": self.refresh_token, "refresh_token_expire_in": self._refresh[self.refresh_token],
                "open_id": "ephr6QAAAADhos3OBMztFEwRCWQGzDmfXm_7O2OTJyaYKA15pIaiEg",
                "seller_name": shop_one["name"], "seller_base_region": shop_one["region"], "user_type": 0,
                "granted_scopes": ["seller.authorization.info", "seller.order.info", "seller.return_refund.basic",
                                   "seller.customer_service"]}

    # paging

    def _size(self, call: Call) -> int:
        low, high, default = PAGE_LIMITS[call.operation]
        raw = call.query.get("page_size")
        if raw is None and default is not None:
            return default
        if raw is None or not raw.isdigit() or not low <= int(raw) <= high:
            raise ApiError((400, PARAM_CODE, f"Invalid parameter. `page_size` must be between {low} and {high}."))
        return int(raw)

    def _paged(self, call: Call, scope: str, select: Callable[[], list[Json]]) -> tuple[list[Json], str, int]:
        """First page: run `select` and freeze the result; later pages read the frozen result, so
        paging is stable while data changes. Tokens are base64 with '+', '/' and '=' in them."""
        size = self._size(call)
        token = call.query.get("page_token")
        if token:
            entry = self._cursors.get(token)
            if not entry or (entry[0].operation, entry[0].scope) != (call.operation, scope):
                raise ApiError(E_PAGE_TOKEN)
            cursor, offset = entry
        else:
            cursor, offset = Cursor(call.operation, scope, copy.deepcopy(select())), 0
        chunk = cursor.items[offset: offset + size]
        if offset + size >= len(cursor.items):
            return chunk, "", len(cursor.items)
        next_token = base64.b64encode(secrets.token_bytes(40)).decode()
        self._cursors[next_token] = (cursor, offset + size)
        return chunk, next_token, len(cursor.items)

    @staticmethod
    def _json_body(call: Call) -> Json:
        try:
            body = json.loads(call.body) if call.body.strip() else {}
        except ValueError:
            raise ApiError(E_FORMAT) from None
        if not isinstance(body, dict):
            raise ApiError(E_FORMAT)
        return body

    @staticmethod
    def _sorted(call: Call, items: Iterable[Json], default_order: str, tiebreak: str,
                fields: tuple[str, str] = ("create_time", "update_time")) -> list[Json]:
        """`sort_field` defaults to create_time; the sort order default differs per endpoint."""
        field_name = call.query.get("sort_field", "create_time")
        order_name = call.query.get("sort_order", default_order)
        if field_name not in fields or order_name not in ("ASC", "DESC"):
            raise ApiError((400, PARAM_CODE, "Invalid parameter. `sort_field` or `sort_order` is invalid."))
        descending = order_name == "DESC"
        return sorted(items, key=lambda item: (int(item[field_name]), int(item[tiebreak])), reverse=descending)

    @staticmethod
    def _in_windows(item: Json, body: Json) -> bool:
        """`*_ge` is inclusive and `*_lt` exclusive (Get Order List, Search Returns)."""
        for name in ("create_time", "update_time"):
            low, high = body.get(f"{name}_ge"), body.get(f"{name}_lt")
            for bound in (low, high):
                if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
                    raise ApiError((400, PARAM_CODE, f"Invalid parameter. `{name}` bounds are Unix seconds."))
            if (low is not None and item[name] < low) or (high is not None and item[name] >= high):
                return False
        return True

    # Order, ReturnRefund

    def _orders_search(self, call: Call) -> Json:
        body = self._json_body(call)
        status = body.get("order_status")
        if status is not None and status not in ORDER_STATUSES:
            raise ApiError((400, PARAM_CODE, "Invalid parameter. `order_status` is invalid."))

        def select() -> list[Json]:
            picked = [o for o in self._orders[call.shop].values() if self._in_windows(o, body)
                      and (status is None or o["status"] == status)
                      and (body.get("buyer_user_id") in (None, o["user_id"]))]
            return self._sorted(call, picked, "DESC", "id")

        chunk, token, total = self._paged(call, call.shop, select)
        return {"orders": chunk, "next_page_token": token, "total_count": total}

    def _returns_search(self, call: Call) -> Json:
        body = self._json_body(call)
        lists = {"return_status": "return_status", "return_types": "return_type", "order_ids": "order_id",
                 "return_ids": "return_id"}

        def select() -> list[Json]:
            picked = [r for r in self._returns[call.shop].values() if self._in_windows(r, body)
                      and all(not body.get(param) or r[key] in body[param] for param, key in lists.items())]
            return self._sorted(call, picked, "ASC", "return_id")

        chunk, token, total = self._paged(call, call.shop, select)
        return {"return_orders": chunk, "next_page_token": token, "total_count": total}

    # CustomerService

    def _shop(self, cipher: str | None) -> str:
        if cipher is None:
            return self.shop_cipher
        if cipher not in self._shops:
            raise ValueError(f"no authorized shop has cipher {cipher!r}")
        return cipher

    def _find(self, conversation_id: str, shop: str | None = None) -> Conversation:
        for cipher, conversations in self._conversations.items():
            if conversation_id in conversations and shop in (None, cipher):
                return conversations[conversation_id]
        if shop is None:
            raise KeyError(conversation_id)
        raise ApiError(E_NO_CONVERSATION)

    def _stamp(self, message: Json, entry: Conversation) -> Json:
        stamped = copy.deepcopy(message)
        seq = next(self._seq)
        stamped.setdefault("id", str(7_494_560_109_732_400_000 + seq))
        stamped.setdefault("index", str(stamped["create_time"] * 1_000_000 + seq))
        stamped.setdefault("is_visible", True)
        if "sender" not in stamped:
            buyer = next(p for p in entry.base["participants"] if p["role"] == "BUYER")
            stamped["sender"] = {k: buyer[k] for k in ("role", "nickname", "im_user_id", "avatar")}
        return stamped

    @staticmethod
    def _latest(entry: Conversation) -> Json | None:
        return max(entry.messages, key=lambda m: (m["create_time"], int(m["index"])), default=None)

    def _conversation_list(self, call: Call) -> Json:
        def select() -> list[Json]:
            views = []
            for entry in self._conversations[call.shop].values():
                view = {**entry.base, "unread_count": entry.unread}
                latest = self._latest(entry)
                if latest is not None:
                    view["latest_message"] = latest
                views.append(view)
            return sorted(views, key=lambda v: (v.get("latest_message", v)["create_time"], v["id"]), reverse=True)

        chunk, token, _ = self._paged(call, call.shop, select)
        return {"conversations": chunk, "next_page_token": token}

    def _message_list(self, call: Call) -> Json:
        conversation_id = call.args["conversation_id"]
        entry = self._find(conversation_id, call.shop)

        def select() -> list[Json]:
            return self._sorted(call, entry.messages, "DESC", "index", ("create_time", "index"))

        chunk, token, _ = self._paged(call, f"{call.shop}/{conversation_id}", select)
        return {"messages": chunk, "next_page_token": token}

    def _send(self, call: Call) -> Json:
        conversation_id = call.args["conversation_id"]
        entry = self._find(conversation_id, call.shop)
        body = self._json_body(call)
        kind, content = body.get("type"), body.get("content")
        if kind not in SEND_TYPES or not isinstance(content, str):
            raise ApiError((400, PARAM_CODE, "Invalid parameter. `type` or `content` is invalid."))
        try:
            parsed = json.loads(content)
        except ValueError:
            raise ApiError((400, PARAM_CODE, "Invalid parameter. `content` must be a JSON string.")) from None
        if kind == "TEXT" and not (isinstance(parsed, dict) and isinstance(parsed.get("content"), str)
                                   and 0 < len(parsed["content"]) <= 2000):
            raise ApiError((400, PARAM_CODE, "Invalid parameter. TEXT content is 1 to 2000 characters."))
        if not entry.base.get("can_send_message", True):
            raise ApiError(E_CLOSED)
        shop_name = self._shops[call.shop]["name"]
        sender = {"role": self.sender_role, "nickname": shop_name, "im_user_id": SHOP_IM_ID,
                  "avatar": "https://p16.example.invalid/avatar/shop.image"}
        message = self._stamp({"type": kind, "content": content, "create_time": self._clock(), "sender": sender}, entry)
        entry.messages.append(message)
        self._sent.setdefault(conversation_id, []).append(copy.deepcopy(message))
        return {"message_id": message["id"]}

    def _read(self, call: Call) -> Json:
        self._find(call.args["conversation_id"], call.shop).unread = 0
        return {}
