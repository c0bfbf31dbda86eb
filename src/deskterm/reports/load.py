"""Store a report file's rows: parse each by header name, key it, upsert it in batches.

A row that cannot be read is reported as `file:line: reason`, kept raw in the quarantine,
and the rest of the file goes on. Each batch is one `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import gc
import json
import marshal
import operator
import os
import sqlite3
import zlib
import multiprocessing
from collections.abc import Callable, Iterator
from queue import Empty, Full
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskterm import marketplaces
from deskterm.digest import digest, occurrence_key
from deskterm.outcome import ImportOutcome, Rejection
from deskterm.quarantine import quarantine
from deskterm.reports import specs
from deskterm.reports.reader import Table, candidate_headers, iter_rows, normalize_header, read_head
from deskterm.reports.seen import SeenKeys
from deskterm.store import Store

BATCH_ROWS = 10_000
PARSER_PROCESS_BYTES = 8 * 1024 * 1024  # from this size a second process parses while we write
QUARANTINE_FILE_BYTES = 16 * 1024 * 1024
_META = ("row_key", "content_hash", "source_file", "source_line", "imported_at")
_REFUND_TYPES = {"refund", "erstattung", "rimborso", "remboursement", "reembolso", "terugbetaling"}


class UnrecognisedReport(Exception):
    """The file's first lines hold no header row of a known report type."""


def open_report(path: Path) -> tuple[specs.ReportType, Table]:
    head = read_head(path)
    for number, delimiter, labels in candidate_headers(head):
        cells = [normalize_header(label) for label in labels]
        report = specs.detect(cells)
        if report is not None:
            preamble = [text for n, text in head if n < number]
            labels = [" ".join(label.strip().strip("\ufeff").split()) for label in labels]
            return report, Table(path, number, cells, delimiter, labels, preamble)
    raise UnrecognisedReport("header row matches no known report type")


@dataclass
class Batch:
    """Rows ready for one transaction; plain data, so a parser process can send it over a pipe."""

    params: list[tuple[Any, ...]] = field(default_factory=list)   # in `_Writer.fields` order
    hook_rows: list[dict[str, Any]] = field(default_factory=list)  # for types that update other tables
    rejected: list[tuple[int, str, bytes]] = field(default_factory=list)  # line, reason, raw bytes
    catalog: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (seller SKU, FNSKU): ASIN

    def __len__(self) -> int:
        return len(self.params) + len(self.rejected)

    def to_bytes(self) -> bytes:
        """The batch for the pipe to the writer. Rows hold only str, int, bytes and None, which
        `marshal` writes several times faster than pickle (the pipe's default) and reads faster
        too: at millions of rows, pickling was a fifth of the parser's time. Both ends run the same
        interpreter, the one thing marshal asks."""
        return marshal.dumps((self.params, self.hook_rows, self.rejected, self.catalog))

    @classmethod
    def from_bytes(cls, data: bytes) -> Batch:
        return cls(*marshal.loads(data))


def load_report(store: Store, path: Path, display: str, outcome: ImportOutcome) -> None:
    """Import one report file into the store, adding its counts and rejections to `outcome`.

    A file that cannot be read to the end (a corrupt gzip, an I/O error) is reported at line 1
    with the reason; the rows read before the fault stay imported, and the other paths go on.
    """
    try:
        _load(store, path, display, outcome)
    except UnrecognisedReport as exc:
        _reject_file(store, path, display, 1, str(exc), outcome)
    except (OSError, EOFError, zlib.error) as exc:
        _reject_file(store, path, display, 1, f"cannot read the file: {exc}", outcome)


def _load(store: Store, path: Path, display: str, outcome: ImportOutcome) -> None:
    report, _table = open_report(path)
    writer = _Writer(store, report, display)
    job = _ParseJob(path, display, writer.fields, store.now())
    batches = _parse_elsewhere(job) if path.stat().st_size >= PARSER_PROCESS_BYTES else job.batches()
    for batch in batches:
        writer.flush(batch, outcome)


