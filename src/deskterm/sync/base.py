"""What every channel connector is, and the state the runner keeps for it.

A connector pulls what is new and stores it in committed batches, each batch writing its cursor in
the same transaction as its rows (so a crash resumes where the last commit left it, with nothing
twice); then it pushes what is queued for it. It raises SyncFailure with a message fit for a
person (never a secret) when the channel cannot be synced now.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from deskterm.errors import UserError
from deskterm.store import Store


class SyncFailure(Exception):
    """The channel could not be synced now (network, login, server); the runner retries later."""


class ExpiredCursor(Exception):
    """The server no longer accepts the page token we saved."""


@dataclass
class SyncReport:
    """One channel's pass: what came in, what went out, and what a person should look at."""

    fetched: Counter = field(default_factory=Counter)
    sent: int = 0
    events: list[str] = field(default_factory=list)   # operator events (a UIDVALIDITY change, ...)


class ProgressLine(Protocol):
    """How far one phase of a pass has come (`phase` names it, `unit` counts it): a first sync of
    two years takes hours under Amazon's rate limits, and a person watching wants to see it move."""

    def __call__(self, phase: str, done: int, total: int, unit: str = "") -> None: ...


Progress = ProgressLine | None


class Days:
    """Progress through a span of time, in whole days: what a pass walking history by date shows."""

    def __init__(self, phase: str, start: dt.datetime, end: dt.datetime, progress: Progress) -> None:
        self.phase, self.start, self.end, self.progress = phase, start, end, progress
        self.total = max(1, math.ceil((end - start) / dt.timedelta(days=1)))

    def __call__(self, reached: dt.datetime) -> None:
        if self.progress:
            done = (self.total if reached >= self.end
                    else min(self.total - 1, max(0, (reached - self.start) // dt.timedelta(days=1))))
            self.progress(self.phase, done, self.total, "days")


class Connector(Protocol):
    name: str

    def pull(self, report: SyncReport, progress: Progress = None) -> None: ...

    def push(self, report: SyncReport) -> None: ...


def secret(channel: dict[str, Any], name: str, key: str) -> str:
    """A channel's secret from the environment variable (`KEY_env`) or the 0600 file (`KEY_file`)."""
    variable, path = channel.get(f"{key}_env"), channel.get(f"{key}_file")
    if variable:
        value = os.environ.get(variable)
        if value:
            return value
        raise UserError(f"channel {name}: the environment variable {variable} ({key}) is not set")
    if path:
        file = Path(path).expanduser()
        try:
            if file.stat().st_mode & 0o077:
                raise UserError(f"channel {name}: {file} ({key}) must be readable by you only (chmod 600)")
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(f"channel {name}: cannot read {file} ({key}): {exc.strerror}") from None
    raise UserError(f"channel {name}: set {key}_env or {key}_file")


def cursor(conn: sqlite3.Connection, channel: str, scope: str) -> tuple[dict[str, Any], int | None]:
    row = conn.execute("SELECT cursor, uidvalidity FROM sync_state WHERE channel = ? AND scope = ?",
                       (channel, scope)).fetchone()
    if row is None or row[0] is None:
        return {}, row[1] if row else None
    return json.loads(row[0]), row[1]


def save_cursor(conn: sqlite3.Connection, channel: str, scope: str, value: dict[str, Any],
                uidvalidity: int | None = None) -> None:
    """Inside the caller's transaction: the batch and its cursor commit together."""
    conn.execute(
        "INSERT INTO sync_state (channel, scope, cursor, uidvalidity) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(channel, scope) DO UPDATE SET cursor = excluded.cursor, uidvalidity = excluded.uidvalidity",
        (channel, scope, json.dumps(value, sort_keys=True), uidvalidity))


def raise_event(store: Store, channel: str, report: SyncReport, text: str) -> None:
    """Something a person should look at: in this pass's report, and in `sync status` after it."""
    report.events.append(text)
    with store.write() as conn:
        conn.execute("INSERT INTO sync_events (channel, at, text) VALUES (?, ?, ?)", (channel, store.now(), text))


def ensure_channel(store: Store, name: str, kind: str) -> None:
    with store.write() as conn:
        conn.execute("INSERT OR IGNORE INTO channels (name, kind, created_at) VALUES (?, ?, ?)",
                     (name, kind, store.now()))
