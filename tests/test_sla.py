"""SLA arithmetic: calendar limits, business hours across weekends, midnight, holidays and DST."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskterm.errors import UserError
from deskterm.triage.sla import add_hours, parse_business_hours, policy_for

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


ROME = parse_business_hours("mon-fri 09:00-18:00", "Europe/Rome", ["2026-12-25"], "sla.channels.shopify")


def test_amazon_counts_weekends_and_holidays() -> None:
    policy = policy_for("amazon", {"response_hours": 24, "low_hours": 24})
    friday_evening = at("2026-11-27T20:00:00+00:00")
    clock = policy.clock("low", [(friday_evening, "buyer_message")])
    assert clock.due == at("2026-11-28T20:00:00+00:00")  # Saturday: weekends count


def test_due_is_the_earlier_of_target_and_hard_limit() -> None:
    policy = policy_for("amazon", {"response_hours": 24, "critical_hours": 2})
    sent = at("2026-11-27T23:30:00+00:00")
    assert policy.clock("critical", [(sent, "buyer_message")]).due == at("2026-11-28T01:30:00+00:00")
    assert policy.clock("low", [(sent, "buyer_message")]).due == at("2026-11-28T23:30:00+00:00")


def test_amazon_claim_notices_have_their_own_limits() -> None:
    policy = policy_for("amazon", {"response_hours": 24, "low_hours": 1000})
    sent = at("2026-11-02T10:00:00+00:00")
    assert policy.clock("low", [(sent, "a_to_z")]).hard_due == sent + dt.timedelta(hours=48)
    assert policy.clock("low", [(sent, "chargeback")]).hard_due == sent + dt.timedelta(days=7)


def test_the_clock_runs_from_the_first_unanswered_message() -> None:
    policy = policy_for("amazon", {"response_hours": 24})
    first, second = at("2026-11-02T10:00:00+00:00"), at("2026-11-02T15:00:00+00:00")
    clock = policy.clock("medium", [(second, "buyer_message"), (first, "buyer_message")])
    assert clock.started_at == first and clock.due == first + dt.timedelta(hours=12)


def test_business_hours_skip_the_weekend() -> None:
    friday_5pm = at("2026-11-27T17:00:00+01:00")
    assert add_hours(friday_5pm, 4, ROME) == at("2026-11-30T12:00:00+01:00")  # 1 h Friday, 3 h Monday


def test_business_hours_across_midnight_start_at_opening() -> None:
    tuesday_2am = at("2026-11-24T02:00:00+01:00")
    assert add_hours(tuesday_2am, 2, ROME) == at("2026-11-24T11:00:00+01:00")
    monday_11pm = at("2026-11-23T23:00:00+01:00")
    assert add_hours(monday_11pm, 10, ROME) == at("2026-11-25T10:00:00+01:00")  # 9 h Tuesday, 1 h Wednesday


def test_holidays_are_closed() -> None:
    christmas_eve_5pm = at("2026-12-24T17:00:00+01:00")
    assert add_hours(christmas_eve_5pm, 2, ROME) == at("2026-12-28T10:00:00+01:00")  # 25th, 26-27th closed


@pytest.mark.parametrize(("start", "hours", "due"), [
    # Spring forward in Rome on Sunday 2026-03-29: Friday 17:00 CET + 4 h = Monday 12:00 CEST.
    ("2026-03-27T17:00:00+01:00", 4, "2026-03-30T12:00:00+02:00"),
    # Fall back on Sunday 2026-10-25: Friday 17:00 CEST + 4 h = Monday 12:00 CET.
    ("2026-10-23T17:00:00+02:00", 4, "2026-10-26T12:00:00+01:00"),
])
def test_business_hours_are_local_hours_across_dst(start: str, hours: float, due: str) -> None:
    assert add_hours(at(start), hours, ROME) == at(due)


def test_calendar_hours_across_dst_are_elapsed_hours() -> None:
    before = at("2026-10-24T12:00:00+02:00")
    assert add_hours(before, 24) == at("2026-10-25T11:00:00+01:00")  # 24 real hours, one clock hour less


@settings(max_examples=300, deadline=None)
@given(start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(UTC)),
       hours=st.floats(min_value=0, max_value=200, allow_nan=False))
def test_business_due_is_open_and_never_earlier_than_calendar(start: dt.datetime, hours: float) -> None:
    due = add_hours(start, hours, ROME)
    assert due >= start + dt.timedelta(hours=hours) - dt.timedelta(microseconds=1)
    local = due.astimezone(ROME.zone)
    assert local.weekday() < 5 and local.date() != dt.date(2026, 12, 25)
    assert dt.time(9) <= local.time() <= dt.time(18)


@pytest.mark.parametrize(("hours", "zone", "message"), [
    ("mon-fri 9-18", "Europe/Rome", "business_hours: expected like"),
    ("mon-fry 09:00-18:00", "Europe/Rome", "unknown day"),
    ("mon-fri 18:00-09:00", "Europe/Rome", "closes before it opens"),
    ("mon-fri 09:00-18:00", "Mars/Olympus", "timezone: unknown time zone"),
])
def test_bad_business_hours_name_the_key(hours: str, zone: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_business_hours(hours, zone, [], "sla.channels.shopify")
    assert "sla.channels.shopify." in str(caught.value) and message in str(caught.value)