@dataclass
class _ParseJob:
    """Everything needed to turn a report file into batches, without the store."""

    path: Path
    display: str
    fields: list[str]
    now: str

    def batches(self) -> Iterator[Batch]:
        report, table = open_report(self.path)
        indexes = _column_indexes(report, table)
        shape = _Shaper(report, table) if report in (specs.SETTLEMENT, specs.DATE_RANGE) else None
        pick = operator.itemgetter(*self.fields)
        keep_rows = report in _HOOKS
        with_json = "fields" in self.fields
        sku_field = _catalog_sku_field(report)
        seen = SeenKeys()  # 8 bytes of each natural key
        repeats: dict[bytes, int] = {}
        width = len(table.header)
        batch = Batch()
        for line, fields, raw in iter_rows(table):
            if isinstance(fields, str):
                batch.rejected.append((line, fields, raw))
                continue
            try:
                if len(fields) > width and any(cell.strip() for cell in fields[width:]):
                    raise ValueError(f"{len(fields)} fields where the header has {width}")
                values = _parse_fields(indexes, fields)
                if shape:
                    shape(values)
            except ValueError as exc:
                batch.rejected.append((line, str(exc), raw))
            else:
                content = digest(values.values())
                natural = digest([values[k] for k in report.key]) if report.key else content
                if seen.add(natural[:8]):
                    occurrence = 0
                else:  # (a false hit only numbers a row 1 instead of 0: still unique)
                    occurrence = repeats[natural] = repeats.get(natural, 0) + 1
                key = occurrence_key(natural, occurrence)
                if report.key_prefix:
                    key = (values[report.key_prefix] or "")[:10].encode() + key
                if with_json:
                    values["fields"] = json.dumps(values, default=str)
                values["row_key"] = key
                values["content_hash"] = content
                values["source_file"] = self.display
                values["source_line"] = line
                values["imported_at"] = self.now
                batch.params.append(pick(values))
                if sku_field and values[sku_field] and values["fnsku"]:
                    batch.catalog.setdefault((values[sku_field], values["fnsku"]), values.get("asin"))
                if keep_rows:
                    batch.hook_rows.append(values)
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = Batch()
        yield batch


def _catalog_sku_field(report: specs.ReportType) -> str | None:
    """The seller-SKU field of a report that pairs it with an FNSKU, so the catalogue learns it."""
    fields = {c.field for c in report.columns}
    if "fnsku" not in fields:
        return None
    return next((name for name in ("msku", "sku") if name in fields), None)


def _parse_elsewhere(job: _ParseJob) -> Iterator[Batch]:
    """Parse in a second process while this one writes: the two halves each take about half
    the time of a large import, and two cores run them side by side."""
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue(maxsize=2)  # bounds memory: at most two batches in flight
    worker = context.Process(target=_produce, args=(job, queue), daemon=True, name="deskterm-parse")
    worker.start()
    try:
        while True:
            try:
                item = queue.get(timeout=1)
            except Empty:
                if not worker.is_alive():
                    raise OSError(f"the parser process stopped (exit code {worker.exitcode})") from None
                continue
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield Batch.from_bytes(item)
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _produce(job: _ParseJob, queue: Any) -> None:
    # This process only builds acyclic rows and exits: the cycle collector would just rescan
    # the growing set of row keys again and again.
    gc.disable()
    parent = os.getppid()

    def hand_over(item: Any) -> None:
        """Wait for room in the queue while the importer lives; a killed importer never reads it,
        and a parser left waiting would hold its batch forever."""
        while True:
            try:
                queue.put(item, timeout=1.0)
                return
            except Full:
                if os.getppid() != parent:
                    os._exit(1)

    try:
        for batch in job.batches():
            hand_over(batch.to_bytes())
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which decides
        hand_over(exc)
    else:
        hand_over(None)


