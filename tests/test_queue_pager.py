"""The queue read a page at a time: every access order gives the rows `deskterm queue` lists."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm.clock import Clock, iso
from deskterm.store import Store
from deskterm.triage.queue import QueueFilter, QueuePager, queue

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path = tmp_path_factory.mktemp("pager") / "deskterm.db"
    opened = Store(Path(path), Clock(NOW))
    rng = random.Random(8)
    with opened.write() as conn:
        for number in range(1, 351):
            created = NOW - dt.timedelta(minutes=rng.randrange(5000))
            due = None if number % 7 == 0 else iso(created + dt.timedelta(hours=rng.choice([2, 4, 12, 24])))
            conn.execute(
                "INSERT INTO tickets (id, channel, subject, created_at, risk, sla_started_at, sla_due, status, status_at,"
                " snoozed_until, assignee) VALUES (?, ?, 'x', ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, rng.choice(["amazon", "email"]), iso(created), rng.choice(["low", "medium", "high", "critical"]),
                 iso(created), due, "closed" if number % 11 == 0 else "open", iso(created),
                 iso(NOW + dt.timedelta(hours=1)) if number % 13 == 0 else None,
                 "maria" if number % 3 == 0 else None))
    return opened


FILTERS = [QueueFilter(), QueueFilter(everything=True), QueueFilter(channel="email"),
           QueueFilter(risk="high"), QueueFilter(assignee="maria"), QueueFilter(unassigned=True)]


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(FILTERS), visits=st.lists(st.integers(min_value=-5, max_value=400), max_size=40))
def test_any_access_order_reads_the_queue(store: Store, which: QueueFilter, visits: list[int]) -> None:
    expected = [row["ticket_id"] for row in queue(store, NOW, which)]
    uncounted = QueuePager(store, which, NOW)  # as the screen pages before its worker has counted
    counted = QueuePager(store, which, NOW)
    assert counted.count() == len(expected)
    for pager in (uncounted, counted):
        for index in [*visits, len(expected) - 1, *range(len(expected) - 1, -1, -1)]:
            row = pager.row(index)
            assert (row["id"] if row else None) == (expected[index] if 0 <= index < len(expected) else None)


def test_the_queue_order_is_risk_then_deadline_then_waiting(store: Store) -> None:
    rows = queue(store, NOW)
    ranks = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    keys = [(ranks[r["risk"]], r["sla_due"] or "~", r["waiting_since"], r["ticket_id"]) for r in rows]
    assert keys == sorted(keys)
    assert all(r["status"] == "open" and not r["snoozed_until"] for r in rows)
