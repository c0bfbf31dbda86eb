"""TikTok Shop customer service: conversations pulled as tickets, replies pushed exactly once.

Conversations come newest message first; a pass reads them until it reaches those whose latest
message it already had, then reads each changed conversation's messages back to the first one it
knows. A conversation is one ticket (channel_threads), the buyer identified by their TikTok user
id, and each message is stored once by its TikTok id.

Send Message has no idempotency key, so a reply is never sent blindly twice: before each send, the
conversation is read for the shop's messages since the reply was queued, and a text already there
counts as sent. So a send whose answer was lost (or a pass killed mid-send) is settled by the next
pass, which finds the message or sends it. TikTok takes 2,000 characters per text message; longer
replies leave in parts, each settled the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from deskterm.clock import iso
from deskterm.digest import digest
from deskterm.store import Store
from deskterm.sync.base import SyncReport, cursor, save_cursor
from deskterm.sync.rows import customer_id
from deskterm.sync.tiktok.api import VERSION, TikTokApi
from deskterm.sync.web import Refused, Uncertain

CONVERSATIONS = f"/customer_service/{VERSION}/conversations"
OVERLAP = 600            # seconds: conversations whose latest message is this close to the last pass are read again
TEXT_LIMIT = 2000
SETTLE_BEFORE = 120      # seconds before a reply was queued that a shop message may still be that reply
ORDER_ID = re.compile(r"\b(\d{15,20})\b")
_UNANSWERED = "TikTok gave no answer to the send; the next pass checks the conversation, then sends or settles it"


def pull_conversations(store: Store, name: str, api: TikTokApi, report: SyncReport) -> None:
    with store.write() as conn:
        state, _ = cursor(conn, name, "conversations")
    known = int(state.get("latest") or 0)
    newest, changed, token = known, [], None
    while True:
        data = api.call("GetConversations", "GET", CONVERSATIONS, {"page_size": 20, **_page(token)})
        conversations = data.get("conversations") or []
        fresh = [c for c in conversations if _latest(c) > known - OVERLAP]
        changed += fresh
        newest = max([newest, *(_latest(c) for c in fresh)])
        token = data.get("next_page_token") or None
        if not token or len(fresh) < len(conversations):
            break
    for conversation in changed:
        report.fetched["messages"] += _pull_messages(store, name, api, conversation)
    with store.write() as conn:
        save_cursor(conn, name, "conversations", {"latest": newest})


def _latest(conversation: dict[str, Any]) -> int:
    return int((conversation.get("latest_message") or {}).get("create_time") or conversation.get("create_time") or 0)


def _page(token: str | None) -> dict[str, str]:
    return {"page_token": token} if token else {}


def _messages_since(api: TikTokApi, conversation_id: str, stop) -> list[dict[str, Any]]:
    """The conversation's messages, newest first, read back until `stop(message)` holds."""
    found, token = [], None
    while True:
        data = api.call("GetConversationMessages", "GET", f"{CONVERSATIONS}/{conversation_id}/messages",
                        {"page_size": 10, **_page(token)})
        for message in data.get("messages") or []:
            if stop(message):
                return found
            found.append(message)
        token = data.get("next_page_token") or None
        if not token:
            return found


def _pull_messages(store: Store, name: str, api: TikTokApi, conversation: dict[str, Any]) -> int:
    conversation_id = str(conversation["id"])
    with store.write() as conn:
        stored = {r[0] for r in conn.execute(
            "SELECT m.message_id FROM channel_threads t JOIN messages m ON m.ticket_id = t.ticket_id"
            " WHERE t.channel = ? AND t.thread_id = ?", (name, conversation_id))}
    new = _messages_since(api, conversation_id, lambda m: _key(conversation_id, m) in stored)
    added = 0
    with store.write() as conn:
        ticket_id = _ticket(conn, store, name, conversation)
        for message in reversed(new):  # oldest first
            if message.get("is_visible", True) is False:
                continue
            added += _store_message(conn, store, name, ticket_id, conversation_id, message)
    return added


def _key(conversation_id: str, message: dict[str, Any]) -> str:
    return f"tiktok:{conversation_id}:{message['id']}"


def _buyer(conversation: dict[str, Any]) -> dict[str, Any]:
    return next((p for p in conversation.get("participants") or [] if p.get("role") == "BUYER"), {})


def _ticket(conn, store: Store, name: str, conversation: dict[str, Any]) -> int:
    row = conn.execute("SELECT ticket_id FROM channel_threads WHERE channel = ? AND thread_id = ?",
                       (name, str(conversation["id"]))).fetchone()
    if row:
        return row[0]
    buyer = _buyer(conversation)
    buyer_id = buyer.get("user_id") or buyer.get("im_user_id")
    customer = customer_id(conn, "tiktok", f"tiktok:{buyer_id}" if buyer_id else None, buyer.get("nickname"))
    created = _instant(conversation.get("create_time")) or store.now()
    ticket_id = conn.execute(
        "INSERT INTO tickets (channel, customer_id, subject, status, created_at) VALUES ('tiktok', ?, ?, 'open', ?)",
        (customer, f"TikTok Shop chat with {buyer.get('nickname') or 'a buyer'}", created)).lastrowid
    conn.execute("INSERT INTO channel_threads (channel, thread_id, ticket_id) VALUES (?, ?, ?)",
                 (name, str(conversation["id"]), ticket_id))
    return int(ticket_id)


def _instant(seconds: Any) -> str | None:
    return iso(dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc)) if seconds else None