def _reject_file(store: Store, path: Path, display: str, line: int, reason: str, outcome: ImportOutcome) -> None:
    """Quarantine the file's bytes (the first 16 MB: the file itself stays where it is)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(QUARANTINE_FILE_BYTES)
    except OSError:
        raw = b""
    with store.write() as conn:
        quarantine(conn, store, "report_file", display, line, reason, raw)
    outcome.rejected.append(Rejection(display, line, reason))


# (store field, position in the row or -1, parser or None for text, required, header as written)
_Index = tuple[str, int, Callable[[str], Any] | None, bool, str]


def _column_indexes(report: specs.ReportType, table: Table) -> list[_Index]:
    """Where each column is in this file, and its header as the file spells it (for messages)."""
    position: dict[str, int] = {}
    for index, name in enumerate(table.header):
        position.setdefault(name, index)
    found = []
    for column in report.columns:
        index = next((position[h] for h in column.headers if h in position), -1)
        label = table.labels[index] if index >= 0 else column.headers[0]
        parse = None if column.parse is specs.text else column.parse
        found.append((column.field, index, parse, column.required, label))
    return found


def _parse_fields(indexes: list[_Index], fields: list[str]) -> dict[str, Any]:
    """The row's values by store field; ValueError names the field as the file's header does."""
    values: dict[str, Any] = {}
    count = len(fields)
    for name, index, parse, required, label in indexes:
        raw = fields[index].strip() if 0 <= index < count else ""
        if not raw:
            if required:
                raise ValueError(f"field '{label}': required value is empty")
            values[name] = None
        elif parse is None:
            values[name] = raw
        else:
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise ValueError(f"field '{label}': {exc}") from None
    return values


class _Shaper:
    """Per-type touches that need the file's context (settlement carry-forward, preamble currency)."""

    def __init__(self, report: specs.ReportType, table: Table) -> None:
        self.report = report
        self.settlements: dict[str, dict[str, Any]] = {}
        self.currency = _preamble_currency(table.preamble)

    def __call__(self, values: dict[str, Any]) -> None:
        if self.report is specs.SETTLEMENT:
            # Settlement-level columns are filled only on a settlement's first (summary) row.
            known = self.settlements.setdefault(values["settlement_id"], {})
            for name in ("settlement_start", "settlement_end", "deposit_date", "currency"):
                if values[name] is None:
                    values[name] = known.get(name)
                else:
                    known[name] = values[name]
        elif self.report is specs.DATE_RANGE:
            market = marketplaces.from_site(values["marketplace"])
            values["currency"] = self.currency or marketplaces.default_currency(market)


def _preamble_currency(preamble: list[str]) -> str | None:
    for text in preamble:
        words = text.replace('"', " ").split()
        if "amounts" in (w.lower() for w in words) and "in" in words:
            after = words[words.index("in") + 1].rstrip(",.")
            if len(after) == 3 and after.isalpha():
                return after.upper()
    return None


class _Writer:
    """Builds the upsert for one report type and writes batches in single transactions."""

    def __init__(self, store: Store, report: specs.ReportType, display: str) -> None:
        self.store = store
        self.report = report
        self.display = display
        table_columns = {row["name"] for row in store.rows(f"PRAGMA table_info({report.table})")}
        fields = [c.field for c in report.columns if c.field in table_columns]
        self.fields = fields + list(_META)
        if report.table in ("ledger_summary", "transactions"):
            self.fields.append("fields")
        if report.table == "transactions":
            self.fields.append("currency")
        names = ", ".join(self.fields)
        marks = ", ".join("?" for _ in self.fields)
        if report.key:
            updates = ", ".join(f"{f} = excluded.{f}" for f in self.fields if f != "row_key")
            self.sql = (f"INSERT INTO {report.table} ({names}) VALUES ({marks}) ON CONFLICT(row_key) "
                        f"DO UPDATE SET {updates} WHERE {report.table}.content_hash != excluded.content_hash")
        else:
            self.sql = f"INSERT OR IGNORE INTO {report.table} ({names}) VALUES ({marks})"
        self.before, self.after = _HOOKS.get(report, (None, None))

    def flush(self, batch: Batch, outcome: ImportOutcome) -> None:
        if not len(batch):
            return
        with self.store.write() as conn:
            if self.before:
                self.before(conn, batch.hook_rows)
            start = conn.total_changes
            conn.executemany(self.sql, batch.params)
            changed = conn.total_changes - start
            if self.after:
                self.after(conn, batch.hook_rows)
            if batch.catalog:
                conn.executemany(
                    "INSERT INTO skus (msku, fnsku, asin) VALUES (?, ?, ?) ON CONFLICT(msku, fnsku) "
                    "DO UPDATE SET asin = excluded.asin WHERE skus.asin IS NULL AND excluded.asin IS NOT NULL",
                    [(sku, fnsku, asin) for (sku, fnsku), asin in sorted(batch.catalog.items())])
            for line, reason, raw in batch.rejected:
                quarantine(conn, self.store, "report", self.display, line, reason, raw)
        kind = self.report.count_as
        outcome.imported[kind] += changed
        outcome.duplicates[kind] += len(batch.params) - changed
        outcome.rejected.extend(Rejection(self.display, line, reason) for line, reason, _ in batch.rejected)


_ORDER_FIELDS = ("order_id", "marketplace", "sales_channel", "merchant_order_id", "purchase_date", "last_updated",
                 "status", "fulfillment_channel", "currency", "ship_city", "ship_state", "ship_country")


