"""`deskterm evidence build|verify` and `deskterm docs`: the folder a claim is filed with, on the
claims workspace of test_claims (hand-computed claims of every kind)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
import test_claims
from test_claims import NOW, O, scan
from test_desk import deliver, mail, relay

from deskterm.evidence.case_text import LANGUAGES, case_text
from deskterm.reconcile.policy import KINDS

books = test_claims.books  # the claims workspace, shared


def claim_ids(home: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(home / "deskterm.db") as conn:
        rows = conn.execute("SELECT kind, coalesce(order_id, shipment_id, fnsku), claim_id, event_date FROM claims"
                            " ORDER BY event_date").fetchall()
    return {(kind, subject): claim_id for kind, subject, claim_id, _ in rows}


def build(cli, *args: str, now: str = NOW) -> dict:
    result = cli("evidence", "build", *args, "--json", now=now)
    assert result.code == 0, result.err
    return {**result.json(), "stderr": result.err}


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def claimed(books: Path, cli) -> Path:
    scan(cli)
    return books


def test_each_kind_holds_its_identifiers_and_rows(claimed: Path, cli) -> None:
    ids = claim_ids(claimed)
    expected = {
        ("fc_lost", "X6"): ["Ledger Reference ID (transaction item ID): T8", "Fulfillment center: LEX1", "FNSKU: X6"],
        ("fc_damaged", "X5"): ["Ledger Reference ID (transaction item ID): T7", "| Amount | 38.00 USD |"],
        ("inbound_shortfall", "FBA1"): ["Shipment ID: FBA1", "Units shipped and received: 100 / 95"],
        ("return_not_received", O[1]): [f"Order ID: {O[1]}", "FNSKU: X1"],
        ("return_damaged", O[7]): ["LPN (license plate number): LPN7"],
        ("return_sellable_dispute", O[10]): ["LPN (license plate number): LPN10", "[x] Photos of the damage"],
        ("reimbursement_underpaid", "X1"): ["Reimbursement ID: R6", "| Amount | 2.00 USD |"],
    }
    assert {kind for kind, _ in expected} == set(KINDS)
    for key, lines in expected.items():
        folder = Path(build(cli, ids[key])["path"])
        assert folder.parent == claimed / "evidence" and folder.name.startswith(ids[key])
        summary = (folder / "summary.md").read_text()
        for line in lines:
            assert line in summary, (key, line)
        assert {"summary.md", "facts.csv", "facts.json", "manifest.json"} <= files(folder)
        facts = json.loads((folder / "facts.json").read_text())
        manifest = json.loads((folder / "manifest.json").read_text())
        for source in manifest["subject"]["claim"]["sources"]:  # the claim's own rows, with where they came from
            fact = next(f for f in facts if (f["table"], f["id"]) == (source["table"], source["id"]))
            assert fact["source"] and (fact["imported_at"] or fact["table"] == "refunds")
        assert stat.S_IMODE((folder / "summary.md").stat().st_mode) == 0o600
    dispute = Path(build(cli, ids[("return_sellable_dispute", O[10])])["path"])
    assert {"conversation/ticket-1/transcript.txt", "conversation/ticket-1/01.eml",
            "conversation/ticket-1/attachments/01-lid.jpg"} <= files(dispute)
    assert b"Message-ID: <ann1@test>" in (dispute / "conversation/ticket-1/01.eml").read_bytes()
    assert "The board arrived broken" in (dispute / "conversation/ticket-1/transcript.txt").read_text()


def test_verify_names_a_changed_byte_and_an_added_file(claimed: Path, cli) -> None:
    folder = Path(build(cli, claim_ids(claimed)[("fc_lost", "X6")])["path"])
    ok = cli("evidence", "verify", folder, "--json", now=NOW)
    assert ok.code == 0 and ok.json()["ok"]
    data = bytearray((folder / "facts.csv").read_bytes())
    data[10] ^= 1
    (folder / "facts.csv").write_bytes(bytes(data))
    (folder / "extra.txt").write_text("x")
    bad = cli("evidence", "verify", folder, now=NOW)
    assert bad.code == 1 and "changed: facts.csv" in bad.out and "added: extra.txt" in bad.out
    assert "summary.md" not in bad.out


def test_a_rebuild_gives_the_same_bytes(claimed: Path, cli, tmp_path: Path) -> None:
    claim = claim_ids(claimed)[("return_sellable_dispute", O[10])]
    first = build(cli, claim, "--zip")
    zipped = Path(first["zip"]).read_bytes()
    again = build(cli, claim, "--zip")
    assert again["path"] == first["path"] and Path(again["zip"]).read_bytes() == zipped
    later = build(cli, claim, now="2026-07-01T09:00:00Z")
    manifest = json.loads((Path(later["path"]) / "manifest.json").read_text())
    assert manifest["built_at"] == "2026-07-01T09:00:00Z"
    before = json.loads(_unzip(zipped, "manifest.json"))
    assert manifest["files"] == before["files"]  # the build time aside, the same files and hashes


def _unzip(data: bytes, name: str) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("/" + name)))


def test_hostile_attachment_names_and_a_planted_symlink(claimed: Path, cli, tmp_path: Path) -> None:
    deliver(claimed, cli, mail('"Ann - Amazon Marketplace" <ann0001@marketplace.amazon.com>', f"Re: Order {O[10]}",
                               relay("More photos."), dt.datetime(2026, 4, 17, 9, tzinfo=dt.timezone.utc), "ann2",
                               reply_to="<ann1@test>", photo=True))
    with sqlite3.connect(claimed / "deskterm.db") as conn:  # names as a hostile sender would choose them
        message = conn.execute("SELECT id FROM messages WHERE message_id = '<ann2@test>'").fetchone()[0]
        sha = conn.execute("SELECT sha256 FROM message_attachments WHERE message_id = ?", (message,)).fetchone()[0]
        for position, name in enumerate(["../../outside.jpg", "\u202egpj.exe", "../../outside.jpg", "\x1b]52;c;x\x07.jpg"],
                                        start=1):
            conn.execute("INSERT INTO message_attachments (message_id, position, sha256, filename) VALUES (?, ?, ?, ?)",
                         (message, position, sha, name))
    claim = claim_ids(claimed)[("return_sellable_dispute", O[10])]
    outside = tmp_path / "outside"
    outside.mkdir()
    (claimed / "evidence").mkdir(exist_ok=True)
    planted = claimed / "evidence" / f"{claim}_return_sellable_dispute_{O[10]}"
    planted.symlink_to(outside)
    folder = Path(build(cli, claim)["path"])
    assert not folder.is_symlink() and list(outside.iterdir()) == []
    names = {p.name for p in (folder / "conversation/ticket-1/attachments").iterdir()}
    # one safe path segment each, the same name twice written twice (never overwritten)
    assert names == {"01-lid.jpg", "02-lid.jpg", "02-outside.jpg", "1-02-outside.jpg", "02-gpj.exe", "02-_52_c_x.jpg"}
    assert not (tmp_path / "outside.jpg").exists() and not (claimed / "outside.jpg").exists()
    assert cli("evidence", "verify", folder, now=NOW).code == 0


def test_the_checklist_names_what_is_missing_until_it_is_added(claimed: Path, cli, tmp_path: Path) -> None:
    claim = claim_ids(claimed)[("inbound_shortfall", "FBA1")]
    first = build(cli, claim)
    assert first["missing"] == ["Proof of ownership: supplier invoice with date, product and quantity",
                                "Proof of delivery: carrier tracking with box weights, or the BOL signed by Amazon"]
    assert "missing from the folder: Proof of ownership" in first["stderr"]
    summary = (Path(first["path"]) / "summary.md").read_text()
    assert "[ ] Proof of delivery" in summary and "deskterm docs add POD.pdf --kind pod --shipment FBA1" in summary
    invoice, late, pod = tmp_path / "inv-0412.pdf", tmp_path / "inv-0601.pdf", tmp_path / "pod.pdf"
    for path in (invoice, late, pod):
        path.write_bytes(b"%PDF-1.4 " + path.name.encode())
    assert cli("docs", "add", invoice, "--kind", "invoice", "--sku", "SKU-A", "--date", "2026-04-12", "--qty", "100").code == 0
    assert cli("docs", "add", late, "--kind", "invoice", "--sku", "SKU-A", "--date", "2026-06-01").code == 0  # after
    assert cli("docs", "add", pod, "--kind", "pod", "--shipment", "FBA1").code == 0
    assert cli("docs", "add", pod, "--kind", "pod", "--date", "12/01/2026").code == 2
    second = build(cli, claim)
    assert second["missing"] == []
    assert {"documents/invoice/inv-0412.pdf", "documents/pod/pod.pdf"} <= files(Path(second["path"]))
    assert "documents/invoice/inv-0601.pdf" not in files(Path(second["path"]))
    assert "[x] Proof of delivery" in (Path(second["path"]) / "summary.md").read_text()


def test_the_case_text_is_in_the_marketplaces_language(claimed: Path, cli) -> None:
    folder = Path(build(cli, claim_ids(claimed)[("return_not_received", O[2])])["path"])
    summary = (folder / "summary.md").read_text()
    assert "## Case text (Deutsch)" in summary and "## Case text (English)" in summary
    assert f"Die Bestellung {O[2]} wurde am 2026-05-05 für 1 Einheit(en) der SKU SKU-D erstattet" in summary
    assert "insgesamt 8.00 EUR" in summary


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_has_a_case_text_in_every_language(language: str) -> None:
    for kind in KINDS:
        claim = {"kind": kind, "quantity": 2, "sku": "SKU-Z", "order_id": "111-1-1", "shipment_id": "FBA9",
                 "event_date": "2026-05-01", "unit_value": "10.00", "currency": "EUR", "amount": "20.00"}
        text = case_text(claim, language, {"FNSKU": "X9", "Ledger Reference ID": "T9", "LPN": "LPN9",
                                           "Reimbursement ID": "R9", "Paid per unit": "6.00"})
        assert "2026-05-01" in text or kind == "return_sellable_dispute", (language, kind)
        assert "{" not in text and "SKU-Z" in text, (language, kind)


def test_a_ticket_defence_folder(claimed: Path, cli) -> None:
    with sqlite3.connect(claimed / "deskterm.db") as conn:
        ticket = conn.execute("SELECT id FROM tickets WHERE order_id = ?", (O[10],)).fetchone()[0]
    built = build(cli, "--ticket", str(ticket))
    folder = Path(built["path"])
    assert folder.name == f"ticket-{ticket}_conversation_{O[10]}"
    summary = (folder / "summary.md").read_text()
    assert f"| Order | {O[10]} |" in summary and "## Our response times" in summary
    assert "not answered yet" in summary
    assert {"conversation/ticket-1/transcript.txt", "facts.csv"} <= files(folder)
    assert cli("evidence", "build", now=NOW).code == 2
    assert cli("evidence", "build", "NOPE-1", now=NOW).code == 2


def test_oversized_files_are_named_when_zipping(claimed: Path, cli, tmp_path: Path) -> None:
    photo = tmp_path / "big.jpg"
    photo.write_bytes(os.urandom(11 * 1024 * 1024))
    assert cli("docs", "add", photo, "--kind", "photo", "--order", O[7]).code == 0
    built = build(cli, claim_ids(claimed)[("return_damaged", O[7])], "--zip")
    assert built["oversized"] == ["documents/photo/big.jpg"]
    assert "over Amazon's 10 MB limit" in built["stderr"]
