from __future__ import annotations

from pathlib import Path

import pytest

GOOD = """
own_addresses = ["support@example.com"]

[sla]
response_hours = 12

[channels.buyer-mail]
kind = "imap"
host = "imap.example.com"
username = "support@example.com"
password_env = "DESKTERM_TEST_IMAP_PASSWORD"
from = "support@example.com"

[channels.amazon-us]
kind = "amazon"
region = "na"
marketplaces = ["ATVPDKIKX0DER"]
refresh_token_env = "SP_API_REFRESH_TOKEN"
lwa_app_id_env = "LWA_APP_ID"
lwa_client_secret_env = "LWA_CLIENT_SECRET"
"""


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text, encoding="utf-8")


def test_effective_config_masks_secrets(home: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_TEST_IMAP_PASSWORD", "canary-imap-secret-81723")
    write_config(home, GOOD)
    result = cli("config", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["sla"] == {"response_hours": 12, "critical_hours": 2, "high_hours": 4, "medium_hours": 12,
                               "low_hours": 24, "channels": {}}
    assert document["channels"]["buyer-mail"]["password_env"] == {"env": "DESKTERM_TEST_IMAP_PASSWORD", "set": True}
    assert document["channels"]["amazon-us"]["refresh_token_env"]["set"] is False
    assert document["channels"]["buyer-mail"]["mailboxes"] == ["INBOX"]  # default filled in
    human = cli("config")
    assert "canary-imap-secret-81723" not in result.out + human.out + human.err
    assert "DESKTERM_TEST_IMAP_PASSWORD" in human.out and "value hidden" in human.out


def test_missing_config_means_defaults(cli) -> None:
    result = cli("config", "--json")
    assert result.code == 0
    assert result.json()["sla"] == {"response_hours": 24, "critical_hours": 2, "high_hours": 4, "medium_hours": 12,
                                    "low_hours": 24, "channels": {}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "\n[channels.shop]\nkind = \"shopify\"\nshop = \"x\"\ntoken = \"inline\"\n", "channels.shop.token: unknown key"),
        (GOOD.replace('response_hours = 12', 'response_hours = "12"'), "sla.response_hours: expected number, got string"),
        (GOOD + "\n[sla.channels.fax]\nlow_hours = 8\n", "sla.channels.fax: unknown channel"),
        (GOOD + "\n[sla.channels.amazon]\nbusiness_hours = \"mon-fri 09:00-18:00\"\n",
         "sla.channels.amazon.business_hours: Amazon counts weekends and holidays"),
        (GOOD + "\n[sla.channels.shopify]\nbusiness_hours = \"mon-fri 09:00-18:00\"\ntimezone = \"Europe/Rom\"\n",
         "sla.channels.shopify.timezone: unknown time zone"),
        (GOOD + "\n[sla.channels.email]\nhigh_hours = \"4\"\n", "sla.channels.email.high_hours: expected number"),
        (GOOD.replace('region = "na"', 'region = "mars"'), "channels.amazon-us.region: expected one of na, eu, fe"),
        (GOOD.replace('host = "imap.example.com"\n', ''), "channels.buyer-mail.host: required key is missing"),
        (GOOD.replace('[sla]', '[sla]\nresponse_minutes = 5'), "sla.response_minutes: unknown key"),
        (GOOD + "\n[channels.x]\nkind = \"fax\"\n", "channels.x.kind: expected one of amazon, imap, shopify, tiktok"),
        (GOOD.replace('username = "support@example.com"', 'username = "s"\nsecurity = "none"'),
         "channels.buyer-mail.security: \"none\" is only allowed with a loopback host"),
        ('own_addresses = "a@b.c"', "own_addresses: expected array, got string"),
        ("own_addresses = [", "not valid TOML"),
        ("mark_seen = true", "mark_seen: unknown key"),
        ('[keys]\n"conversation.reply" = 1', "keys: expected a table of binding id"),
    ],
)
def test_bad_config_exits_2_naming_the_key(home: Path, cli, text: str, message: str) -> None:
    write_config(home, text)
    result = cli("status")
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert not (home / "deskterm.db").exists()
