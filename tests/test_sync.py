"""`deskterm sync` against a real Dovecot and a real SMTP server on 127.0.0.1: first, incremental and
repeated syncs, a UIDVALIDITY change, a shrinking mailbox, kill -9 during a 2,000-message sync,
replies sent exactly once and threaded, a kill during a send."""

from __future__ import annotations

import email
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from mailservers import PASSWORD

NOW = "2026-11-20T12:00:00Z"
SELLER = "support@alpinekitchen.example"
ENV = {"DESKTERM_TEST_IMAP_PASSWORD": PASSWORD, "DESKTERM_AGENT": "maria"}


def relay_mail(n: int, order: str | None = None, subject: str | None = None, body: str | None = None) -> bytes:
    order = order or f"111-{n:07d}-0000001"
    words = body or f"Hello, where is my order {order}? It has not arrived. ({n})"
    subject = subject or f"Inquiry from Amazon customer Buyer{n} (Order: {order})"
    return (f"From: \"Buyer{n} - Amazon Marketplace\" <buyer{n:05d}x@marketplace.amazon.com>\r\n"
            f"To: {SELLER}\r\nSubject: {subject}\r\nMessage-ID: <relay-{n}@marketplace.amazon.com>\r\n"
            f"Date: Thu, 19 Nov 2026 10:{n % 60:02d}:00 +0000\r\n\r\n"
            f"------------- Begin message -------------\r\n\r\n{words}\r\n\r\n"
            f"------------- End message -------------\r\n").encode()


