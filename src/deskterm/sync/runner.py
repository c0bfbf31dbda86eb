"""Running the connectors: one pass for cron (`sync once`), the daemon (`sync run`), and the state
a person reads (`sync status`).

A channel is synced by one runner at a time: each pass holds an exclusive lock file for the
channel (flock, released by the kernel if the process dies). One channel's failure is recorded and
retried later with exponential backoff and full jitter; it never stops the others. After each
pass, new messages are read for risk and added to the search index.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import random
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskterm.clock import iso
from deskterm.errors import UserError
from deskterm.sync.base import SyncFailure, SyncReport, ensure_channel

if TYPE_CHECKING:
    from deskterm.cli import Session

BACKOFF_BASE = 30.0      # seconds: the first retry waits up to this long
BACKOFF_CAP = 3600.0


class ChannelLock:
    """An exclusive, non-blocking lock on one channel, held for one pass."""

    def __init__(self, folder: Path, channel: str) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / f"{channel}.lock"
        self.fd: int | None = None

    def __enter__(self) -> "ChannelLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SyncFailure("another deskterm is syncing this channel now") from None
        self.fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


def connector_for(session: "Session", name: str) -> Any:
    channel = session.config.channels[name]
    if channel["kind"] == "imap":
        from deskterm.sync.imap import ImapConnector

        return ImapConnector(session.store, name, channel, session.workspace.attachments_dir,
                             session.config.own_address_set(), session.config.undo_seconds)
    if channel["kind"] == "amazon":
        from deskterm.sync.amazon import AmazonConnector

        return AmazonConnector(session.store, name, channel, session.workspace.data_dir / "downloads")
    if channel["kind"] == "tiktok":
        from deskterm.sync.tiktok import TikTokConnector

        return TikTokConnector(session.store, name, channel, session.workspace.data_dir / "tokens" / f"{name}.json",
                               session.config.undo_seconds)
    if channel["kind"] == "shopify":
        from deskterm.sync.shopify import ShopifyConnector

        return ShopifyConnector(session.store, name, channel)
    raise UserError(f"channel {name}: deskterm cannot sync {channel['kind']!r} channels")


def sync_channel(session: "Session", name: str, progress: bool = True) -> tuple[SyncReport, str | None]:
    """One pass of one channel: pull, then push. Returns what it did and the error, if any."""
    store = session.store
    report = SyncReport()
    ensure_channel(store, name, session.config.channels[name]["kind"])
    _record(session, name, attempt=True)
    try:
        with ChannelLock(session.workspace.data_dir / "locks", name):
            connector = connector_for(session, name)
            connector.pull(report, session.phases(name) if progress else None)
            connector.push(report)
    except (SyncFailure, UserError) as exc:
        _record(session, name, error=str(exc))
        return report, str(exc)
    except Exception as exc:  # a bug, or a library's surprise: the other channels still sync
        if session.debug:
            raise
        error = (f"unexpected {type(exc).__name__}; `deskterm --debug sync once {name}` shows where "
                 "(its message is not shown: it may quote a server's reply)")
        _record(session, name, error=error)
        return report, error
    _record(session, name)
    return report, None


def sync_once(session: "Session", names: list[str] | None = None) -> dict[str, Any]:
    """`sync once`: every enabled channel (or the ones named), then risk and index for what came in."""
    configured = session.config.channels
    for name in names or []:
        if name not in configured:
            raise UserError(f"no channel {name!r} in {session.workspace.config_file}; configured: "
                            f"{', '.join(configured) or 'none'}")
    chosen = names or [name for name, channel in configured.items() if channel["enabled"]]
    result: dict[str, Any] = {}
    for name in chosen:
        report, error = sync_channel(session, name)
        result[name] = {"ok": error is None, "fetched": {kind: n for kind, n in report.fetched.items() if n},
                        "sent": report.sent, "error": error,
                        "events": report.events}
    _settle(session)
    return {"channels": result}


def _settle(session: "Session") -> None:
    """Read new mail for risk and index it: also what an earlier pass stored before it was killed."""
    session.triage()
    session.search_index().sync(progress=session.progress("indexing"))
    session.store.checkpoint()  # `sync run` keeps its connection for days: empty the WAL after each pass


@dataclass
class _Schedule:
    name: str
    interval: float
    failures: int = 0
    due: float = 0.0


class Daemon:
    """`sync run`: each channel on its own schedule until SIGTERM or SIGINT, finishing the pass in
    progress first."""

    def __init__(self, session: "Session", clock=None) -> None:
        import time

        self.session = session
        self.stop = threading.Event()
        self.monotonic = clock or time.monotonic
        self.schedules = [_Schedule(name, float(channel["interval_seconds"]))
                          for name, channel in session.config.channels.items() if channel["enabled"]]

    def run(self) -> None:
        if not self.schedules:
            raise UserError("no enabled channel in config.toml: nothing to sync")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        while not self.stop.is_set():
            now = self.monotonic()
            for schedule in sorted(self.schedules, key=lambda s: s.due):
                if self.stop.is_set() or schedule.due > now:
                    continue
                report, error = sync_channel(self.session, schedule.name, progress=False)
                _settle(self.session)
                schedule.failures = schedule.failures + 1 if error else 0
                schedule.due = self.monotonic() + self.delay(schedule)
            wait = min(s.due for s in self.schedules) - self.monotonic()
            self.stop.wait(max(0.5, wait))

    @staticmethod
    def delay(schedule: _Schedule) -> float:
        """The channel's interval after a success; after failures, full jitter over an exponential."""
        if not schedule.failures:
            return schedule.interval
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** schedule.failures))


