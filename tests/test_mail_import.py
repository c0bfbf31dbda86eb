from __future__ import annotations

import sqlite3
import time
from email.message import EmailMessage
from email.utils import format_datetime
import datetime as dt
from pathlib import Path

import pytest

SELLER = "support@alpinekitchen.example"
RELAY = "k2j4h5g6f7d8s9a0qwer@marketplace.amazon.de"
ORDER = "302-1234567-7654321"

RELAY_BODY = f"""------------- Begin message -------------

Die Pfanne ist beschädigt angekommen. Bestellung {ORDER}.

------------- End message -------------

For Your Information: To help arbitrate disputes we retain all messages for two years.
"""


def mail(sender: str, to: str, subject: str, body: str, message_id: str | None, *, in_reply_to: str | None = None,
         when: dt.datetime | None = None, reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(when or dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc))
    message.set_content(body)
    return bytes(message)


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "deskterm.db")
    conn.row_factory = sqlite3.Row
    return conn


def write_mbox(path: Path, messages: list[bytes]) -> Path:
    chunks = []
    for raw in messages:
        body = b"\n".join(b">" + line if line.startswith(b"From ") else line for line in raw.split(b"\n"))
        chunks.append(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + body.rstrip(b"\n") + b"\n\n")
    path.write_bytes(b"".join(chunks))
    return path


def test_relay_conversation_is_recognised_and_threaded(tmp_path: Path, home: Path, cli) -> None:
    buyer = mail(f'"Jonas - Amazon Marketplace" <{RELAY}>', SELLER,
                 f"Inquiry from Amazon customer Jonas (Order: {ORDER})", RELAY_BODY, "<b1@amazon.de>")
    reply = mail(f"Alpine Kitchen <{SELLER}>", RELAY, f"Re: Inquiry from Amazon customer Jonas (Order: {ORDER})",
                 "Es tut uns leid.\nFrom now on we pack better.", "<r1@alpinekitchen.example>",
                 in_reply_to="<b1@amazon.de>", when=dt.datetime(2026, 11, 2, 11, 0, tzinfo=dt.timezone.utc))
    follow = mail(f'"Jonas - Amazon Marketplace" <{RELAY}>', SELLER, "Noch eine Frage", RELAY_BODY.replace(
        "Die Pfanne ist beschädigt angekommen.", "Wann kommt der Ersatz?"), "<b2@amazon.de>")
    result = cli("import", write_mbox(tmp_path / "inbox.mbox", [buyer, reply, follow]), "--json")
    assert result.code == 0, result.err
    assert result.json()["imported"] == {"messages": 3}
    conn = db(home)
    rows = conn.execute("SELECT * FROM messages ORDER BY id").fetchall()
    assert [r["direction"] for r in rows] == ["inbound", "outbound", "inbound"]
    assert {r["ticket_id"] for r in rows} == {1}  # reply by In-Reply-To, follow-up by customer + order id
    first = rows[0]
    assert (first["channel"], first["kind"], first["order_id"], first["marketplace"]) == ("amazon", "buyer_message", ORDER, "DE")
    assert first["body"] == f"Die Pfanne ist beschädigt angekommen. Bestellung {ORDER}."
    assert "retain all messages" in first["wrapper"] and "retain" not in first["body"]
    assert rows[1]["body"].endswith("From now on we pack better.")  # mbox >From quoting undone
    customer = conn.execute("SELECT * FROM customers").fetchone()
    assert (customer["address"], customer["name"], customer["marketplace"]) == (RELAY, "Jonas", "DE")
    ticket = conn.execute("SELECT * FROM tickets").fetchone()
    assert ticket["last_outbound_at"] == "2026-11-02T11:00:00Z"
    # Every new message is queued for the index in its own transaction (ticket changes add more rows).
    assert conn.execute("SELECT count(DISTINCT message_rowid) FROM index_outbox").fetchone()[0] == 3
    queued = conn.execute("SELECT count(*) FROM index_outbox").fetchone()[0]

    again = cli("import", tmp_path / "inbox.mbox", "--json")
    assert again.json()["imported"] == {} and again.json()["duplicates"] == {"messages": 3}
    assert db(home).execute("SELECT count(*) FROM index_outbox").fetchone()[0] == queued


