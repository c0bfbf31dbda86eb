"""Walking a channel's history by update time, one committed page at a time.

APIs that list what changed between two instants (Amazon's getOrders, TikTok's order and return
searches, Shopify's `updated_at` queries) are walked the same way: windows of at most `window`
from where the last pass ended (or `history_days` back on the first) to `end`; each page is stored
in one transaction with the cursor (the window and the page token), so a killed pass resumes at
the page it stopped on; a page token the server no longer accepts re-queries the window from a
little earlier, and the stores' natural keys absorb what is read twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deskterm.clock import iso, parse_instant
from deskterm.store import Store
from deskterm.sync.base import Days, ExpiredCursor, Progress, cursor, save_cursor

OVERLAP = dt.timedelta(minutes=10)

Fetch = Callable[[dt.datetime, dt.datetime, str | None], tuple[list[Any], str | None]]
Keep = Callable[[Any, list[Any]], int]


@dataclass
class Walk:
    store: Store
    channel: str
    scope: str
    history_days: int
    window: dt.timedelta
    phase: str

    def run(self, end: dt.datetime, fetch: Fetch, keep: Keep, progress: Progress = None) -> int:
        """Walk to `end`: `fetch(after, until, token)` gives a page and the next token (None at the
        window's end); `keep(conn, items)` stores it and says how many it counted. Returns the total."""
        with self.store.write() as conn:
            state, _ = cursor(conn, self.channel, self.scope)
        after = (parse_instant(state["after"]) if state.get("after")
                 else self.store.clock.now() - dt.timedelta(days=self.history_days))
        token = state.get("token")
        until = parse_instant(state["until"]) if token and state.get("until") else min(end, after + self.window)
        begun = parse_instant(state["from"]) if state.get("from") else after  # a resumed first sync's bar goes on
        shown = Days(self.phase, begun, end, progress)
        counted = 0
        while token or after < end:
            try:
                items, token = fetch(after, until, token)
            except ExpiredCursor:
                token, after = None, after - OVERLAP
                continue
            if token:
                saved = {"after": iso(after), "until": iso(until), "token": token, "from": iso(begun)}
            else:
                saved = {"after": iso(until), **({"from": iso(begun)} if until < end else {})}
            with self.store.write() as conn:
                counted += keep(conn, items)
                save_cursor(conn, self.channel, self.scope, saved)
            if not token:
                shown(until)
                after, until = until, min(end, until + self.window)
        return counted
