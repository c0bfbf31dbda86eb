"""The TikTok Shop channel against the loopback Open API in tiktok_server.py, which checks every
signature, timestamp, token and shop cipher: orders, returns and refunds, chats as tickets, and
replies sent exactly once through lost answers and killed passes."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tiktok_server import TikTokServer, buyer_message, conversation, order, return_order

from deskterm.cli import Session
from deskterm.clock import Clock
from deskterm.sync.base import SyncReport
from deskterm.sync.tiktok import TikTokConnector
from deskterm.sync.web import WebApi

# TikTok checks the signed timestamp against its own clock, so these tests live in the present
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
T0 = int(NOW.timestamp())
DAY = 86_400
APP_KEY, APP_SECRET = "6a6loopback", "4eb-loopback-secret"


@pytest.fixture
def tiktok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A shop with 120 orders over the last 50 days (every fifth shipped), 4 returns, and 3 chats."""
    server = TikTokServer(APP_KEY, APP_SECRET, refresh_token="rt-first")
    for n in range(120):
        status = "IN_TRANSIT" if n % 5 == 0 else "AWAITING_SHIPMENT"
        server.add_order(order(n, T0 - 50 * DAY + n * 10 * 3600, status=status, quantity=1 + n % 3))
    for n in range(4):
        server.add_return(return_order(n, order(n * 5, 0)["id"], T0 - 5 * DAY + n * 3600,
                                       return_type="REPLACEMENT" if n == 3 else "RETURN_AND_REFUND"))
    for n in range(3):
        server.add_conversation(conversation(n, create_time=T0 - 3 * DAY + n, buyer_nickname=f"buyer_{n}"),
                                [buyer_message(f"hello from buyer {n}, message {k}", T0 - 3 * DAY + n * 100 + k)
                                 for k in range(12 if n == 0 else 2)])
    monkeypatch.setenv("T_TT_SECRET", APP_SECRET)
    monkeypatch.setenv("T_TT_REFRESH", "rt-first")
    home = tmp_path / "ws"
    home.mkdir()
    with server:
        (home / "config.toml").write_text(
            f'undo_seconds = 0\n[channels.tiktok]\nkind = "tiktok"\nshop = "Loopback Shop"\napp_key = "{APP_KEY}"\n'
            'app_secret_env = "T_TT_SECRET"\nrefresh_token_env = "T_TT_REFRESH"\n'
            f'endpoint = "{server.endpoint}"\nauth_endpoint = "{server.auth_url}"\nhistory_days = 60\n')
        yield server, home


def connector(session: Session, home: Path) -> TikTokConnector:
    return TikTokConnector(session.store, "tiktok", session.config.channels["tiktok"], home / "tokens.json", 0,
                           WebApi("tiktok", sleep=lambda _s: None))


def sync(home: Path, push: bool = False) -> SyncReport:
    session = Session(home=str(home), clock=Clock(NOW))
    report = SyncReport()
    syncing = connector(session, home)
    syncing.pull(report)
    if push:
        syncing.push(report)
    session.close()
    return report


