"""The loopback TikTok Shop server in tiktok_server.py, driven over HTTP with httpx as a client would.

Every request here is built the way a connector builds it: common query parameters, a signature
over path + sorted query + raw body, the token in `x-tts-access-token`, JSON bodies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tiktok_server import TikTokServer, buyer_message, conversation, order, return_order, sign

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
T0 = int(NOW.timestamp())
APP_KEY, APP_SECRET = "6a6loopback", "4eb-loopback-secret"
CS = "/customer_service/202309/conversations"


class Clock:
    def __init__(self) -> None:
        self.moment = NOW

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[TikTokServer]:
    with TikTokServer(APP_KEY, APP_SECRET, now=clock) as running:
        yield running


def call(server: TikTokServer, method: str, path: str, *, query: dict[str, Any] | None = None,
         body: Any = None, token: str | None = None, cipher: str | None = "default", timestamp: int | None = None,
         secret: str = APP_SECRET, tamper: bytes | None = None, content_type: str = "application/json",
         app_key: str = APP_KEY) -> httpx.Response:
    """One signed request, built exactly as a client would build it."""
    params = {"app_key": app_key, "timestamp": str(T0 if timestamp is None else timestamp)}
    if cipher == "default" and not path.startswith("/authorization/"):
        params["shop_cipher"] = server.shop_cipher
    elif cipher not in (None, "default"):
        params["shop_cipher"] = cipher
    params.update({k: str(v) for k, v in (query or {}).items()})
    content = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    params["sign"] = sign(secret, path, params, content)
    headers = {"content-type": content_type, "x-tts-access-token": token or server.access_token}
    return httpx.request(method, server.endpoint + path, params=params, content=tamper or content, headers=headers)


def ok(response: httpx.Response) -> dict[str, Any]:
    doc = response.json()
    assert response.status_code == 200 and doc["code"] == 0, doc
    return doc["data"]


def error(response: httpx.Response) -> tuple[int, int, str]:
    doc = response.json()
    assert doc["data"] is None and len(doc["request_id"]) == 34
    return response.status_code, doc["code"], doc["message"]


def collect(server: TikTokServer, method: str, path: str, key: str, *, query: dict[str, Any],
            body: Any = None) -> tuple[list[dict[str, Any]], list[str]]:
    items: list[dict[str, Any]] = []
    tokens: list[str] = []
    page_token = ""
    while True:
        extra = {**query, **({"page_token": page_token} if page_token else {})}
        data = ok(call(server, method, path, query=extra, body=body))
        items += data[key]
        page_token = data["next_page_token"]
        if not page_token:
            return items, tokens
        tokens.append(page_token)


# signing


def test_sign_reproduces_the_official_example() -> None:
    assert sign("e59af819cc", "/authorization/202309/shops", {"timestamp": "1623812664", "app_key": "29a39d"}) == (
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8")


def test_sign_follows_the_documented_steps() -> None:
    query = {"timestamp": "1696909648", "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK", "app_key": "68xu9ks5p4i8",
             "sign": "ignored", "access_token": "ignored"}
    body = b'{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}'
    base = ("/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipherROW_xkMbgAAAeVAQra0eZWebFQq5aIKtimestamp1696909648"
            + body.decode())
    wrapped = ("e59af819cc" + base + "e59af819cc").encode()
    expected = hmac.new(b"e59af819cc", wrapped, hashlib.sha256).hexdigest()
    assert sign("e59af819cc", "/event/202309/webhooks", query, body) == expected
    multipart = "multipart/form-data; boundary=x"
    assert sign("s", "/p", {}, b"a", content_type=multipart) == sign("s", "/p", {}, b"b", content_type=multipart)


# gateway checks


def test_a_signed_call_succeeds_in_the_documented_envelope(server: TikTokServer) -> None:
    response = call(server, "GET", "/authorization/202309/shops")
    doc = response.json()
    assert (doc["code"], doc["message"]) == (0, "Success")
    assert doc["request_id"].startswith("20261120120000") and len(doc["request_id"]) == 34
    (shop,) = doc["data"]["shops"]
    assert set(shop) == {"id", "name", "region", "seller_type", "cipher", "code"}
    assert shop["cipher"] == server.shop_cipher
    assert server.calls("GetAuthorizedShops")[0]["query"] == {"app_key": APP_KEY, "timestamp": str(T0)}


def test_bad_credentials_get_tiktoks_codes(server: TikTokServer) -> None:
    search = "/order/202309/orders/search"
    body = {"update_time_ge": T0 - 100}
    assert error(call(server, "POST", search, query={"page_size": 10}, body=body, secret="wrong")) == (
        401, 106001, "Invalid credentials. The `sign` query parameter is invalid.")
    tampered = call(server, "POST", search, query={"page_size": 10}, body=body, tamper=b'{"update_time_ge":0}')
    assert error(tampered)[1] == 106001
    assert error(call(server, "GET", "/authorization/202309/shops", app_key="other"))[:2] == (400, 36009004)
    assert "earlier than 5 minutes" in error(call(server, "GET", "/authorization/202309/shops", timestamp=T0 - 301))[2]
    assert "more than 30 seconds" in error(call(server, "GET", "/authorization/202309/shops", timestamp=T0 + 31))[2]
    ok(call(server, "GET", "/authorization/202309/shops", timestamp=T0 - 300))
    ok(call(server, "GET", "/authorization/202309/shops", timestamp=T0 + 30))
    assert error(call(server, "POST", search, query={"page_size": 10}, body=body, cipher=None))[1:] == (
        106013, "Missing identifier. The `shop_cipher` query parameter is required to identify the target shop.")
    assert error(call(server, "POST", search, query={"page_size": 10}, body=body, cipher="GCP_other"))[1] == 101000
    assert "not required" in error(call(server, "GET", "/authorization/202309/shops", cipher=server.shop_cipher))[2]
    assert error(call(server, "GET", "/authorization/202309/shops", token="TTP_nope"))[1:] == (
        36009004, "Invalid credentials. The `x-tts-access-token` header is invalid.")
    assert error(call(server, "GET", "/authorization/202309/shops", query={"version": "202212"}))[1] == 36009014
    plain = call(server, "POST", search, query={"page_size": 10}, body=body, content_type="text/plain")
    assert error(plain)[1] == 36009022
    assert error(call(server, "GET", "/order/202309/orders/nothing"))[:2] == (404, 36009009)
    assert error(call(server, "GET", search))[1] == 36009010
    unsigned = httpx.get(server.endpoint + "/authorization/202309/shops", params={"app_key": APP_KEY, "timestamp": T0})
    assert error(unsigned)[2].startswith("Missing credentials")


def test_signature_covers_the_decoded_query_values(server: TikTokServer) -> None:
    """Values are signed decoded; the client URL-encodes them on the wire (a '+' must travel as %2B)."""
    ok(call(server, "GET", CS, query={"page_size": 5, "locale": "en+GB/x=1"}))


# tokens


def test_expired_token_then_refresh(server: TikTokServer) -> None:
    first_access, first_refresh = server.access_token, server.refresh_token
    server.expire_access_token()
    assert error(call(server, "GET", "/authorization/202309/shops"))[:2] == (401, 105002)
    params = {"app_key": APP_KEY, "app_secret": APP_SECRET, "refresh_token": first_refresh,
              "grant_type": "refresh_token"}
    doc = httpx.get(server.auth_url + "/api/v2/token/refresh", params=params).json()
    assert (doc["code"], doc["message"]) == (0, "success")
    data = doc["data"]
    assert data["access_token"] != first_access and data["refresh_token"] != first_refresh
    assert data["access_token_expire_in"] == T0 + 7 * 86400
    assert {"open_id", "seller_name", "seller_base_region", "user_type", "granted_scopes"} <= set(data)
    ok(call(server, "GET", "/authorization/202309/shops", token=data["access_token"]))
    again = httpx.get(server.refresh_url, params=params).json()
    assert (again["code"], again["message"]) == (36004005, "can not find related auth record")
    assert httpx.get(server.refresh_url, params={**params, "grant_type": "authorized_code"}).json()["code"] == 98001004
    assert httpx.post(server.refresh_url, params=params).status_code == 404
    assert [c["query"]["grant_type"] for c in server.calls("RefreshToken")] == [
        "refresh_token", "refresh_token", "authorized_code"]
    assert all("app_secret" not in c["query"] for c in server.calls("RefreshToken"))


@pytest.mark.parametrize("rotation", ["same", "rotate_keep_old"])
def test_refresh_rotation_policies(clock: Clock, rotation: str) -> None:
    with TikTokServer(APP_KEY, APP_SECRET, now=clock, refresh_rotation=rotation) as server:
        old = server.refresh_token
        params = {"app_key": APP_KEY, "app_secret": APP_SECRET, "refresh_token": old, "grant_type": "refresh_token"}
        first = httpx.get(server.refresh_url, params=params).json()["data"]
        second = httpx.get(server.refresh_url, params=params).json()
        assert second["code"] == 0
        assert (first["refresh_token"] == old) == (rotation == "same")


def test_tokens_expire_by_the_clock(server: TikTokServer, clock: Clock) -> None:
    clock.moment = NOW + timedelta(days=7)
    assert error(call(server, "GET", "/authorization/202309/shops", timestamp=T0 + 7 * 86400))[1] == 105002


# orders and returns


def test_300_orders_page_by_update_time_window_each_once(server: TikTokServer) -> None:
    for n in range(300):
        server.add_order(order(n, update_time=T0 - 3000 + n * 5))
    server.add_order(order(900, update_time=T0 - 5000))  # before the window
    server.add_order(order(901, update_time=T0))  # at update_time_lt: excluded
    body = {"update_time_ge": T0 - 3000, "update_time_lt": T0}
    query = {"page_size": 50, "sort_field": "update_time", "sort_order": "ASC"}
    orders, tokens = collect(server, "POST", "/order/202309/orders/search", "orders", query=query, body=body)
    assert len(orders) == 300 and len({o["id"] for o in orders}) == 300 and len(tokens) == 5
    assert [o["update_time"] for o in orders] == sorted(o["update_time"] for o in orders)
    assert all("=" in token for token in tokens)
    first = orders[0]
    assert {"id", "status", "create_time", "update_time", "buyer_email", "user_id", "payment", "recipient_address",
            "line_items", "packages"} <= set(first)
    assert {"seller_sku", "product_name", "sale_price", "currency", "display_status"} <= set(first["line_items"][0])
    data = ok(call(server, "POST", "/order/202309/orders/search", query={"page_size": 1},
                   body={**body, "order_status": "COMPLETED"}))
    assert data == {"orders": [], "next_page_token": "", "total_count": 0}
    too_big = call(server, "POST", "/order/202309/orders/search", query={"page_size": 101}, body=body)
    assert error(too_big)[:2] == (400, 36009004)


def test_returns_search(server: TikTokServer) -> None:
    for n in range(12):
        status = "RETURN_OR_REFUND_REQUEST_COMPLETE" if n % 3 == 0 else "RETURN_OR_REFUND_REQUEST_PENDING"
        server.add_return(return_order(n, order(n, T0 - 9000)["id"], update_time=T0 - 1200 + n, return_status=status,
                                       return_type="RETURN_AND_REFUND" if n % 2 else "REFUND"))
    body = {"update_time_ge": T0 - 1200, "update_time_lt": T0}
    returns, tokens = collect(server, "POST", "/return_refund/202309/returns/search", "return_orders",
                              query={"page_size": 10}, body=body)
    assert [r["update_time"] for r in returns] == sorted(r["update_time"] for r in returns) and len(tokens) == 1
    assert returns[0]["refund_amount"]["refund_total"] == "19.99" and returns[0]["return_line_items"][0]["seller_sku"]
    data = ok(call(server, "POST", "/return_refund/202309/returns/search",
                   body={**body, "return_status": ["RETURN_OR_REFUND_REQUEST_COMPLETE"]}))
    assert data["total_count"] == 4 and data["next_page_token"] == ""
    too_small = call(server, "POST", "/return_refund/202309/returns/search", query={"page_size": 5}, body=body)
    assert error(too_small)[0] == 400


# customer service


def seed_chats(server: TikTokServer, conversations: int = 25, messages: int = 3) -> list[str]:
    ids = []
    for n in range(conversations):
        chat = conversation(n, create_time=T0 - 90_000 + n)
        server.add_conversation(chat, [buyer_message(f"hello {n}.{i}", T0 - 80_000 + n * 100 + i)
                                       for i in range(messages)])
        ids.append(chat["id"])
    return ids


def test_conversations_and_messages_page(server: TikTokServer) -> None:
    ids = seed_chats(server)
    chats, tokens = collect(server, "GET", CS, "conversations", query={"page_size": 20})
    assert [c["id"] for c in chats] == ids[::-1] and len(tokens) == 1
    top = chats[0]
    assert top["unread_count"] == 3 and top["latest_message"]["sender"]["role"] == "BUYER"
    assert json.loads(top["latest_message"]["content"]) == {"content": "hello 24.2"}
    assert {p["role"] for p in top["participants"]} == {"BUYER", "SHOP"}
    for i in range(20):
        server.add_message(ids[0], buyer_message(f"more {i}", T0 - 100 + i))
    path = f"{CS}/{ids[0]}/messages"
    newest, tokens = collect(server, "GET", path, "messages", query={"page_size": 10})
    assert len(newest) == 23 and len(tokens) == 2
    assert [m["create_time"] for m in newest] == sorted((m["create_time"] for m in newest), reverse=True)
    oldest, _ = collect(server, "GET", path, "messages", query={"page_size": 10, "sort_order": "ASC"})
    assert [m["id"] for m in oldest] == [m["id"] for m in newest][::-1]
    assert {"id", "index", "type", "content", "create_time", "is_visible", "sender"} <= set(oldest[0])
    assert error(call(server, "GET", path, query={"page_size": 11}))[0] == 400
    assert error(call(server, "GET", f"{CS}/404/messages", query={"page_size": 10}))[0] == 400
    ok(call(server, "POST", f"{path}/read", body={}))
    assert ok(call(server, "GET", CS, query={"page_size": 1}))["conversations"][0]["unread_count"] == 0


def test_new_mail_after_startup_shows_in_the_listing(server: TikTokServer) -> None:
    (chat_id,) = seed_chats(server, conversations=1, messages=1)
    server.add_message(chat_id, buyer_message("where is my parcel?", T0 - 10))
    (chat,) = ok(call(server, "GET", CS, query={"page_size": 20}))["conversations"]
    assert json.loads(chat["latest_message"]["content"])["content"] == "where is my parcel?"
    assert chat["unread_count"] == 2


def send(server: TikTokServer, chat_id: str, text: str) -> httpx.Response:
    body = {"type": "TEXT", "content": json.dumps({"content": text})}
    return call(server, "POST", f"{CS}/{chat_id}/messages", body=body)


def test_sent_message_is_listed_once(server: TikTokServer) -> None:
    (chat_id,) = seed_chats(server, conversations=1)
    message_id = ok(send(server, chat_id, "Shipped today!"))["message_id"]
    listed = ok(call(server, "GET", f"{CS}/{chat_id}/messages", query={"page_size": 10}))["messages"]
    mine = [m for m in listed if m["id"] == message_id]
    assert len(mine) == 1 and mine[0]["sender"]["role"] == "SHOP" and listed[0]["id"] == message_id
    assert json.loads(mine[0]["content"]) == {"content": "Shipped today!"}
    assert [m["id"] for m in server.sent_messages(chat_id)] == [message_id]
    assert error(send(server, chat_id, "x" * 2001))[0] == 400


def test_lost_reply_stores_the_message_but_the_client_sees_a_failure(server: TikTokServer) -> None:
    (chat_id,) = seed_chats(server, conversations=1)
    server.inject("SendMessage", "lost_reply", "lost_reply_drop")
    assert error(send(server, chat_id, "first try"))[:2] == (500, 36009003)
    with pytest.raises(httpx.RemoteProtocolError):
        send(server, chat_id, "second try")
    assert [json.loads(m["content"])["content"] for m in server.sent_messages(chat_id)] == ["first try", "second try"]
    listed = ok(call(server, "GET", f"{CS}/{chat_id}/messages", query={"page_size": 10}))["messages"]
    assert sum(m["sender"]["role"] == "SHOP" for m in listed) == 2


def test_closed_conversation_refuses_messages(server: TikTokServer) -> None:
    chat = conversation(1, create_time=T0 - 10, can_send_message=False)
    server.add_conversation(chat)
    assert error(send(server, chat["id"], "hello"))[0] == 400
    assert server.sent_messages(chat["id"]) == []


# faults


def test_each_fault(server: TikTokServer) -> None:
    seed_chats(server, conversations=25, messages=1)
    server.inject("GetConversations", "429", "500", "truncated", "expired_token")
    assert error(call(server, "GET", CS, query={"page_size": 20})) == (
        429, 36009002, "Too many requests. You've made too many requests in a short period of time.")
    assert error(call(server, "GET", CS, query={"page_size": 20}))[:2] == (500, 36009003)
    with pytest.raises(json.JSONDecodeError):
        call(server, "GET", CS, query={"page_size": 20}).json()
    assert error(call(server, "GET", CS, query={"page_size": 20}))[1] == 105002
    first = ok(call(server, "GET", CS, query={"page_size": 20}))
    server.inject("GetConversations", "bad_page_token")
    ok(call(server, "GET", CS, query={"page_size": 20}))  # no page_token: the fault waits
    bad = call(server, "GET", CS, query={"page_size": 20, "page_token": first["next_page_token"]})
    assert error(bad)[:2] == (400, 36009004)
    assert error(call(server, "GET", CS, query={"page_size": 20, "page_token": "bm9wZQ=="}))[0] == 400
    assert len(collect(server, "GET", CS, "conversations", query={"page_size": 20})[0]) == 25
    server.inject("RefreshToken", "429")
    params = {"app_key": APP_KEY, "app_secret": APP_SECRET, "refresh_token": server.refresh_token,
              "grant_type": "refresh_token"}
    assert httpx.get(server.refresh_url, params=params).status_code == 429
    with pytest.raises(ValueError):
        server.inject("GetConversations", "lost_reply")
    with pytest.raises(ValueError):
        server.inject("GetConversations", "teapot")


def test_retry_after_is_optional(clock: Clock) -> None:
    with TikTokServer(APP_KEY, APP_SECRET, now=clock, retry_after=3) as server:
        server.inject("GetAuthorizedShops", "429")
        response = call(server, "GET", "/authorization/202309/shops")
        assert (response.status_code, response.headers["retry-after"]) == (429, "3")
