"""The quarantine: whatever could not be parsed, kept raw so nothing is ever lost."""

from __future__ import annotations

import hashlib
import sqlite3

from deskterm.digest import digest
from deskterm.reports.reader import decode_line
from deskterm.store import Store


def quarantine(conn: sqlite3.Connection, store: Store, kind: str, source: str, line: int | None,
               reason: str, raw: bytes) -> None:
    """Keep `raw` with why it was refused; the same refusal twice is kept once."""
    key = digest((kind, source, line, hashlib.sha256(raw).hexdigest()))
    conn.execute(
        "INSERT OR IGNORE INTO quarantine (quarantine_key, kind, source, line, reason, raw, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key, kind, source, line, reason, raw, store.now()),
    )


def list_quarantine(store: Store) -> list[dict[str, object]]:
    rows = store.rows("SELECT id, kind, source, line, reason, raw, created_at FROM quarantine ORDER BY id")
    return [
        {
            "id": row["id"], "kind": row["kind"], "source": row["source"], "line": row["line"],
            "reason": row["reason"], "raw": decode_line(bytes(row["raw"])),
            "created_at": row["created_at"],
        }
        for row in rows
    ]