@pytest.fixture
def account(tmp_path: Path, dovecot, smtp_server, monkeypatch: pytest.MonkeyPatch):
    """A workspace whose buyer-mail channel is a fresh Dovecot user, and replies go to smtp_server."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    user = dovecot.new_user()
    home = tmp_path / "ws"
    home.mkdir()
    write_config(home, dovecot.port, user, smtp_server.port)
    return home, user


def write_config(home: Path, imap_port: int, user: str, smtp_port: int, *, undo: int = 0,
                 mailboxes: tuple[str, ...] = ("INBOX",), mark_seen: bool = False) -> None:
    (home / "config.toml").write_text(
        f'own_addresses = ["{SELLER}"]\nundo_seconds = {undo}\n\n[channels.buyer-mail]\nkind = "imap"\n'
        f'host = "127.0.0.1"\nport = {imap_port}\nsecurity = "none"\nusername = "{user}"\n'
        f'password_env = "DESKTERM_TEST_IMAP_PASSWORD"\nmailboxes = {json.dumps(list(mailboxes))}\n'
        f'mark_seen = {"true" if mark_seen else "false"}\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
        f'smtp_security = "none"\nfrom = "{SELLER}"\n')


def deskterm(home: Path, *args: str, now: str = NOW, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "deskterm", "--home", str(home), "--now", now, *args],
                            capture_output=True, text=True, timeout=300, env={**os.environ, **ENV})
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def sync(home: Path, now: str = NOW) -> dict:
    return json.loads(deskterm(home, "sync", "once", "--json", now=now).stdout)["channels"]["buyer-mail"]


def query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(home / "deskterm.db") as conn:
        return conn.execute(sql, params).fetchall()


def test_first_incremental_and_repeated_sync(account, dovecot) -> None:
    home, user = account
    dovecot.append(user, [relay_mail(n) for n in range(5)])
    first = sync(home)
    assert first["ok"] and first["fetched"]["messages"] == 5 and first["error"] is None
    dovecot.append(user, [relay_mail(n) for n in range(5, 8)])
    assert sync(home)["fetched"]["messages"] == 3
    assert sync(home)["fetched"].get("messages", 0) == 0
    assert query(home, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(8, 8)]
    assert query(home, "SELECT count(*), max(uid) FROM imap_uids") == [(8, 8)]
    # forgetting the cursor reads everything again and stores nothing twice
    with sqlite3.connect(home / "deskterm.db") as conn:
        conn.execute("DELETE FROM sync_state WHERE scope = 'INBOX'")
    assert sync(home)["fetched"].get("messages", 0) == 0
    assert query(home, "SELECT count(*) FROM messages") == [(8,)]
    status = json.loads(deskterm(home, "sync", "status", "--json").stdout)["channels"]["buyer-mail"]
    assert json.loads(status["cursors"]["INBOX"]["cursor"])["last_uid"] == 8 and status["last_error"] is None
    # read-only: the server still has every message, none marked seen
    imap = dovecot.client(user)
    imap.select("INBOX", readonly=True)
    assert imap.search(None, "UNSEEN")[1][0].split() == [str(n).encode() for n in range(1, 9)]
    imap.logout()
    # the messages were read for risk and indexed
    found = json.loads(deskterm(home, "search", "arrived", "--json").stdout)
    assert len(found) == 8


def test_a_message_over_the_size_limit_is_quarantined_by_its_head_never_fetched_whole(account, dovecot) -> None:
    from deskterm.mail.parse import MAX_MESSAGE_BYTES

    home, user = account
    filler = ("x" * 998 + "\r\n").encode() * (MAX_MESSAGE_BYTES // 1000 + 1000)
    huge = relay_mail(1, body="A video of the broken lid, attached.").replace(b"\r\n\r\n", b"\r\n\r\n" + filler, 1)
    dovecot.append(user, [relay_mail(0), huge, relay_mail(2)])
    result = sync(home)
    assert result["ok"] and result["fetched"] == {"messages": 2, "quarantined": 1}
    held = json.loads(deskterm(home, "quarantine", "--json").stdout)
    assert len(held) == 1 and held[0]["line"] == 2 and "limit" in held[0]["reason"]  # line: the UID
    assert len(held[0]["raw"]) <= 1024 * 1024  # only the head was fetched and kept


def test_uidvalidity_change_deletes_nothing_and_rereads(account, dovecot) -> None:
    home, user = account
    write_config(home, dovecot.port, user, 1, mailboxes=("Relay",))
    dovecot.append(user, [relay_mail(n) for n in range(4)], mailbox="Relay")
    assert sync(home)["fetched"]["messages"] == 4
    imap = dovecot.client(user)
    imap.delete("Relay")
    imap.logout()
    dovecot.append(user, [relay_mail(n) for n in range(5)], mailbox="Relay")  # new UIDVALIDITY, one new message
    again = sync(home)
    assert again["fetched"]["messages"] == 1
    assert any("UIDVALIDITY changed" in event for event in again["events"])
    assert query(home, "SELECT count(*) FROM messages") == [(5,)]
    assert query(home, "SELECT count(DISTINCT uidvalidity) FROM imap_uids") == [(2,)]
    assert "UIDVALIDITY changed" in deskterm(home, "sync", "status").stdout


def test_a_mailbox_that_lost_most_of_its_mail(account, dovecot) -> None:
    home, user = account
    dovecot.append(user, [relay_mail(n) for n in range(30)])
    sync(home)
    imap = dovecot.client(user)
    imap.select("INBOX")
    imap.store("1:20", "+FLAGS", "\\Deleted")
    imap.expunge()
    imap.logout()
    report = sync(home)
    assert any("now holds 10 messages, 30 at the last sync" in event for event in report["events"])
    assert query(home, "SELECT count(*) FROM messages") == [(30,)]


def test_mark_seen_is_the_only_change_and_only_when_asked(account, dovecot, smtp_server) -> None:
    home, user = account
    write_config(home, dovecot.port, user, smtp_server.port, mark_seen=True)
    dovecot.append(user, [relay_mail(n) for n in range(3)])
    sync(home)
    imap = dovecot.client(user)
    imap.select("INBOX", readonly=True)
    assert imap.search(None, "SEEN")[1][0].split() == [b"1", b"2", b"3"]
    assert imap.search(None, "ALL")[1][0].split() == [b"1", b"2", b"3"]
    imap.logout()


def test_a_failing_channel_is_reported_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    write_config(home, 1, "nobody", 1)  # nothing listens on port 1
    result = deskterm(home, "sync", "once", "--json", check=False)
    assert result.returncode == 1
    channel = json.loads(result.stdout)["channels"]["buyer-mail"]
    assert not channel["ok"] and "IMAP 127.0.0.1:1" in channel["error"] and PASSWORD not in result.stdout
    assert "last error: IMAP 127.0.0.1:1" in deskterm(home, "sync", "status").stdout


def test_kill_9_during_a_2000_message_sync_loses_and_doubles_nothing(account, dovecot) -> None:
    home, user = account
    dovecot.append(user, [relay_mail(n) for n in range(2000)])
    rng = random.Random(20261126)
    kills, stored = 0, 0
    to_first_commit = 0.5  # seconds from start to a run's first commit, measured as we go
    env = {**os.environ, **ENV}
    while stored < 2000:
        # Kill points, alternating: just after a random number of further messages is committed
        # (mid-batch, mid-transaction), or at a random moment before the run's first commit
        # (start-up, login, fetch, parse), scaled to this machine's speed.
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW, "sync", "once"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        early = kills % 2 == 1
        deadline = started + (rng.uniform(0.3, 1.0) * to_first_commit if early else 60)
        target = stored + rng.randint(1, 60)  # at most one more batch of 100 per run
        while child.poll() is None and _stored(home) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        if not early and _stored(home) >= target:
            to_first_commit = time.monotonic() - started
        time.sleep(rng.uniform(0, 0.01))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
        stored = _stored(home)
    sync(home)
    assert kills >= 20, kills
    assert query(home, "SELECT count(*), count(DISTINCT message_id) FROM messages") == [(2000, 2000)]
    assert query(home, "SELECT count(*), count(DISTINCT uid), max(uid) FROM imap_uids") == [(2000, 2000, 2000)]
    assert query(home, "PRAGMA integrity_check") == [("ok",)]
    assert json.loads(deskterm(home, "index", "check", "--json").stdout)["ok"]


def _stored(home: Path) -> int:
    if not (home / "deskterm.db").exists():
        return 0
    try:
        return query(home, "SELECT count(*) FROM imap_uids")[0][0]
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return 0


def _reply(home: Path, ticket: int, text: str) -> str:
    """As an agent does: read the ticket, then answer it, naming the order as Amazon asks."""
    order = query(home, "SELECT order_id FROM tickets WHERE id = ?", (ticket,))[0][0]
    deskterm(home, "show", str(ticket))
    body = home.parent / f"reply-{ticket}.txt"
    body.write_text(f"{text}\n\nOrder {order}.")
    out = deskterm(home, "reply", str(ticket), "--body-file", str(body), "--json")
    return json.loads(out.stdout)["message_id"]


def test_a_reply_is_sent_once_threaded_and_with_safe_headers(account, dovecot, smtp_server) -> None:
    home, user = account
    dovecot.append(user, [relay_mail(1, subject="=?UTF-8?Q?Where_is_it=0D=0ABcc:_evil@example.com?=")])
    sync(home)
    ticket = query(home, "SELECT id FROM tickets")[0][0]
    message_id = _reply(home, ticket, "Hello, your parcel is on its way; tracking TBA123.")
    first = sync(home)
    assert first["sent"] == 1 and len(smtp_server.received) == 1
    assert sync(home)["sent"] == 0 and len(smtp_server.received) == 1  # exactly once
    sent = email.message_from_bytes(smtp_server.received[0], policy=policy.default)
    assert sent["Message-ID"] == message_id
    assert sent["In-Reply-To"] == "<relay-1@marketplace.amazon.com>"
    assert sent["To"] == "buyer00001x@marketplace.amazon.com" and sent["From"] == SELLER
    assert "Bcc" not in sent and "\n" not in str(sent["Subject"]) and sent["Subject"].startswith("Re: ")
    assert smtp_server.envelopes == [(SELLER, ["buyer00001x@marketplace.amazon.com"])]
    assert query(home, "SELECT state, attempts FROM send_queue") == [("sent", 1)]


def test_replies_wait_for_the_undo_delay(account, dovecot, smtp_server) -> None:
    home, user = account
    write_config(home, dovecot.port, user, smtp_server.port, undo=600)
    dovecot.append(user, [relay_mail(2)])
    sync(home)
    _reply(home, query(home, "SELECT id FROM tickets")[0][0], "On its way.")
    assert sync(home)["sent"] == 0 and smtp_server.received == []
    assert sync(home, now="2026-11-20T12:10:01Z")["sent"] == 1


def test_a_kill_during_the_send_leaves_needs_attention_never_a_second_copy(account, dovecot, smtp_server) -> None:  # noqa: E501
    home, user = account
    dovecot.append(user, [relay_mail(3)])
    sync(home)
    _reply(home, query(home, "SELECT id FROM tickets")[0][0], "On its way.")
    smtp_server.hold_seconds = 30
    child = subprocess.Popen([sys.executable, "-m", "deskterm", "--home", str(home), "--now", NOW, "sync", "once"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **ENV})
    assert smtp_server.started.wait(30)  # the server is receiving it
    assert query(home, "SELECT state FROM send_queue") == [("sending",)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    smtp_server.hold_seconds = 0
    after = sync(home)
    assert after["sent"] == 0
    state, error = query(home, "SELECT state, last_error FROM send_queue")[0]
    assert state == "needs_attention" and "check the Sent folder" in error
    assert len(smtp_server.envelopes) == 1  # never handed over a second time


def test_one_failing_channel_never_stops_the_others(account, dovecot) -> None:
    home, user = account
    config = (home / "config.toml").read_text()
    (home / "config.toml").write_text(config + '\n[channels.broken]\nkind = "imap"\nhost = "127.0.0.1"\nport = 1\n'
                                               'security = "none"\nusername = "x"\n'
                                               'password_env = "DESKTERM_TEST_IMAP_PASSWORD"\n')
    dovecot.append(user, [relay_mail(n) for n in range(3)])
    result = deskterm(home, "sync", "once", "--json", check=False)
    channels = json.loads(result.stdout)["channels"]
    assert result.returncode == 1 and not channels["broken"]["ok"]
    assert channels["buyer-mail"]["ok"] and channels["buyer-mail"]["fetched"]["messages"] == 3


def test_two_runners_never_sync_one_channel_at_once(account) -> None:
    import fcntl

    home, _user = account
    (home / "locks").mkdir()
    with open(home / "locks" / "buyer-mail.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another runner is in the middle of a pass
        channel = json.loads(deskterm(home, "sync", "once", "--json", check=False).stdout)["channels"]["buyer-mail"]
    assert not channel["ok"] and channel["error"] == "another deskterm is syncing this channel now"
    assert sync(home)["ok"]  # and once it is done, this one goes


def test_the_daemon_syncs_on_its_schedule_and_stops_cleanly_on_sigterm(account, dovecot) -> None:
    home, user = account
    (home / "config.toml").write_text((home / "config.toml").read_text() + "interval_seconds = 1\n")
    daemon = subprocess.Popen([sys.executable, "-m", "deskterm", "--home", str(home), "sync", "run"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **ENV})
    try:
        dovecot.append(user, [relay_mail(n) for n in range(2)])
        end = time.monotonic() + 30
        while _stored(home) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        dovecot.append(user, [relay_mail(2)])  # a later pass brings the next one
        while _stored(home) < 3 and time.monotonic() < end:
            time.sleep(0.1)
        assert _stored(home) == 3
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0 and "stopped" in out and "Traceback" not in err


def test_backoff_is_exponential_with_full_jitter() -> None:
    from deskterm.sync.runner import BACKOFF_BASE, BACKOFF_CAP, Daemon, _Schedule

    assert Daemon.delay(_Schedule("x", 60.0)) == 60.0
    for failures in range(1, 12):
        waits = [Daemon.delay(_Schedule("x", 60.0, failures)) for _ in range(200)]
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** failures)
        assert all(0 <= w <= ceiling for w in waits) and max(waits) > ceiling / 2  # spread over the whole range
