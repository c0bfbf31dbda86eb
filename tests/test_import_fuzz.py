"""Property tests: `deskterm import` never falls over, and the value parsers round-trip.

(a) Whatever bytes a file holds, on its own or after a valid report header, `import` ends with
    exit 0 or 1 (never 2, never an unexpected error), prints its one JSON document, and points
    every rejection at a line that exists in the file.
(b) `parse_when` and `parse_decimal` read every supported spelling of a date or an amount back
    to the same value.

`main()` runs in-process (much faster than a subprocess) in a temporary workspace made inside
each example.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import gzip
import io
import json
import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deskterm.cli import main
from deskterm.values import parse_decimal, parse_when

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
NOW = "2026-06-30T12:00:00Z"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PROPERTY = settings(max_examples=300, deadline=None)
UTC = dt.timezone.utc


# --------------------------------------------------------------------------------------------
# (a) import never falls over
# --------------------------------------------------------------------------------------------

def physical_line_count(data: bytes) -> int:
    """Lines ended by LF, CRLF or a lone CR; an unterminated last line counts; at least 1."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except Exception:  # noqa: BLE001 - a corrupt gzip: only line 1 can be blamed
            return 1
    parts = re.split(rb"\r\n|\r|\n", data)
    return max(1, len(parts) - (1 if parts[-1] == b"" else 0))


