"""`deskterm import` on hand-written Seller Central report files (tests/fixtures/reports).

Every test runs the real console entry point (`python -m deskterm`) in a fresh workspace,
checks the `--json` document and exit code against the CLI contract (DESIGN.md), and reads
the SQLite store directly to check what was kept: dates in UTC, decimals as exact text,
Amazon's codes untouched.
"""

from __future__ import annotations

import csv

import gzip
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
NOW = "2026-06-30T12:00:00Z"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def deskterm(home: Path, *args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW, *map(str, args)],
        capture_output=True, text=True, timeout=timeout,
    )


def run_import(home: Path, *paths: Path, timeout: float = 60) -> tuple[int, dict[str, Any], str]:
    """Run `deskterm import PATH... --json`; return (exit code, JSON document, stderr)."""
    result = deskterm(home, "import", *paths, "--json", timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    assert "unexpected error" not in result.stderr, result.stderr
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:  # pragma: no cover - reported by the assertion below
        pytest.fail(f"import --json did not print one JSON document (exit {result.returncode}):\n"
                    f"stdout={result.stdout!r}\nstderr={result.stderr!r}")
    assert set(document) == {"imported", "duplicates", "rejected"}, document
    return result.returncode, document, result.stderr


def query(home: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(home / "deskterm.db")
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def quarantine(home: Path) -> list[dict[str, Any]]:
    result = deskterm(home, "quarantine", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def status(home: Path) -> dict[str, Any]:
    result = deskterm(home, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def fixture_lines(name: str, encoding: str = "utf-8") -> list[str]:
    """The physical lines of a fixture, as text, without their terminators."""
    return (FIXTURES / name).read_bytes().decode(encoding).splitlines()


# --------------------------------------------------------------------------------------------
# every report type: count, stored values, idempotent re-import
# --------------------------------------------------------------------------------------------

Check = tuple[str, list[tuple[Any, ...]]] | Callable[[Path], None]


def _summary_fields_keep_balances(home: Path) -> None:
    rows = query(home, "SELECT fields FROM ledger_summary WHERE fnsku = 'X001EFGH34' AND disposition = 'SELLABLE'")
    assert len(rows) == 1
    values = list(json.loads(rows[0][0]).values())
    assert 188 in values or "188" in values      # Starting Warehouse Balance
    assert 306 in values or "306" in values      # Ending Warehouse Balance


CASES: list[tuple[str, str, int, list[Check]]] = [
    ("all_orders.txt", "orders", 8, [
        ("SELECT count(*) FROM orders", [(7,)]),
        ("SELECT count(*) FROM order_lines", [(8,)]),
        # -07:00 late in the evening: the UTC instant falls on the next day
        ("SELECT purchase_date, last_updated, status, marketplace, fulfillment_channel FROM orders "
         "WHERE order_id = '113-9917462-5530612'",
         [("2026-05-04T05:10:00Z", "2026-05-05T15:40:19Z", "Shipped", "US", "Amazon")]),
        ("SELECT sku, quantity, item_price, item_tax, currency FROM order_lines "
         "WHERE order_id = '113-9917462-5530612' ORDER BY sku",
         [("BCB-3PC-NAT", 2, "49.98", "4.12", "USD"), ("SSK-STRAW-4", 1, "12.49", "0.00", "USD")]),
        ("SELECT status FROM orders WHERE order_id = '112-0459381-7761023'", [("Cancelled",)]),
        ("SELECT fulfillment_channel FROM orders WHERE order_id = '114-8106623-4402658'", [("Merchant",)]),
        ("SELECT item_price FROM order_lines WHERE order_id = '111-7702914-3361847'", [(None,)]),
    ]),
    ("customer_returns.txt", "returns", 6, [
        ("SELECT return_date, disposition, reason, status, license_plate_number FROM returns "
         "WHERE order_id = '113-2048113-7720458'",
         [("2026-05-24T01:15:09Z", "DAMAGED", "DAMAGED_BY_FC", "Reimbursed", "LPNRR9904417")]),
        ("SELECT return_date, disposition, customer_comments FROM returns WHERE order_id = '114-2962899-5762619'",
         [("2026-05-22T18:45:00Z", "CARRIER_DAMAGED", "Box was crushed on arrival")]),
        ("SELECT return_date, fnsku, quantity, fulfillment_center FROM returns "
         "WHERE order_id = '113-9917462-5530612'",
         [("2026-05-21T16:02:11Z", "X001EFGH34", 1, "PHX6")]),
        ("SELECT status FROM returns WHERE license_plate_number = 'LPNRR1023388'", [("IMMEDIATE_DONATION",)]),
    ]),
    ("customer_returns_amazon_order_id.txt", "returns", 5, [
        ("SELECT order_id, return_date, quantity, disposition FROM returns "
         "WHERE license_plate_number = 'LPNGB2207710'",
         [("026-4471905-3318246", "2026-05-20T07:02:44Z", 2, "CARRIER_DAMAGED")]),
        ("SELECT count(*) FROM returns WHERE order_id IS NULL OR order_id = ''", [(0,)]),
        ("SELECT customer_comments FROM returns WHERE order_id = '204-9903318-2275840'",
         [("cracked along the grain",)]),
    ]),
    ("ledger_detail.txt", "ledger", 10, [
        ("SELECT count(*) FROM ledger_events", [(10,)]),
        # the two genuinely identical Shipments rows are both kept
        ("SELECT event_date, event_time, quantity, source_line FROM ledger_events "
         "WHERE fnsku = 'X001ABCD12' AND event_type = 'Shipments' ORDER BY source_line",
         [("2026-05-03", "2026-05-04T04:12:00Z", -1, 3), ("2026-05-03", "2026-05-04T04:12:00Z", -1, 4)]),
        ("SELECT event_date, quantity, reason, reconciled_quantity, unreconciled_quantity, reference_id "
         "FROM ledger_events WHERE reason = 'M'",
         [("2026-05-05", -3, "M", 0, 3, "8834921015")]),
        ("SELECT disposition, quantity FROM ledger_events WHERE reason = 'P'", [("WAREHOUSE_DAMAGED", 1)]),
        ("SELECT msku, reference_id, quantity FROM ledger_events WHERE event_type = 'Receipts' ORDER BY event_date",
         [("BCB-3PC-NAT", "FBA18ZK4QX2T", 120), ("DTB-GRN-S", "FBA18ZM7RT4P", 48)]),
    ]),
    ("ledger_summary.txt", "ledger", 5, [
        ("SELECT count(*) FROM ledger_summary", [(5,)]),
        ("SELECT count(*) FROM ledger_events", [(0,)]),
        ("SELECT summary_date, msku, disposition, location FROM ledger_summary "
         "WHERE fnsku = 'X001EFGH34' ORDER BY disposition",
         [("2026-05-31", "SSK-STRAW-4", "SELLABLE", "US"), ("2026-05-31", "SSK-STRAW-4", "WAREHOUSE_DAMAGED", "US")]),
        _summary_fields_keep_balances,
    ]),
    ("reimbursements.txt", "reimbursements", 6, [
        ("SELECT approval_date, case_id, order_id, reason, amount_per_unit, amount_total, currency "
         "FROM reimbursements WHERE reimbursement_id = '2962014476'",
         [("2026-05-15T23:40:12Z", "11437729051", "114-2962899-5762619", "CustomerReturn", "19.99", "19.99",
           "USD")]),
        ("SELECT amount_per_unit, amount_total, quantity_cash FROM reimbursements "
         "WHERE reimbursement_id = '2961847503'", [("18.40", "36.80", 2)]),
        ("SELECT amount_per_unit, quantity_cash, original_reimbursement_id, original_reimbursement_type "
         "FROM reimbursements WHERE reason = 'Reimbursement_Reversal'",
         [("-18.40", -1, "2961847503", "Lost_Warehouse")]),
        ("SELECT quantity_cash, quantity_inventory, quantity_total, amount_per_unit FROM reimbursements "
         "WHERE reason = 'Lost_Inbound'", [(0, 2, 2, "0.00")]),
    ]),
    ("settlement_v2.txt", "settlement", 12, [
        # currency and settlement dates are on the summary row only: carried forward to every line
        ("SELECT currency, count(*) FROM settlement_lines GROUP BY currency", [("EUR", 12)]),
        ("SELECT DISTINCT settlement_start, settlement_end, deposit_date FROM settlement_lines",
         [("2026-05-01T08:14:12Z", "2026-05-15T08:14:12Z", "2026-05-17T08:14:12Z")]),
        ("SELECT amount, posted_at, sku, currency FROM settlement_lines WHERE transaction_type = 'Refund' "
         "AND amount_type = 'ItemPrice' AND amount_description = 'Principal'",
         [("-24.99", "2026-05-10T16:15:02Z", "BCB-3PC-NAT", "EUR")]),
        ("SELECT amount FROM settlement_lines WHERE amount_description = 'Subscription Fee'", [("-39.00",)]),
        ("SELECT order_id, sku, refund_date, amount, currency, source FROM refunds",
         [("302-5512837-4471520", "BCB-3PC-NAT", "2026-05-10", "-24.99", "EUR", "settlement")]),
    ]),
    ("date_range_transactions.csv", "settlement", 7, [
        ("SELECT DISTINCT currency FROM transactions", [("EUR",)]),    # from 'All amounts in EUR'
        ("SELECT min(source_line), max(source_line) FROM transactions", [(9, 15)]),  # 7 preamble lines
        ("SELECT posted_at, quantity, product_sales, total FROM transactions "
         "WHERE order_id = '304-2209175-7728301'",
         [("2026-05-08T11:02:47Z", 50, "1049.00", "743.15")]),
        ("SELECT total FROM transactions WHERE type = 'Transfer'", [("-1234.56",)]),
        ("SELECT posted_at, product_sales, total FROM transactions WHERE type = 'Refund'",
         [("2026-05-10T16:15:02Z", "-24.99", "-21.99")]),
        ("SELECT order_id, sku, refund_date, amount, currency, source FROM refunds",
         [("302-5512837-4471520", "BCB-3PC-NAT", "2026-05-10", "-24.99", "EUR", "date_range")]),
    ]),
    ("removal_order_detail.txt", "removals", 6, [
        ("SELECT request_date, last_updated, order_type, order_status, disposition, disposed_quantity, removal_fee "
         "FROM removal_orders WHERE order_id = 'DSP8812KQ4'",
         [("2026-04-20T16:00:00Z", "2026-04-29T18:45:00Z", "Disposal", "Completed", "Unsellable", 4, "0.60")]),
        ("SELECT sku, shipped_quantity FROM removal_orders WHERE order_id = 'XW4R7T2KQ1' ORDER BY sku",
         [("BCB-3PC-NAT", 2), ("DTB-GRN-S", 6)]),
        ("SELECT order_status, cancelled_quantity, removal_fee, currency FROM removal_orders "
         "WHERE order_id = 'RMV5501XZ8'", [("Cancelled", 3, "0.00", "USD")]),
    ]),
    ("removal_shipment_detail.txt", "removals", 5, [
        # `removal-date` and `quantity-shipped` spellings
        ("SELECT request_date, shipment_date, sku, shipped_quantity, carrier, tracking_number "
         "FROM removal_shipments WHERE order_id = 'RMV7731AB2' ORDER BY sku",
         [("2026-05-01T16:03:55Z", "2026-05-09T09:18:30Z", "BCB-3PC-NAT", 1, "FEDEX", "771234567890"),
          ("2026-05-01T16:03:55Z", "2026-05-09T09:18:30Z", "SSK-STRAW-4", 3, "USPS", "9400111899223197428490")]),
        ("SELECT count(*) FROM removal_shipments WHERE request_date IS NULL OR shipped_quantity IS NULL", [(0,)]),
        ("SELECT count(*) FROM removal_orders", [(0,)]),
    ]),
    ("sourcing_costs.csv", "costs", 6, [
        ("SELECT unit_cost, currency, marketplace, effective_date FROM sourcing_costs "
         "WHERE sku = 'DTB-GRN-S' ORDER BY currency",
         [("4.20", "EUR", "DE", "2026-02-15"), ("4.75", "USD", "US", None)]),
        ("SELECT unit_cost, effective_date FROM sourcing_costs WHERE sku = 'BCB-3PC-NAT' AND currency = 'USD' "
         "ORDER BY effective_date", [("8.40", "2026-01-01"), ("8.95", "2026-04-01")]),
    ]),
    ("inbound_lines.csv", "inbound", 5, [
        ("SELECT shipment_id, name, status, delivered_date FROM inbound_shipments ORDER BY shipment_id",
         [("FBA18ZK4QX2T", "LEX1 restock 28 Apr", "CLOSED", "2026-05-01"),
          ("FBA18ZM7RT4P", "ONT8 towels, May", "RECEIVING", "2026-05-14"),
          ("FBA18ZQ2WV9N", "PHX6 straws", "SHIPPED", None)]),
        ("SELECT fnsku, quantity_shipped, quantity_received FROM inbound_lines "
         "WHERE shipment_id = 'FBA18ZK4QX2T' AND sku = 'SSK-STRAW-4'", [("X001EFGH34", 200, 196)]),
    ]),
    ("amazon_fulfilled_shipments.txt", "orders", 4, [
        # the order header takes the first shipment's date, carrier and tracking, the last arrival
        ("SELECT order_id, marketplace, shipped_at, carrier, tracking, latest_delivery_date FROM orders "
         "ORDER BY order_id",
         [("113-4827163-2290641", "US", "2026-05-03T08:12:40Z", "AMZN_US", "TBA301234567890", "2026-05-07T03:00:00Z"),
          ("113-9917462-5530612", "US", "2026-05-05T01:02:11Z", "AMZN_US", "TBA301234599999", "2026-05-09T03:00:00Z"),
          ("114-3300218-9012745", "US", "2026-05-10T16:30:00Z", "USPS", "9400111899223197000001",
           "2026-05-14T03:00:00Z")]),
        ("SELECT shipment_date, sku, quantity, fulfillment_center FROM customer_shipments "
         "WHERE order_id = '113-9917462-5530612' ORDER BY shipment_date",
         [("2026-05-05T01:02:11Z", "BCB-3PC-NAT", 2, "LEX1"), ("2026-05-05T13:40:19Z", "SSK-STRAW-4", 1, "ONT8")]),
        # the buyer's name, e-mail and address columns are not kept anywhere
        lambda home: _nowhere_in_store(home, ("Jane Roe", "1 Main St", "k4x9p2m7q1r5t8w")),
    ]),
    ("returns_latin1.txt", "returns", 3, [
        ("SELECT return_date, customer_comments FROM returns WHERE license_plate_number = 'LPNFR3301127'",
         [("2026-05-26T08:05:00Z", "Produit arrivé cassé, très déçu")]),
        ("SELECT customer_comments FROM returns WHERE license_plate_number = 'LPNFR3302245'",
         [("Commandé par erreur",)]),
    ]),
    ("ledger_detail_semicolon_ddmmyyyy.csv", "ledger", 5, [
        # 03.05.2026 is the 3rd of May, not the 5th of March
        ("SELECT event_date, event_time, quantity, fulfillment_center, country FROM ledger_events "
         "WHERE reference_id = 'FBA15DE7XQ2M'",
         [("2026-05-03", "2026-05-03T14:22:10Z", 60, "LEJ1", "DE")]),
        ("SELECT event_date, reason, unreconciled_quantity FROM ledger_events WHERE event_type = 'Adjustments' "
         "ORDER BY event_date", [("2026-05-11", "5", 2), ("2026-05-25", "E", 1)]),
        ("SELECT min(event_date), max(event_date) FROM ledger_events", [("2026-05-03", "2026-05-25")]),
    ]),
]


def _nowhere_in_store(home: Path, needles: tuple[str, ...]) -> None:
    data = (home / "deskterm.db").read_bytes()
    wal = home / "deskterm.db-wal"
    data += wal.read_bytes() if wal.exists() else b""
    for needle in needles:
        assert needle.encode() not in data, needle


def test_shipments_and_orders_give_one_header_in_either_order(tmp_path: Path) -> None:
    columns = "SELECT * FROM orders ORDER BY order_id"
    for home, files in ((tmp_path / "a", ("all_orders.txt", "amazon_fulfilled_shipments.txt")),
                        (tmp_path / "b", ("amazon_fulfilled_shipments.txt", "all_orders.txt"))):
        for name in files:
            code, _, stderr = run_import(home, FIXTURES / name)
            assert code == 0, stderr
    assert query(tmp_path / "a", columns) == query(tmp_path / "b", columns)
    assert query(tmp_path / "a", "SELECT status, shipped_at, carrier FROM orders "
                                 "WHERE order_id = '113-4827163-2290641'") == [
        ("Shipped", "2026-05-03T08:12:40Z", "AMZN_US")]


def test_the_catalogue_learns_fnskus_from_the_ledger_and_returns(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    code, _, stderr = run_import(home, FIXTURES / "ledger_detail.txt", FIXTURES / "customer_returns.txt")
    assert code == 0, stderr
    learnt = query(home, "SELECT msku, fnsku, asin FROM skus ORDER BY msku, fnsku")
    ledger = query(home, "SELECT DISTINCT msku, fnsku, asin FROM ledger_events ORDER BY msku, fnsku")
    assert ledger and set(ledger) <= set(learnt)
    assert all(fnsku for _, fnsku, _ in learnt)


@pytest.mark.parametrize(("name", "kind", "rows", "checks"), CASES, ids=[c[0] for c in CASES])
def test_import_each_report_type(tmp_path: Path, name: str, kind: str, rows: int, checks: list[Check]) -> None:
    home = tmp_path / "ws"
    path = FIXTURES / name

    code, document, stderr = run_import(home, path)
    assert code == 0, (document, stderr)
    assert document["rejected"] == []
    assert document["imported"] == {kind: rows}
    assert document["duplicates"].get(kind, 0) == 0

    for check in checks:
        if callable(check):
            check(home)
        else:
            sql, expected = check
            assert query(home, sql) == expected, sql

    tables = ("orders", "order_lines", "returns", "refunds", "reimbursements", "ledger_events", "ledger_summary",
              "settlement_lines", "transactions", "removal_orders", "removal_shipments", "sourcing_costs",
              "inbound_shipments", "inbound_lines", "quarantine")
    before = {t: query(home, f"SELECT count(*) FROM {t}")[0][0] for t in tables}

    code, again, stderr = run_import(home, path)
    assert code == 0, (again, stderr)
    assert again["rejected"] == []
    assert again["imported"].get(kind, 0) == 0
    assert again["duplicates"] == {kind: rows}
    assert {t: query(home, f"SELECT count(*) FROM {t}")[0][0] for t in tables} == before


_NOT_REPORTS = ("empty.txt", "unknown_fee_preview.txt")  # rejected whole, by other tests


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if p.name not in _NOT_REPORTS))
def test_every_report_batch_crosses_to_the_writer_process_unchanged(tmp_path: Path, name: str) -> None:
    """A large file's batches reach the writer as bytes: every type's rows, hook rows, rejected
    rows and catalogue entries must come back equal (a parser returning a type the wire format
    cannot carry fails here, not in a user's import)."""
    from deskterm.reports.load import Batch, _ParseJob, _Writer, open_report
    from deskterm.store import Store

    path = FIXTURES / name
    report, _ = open_report(path)
    job = _ParseJob(path, name, _Writer(Store(tmp_path / "deskterm.db"), report, name).fields, "2026-06-01T00:00:00Z")
    batches = list(job.batches())
    assert sum(len(batch) for batch in batches) > 0 or name == "returns_header_only.txt"
    for batch in batches:
        assert Batch.from_bytes(batch.to_bytes()) == batch


def test_identical_ledger_rows_are_two_rows_and_stay_two(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    path = FIXTURES / "ledger_detail.txt"
    lines = fixture_lines("ledger_detail.txt")
    assert lines[2] == lines[3]  # the fixture really holds two identical rows

    sql = "SELECT count(*) FROM ledger_events WHERE event_type = 'Shipments' AND fnsku = 'X001ABCD12'"
    run_import(home, path)
    assert query(home, sql) == [(2,)]
    run_import(home, path)
    assert query(home, sql) == [(2,)]
    # the same bytes gzipped (an SP-API report document) are the same rows
    packed = tmp_path / "ledger_detail.txt.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    code, document, _ = run_import(home, packed)
    assert code == 0
    assert document["imported"].get("ledger", 0) == 0 and document["duplicates"] == {"ledger": 10}
    assert query(home, sql) == [(2,)]


# --------------------------------------------------------------------------------------------
# refunds: derived once from settlement and Date Range
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["settlement_first", "date_range_first"])
def test_refund_in_settlement_and_date_range_is_one_refund(tmp_path: Path, order: str) -> None:
    home = tmp_path / "ws"
    files = [FIXTURES / "settlement_v2.txt", FIXTURES / "date_range_transactions.csv"]
    if order == "date_range_first":
        files.reverse()
    code, document, _ = run_import(home, *files)
    assert code == 0 and document["rejected"] == []
    assert document["imported"] == {"settlement": 12 + 7}
    rows = query(home, "SELECT order_id, sku, refund_date, amount, currency, source FROM refunds")
    assert len(rows) == 1, rows
    assert rows[0][:5] == ("302-5512837-4471520", "BCB-3PC-NAT", "2026-05-10", "-24.99", "EUR")
    assert rows[0][5] == ("settlement" if order == "settlement_first" else "date_range")
    assert status(home)["counts"]["refunds"] == 1


def test_refund_day_is_the_utc_day_in_both_reports(tmp_path: Path) -> None:
    """Settlement in UTC, Date Range in US local time: 7:15 PM PDT on May 10 is May 11 in UTC."""
    settlement = tmp_path / "settlement_utc.txt"
    settlement.write_text((FIXTURES / "settlement_v2.txt").read_text().replace(
        "10.05.2026 16:15:02 UTC", "11.05.2026 02:15:02 UTC").replace("\t10.05.2026\t", "\t11.05.2026\t"))
    date_range = tmp_path / "date_range_pdt.csv"
    date_range.write_bytes((FIXTURES / "date_range_transactions.csv").read_bytes().replace(
        b'"10 May 2026 16:15:02 UTC"', b'"May 10, 2026 7:15:02 PM PDT"'))
    home = tmp_path / "ws"
    code, document, _ = run_import(home, date_range, settlement)
    assert code == 0 and document["rejected"] == []
    assert query(home, "SELECT posted_at FROM transactions WHERE type = 'Refund'") == [("2026-05-11T02:15:02Z",)]
    assert query(home, "SELECT order_id, refund_date, amount FROM refunds") == [
        ("302-5512837-4471520", "2026-05-11", "-24.99")]


# --------------------------------------------------------------------------------------------
# bad input: exact lines, field names, quarantine, the rest still imported
# --------------------------------------------------------------------------------------------

BAD_ROWS = {  # line -> reason (None: only the field name is fixed)
    3: "field 'return-date': not a date: 'last Tuesday'",
    5: "field 'quantity': not a number: 'abc'",
    6: "field 'order-id': required value is empty",
    7: "15 fields where the header has 13",
    8: None,  # 02/30/2026: Feb 30
}


def _assert_bad_rows(document: dict[str, Any], display: str, shift: int = 0) -> None:
    rejected = document["rejected"]
    assert [r["line"] for r in rejected] == [line + shift for line in BAD_ROWS], rejected
    for entry, (line, reason) in zip(rejected, BAD_ROWS.items()):
        assert entry["file"] == display
        if reason is None:
            assert entry["reason"].startswith("field 'return-date': "), entry
        else:
            assert entry["reason"] == reason, entry
    assert document["imported"] == {"returns": 3}


def test_bad_rows_are_rejected_with_line_and_field(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    path = FIXTURES / "returns_bad_rows.txt"
    code, document, stderr = run_import(home, path)
    assert code == 1
    _assert_bad_rows(document, str(path))
    # human lines on stderr: file:line: reason
    assert f"{path}:5: field 'quantity': not a number: 'abc'" in stderr

    # the good rows of the same file were imported
    assert query(home, "SELECT license_plate_number FROM returns ORDER BY license_plate_number") == [
        ("LPNBAD000001",), ("LPNBAD000003",), ("LPNBAD000008",)]

    # the quarantine keeps every rejected row's raw text
    lines = fixture_lines("returns_bad_rows.txt")
    entries = quarantine(home)
    assert sorted(e["line"] for e in entries) == list(BAD_ROWS)
    for entry in entries:
        assert entry["source"] == str(path)
        assert entry["raw"].rstrip("\r\n") == lines[entry["line"] - 1], entry
        assert entry["reason"] in {r["reason"] for r in document["rejected"]}
        assert entry["created_at"]
    assert {e["line"]: e for e in entries}[3]["raw"].startswith("last Tuesday\t113-7000001-1000001")

    # importing it again: rejected again, nothing added, nothing quarantined twice
    code, again, _ = run_import(home, path)
    assert code == 1
    assert [r["line"] for r in again["rejected"]] == list(BAD_ROWS)
    assert again["imported"].get("returns", 0) == 0 and again["duplicates"] == {"returns": 3}
    assert len(quarantine(home)) == len(BAD_ROWS)


def test_rejection_names_the_field_as_the_header_spells_it(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    path = FIXTURES / "ledger_bad_rows.txt"
    code, document, _ = run_import(home, path)
    assert code == 1
    rejected = document["rejected"]
    assert [r["line"] for r in rejected] == [3, 4, 5]
    assert rejected[0]["reason"] == "field 'Quantity': not a number: 'zwei'"
    assert rejected[1]["reason"].startswith("field 'Date': ")          # 02/31/2026
    assert rejected[2]["reason"] == "field 'FNSKU': required value is empty"
    assert document["imported"] == {"ledger": 2}


def _variants() -> dict[str, Callable[[bytes], bytes]]:
    return {
        "crlf": lambda b: b.replace(b"\n", b"\r\n"),
        "cr": lambda b: b.replace(b"\n", b"\r"),
        "bom": lambda b: b"\xef\xbb\xbf" + b,
        "bom_crlf": lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"),
        "gzip": gzip.compress,
        "gzip_cr": lambda b: gzip.compress(b.replace(b"\n", b"\r")),
        "no_final_newline": lambda b: b.rstrip(b"\n"),
    }


@pytest.mark.parametrize("variant", list(_variants()))
def test_bad_row_lines_are_the_same_whatever_the_encoding_of_lines(tmp_path: Path, variant: str) -> None:
    path = tmp_path / ("returns_bad_rows.txt" + (".gz" if variant.startswith("gzip") else ""))
    path.write_bytes(_variants()[variant]((FIXTURES / "returns_bad_rows.txt").read_bytes()))
    code, document, _ = run_import(tmp_path / "ws", path)
    assert code == 1
    _assert_bad_rows(document, str(path))


def test_date_range_with_cr_line_endings_keeps_its_preamble_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "date_range_cr.csv"
    path.write_bytes((FIXTURES / "date_range_transactions.csv").read_bytes().replace(b"\r\n", b"\r"))
    home = tmp_path / "ws"
    code, document, _ = run_import(home, path)
    assert code == 0 and document["imported"] == {"settlement": 7}
    assert query(home, "SELECT min(source_line), max(source_line), min(currency) FROM transactions") == [
        (9, 15, "EUR")]


def test_line_numbers_are_physical_lines_after_a_multiline_quoted_field(tmp_path: Path) -> None:
    """A quoted field spanning two lines (CSV; Amazon's TSVs never quote): later rejections still
    point at their physical line."""
    rows = [line.split("\t") for line in fixture_lines("returns_bad_rows.txt")]
    rows[1][-1] = "first line\nsecond line"
    path = tmp_path / "returns_multiline.csv"
    with open(path, "w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    home = tmp_path / "ws"
    code, document, _ = run_import(home, path)
    assert code == 1
    _assert_bad_rows(document, str(path), shift=1)
    assert query(home, "SELECT customer_comments FROM returns WHERE license_plate_number = 'LPNBAD000001'") == [
        ("first line\nsecond line",)]


def test_latin1_rejected_row_keeps_its_accents_in_the_quarantine(tmp_path: Path) -> None:
    raw = (FIXTURES / "returns_latin1.txt").read_bytes()
    bad = ("2026-05-29T11:00:00+02:00\t171-5561120-3390114\tBCB-3PC-NAT\tB07QX4K9ZM\tX001ABCD12\t"
           "Bamboo Cutting Board Set, 3 Pieces\tdeux\tPAR3\tCUSTOMER_DAMAGED\tDEFECTIVE\t"
           "Unit returned to inventory\tLPNFR3304410\tCarton abîmé")
    path = tmp_path / "returns_latin1_bad.txt"
    path.write_bytes(raw + bad.encode("iso-8859-1") + b"\n")
    home = tmp_path / "ws"
    code, document, _ = run_import(home, path)
    assert code == 1
    assert document["rejected"] == [{"file": str(path), "line": 5, "reason": "field 'quantity': not a number: 'deux'"}]
    assert document["imported"] == {"returns": 3}
    assert query(home, "SELECT customer_comments FROM returns WHERE license_plate_number = 'LPNFR3301127'") == [
        ("Produit arrivé cassé, très déçu",)]
    [entry] = quarantine(home)
    assert entry["line"] == 5 and "Carton abîmé" in entry["raw"] and "\ufffd" not in entry["raw"]


def test_unknown_header_is_rejected_at_line_1_and_the_other_paths_still_import(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    unknown = FIXTURES / "unknown_fee_preview.txt"
    code, document, _ = run_import(home, FIXTURES / "customer_returns.txt", unknown, FIXTURES / "sourcing_costs.csv")
    assert code == 1
    assert len(document["rejected"]) == 1
    [rejected] = document["rejected"]
    assert rejected["file"] == str(unknown) and rejected["line"] == 1 and rejected["reason"]
    assert document["imported"] == {"returns": 6, "costs": 6}
    [entry] = quarantine(home)
    assert entry["source"] == str(unknown) and entry["line"] == 1
    assert "estimated-fee-total" in entry["raw"] and "BCB-3PC-NAT" in entry["raw"]


def test_empty_file_is_handled_without_a_traceback(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    empty = FIXTURES / "empty.txt"
    assert empty.stat().st_size == 0
    code, document, stderr = run_import(home, empty, FIXTURES / "inbound_lines.csv")
    assert code in (0, 1), stderr
    assert document["imported"] == {"inbound": 5}
    assert code == (1 if document["rejected"] else 0)
    for rejected in document["rejected"]:
        assert rejected["file"] == str(empty) and rejected["line"] in (1, None)


def test_header_only_file_imports_nothing_and_is_fine(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    code, document, stderr = run_import(home, FIXTURES / "returns_header_only.txt")
    assert code == 0, stderr
    assert document["rejected"] == []
    assert document["imported"].get("returns", 0) == 0
    assert quarantine(home) == []


GOOD_FILES = [
    "all_orders.txt", "customer_returns.txt", "customer_returns_amazon_order_id.txt", "ledger_detail.txt",
    "ledger_summary.txt", "reimbursements.txt", "settlement_v2.txt", "date_range_transactions.csv",
    "removal_order_detail.txt", "removal_shipment_detail.txt", "sourcing_costs.csv", "inbound_lines.csv",
    "returns_latin1.txt", "ledger_detail_semicolon_ddmmyyyy.csv", "amazon_fulfilled_shipments.txt",
]


def test_status_counts_after_importing_every_sample(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    code, document, stderr = run_import(home, *(FIXTURES / name for name in GOOD_FILES))
    assert code == 0, stderr
    assert document["rejected"] == []
    assert document["imported"] == {
        "orders": 8 + 4, "returns": 6 + 5 + 3, "ledger": 10 + 5 + 5, "reimbursements": 6, "settlement": 12 + 7,
        "removals": 6 + 5, "costs": 6, "inbound": 5,
    }
    doc = status(home)
    assert doc["counts"] == {
        "orders": 7 + 1, "order_lines": 8, "returns": 14, "refunds": 1, "reimbursements": 6, "ledger": 15,
        "inbound_lines": 5, "removals": 11, "messages": 0, "tickets": 0, "attachments": 0,
    }
    assert doc["quarantined"] == 0 and doc["outbound_queued"] == 0

    # everything again, in one command: nothing new
    code, again, _ = run_import(home, *(FIXTURES / name for name in GOOD_FILES))
    assert code == 0
    assert sum(again["imported"].values()) == 0
    assert again["duplicates"] == document["imported"]
    assert status(home)["counts"] == doc["counts"]


# --------------------------------------------------------------------------------------------
# inputs that currently break the importer (see the report): each test states the contract
# --------------------------------------------------------------------------------------------

def _returns_with(tmp_path: Path, line: int, column: int, value: str, name: str = "returns_edit.txt") -> Path:
    lines = fixture_lines("customer_returns.txt")
    cells = lines[line - 1].split("\t")
    cells[column] = value
    lines[line - 1] = "\t".join(cells)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_unbalanced_quote_in_a_tab_separated_comment_does_not_swallow_later_rows(tmp_path: Path) -> None:
    """Amazon's flat files are not CSV-quoted: a buyer comment may start with `"`.

    Every later row must still be imported or, at the very least, reported: none may vanish
    into the comment.
    """
    path = _returns_with(tmp_path, 3, 12, '"Box was open when it arrived')
    home = tmp_path / "ws"
    _code, document, _ = run_import(home, path)
    stored = {lpn for (lpn,) in query(home, "SELECT license_plate_number FROM returns")}
    rejected_lines = {r["line"] for r in document["rejected"]}
    for line, lpn in [(4, "LPNRR7781440"), (5, "LPNRR8812093"), (6, "LPNRR9904417"), (7, "LPNRR1023388")]:
        assert lpn in stored or line in rejected_lines, (
            f"row at line {line} ({lpn}) neither imported nor rejected; stored={sorted(stored)}, "
            f"comments={query(home, 'SELECT customer_comments FROM returns')}")


def test_quantity_too_large_for_sqlite_is_a_rejected_row(tmp_path: Path) -> None:
    path = _returns_with(tmp_path, 3, 6, "99999999999999999999")
    home = tmp_path / "ws"
    code, document, _ = run_import(home, path)
    assert code == 1
    assert [r["line"] for r in document["rejected"]] == [3]
    assert document["rejected"][0]["reason"].startswith("field 'quantity': ")
    assert document["imported"] == {"returns": 5}


def test_date_that_overflows_in_utc_is_a_rejected_row(tmp_path: Path) -> None:
    path = _returns_with(tmp_path, 3, 0, "9999-12-31T23:59:59-01:00")
    home = tmp_path / "ws"
    code, document, _ = run_import(home, path)
    assert code == 1
    assert [r["line"] for r in document["rejected"]] == [3]
    assert document["rejected"][0]["reason"].startswith("field 'return-date': ")
    assert document["imported"] == {"returns": 5}


def test_exponent_quantity_is_rejected_quickly(tmp_path: Path) -> None:
    """`1e9999999` in a quantity cell: 9 characters must not stall the import for an hour."""
    path = _returns_with(tmp_path, 3, 6, "1e9999999")
    try:
        code, document, _ = run_import(tmp_path / "ws", path, timeout=6)
    except subprocess.TimeoutExpired:
        pytest.fail("import of a 9-character quantity '1e9999999' did not finish within 6 s")
    assert code == 1
    assert [r["line"] for r in document["rejected"]] == [3]
    assert document["imported"] == {"returns": 5}


@pytest.mark.parametrize("content", [b"\x1f\x8b", b"\x1f\x8b\x08\x00garbage", "truncated"],
                         ids=["magic_only", "bad_deflate", "truncated"])
def test_corrupt_gzip_is_a_rejected_file_and_the_import_goes_on(tmp_path: Path, content: bytes | str) -> None:
    bad = tmp_path / "report.txt.gz"
    if content == "truncated":
        content = gzip.compress((FIXTURES / "customer_returns.txt").read_bytes())[:60]
    bad.write_bytes(content)
    home = tmp_path / "ws"
    result = deskterm(home, "import", bad, FIXTURES / "sourcing_costs.csv", "--json")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)
    document = json.loads(result.stdout)
    assert [r["file"] for r in document["rejected"]] == [str(bad)]
    assert document["imported"] == {"costs": 6}


def test_cr_file_whose_last_line_is_one_character(tmp_path: Path) -> None:
    """Old-Mac CR line ends; the last line is a lone `X` (a truncated download)."""
    path = tmp_path / "costs_cr.csv"
    path.write_bytes(b"sku,unit_cost,currency\rBCB-3PC-NAT,8.40,USD\rX")
    code, document, _ = run_import(tmp_path / "ws", path)
    assert code == 1
    assert document["imported"] == {"costs": 1}
    assert [r["line"] for r in document["rejected"]] == [3]

    tiny = tmp_path / "tiny.csv"
    tiny.write_bytes(b"a,b\rc")
    code, document, _ = run_import(tmp_path / "ws", tiny)
    assert code == 1 and [r["line"] for r in document["rejected"]] == [1]


def test_quarantine_keeps_the_raw_text_of_a_quoted_csv_row(tmp_path: Path) -> None:
    """A Date Range row (every field quoted, decimal commas) with a misspelt month.

    The quarantine promises the raw text: the row as the file has it, quotes included, not a
    re-serialisation that a user cannot find in the file.
    """
    path = tmp_path / "date_range_bad.csv"
    path.write_bytes((FIXTURES / "date_range_transactions.csv").read_bytes().replace(
        b'"8 May 2026 11:02:47 UTC"', b'"8 Mya 2026 11:02:47 UTC"'))
    home = tmp_path / "ws"
    code, document, _ = run_import(home, path)
    assert code == 1
    assert [(r["line"], r["reason"].split(":")[0]) for r in document["rejected"]] == [(11, "field 'date/time'")]
    assert document["imported"] == {"settlement": 6}
    [entry] = quarantine(home)
    original = path.read_bytes().decode("utf-8-sig").split("\r\n")[10]
    assert original.startswith('"8 Mya 2026 11:02:47 UTC","12874530172","Order"')
    assert entry["raw"].rstrip("\r\n") == original
