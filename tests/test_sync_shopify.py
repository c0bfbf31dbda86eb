"""The Shopify channel against the loopback Admin GraphQL API in shopify_server.py (queries parsed,
validated, costed and executed by graphql-core): orders with lines, refunds, returns and
fulfillments, Amazon MCF marking, cost-based throttling, and buyers' e-mail linked to their order."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shopify_server import (ShopifyServer, fulfillment, line_item, mcf_fulfillment, order, refund,
                            return_request)

from deskterm.cli import Session
from deskterm.clock import Clock
from deskterm.sync.base import SyncReport
from deskterm.sync.shopify import ShopifyConnector
from deskterm.sync.web import WebApi

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
TOKEN = "shpat_loopback_0123456789"


class FakeTime:
    """One clock for the server's bucket and the client's waits: a wait moves it, nothing sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.real = False  # for a deskterm in another process, whose waits are real

    def __call__(self) -> float:
        return time.monotonic() if self.real else self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shop_order(n: int) -> dict:
    """Order n, updated n × 4 hours after 50 days ago: every 4th fulfilled by Amazon MCF, every 6th by
    the shop with UPS, every 10th refunded in part, every 15th with a return."""
    updated = NOW - dt.timedelta(days=50) + dt.timedelta(hours=4 * n)
    lines = [line_item(n * 100, f"SKU-{n % 5}", quantity=1 + n % 2), line_item(n * 100 + 1, "GIFT-BOX", price="5.00")]
    fulfillments = ([mcf_fulfillment(n, stamp(updated), lines=[(lines[0], 1 + n % 2)])] if n % 4 == 0 else
                    [fulfillment(n, stamp(updated), lines=[(lines[0], 1 + n % 2)])] if n % 6 == 0 else [])
    refunds = [refund(n, stamp(updated), [(lines[1], 1)])] if n % 10 == 0 else []
    returns = [return_request(n, stamp(updated), [(lines[0], 1)])] if n % 15 == 0 else []
    return order(n, updated, lines=lines, fulfillments=fulfillments, refunds=refunds, returns=returns)


@pytest.fixture
def shopify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    clock = FakeTime()
    server = ShopifyServer(TOKEN, now=clock)
    for n in range(300):
        server.add_order(shop_order(n))
    monkeypatch.setenv("T_SHOPIFY_TOKEN", TOKEN)
    home = tmp_path / "ws"
    home.mkdir()
    with server:
        (home / "config.toml").write_text(
            '[channels.shop]\nkind = "shopify"\nshop = "deskterm-test.myshopify.com"\n'
            f'access_token_env = "T_SHOPIFY_TOKEN"\nendpoint = "{server.endpoint}"\napi_version = "2026-01"\n'
            'history_days = 60\n')
        yield server, home, clock


def sync(home: Path, clock: FakeTime) -> SyncReport:
    session = Session(home=str(home), clock=Clock(NOW))
    report = SyncReport()
    ShopifyConnector(session.store, "shop", session.config.channels["shop"],
                     WebApi("shop", sleep=clock.sleep, clock=clock)).pull(report)
    session.close()
    return report


def rows(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "deskterm.db") as conn:
        return conn.execute(sql).fetchall()


def test_orders_arrive_once_with_their_lines_refunds_returns_and_parcels(shopify) -> None:
    server, home, clock = shopify
    server.inject("graphql", "throttled", "500", "truncated", "502")
    assert sync(home, clock).fetched["orders"] == 300
    assert rows(home, "SELECT count(*), count(DISTINCT order_id), min(order_id), max(order_id) FROM orders"
                      " WHERE channel = 'shopify'") == [(300, 300, "#1000", "#1299")]
    assert rows(home, "SELECT count(*), sum(quantity) FROM order_lines") == [(600, 300 + sum(1 + n % 2 for n in range(300)))]
    assert rows(home, "SELECT count(*), sum(amount) FROM refunds WHERE source = 'shopify'") == [(30, -150.0)]
    assert rows(home, "SELECT count(*), min(reason) FROM returns") == [(20, "DEFECTIVE")]
    assert rows(home, "SELECT fulfillment_channel, count(*) FROM orders GROUP BY 1 ORDER BY 1") == [
        ("Amazon", 75), ("Merchant", 225)]
    assert rows(home, "SELECT carrier, tracking_number, fulfillment_channel FROM customer_shipments"
                      " WHERE order_id = '#1004'") == [("Amazon Logistics", "TBA012345678901", "Amazon")]
    # the buyer is their e-mail address; the street address is not kept
    assert rows(home, "SELECT c.address FROM orders o JOIN customers c ON c.id = o.customer_id"
                      " WHERE o.order_id = '#1007'") == [("buyer7@example.com",)]
    assert b"1 Main St" not in (home / "deskterm.db").read_bytes() + (home / "deskterm.db-wal").read_bytes()
    assert sync(home, clock).fetched["orders"] == 0


