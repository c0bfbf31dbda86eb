"""The inbox through the CLI: triage signals, queue order, every agent action, templates, stats."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

SELLER = "support@alpinekitchen.example"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
ANNA, JOE, KARL, SUE = (f"{name}@marketplace.amazon.{tld}" for name, tld in
                        (("anna7x", "it"), ("joe8y", "com"), ("karl9z", "de"), ("sue0w", "com")))
ORDERS = {"anna": "302-1111111-2222222", "joe": "111-3333333-4444444", "karl": "303-5555555-6666666",
          "sue": "112-7777777-8888888"}


def relay(words: str) -> str:
    return f"------------- Begin message -------------\n\n{words}\n\n------------- End message -------------\n"


def mail(sender: str, subject: str, body: str, when: dt.datetime, number: str, *, to: str = SELLER,
         photo: bool = False, reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{number}@test>"
    message["Date"] = format_datetime(when)
    if reply_to:
        message["In-Reply-To"] = message["References"] = reply_to
    message.set_content(body)
    if photo:
        message.add_attachment(b"\xff\xd8\xff\xe0jpeg", maintype="image", subtype="jpeg", filename="lid.jpg")
    return bytes(message)


def hours_ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def deliver(home: Path, cli, *messages: bytes) -> None:
    folder = home.parent / f"mail-{len(list(home.parent.glob('mail-*')))}"
    folder.mkdir(parents=True)
    for number, raw in enumerate(messages):
        (folder / f"{number}.eml").write_bytes(raw)
    result = cli("import", folder)
    assert result.code == 0, result.err


def db(home: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(home / "deskterm.db")
    conn.row_factory = sqlite3.Row
    return conn


def ticket_of(home: Path, order: str) -> int:
    with db(home) as conn:
        return conn.execute("SELECT id FROM tickets WHERE order_id = ?", (order,)).fetchone()[0]


@pytest.fixture
def inbox(home: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Four Amazon buyers and one e-mail customer, as of NOW."""
    monkeypatch.setenv("DESKTERM_AGENT", "maria")
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n')
    deliver(home, cli,
            mail(f'"Anna - Amazon Marketplace" <{ANNA}>', f"Ordine {ORDERS['anna']}",
                 relay(f"Il coperchio dell'ordine {ORDERS['anna']} è arrivato danneggiato."), hours_ago(4), "a1",
                 photo=True),
            mail(f'"Joe - Amazon Marketplace" <{JOE}>', f"Order {ORDERS['joe']}",
                 relay("Where is my order? It should be here by now."), hours_ago(20), "j1"),
            mail(f'"Joe - Amazon Marketplace" <{JOE}>', f"Order {ORDERS['joe']}",
                 relay("Hello? Anyone there?"), hours_ago(6), "j2"),
            mail(f'"Karl - Amazon Marketplace" <{KARL}>', f"Bestellung {ORDERS['karl']}",
                 relay("Ich werde eine Rückbuchung bei meiner Bank veranlassen."), hours_ago(1), "k1"),
            mail(f'"Sue - Amazon Marketplace" <{SUE}>', f"Order {ORDERS['sue']}",
                 relay("Thanks, it arrived and it's lovely."), hours_ago(30), "s1"),
            mail("bob@example.com", "Question about the pan", "Is the 28 cm pan induction ready?", hours_ago(3), "b1"))
    return home


def queue(cli, *args: str) -> list[dict]:
    result = cli("queue", "--json", *args)
    assert result.code == 0, result.err
    return result.json()


def test_triage_levels_reasons_and_signals(inbox: Path, cli) -> None:
    rows = {row["order_id"] or row["customer"]: row for row in queue(cli)}
    anna, joe, karl = rows[ORDERS["anna"]], rows[ORDERS["joe"]], rows[ORDERS["karl"]]
    assert karl["risk"] == "critical" and karl["risk_reasons"][0]["rule"] == "chargeback"
    assert anna["risk"] == "high"
    assert {r["rule"] for r in anna["risk_reasons"]} >= {"damaged", "photos"}
    assert 'damaged: "danneggiato" (it)' in [r["text"] for r in anna["risk_reasons"]]
    assert joe["risk"] == "medium"
    assert "a second buyer message without a reply" in [r["text"] for r in joe["risk_reasons"]]
    assert rows[ORDERS["sue"]]["risk"] == "low"
    assert set(karl) >= {"ticket_id", "risk", "risk_reasons", "sla_due", "channel", "order_id", "customer",
                         "subject", "status"}


