"""Parsers for the values Amazon writes in report files, across marketplaces.

Each raises ValueError with a short reason; the importer adds the file, line and field.
Dates come back as ISO strings: `YYYY-MM-DD` for a date, `YYYY-MM-DDTHH:MM:SSZ` (UTC) for
an instant.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache

UTC = dt.timezone.utc

# Abbreviations Amazon prints after local times (US reports mostly; EU files use UTC/GMT±hh:mm).
_ZONE_OFFSETS = {
    "UTC": 0, "GMT": 0, "Z": 0, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5,
    "EST": -5, "EDT": -4, "AKST": -9, "AKDT": -8, "HST": -10, "BST": 1, "CET": 1, "CEST": 2,
    "MEZ": 1, "MESZ": 2, "WET": 0, "WEST": 1, "EET": 2, "EEST": 3, "JST": 9, "AEST": 10,
    "AEDT": 11, "IST": 5.5,
}

# English plus the month abbreviations of the EU marketplaces' Date Range reports.
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "jan january gen gennaio januar janv janvier ene enero",
            "feb february febbraio februar fevr févr fevrier février febrero",
            "mar march marzo märz mär maerz mars",
            "apr april aprile avr avril abr abril",
            "may mai maggio mag mayo",
            "jun june giu giugno juni juin junio",
            "jul july lug luglio juli juil juillet julio",
            "aug august ago agosto août aout",
            "sep sept september set settembre septembre septiembre",
            "oct october ott ottobre okt oktober octobre octubre",
            "nov november novembre noviembre",
            "dec december dic dicembre dez dezember déc decembre décembre diciembre",
        ],
        start=1,
    )
    for name in names.split()
}

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?$", re.I)
_NUMERIC = re.compile(
    r"^(\d{1,4})([./-])(\d{1,2})\2(\d{2,4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?\s*([A-Za-z]{1,5}|(?:GMT|UTC)?[+-]\d{1,2}(?::?\d{2})?)?$"
)
_WORDY = re.compile(
    r"^(?:(?P<mon1>[^\W\d_]+)\.?\s+(?P<day1>\d{1,2}),?|(?P<day2>\d{1,2})\.?\s+(?P<mon2>[^\W\d_]+)\.?,?)\s+(?P<year>\d{4}),?"
    r"(?:\s+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<zone>[A-Za-z]{1,5}(?:[+-]\d{1,2}(?::?\d{2})?)?|[+-]\d{1,2}:?\d{2})?$"
)


def parse_when(text: str) -> tuple[str, bool]:
    """Parse a report date or time: returns (iso, has_time). See `_parse_when`."""
    if len(text) == 25 and text.endswith("+00:00") and text[10] == "T" and text[:4].isdigit():
        dt.datetime.fromisoformat(text)  # validates: 2026-02-30 is refused here too
        return text[:19] + "Z", True  # already UTC: the commonest instant in Amazon's files
    try:
        return _parse_when(text)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the last representable UTC instant
        raise ValueError(f"date out of range: {text.strip()!r}") from None


@lru_cache(maxsize=8192)
def _parse_when(text: str) -> tuple[str, bool]:
    """Parse a report date or time: returns (iso, has_time).

    Accepts ISO 8601 with or without offset, `MM/DD/YYYY` (and `DD/MM/YYYY` when the first
    number cannot be a month), `DD.MM.YYYY`, `YYYY/MM/DD`, and wordy forms such as
    `Jun 2, 2026 7:11:52 AM PDT` or `2 giu 2026 07:11:52 GMT+02:00`. A time without zone is UTC.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty date")
    if len(value) > 10 and value[4] == "-" and value[10] == "T":
        try:  # the common case, fast: ISO 8601 with an offset
            instant = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            return _iso_instant(instant), True
    if _ISO.match(value):
        return _from_iso(value)
    match = _NUMERIC.match(value)
    if match:
        a, sep, b, c, hh, mm, ss, ampm, zone = match.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif sep == ".":
            day, month, year = int(a), int(b), int(c)
        else:
            month, day, year = int(a), int(b), int(c)
            if month > 12 >= day:
                month, day = day, month
        if year < 100:
            year += 2000
        return _assemble(year, month, day, hh, mm, ss, ampm, zone)
    match = _WORDY.match(value)
    if match:
        parts = match.groupdict()
        month_name = (parts["mon1"] or parts["mon2"]).lower().rstrip(".")
        month = _MONTHS.get(month_name)
        if month is None:
            raise ValueError(f"unknown month {month_name!r}")
        day = int(parts["day1"] or parts["day2"])
        return _assemble(int(parts["year"]), month, day, parts["h"], parts["m"], parts["s"],
                         (parts["ampm"] or "").replace(".", "") or None, parts["zone"])
    raise ValueError(f"not a date: {value!r}")


