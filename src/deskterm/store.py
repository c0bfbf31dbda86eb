"""The SQLite store: the one source of truth.

Rules it keeps (research/reliability.md §4): WAL; foreign keys; a busy timeout; every write
transaction opened with `BEGIN IMMEDIATE` (a deferred transaction that reads and then writes
fails at once under contention, ignoring the timeout); reads fetched whole and closed, so no
half-read cursor pins the WAL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deskterm.clock import Clock, iso
from deskterm.errors import UserError
from deskterm.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 15_000


class Store:
    """One connection to one workspace database."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self.path = path
        self.clock = clock or Clock()
        self.conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        self.conn.row_factory = sqlite3.Row
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise UserError(f"{path}: SQLite could not switch to WAL mode (got {mode!r})")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA cache_size = -16384")  # 16 MB: bulk imports touch many index pages
        self.conn.execute("PRAGMA foreign_keys = ON")
        migrate(self.conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE; rolled back on any error."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """A short read: every row fetched and the cursor closed before returning."""
        cursor = self.conn.execute(sql, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def each_row(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), size: int = 5000) -> Iterator[sqlite3.Row]:
        """A long read in batches, for scans over hundreds of thousands of rows that keep only some:
        memory stays one batch deep. The cursor is closed when the loop ends or is abandoned."""
        cursor = self.conn.execute(sql, params)
        try:
            while batch := cursor.fetchmany(size):
                yield from batch
        finally:
            cursor.close()

    def row(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        found = self.row(sql, params)
        return found[0] if found is not None else None

    def now(self) -> str:
        return iso(self.clock.now())

    def audit(self, conn: sqlite3.Connection, action: str, obj: str | None = None,
              detail: dict[str, Any] | None = None, actor: str = "cli") -> None:
        """Append to the audit log inside the caller's transaction. Ids and counts only: no PII."""
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, object, detail) VALUES (?, ?, ?, ?, ?)",
            (self.now(), actor, action, obj, json.dumps(detail or {}, sort_keys=True)),
        )


def migrate(conn: sqlite3.Connection, path: Path | str = "database") -> int:
    """Apply every migration the database has not seen yet; return the resulting version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path}: made by a newer deskterm (schema version {version}, this one knows {SCHEMA_VERSION}); "
            "upgrade deskterm to open it."
        )
    for number in range(version, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would COMMIT our transaction first; run statement by statement.
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return SCHEMA_VERSION


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements, keeping trigger bodies (which hold `;`) whole."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer
