from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from deskterm import schema
from deskterm.errors import UserError
from deskterm.store import Store, _statements


def schema_of(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall())
    finally:
        conn.close()


def test_new_store_has_wal_foreign_keys_and_the_latest_schema(tmp_path: Path) -> None:
    with Store(tmp_path / "d.db") as store:
        assert store.scalar("PRAGMA journal_mode") == "wal"
        assert store.scalar("PRAGMA foreign_keys") == 1
        assert store.scalar("PRAGMA busy_timeout") >= 5000
        assert store.scalar("PRAGMA user_version") == schema.SCHEMA_VERSION
        tables = {r[0] for r in store.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "channels", "sync_state", "customers", "orders", "order_lines", "returns", "refunds", "reimbursements",
        "ledger_events", "ledger_summary", "inbound_shipments", "inbound_lines", "removal_orders",
        "removal_shipments", "sourcing_costs", "tickets", "messages", "attachments", "message_attachments",
        "send_queue", "index_outbox", "claims", "audit_log", "quarantine", "settlement_lines", "transactions",
    } <= tables


@pytest.mark.parametrize("start", range(schema.SCHEMA_VERSION))
def test_migrates_from_every_earlier_version(tmp_path: Path, start: int) -> None:
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    for script in schema.MIGRATIONS[:start]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {start}")
    conn.close()
    Store(old).close()
    Store(tmp_path / "fresh.db").close()
    assert schema_of(old) == schema_of(tmp_path / "fresh.db")
    assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION


def test_refuses_a_database_from_a_newer_deskterm(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "d.db")
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UserError, match="newer deskterm"):
        Store(tmp_path / "d.db")


def test_audit_log_is_append_only(tmp_path: Path) -> None:
    with Store(tmp_path / "d.db") as store:
        with store.write() as conn:
            store.audit(conn, "import", None, {"rows": 3})
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                with store.write() as conn:
                    conn.execute(statement)
        assert store.scalar("SELECT count(*) FROM audit_log") == 1


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    with Store(tmp_path / "d.db") as store:
        with pytest.raises(RuntimeError):
            with store.write() as conn:
                conn.execute("INSERT INTO channels (name, kind, created_at) VALUES ('a', 'imap', 'now')")
                raise RuntimeError("boom")
        assert store.scalar("SELECT count(*) FROM channels") == 0
        assert not store.conn.in_transaction


def _read_then_write(path: str, worker: int, count: int) -> None:
    with Store(Path(path)) as store:
        for i in range(count):
            with store.write() as conn:
                seq = conn.execute("SELECT count(*) FROM channels").fetchone()[0]
                conn.execute("INSERT INTO channels (name, kind, created_at) VALUES (?, 'imap', ?)",
                             (f"w{worker}-{i}-{seq}", "t"))


def test_concurrent_read_then_write_transactions_never_fail(tmp_path: Path) -> None:
    """Four processes each read then write 150 times: BEGIN IMMEDIATE serialises them, 0 errors."""
    path = tmp_path / "d.db"
    Store(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_read_then_write, args=(str(path), w, 150)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with Store(path) as store:
        assert store.scalar("SELECT count(*) FROM channels") == 600
        # Each transaction saw the count the one before it left: no two read the same value.
        seqs = sorted(int(r[0].rsplit("-", 1)[1]) for r in store.rows("SELECT name FROM channels"))
    assert seqs == list(range(600))