def test_pages_fit_the_cost_limit_and_waits_follow_the_bucket(shopify) -> None:
    server, home, clock = shopify
    server.set_available(50)  # another app has just spent the bucket
    sync(home, clock)
    calls = server.calls("DesktermOrders")
    assert all(call.requested_cost <= 1000 for call in calls)  # never refused as too expensive
    assert [call.outcome for call in calls].count("throttled") <= 1  # it waited rather than hammered
    assert clock.waits and sum(clock.waits) >= (calls[0].requested_cost - 50) / 100  # the refill it needed
    sizes = [call.variables["first"] for call in calls]
    assert sizes[0] == 4 and max(sizes) > 4  # later pages sized from the first one's cost


def test_an_order_changed_later_is_updated_not_doubled(shopify) -> None:
    server, home, clock = shopify
    sync(home, clock)
    changed = shop_order(3)
    changed["updatedAt"] = stamp(NOW + dt.timedelta(minutes=30))
    changed["cancelledAt"] = changed["updatedAt"]
    server.add_order(changed)
    session = Session(home=str(home), clock=Clock(NOW + dt.timedelta(hours=1)))
    report = SyncReport()
    ShopifyConnector(session.store, "shop", session.config.channels["shop"],
                     WebApi("shop", sleep=clock.sleep, clock=clock)).pull(report)
    session.close()
    assert report.fetched["orders"] == 1
    assert rows(home, "SELECT status FROM orders WHERE order_id = '#1003'") == [("CANCELLED",)]
    assert rows(home, "SELECT count(*) FROM orders") == [(300,)]


def mail(home: Path, name: str, sender: str, subject: str, body: str) -> Path:
    path = home / name
    path.write_text(f"From: Pat <{sender}>\nTo: help@shop.example\nSubject: {subject}\n"
                    f"Message-ID: <{name}@example.com>\nDate: Thu, 19 Nov 2026 10:00:00 +0000\n\n{body}\n")
    return path


def test_a_buyers_email_is_linked_to_their_shopify_order(shopify) -> None:
    server, home, clock = shopify
    server.add_order({**shop_order(299), "id": "gid://shopify/Order/7000000001", "name": "#1300"})  # buyer299: two
    sync(home, clock)
    mails = [mail(home, "named.eml", "buyer5@example.com", "Where is order #1005?", "It has not come."),
             mail(home, "only.eml", "Buyer8@Example.com", "Broken", "The box arrived crushed."),
             mail(home, "two.eml", "buyer299@example.com", "Question", "Which one shipped?"),
             mail(home, "stranger.eml", "someone@else.example", "Order #1007", "Is this mine?"),
             mail(home, "other.eml", "buyer9@example.com", "Re: order 1010", "Wrong number for me.")]
    deskterm = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-11-20T12:00:00Z"]
    subprocess.run([*deskterm, "import", *map(str, mails)], check=True, capture_output=True, timeout=60)
    linked = dict(rows(home, "SELECT m.message_id, t.order_id FROM messages m JOIN tickets t ON t.id = m.ticket_id"))
    assert linked == {"<named.eml@example.com>": "#1005",     # its number, from its buyer's address
                      "<only.eml@example.com>": "#1008",      # no number, but the buyer's only order
                      "<two.eml@example.com>": None,          # two orders and no number: the agent decides
                      "<stranger.eml@example.com>": None,     # a number from an address that did not order it
                      "<other.eml@example.com>": None}        # the buyer named another buyer's order