def _from_iso(value: str) -> tuple[str, bool]:
    normal = re.sub(r"\s*(UTC|GMT)$", "+00:00", value, flags=re.I).replace(" ", "T", 1)
    if len(normal) == 10:
        return dt.date.fromisoformat(normal).isoformat(), False
    instant = dt.datetime.fromisoformat(normal.replace("z", "Z").replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return _iso_instant(instant), True


def _assemble(year: int, month: int, day: int, hh: str | None, mm: str | None, ss: str | None,
              ampm: str | None, zone: str | None) -> tuple[str, bool]:
    date = dt.date(year, month, day)  # raises ValueError for 02/30/2026
    if hh is None:
        return date.isoformat(), False
    hour = int(hh)
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} with {ampm}")
        hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
    instant = dt.datetime(year, month, day, hour, int(mm or 0), int(ss or 0), tzinfo=_zone(zone))
    return _iso_instant(instant), True


def _zone(zone: str | None) -> dt.tzinfo:
    if not zone:
        return UTC
    match = re.fullmatch(r"(?:(GMT|UTC))?([+-])(\d{1,2})(?::?(\d{2}))?", zone, re.I)
    if match:
        sign = -1 if match.group(2) == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=int(match.group(3)), minutes=int(match.group(4) or 0)))
    hours = _ZONE_OFFSETS.get(zone.upper())
    if hours is None:
        raise ValueError(f"unknown time zone {zone!r}")
    return dt.timezone(dt.timedelta(hours=hours))


def _iso_instant(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


@lru_cache(maxsize=4096)  # a report's rows share a few hundred days
def parse_date(text: str) -> str:
    """The calendar date (`YYYY-MM-DD`, UTC) of a report date or instant."""
    value, _ = parse_when(text)
    return value[:10]


def parse_instant(text: str) -> str:
    """An instant in UTC; a bare date is taken as midnight UTC."""
    value, has_time = parse_when(text)
    return value if has_time else value + "T00:00:00Z"


_PLAIN_NUMBER = re.compile(r"[-+]?(\d{1,15}(\.\d{0,10})?|\.\d{1,10})", re.ASCII)
MAX_QUANTITY = 10**9


@lru_cache(maxsize=8192)
def parse_decimal(text: str) -> str:
    """A decimal written with `.` or `,` as separator, with or without thousands grouping.

    When both appear, the last one is the decimal point (`1.234,56`, `1,234.56`). A lone `,`
    is a decimal comma (`24,99`) unless it groups thousands (`1,234,567`).
    """
    value = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    for symbol in ("$", "€", "£", "¥"):
        value = value.replace(symbol, "")
    if not value:
        raise ValueError("empty number")
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            value = value.replace(".", "").replace(",", ".")
        else:
            value = value.replace(",", "")
    elif "," in value:
        if re.fullmatch(r"[-+]?\d{1,3}(,\d{3}){2,}", value):
            value = value.replace(",", "")
        else:
            value = value.replace(",", ".")
    if value.count(".") > 1 and re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", value, re.ASCII):
        value = value.replace(".", "")
    # Plain ASCII digits only: no exponent (1e9999999 would take an hour to expand), no `_`.
    if not _PLAIN_NUMBER.fullmatch(value):
        raise ValueError(f"not a number: {text.strip()!r}")
    return format(Decimal(value), "f")


_SMALL_INTS = {str(number): number for number in range(-999, 1000)}  # nearly every quantity


def parse_int(text: str) -> int:
    """A quantity: an integer, allowing `3.0`, `+3` and thousands grouping."""
    known = _SMALL_INTS.get(text)
    if known is not None:
        return known
    digits = text[1:] if text[:1] == "-" else text
    if digits.isascii() and digits.isdigit() and len(digits) < 10:
        return int(text)
    number = Decimal(parse_decimal(text))
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {text.strip()!r}")
    if abs(number) > MAX_QUANTITY:
        raise ValueError(f"quantity out of range: {text.strip()!r}")
    return int(number)