def _text(message: dict[str, Any]) -> tuple[str, str | None]:
    """What the message says, as text, and the order it is about."""
    try:
        content = json.loads(message.get("content") or "{}")
    except ValueError:
        content = {"content": str(message.get("content"))}
    content = content if isinstance(content, dict) else {"content": str(content)}
    kind = message.get("type") or "TEXT"
    if kind == "TEXT":
        text = str(content.get("content") or "")
        found = ORDER_ID.search(text)
        return text, found.group(1) if found else None
    if kind == "ORDER_CARD":
        order_id = str(content.get("order_id") or "") or None
        return f"[order card: {order_id}]", order_id
    detail = content.get("url") or content.get("product_id") or content.get("title") or ""
    return f"[{kind.lower().replace('_', ' ')}{': ' + str(detail) if detail else ''}]", None


def _own_reply(conn, ticket_id: int, text: str, sent_at: str) -> bool:
    """The shop message is a part of a reply deskterm already holds (it sent it, and reads it back)."""
    since = iso(dt.datetime.fromisoformat(sent_at.replace("Z", "+00:00")) - dt.timedelta(days=2))
    return conn.execute("SELECT 1 FROM messages WHERE ticket_id = ? AND source = 'deskterm' AND sent_at >= ?"
                        " AND instr(body, ?) > 0 LIMIT 1", (ticket_id, since, text)).fetchone() is not None


def _store_message(conn, store: Store, name: str, ticket_id: int, conversation_id: str,
                   message: dict[str, Any]) -> int:
    sender = message.get("sender") or {}
    inbound = sender.get("role") == "BUYER"
    text, order_id = _text(message)
    sent_at = _instant(message.get("create_time")) or store.now()
    if not inbound and _own_reply(conn, ticket_id, text, sent_at):
        return 0
    cursor = conn.execute(
        "INSERT OR IGNORE INTO messages (message_id, ticket_id, channel, kind, direction, sender, sender_name, subject,"
        " sent_at, body, order_id, source, content_hash) VALUES (?, ?, 'tiktok', ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
        (_key(conversation_id, message), ticket_id, "message" if inbound else "reply",
         "inbound" if inbound else "outbound", f"tiktok:{sender.get('im_user_id') or ''}", sender.get("nickname"),
         sent_at, text, order_id, f"tiktok:{name}", digest([message.get("content") or ""])))
    if not cursor.rowcount:
        return 0
    conn.execute("INSERT INTO index_outbox (message_rowid) VALUES (?)", (cursor.lastrowid,))
    column = "last_inbound_at" if inbound else "last_outbound_at"
    conn.execute(f"UPDATE tickets SET {column} = max(coalesce({column}, ''), ?), last_message_at ="
                 " max(coalesce(last_message_at, ''), ?), order_id = coalesce(order_id, ?),"
                 " status = CASE WHEN ? AND status != 'open' THEN 'open' ELSE status END WHERE id = ?",
                 (sent_at, sent_at, order_id, inbound, ticket_id))
    return 1


# -- replies --------------------------------------------------------------------------------------

def push_replies(store: Store, name: str, api: TikTokApi, report: SyncReport, undo_seconds: int) -> None:
    due = iso(store.clock.now() - dt.timedelta(seconds=undo_seconds))
    rows = store.rows(
        "SELECT q.id, q.body, q.created_at, t.thread_id FROM send_queue q JOIN channel_threads t"
        " ON t.ticket_id = q.ticket_id AND t.channel = ? WHERE q.channel = 'tiktok'"
        " AND q.state IN ('queued', 'sending') AND q.created_at <= ? ORDER BY q.id", (name, due))
    for row in rows:
        with store.write() as conn:
            claimed = conn.execute("UPDATE send_queue SET state = 'sending', attempts = attempts + 1 WHERE id = ?"
                                   " AND state IN ('queued', 'sending')", (row["id"],)).rowcount
        if claimed:
            report.sent += _send(store, api, row)


def _parts(body: str) -> list[str]:
    return [body[i:i + TEXT_LIMIT] for i in range(0, len(body), TEXT_LIMIT)] or [body]


def _send(store: Store, api: TikTokApi, row: Any) -> int:
    conversation_id = row["thread_id"]
    queued = dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")).timestamp() - SETTLE_BEFORE
    there = [_text(m)[0] for m in _messages_since(api, conversation_id, lambda m: int(m.get("create_time") or 0) < queued)
             if (m.get("sender") or {}).get("role") != "BUYER"]
    path = f"{CONVERSATIONS}/{conversation_id}/messages"
    for part in _parts(row["body"]):
        if part in there:
            there.remove(part)  # sent by a pass whose answer was lost
            continue
        try:
            api.call("SendMessage", "POST", path, body={"type": "TEXT", "content": json.dumps({"content": part})},
                     retry=False, refuse=True)
        except Uncertain:
            _finish(store, row["id"], "sending", _UNANSWERED)
            return 0
        except Refused as refused:  # a closed conversation, a text TikTok will not take
            _finish(store, row["id"], "failed", str(api.failure("SendMessage", refused))[:300])
            return 0
    _finish(store, row["id"], "sent", None)
    return 1


def _finish(store: Store, queue_id: int, state: str, error: str | None) -> None:
    with store.write() as conn:
        conn.execute("UPDATE send_queue SET state = ?, last_error = ?, sent_at = CASE WHEN ? = 'sent' THEN ?"
                     " ELSE sent_at END WHERE id = ?", (state, error, state, store.now(), queue_id))
        store.audit(conn, f"reply.{state}", f"queue:{queue_id}", {})
