"""`deskterm demo`: the generated files go through the real importers, reproducibly."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from deskterm.cli import main

NOW = "2026-11-20T12:00:00Z"
_CONTENT_TABLES = ("orders", "order_lines", "returns", "refunds", "reimbursements", "ledger_events", "inbound_lines",
                   "removal_orders", "removal_shipments", "sourcing_costs", "settlement_lines", "transactions",
                   "customers", "tickets", "messages", "message_attachments", "attachments")


def build(home: Path, seed: int) -> int:
    try:
        main(["--home", str(home), "--now", NOW, "demo", "--no-tui", "--seed", str(seed), "--json"])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def dump(home: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(home / "deskterm.db")
    try:
        tables = {}
        for table in _CONTENT_TABLES:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            # File paths name the workspace folder; everything else must be identical.
            tables[table] = [tuple(str(v).replace(str(home), "HOME") for v in row) for row in rows]
        return tables
    finally:
        conn.close()


def test_demo_is_realistic_and_reproducible(tmp_path: Path, capsys) -> None:
    assert build(tmp_path / "a", seed=3) == 0
    document = json.loads(capsys.readouterr().out)
    counts = document["status"]["counts"]
    assert document["import"]["rejected"] == []
    assert counts["order_lines"] >= 2000
    assert counts["tickets"] >= 500
    assert min(counts[k] for k in ("returns", "refunds", "reimbursements", "ledger", "inbound_lines", "removals")) > 0
    conn = sqlite3.connect(tmp_path / "a" / "deskterm.db")
    assert conn.execute("SELECT count(DISTINCT sku) FROM order_lines").fetchone()[0] >= 8
    first, last = conn.execute("SELECT min(purchase_date), max(purchase_date) FROM orders").fetchone()
    span = dt.date.fromisoformat(last[:10]) - dt.date.fromisoformat(first[:10])
    assert span.days >= 110 and last[:10] <= NOW[:10]
    channels = {row[0] for row in conn.execute("SELECT DISTINCT channel FROM tickets")}
    assert channels == {"amazon", "shopify", "tiktok", "email"}
    markets = {row[0] for row in conn.execute("SELECT DISTINCT marketplace FROM orders")}
    assert {"US", "DE", "IT", "FR", "ES"} <= markets
    assert conn.execute("SELECT count(*) FROM messages WHERE direction = 'outbound'").fetchone()[0] > 300

    assert build(tmp_path / "b", seed=3) == 0
    assert dump(tmp_path / "a") == dump(tmp_path / "b")
    assert build(tmp_path / "c", seed=4) == 0
    assert dump(tmp_path / "c")["messages"] != dump(tmp_path / "a")["messages"]


def test_demo_twice_adds_nothing(tmp_path: Path, capsys) -> None:
    assert build(tmp_path / "a", seed=3) == 0
    capsys.readouterr()
    assert build(tmp_path / "a", seed=3) == 0
    second = json.loads(capsys.readouterr().out)["import"]
    assert sum(second["imported"].values()) == 0


def test_show_gives_the_order_context(tmp_path: Path, capsys) -> None:
    assert build(tmp_path / "a", seed=3) == 0
    conn = sqlite3.connect(tmp_path / "a" / "deskterm.db")
    ticket_id, order_id = conn.execute(
        "SELECT t.id, t.order_id FROM tickets t WHERE t.order_id IN (SELECT order_id FROM returns) "
        "AND t.order_id IN (SELECT order_id FROM refunds) ORDER BY t.id LIMIT 1").fetchone()
    capsys.readouterr()
    try:
        main(["--home", str(tmp_path / "a"), "show", str(ticket_id), "--json"])
    except SystemExit as exc:
        assert exc.code == 0
    view = json.loads(capsys.readouterr().out)
    assert view["ticket"]["order_id"] == order_id
    assert [o["order_id"] for o in view["orders"]] == [order_id] and view["orders"][0]["lines"]
    assert view["returns"] and all(r["order_id"] == order_id for r in view["returns"])
    assert view["refunds"] and view["refunds"][0]["refund_date"] <= NOW[:10]
    assert view["messages"] and all(m["sent_at"] for m in view["messages"])
