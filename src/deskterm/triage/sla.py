"""SLA clocks: when a ticket must be answered, to the second.

Two limits run from the first buyer message nobody has answered yet:
- the internal target for the ticket's risk level (configurable per channel, optionally counted in
  business hours for non-Amazon channels), and
- the channel's hard limit: Amazon's 24 hours for a buyer message, counted on the calendar
  ("including weekends and holidays"), 48 hours for an A-to-z claim notice and 7 days for a
  chargeback notice (research/helpdesk.md §2a-b).
`sla_due` is the earlier of the two. A reply or "no response needed" stops the clock; the next
buyer message starts it again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskterm.errors import UserError

UTC = dt.timezone.utc
DEFAULT_TARGET_HOURS = {"critical": 2.0, "high": 4.0, "medium": 12.0, "low": 24.0}
AMAZON_LIMIT_HOURS = {"a_to_z": 48.0, "chargeback": 168.0}   # other buyer messages: `response_hours`
CLOCK_KINDS = ("buyer_message", "message", "a_to_z", "chargeback")  # what a person must answer
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+"
                    r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class BusinessHours:
    """Open days and hours in one time zone, with holidays closed all day."""

    days: frozenset[int]                 # 0 = Monday
    opens: dt.time
    closes: dt.time
    zone: ZoneInfo
    holidays: frozenset[dt.date] = frozenset()

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The open hours of a local day, as UTC instants (DST-exact), or None when closed."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = dt.datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        closes = dt.datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        return opens, closes


def parse_business_hours(text: str, zone: str, holidays: list[str], where: str) -> BusinessHours:
    """`mon-fri 09:00-18:00` in a zone such as `Europe/Rome`; a bad value names its key."""
    found = _HOURS.match(text.strip().lower())
    if not found:
        raise UserError(f"{where}.business_hours: expected like \"mon-fri 09:00-18:00\", got {text!r}")
    days: set[int] = set()
    for part in found["days"].split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise UserError(f"{where}.business_hours: unknown day in {part!r} (use mon..sun)")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    try:
        opens, closes = (dt.time.fromisoformat(found[key].zfill(5)) for key in ("start", "end"))
    except ValueError:
        raise UserError(f"{where}.business_hours: not a time of day in {text!r}") from None
    if closes <= opens:
        raise UserError(f"{where}.business_hours: closes before it opens in {text!r}")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"{where}.timezone: unknown time zone {zone!r}") from None
    try:
        closed = frozenset(dt.date.fromisoformat(day) for day in holidays)
    except ValueError:
        raise UserError(f"{where}.holidays: expected dates like 2026-12-25") from None
    return BusinessHours(frozenset(days), opens, closes, tz, closed)


def add_hours(start: dt.datetime, hours: float, business: BusinessHours | None = None) -> dt.datetime:
    """`start` plus `hours` of elapsed time, counting only open hours when `business` is given."""
    remaining = dt.timedelta(hours=hours)
    if business is None:
        return start + remaining
    day = start.astimezone(business.zone).date()
    for _ in range(3700):  # ten years of closed days is a configuration, not a schedule
        window = business.window(day)
        if window:
            opens, closes = window
            begin = max(start, opens)
            if begin < closes:
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
        day += dt.timedelta(days=1)
    raise UserError("business hours never open: check sla business_hours and holidays")


@dataclass(frozen=True)
class Clock:
    started_at: dt.datetime
    due: dt.datetime
    target_due: dt.datetime
    hard_due: dt.datetime | None


@dataclass(frozen=True)
class Policy:
    """The SLA settings of one channel."""

    target_hours: dict[str, float]
    hard_hours: float | None            # the channel's own limit for a buyer message
    business: BusinessHours | None = None
    amazon: bool = False

    def clock(self, risk: str, waiting: list[tuple[dt.datetime, str]]) -> Clock | None:
        """The clock for a ticket whose unanswered buyer messages are `waiting` (sent_at, kind)."""
        if not waiting:
            return None
        started = min(sent for sent, _kind in waiting)
        target = add_hours(started, self.target_hours[risk], self.business)
        hard = None
        for sent, kind in waiting:
            limit = AMAZON_LIMIT_HOURS.get(kind) if self.amazon else None
            limit = limit or self.hard_hours
            if limit is not None:
                due = sent + dt.timedelta(hours=limit)  # hard limits run on the calendar
                hard = due if hard is None else min(hard, due)
        return Clock(started, min(target, hard) if hard else target, target, hard)


def policy_for(channel: str, sla: dict) -> Policy:
    """The SLA policy of a ticket channel from config `[sla]` and `[sla.channels.CHANNEL]`."""
    own = sla.get("channels", {}).get(channel, {})
    targets = {level: float(own.get(f"{level}_hours") or sla.get(f"{level}_hours") or default)
               for level, default in DEFAULT_TARGET_HOURS.items()}
    amazon = channel == "amazon"
    hard = own.get("hard_limit_hours") or (sla.get("response_hours", 24) if amazon else None)
    business = None
    if own.get("business_hours"):
        business = parse_business_hours(own["business_hours"], own.get("timezone") or "UTC",
                                        own.get("holidays") or [], f"sla.channels.{channel}")
    return Policy(targets, float(hard) if hard else None, business, amazon)
