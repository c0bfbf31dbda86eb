"""Writing API rows into the report tables, keyed exactly as the report files' rows are."""

from __future__ import annotations

import sqlite3
from typing import Any

from deskterm.digest import digest, occurrence_key


def upsert_row(conn: sqlite3.Connection, table: str, row: dict[str, Any], key: tuple[str, ...], source: str,
               now: str) -> None:
    """Insert `row`, or update the stored row with the same natural key when it changed. The row key
    is the report loader's (the digest of the natural key), so a report file and the API agree."""
    fields = list(row)
    values = [row[f] for f in fields]
    meta = ("row_key", "content_hash", "source_file", "source_line", "imported_at")
    conn.execute(
        f"INSERT INTO {table} ({', '.join(fields + list(meta))}) VALUES ({', '.join('?' * (len(fields) + len(meta)))})"
        f" ON CONFLICT(row_key) DO UPDATE SET "
        + ", ".join(f"{f} = excluded.{f}" for f in (*fields, "content_hash", "imported_at"))
        + f" WHERE {table}.content_hash != excluded.content_hash",
        [*values, occurrence_key(digest([row[k] for k in key]), 0), digest(values), source, 0, now])


def upsert_order(conn: sqlite3.Connection, header: dict[str, Any]) -> None:
    """An order's header from any channel: what this source knows replaces, what it lacks is kept."""
    names = ", ".join(header)
    updates = ", ".join(f"{k} = coalesce(excluded.{k}, orders.{k})" for k in header if k != "order_id")
    conn.execute(f"INSERT INTO orders ({names}) VALUES ({', '.join('?' * len(header))}) ON CONFLICT(order_id)"
                 f" DO UPDATE SET {updates}", list(header.values()))


def customer_id(conn: sqlite3.Connection, channel: str, address: str | None, name: str | None) -> int | None:
    """The buyer of a channel by their address there (e-mail, or the channel's buyer id)."""
    if not address:
        return None
    conn.execute("INSERT INTO customers (channel, address, name) VALUES (?, ?, ?) ON CONFLICT(channel, address)"
                 " DO UPDATE SET name = coalesce(excluded.name, name)", (channel, address, name))
    return conn.execute("SELECT id FROM customers WHERE channel = ? AND address = ?", (channel, address)).fetchone()[0]
