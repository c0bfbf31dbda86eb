"""Buyers' personal data: `deskterm purge` removes it 30 days after delivery from every place
deskterm writes (database, WAL, search index, evidence folders), keeps what claims are made of,
and the audit log says who looked at it; no command's output (what cron logs) carries it."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from test_desk import NOW, SELLER, deliver, mail, relay

CANARIES = {  # one buyer, written about 40 days ago, whose order was delivered 35 days ago
    "name": "Zephyrine Quaglioni", "email": "zephyrine.quaglioni@example.net", "phone": "+1 (206) 555-0142",
    "street": "42 Wallaby Way", "city": "QUAGMIRETON", "gift": "Happy birthday Zephyrine",
}
RECENT = {"name": "Barnaby Whitlock-Ferris", "phone": "0151 2345 6789"}  # delivered last week: kept
OLD_ORDER, NEW_ORDER = "114-2468013-5791357", "114-9753102-8642086"
OLD_RELAY, NEW_RELAY = "q7zephyr@marketplace.amazon.com", "w3barnaby@marketplace.amazon.com"


def all_orders_row(order_id: str, purchased: dt.datetime, city: str) -> str:
    stamp = purchased.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return (f"{order_id}\t\t{stamp}\t{stamp}\tShipped\tAmazon\tAmazon.com\t\t\tStandard\tCeramic teapot\tTEA-POT-1\t"
            f"B0TEAPOT01\tShipped\t1\tUSD\t39.99\t3.20\t0.00\t0.00\t\t\t0.00\t0.00\t{city}\tWA\t98101\tUS\t\tfalse\t\t\n")


@pytest.fixture
def buyers(home: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DESKTERM_AGENT", "maria")
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n')
    header = (Path(__file__).parents[1] / "fixtures" / "reports" / "all_orders.txt").read_text().splitlines()[0]
    orders = home.parent / "all_orders.txt"
    orders.write_text(header + "\n" + all_orders_row(OLD_ORDER, NOW - dt.timedelta(days=42), CANARIES["city"])
                      + all_orders_row(NEW_ORDER, NOW - dt.timedelta(days=9), "BARNABYVILLE"))
    assert cli("import", orders).code == 0
    old = NOW - dt.timedelta(days=40)
    deliver(home, cli,
            mail(f'"{CANARIES["name"]} - Amazon Marketplace" <{OLD_RELAY}>', f"Order {OLD_ORDER}",
                 relay(f"The teapot arrived broken. It was a gift ({CANARIES['gift']}). Call me on {CANARIES['phone']}"
                       f" or write to {CANARIES['email']}; I am at {CANARIES['street']}, {CANARIES['city'].title()}."),
                 old, "old1"),
            mail(f'"{RECENT["name"]} - Amazon Marketplace" <{NEW_RELAY}>', f"Order {NEW_ORDER}",
                 relay(f"Where is my teapot? Call {RECENT['phone']}."), NOW - dt.timedelta(days=3), "new1"))
    return home


def raw_bytes(home: Path) -> dict[str, bytes]:
    """Every file deskterm wrote: the database and its WAL, the index, the evidence folders."""
    files = [p for p in home.rglob("*") if p.is_file() and p.suffix != ".toml"]
    return {str(p.relative_to(home)): p.read_bytes() for p in files}


def hits(blobs: dict[str, bytes], words: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for name, data in blobs.items():
        lowered = data.lower()
        found += [(name, key) for key, word in words.items()
                  if word.lower().encode() in lowered or word.lower().encode("utf-16-le") in lowered]
    return found


def test_purge_removes_the_person_and_keeps_the_facts(buyers: Path, cli) -> None:
    home = buyers
    old_ticket = cli("queue", "--all", "--json").json()
    old_ticket = next(t["ticket_id"] for t in old_ticket if t["order_id"] == OLD_ORDER)
    assert cli("show", str(old_ticket)).code == 0
    assert cli("evidence", "build", "--ticket", str(old_ticket), "--zip").code == 0
    assert cli("search", "teapot").code == 0  # the index holds the words now
    assert hits(raw_bytes(home), CANARIES)  # the canaries are there before
    modes = {p.name: p.stat().st_mode & 0o777 for p in home.glob("deskterm.db*")}
    assert modes and set(modes.values()) == {0o600}, modes  # the database and its WAL: the user's only

    logged = [cli("purge", "--dry-run", "--json"), cli("purge", "--json")]
    assert logged[0].json()["tickets"] == 1 and logged[0].json()["dry_run"] is True
    done = logged[1].json()
    assert (done["tickets"], done["messages"], done["customers"], done["orders"]) == (1, 1, 1, 1)
    assert done["evidence_folders"] == 1 and done["index_rebuilt"] and done["wal_truncated"]

    assert hits(raw_bytes(home), CANARIES) == []                       # gone from every file
    assert hits(raw_bytes(home), {"recent": RECENT["phone"]})          # the recent buyer is untouched
    assert not any(hits({"out": (r.out + r.err).encode()}, CANARIES) for r in logged)
    with sqlite3.connect(home / "deskterm.db") as conn:
        body, sender = conn.execute("SELECT body, sender FROM messages WHERE order_id = ?", (OLD_ORDER,)).fetchone()
        order = conn.execute("SELECT order_id, status, ship_country FROM orders WHERE order_id = ?", (OLD_ORDER,)).fetchone()
        line = conn.execute("SELECT sku, item_price FROM order_lines WHERE order_id = ?", (OLD_ORDER,)).fetchone()
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert body.startswith("The teapot arrived broken.") and "[removed]" in body  # the words stay, the person goes
    assert sender.startswith("purged:") and order == (OLD_ORDER, "Shipped", "US") and line == ("TEA-POT-1", "39.99")
    assert cli("search", "teapot", "--json").json()  # the index works, from the purged store
    assert cli("purge", "--json").json()["tickets"] == 0  # nothing left to do
    assert cli("evidence", "verify", str(next(p for p in (home / "evidence").iterdir() if p.is_dir()))).code == 0


def test_the_audit_log_says_who_viewed_and_exported_and_holds_no_personal_data(buyers: Path, cli) -> None:
    home = buyers
    tickets = [t["ticket_id"] for t in cli("queue", "--all", "--json").json()]
    for ticket in tickets:
        cli("show", str(ticket), "--json")
    cli("show", str(tickets[0]))
    cli("evidence", "build", "--ticket", str(tickets[0]))
    with sqlite3.connect(home / "deskterm.db") as conn:
        before = {row[0] for row in conn.execute("SELECT seq FROM audit_log")}
        views = conn.execute("SELECT actor, object FROM audit_log WHERE action = 'ticket.viewed'").fetchall()
        exports = conn.execute("SELECT actor FROM audit_log WHERE action = 'evidence.build'").fetchall()
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("DELETE FROM audit_log")
    assert sorted(views) == sorted([("maria", f"ticket:{t}") for t in tickets] + [("maria", f"ticket:{tickets[0]}")])
    assert exports == [("maria",)]
    cli("purge")
    with sqlite3.connect(home / "deskterm.db") as conn:
        after = {row[0] for row in conn.execute("SELECT seq FROM audit_log")}
        added = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE seq > ?", (max(before),))]
    assert before <= after and added == ["purge", "evidence.build"]  # it rebuilt the folder; it deleted nothing
    with sqlite3.connect(home / "deskterm.db") as conn:
        details = " ".join(row[0] for row in conn.execute("SELECT detail FROM audit_log"))
    assert hits({"audit": details.encode()}, {**CANARIES, **RECENT}) == []


SECRETS = {"imap": "imap-canary-Pw-7f3a91", "lwa_refresh": "Atzr|canary-refresh-5b2e", "lwa_secret": "lwa-canary-sec-88d1",
           "shopify": "shpat_canary_token_0c4f", "tiktok_secret": "tiktok-canary-secret-61aa",
           "tiktok_refresh": "tiktok-canary-refresh-d9e0"}


def test_no_command_output_carries_a_secret_even_when_every_channel_refuses_it(tmp_path: Path, dovecot,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Four channels, each given a wrong secret: sync fails cleanly, naming the channel, and neither
    its output (what cron logs), `sync status`, `config` nor the database holds the secret."""
    import os
    import subprocess
    import sys

    from shopify_server import ShopifyServer
    from spapi_server import SpApiServer
    from tiktok_server import TikTokServer

    env = {"T_IMAP": SECRETS["imap"], "T_LWA_REFRESH": SECRETS["lwa_refresh"], "T_LWA_ID": "amzn1.application-oa2-client.x",
           "T_LWA_SECRET": SECRETS["lwa_secret"], "T_SHOPIFY": SECRETS["shopify"], "T_TT_SECRET": SECRETS["tiktok_secret"],
           "T_TT_REFRESH": SECRETS["tiktok_refresh"]}
    home = tmp_path / "ws"
    home.mkdir()
    user = dovecot.new_user()
    with SpApiServer(refresh_token="Atzr|the-right-one") as amazon, ShopifyServer("shpat_the_right_one") as shop, \
            TikTokServer("6a6app", "the-right-secret") as tiktok:
        (home / "config.toml").write_text(
            f'[channels.mail]\nkind = "imap"\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "none"\n'
            f'username = "{user}"\npassword_env = "T_IMAP"\n\n'
            '[channels.amazon-us]\nkind = "amazon"\nregion = "na"\nmarketplaces = ["ATVPDKIKX0DER"]\n'
            'refresh_token_env = "T_LWA_REFRESH"\nlwa_app_id_env = "T_LWA_ID"\nlwa_client_secret_env = "T_LWA_SECRET"\n'
            f'endpoint = "{amazon.endpoint}"\nlwa_token_url = "{amazon.token_url}"\n\n'
            f'[channels.shop]\nkind = "shopify"\nshop = "x.myshopify.com"\naccess_token_env = "T_SHOPIFY"\n'
            f'endpoint = "{shop.endpoint}"\n\n'
            f'[channels.tiktok]\nkind = "tiktok"\nshop = "Loopback Shop"\napp_key = "6a6app"\n'
            f'app_secret_env = "T_TT_SECRET"\nrefresh_token_env = "T_TT_REFRESH"\nendpoint = "{tiktok.endpoint}"\n'
            f'auth_endpoint = "{tiktok.auth_url}"\n')
        outputs = []
        for args in (["sync", "once", "--json"], ["sync", "once"], ["sync", "status"], ["sync", "status", "--json"],
                     ["config"], ["config", "--json"]):
            result = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), *args], capture_output=True,
                                    text=True, env={**os.environ, **env}, timeout=300)
            assert "Traceback" not in result.stderr
            outputs.append(result.stdout + result.stderr)
    failed = [line for line in outputs[1].splitlines() if ": failed: " in line]
    assert sorted(line.split(":")[0] for line in failed) == ["amazon-us", "mail", "shop", "tiktok"]
    everything = "\n".join(outputs).encode() + (home / "deskterm.db").read_bytes()
    assert hits({"output": everything}, SECRETS) == []


def test_a_buyer_still_writing_keeps_the_address_replies_need(buyers: Path, cli) -> None:
    """The old buyer writes again about a new order: their old ticket is purged, but their address
    stays, so the agent can still answer the new one."""
    home = buyers
    deliver(home, cli, mail(f'"{CANARIES["name"]} - Amazon Marketplace" <{OLD_RELAY}>', "Order 114-1111111-2222222",
                            relay("And the new teapot, when does it come?"), NOW - dt.timedelta(hours=2), "old2"))
    assert cli("purge", "--json").json()["customers"] == 0
    with sqlite3.connect(home / "deskterm.db") as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE address = ?", (OLD_RELAY,)).fetchone() == (1,)
        old_body = conn.execute("SELECT body FROM messages WHERE message_id = '<old1@test>'").fetchone()[0]
        recent = conn.execute("SELECT ticket_id FROM messages WHERE message_id = '<old2@test>'").fetchone()[0]
    assert CANARIES["phone"] not in old_body  # the old ticket itself was purged
    cli("show", str(recent))
    body = home.parent / "answer.txt"
    body.write_text("Your order 114-1111111-2222222 ships tomorrow.\n")
    assert cli("reply", str(recent), "--body-file", body).code == 0
