"""The seller's documents for claims: supplier invoices, proofs of delivery, photos.

`deskterm docs add FILE --kind invoice --sku AK-PAN-28 --date 2026-03-02 --qty 120` copies the
file into the workspace's content store (the original may move or vanish later) and records what
it proves. A claim's evidence folder then takes the documents that match it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from deskterm.attachments import store_blob
from deskterm.errors import UserError
from deskterm.sanitize import one_line
from deskterm.store import Store

KINDS = ("invoice", "pod", "photo")
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def add_document(store: Store, attachments_root: Path, path: Path, kind: str, *, sku: str | None = None,
                 shipment_id: str | None = None, order_id: str | None = None, date: str | None = None,
                 quantity: int | None = None) -> dict[str, Any]:
    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}")
    if date:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise UserError(f"--date {date!r}: expected YYYY-MM-DD") from None
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise UserError(f"{path}: larger than {MAX_DOCUMENT_BYTES // 2**20} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    sha = store_blob(attachments_root, data)
    name = one_line(path.name)
    with store.write() as conn:
        conn.execute("INSERT OR IGNORE INTO attachments (sha256, size, content_type) VALUES (?, ?, NULL)",
                     (sha, len(data)))
        conn.execute(
            "INSERT INTO documents (kind, sha256, filename, sku, shipment_id, order_id, doc_date, quantity, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, sha256) DO UPDATE SET filename = excluded.filename,"
            " sku = excluded.sku, shipment_id = excluded.shipment_id, order_id = excluded.order_id,"
            " doc_date = excluded.doc_date, quantity = excluded.quantity",
            (kind, sha, name, sku, shipment_id, order_id, date, quantity, store.now()))
        store.audit(conn, "docs.add", f"document:{sha[:16]}", {"kind": kind, "bytes": len(data)})
    return dict(store.row("SELECT * FROM documents WHERE kind = ? AND sha256 = ?", (kind, sha)))


def list_documents(store: Store) -> list[dict[str, Any]]:
    return [dict(row) for row in store.rows("SELECT * FROM documents ORDER BY kind, doc_date, id")]


def matching(store: Store, claim: dict[str, Any]) -> list[dict[str, Any]]:
    """Documents for a claim: invoices of its SKU dated on or before the event (the stock was bought
    before it was lost), proofs of delivery of its shipment, photos of its SKU or order."""
    found = []
    for row in list_documents(store):
        if row["kind"] == "invoice":
            fits = row["sku"] in (None, claim.get("sku")) and (row["doc_date"] or "") <= (claim.get("event_date") or "~")
        elif row["kind"] == "pod":
            fits = bool(claim.get("shipment_id")) and row["shipment_id"] == claim.get("shipment_id")
        else:
            fits = (row["order_id"] is not None and row["order_id"] == claim.get("order_id")) or (
                row["sku"] is not None and row["sku"] == claim.get("sku") and row["order_id"] is None)
        if fits:
            found.append(row)
    return found