def test_channels_and_notification_kinds(tmp_path: Path, home: Path, cli) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    samples = {
        "atoz.eml": mail("Amazon A-to-z Guarantee <atoz-guarantee-no-reply@amazon.com>", SELLER,
                         "Immediate Attention Required: A-to-z Guarantee Claim against Amazon.com order 114-1111111-2222222",
                         "A claim was filed.", "<n1@amazon.com>"),
        "cb.eml": mail("cb-seller-notification@amazon.co.uk", SELLER, "Chargeback notification for order 203-1111111-2222222",
                       "A chargeback was received.", "<n2@amazon.co.uk>"),
        "ret.eml": mail("return@amazon.de", SELLER, "Return authorization notification for Order # 302-1111111-2222222",
                        "Return requested.", "<n3@amazon.de>"),
        "shopify.eml": mail('"Shopify" <mailer@shopify.com>', SELLER, "New customer message on Alpine Kitchen",
                            "Name: Jane Doe\nEmail: jane.doe@example.com\nOrder: #1042\nMessage: Where is it?",
                            "<s1@shopify.com>", reply_to='"Jane Doe" <jane.doe@example.com>'),
        "tiktok.eml": mail('"TikTok Shop" <no-reply@seller.tiktokshop.com>', SELLER,
                           "New message from buyer kitchenfan22 about order 576461234567891234", "Is it dishwasher safe?",
                           "<t1@tiktokshop.com>"),
        "plain.eml": mail("Paul Martin <paul@example.fr>", SELLER, "Question", "Bonjour, où est ma commande ?", None),
    }
    for name, raw in samples.items():
        (folder / name).write_bytes(raw)
    result = cli("import", folder, "--json")
    assert result.code == 0 and result.json()["imported"] == {"messages": 6}
    got = {r["subject"][:12]: (r["channel"], r["kind"], r["order_id"], r["marketplace"])
           for r in db(home).execute("SELECT * FROM messages")}
    assert got["Immediate At"] == ("amazon", "a_to_z", "114-1111111-2222222", "US")
    assert got["Chargeback n"] == ("amazon", "chargeback", "203-1111111-2222222", "UK")
    assert got["Return autho"] == ("amazon", "return_request", "302-1111111-2222222", "DE")
    assert got["New customer"] == ("shopify", "message", "#1042", None)
    assert got["New message "] == ("tiktok", "message", "576461234567891234", None)
    assert got["Question"] == ("email", "message", None, None)
    customers = {r["channel"]: r["address"] for r in db(home).execute("SELECT * FROM customers")}
    assert customers["shopify"] == "jane.doe@example.com"
    assert customers["tiktok"] == "tiktok:kitchenfan22"
    # A message without Message-ID gets a stable one: importing it again adds nothing.
    assert cli("import", folder / "plain.eml", "--json").json()["duplicates"] == {"messages": 1}


def test_maildir_and_clock_for_undated_mail(tmp_path: Path, home: Path, cli) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    raw = b"From: a@example.com\nTo: support@alpinekitchen.example\nSubject: no date\nMessage-ID: <nd@x>\n\nhello\n"
    (maildir / "new" / "1700000000.1.host").write_bytes(raw)
    (maildir / "cur" / "1700000001.2.host:2,S").write_bytes(raw.replace(b"<nd@x>", b"<nd2@x>"))
    result = cli("import", maildir, "--json", now="2026-05-01T12:00:00Z")
    assert result.json()["imported"] == {"messages": 2}
    assert {r[0] for r in db(home).execute("SELECT sent_at FROM messages")} == {"2026-05-01T12:00:00Z"}


def test_hostile_attachment_names_unknown_charset_and_header_newlines(tmp_path: Path, home: Path, cli) -> None:
    raw = (
        b"From: Eve <eve@example.com>\r\nTo: support@alpinekitchen.example\r\n"
        b"Subject: =?UTF-8?Q?Refund=0ABcc:_injected@evil.example?=\r\nMessage-ID: <evil@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
        b"--B\r\nContent-Type: text/plain; charset=\"x-no-such-charset\"\r\n\r\nCaf\xe9 broken\r\n"
        b"--B\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=\"../../../../home/agent/.bashrc\"\r\n\r\necho pwned\r\n"
        b"--B\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''..%2F..%2Fetc%2Fcron.d%2Fx\r\n\r\n%PDF-1\r\n"
        b"--B\r\nContent-Type: image/jpeg\r\n"
        b"Content-Disposition: attachment; filename=\"photo\xe2\x80\xaegpj.exe\x1b]0;x\x07\"\r\n\r\nJPEG\r\n"
        b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"\xef\xbc\xa6\xef\xbc\x95\xef\xbc\x8finvoice.pdf\"\r\n\r\nPDF2\r\n"
        b"--B--\r\n"
    )
    (tmp_path / "evil.eml").write_bytes(raw)
    before = {p for p in tmp_path.rglob("*")}
    result = cli("import", tmp_path / "evil.eml", "--json")
    assert result.code == 0, result.err
    conn = db(home)
    message = conn.execute("SELECT * FROM messages").fetchone()
    assert "\n" not in message["subject"] and "\r" not in message["subject"]
    assert message["subject"].startswith("Refund Bcc:")
    assert "Caf\ufffd broken" in message["body"]  # unknown charset: UTF-8 with replacement
    names = [r["filename"] for r in conn.execute("SELECT filename FROM message_attachments ORDER BY position")]
    assert names[0] == "bashrc"
    assert names[1] == "x"
    assert all("/" not in n and "\x1b" not in n and "\u202e" not in n and not n.startswith(".") for n in names)
    assert names[3] == "invoice.pdf"
    # Nothing was written outside the workspace, and attachment files are private, named by digest.
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(p.is_relative_to(home) for p in created)
    files = [p for p in (home / "attachments").rglob("*") if p.is_file()]
    assert len(files) == 4
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(path.name) == 64


