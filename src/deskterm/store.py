"""The SQLite store: the one source of truth.

Rules it keeps (research/reliability.md §4): WAL; foreign keys; a busy timeout; every write
transaction opened with `BEGIN IMMEDIATE` (a deferred transaction that reads and then writes
fails at once under contention, ignoring the timeout); reads fetched whole and closed, so no
half-read cursor pins the WAL; the WAL emptied (`wal_checkpoint(TRUNCATE)`) when a connection
closes, so it does not stay at its largest while a TUI keeps the database open.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from deskterm.clock import Clock, iso
from deskterm.errors import UserError
from deskterm.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 15_000
CHECKPOINT_WAIT_MS = 200  # a checkpoint on the way out never keeps a command waiting long


class Store:
    """One connection to one workspace database."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self.path = path
        self.clock = clock or Clock()
        self.conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        self.conn.row_factory = sqlite3.Row
        self.wrote = False
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _switch_to_wal(self.conn)
        if mode.lower() != "wal":
            raise UserError(f"{path}: SQLite could not switch to WAL mode (got {mode!r})")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA cache_size = -16384")  # 16 MB: bulk imports touch many index pages
        self.conn.execute("PRAGMA foreign_keys = ON")
        migrate(self.conn, path)

    def close(self) -> None:
        if self.wrote:  # a reader's checkpoint would look like a change to every other connection
            self.checkpoint()
        self.conn.close()

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it to 0 bytes, if no reader needs it now.

        SQLite deletes the `-wal` file only when its last connection closes; while a TUI stays open
        for days, each batch of writes would otherwise leave the file at its largest size. A reader
        or writer at work makes this give up after `CHECKPOINT_WAIT_MS` (the next one will do it).
        Returns whether the WAL was emptied.
        """
        try:
            if self.conn.in_transaction:
                return False
            # A passive checkpoint copies what it can without waiting for anyone; an empty log
            # then needs nothing more (and the truncating one would wait for the write lock).
            if self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] <= 0:
                return True
            self.conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
            try:
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error:  # busy, or already closed
            return False
        return busy == 0

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE; rolled back on any error."""
        self.conn.execute("BEGIN IMMEDIATE")
        self.wrote = True
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


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """`PRAGMA journal_mode = WAL`, waiting its turn: a new database's switch needs it alone for a
    moment, and SQLite answers "database is locked" at once, without its busy timeout, when
    another process is opening it too (the first start of cron's sync and the TUI together)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def migrate(conn: sqlite3.Connection, path: Path | str = "database") -> int:
    """Apply every migration the database has not seen yet; return the resulting version."""
    version = _version(conn, path)
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read the version again under the write lock: another process opening the same
            # database (a first start, an upgrade) may have migrated it while we waited for it.
            version = _version(conn, path)
            if version < SCHEMA_VERSION:
                # executescript would COMMIT our transaction first; run statement by statement.
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return SCHEMA_VERSION


def _version(conn: sqlite3.Connection, path: Path | str) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path}: made by a newer deskterm (schema version {version}, this one knows {SCHEMA_VERSION}); "
            "upgrade deskterm to open it."
        )
    return version


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
