"""`deskterm evidence build|verify` and `deskterm docs add|list`: the folder a claim is filed with,
and the seller's own documents that go into it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deskterm.errors import UserError
from deskterm.evidence.documents import KINDS, add_document, list_documents
from deskterm.sanitize import one_line


def register(cli: click.Group) -> None:
    from deskterm.cli import Session, json_option, pass_session

    @cli.group("evidence")
    def evidence() -> None:
        """Evidence folders for claims and tickets."""

    @evidence.command("build")
    @click.argument("claim_id", required=False)
    @click.option("--ticket", "ticket_id", type=int, help="A ticket instead: an A-to-z or chargeback defence.")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                  help="Build under this folder (default: the workspace's evidence folder).")
    @click.option("--zip", "make_zip", is_flag=True, help="Also write FOLDER.zip beside it.")
    @json_option
    @pass_session
    def build_command(session: Session, claim_id: str | None, ticket_id: int | None, out: Path | None,
                      make_zip: bool) -> None:
        """Assemble the evidence folder of CLAIM_ID (or of --ticket ID); print its path."""
        if (claim_id is None) == (ticket_id is None):
            raise UserError("give a CLAIM_ID or --ticket ID (one of them)")
        builder = session.evidence_builder()
        built = (builder.for_ticket(ticket_id, out, make_zip) if ticket_id is not None
                 else builder.for_claim(claim_id, out, make_zip))
        if session.json_output:
            session.emit(built.as_json())
        else:
            click.echo(str(built.path))
            if built.zip_path:
                click.echo(str(built.zip_path))
        for item in built.missing:
            session.warn(f"missing from the folder: {item}")
        for name in built.oversized:
            session.warn(f"{name} is over Amazon's 10 MB limit for one attachment")

    @evidence.command("verify")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @json_option
    @pass_session
    def verify_command(session: Session, folder: Path) -> None:
        """Check every file of FOLDER against its manifest; exit 1 naming any that changed."""
        from deskterm.evidence.folder import verify

        problems = verify(folder)
        if session.json_output:
            session.emit({"folder": str(folder), "ok": not problems, "problems": problems})
        else:
            for problem in problems:
                session.say(one_line(problem))
            session.say(f"{folder}: " + ("intact" if not problems else f"{len(problems)} difference(s)"))
        if problems:
            sys.exit(1)

    @cli.group("docs")
    def docs() -> None:
        """The seller's documents for claims: invoices, proofs of delivery, photos."""

    @docs.command("add")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--kind", required=True, type=click.Choice(KINDS))
    @click.option("--sku")
    @click.option("--shipment", "shipment_id")
    @click.option("--order", "order_id")
    @click.option("--date", "date", help="The document's date, YYYY-MM-DD.")
    @click.option("--qty", "quantity", type=click.IntRange(0))
    @json_option
    @pass_session
    def add_command(session: Session, file: Path, kind: str, sku: str | None, shipment_id: str | None,
                    order_id: str | None, date: str | None, quantity: int | None) -> None:
        """Keep FILE in the workspace and match it to claims by SKU, shipment, order and date."""
        row = add_document(session.store, session.workspace.attachments_dir, file, kind, sku=sku,
                           shipment_id=shipment_id, order_id=order_id, date=date, quantity=quantity)
        if session.json_output:
            session.emit(row)
        else:
            session.say(f"document {row['id']}: {row['kind']} {one_line(row['filename'])}")

    @docs.command("list")
    @json_option
    @pass_session
    def list_command(session: Session) -> None:
        """Every document, by kind and date."""
        rows = list_documents(session.store)
        if session.json_output:
            session.emit(rows)
            return
        for row in rows:
            session.say(one_line(f"{row['id']:>4} {row['kind']:<8} {row['doc_date'] or '':<10} "
                                 f"{row['sku'] or row['shipment_id'] or row['order_id'] or '':<16} {row['filename']}"))
