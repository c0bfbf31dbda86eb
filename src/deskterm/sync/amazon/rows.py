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