def test_sync_once_shopify_reports_and_a_wrong_token_fails_clearly(shopify) -> None:
    server, home, clock = shopify
    clock.real = True
    server.restore_rate = 2000  # a Shopify Plus bucket refills 20 times faster: this test waits for real
    deskterm = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-11-20T12:00:00Z"]
    result = subprocess.run([*deskterm, "sync", "once", "shop", "--json"], capture_output=True, text=True,
                            env=os.environ, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["channels"]["shop"]["fetched"] == {"orders": 300}
    assert TOKEN not in result.stdout + result.stderr
    later = [*deskterm[:-1], "2026-11-20T13:00:00Z"]
    wrong = subprocess.run([*later, "sync", "once", "shop"], capture_output=True, text=True,
                           env={**os.environ, "T_SHOPIFY_TOKEN": "shpat_wrong"}, timeout=60)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert "shop: failed: shop: Shopify refused DesktermOrders (HTTP 401)" in wrong.stdout


def test_an_mcf_order_shows_amazons_parcel_and_the_fba_catalogue(shopify) -> None:
    """Shop order #1004 went out through Amazon MCF: its lines get their FNSKU from the FBA ledger,
    and Amazon's Fulfilled Shipments row for it (merchant order id "#1004") shows on the order."""
    import test_claims

    server, home, clock = shopify
    sync(home, clock)
    fixtures = Path(__file__).parent / "fixtures" / "reports" / "amazon_fulfilled_shipments.txt"
    header, row = fixtures.read_text().splitlines()[:2]
    cells = row.split("\t")
    cells[0:2] = ["S01-4455667-8899001", "#1004"]
    cells[header.split("\t").index("sku")] = "SKU-4"
    shipments = home / "fulfilled.txt"
    shipments.write_text(f"{header}\n{chr(9).join(cells)}\n")
    ledger = home / "ledger.txt"
    ledger.write_text(test_claims.LEDGER + test_claims.ledger_row("2026-10-01", "X00SKU4", "SKU-4", "Receipts", "FBA9", 40))
    email = mail(home, "mcf.eml", "buyer4@example.com", "Order #1004 never came", "The parcel is lost.")
    deskterm = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-11-20T12:00:00Z"]
    subprocess.run([*deskterm, "import", str(shipments), str(ledger), str(email)], check=True, capture_output=True,
                   timeout=60)
    ticket = rows(home, "SELECT ticket_id FROM messages WHERE message_id = '<mcf.eml@example.com>'")[0][0]
    shown = json.loads(subprocess.run([*deskterm, "show", str(ticket), "--json"], check=True, capture_output=True,
                                      text=True, timeout=60).stdout)
    (mcf,) = shown["orders"]
    assert (mcf["order_id"], mcf["fulfillment_channel"], mcf["sales_channel"]) == ("#1004", "Amazon", "Shopify")
    assert {line["sku"]: line["fnsku"] for line in mcf["lines"]} == {"SKU-4": "X00SKU4", "GIFT-BOX": None}
    assert sorted((s["carrier"], s["fulfillment_center"]) for s in mcf["shipments"]) == [
        ("AMZN_US", "BFI4"), ("Amazon Logistics", None)]  # Amazon's report, and the shop's own record
    # the shop refunded MCF orders #1000, #1020, ... itself: Amazon owes nothing for those
    subprocess.run([*deskterm, "claims", "scan"], check=True, capture_output=True, timeout=60)
    claims = json.loads(subprocess.run([*deskterm, "claims", "list", "--all", "--json"], check=True,
                                       capture_output=True, text=True, timeout=60).stdout)
    assert rows(home, "SELECT count(*) FROM refunds r JOIN orders o USING (order_id)"
                      " WHERE o.fulfillment_channel = 'Amazon'") == [(15,)] and claims == []


def test_an_order_with_more_lines_than_a_page_is_read_whole(shopify) -> None:
    server, home, clock = shopify
    lines = [line_item(90_000 + k, f"BULK-{k:02d}") for k in range(45)]
    server.add_order(order(400, NOW - dt.timedelta(days=1), lines=lines,
                           refunds=[refund(400, stamp(NOW - dt.timedelta(days=1)), [(lines[k], 1)], index=k + 1)
                                    for k in range(12)]))
    report = sync(home, clock)
    assert rows(home, "SELECT count(*) FROM order_lines WHERE order_id = '#1400'") == [(45,)]
    assert [c.variables["after"] is not None for c in server.calls("DesktermOrderLines")] == [True]  # 20, then 25
    assert report.events == ["Shopify order #1400: the first 10 refunds were read; it may have more"]