def status(session: "Session") -> dict[str, Any]:
    """Per channel: last success and error, cursors, lag, queued replies, recent events."""
    store = session.store
    now = session.clock.now()
    channels: dict[str, Any] = {}
    for name in sorted(set(session.config.channels) | {r["channel"] for r in store.rows("SELECT channel FROM sync_state")}):
        rows = store.rows("SELECT scope, cursor, uidvalidity, last_attempt, last_success, last_error FROM sync_state"
                          " WHERE channel = ? ORDER BY scope", (name,))
        overall = next((r for r in rows if r["scope"] == ""), None)
        success = overall["last_success"] if overall else None
        lag = (now - dt.datetime.fromisoformat(success.replace("Z", "+00:00"))).total_seconds() if success else None
        channels[name] = {
            "last_attempt": overall["last_attempt"] if overall else None, "last_success": success,
            "last_error": overall["last_error"] if overall else None, "lag_seconds": int(lag) if lag is not None else None,
            "cursors": {r["scope"]: {"cursor": r["cursor"], "uidvalidity": r["uidvalidity"]} for r in rows if r["scope"]},
            "events": [dict(e) for e in store.rows("SELECT at, text FROM sync_events WHERE channel = ? ORDER BY id DESC"
                                                   " LIMIT 5", (name,))],
        }
    queued = {r["state"]: r["n"] for r in store.rows("SELECT state, count(*) AS n FROM send_queue GROUP BY state")}
    return {"channels": channels, "outbound": queued}


def _record(session: "Session", name: str, *, attempt: bool = False, error: str | None = None) -> None:
    store = session.store
    now = iso(session.clock.now())
    with store.write() as conn:
        conn.execute("INSERT OR IGNORE INTO sync_state (channel, scope) VALUES (?, '')", (name,))
        if attempt:
            conn.execute("UPDATE sync_state SET last_attempt = ? WHERE channel = ? AND scope = ''", (now, name))
        elif error is not None:
            conn.execute("UPDATE sync_state SET last_error = ? WHERE channel = ? AND scope = ''", (error, name))
        else:
            conn.execute("UPDATE sync_state SET last_success = ?, last_error = NULL WHERE channel = ? AND scope = ''",
                         (now, name))