def test_queue_order_and_exact_deadlines(inbox: Path, cli) -> None:
    rows = queue(cli)
    assert [row["order_id"] for row in rows] == [ORDERS["karl"], ORDERS["anna"], ORDERS["joe"], ORDERS["sue"], None]
    due = {row["order_id"]: row["sla_due"] for row in rows}
    assert due[ORDERS["karl"]] == "2026-11-20T13:00:00Z"   # critical: 2 h from 11:00
    assert due[ORDERS["anna"]] == "2026-11-20T12:00:00Z"   # high: 4 h from 08:00
    assert due[ORDERS["joe"]] == "2026-11-20T04:00:00Z"    # medium: 12 h from the first unanswered message
    assert due[ORDERS["sue"]] == "2026-11-20T06:00:00Z"    # Amazon's 24 h
    assert due[None] == "2026-11-21T09:00:00Z"             # e-mail, low: 24 h, no hard limit
    assert [row["order_id"] for row in queue(cli, "--risk", "high")] == [ORDERS["karl"], ORDERS["anna"]]
    assert [row["channel"] for row in queue(cli, "--channel", "email")] == ["email"]
    human = cli("queue").out
    assert "CRITICAL" in human and "OVERDUE 8h 00m" in human  # Joe, due 04:00


def test_reply_compliance_and_collision_checks(inbox: Path, cli, tmp_path: Path) -> None:
    karl = ticket_of(inbox, ORDERS["karl"])
    body = tmp_path / "reply.txt"
    body.write_text("Hallo Karl, bitte rufen Sie uns an: +49 30 1234 5678 oder www.alpine.example")
    refused = cli("reply", str(karl), "--body-file", body)
    assert refused.code == 2 and "you have not opened ticket" in refused.err
    assert cli("show", str(karl)).code == 0
    refused = cli("reply", str(karl), "--body-file", body)
    assert refused.code == 2
    for problem in ("contains a link", "phone number", f"order id {ORDERS['karl']} is missing", "--force"):
        assert problem in refused.err
    body.write_text(f"Hallo Karl, wir erstatten die Bestellung {ORDERS['karl']} heute vollständig.")
    # The buyer writes again after Maria opened the ticket: her reply would miss it.
    deliver(inbox, cli, mail(f'"Karl - Amazon Marketplace" <{KARL}>', f"Bestellung {ORDERS['karl']}",
                             relay("Und? Keine Antwort?"), hours_ago(0.5), "k2"))
    refused = cli("reply", str(karl), "--body-file", body)
    assert refused.code == 2 and "the buyer wrote again" in refused.err
    cli("show", str(karl))
    done = cli("reply", str(karl), "--body-file", body, "--json")
    assert done.code == 0, done.err
    queued = done.json()
    with db(inbox) as conn:
        row = conn.execute("SELECT * FROM send_queue WHERE message_id = ?", (queued["message_id"],)).fetchone()
        message = conn.execute("SELECT * FROM messages WHERE message_id = ?", (queued["message_id"],)).fetchone()
        ticket = conn.execute("SELECT status, sla_due FROM tickets WHERE id = ?", (karl,)).fetchone()
        audit = conn.execute("SELECT actor, action FROM audit_log WHERE object = ?", (f"ticket:{karl}",)).fetchall()
    assert row["state"] == "queued" and message["direction"] == "outbound" and message["recipients"] == KARL
    assert message["sender"] == SELLER and message["in_reply_to"] == "<k2@test>" and message["agent"] == "maria"
    assert tuple(ticket) == ("pending", None)  # the clock stopped
    assert ("maria", "reply") in [tuple(a) for a in audit]
    assert ORDERS["karl"] not in [r["order_id"] for r in queue(cli)]
    deliver(inbox, cli, mail(f'"Karl - Amazon Marketplace" <{KARL}>', f"Bestellung {ORDERS['karl']}",
                             relay("Danke!"), hours_ago(-0.1), "k3"))
    later = cli("queue", "--json", now="2026-11-20T12:10:00Z").json()
    assert ORDERS["karl"] in [r["order_id"] for r in later]  # the buyer wrote after the reply: open again