def import_bytes(data: bytes, name: str = "report.txt") -> tuple[int, str, str]:
    """`deskterm import FILE --json` on a fresh workspace: (exit code, stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="deskterm-fuzz-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        code: Any = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(["--home", str(Path(tmp) / "ws"), "--now", NOW, "import", str(path), "--json"])
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue(), err.getvalue()


def assert_import_survives(data: bytes) -> None:
    code, out, err = import_bytes(data)
    assert code in (0, 1), f"exit {code!r}; stderr={err!r}"
    assert "Traceback" not in err, err
    assert "unexpected error" not in err, err
    document = json.loads(out)
    assert set(document) == {"imported", "duplicates", "rejected"}
    assert code == (1 if document["rejected"] else 0), (code, document)
    lines = physical_line_count(data)
    for rejected in document["rejected"]:
        line = rejected["line"]
        assert line is None or 1 <= line <= lines, (rejected, lines)
        assert rejected["reason"]


@FUZZ
@given(st.binary(max_size=2000))
# Inputs that broke deskterm when these tests were written (kept as regression examples):
@example(b"a,b\rc")                    # CR line ends, one-character last line: csv.Error
@example(b"\x1f\x8b")                  # gzip magic only: EOFError, exit 130 "aborted"
@example(b"\x1f\x8b\x08\x00garbage")   # corrupt gzip stream
def test_arbitrary_bytes_never_break_import(data: bytes) -> None:
    assert_import_survives(data)


def _head(name: str, lines: int = 1) -> bytes:
    """The first `lines` physical lines of a fixture, with their own line ends (BOM kept)."""
    raw = (FIXTURES / name).read_bytes()
    kept = raw.splitlines(keepends=True)[:lines]
    return b"".join(kept)


HEADERS = {
    "returns": _head("customer_returns.txt"),
    "returns_amazon_order_id": _head("customer_returns_amazon_order_id.txt"),
    "all_orders": _head("all_orders.txt"),
    "ledger_detail": _head("ledger_detail.txt"),
    "ledger_semicolon": _head("ledger_detail_semicolon_ddmmyyyy.csv"),
    "ledger_summary": _head("ledger_summary.txt"),
    "reimbursements": _head("reimbursements.txt"),
    "settlement": _head("settlement_v2.txt", 2),           # header and the summary row
    "date_range": _head("date_range_transactions.csv", 8),  # BOM, 7 preamble lines and the header
    "removal_orders": _head("removal_order_detail.txt"),
    "removal_shipments": _head("removal_shipment_detail.txt"),
    "costs": _head("sourcing_costs.csv"),
    "inbound": _head("inbound_lines.csv"),
}

# Cells that reach the parsers: realistic values, near misses and plain garbage.
_CELLS = st.one_of(
    st.sampled_from([
        "", " ", "0", "1", "-1", "24.99", "24,99", "1.234,56", "1,234.56", "-0", "abc", "N/A", '"', '""', "'",
        "2026-05-20T15:31:40+00:00", "05/03/2026", "03.05.2026", "Jun 2, 2026 7:11:52 AM PDT",
        "2 Jun 2026 07:11:52 UTC", "02/30/2026", "13/13/2026", "2026-02-30", "Refund", "Order",
        "ItemPrice", "Principal", "EUR", "Amazon.de", "X001ABCD12", "BCB-3PC-NAT", "113-4827163-2290641",
        "SELLABLE", "M", "\u00e9", "\ufeff", "\x00",
    ]),
    st.sampled_from(["1e30", "99999999999999999999", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]),
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**6, max_value=10**6).map(str),
    st.text(alphabet=st.sampled_from('ab1.,;\t"\r\n é-:/ '), max_size=12),
)


@st.composite
def _rows(draw: st.DrawFn) -> bytes:
    delimiter = draw(st.sampled_from(["\t", ",", ";"]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    rows = draw(st.lists(st.lists(_CELLS, max_size=26).map(delimiter.join), max_size=8))
    text = end.join(rows) + draw(st.sampled_from(["", end]))
    return text.encode(draw(st.sampled_from(["utf-8", "iso-8859-1"])), "replace")


def _fixture_row(name: str, line: int, column: int, value: str) -> bytes:
    """Line `line` (1-based) of a tab-separated fixture with one cell replaced, LF-terminated."""
    cells = (FIXTURES / name).read_text().splitlines()[line - 1].split("\t")
    cells[column] = value
    return ("\t".join(cells) + "\n").encode()


@FUZZ
@given(header=st.sampled_from(sorted(HEADERS)), body=st.one_of(st.binary(max_size=2000), _rows()))
# Inputs that broke deskterm when these tests were written (kept as regression examples):
@example(header="returns", body=_fixture_row("customer_returns.txt", 2, 6, "99999999999999999999"))
@example(header="ledger_detail", body=_fixture_row("ledger_detail.txt", 2, 14, "9999-12-31T23:59:59-01:00"))
def test_arbitrary_bytes_after_a_valid_header_never_break_import(header: str, body: bytes) -> None:
    assert_import_survives(HEADERS[header] + body)


_LINE_PARTS = st.sampled_from(["a", "b\tc", "é", "\t", " ", "\r", "\r\n", "\x00", "\n"])


@PROPERTY
@given(lines=st.lists(st.tuples(st.lists(_LINE_PARTS, max_size=6).map("".join),
                                st.sampled_from(["utf-8", "iso-8859-1"])), max_size=12),
       block=st.integers(min_value=1, max_value=64), header_line=st.integers(min_value=1, max_value=3))
def test_tab_rows_read_by_the_block_are_the_rows_read_line_by_line(
        tmp_path_factory: Any, lines: list[tuple[str, str]], block: int, header_line: int) -> None:
    """Blocks of plain UTF-8 take a fast path: whatever the blocks hold (Latin-1, CR, NUL,
    blank lines) and wherever they split, rows, line numbers and raw bytes must not change."""
    from deskterm.reports import reader

    data = b"".join(text.encode(encoding) + b"\n" for text, encoding in lines)
    path = tmp_path_factory.mktemp("tab") / "rows.txt"
    path.write_bytes(data)
    table = reader.Table(path, header_line, ["a", "b"], "\t", ["a", "b"])
    expected = []
    for number, raw in enumerate(reader.physical_lines(io.BytesIO(data)), start=1):
        text = reader.decode_line(raw).rstrip("\r\n")
        if number > header_line and text.strip():
            expected.append((number, text.split("\t"), raw))
    original = reader._BLOCK_BYTES
    reader._BLOCK_BYTES = block
    try:
        assert list(reader.iter_rows(table)) == expected
    finally:
        reader._BLOCK_BYTES = original


# --------------------------------------------------------------------------------------------
# (b) parse_when / parse_decimal round-trips
# --------------------------------------------------------------------------------------------

_INSTANTS = st.datetimes(min_value=dt.datetime(1995, 1, 2), max_value=dt.datetime(2098, 12, 30)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC))
_DATES = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2099, 12, 31))

_US_ZONES = {"PDT": -7, "PST": -8, "MDT": -6, "MST": -7, "CDT": -5, "CST": -6, "EDT": -4, "EST": -5,
             "UTC": 0, "GMT": 0}
_EU_ZONES = {"UTC": 0, "GMT": 0, "CET": 1, "CEST": 2, "BST": 1, "GMT+01:00": 1, "GMT+02:00": 2}


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month(month: int, full: bool) -> str:
    return calendar.month_name[month] if full else calendar.month_abbr[month]


@PROPERTY
@given(instant=_INSTANTS, minutes=st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: q * 15),
       colon=st.booleans())
def test_parse_when_iso_with_offset(instant: dt.datetime, minutes: int, colon: bool) -> None:
    local = instant.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    text = f"{local:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}{':' if colon else ''}{mins:02d}"
    assert parse_when(text) == (_utc(instant), True), text


@PROPERTY
@given(instant=_INSTANTS, suffix=st.sampled_from(["Z", "+00:00", " UTC"]), sep=st.sampled_from(["T", " "]))
def test_parse_when_iso_utc(instant: dt.datetime, suffix: str, sep: str) -> None:
    text = f"{instant:%Y-%m-%d}{sep}{instant:%H:%M:%S}{suffix}"
    assert parse_when(text) == (_utc(instant), True), text


@PROPERTY
@given(day=_DATES)
def test_parse_when_iso_date(day: dt.date) -> None:
    assert parse_when(day.isoformat()) == (day.isoformat(), False)


@PROPERTY
@given(day=_DATES, padded=st.booleans())
def test_parse_when_us_slash_date(day: dt.date, padded: bool) -> None:
    text = f"{day.month:02d}/{day.day:02d}/{day.year}" if padded else f"{day.month}/{day.day}/{day.year}"
    assert parse_when(text) == (day.isoformat(), False), text


@PROPERTY
@given(day=_DATES, padded=st.booleans())
def test_parse_when_dotted_day_first_date(day: dt.date, padded: bool) -> None:
    text = f"{day.day:02d}.{day.month:02d}.{day.year}" if padded else f"{day.day}.{day.month}.{day.year}"
    assert parse_when(text) == (day.isoformat(), False), text


@PROPERTY
@given(instant=_INSTANTS)
def test_parse_when_dotted_date_with_utc_time(instant: dt.datetime) -> None:
    text = f"{instant:%d.%m.%Y %H:%M:%S} UTC"        # settlement files of the EU marketplaces
    assert parse_when(text) == (_utc(instant), True), text


@PROPERTY
@given(instant=_INSTANTS, zone=st.sampled_from(sorted(_US_ZONES)), full=st.booleans())
def test_parse_when_us_wordy_12_hour(instant: dt.datetime, zone: str, full: bool) -> None:
    local = instant.astimezone(dt.timezone(dt.timedelta(hours=_US_ZONES[zone])))
    hour12 = local.hour % 12 or 12
    ampm = "AM" if local.hour < 12 else "PM"
    text = f"{_month(local.month, full)} {local.day}, {local.year} {hour12}:{local:%M:%S} {ampm} {zone}"
    assert parse_when(text) == (_utc(instant), True), text


@PROPERTY
@given(instant=_INSTANTS, zone=st.sampled_from(sorted(_EU_ZONES)), full=st.booleans())
def test_parse_when_day_month_year_24_hour(instant: dt.datetime, zone: str, full: bool) -> None:
    local = instant.astimezone(dt.timezone(dt.timedelta(hours=_EU_ZONES[zone])))
    text = f"{local.day} {_month(local.month, full)} {local.year} {local:%H:%M:%S} {zone}"
    assert parse_when(text) == (_utc(instant), True), text


@PROPERTY
@given(day=_DATES, full=st.booleans(), day_first=st.booleans())
def test_parse_when_wordy_date_only(day: dt.date, full: bool, day_first: bool) -> None:
    month = _month(day.month, full)
    text = f"{day.day} {month} {day.year}" if day_first else f"{month} {day.day}, {day.year}"
    assert parse_when(text) == (day.isoformat(), False), text


_AMOUNTS = st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@PROPERTY
@given(places=st.integers(min_value=0, max_value=4), data=st.data(), comma=st.booleans())
def test_parse_decimal_plain(places: int, data: st.DataObject, comma: bool) -> None:
    value = data.draw(st.decimals(min_value=-10**9, max_value=10**9, places=places,
                                  allow_nan=False, allow_infinity=False))
    text = format(value, "f")
    if comma:
        text = text.replace(".", ",")
    parsed = parse_decimal(text)
    assert Decimal(parsed) == value, text
    assert parsed == format(value, "f"), text       # exact text: '24.90' stays '24.90'


def _grouped(value: Decimal, style: str) -> str:
    us = format(value, ",.2f")                          # 1,234,567.89
    if style == "us":
        return us
    if style == "eu":
        return us.translate(str.maketrans(",.", ".,"))  # 1.234.567,89
    if style == "space":
        return us.replace(",", " ").replace(".", ",")   # 1 234 567,89
    if style == "nbsp":
        return us.replace(",", "\u00a0").replace(".", ",")
    if style == "swiss":
        return us.replace(",", "'")                     # 1'234'567.89
    raise AssertionError(style)


@PROPERTY
@given(value=_AMOUNTS, style=st.sampled_from(["us", "eu", "space", "nbsp", "swiss"]))
def test_parse_decimal_grouped(value: Decimal, style: str) -> None:
    text = _grouped(value, style)
    parsed = parse_decimal(text)
    assert Decimal(parsed) == value, text
    assert parsed == format(value, ".2f"), text


@PROPERTY
@given(value=_AMOUNTS, symbol=st.sampled_from(["$", "€", "£"]), comma=st.booleans())
def test_parse_decimal_with_currency_symbol(value: Decimal, symbol: str, comma: bool) -> None:
    text = format(value, "f")
    if comma:
        text = text.replace(".", ",")
    assert Decimal(parse_decimal(symbol + text)) == value


# Keys that share their first two bytes land in one bucket, where a key can also appear
# straddling two others: the strategy makes both happen often.
_KEYS = st.binary(min_size=6, max_size=6).map(lambda tail: b"\x01\x02" + tail) | st.sampled_from(
    [b"\x01\x02" + bytes([n]) * 6 for n in range(4)] + [b"\x02\x01\x02\x02\x02\x02\x02\x01"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_KEYS, max_size=200))
def test_seen_keys_answer_as_a_set_does(keys: list[bytes]) -> None:
    from deskterm.reports.seen import SeenKeys

    seen, reference = SeenKeys(), set()
    for key in keys:
        assert seen.add(key) == (key not in reference)
        reference.add(key)