def _upsert_orders(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """One order header per order id; a later `last-updated-date` wins."""
    params = []
    for row in rows:
        header = dict(row, status=row["order_status"], marketplace=marketplaces.from_site(row["sales_channel"]))
        params.append(tuple(header.get(f) for f in _ORDER_FIELDS))
    names = ", ".join(_ORDER_FIELDS)
    updates = ", ".join(f"{f} = excluded.{f}" for f in _ORDER_FIELDS[1:])
    conn.executemany(
        f"INSERT INTO orders ({names}) VALUES ({', '.join('?' for _ in _ORDER_FIELDS)}) "
        f"ON CONFLICT(order_id) DO UPDATE SET {updates} "
        "WHERE orders.last_updated IS NULL OR excluded.last_updated >= orders.last_updated",
        params,
    )


def _record_shipping(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """What the order header says of shipping: the first shipment's date, carrier and tracking, and
    the last promised arrival (an order split over shipments is due when its last part is).

    An order the All Orders report has not brought yet gets a header from this row; that report
    fills the rest later without touching these columns.
    """
    first = "orders.shipped_at IS NULL OR excluded.shipped_at < orders.shipped_at"
    conn.executemany(
        "INSERT INTO orders (order_id, marketplace, sales_channel, purchase_date, fulfillment_channel, currency,"
        " shipped_at, carrier, tracking, latest_delivery_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(order_id) DO UPDATE SET"
        f" carrier = CASE WHEN {first} THEN excluded.carrier ELSE orders.carrier END,"
        f" tracking = CASE WHEN {first} THEN excluded.tracking ELSE orders.tracking END,"
        f" shipped_at = CASE WHEN {first} THEN excluded.shipped_at ELSE orders.shipped_at END,"
        " latest_delivery_date = nullif(max(coalesce(orders.latest_delivery_date, ''),"
        " coalesce(excluded.latest_delivery_date, '')), '')",
        [(r["order_id"], marketplaces.from_site(r["sales_channel"]), r["sales_channel"], r["purchase_date"],
          r["fulfillment_channel"], r["currency"], r["shipment_date"], r["carrier"], r["tracking_number"],
          r["estimated_arrival"]) for r in rows],
    )


def _upsert_shipments(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO inbound_shipments (shipment_id, name, status, delivered_date) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(shipment_id) DO UPDATE SET name = coalesce(excluded.name, name), "
        "status = coalesce(excluded.status, status), delivered_date = coalesce(excluded.delivered_date, delivered_date)",
        [(r["shipment_id"], r["shipment_name"], r["status"], r["delivered_date"]) for r in rows],
    )


def insert_refunds(conn: sqlite3.Connection, refunds: list[tuple[Any, ...]]) -> int:
    """A refund is keyed by order, SKU and posting day, so both finance reports agree on one row.
    Returns how many were new."""
    return conn.executemany(
        "INSERT OR IGNORE INTO refunds (refund_key, order_id, sku, marketplace, refund_date, quantity, amount, "
        "currency, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(digest((r[0], r[1], r[3])),) + r for r in refunds],
    ).rowcount


def _settlement_refunds(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    refunds = []
    for r in rows:
        if (str(r["transaction_type"]).lower() == "refund" and r["order_id"] and r["posted_at"]
                and r["amount_type"] == "ItemPrice" and r["amount_description"] == "Principal"):
            market = marketplaces.from_site(r["marketplace_name"])
            refunds.append((r["order_id"], r["sku"], market, r["posted_at"][:10], r["quantity"],
                            r["amount"], r["currency"], "settlement"))
    insert_refunds(conn, refunds)


def _date_range_refunds(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    refunds = []
    for r in rows:
        if str(r["type"]).lower() in _REFUND_TYPES and r["order_id"]:
            market = marketplaces.from_site(r["marketplace"])
            refunds.append((r["order_id"], r["sku"], market, r["posted_at"][:10], r["quantity"],
                            r["product_sales"], r["currency"], "date_range"))
    insert_refunds(conn, refunds)


_Hook = Callable[[sqlite3.Connection, list[dict[str, Any]]], None]
# Per type: what runs before the rows are written (parents first), and after (derived rows).
_HOOKS: dict[specs.ReportType, tuple[_Hook | None, _Hook | None]] = {
    specs.ORDERS: (_upsert_orders, None),
    specs.INBOUND: (_upsert_shipments, None),
    specs.FULFILLED_SHIPMENTS: (_record_shipping, None),
    specs.SETTLEMENT: (None, _settlement_refunds),
    specs.DATE_RANGE: (None, _date_range_refunds),
}
