"""The demo generator: deterministic, big enough, real-format, and carrying its planted claims."""

from __future__ import annotations

import csv
import datetime as dt
import email
import mailbox
import re
import time
from collections import Counter
from decimal import Decimal
from email import policy
from pathlib import Path

import pytest

from deskterm.demo_data import generate_files

NOW = dt.datetime(2026, 8, 15, 12, 0, tzinfo=dt.timezone.utc)
SEED = 7


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("demo")
    started = time.perf_counter()
    paths = generate_files(out, seed=SEED, now=NOW)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"generation took {elapsed:.1f}s (budget: < 5 s on 2 cores)"
    return {p.relative_to(out).as_posix(): p for p in paths}


@pytest.fixture(scope="module")
def messages(demo: dict[str, Path]) -> list[tuple[email.message.EmailMessage, str, str]]:
    """(message, From addr-spec, plain-text body) for every message in the mbox."""
    box = mailbox.mbox(demo["mail/support-inbox.mbox"], create=False,
                       factory=lambda f: email.message_from_binary_file(f, policy=policy.default))
    try:
        out = []
        for m in box:
            body = m.get_body(("plain",))
            out.append((m, m["From"].addresses[0].addr_spec, body.get_content() if body is not None else ""))
        return out
    finally:
        box.close()


def test_file_list_is_stable(demo: dict[str, Path]) -> None:
    assert list(demo) == [
        "all_orders.txt", "amazon_fulfilled_shipments.txt", "fba_customer_returns.txt", "inventory_ledger_detail.txt",
        "inventory_ledger_summary.txt", "reimbursements.txt", "settlement_v2.txt",
        "date_range_transactions_DE.csv", "removal_order_detail.txt", "removal_shipment_detail.txt",
        "inbound_shipments.csv", "sourcing_costs.csv", "mail/support-inbox.mbox",
    ]
    assert all(p.stat().st_size > 0 for p in demo.values())


def test_same_seed_and_now_give_identical_bytes(demo: dict[str, Path], tmp_path: Path) -> None:
    again = generate_files(tmp_path / "again", seed=SEED, now=NOW)
    for path in again:
        name = path.relative_to(tmp_path / "again").as_posix()
        assert path.read_bytes() == demo[name].read_bytes(), name


def test_other_seed_gives_other_data(demo: dict[str, Path], tmp_path: Path) -> None:
    other = {p.name: p for p in generate_files(tmp_path / "other", seed=SEED + 1, now=NOW)}
    assert other["all_orders.txt"].read_bytes() != demo["all_orders.txt"].read_bytes()
    assert other["support-inbox.mbox"].read_bytes() != demo["mail/support-inbox.mbox"].read_bytes()


def test_orders_volume_and_shape(demo: dict[str, Path]) -> None:
    rows = _tsv(demo["all_orders.txt"])
    assert len(rows) >= 2000
    assert len({r["sku"] for r in rows}) >= 8
    dates = [dt.datetime.fromisoformat(r["purchase-date"]) for r in rows]
    assert (max(dates) - min(dates)).days >= 110
    assert all(NOW - dt.timedelta(days=120) <= d <= NOW for d in dates)
    assert all(re.fullmatch(r"\d{3}-\d{7}-\d{7}", r["amazon-order-id"]) for r in rows)
    statuses = Counter(r["order-status"] for r in rows)
    assert set(statuses) <= {"Shipped", "Cancelled", "Pending"} and statuses["Cancelled"] > 0
    assert {"Amazon.com", "Amazon.de", "Amazon.co.uk", "Amazon.it", "Amazon.fr", "Amazon.es"} == {
        r["sales-channel"] for r in rows}


def test_every_shipped_fba_line_has_a_shipment_without_buyer_data(demo: dict[str, Path]) -> None:
    orders = {(r["amazon-order-id"], r["sku"]): r for r in _tsv(demo["all_orders.txt"])}
    shipped = {key for key, r in orders.items() if r["order-status"] == "Shipped" and r["fulfillment-channel"] == "Amazon"}
    rows = _tsv(demo["amazon_fulfilled_shipments.txt"])
    assert {(r["amazon-order-id"], r["sku"]) for r in rows} == shipped
    for r in rows:
        purchased, left, arrives = (dt.datetime.fromisoformat(r[k]) for k in
                                    ("purchase-date", "shipment-date", "estimated-arrival-date"))
        assert purchased < left < arrives <= left + dt.timedelta(days=6)
        assert not (r["buyer-email"] or r["buyer-name"] or r["recipient-name"] or r["ship-address-1"])
    assert len({r["shipment-item-id"] for r in rows}) == len(rows)


