"""The one clock: every deadline, SLA timer and "as of" report asks it for the time.

Tests and the CLI (`--now`, `DESKTERM_NOW`) fix it, so results are reproducible.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from deskterm.errors import UserError

UTC = dt.timezone.utc


def parse_instant(text: str) -> dt.datetime:
    """Parse an ISO 8601 instant; a naive one is taken as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"not an ISO 8601 time: {text!r} (example: 2026-05-01T12:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock:
    """Returns the fixed instant when one was given, else the system time (always UTC)."""

    def __init__(self, fixed: dt.datetime | None = None) -> None:
        self.fixed = fixed

    @classmethod
    def from_setting(cls, now: str | None) -> "Clock":
        """Build from `--now`, falling back to `DESKTERM_NOW`, then to the system clock."""
        text = now or os.environ.get("DESKTERM_NOW")
        return cls(parse_instant(text) if text else None)

    def now(self) -> dt.datetime:
        return self.fixed if self.fixed is not None else dt.datetime.now(UTC)

    def today(self) -> dt.date:
        return self.now().date()


def iso(instant: dt.datetime) -> str:
    """Format an instant the way the store and `--json` output keep it: UTC, seconds, `Z`."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_until(text: str, now: dt.datetime) -> dt.datetime:
    """`30m`, `2h`, `3d`, `1w`, `tomorrow` (08:00 UTC), or an ISO date or time: when a snooze ends."""
    value = text.strip().lower()
    relative = _RELATIVE.match(value)
    if relative:
        return now + dt.timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    if value == "tomorrow":
        return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(8), tzinfo=UTC)
    return parse_instant(text)
