"""The SP-API channel's orders against the loopback SP-API and LWA server (tests/spapi_server.py),
through the real python-amazon-sp-api client: paging, faults, an expired token and NextToken, and
`deskterm sync once amazon-us`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from spapi_server import SpApiServer
from test_spapi_server import order, order_item

from deskterm.cli import Session
from deskterm.clock import Clock
from deskterm.sync.amazon import AmazonConnector
from deskterm.sync.amazon.calls import Caller
from deskterm.sync.base import SyncReport

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
server_now = [NOW]  # the loopback server's clock; a test that moves it puts it back
SECRETS = {"T_SP_REFRESH": "", "T_LWA_ID": "amzn1.application-oa2-client.test", "T_LWA_SECRET": "not-a-secret"}


@pytest.fixture
def amazon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """A seller account with 250 FBA orders updated over the last 30 days (or `@pytest.mark.orders(n)`),
    and a workspace for it."""
    marker = request.node.get_closest_marker("orders")
    count = marker.args[0] if marker else 250
    refresh = f"Atzr|{request.node.name}"  # the library caches tokens by refresh token, process-wide
    monkeypatch.setenv("T_SP_REFRESH", refresh)
    for key in ("T_LWA_ID", "T_LWA_SECRET"):
        monkeypatch.setenv(key, SECRETS[key])
    server = SpApiServer(refresh_token=refresh, client_id=SECRETS["T_LWA_ID"], client_secret=SECRETS["T_LWA_SECRET"],
                         now=lambda: server_now[0], report_polls=0)  # reports ready at once; see test_reports_*
    for n in range(count):
        server.add_order(order(n, NOW - dt.timedelta(days=30) + dt.timedelta(hours=2 * n)),
                         [order_item(n, sku=f"SKU-{n % 7}")])
    home = tmp_path / "ws"
    home.mkdir()
    with server:
        (home / "config.toml").write_text(
            '[channels.amazon-us]\nkind = "amazon"\nregion = "na"\nmarketplaces = ["ATVPDKIKX0DER"]\n'
            'refresh_token_env = "T_SP_REFRESH"\nlwa_app_id_env = "T_LWA_ID"\nlwa_client_secret_env = "T_LWA_SECRET"\n'
            f'endpoint = "{server.endpoint}"\nlwa_token_url = "{server.token_url}"\nhistory_days = 60\n')
        yield server, home


def pull(home: Path, waits: list[float] | None = None, now: dt.datetime = NOW) -> SyncReport:
    session = Session(home=str(home), clock=Clock(now))
    report = SyncReport()
    caller = Caller(sleep=(waits.append if waits is not None else lambda _s: None))
    AmazonConnector(session.store, "amazon-us", session.config.channels["amazon-us"], home / "downloads",
                    caller).pull(report)
    session.close()
    return report


def counts(home: Path) -> tuple[int, int, int]:
    import sqlite3

    with sqlite3.connect(home / "deskterm.db") as conn:
        return conn.execute("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines),"
                            " (SELECT count(DISTINCT order_id) FROM order_lines)").fetchone()


def test_first_sync_pages_and_a_second_finds_nothing_new(amazon) -> None:
    server, home = amazon
    assert pull(home).fetched["orders"] == 250
    assert counts(home) == (250, 250, 250)
    assert len(server.calls("getOrders")) == 3 and len(server.calls("getOrderItems")) == 250
    assert pull(home).fetched["orders"] == 0 and len(server.calls("getOrders")) == 3  # no window has opened yet
    server_now[0] = NOW + dt.timedelta(hours=1)
    try:
        assert pull(home, now=server_now[0]).fetched["orders"] == 0 and len(server.calls("getOrders")) == 4
    finally:
        server_now[0] = NOW
    later = server.calls("getOrders")[-1]  # the next window starts where the last ended
    assert (later["LastUpdatedAfter"], later["LastUpdatedBefore"]) == ("2026-11-20T11:58:00Z", "2026-11-20T12:58:00Z")


def test_faults_cost_retries_never_rows(amazon) -> None:
    server, home = amazon
    server.inject("getOrders", "429", "429", "500", "truncated")
    server.inject("getOrderItems", "503", "truncated")
    waits: list[float] = []
    assert pull(home, waits).fetched["orders"] == 250
    assert counts(home) == (250, 250, 250)
    assert len([w for w in waits if w > 0]) >= 4  # each fault waited (full jitter: some waits may be 0)


def test_an_expired_access_token_is_refreshed_once(amazon) -> None:
    server, home = amazon
    pull(home)
    server.expire_tokens()  # an hour later, the cached access token is dead
    later = NOW + dt.timedelta(hours=1)
    server.add_order(order(900, NOW + dt.timedelta(minutes=30)), [order_item(900)])
    server_now[0] = later
    try:
        assert pull(home, now=later).fetched["orders"] == 1
    finally:
        server_now[0] = NOW
    assert server.issued_tokens == 2


def test_an_expired_next_token_requeries_an_overlapping_window_without_duplicates(amazon) -> None:
    server, home = amazon
    server.inject("getOrders", "expired_next_token")
    report = pull(home)
    assert counts(home) == (250, 250, 250)
    assert report.fetched["orders"] >= 250  # the overlap is read again and absorbed
    windows = [c["LastUpdatedAfter"] for c in server.calls("getOrders") if "LastUpdatedAfter" in c]
    assert len(windows) == 2 and windows[1] < windows[0]  # the window again, ten minutes earlier


class Killed(Exception):
    pass


def test_a_sync_cut_off_mid_page_resumes_at_that_page(amazon) -> None:
    server, home = amazon
    calls = 0

    def dies_on_the_150th_call(_seconds: float) -> None:  # page 1 (1 + 100 calls) is committed by then
        nonlocal calls
        calls += 1
        if calls == 150:
            raise Killed

    session = Session(home=str(home), clock=Clock(NOW))
    with pytest.raises(Killed):
        AmazonConnector(session.store, "amazon-us", session.config.channels["amazon-us"], home / "downloads",
                        Caller(sleep=dies_on_the_150th_call)).pull(SyncReport())
    session.close()
    assert counts(home) == (100, 100, 100)
    assert pull(home).fetched["orders"] == 150
    assert counts(home) == (250, 250, 250)
    assert len([c for c in server.calls("getOrders") if "LastUpdatedAfter" in c]) == 1  # resumed by NextToken


@pytest.mark.orders(20)  # within getOrderItems' burst of 30: its 0.5 requests/s are waited for for real here
def test_sync_once_reports_what_it_fetched(amazon) -> None:
    server, home = amazon
    env = {**os.environ}
    result = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-11-20T12:00:00Z",
                             "sync", "once", "amazon-us", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    channel = json.loads(result.stdout)["channels"]["amazon-us"]
    assert channel == {"ok": True, "fetched": {"orders": 20}, "sent": 0, "error": None, "events": []}
    assert counts(home) == (20, 20, 20)
    assert SECRETS["T_LWA_SECRET"] not in result.stdout + result.stderr


FIXTURES = Path(__file__).parent / "fixtures" / "reports"


def test_reports_load_through_the_import_parsers_and_make_claims(amazon) -> None:
    import sqlite3

    server, home = amazon
    server.add_report("GET_LEDGER_DETAIL_VIEW_DATA", (FIXTURES / "ledger_detail.txt").read_text())
    server.add_report("GET_FBA_REIMBURSEMENTS_DATA", (FIXTURES / "reimbursements.txt").read_text())
    server.add_report("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", (FIXTURES / "customer_returns.txt").read_text())
    report = pull(home)
    assert (report.fetched["ledger"], report.fetched["reimbursements"], report.fetched["returns"]) == (10, 6, 6)
    assert len(server.calls("createReport")) == len(server.calls("getReportDocument")) + 3  # 3 types had no data
    with sqlite3.connect(home / "deskterm.db") as conn:
        sources = {row[0] for row in conn.execute("SELECT DISTINCT source_file FROM ledger_events")}
    assert len(sources) == 1 and sources.pop().startswith("SP-API GET_LEDGER_DETAIL_VIEW_DATA report ")
    assert pull(home).fetched["ledger"] == 0  # not due again yet; nothing twice
    deskterm = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-06-30T12:00:00Z"]
    subprocess.run([*deskterm, "claims", "scan"], check=True, capture_output=True, timeout=60)
    listed = subprocess.run([*deskterm, "claims", "list", "--all", "--json"], capture_output=True, text=True, timeout=60)
    assert "fc_lost" in {claim["kind"] for claim in json.loads(listed.stdout)}


def test_a_report_still_being_built_is_polled_again_not_requested_again(amazon) -> None:
    server, home = amazon
    server.report_polls = 40  # longer than one pass polls
    server.add_report("GET_LEDGER_DETAIL_VIEW_DATA", (FIXTURES / "ledger_detail.txt").read_text())
    assert pull(home).fetched["ledger"] == 0
    created = len(server.calls("createReport"))
    assert pull(home).fetched["ledger"] == 10
    assert len(server.calls("createReport")) == created  # the pending reports were picked up again


def test_inbound_shipments_give_an_inbound_shortfall_claim(amazon) -> None:
    import sqlite3

    from test_spapi_server import inbound_item, inbound_shipment

    server, home = amazon
    server.add_shipment(inbound_shipment("FBA15DJ9SVVD", "CLOSED"), items=[inbound_item("SKU-1", "X001TORCH1", 24, 20)],
                        last_updated="2026-11-05T10:00:00Z")
    server.add_shipment(inbound_shipment("FBA15DJ9SVVE", "RECEIVING"),
                        items=[inbound_item("SKU-2", "X001TORCH2", 10, 4)], last_updated="2026-11-10T10:00:00Z")
    server.add_report("GET_LEDGER_DETAIL_VIEW_DATA",  # the first receipt dates the delivery: 11/01
                      "Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
                      "Disposition\tReason\tCountry\n11/01/2026\tX001TORCH1\tB0T1\tSKU-1\tTorch\tReceipts\t"
                      "FBA15DJ9SVVD\t20\tPHX7\tSELLABLE\t\tUS\n")
    assert pull(home).fetched["inbound"] == 2
    assert pull(home).fetched["inbound"] == 0  # the next window has nothing new
    with sqlite3.connect(home / "deskterm.db") as conn:
        assert conn.execute("SELECT shipment_id, sku, fnsku, quantity_shipped, quantity_received FROM inbound_lines"
                            " ORDER BY shipment_id").fetchall() == [("FBA15DJ9SVVD", "SKU-1", "X001TORCH1", 24, 20),
                                                                     ("FBA15DJ9SVVE", "SKU-2", "X001TORCH2", 10, 4)]
    deskterm = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-11-20T12:00:00Z"]
    subprocess.run([*deskterm, "claims", "scan"], check=True, capture_output=True, timeout=60)
    claims = json.loads(subprocess.run([*deskterm, "claims", "list", "--json"], capture_output=True, text=True,
                                       timeout=60).stdout)
    assert [(c["kind"], c["shipment_id"], c["quantity"], c["window_opens"], c["deadline"]) for c in claims] == [
        ("inbound_shortfall", "FBA15DJ9SVVD", 4, "2026-11-16", "2026-12-31")]


def test_refunds_from_financial_events_match_the_settlement_reports_keys(amazon) -> None:
    import sqlite3

    from test_spapi_server import shipment_event

    server, home = amazon
    refund = shipment_event("113-0000007-0055433", NOW - dt.timedelta(days=5))
    refund["ShipmentItemAdjustmentList"] = [{
        "SellerSKU": "TORCH-01", "QuantityShipped": 1,
        "ItemChargeAdjustmentList": [{"ChargeType": "Principal",
                                      "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -24.99}}]}]
    del refund["ShipmentItemList"]
    server.add_financial_events("RefundEventList", [refund])
    server.add_financial_events("ShipmentEventList", [shipment_event("113-0000007-0055433", NOW - dt.timedelta(days=9))])
    server.add_financial_events("AdjustmentEventList", [{
        "AdjustmentType": "FBAInventoryReimbursement", "PostedDate": "2026-11-12T08:00:00Z",
        "AdjustmentAmount": {"CurrencyCode": "USD", "CurrencyAmount": 31.40},
        "AdjustmentItemList": [{"Quantity": "2", "SellerSKU": "TORCH-01", "FnSKU": "X001TORCH1",
                                "PerUnitAmount": {"CurrencyCode": "USD", "CurrencyAmount": 15.70},
                                "TotalAmount": {"CurrencyCode": "USD", "CurrencyAmount": 31.40}}]}])
    server.inject("listFinancialEvents", "429", "truncated")
    first = pull(home).fetched
    assert (first["refunds"], first["fees"], first["adjustments"]) == (1, 2, 1)
    with sqlite3.connect(home / "deskterm.db") as conn:  # forget the cursor: the whole window is read again
        conn.execute("DELETE FROM sync_state WHERE scope = 'finances'")
    again = pull(home).fetched
    assert (again["refunds"], again["fees"], again["adjustments"]) == (0, 0, 0)
    with sqlite3.connect(home / "deskterm.db") as conn:
        assert conn.execute("SELECT order_id, sku, marketplace, refund_date, quantity, amount, currency, source"
                            " FROM refunds").fetchall() == [
            ("113-0000007-0055433", "TORCH-01", "US", "2026-11-15", 1, "-24.99", "USD", "finances")]
        assert conn.execute("SELECT event_group, posted_at, order_id, sku, fnsku, type, quantity, amount FROM"
                            " financial_events ORDER BY id").fetchall() == [
            ("fee", "2026-11-11T12:00:00Z", "113-0000007-0055433", "TORCH-01", None, "Commission", 1, "-3.75"),
            ("fee", "2026-11-11T12:00:00Z", "113-0000007-0055433", "TORCH-01", None, "FBAPerUnitFulfillmentFee", 1,
             "-4.75"),
            ("adjustment", "2026-11-12T08:00:00Z", None, "TORCH-01", "X001TORCH1", "FBAInventoryReimbursement", 2,
             "31.4")]


def test_a_sync_brings_what_every_claim_kind_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """test_claims' hand-computed account, served by the SP-API instead of files: after `sync once`
    and `claims scan`, every kind of claim is there."""
    import test_claims

    now = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("T_SP_REFRESH", "Atzr|every-kind")
    for key in ("T_LWA_ID", "T_LWA_SECRET"):
        monkeypatch.setenv(key, SECRETS[key])
    files = {path.name: path for path in test_claims.write_inputs(tmp_path / "reports")}
    server = SpApiServer(refresh_token="Atzr|every-kind", client_id=SECRETS["T_LWA_ID"],
                         client_secret=SECRETS["T_LWA_SECRET"], now=lambda: now, report_polls=0)
    sites = {"Amazon.com": "ATVPDKIKX0DER", "Amazon.de": "A1PA6795UKMFR9"}
    for order_id, day, status, channel, site, sku, quantity, currency, price in test_claims.ORDERS:
        stamp = f"{day}T10:00:00Z"
        server.add_order({"AmazonOrderId": order_id, "PurchaseDate": stamp, "LastUpdateDate": stamp,
                          "OrderStatus": status, "FulfillmentChannel": "AFN" if channel == "Amazon" else "MFN",
                          "SalesChannel": site, "MarketplaceId": sites[site],
                          "OrderTotal": {"CurrencyCode": currency, "Amount": price}},
                         [{"SellerSKU": sku, "ASIN": "B0" + sku, "OrderItemId": order_id[-7:], "QuantityOrdered": quantity,
                           "ItemPrice": {"CurrencyCode": currency, "Amount": price}}])
    for line in files["transactions.csv"].read_text().splitlines()[2:]:
        posted, _s, _t, order_id, sku, _d, quantity, site, _f, sales, _total = [c.strip('"') for c in line.split('","')]
        server.add_financial_events("RefundEventList", [{
            "AmazonOrderId": order_id, "PostedDate": posted, "MarketplaceName": site.capitalize(),
            "ShipmentItemAdjustmentList": [{"SellerSKU": sku, "QuantityShipped": int(quantity),
                                            "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": {
                                                "CurrencyCode": "EUR" if site.endswith(".de") else "USD",
                                                "CurrencyAmount": float(sales)}}]}]}])
    ledger = files["ledger.txt"].read_text() + test_claims.ledger_row("2026-05-20", "X1", "SKU-A", "Receipts", "FBA1", 95)
    server.add_report("GET_LEDGER_DETAIL_VIEW_DATA", ledger)
    server.add_report("GET_FBA_REIMBURSEMENTS_DATA", files["reimbursements.txt"].read_text())
    server.add_report("GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", files["returns.txt"].read_text())
    server.add_shipment({"ShipmentId": "FBA1", "ShipmentName": "May restock", "ShipmentStatus": "CLOSED"},
                        items=[{"SellerSKU": "SKU-A", "FulfillmentNetworkSKU": "X1", "QuantityShipped": 100,
                                "QuantityReceived": 95}], last_updated="2026-05-21T10:00:00Z")
    home = tmp_path / "ws"
    home.mkdir()
    with server:
        (home / "config.toml").write_text(
            '[channels.amazon]\nkind = "amazon"\nregion = "eu"\nmarketplaces = ["ATVPDKIKX0DER", "A1PA6795UKMFR9"]\n'
            'refresh_token_env = "T_SP_REFRESH"\nlwa_app_id_env = "T_LWA_ID"\nlwa_client_secret_env = "T_LWA_SECRET"\n'
            f'endpoint = "{server.endpoint}"\nlwa_token_url = "{server.token_url}"\nhistory_days = 365\n')
        session = Session(home=str(home), clock=Clock(now))
        report = SyncReport()
        AmazonConnector(session.store, "amazon", session.config.channels["amazon"], home / "downloads",
                        Caller(sleep=lambda _s: None)).pull(report)
        session.close()
    deskterm = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-06-30T12:00:00Z"]
    subprocess.run([*deskterm, "import", str(files["costs.csv"])], check=True, capture_output=True, timeout=60)
    subprocess.run([*deskterm, "claims", "scan"], check=True, capture_output=True, timeout=60)
    listed = json.loads(subprocess.run([*deskterm, "claims", "list", "--all", "--json"], capture_output=True,
                                       text=True, timeout=60).stdout)
    from deskterm.reconcile.policy import KINDS

    assert {claim["kind"] for claim in listed} == set(KINDS)
    assert report.fetched["orders"] == len(test_claims.ORDERS) and report.fetched["refunds"] == 12


def run_under_a_terminal(command: list[str], until=None) -> tuple[int, str, str]:
    """`command` with its stderr on a pseudo-terminal (so deskterm draws its progress there), killed
    with SIGKILL once `until()` holds. Returns the exit status, stdout, and what the terminal showed."""
    import pty
    import signal
    import threading
    import time

    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    shown: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process is gone
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while until is not None and process.poll() is None and time.monotonic() < deadline:
        if until():
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    stdout = process.communicate(timeout=240)[0].decode()
    reader.join(timeout=10)
    os.close(master)
    return process.returncode, stdout, b"".join(shown).decode(errors="replace")


def test_a_first_sync_of_two_years_shows_progress_and_resumes_after_kill_9(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`deskterm sync once amazon-us` over two years of history, as a real process: SIGKILLed in the
    middle of the orders, then run again to the end. Nothing lost, nothing twice, the second run
    starts where the first stopped, and a terminal shows each phase's progress."""
    import re
    import sqlite3

    from test_spapi_server import shipment_event

    monkeypatch.setenv("T_SP_REFRESH", "Atzr|two-years")
    for key in ("T_LWA_ID", "T_LWA_SECRET"):
        monkeypatch.setenv(key, SECRETS[key])
    start = NOW - dt.timedelta(days=730)
    server = SpApiServer(refresh_token="Atzr|two-years", client_id=SECRETS["T_LWA_ID"],
                         client_secret=SECRETS["T_LWA_SECRET"], now=lambda: NOW, report_polls=0,
                         page_sizes={"getOrders": 25},   # several pages per 90-day window
                         rates={operation: "200" for operation in ("getOrders", "getOrderItems", "createReport",
                                                                    "getReportDocument", "listFinancialEvents")})
    for n in range(600):  # one order every 29 hours, from two years ago
        server.add_order(order(n, start + dt.timedelta(hours=1 + 29 * n)), [order_item(n, sku=f"SKU-{n % 7}")])
    for n in range(48):   # a refund every 15 days: the refunds span five 180-day windows
        refund = shipment_event(f"113-{n:07d}-{(n * 7919) % 10_000_000:07d}", start + dt.timedelta(days=1 + 15 * n))
        refund["ShipmentItemAdjustmentList"] = [{
            "SellerSKU": "TORCH-01", "QuantityShipped": 1, "ItemChargeAdjustmentList": [
                {"ChargeType": "Principal", "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": -24.99}}]}]
        del refund["ShipmentItemList"]
        server.add_financial_events("RefundEventList", [refund])
    for report_type, fixture in (("GET_LEDGER_DETAIL_VIEW_DATA", "ledger_detail.txt"),
                                 ("GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA", "removal_order_detail.txt"),
                                 ("GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA", "removal_shipment_detail.txt")):
        server.add_report(report_type, (FIXTURES / fixture).read_text())
    home = tmp_path / "ws"
    home.mkdir()
    command = [sys.executable, "-m", "deskterm", "--home", str(home), "--now", "2026-11-20T12:00:00Z",
               "sync", "once", "amazon-us"]
    with server:
        (home / "config.toml").write_text(
            '[channels.amazon-us]\nkind = "amazon"\nregion = "na"\nmarketplaces = ["ATVPDKIKX0DER"]\n'
            'refresh_token_env = "T_SP_REFRESH"\nlwa_app_id_env = "T_LWA_ID"\nlwa_client_secret_env = "T_LWA_SECRET"\n'
            f'endpoint = "{server.endpoint}"\nlwa_token_url = "{server.token_url}"\nhistory_days = 730\n')
        status, _out, first_terminal = run_under_a_terminal(
            command, until=lambda: len(server.calls("getOrderItems")) >= 250)
        assert status == -9
        committed = counts(home)[0]
        assert 100 <= committed < 250 and counts(home) == (committed, committed, committed)
        queries_before, items_before = len(server.calls("getOrders")), len(server.calls("getOrderItems"))

        status, out, terminal = run_under_a_terminal(command)
    assert status == 0, out + terminal
    assert counts(home) == (600, 600, 600)
    fetched = dict((kind, int(n)) for n, kind in re.findall(r"(\d+) (\w+)", out.split(":", 1)[1].split(", 0 sent")[0]))
    assert fetched == {"orders": 600 - committed, "refunds": 48, "ledger": 10, "removals": 11}
    resumed = server.calls("getOrders")[queries_before]
    assert "NextToken" in resumed or resumed["LastUpdatedAfter"] > "2024-11-20T12:00:00Z"  # not from the start
    assert len(server.calls("getOrderItems")) - items_before == 600 - committed  # only the page cut off twice

    windows = [(c["PostedAfter"], c["PostedBefore"]) for c in server.calls("listFinancialEvents") if "PostedAfter" in c]
    assert [w[0] for w in windows[1:]] == [w[1] for w in windows[:-1]] and len(windows) == 5  # back to back
    assert windows[0][0] == "2024-11-20T11:58:00Z" and windows[-1][1] == "2026-11-20T11:58:00Z"
    assert all(dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a) <= dt.timedelta(days=180) for a, b in windows)
    with sqlite3.connect(home / "deskterm.db") as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT order_id) FROM refunds").fetchone() == (48, 48)
        assert conn.execute("SELECT (SELECT count(*) FROM removal_orders), (SELECT count(*) FROM removal_shipments)"
                            ).fetchone() == (6, 5)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    checked = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "index", "check", "--json"],
                             capture_output=True, text=True, timeout=60)
    assert json.loads(checked.stdout)["ok"], checked.stdout

    assert re.search(r"amazon-us orders US \[#*\.+\] \d+/730 days", first_terminal)  # part of the way
    assert int(re.search(r"orders US \[[#.]+\] (\d+)/730 days", terminal)[1]) >= 90  # the bar goes on where it was
    for finished in ("amazon-us orders US [" + "#" * 30 + "] 730/730 days",
                     "amazon-us reports [" + "#" * 30 + "] 6/6 reports",
                     "amazon-us refunds [" + "#" * 30 + "] 730/730 days"):
        assert finished in terminal
