"""Real mail servers on 127.0.0.1 for the sync tests: Dovecot (IMAP) and aiosmtpd (SMTP).

Dovecot runs as a normal process from a config in a temporary folder (research/reliability.md §6.3);
as root, its login and internal processes run as Debian's `dovenull` and `dovecot` users, which it
requires. Every test logs in as its own user (the static passdb takes any name), so each test has
fresh mailboxes.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PASSWORD = "test-password-not-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Dovecot:
    port: int
    folder: Path
    users: int = 0

    def new_user(self) -> str:
        self.users += 1
        return f"seller{self.users}-{os.getpid()}"

    def client(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port)
        imap.login(user, PASSWORD)
        return imap

    def append(self, user: str, messages: list[bytes], mailbox: str = "INBOX") -> None:
        imap = self.client(user)
        try:
            if mailbox != "INBOX":
                imap.create(mailbox)
            for raw in messages:
                status, _ = imap.append(mailbox, None, None, raw)
                assert status == "OK"
        finally:
            imap.logout()


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


@pytest.fixture(scope="session")
def dovecot():
    if dovecot_binary() is None:
        pytest.skip("Dovecot is not installed (.ci/run installs dovecot-imapd)")
    with running_dovecot() as server:
        yield server


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of its own on a free port of 127.0.0.1, stopped and removed on exit."""
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError("Dovecot is not installed: apt-get install dovecot-imapd")
    folder = Path(tempfile.mkdtemp(prefix="deskterm-dovecot-"))
    folder.chmod(0o755)  # the mail processes may run as another user, who must reach the homes
    if os.geteuid() == 0:
        internal, login, mail_user = "dovecot", "dovenull", "dovecot"
    else:
        internal = login = mail_user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
    (folder / "home").mkdir()
    shutil.chown(folder / "home", mail_user, group)
    port = free_port()
    (folder / "dovecot.conf").write_text(f"""
instance_name = deskterm-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/log
info_log_path = {folder}/log
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
userdb {{
  driver = static
  args = home={folder}/home/%u uid={mail_user} gid={group}
}}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
""")
    process = subprocess.Popen([binary, "-F", "-c", str(folder / "dovecot.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield Dovecot(port, folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class SmtpServer:
    port: int
    received: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    hold_seconds: float = 0.0          # stall in DATA, to kill a sender mid-send
    started: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        import asyncio

        self.started.set()
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.hold_seconds:
            await asyncio.sleep(self.hold_seconds)
        self.received.append(envelope.original_content or envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = SmtpServer(free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()