def test_date_range_csv_is_the_seller_central_shape(demo: dict[str, Path]) -> None:
    raw = demo["date_range_transactions_DE.csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode("utf-8").split("\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert lines[7].startswith('"date/time","settlement id","type"')
    rows = list(csv.DictReader(lines[7:]))
    assert {"Order", "Refund"} <= {r["type"] for r in rows}
    assert any(re.fullmatch(r"-\d+,\d\d", r["product sales"]) for r in rows if r["type"] == "Refund")


def test_mbox_size_ids_languages_and_channels(messages: list) -> None:
    assert len(messages) >= 1400
    ids = [m["Message-ID"] for m, _, _ in messages]
    assert all(ids) and len(set(ids)) == len(ids)
    corpus = "\n".join(text for _, _, text in messages)
    for word in ("where is my order", "grazie", "Bestellung", "commande", "pedido"):
        assert word in corpus, word
    domains = Counter(sender.rpartition("@")[2] for _, sender, _ in messages)
    assert any(d.startswith("marketplace.amazon.") for d in domains)
    assert domains["amazon.com"] > 0            # A-to-z, chargeback, return notifications
    assert domains["shopify.com"] > 0
    assert domains["seller.tiktokshop.com"] > 0
    assert any(d.startswith("example.") for d in domains)


def test_mbox_threads_and_hostile_strings(messages: list) -> None:
    ids = {m["Message-ID"] for m, _, _ in messages}
    replies = [m for m, sender, _ in messages if sender == "support@alpinekitchen.example"]
    assert replies and all(m["In-Reply-To"] in ids for m in replies)
    assert any("[bold]" in m["Subject"] and "[/]" in m["Subject"] for m, _, _ in messages)
    assert any("\x1b]0;PWNED\x07" in text for _, _, text in messages)
    parts = [part for m, _, _ in messages if m.is_multipart() for part in m.walk()]
    assert any(part.get_filename() == "../../evil.pdf" for part in parts)
    assert any(part.get_content_type() == "image/jpeg" for part in parts)


def test_planted_reimbursement_opportunities(demo: dict[str, Path]) -> None:
    ledger = _tsv(demo["inventory_ledger_detail.txt"])
    reimb = _tsv(demo["reimbursements.txt"])
    costs = {r["sku"]: Decimal(r["unit_cost"]) for r in csv.DictReader(demo["sourcing_costs.csv"].open())}

    def age(row: dict[str, str], column: str) -> int:
        return (NOW - dt.datetime.fromisoformat(row[column])).days

    paid = {r["fnsku"] for r in reimb if r["reason"] == "Lost_Warehouse"}
    lost = [r for r in ledger if r["Reason"] == "M" and int(r["Unreconciled Quantity"] or 0) > 0]
    assert sum(1 for r in lost if r["FNSKU"] not in paid and 10 <= age(r, "Date and Time") <= 50) >= 4
    assert sum(1 for r in lost if r["FNSKU"] in paid) >= 2
    assert any(age(r, "Date and Time") >= 75 for r in lost)
    damaged = [r for r in ledger if r["Reason"] in ("E", "6", "H") and int(r["Unreconciled Quantity"] or 0) > 0]
    assert len(damaged) >= 3
    inbound = list(csv.DictReader(demo["inbound_shipments.csv"].open()))
    short = [r for r in inbound if r["status"] == "CLOSED" and int(r["quantity-received"]) < int(r["quantity-shipped"])]
    assert len(short) >= 2
    assert sum(1 for r in reimb if Decimal(r["amount-per-unit"]) <= costs[r["sku"]] * Decimal("0.8")) >= 2
    returns = _tsv(demo["fba_customer_returns.txt"])
    assert sum(1 for r in returns if r["detailed-disposition"] in ("CARRIER_DAMAGED", "DAMAGED")
               and r["order-id"] not in {x["amazon-order-id"] for x in reimb}) >= 2
    refunded = {r["order-id"] for r in _tsv(demo["settlement_v2.txt"]) if r["transaction-type"] == "Refund"}
    assert len(refunded - {r["order-id"] for r in returns}) >= 3
