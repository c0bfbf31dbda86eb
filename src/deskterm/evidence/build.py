"""`deskterm evidence build`: everything a person needs to file a claim (or defend an order), in
one folder named after it.

    summary.md      the claim as Amazon's form asks for it, the checklist, the case text
    facts.csv/json  the rows that prove it, with the file (or report) and import time of each
    conversation/   the linked tickets: a transcript, the original .eml, their attachments
    documents/      the seller's invoices, proofs of delivery and photos that match
    manifest.json   every file's size and SHA-256, the claim as built, the version and build time

Only the build time differs between two builds from the same data. A buyer's postal address is
never written (deskterm does not keep one); names and relay aliases appear only in transcripts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deskterm import marketplaces
from deskterm.attachments import attachment_path
from deskterm.errors import UserError
from deskterm.evidence.case_text import LANGUAGE_NAMES, case_text
from deskterm.evidence.checklist import Item, checklist
from deskterm.evidence.documents import matching
from deskterm.evidence.facts import facts_for_claim, facts_for_order, identifiers
from deskterm.evidence.folder import AMAZON_FILE_LIMIT, FolderWriter, write_zip
from deskterm.reconcile.book import ClaimBook
from deskterm.sanitize import for_terminal, one_line, safe_filename
from deskterm.store import Store

# A buyer's attachment larger than this, or an original message that large, is not copied into a folder
# (its transcript line and the manifest's `not_copied` give its name and size): the case form refuses it,
# and a hostile sender could fill the disk with a copy per build. The seller's own documents are copied
# whatever their size (`--zip` warns about them).
MAX_ATTACHMENT_BYTES = AMAZON_FILE_LIMIT
_OVER_LIMIT = f"over the {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB limit of a case attachment"

KIND_WORDS = {
    "fc_lost": "units lost in a fulfilment centre", "fc_damaged": "units damaged in a fulfilment centre",
    "inbound_shortfall": "units shipped to Amazon and not received",
    "return_not_received": "refunded, and the item never came back",
    "return_damaged": "a return that arrived damaged", "return_sellable_dispute": "a return graded SELLABLE that the "
    "buyer reported damaged", "reimbursement_underpaid": "a reimbursement below the unit value",
}


@dataclass
class Built:
    path: Path
    files: int
    missing: list[str] = field(default_factory=list)      # checklist items without a document
    zip_path: Path | None = None
    oversized: list[str] = field(default_factory=list)    # files over Amazon's 10 MB limit
    not_copied: list[str] = field(default_factory=list)   # mail files over it, left out (named in the manifest)

    def as_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "missing": self.missing,
                "zip": str(self.zip_path) if self.zip_path else None, "oversized": self.oversized,
                "not_copied": self.not_copied}


class EvidenceBuilder:
    def __init__(self, store: Store, attachments_root: Path, evidence_root: Path, actor: str) -> None:
        self.store = store
        self.attachments_root = attachments_root
        self.evidence_root = evidence_root
        self.actor = actor

    # -- a claim ---------------------------------------------------------------------------------
    def for_claim(self, claim_id: str, out: Path | None = None, make_zip: bool = False) -> Built:
        today = self.store.clock.now().date()
        claim = ClaimBook(self.store, self.actor).get(claim_id, today)
        claim.pop("days_left")  # depends on the day of the build, not on the data
        facts = facts_for_claim(self.store, claim)
        ids = identifiers(self.store, claim, facts)
        subject = claim["order_id"] or claim["shipment_id"] or claim["fnsku"] or claim["sku"] or ""
        writer = FolderWriter((out or self.evidence_root) / safe_filename(f"{claim['claim_id']}_{claim['kind']}_{subject}"))
        try:
            self._facts(writer, facts)
            transcripts = self._conversations(writer, claim["ticket_ids"])
            documents = self._documents(writer, matching(self.store, claim))
            items = checklist(claim, ids, documents, transcripts)
            writer.text("summary.md", _claim_summary(claim, ids, items, transcripts, documents))
            path = writer.publish({"claim": claim}, self.store.now())
        except BaseException:
            writer.discard()
            raise
        return self._finish(path, [i.label for i in items if not i.ok and i.required], make_zip, claim["claim_id"],
                            writer)

    # -- a ticket (A-to-z or chargeback defence) ---------------------------------------------------
    def for_ticket(self, ticket_id: int, out: Path | None = None, make_zip: bool = False) -> Built:
        ticket = self.store.row("SELECT id, channel, status, subject, order_id, marketplace FROM tickets WHERE id = ?",
                                (ticket_id,))
        if ticket is None:
            raise UserError(f"no ticket {ticket_id}")
        ticket = dict(ticket)
        kind = self.store.scalar("SELECT kind FROM messages WHERE ticket_id = ? AND kind IN ('a_to_z', 'chargeback')"
                                 " ORDER BY sent_at LIMIT 1", (ticket_id,)) or "conversation"
        order = dict(self.store.row("SELECT * FROM orders WHERE order_id = ?", (ticket["order_id"],)) or {})
        order.pop("content_hash", None)
        facts = facts_for_order(self.store, ticket["order_id"]) if ticket["order_id"] else []
        writer = FolderWriter((out or self.evidence_root) / safe_filename(
            f"ticket-{ticket_id}_{kind}_{ticket['order_id'] or 'no-order'}"))
        try:
            self._facts(writer, facts)
            transcripts = self._conversations(writer, [ticket_id])
            writer.text("summary.md", _ticket_summary(self.store, ticket, kind, order, transcripts))
            path = writer.publish({"ticket": ticket, "order": order}, self.store.now())
        except BaseException:
            writer.discard()
            raise
        return self._finish(path, [], make_zip, f"ticket:{ticket_id}", writer)

    # -- parts -----------------------------------------------------------------------------------
    def _finish(self, path: Path, missing: list[str], make_zip: bool, subject: str, writer: FolderWriter) -> Built:
        built = Built(path, sum(1 for p in path.rglob("*") if p.is_file()), missing,
                      not_copied=sorted(entry["path"] for entry in writer.not_copied))
        if make_zip:
            built.zip_path, built.oversized = write_zip(path)
        with self.store.write() as conn:
            self.store.audit(conn, "evidence.build", subject, {"files": built.files, "zip": make_zip}, actor=self.actor)
        return built

    def _facts(self, writer: FolderWriter, facts: list[dict[str, Any]]) -> None:
        writer.text("facts.json", json.dumps(facts, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        out = io.StringIO()
        table = csv.writer(out, lineterminator="\n")
        table.writerow(["table", "id", "source", "imported_at", "date", "order_id", "sku", "fnsku", "quantity",
                        "amount", "details"])
        for fact in facts:
            row = fact["row"]
            details = "; ".join(f"{k}={one_line(str(v))}" for k, v in sorted(row.items()) if v not in (None, ""))
            table.writerow([fact["table"], fact["id"], fact["source"], fact["imported_at"] or "", fact["date"] or "",
                            row.get("order_id") or "", row.get("sku") or row.get("msku") or "", row.get("fnsku") or "",
                            fact["quantity"] if fact["quantity"] is not None else "", fact["amount"] or "", details])
        writer.text("facts.csv", out.getvalue())

    def _conversations(self, writer: FolderWriter, ticket_ids: list[int]) -> dict[int, dict[str, Any]]:
        """Per ticket: its transcript, original messages and attachments; returns what was written."""
        written: dict[int, dict[str, Any]] = {}
        for ticket_id in sorted(set(ticket_ids)):
            ticket = self.store.row("SELECT id, channel, subject, order_id FROM tickets WHERE id = ?", (ticket_id,))
            if ticket is None:
                continue
            folder = f"conversation/ticket-{ticket_id}"
            lines = [one_line(f"Ticket #{ticket_id} · {ticket['channel']} · order {ticket['order_id'] or '-'} · "
                              f"{ticket['subject'] or ''}"), ""]
            photos = 0
            messages = self.store.rows(
                "SELECT m.id, m.direction, m.sender_name, m.sender, m.sent_at, m.subject, m.body, s.raw FROM messages m"
                " LEFT JOIN message_sources s ON s.message_rowid = m.id WHERE m.ticket_id = ? ORDER BY m.sent_at, m.id",
                (ticket_id,))
            for number, message in enumerate(messages, 1):
                who = "we wrote" if message["direction"] == "outbound" else (
                    f"{message['sender_name'] or message['sender']} wrote")
                lines += [one_line(f"--- {number}. {message['sent_at']} · {who}"), for_terminal(message["body"] or ""), ""]
                if message["raw"] is not None:
                    original = zlib.decompress(message["raw"])
                    if len(original) > MAX_ATTACHMENT_BYTES:  # it holds an attachment over the limit
                        writer.leave_out(f"{folder}/{number:02d}.eml", len(original),
                                         hashlib.sha256(original).hexdigest(), _OVER_LIMIT)
                        lines.append(one_line(f"    original message not copied: {number:02d}.eml, "
                                              f"{len(original):,} bytes, {_OVER_LIMIT}"))
                    else:
                        writer.data(f"{folder}/{number:02d}.eml", original)
                for attachment in self.store.rows(
                        "SELECT ma.filename, ma.sha256, a.content_type, a.size FROM message_attachments ma"
                        " JOIN attachments a ON a.sha256 = ma.sha256 WHERE ma.message_id = ? ORDER BY ma.position",
                        (message["id"],)):
                    wanted = f"{number:02d}-{safe_filename(attachment['filename'])}"
                    if attachment["size"] > MAX_ATTACHMENT_BYTES:  # Amazon's case form would refuse it anyway
                        writer.leave_out(f"{folder}/attachments/{wanted}", attachment["size"], attachment["sha256"],
                                         _OVER_LIMIT)
                        lines.append(one_line(f"    attachment not copied: {wanted}, {attachment['size']:,} bytes, "
                                              f"{_OVER_LIMIT} (save it from the ticket)"))
                        continue
                    data = attachment_path(self.attachments_root, attachment["sha256"]).read_bytes()
                    name = writer.export(f"{folder}/attachments", wanted, data)
                    lines.append(one_line(f"    attachment: {name}"))
                    photos += (attachment["content_type"] or "").startswith("image/")
            writer.text(f"{folder}/transcript.txt", "\n".join(lines).rstrip() + "\n")
            written[ticket_id] = {"messages": len(messages), "photos": photos}
        return written

    def _documents(self, writer: FolderWriter, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for document in documents:
            data = attachment_path(self.attachments_root, document["sha256"]).read_bytes()
            document["written_as"] = writer.export(f"documents/{document['kind']}", document["filename"], data)
        return documents


def _claim_summary(claim: dict[str, Any], ids: dict[str, str], items: list[Item],
                   transcripts: dict[int, dict[str, Any]], documents: list[dict[str, Any]]) -> str:
    language = marketplaces.language(claim["marketplace"])
    rows = [("Claim", claim["claim_id"]), ("Kind", f"{claim['kind']} ({KIND_WORDS[claim['kind']]})"),
            ("Status", claim["status"] + (f", case {claim['case_id']}" if claim.get("case_id") else "")),
            ("Marketplace", claim["marketplace"] or "-"), *ids.items(),
            ("Event date", claim["event_date"]), ("Quantity", str(claim["quantity"])),
            ("Unit value", f"{claim['unit_value']} {claim['currency']} ({claim['value_source']})"
             if claim["unit_value"] else "unknown"),
            ("Amount", f"{claim['amount']} {claim['currency']}" if claim["amount"] else "unknown"),
            ("Window", f"{claim['window_opens']} to {claim['deadline']} (the deadline is the last day, UTC)")]
    out = [f"# {claim['claim_id']}: {KIND_WORDS[claim['kind']]}", "", "| | |", "|---|---|"]
    out += [f"| {label} | {_cell(value)} |" for label, value in rows]
    out += ["", "## Why", ""] + [f"- {one_line(reason)}" for reason in claim["reasons"]]
    out += ["", "## Checklist", ""] + [item.line() for item in items]
    out += ["", f"## Case text ({LANGUAGE_NAMES.get(language, 'English')})", "", "```text",
            case_text(claim, language, ids), "```"]
    if language != "en":
        out += ["", "## Case text (English)", "", "```text", case_text(claim, "en", ids), "```"]
    out += ["", "## In this folder", "", "- `facts.csv`, `facts.json`: the rows behind the claim, each with its source "
            "file and import time"]
    out += [f"- `conversation/ticket-{t}/`: transcript, {v['messages']} original message(s), attachments"
            for t, v in sorted(transcripts.items())]
    out += [f"- `{d['written_as']}`: {d['kind']}" + (f" of {d['doc_date']}" if d["doc_date"] else "") for d in documents]
    out.append("- `manifest.json`: size and SHA-256 of every file (`deskterm evidence verify FOLDER`)")
    return "\n".join(out) + "\n"


def _ticket_summary(store: Store, ticket: dict[str, Any], kind: str, order: dict[str, Any],
                    transcripts: dict[int, dict[str, Any]]) -> str:
    rows = [("Ticket", f"#{ticket['id']} ({ticket['channel']}, {ticket['status']})"),
            ("Subject", ticket["subject"] or "-"), ("Order", ticket["order_id"] or "-"),
            ("Marketplace", order.get("marketplace") or ticket["marketplace"] or "-")]
    for label, key in (("Purchased", "purchase_date"), ("Shipped", "shipped_at"), ("Carrier", "carrier"),
                       ("Tracking", "tracking"), ("Latest delivery date", "latest_delivery_date"),
                       ("Delivered", "delivered_at"), ("Fulfilment", "fulfillment_channel"), ("Status", "status")):
        rows.append((label, order.get(key) or "not on record"))
    out = [f"# Ticket #{ticket['id']}: {kind.replace('_', '-')} defence", "", "| | |", "|---|---|"]
    out += [f"| {label} | {_cell(value)} |" for label, value in rows]
    out += ["", "## Our response times", ""]
    waiting = None
    for message in store.rows("SELECT direction, sent_at FROM messages WHERE ticket_id = ? ORDER BY sent_at, id",
                              (ticket["id"],)):
        if message["direction"] == "inbound" and waiting is None:
            waiting = message["sent_at"]
        elif message["direction"] == "outbound" and waiting is not None:
            out.append(f"- buyer wrote {waiting}, we answered {message['sent_at']} ({_hours(waiting, message['sent_at'])})")
            waiting = None
    if waiting is not None:
        out.append(f"- buyer wrote {waiting}, not answered yet")
    out += ["", "## In this folder", "", "- `facts.csv`, `facts.json`: the order, its shipments, refunds and returns"]
    out += [f"- `conversation/ticket-{t}/`: transcript, {v['messages']} original message(s), attachments"
            for t, v in sorted(transcripts.items())]
    out.append("- `manifest.json`: size and SHA-256 of every file (`deskterm evidence verify FOLDER`)")
    return "\n".join(out) + "\n"


def _hours(start: str, end: str) -> str:
    import datetime as dt

    spent = dt.datetime.fromisoformat(end.replace("Z", "+00:00")) - dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    return f"{spent.total_seconds() / 3600:.1f} h"


def _cell(value: Any) -> str:
    return one_line(str(value)).replace("|", "\\|")