def test_a_colleagues_reply_is_a_collision(inbox: Path, cli, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    anna = ticket_of(inbox, ORDERS["anna"])
    body = tmp_path / "reply.txt"
    body.write_text(f"Gentile Anna, le inviamo subito un sostituto per l'ordine {ORDERS['anna']}.")
    monkeypatch.setenv("DESKTERM_AGENT", "luca")
    cli("show", str(anna))
    monkeypatch.setenv("DESKTERM_AGENT", "maria")
    cli("show", str(anna))
    assert cli("reply", str(anna), "--body-file", body).code == 0
    monkeypatch.setenv("DESKTERM_AGENT", "luca")
    refused = cli("reply", str(anna), "--body-file", body)
    assert refused.code == 2 and "someone else replied" in refused.err
    assert cli("reply", str(anna), "--body-file", body, "--force").code == 0


def test_note_tag_assign_take_and_filters(inbox: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    joe, sue = ticket_of(inbox, ORDERS["joe"]), ticket_of(inbox, ORDERS["sue"])
    assert cli("note", str(joe), "-m", "Carrier says: out for delivery").code == 0
    assert cli("tag", str(joe), "+vip", "+late").code == 0
    assert cli("tag", str(joe), "-late", "--json").json()["tags"] == ["vip"]
    assert cli("tag", str(joe), "vip").code == 2
    assert cli("take", str(joe)).code == 0
    assert cli("assign", str(sue), "luca").code == 0
    assert [r["ticket_id"] for r in queue(cli, "--mine")] == [joe]
    assert sue not in [r["ticket_id"] for r in queue(cli, "--unassigned")]
    assert cli("assign", str(sue), "--nobody").code == 0
    assert sue in [r["ticket_id"] for r in queue(cli, "--unassigned")]
    shown = cli("show", str(joe), "--json").json()
    assert shown["notes"][0]["body"] == "Carrier says: out for delivery" and shown["ticket"]["assignee"] == "maria"
    assert "note by maria" in cli("show", str(joe)).out
    with db(inbox) as conn:
        actions = [row[0] for row in conn.execute("SELECT action FROM audit_log WHERE object = ? ORDER BY seq",
                                                  (f"ticket:{joe}",))]
        details = " ".join(row[0] for row in conn.execute("SELECT detail FROM audit_log"))
    assert actions == ["note", "tag", "tag", "assign", "ticket.viewed", "ticket.viewed"]  # each show is a view
    assert "out for delivery" not in details  # ids and counts only


def test_snooze_close_nrn_reopen(inbox: Path, cli) -> None:
    sue, bob = ticket_of(inbox, ORDERS["sue"]), None
    assert cli("snooze", str(sue), "2d").code == 0
    assert sue not in [r["ticket_id"] for r in queue(cli)]
    assert sue in [r["ticket_id"] for r in queue(cli, "--all")]
    assert sue in [r["ticket_id"] for r in cli("queue", "--json", now="2026-11-22T12:00:01Z").json()]
    refused = cli("close", str(sue))
    assert refused.code == 2 and "1 unanswered buyer message" in refused.err and "nrn" in refused.err
    assert cli("nrn", str(sue), "--reason", "buyer said thanks").code == 0
    assert sue not in [r["ticket_id"] for r in queue(cli, "--all") if r["status"] == "open"]
    with db(inbox) as conn:
        assert conn.execute("SELECT no_response_needed FROM messages WHERE message_id = '<s1@test>'").fetchone()[0] \
            == "buyer said thanks"
        bob = conn.execute("SELECT id FROM tickets WHERE channel = 'email'").fetchone()[0]
    assert cli("close", str(bob)).code == 0  # not Amazon: no metric to protect
    assert cli("reopen", str(bob)).code == 0
    assert bob in [r["ticket_id"] for r in queue(cli)]
    assert cli("snooze", str(bob), "2026-11-19T00:00:00Z").code == 2  # not in the future


def test_snoozed_ticket_returns_when_the_buyer_writes(inbox: Path, cli) -> None:
    joe = ticket_of(inbox, ORDERS["joe"])
    assert cli("snooze", str(joe), "1w").code == 0
    deliver(inbox, cli, mail(f'"Joe - Amazon Marketplace" <{JOE}>', f"Order {ORDERS['joe']}",
                             relay("Still nothing. I will open an A-to-z claim."), hours_ago(0.2), "j3"))
    row = next(r for r in queue(cli) if r["ticket_id"] == joe)
    assert row["risk"] == "critical" and row["snoozed_until"] is None
    assert "3 buyer messages without a reply" in [r["text"] for r in row["risk_reasons"]]


def test_risk_is_never_lowered_silently_and_an_override_is_logged(inbox: Path, cli) -> None:
    karl = ticket_of(inbox, ORDERS["karl"])
    assert cli("triage", "--rescan").code == 0
    assert next(r for r in queue(cli) if r["ticket_id"] == karl)["risk"] == "critical"
    assert cli("risk", str(karl), "low").code == 2  # a reason is required
    assert cli("risk", str(karl), "low", "--reason", "misread: he means a refund").code == 0
    row = next(r for r in queue(cli) if r["ticket_id"] == karl)
    assert row["risk"] == "low" and row["risk_reasons"][0]["rule"] == "override"
    assert row["sla_due"] == "2026-11-21T11:00:00Z"  # the low target now: 24 h
    with db(inbox) as conn:
        detail = conn.execute("SELECT actor, detail FROM audit_log WHERE action = 'risk'").fetchone()
    assert detail[0] == "maria" and json.loads(detail[1]) == {"before": "critical", "after": "low"}
    assert cli("triage", "--rescan").code == 0  # re-reading the old message does not undo the override
    assert next(r for r in queue(cli) if r["ticket_id"] == karl)["risk"] == "low"
    deliver(inbox, cli, mail(f'"Karl - Amazon Marketplace" <{KARL}>', f"Bestellung {ORDERS['karl']}",
                             relay("Ich schreibe eine negative Bewertung."), hours_ago(0.1), "k9"))
    assert next(r for r in queue(cli) if r["ticket_id"] == karl)["risk"] == "critical"


def test_past_delivery_and_earlier_claim_signals(inbox: Path, cli) -> None:
    with db(inbox) as conn:
        conn.execute("INSERT INTO orders (order_id, marketplace, purchase_date, latest_delivery_date)"
                     " VALUES (?, 'US', '2026-11-01T10:00:00Z', '2026-11-12')", (ORDERS["joe"],))
    row = next(r for r in queue(cli) if r["order_id"] == ORDERS["joe"])
    assert row["risk"] == "high"
    assert ("past the latest delivery date (2026-11-12); the buyer may open an A-to-z claim since 2026-11-15"
            in [r["text"] for r in row["risk_reasons"]])
    notice = mail("atoz-guarantee-no-reply@amazon.com",
                  f"Immediate Attention Required: A-to-z Guarantee Claim against Amazon.com order {ORDERS['joe']}",
                  f"The buyer has filed an A-to-z Guarantee claim for order {ORDERS['joe']}.", hours_ago(2), "z1")
    later = mail(f'"Joe - Amazon Marketplace" <{JOE}>', "Order 113-9999999-0000000",
                 relay("Question about order 113-9999999-0000000: which colour is it?"), hours_ago(1), "j9")
    deliver(inbox, cli, notice, later)
    rows = {r["order_id"]: r for r in queue(cli)}
    assert rows[ORDERS["joe"]]["risk"] == "critical"
    assert any(r["rule"] == "earlier_claim" for r in rows["113-9999999-0000000"]["risk_reasons"])
    assert rows["113-9999999-0000000"]["risk"] == "high"


def test_templates_fill_from_the_ticket_in_the_buyers_language(inbox: Path, cli) -> None:
    listed = cli("templates", "--json").json()
    assert {t["name"] for t in listed} >= {"where-is-my-order", "damaged-item", "refund-issued"}
    anna, joe = ticket_of(inbox, ORDERS["anna"]), ticket_of(inbox, ORDERS["joe"])
    missing = cli("templates", "dmg", "--ticket", str(anna))
    assert missing.code == 2 and "{product}" in missing.err
    with db(inbox) as conn:
        conn.execute("INSERT INTO orders (order_id, marketplace) VALUES (?, 'IT')", (ORDERS["anna"],))
        conn.execute("INSERT INTO order_lines (order_id, sku, product_name, row_key, content_hash, source_file,"
                     " source_line, imported_at) VALUES (?, 'AK-PAN-28', 'Padella 28 cm', x'01', x'01', 'test', 2,"
                     " '2026-11-01')", (ORDERS["anna"],))
    text = cli("templates", "dmg", "--ticket", str(anna)).out
    assert text.startswith("Gentile Anna") and "Padella 28 cm" in text and ORDERS["anna"] in text
    assert "Kind regards" in cli("templates", "refund", "--ticket", str(anna), "--lang", "en").out
    assert cli("templates", "refund", "--ticket", str(joe)).out.startswith("Dear Joe")
    cli("show", str(anna))
    done = cli("reply", str(anna), "--template", "damaged", "--json")
    assert done.code == 0, done.err
    assert cli("templates", "nothing-like-this").code == 2


def test_templates_folder_overrides_and_checks_variables(inbox: Path, cli) -> None:
    folder = inbox / "templates"
    folder.mkdir()
    (folder / "refund-issued.en.txt").write_text("Hi {buyer_name}, refunded {order_id}. {agent}")
    (folder / "broken.en.txt").write_text("Hello\n{buyer}\n")
    refused = cli("templates")
    assert refused.code == 2 and "broken.en.txt:2: unknown variable {buyer}" in refused.err
    (folder / "broken.en.txt").unlink()
    joe = ticket_of(inbox, ORDERS["joe"])
    assert cli("templates", "refund", "--ticket", str(joe)).out.strip() == f"Hi Joe, refunded {ORDERS['joe']}. maria"


def test_stats_compute_late_response_rate_as_amazon_does(home: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "maria")
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n')
    buyer = f'"Ann - Amazon Marketplace" <{ANNA}>'

    def ours(number: str, when: dt.datetime, parent: str) -> bytes:
        return mail(SELLER, "Re: Ordine", f"Risposta per l'ordine {ORDERS['anna']}", when, number, to=ANNA,
                    reply_to=parent)

    deliver(home, cli,
            mail(buyer, "Ordine", relay("Domanda uno"), hours_ago(100), "q1"), ours("r1", hours_ago(98), "<q1@test>"),
            mail(buyer, "Ordine", relay("Domanda due"), hours_ago(90), "q2"), ours("r2", hours_ago(60), "<q2@test>"),
            mail(buyer, "Ordine", relay("Domanda tre"), hours_ago(50), "q3"),
            mail(buyer, "Ordine", relay("Domanda quattro"), hours_ago(2), "q4"),
            mail(buyer, "Ordine", relay("Domanda vecchia"), hours_ago(24 * 40), "q0"))
    figures = cli("stats", "--json").json()
    week = figures["response"]["amazon"]["7d"]
    assert week == {"messages": 3, "answered": 2, "late": 2, "over_24h": 1, "no_response": 1, "waiting": 1,
                    "late_response_rate": 0.6667, "average_response_hours": 16.0}
    assert figures["response"]["amazon"]["90d"]["messages"] == 4  # the 40-day-old one, unanswered, counts there
    assert "late  66.7%" in cli("stats").out


def test_rules_beside_the_config_and_risk_in_search(inbox: Path, cli) -> None:
    (inbox / "risk-rules.txt").write_text("negate en not\nhigh induction_question en induction\n")
    assert cli("triage", "--rescan").code == 0
    bob = next(r for r in queue(cli) if r["channel"] == "email")
    assert bob["risk"] == "high" and bob["risk_reasons"][0]["rule"] == "induction_question"
    found = cli("search", "risk:high", "--json").json()
    assert "bob@example.com" in {hit["sender"] for hit in found}
    assert {hit["sender"] for hit in cli("search", "risk:critical", "--json").json()} == {KARL}
    (inbox / "risk-rules.txt").write_text("critical oops xx induction\n")
    broken = cli("queue")
    assert broken.code == 2 and "risk-rules.txt:1: lang" in broken.err


def test_triage_without_news_writes_nothing(inbox: Path, cli) -> None:
    """A TUI watches the database for commits; reading the queue must not commit anything."""
    with db(inbox) as conn:
        conn.execute("INSERT INTO orders (order_id, marketplace, latest_delivery_date) VALUES (?, 'US', '2026-11-12')",
                     (ORDERS["joe"],))
    assert cli("risk", str(ticket_of(inbox, ORDERS["joe"])), "low", "--reason", "carrier confirmed").code == 0
    watcher = sqlite3.connect(inbox / "deskterm.db")
    before = watcher.execute("PRAGMA data_version").fetchone()[0]
    for _ in range(2):
        assert cli("queue").code == 0 and cli("triage").code == 0
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == before
