"""`deskterm claims`: every claim kind and every decoy of the reconciliation issue, with amounts,
windows and statuses computed by hand in the comments, through the real importers and CLI.

Today is 2026-06-30 (UTC). Unit values: SKU-A costs 10.00 USD, SKU-D costs 8.00 EUR, SKU-C has no
cost (valued by its US orders), SKU-B costs 5.00 USD.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from deskterm.reconcile import fc
from deskterm.reconcile.scan import reimbursements
from deskterm.store import Store
from test_desk import SELLER, deliver, mail, relay

NOW = "2026-06-30T12:00:00Z"
TODAY = dt.date(2026, 6, 30)

LEDGER = ("Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\tDisposition\t"
          "Reason\tCountry\tReconciled Quantity\tUnreconciled Quantity\n")
REIMBURSEMENTS = ("approval-date\treimbursement-id\tcase-id\tamazon-order-id\treason\tsku\tfnsku\tasin\tproduct-name\t"
                  "condition\tcurrency-unit\tamount-per-unit\tamount-total\tquantity-reimbursed-cash\t"
                  "quantity-reimbursed-inventory\tquantity-reimbursed-total\toriginal-reimbursement-id\t"
                  "original-reimbursement-type\n")


def ledger_row(date: str, fnsku: str, sku: str, event: str, ref: str, qty: int, reason: str = "",
               reconciled: str = "", unreconciled: str = "", disposition: str = "SELLABLE") -> str:
    month, day, year = date[5:7], date[8:10], date[:4]
    return (f"{month}/{day}/{year}\t{fnsku}\tB0{fnsku}\t{sku}\tThing\t{event}\t{ref}\t{qty}\tLEX1\t{disposition}\t"
            f"{reason}\tUS\t{reconciled}\t{unreconciled}\n")


def reimbursement(date: str, rid: str, reason: str, sku: str, fnsku: str, currency: str, per_unit: str,
                  cash: int, inventory: int = 0, order: str = "", original: str = "", original_type: str = "") -> str:
    total = f"{float(per_unit) * cash:.2f}"
    return (f"{date}T12:00:00Z\t{rid}\t\t{order}\t{reason}\t{sku}\t{fnsku}\t\tThing\tNew\t{currency}\t{per_unit}\t"
            f"{total}\t{cash}\t{inventory}\t{cash + inventory}\t{original}\t{original_type}\n")


ORDERS = [  # order id, purchase day, status, channel, site, sku, quantity, currency, item price
    ("111-0000001-0000001", "2026-03-01", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O1
    ("302-0000002-0000002", "2026-03-20", "Shipped", "Amazon", "Amazon.de", "SKU-D", 1, "EUR", "22.00"),    # O2
    ("111-0000003-0000003", "2026-05-20", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O3
    ("111-0000004-0000004", "2026-02-20", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O4
    ("111-0000005-0000005", "2026-03-05", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O5
    ("111-0000006-0000006", "2026-03-06", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O6
    ("111-0000007-0000007", "2026-04-10", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O7
    ("111-0000008-0000008", "2026-04-11", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O8
    ("111-0000009-0000009", "2026-04-12", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O9
    ("111-0000010-0000010", "2026-04-13", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O10
    ("111-0000011-0000011", "2026-04-14", "Shipped", "Amazon", "Amazon.com", "SKU-A", 1, "USD", "25.00"),   # O11
    ("111-0000012-0000012", "2026-03-07", "Shipped", "Merchant", "Amazon.com", "SKU-A", 1, "USD", "25.00"),  # O12 FBM
    # SKU-C's US sales, for its average unit price before 2026-06-15: (20.00 + 36.00 / 2) / 2 = 19.00
    ("112-0000021-0000021", "2026-05-01", "Shipped", "Amazon", "Amazon.com", "SKU-C", 1, "USD", "20.00"),
    ("112-0000022-0000022", "2026-06-01", "Shipped", "Amazon", "Amazon.com", "SKU-C", 2, "USD", "36.00"),
    ("112-0000023-0000023", "2026-06-02", "Cancelled", "Amazon", "Amazon.com", "SKU-C", 1, "USD", "100.00"),
    ("112-0000024-0000024", "2026-06-20", "Shipped", "Amazon", "Amazon.com", "SKU-C", 1, "USD", "99.00"),  # after
    ("112-0000025-0000025", "2026-03-01", "Shipped", "Amazon", "Amazon.com", "SKU-C", 1, "USD", "99.00"),  # > 90 d
    ("302-0000026-0000026", "2026-06-01", "Shipped", "Amazon", "Amazon.de", "SKU-C", 1, "EUR", "50.00"),   # DE
]
O = {n + 1: order[0] for n, order in enumerate(ORDERS[:12])}


def write_inputs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["costs.csv"] = ("sku,unit_cost,currency,marketplace,effective_date\nSKU-A,10.00,USD,,2026-01-01\n"
                          "SKU-B,5.00,USD,,2026-01-01\nSKU-D,8.00,EUR,,2026-01-01\nSKU-A,99.00,USD,,2026-12-01\n")
    files["orders.txt"] = ("amazon-order-id\tpurchase-date\tlast-updated-date\torder-status\tfulfillment-channel\t"
                           "sales-channel\tsku\tasin\tquantity\tcurrency\titem-price\n") + "".join(
        f"{o}\t{d}T10:00:00Z\t{d}T11:00:00Z\t{s}\t{c}\t{site}\t{sku}\t\t{q}\t{cur}\t{p}\n"
        for o, d, s, c, site, sku, q, cur, p in ORDERS)
    files["ledger.txt"] = LEDGER + "".join([
        # 1. fc_lost: 3 units unreconciled → 3 × 10.00 = 30.00 USD, window 06-01..07-31, open
        ledger_row("2026-06-01", "X1", "SKU-A", "Adjustments", "T1", -3, "M", "0", "3"),
        # 2. decoy: reconciled (found again), unreconciled 0
        ledger_row("2026-06-05", "X1", "SKU-A", "Adjustments", "T2", -2, "M", "2", "0"),
        # 8. expired: 04-20 + 60 = 06-19 < today
        ledger_row("2026-04-20", "X1", "SKU-A", "Adjustments", "T3", -1, "M", "0", "1"),
        # 9. deadline today: 05-01 + 60 = 06-30
        ledger_row("2026-05-01", "X1", "SKU-A", "Adjustments", "T4", -1, "5", "0", "1"),
        # 3. decoy: lost, then reimbursed after the ledger date (Lost_Warehouse 06-02, 2 units)
        ledger_row("2026-05-20", "X2", "SKU-B", "Adjustments", "T5", -2, "M", "0", "2"),
        # 4. a reimbursement approved before the loss does not cover it: 1 × 5.00 = 5.00 USD
        ledger_row("2026-06-10", "X3", "SKU-B", "Adjustments", "T6", -1, "M", "0", "1"),
        # 6. fc_damaged E, then the P row re-adding the units as damaged: 2 × 19.00 = 38.00 USD
        ledger_row("2026-06-15", "X5", "SKU-C", "Adjustments", "T7", -2, "E", "0", "2"),
        ledger_row("2026-06-15", "X5", "SKU-C", "Adjustments", "T7", 2, "P", "", "", "WAREHOUSE_DAMAGED"),
        # 12. the first receipt of FBA3, which has no delivered date: delivery 06-20
        ledger_row("2026-06-20", "X1", "SKU-A", "Receipts", "FBA3", 10),
    ])
    # 7. a ledger download without the reconciliation columns: 4 lost less 1 found later = 3 × 10.00
    files["ledger_plain.txt"] = (
        "Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\tDisposition\t"
        "Reason\tCountry\n"
        "06/02/2026\tX6\tB0X6\tSKU-A\tThing\tAdjustments\tT8\t-4\tLEX1\tSELLABLE\t5\tUS\n"
        "06/09/2026\tX6\tB0X6\tSKU-A\tThing\tAdjustments\tT9\t1\tLEX1\tSELLABLE\tF\tUS\n")
    files["reimbursements.txt"] = REIMBURSEMENTS + "".join([
        reimbursement("2026-06-02", "R1", "Lost_Warehouse", "SKU-B", "X2", "USD", "5.00", 2),        # covers 3.
        reimbursement("2026-05-01", "R2", "Lost_Warehouse", "SKU-B", "X3", "USD", "5.00", 1),        # before 4.
        reimbursement("2026-06-01", "R3", "Lost_Inbound", "SKU-A", "X1", "USD", "0.00", 0, 2),       # 10.
        reimbursement("2026-05-01", "R4", "CustomerReturn", "SKU-A", "X1", "USD", "12.00", 1, order=O[6]),  # 18.
        reimbursement("2026-05-25", "R5", "CustomerReturn", "SKU-A", "X1", "USD", "12.00", 1, order=O[8]),  # 20.
        # 24. underpaid: 9.00 against 10.00 (10% under) → 2 × 1.00 = 2.00 USD, window 06-10..08-09
        reimbursement("2026-06-10", "R6", "Damaged_Warehouse", "SKU-A", "X1", "USD", "9.00", 2),
        # 25. decoys: 4% under, and exactly 5% under
        reimbursement("2026-06-11", "R7", "Damaged_Warehouse", "SKU-A", "X1", "USD", "9.60", 1),
        reimbursement("2026-06-12", "R8", "Damaged_Warehouse", "SKU-A", "X1", "USD", "9.50", 1),
        # 26. currencies apart: SKU-A has no EUR cost (never compared with USD); SKU-D: 2.00 EUR short
        reimbursement("2026-06-13", "R9", "Damaged_Warehouse", "SKU-A", "X1", "EUR", "1.00", 1),
        reimbursement("2026-06-14", "R10", "Damaged_Warehouse", "SKU-D", "XD", "EUR", "6.00", 1),
    ])
    files["inbound.csv"] = (
        "shipment-id,shipment-name,status,delivered-date,sku,fnsku,quantity-shipped,quantity-received\n"
        # 10. 5 short less 2 reimbursed = 3 × 10.00 = 30.00 USD, window 06-04..07-19
        "FBA1,May restock,CLOSED,2026-05-20,SKU-A,X1,100,95\n"
        # 11. decoy: still receiving
        "FBA2,June restock,RECEIVING,2026-06-10,SKU-A,X1,50,40\n"
        # 12. delivered on its first receipt (06-20): window opens 07-05, pending
        "FBA3,Late June,CLOSED,,SKU-A,X1,12,10\n")
    files["transactions.csv"] = (
        '"All amounts in USD, unless specified"\n'
        '"date/time","settlement id","type","order id","sku","description","quantity","marketplace",'
        '"fulfillment","product sales","total"\n' + "".join(
            f'"{day}T10:00:00Z","S1","Refund","{order}","{sku}","Thing","1","{site}","Amazon","-{amount}","-{amount}"\n'
            for day, order, sku, site, amount in [
                ("2026-04-10", O[1], "SKU-A", "amazon.com", "25.00"),   # 13. US: window 06-09..08-08, open
                ("2026-05-05", O[2], "SKU-D", "amazon.de", "22.00"),    # 14. EU: window 06-19..08-18, open
                ("2026-06-01", O[3], "SKU-A", "amazon.com", "25.00"),   # 15. window opens 07-31: pending
                ("2026-03-01", O[4], "SKU-A", "amazon.com", "25.00"),   # 16. decoy: the return came late
                ("2026-04-01", O[5], "SKU-A", "amazon.com", "3.00"),    # 17. decoy: partial refund
                ("2026-04-02", O[6], "SKU-A", "amazon.com", "25.00"),   # 18. decoy: CustomerReturn paid
                ("2026-04-20", O[7], "SKU-A", "amazon.com", "25.00"),   # 19. return_damaged
                ("2026-04-21", O[8], "SKU-A", "amazon.com", "25.00"),   # 20. decoy: damaged, reimbursed
                ("2026-04-22", O[9], "SKU-A", "amazon.com", "25.00"),   # 21. SELLABLE, reason DEFECTIVE
                ("2026-04-23", O[10], "SKU-A", "amazon.com", "25.00"),  # 22. SELLABLE, buyer wrote "broken"
                ("2026-04-24", O[11], "SKU-A", "amazon.com", "25.00"),  # 23. decoy: SELLABLE, unwanted
                ("2026-04-03", O[12], "SKU-A", "amazon.com", "25.00"),  # decoy: FBM order
            ]))
    files["returns.txt"] = (
        "return-date\torder-id\tsku\tasin\tfnsku\tproduct-name\tquantity\tfulfillment-center-id\t"
        "detailed-disposition\treason\tstatus\tlicense-plate-number\tcustomer-comments\n" + "".join(
            f"{day}T09:00:00Z\t{order}\tSKU-A\t\tX1\tThing\t1\tLEX1\t{disposition}\t{reason}\tReimbursed\t{lpn}\t\n"
            for day, order, disposition, reason, lpn in [
                ("2026-05-15", O[4], "SELLABLE", "UNWANTED_ITEM", "LPN4"),     # 74 days after its refund
                ("2026-04-25", O[7], "CARRIER_DAMAGED", "DAMAGED_BY_CARRIER", "LPN7"),
                ("2026-04-26", O[8], "DAMAGED", "DEFECTIVE", "LPN8"),
                ("2026-04-27", O[9], "SELLABLE", "DEFECTIVE", "LPN9"),
                ("2026-04-28", O[10], "SELLABLE", "UNWANTED_ITEM", "LPN10"),
                ("2026-04-29", O[11], "SELLABLE", "UNWANTED_ITEM", "LPN11"),
            ]))
    paths = []
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths


@pytest.fixture
def books(home: Path, cli, tmp_path: Path) -> Path:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n')
    result = cli("import", *write_inputs(tmp_path / "reports"), "--json", now=NOW)
    assert result.code == 0 and result.json()["rejected"] == [], result.out + result.err
    deliver(home, cli, mail('"Ann - Amazon Marketplace" <ann0001@marketplace.amazon.com>', f"Order {O[10]}",
                            relay("The board arrived broken, it is cracked in two."),
                            dt.datetime(2026, 4, 16, 9, tzinfo=dt.timezone.utc), "ann1", photo=True))
    return home


def scan(cli, now: str = NOW) -> dict:
    result = cli("claims", "scan", "--json", now=now)
    assert result.code == 0, result.err
    return result.json()


def claims(cli, *args: str, now: str = NOW) -> dict[tuple, dict]:
    result = cli("claims", "list", "--all", "--json", *args, now=now)
    assert result.code == 0, result.err
    return {(c["kind"], c["order_id"] or c["shipment_id"] or c["fnsku"]): c for c in result.json()}


def facts(claim: dict) -> tuple:
    return (claim["status"], claim["quantity"], claim["unit_value"], claim["amount"], claim["currency"],
            claim["window_opens"], claim["deadline"])


def test_every_kind_and_no_decoy(books: Path, cli) -> None:
    outcome = scan(cli)
    found = claims(cli)
    expected = {
        ("fc_lost", "X1"): None,  # three X1 losses: checked one by one below
        ("fc_lost", "X3"): ("open", 1, "5.00", "5.00", "USD", "2026-06-10", "2026-08-09"),
        ("fc_lost", "X6"): ("open", 3, "10.00", "30.00", "USD", "2026-06-02", "2026-08-01"),
        ("fc_damaged", "X5"): ("open", 2, "19.00", "38.00", "USD", "2026-06-15", "2026-08-14"),
        ("inbound_shortfall", "FBA1"): ("open", 3, "10.00", "30.00", "USD", "2026-06-04", "2026-07-19"),
        ("inbound_shortfall", "FBA3"): ("pending", 2, "10.00", "20.00", "USD", "2026-07-05", "2026-08-19"),
        ("return_not_received", O[1]): ("open", 1, "10.00", "10.00", "USD", "2026-06-09", "2026-08-08"),
        ("return_not_received", O[2]): ("open", 1, "8.00", "8.00", "EUR", "2026-06-19", "2026-08-18"),
        ("return_not_received", O[3]): ("pending", 1, "10.00", "10.00", "USD", "2026-07-31", "2026-09-29"),
        ("return_damaged", O[7]): ("open", 1, "10.00", "10.00", "USD", "2026-06-19", "2026-08-18"),
        ("return_sellable_dispute", O[9]): ("open", 1, "10.00", "10.00", "USD", "2026-06-21", "2026-08-20"),
        ("return_sellable_dispute", O[10]): ("open", 1, "10.00", "10.00", "USD", "2026-06-22", "2026-08-21"),
        ("reimbursement_underpaid", "X1"): ("open", 2, "10.00", "2.00", "USD", "2026-06-10", "2026-08-09"),
        ("reimbursement_underpaid", "XD"): ("open", 1, "8.00", "2.00", "EUR", "2026-06-14", "2026-08-13"),
    }
    assert set(found) == set(expected)  # nothing from a decoy, nothing missed
    for key, want in expected.items():
        if want:
            assert facts(found[key]) == want, key
    lost = sorted((c for c in cli("claims", "list", "--all", "--json", "--kind", "fc_lost", now=NOW).json()
                   if c["fnsku"] == "X1"), key=lambda c: c["event_date"])
    assert [(c["event_date"], c["status"], c["quantity"], c["amount"], c["deadline"], c["days_left"]) for c in lost] == [
        ("2026-04-20", "expired", 1, "10.00", "2026-06-19", -11),
        ("2026-05-01", "open", 1, "10.00", "2026-06-30", 0),     # the last day to file is today
        ("2026-06-01", "open", 3, "30.00", "2026-07-31", 31),
    ]
    # pending + open, per currency, never added across currencies:
    # USD 30 + 10 (X1) + 5 + 30 + 38 + 30 + 20 + 10 × 5 (returns) + 2 = 215; EUR 8 + 2 = 10
    assert outcome["recoverable"] == {"EUR": "10.00", "USD": "215.00"}
    assert outcome["found"] == 16 and outcome["resolved"] == 0


def test_reasons_cite_the_rows_and_the_rule(books: Path, cli) -> None:
    scan(cli)
    claim = claims(cli)[("fc_lost", "X6")]
    text = "\n".join(claim["reasons"])
    assert "ledger Adjustments 2026-06-02: 4 units misplaced (reason 5, Reference ID T8" in text
    assert "line 2 of " in text and "ledger_plain.txt" in text
    assert "1 found again on 2026-06-09 (reason F)" in text
    assert "sourcing cost 10.00 USD since 2026-01-01" in text
    assert "rule in force since 2024-10-23" in text
    inbound = "\n".join(claims(cli)[("inbound_shortfall", "FBA1")]["reasons"])
    assert "2 covered by Lost_Inbound reimbursement R3 approved 2026-06-01" in inbound


def test_the_deadline_day_is_the_last_day(books: Path, cli) -> None:
    """`deadline` is the last UTC day a claim can be filed: open until its end, expired from the next."""
    scan(cli)
    assert scan(cli, now="2026-06-30T23:59:59Z")["expired"] == 0
    assert scan(cli, now="2026-07-01T00:00:00Z")["expired"] == 1
    lost = {c["event_date"]: c for c in cli("claims", "list", "--all", "--json", "--kind", "fc_lost",
                                            now="2026-07-01T00:00:00Z").json() if c["fnsku"] == "X1"}
    assert (lost["2026-05-01"]["status"], lost["2026-05-01"]["days_left"]) == ("expired", -1)


def test_rescans_keep_ids_and_a_reversal_reopens(books: Path, cli, tmp_path: Path) -> None:
    def every() -> dict[str, str]:
        return {c["claim_id"]: c["status"] for c in cli("claims", "list", "--all", "--json", now=NOW).json()}

    scan(cli)
    first = every()
    again = scan(cli)
    assert again["found"] == 0 and again["updated"] == 0 and again["unchanged"] == len(first) == 16
    assert every() == first

    key = ("fc_lost", "X3")
    claim_id = claims(cli)[key]["claim_id"]
    paid = tmp_path / "paid.txt"
    paid.write_text(REIMBURSEMENTS + reimbursement("2026-06-20", "R20", "Lost_Warehouse", "SKU-B", "X3", "USD", "5.00", 1))
    assert cli("import", paid).code == 0
    assert scan(cli)["resolved"] == 1
    gone = claims(cli)[key]
    assert gone["status"] == "dismissed" and "no longer found" in gone["closed_reason"]
    reversal = tmp_path / "reversal.txt"
    reversal.write_text(REIMBURSEMENTS + reimbursement("2026-06-25", "R21", "Reimbursement_Reversal", "SKU-B", "X3",
                                                       "USD", "-5.00", -1, original="R20", original_type="Lost_Warehouse"))
    assert cli("import", reversal).code == 0
    assert scan(cli)["reopened"] == 1
    back = claims(cli)[key]
    assert back["claim_id"] == claim_id and back["status"] == "open" and back["closed_reason"] is None


def test_filed_and_dismissed_claims_stay_put(books: Path, cli, tmp_path: Path) -> None:
    scan(cli)
    found = claims(cli)
    pending = found[("return_not_received", O[3])]["claim_id"]
    refused = cli("claims", "file", pending, "--case-id", "123", now=NOW)
    assert refused.code == 2 and "premature" in refused.err
    lost = found[("fc_lost", "X6")]["claim_id"]
    filed = cli("claims", "file", lost, "--case-id", "17283940511", "--json", now=NOW)
    assert filed.code == 0 and filed.json()["status"] == "filed" and filed.json()["case_id"] == "17283940511"
    dismissed = found[("return_damaged", O[7])]["claim_id"]
    assert cli("claims", "dismiss", dismissed, "--reason", "customer damage, not carrier", now=NOW).code == 0
    # a found-again row for X6 would resolve the loss, but the seller has filed: it stays filed
    ledger = tmp_path / "found.txt"
    ledger.write_text("Date\tFNSKU\tASIN\tMSKU\tTitle\tEvent Type\tReference ID\tQuantity\tFulfillment Center\t"
                      "Disposition\tReason\tCountry\n06/20/2026\tX6\tB0X6\tSKU-A\tThing\tAdjustments\tT10\t3\tLEX1\t"
                      "SELLABLE\tF\tUS\n")
    assert cli("import", ledger).code == 0
    scan(cli)
    after = {c["claim_id"]: c for c in claims(cli).values()}
    assert after[lost]["status"] == "filed" and after[lost]["quantity"] == 3
    assert after[dismissed]["status"] == "dismissed" and after[dismissed]["closed_reason"] == "customer damage, not carrier"
    paid = cli("claims", "paid", lost, "--amount", "29,50", "--json", now=NOW)
    assert paid.code == 0 and paid.json()["paid_amount"] == "29.50"
    listed = cli("claims", "list", "--json", now=NOW).json()
    assert lost not in {c["claim_id"] for c in listed} and dismissed not in {c["claim_id"] for c in listed}
    shown = cli("claims", "show", lost.lower(), now=NOW)
    assert shown.code == 0 and "17283940511" in shown.out
    assert cli("claims", "show", "NOPE-1", now=NOW).code == 2


def test_a_buyers_words_link_the_ticket_both_ways(books: Path, cli) -> None:
    scan(cli)
    claim = claims(cli)[("return_sellable_dispute", O[10])]
    assert "ticket #" in "\n".join(claim["reasons"]) and 'damaged: "broken" (en)' in "\n".join(claim["reasons"])
    ticket = claim["ticket_ids"][0]
    shown = cli("show", str(ticket), "--json", now=NOW).json()
    assert shown["ticket"]["claim_badge"].startswith("claim: return graded SELLABLE, buyer reported damage")
    assert [c["claim_id"] for c in shown["claims"]] == [claim["claim_id"]]


def test_claim_json_has_the_contract_fields(books: Path, cli) -> None:
    scan(cli)
    for claim in cli("claims", "list", "--json", now=NOW).json():
        assert set(claim) >= {"claim_id", "kind", "status", "marketplace", "order_id", "shipment_id", "sku", "fnsku",
                              "asin", "quantity", "unit_value", "amount", "currency", "window_opens", "deadline",
                              "reasons", "ticket_ids"}
        assert claim["status"] in ("pending", "open") and isinstance(claim["reasons"], list)
    filtered = cli("claims", "list", "--json", "--marketplace", "de", now=NOW).json()
    assert [(c["kind"], c["marketplace"]) for c in filtered] == [("return_not_received", "DE")]


def test_windows_from_config_by_marketplace_and_effective_date(books: Path, cli) -> None:
    (books / "config.toml").write_text(
        f'own_addresses = ["{SELLER}"]\n[[claims.window]]\nkind = "return_not_received"\nmarketplaces = ["US"]\n'
        'opens_after_days = 30\ndeadline_days = 90\neffective = "2026-04-01"\nsource = "test rule"\n')
    scan(cli)
    found = claims(cli)
    assert (found[("return_not_received", O[1])]["window_opens"], found[("return_not_received", O[1])]["deadline"]) \
        == ("2026-05-10", "2026-07-09")   # refunded 04-10, the rule is in force
    assert found[("return_not_received", O[2])]["deadline"] == "2026-08-18"   # DE keeps the EU default
    (books / "config.toml").write_text('[[claims.window]]\nkind = "fc_lost"\nopens_after_days = 1\n')
    bad = cli("claims", "list", now=NOW)
    assert bad.code == 2 and "claims.window[1].deadline_days: required key is missing" in bad.err


async def test_the_claims_screen(books: Path, cli) -> None:
    from textual.widgets import DataTable, Static

    from deskterm.app import DesktermApp
    from deskterm.cli import Session
    from deskterm.clock import Clock
    from deskterm.screens.claims import ClaimsScreen
    from deskterm.screens.queue import QueueScreen

    scan(cli)
    listed = cli("claims", "list", "--json", now=NOW).json()
    session = Session(home=str(books), clock=Clock.from_setting(NOW))
    app = DesktermApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("C")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClaimsScreen)
        assert [c["claim_id"] for c in screen.claims] == [c["claim_id"] for c in listed]  # deadline order
        table = screen.query_one(DataTable)
        assert str(table.get_row_at(0)[0]) == "0d left" and str(table.get_row_at(0)[1]) == "2026-06-30"
        assert "Unreconciled Quantity 1" in str(screen.query_one("#claim-detail", Static).render())
        first = screen.claims[0]["claim_id"]
        await pilot.press("e")  # its evidence folder, built in a worker
        await app.workers.wait_for_complete()
        assert [p.name for p in (books / "evidence").iterdir() if p.name.startswith(first)]
        await pilot.press("f", *"CASE-77", "enter")
        await pilot.pause()
        with sqlite3.connect(books / "deskterm.db") as conn:
            filed = conn.execute("SELECT status, case_id FROM claims WHERE claim_id = ?", (first,)).fetchone()
        assert filed == ("filed", "CASE-77")
        assert first not in [c["claim_id"] for c in screen.claims]   # filed: off the pending-and-open list
        await pilot.press("a")
        assert len(screen.claims) == 16
        linked = next(i for i, c in enumerate(screen.claims) if c["ticket_ids"])
        table.move_cursor(row=linked)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen) and app.screen.ticket_open
        await pilot.press("E")  # from the conversation: the claim it supports
        await app.workers.wait_for_complete()
        linked_id = screen.claims[linked]["claim_id"]
        assert [p.name for p in (books / "evidence").iterdir() if p.name.startswith(linked_id)]


def test_a_later_download_of_the_ledger_updates_the_claim_not_doubles_it(books: Path, cli, tmp_path: Path) -> None:
    """Amazon repeats a ledger row with its reconciliation updated: the copy imported last counts."""
    scan(cli)
    before = [c for c in cli("claims", "list", "--json", "--kind", "fc_lost", now=NOW).json() if c["fnsku"] == "X1"]
    later = tmp_path / "ledger_july.txt"
    later.write_text(LEDGER + ledger_row("2026-06-01", "X1", "SKU-A", "Adjustments", "T1", -3, "M", "2", "1"))
    assert cli("import", later, now="2026-07-01T08:00:00Z").code == 0
    scan(cli)
    after = [c for c in cli("claims", "list", "--json", "--kind", "fc_lost", now=NOW).json() if c["fnsku"] == "X1"]
    assert len(after) == len(before) == 2
    updated = next(c for c in after if c["event_date"] == "2026-06-01")
    assert (updated["quantity"], updated["amount"]) == (1, "10.00")
    assert updated["claim_id"] in {c["claim_id"] for c in before}


def test_fc_claims_are_the_same_when_the_ledger_is_read_an_fnsku_at_a_time(books: Path) -> None:
    """A large ledger's adjustments are read a few FNSKUs at a time; the claims must not change."""
    store = Store(books / "deskterm.db")
    try:
        paid = reimbursements(store)
        whole = fc.find(store, paid, {})
        one_by_one = fc.find(store, paid, {}, rows_at_once=1)
    finally:
        store.close()
    assert len({claim.fnsku for claim in whole}) >= 4
    assert sorted(map(repr, one_by_one)) == sorted(map(repr, whole))
