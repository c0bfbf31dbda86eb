"""The quarantine: whatever could not be parsed, kept raw so nothing is ever lost."""

from __future__ import annotations

import hashlib
import sqlite3

from deskterm.digest import digest
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
            "reason": row["reason"], "raw": _as_text(bytes(row["raw"])),
            "created_at": row["created_at"],
        }
        for row in rows
    ]


def _as_text(raw: bytes) -> str:
    """The raw bytes as text the way the importer read them: UTF-8, else ISO-8859-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")
