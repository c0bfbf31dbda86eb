"""Seller Central reports over the Reports API: createReport, poll getReport, getReportDocument,
download, gunzip, then the very loader `deskterm import` uses (one parser per report, rejected rows
quarantined with their line).

Each report type keeps its own cursor: the end of the last window loaded and, while Amazon builds
one, the pending report's id, so an interrupted sync polls that report again instead of asking
for another (createReport allows one request a minute). Every window starts LOOK_BACK before the
last one ended, because Amazon back-fills rows; the loader's row keys absorb the repeats.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import zlib
from pathlib import Path
from typing import Any

import httpx
from sp_api.api import Reports

from deskterm.clock import iso, parse_instant
from deskterm.outcome import ImportOutcome
from deskterm.reports.load import load_report
from deskterm.store import Store
from deskterm.sync.amazon.calls import Caller
from deskterm.sync.amazon.client import make_client
from deskterm.sync.base import Progress, SyncFailure, SyncReport, cursor, save_cursor

# report type: how often a new window is asked for
REPORTS = {
    "GET_LEDGER_DETAIL_VIEW_DATA": dt.timedelta(days=1),
    "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA": dt.timedelta(days=1),
    "GET_FBA_REIMBURSEMENTS_DATA": dt.timedelta(days=1),
    "GET_FBA_FULFILLMENT_REMOVAL_ORDER_DETAIL_DATA": dt.timedelta(days=1),
    "GET_FBA_FULFILLMENT_REMOVAL_SHIPMENT_DETAIL_DATA": dt.timedelta(days=1),
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL": dt.timedelta(hours=6),
}
LOOK_BACK = dt.timedelta(days=3)
POLLS = 30                # getReport checks in one pass before the report is left for the next
POLL_SECONDS = 10.0
DOWNLOAD_ATTEMPTS = 3


def sync_reports(store: Store, name: str, channel: dict[str, Any], caller: Caller, report: SyncReport,
                 downloads: Path, progress: Progress = None) -> None:
    due = [(marketplace_id, report_type) for marketplace_id in channel["marketplaces"]
           for report_type, every in REPORTS.items() if _due(store, name, marketplace_id, report_type, every)]
    for position, (marketplace_id, report_type) in enumerate(due):
        if progress:
            progress("reports", position, len(due), "reports")
        _sync_report(store, name, channel, caller, report, downloads, marketplace_id, report_type)
    if progress and due:
        progress("reports", len(due), len(due), "reports")


def _due(store: Store, name: str, marketplace_id: str, report_type: str, every: dt.timedelta) -> bool:
    """A report is due when one is pending at Amazon, or its last window ended `every` ago."""
    with store.write() as conn:
        state, _ = cursor(conn, name, f"report:{marketplace_id}:{report_type}")
    return bool(state.get("pending") or not state.get("through")
                or store.clock.now() - parse_instant(state["through"]) >= every)


def _sync_report(store: Store, name: str, channel: dict[str, Any], caller: Caller, report: SyncReport,
                 downloads: Path, marketplace_id: str, report_type: str) -> None:
    now = store.clock.now()
    client = make_client(Reports, name, channel, marketplace_id)
    scope = f"report:{marketplace_id}:{report_type}"
    with store.write() as conn:
        state, _ = cursor(conn, name, scope)
    if not state.get("pending"):
        through = parse_instant(state["through"]) if state.get("through") else None
        start = (through - LOOK_BACK) if through else now - dt.timedelta(days=min(channel["history_days"], 540))
        created = caller("createReport", client.create_report, expect="reportId", reportType=report_type,
                         marketplaceIds=[marketplace_id], dataStartTime=iso(start), dataEndTime=iso(now))
        state = {"through": state.get("through"), "pending": created.payload["reportId"], "until": iso(now)}
        with store.write() as conn:
            save_cursor(conn, name, scope, state)
    done = _wait(client, caller, state["pending"])
    if done is None:
        return  # still being built: the next pass looks again
    if done.get("processingStatus") == "DONE":
        _load(store, client, caller, done["reportDocumentId"], report_type, state["pending"], downloads, report)
    with store.write() as conn:  # DONE, or CANCELLED (no data in the window): the window is behind us
        save_cursor(conn, name, scope, {"through": state["until"]})


def _wait(client: Any, caller: Caller, report_id: str) -> dict[str, Any] | None:
    for poll in range(POLLS):
        status = caller("getReport", client.get_report, expect="processingStatus", reportId=report_id).payload
        if status["processingStatus"] in ("DONE", "CANCELLED"):
            return status
        if status["processingStatus"] == "FATAL":
            raise SyncFailure(f"report {report_id} ({status.get('reportType')}) failed at Amazon (FATAL)")
        caller.sleep(POLL_SECONDS)
    return None


def _load(store: Store, client: Any, caller: Caller, document_id: str, report_type: str, report_id: str,
          downloads: Path, report: SyncReport) -> None:
    document = caller("getReportDocument", client.get_report_document, expect="url", reportDocumentId=document_id)
    data = _download(document.payload, caller)
    downloads.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = downloads / f".{report_type}.{secrets.token_hex(6)}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        outcome = ImportOutcome()
        load_report(store, path, f"SP-API {report_type} report {report_id}", outcome)
    finally:
        path.unlink(missing_ok=True)
    for kind, count in outcome.imported.items():
        report.fetched[kind] += count
    report.fetched["rejected"] += len(outcome.rejected)


def _download(document: dict[str, Any], caller: Caller) -> bytes:
    """The document's bytes, gunzipped: a transfer cut short is fetched again."""
    for attempt in range(DOWNLOAD_ATTEMPTS):
        try:
            response = httpx.get(document["url"], timeout=120)
            response.raise_for_status()
            data = response.content
            return zlib.decompress(data, 15 + 32) if document.get("compressionAlgorithm") else data
        except (httpx.HTTPError, zlib.error):
            caller.sleep(2 ** attempt)
    raise SyncFailure(f"report document {document.get('reportDocumentId')}: the download failed "
                      f"{DOWNLOAD_ATTEMPTS} times")