def rows(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(home / "deskterm.db") as conn:
        return conn.execute(sql, params).fetchall()


def test_orders_and_returns_arrive_once_through_faults(tiktok) -> None:
    server, home = tiktok
    server.inject("GetOrderList", "429", "500", "truncated")
    report = sync(home)
    assert (report.fetched["orders"], report.fetched["returns"]) == (120, 4)
    assert rows(home, "SELECT count(*), count(DISTINCT order_id), sum(channel = 'tiktok') FROM orders") == [(120, 120, 120)]
    # a line per SKU, quantity summed over TikTok's line per unit
    assert rows(home, "SELECT count(*), sum(quantity) FROM order_lines") == [(120, sum(1 + n % 3 for n in range(120)))]
    assert rows(home, "SELECT count(*) FROM customer_shipments WHERE tracking_number LIKE 'JX%'") == [(24,)]
    assert rows(home, "SELECT order_id, quantity, amount, source FROM refunds ORDER BY order_id") == [
        (order(n * 5, 0)["id"], 1, "-19.99", "tiktok") for n in range(3)]  # the replacement refunds nothing
    # the buyer's name, address and phone are not kept
    database = (home / "deskterm.db").read_bytes() + (home / "deskterm.db-wal").read_bytes()
    assert b"David Kong" not in database and b"Coleman Ave" not in database
    assert sync(home).fetched["orders"] == 0  # nothing twice


def test_an_expired_page_token_requeries_its_window(tiktok) -> None:
    server, home = tiktok
    server.inject("GetOrderList", "bad_page_token")
    assert sync(home).fetched["orders"] >= 120
    assert rows(home, "SELECT count(*), count(DISTINCT order_id) FROM orders") == [(120, 120)]
    windows = [c["body"]["update_time_ge"] for c in server.calls("GetOrderList") if "page_token" not in c["query"]]
    assert [w for w in windows if w + 600 in windows]  # a window asked for again, ten minutes earlier


def test_tokens_refresh_and_rotate_in_a_file_only_the_user_reads(tiktok) -> None:
    server, home = tiktok
    sync(home)
    tokens = home / "tokens.json"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    first = json.loads(tokens.read_text())
    server.expire_access_token()
    chat = conversation(2, create_time=0)["id"]
    server.add_message(chat, buyer_message("are you there?", T0 - 5))
    assert sync(home).fetched["messages"] == 1  # refused as expired, refreshed, asked again
    second = json.loads(tokens.read_text())
    # TikTok rotates the refresh token at each refresh; the file keeps the live one
    assert len({"rt-first", first["refresh_token"], second["refresh_token"]}) == 3
    assert len(server.calls("RefreshToken")) == 2
    assert b"rt-first" not in (home / "deskterm.db").read_bytes()


def test_chats_become_tickets_and_new_messages_join_them(tiktok) -> None:
    server, home = tiktok
    assert sync(home).fetched["messages"] == 16  # 12 (two pages and more) + 2 + 2
    assert rows(home, "SELECT count(*) FROM tickets WHERE channel = 'tiktok'") == [(3,)]
    assert rows(home, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(16, 16)]
    chat = conversation(0, create_time=0)["id"]
    server.add_message(chat, buyer_message("where is my order?", T0 - 30, type="ORDER_CARD",
                                           content={"order_id": order(7, 0)["id"]}))
    assert sync(home).fetched["messages"] == 1
    assert rows(home, "SELECT t.order_id, m.body FROM messages m JOIN tickets t ON t.id = m.ticket_id"
                      " WHERE m.body LIKE '[order card%'") == [(order(7, 0)["id"], f"[order card: {order(7, 0)['id']}]")]
    assert sync(home).fetched["messages"] == 0


def reply(home: Path, body: str) -> int:
    session = Session(home=str(home), clock=Clock(NOW))
    ticket = session.store.rows("SELECT t.id FROM tickets t JOIN channel_threads c ON c.ticket_id = t.id"
                                " WHERE c.thread_id = ?", (conversation(1, create_time=0)["id"],))[0]["id"]
    actions = session.actions()
    actions.opened(ticket)
    outcome = actions.reply(ticket, body)
    session.close()
    return outcome.queued


@pytest.mark.parametrize("fault", ["lost_reply", "lost_reply_drop"])
def test_a_reply_whose_answer_was_lost_is_sent_exactly_once(tiktok, fault: str) -> None:
    server, home = tiktok
    sync(home)
    queued = reply(home, "Sorry about that! A new pair ships today.")
    server.inject("SendMessage", fault)
    assert sync(home, push=True).sent == 0
    assert rows(home, "SELECT state FROM send_queue WHERE id = ?", (queued,)) == [("sending",)]
    chat = conversation(1, create_time=0)["id"]
    assert len(server.sent_messages(chat)) == 1  # TikTok has it, though we could not know
    assert sync(home, push=True).sent == 1
    assert rows(home, "SELECT state FROM send_queue WHERE id = ?", (queued,)) == [("sent",)]
    assert len(server.sent_messages(chat)) == 1  # settled by reading the chat, not sent again
    assert sync(home, push=True).sent == 0
    # read back from TikTok, the reply is not a second message in the ticket
    assert rows(home, "SELECT count(*) FROM messages WHERE body = 'Sorry about that! A new pair ships today.'") == [(1,)]


def test_a_long_reply_leaves_in_parts_each_once(tiktok) -> None:
    server, home = tiktok
    sync(home)
    body = "".join(f"Line {n:04d} of a long, careful answer.\n" for n in range(130))  # 4,680 characters
    reply(home, body)
    server.inject("SendMessage", "lost_reply")
    assert sync(home, push=True).sent == 0  # TikTok took the first part, but its answer was lost
    assert sync(home, push=True).sent == 1
    chat = conversation(1, create_time=0)["id"]
    parts = [json.loads(m["content"])["content"] for m in server.sent_messages(chat)]
    assert len(parts) == 3 and "".join(parts) == body.strip("\n")


def test_sync_once_tiktok_reports_what_it_fetched(tiktok) -> None:
    server, home = tiktok
    result = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "sync", "once", "tiktok", "--json"],
                            capture_output=True, text=True, env=os.environ, timeout=120)
    assert result.returncode == 0, result.stderr
    channel = json.loads(result.stdout)["channels"]["tiktok"]
    assert channel == {"ok": True, "fetched": {"orders": 120, "returns": 4, "messages": 16}, "sent": 0, "error": None,
                       "events": []}
    assert APP_SECRET not in result.stdout + result.stderr
    status = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "sync", "status", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["channels"]["tiktok"]["last_error"] is None


async def test_the_queue_shows_the_chats_and_the_status_line_the_channel(tiktok) -> None:
    from deskterm.app import DesktermApp
    from deskterm.screens.queue import QueueList
    from deskterm.widgets.status_line import StatusLine

    server, home = tiktok
    subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "sync", "once", "tiktok"], check=True,
                   capture_output=True, env=os.environ, timeout=120)
    session = Session(home=str(home), clock=Clock(NOW))
    session.triage()
    app = DesktermApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        queue = app.screen.query_one(QueueList)
        assert queue.pager.count() == 3 and {queue.pager.row(i)["channel"] for i in range(3)} == {"tiktok"}
        status = str(app.screen.query_one(StatusLine).render())
        assert "tiktok ✓" in status and "0 outbound queued" in status
