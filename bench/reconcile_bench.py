"""Reconciliation at scale: `deskterm claims scan` over 2,000,000 ledger rows, 500,000 order lines,
100,000 refunds and 100,000 returns. Goal on this machine: <= 30 s and <= 500 MB peak RSS.

The store is filled by direct inserts (the importers have their own benchmark); the scan then runs
as the real CLI in its own process, twice: the first scan inserts every claim, the second finds
them all unchanged. Peak RSS is that process's.

    python bench/reconcile_bench.py [--ledger N] [--lines N] [--refunds N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-06-30T12:00:00Z"
START = dt.date(2025, 1, 1)
MARKETS = (("US", "Amazon.com", "USD", "US"), ("DE", "Amazon.de", "EUR", "DE"), ("UK", "Amazon.co.uk", "GBP", "GB"))


def oid(n: int) -> str:
    return f"1{n % 100:02d}-{n:07d}-0000000"


def day(offset: int) -> str:
    return (START + dt.timedelta(days=offset)).isoformat()


def fill(home: Path, ledger: int, lines: int, refunds: int, rng: random.Random) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from deskterm.clock import Clock
    from deskterm.store import Store

    home.mkdir(parents=True, exist_ok=True)
    store = Store(home / "deskterm.db", Clock.from_setting(NOW))
    conn = store.conn
    meta = lambda n: (n.to_bytes(8, "little") + b"b" * 8, b"h" * 16, "bench", n, NOW)  # noqa: E731
    skus = [(f"SKU-{i:03d}", f"X00{i:07d}", f"B0{i:08d}") for i in range(200)]
    with store.write():
        conn.executemany("INSERT INTO sourcing_costs (row_key, content_hash, source_file, source_line, imported_at,"
                         " sku, unit_cost, currency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [(*meta(i), sku, f"{5 + i % 20}.00", "USD") for i, (sku, _f, _a) in enumerate(skus[:100])])
        conn.executemany("INSERT INTO skus (msku, fnsku, asin) VALUES (?, ?, ?)", skus)

    def ledger_rows():
        for n in range(ledger):
            sku, fnsku, asin = skus[n % 200]
            kind = rng.random()
            mkt = MARKETS[n % 3]
            if kind < 0.90:
                event, qty, reason, unrec = "Shipments", -1, "", None
            elif kind < 0.95:
                event, qty, reason, unrec = "CustomerReturns", 1, "", None
            elif kind < 0.96:
                event, qty, reason, unrec = "Receipts", 24, "", None
            else:
                event = "Adjustments"
                reason = rng.choice("MM5EFNP6HK")
                qty = rng.randint(1, 3) * (1 if reason in "FNP" else -1)
                unrec = (abs(qty) if rng.random() < 0.1 else 0) if reason not in "FNP" else None
            yield (*meta(n), day(n * 540 // ledger), fnsku, asin, sku, event, f"R{n}", qty, "LEX1", "SELLABLE",
                   reason, mkt[3], None if unrec is None else abs(qty) - unrec, unrec)

    with store.write():
        conn.executemany(
            "INSERT INTO ledger_events (row_key, content_hash, source_file, source_line, imported_at, event_date, fnsku,"
            " asin, msku, event_type, reference_id, quantity, fulfillment_center, disposition, reason, country,"
            " reconciled_quantity, unreconciled_quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ledger_rows())
    orders = lines * 4 // 5
    with store.write():
        conn.executemany(
            "INSERT INTO orders (order_id, marketplace, sales_channel, purchase_date, status, fulfillment_channel,"
            " currency) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((oid(n), *MARKETS[n % 3][:2], f"{day(n * 540 // orders)}T10:00:00Z",
              "Cancelled" if n % 50 == 0 else "Shipped", "Amazon", MARKETS[n % 3][2]) for n in range(orders)))
        conn.executemany(
            "INSERT INTO order_lines (row_key, content_hash, source_file, source_line, imported_at, order_id, sku,"
            " quantity, currency, item_price) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((*meta(n), oid(n % orders), skus[(n * 7) % 200][0], 1,
              MARKETS[n % orders % 3][2], f"{20 + n % 30}.99") for n in range(lines)))
    with store.write():
        picked = rng.sample(range(orders), refunds)
        conn.executemany(
            "INSERT INTO refunds (refund_key, order_id, sku, marketplace, refund_date, quantity, amount, currency, source)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'settlement')",
            ((n.to_bytes(8, "little"), oid(n), skus[(n * 7) % 200][0], MARKETS[n % 3][0],
              day(min(540, n * 540 // orders + 5)), 1, "-25.00", MARKETS[n % 3][2]) for n in picked))
        conn.executemany(
            "INSERT INTO returns (row_key, content_hash, source_file, source_line, imported_at, return_date, order_id,"
            " sku, fnsku, quantity, disposition, reason, license_plate_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((*meta(n), f"{day(min(540, n * 540 // orders + 9))}T09:00:00Z", oid(n),
              skus[(n * 7) % 200][0], skus[(n * 7) % 200][1], 1,
              rng.choice(("SELLABLE",) * 8 + ("DAMAGED", "CARRIER_DAMAGED")), "UNWANTED_ITEM", f"LPN{n}")
             for n in picked[:refunds * 9 // 10]))
        conn.executemany(
            "INSERT INTO reimbursements (row_key, content_hash, source_file, source_line, imported_at, approval_date,"
            " reimbursement_id, order_id, reason, sku, fnsku, currency, amount_per_unit, amount_total, quantity_cash,"
            " quantity_inventory, quantity_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((*meta(n), f"{day(n * 540 // 4000)}T12:00:00Z", f"RB{n}", None,
              rng.choice(("Lost_Warehouse", "Damaged_Warehouse")), *skus[n % 100][:2], "USD",
              *[f"{5 + n % 100 % 20 + (-1 if n % 50 == 0 else 2)}.00"] * 2, 1, 0, 1) for n in range(4000)))
        conn.executemany("INSERT INTO inbound_shipments (shipment_id, name, status, delivered_date) VALUES (?, ?, ?, ?)",
                         ((f"FBA{n:06d}", f"restock {n}", "CLOSED", day(400 + n % 140)) for n in range(2000)))
        conn.executemany(
            "INSERT INTO inbound_lines (row_key, content_hash, source_file, source_line, imported_at, shipment_id, sku,"
            " fnsku, quantity_shipped, quantity_received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((*meta(n), f"FBA{n // 5:06d}", *skus[n % 200][:2], 100, 100 - (n % 7 == 0) * 3) for n in range(10000)))
    store.close()


def scan(home: Path) -> tuple[float, int, dict]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW, "claims", "scan",
                             "--json"], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": "src"})
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger", type=int, default=2_000_000)
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--refunds", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the store in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.keep or Path(scratch) / "ws"
        if not (home / "deskterm.db").exists():
            start = time.perf_counter()
            fill(home, args.ledger, args.lines, args.refunds, random.Random(7))
            print(f"filled the store in {time.perf_counter() - start:.1f} s: {args.ledger:,} ledger rows, "
                  f"{args.lines:,} order lines, {args.refunds:,} refunds and {args.refunds * 9 // 10:,} returns")
        first, rss, outcome = scan(home)
        print(f"first scan   {first:6.1f} s   peak RSS {rss:4d} MB   found {outcome['found']:,} claims")
        second, rss, outcome = scan(home)
        print(f"rescan       {second:6.1f} s   peak RSS {rss:4d} MB   unchanged {outcome['unchanged']:,}")
        print(f"recoverable: {outcome['recoverable']}")


if __name__ == "__main__":
    main()