def nested(depth: int) -> bytes:
    head = b"From: a@example.com\nTo: b@example.com\nSubject: deep\nMessage-ID: <deep%d@x>\nMIME-Version: 1.0\n" % depth
    parts = [b""]
    for level in range(depth):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (level, level))
    return head + b"".join(parts) + b"Content-Type: text/plain\n\nhi\n"


def many_parts(count: int) -> bytes:
    head = b'From: a@example.com\nSubject: parts\nMessage-ID: <parts@x>\nContent-Type: multipart/mixed; boundary="p"\n\n'
    return head + b"".join(b"--p\nContent-Type: text/plain\n\nx\n" for _ in range(count)) + b"--p--\n"


@pytest.mark.parametrize(("bomb", "reason"), [(nested(1000), "multiparts"), (nested(25), "MIME nesting 26 deep"),
                                               (many_parts(50_000), "MIME parts")])
def test_mime_bombs_are_quarantined_and_the_batch_goes_on(tmp_path: Path, home: Path, cli, bomb: bytes,
                                                          reason: str) -> None:
    good = mail("a@example.com", SELLER, "fine", "ok", "<good@x>")
    mbox = write_mbox(tmp_path / "m.mbox", [good, bomb, mail("c@example.com", SELLER, "fine 2", "ok", "<good2@x>")])
    started = time.process_time()
    result = cli("import", mbox, "--json")
    assert time.process_time() - started < 10
    assert result.code == 1
    document = result.json()
    assert document["imported"] == {"messages": 2}
    [rejected] = document["rejected"]
    assert rejected["line"] > 1 and reason in rejected["reason"]
    quarantined = cli("quarantine", "--json").json()
    assert len(quarantined) == 1 and quarantined[0]["kind"] == "mail"
    assert bytes(db(home).execute("SELECT raw FROM quarantine").fetchone()[0]).startswith(b"From: a@example.com")


def test_html_only_mail_becomes_text(tmp_path: Path, home: Path, cli) -> None:
    message = EmailMessage()
    message["From"] = "x@example.com"
    message["Subject"] = "html"
    message["Message-ID"] = "<h@x>"
    message.set_content("<html><head><style>p{}</style><script>alert(1)</script></head><body><p>Hello <b>there</b></p>"
                        "<img src='https://tracker.example/p.gif'><p>Line&nbsp;2 &amp; more</p></body></html>",
                        subtype="html")
    (tmp_path / "h.eml").write_bytes(bytes(message))
    cli("import", tmp_path / "h.eml")
    body = db(home).execute("SELECT body FROM messages").fetchone()[0]
    assert body == "Hello there\n\nLine 2 & more"


def test_show_sanitizes_untrusted_text(tmp_path: Path, home: Path, cli) -> None:
    raw = mail("Mallory <m@example.com>", SELLER, "[bold]Hi[/] \x1b]52;c;cHduZWQ=\x07", "Body \x1b[31mred\x1b]0;PWNED\x07 \u202e",
               "<mal@x>")
    (tmp_path / "m.eml").write_bytes(raw)
    cli("import", tmp_path / "m.eml")
    shown = cli("show", "1")
    assert shown.code == 0
    assert "\x1b" not in shown.out and "\u202e" not in shown.out and "\x07" not in shown.out
    assert "[bold]Hi[/]" in shown.out and "\u241b]0;PWNED" in shown.out
    document = cli("show", "1", "--json").json()
    assert set(document) >= {"ticket", "messages", "orders", "returns", "refunds", "claims", "notes"}
    assert {"message_id", "direction", "sender", "sent_at", "subject", "body", "attachments"} <= set(document["messages"][0])
