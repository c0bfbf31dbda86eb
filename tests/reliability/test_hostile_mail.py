"""Hostile mail end to end, through the real `deskterm` CLI in subprocesses (research/reliability.md §3,
"Tests deskterm must pass" 18-23):

- MIME bombs (18): each in an mbox between ordinary messages, and over IMAP; refused within a CPU and
  memory ceiling, kept in the quarantine with file and line, the rest of the batch imported;
- a charset corpus (19): every part shown, decoded, with U+FFFD only where the bytes say nothing better;
- header injection on reply (20) and CVE-2023-27043 address tricks (21): replies sent through `deskterm
  sync once` to a real aiosmtpd; the header set and the RCPT TO of every message received are checked;
- hostile attachment names (22) and the attachment size cap (23) in evidence folders and saved
  attachments: nothing written outside, no symlink followed, nothing overwritten, mode 0600.

CPU is measured with getrusage(RUSAGE_CHILDREN) around each command. Peak memory two ways: ru_maxrss from
os.wait4 (the child's own rusage; RUSAGE_CHILDREN's is the largest child so far), which on Linux also
counts this test process's own peak, inherited through vfork and exec, so it is an upper bound; and
the child's VmHWM read from /proc as it exits, its own peak alone. Both must stay under the ceiling.
"""

from __future__ import annotations

import base64
import email
import hashlib
import json
import os
import resource
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pytest
from mailservers import PASSWORD

NOW = "2026-11-20T12:00:00Z"
DATE = "Thu, 19 Nov 2026 10:00:00 +0000"
SELLER = "support@alpinekitchen.example"
ENV = {"DESKTERM_TEST_IMAP_PASSWORD": PASSWORD, "DESKTERM_AGENT": "maria"}
CPU_CEILING = 10.0        # seconds of CPU per refused bomb
RSS_CEILING_MB = 512.0    # peak resident memory of the deskterm process
SEPARATOR = b"From MAILER-DAEMON Thu Nov 19 10:00:00 2026\n"


# -- running deskterm -------------------------------------------------------------------------------
@dataclass
class Run:
    code: int
    out: str
    err: str
    cpu: float        # user + system seconds
    rss_mb: float     # the child's own peak resident set (VmHWM)
    maxrss_mb: float  # ru_maxrss: at least rss_mb, and at least this test process's peak
    wall: float

    def json(self) -> Any:
        return json.loads(self.out)


# `python -m deskterm ARGS`, writing the process's VmHWM to the file named first when it exits
_MEASURED = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(peak)
sys.argv[0] = "deskterm"
runpy.run_module("deskterm", run_name="__main__", alter_sys=True)
"""


def deskterm(home: Path, *args: str | Path, stdin: str | None = None, timeout: float = 300) -> Run:
    """`deskterm --home HOME --now NOW ARGS` in a child process; no traceback may reach stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("DESKTERM_HOME", "DESKTERM_NOW")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-c", _MEASURED, peak.name, "--home", str(home), "--now", NOW,
                                  *map(str, args)], stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                 stdout=out, stderr=err, env={**env, **ENV})
        if stdin is not None:
            child.stdin.write(stdin.encode("utf-8"))
            child.stdin.close()
        watchdog = threading.Timer(timeout, child.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        own_peak = peak.read().strip()
        run = Run(child.returncode, out.read().decode("utf-8"), err.read().decode("utf-8"),
                  (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
                  int(own_peak) / 1024 if own_peak else usage.ru_maxrss / 1024, usage.ru_maxrss / 1024, wall)
    assert "Traceback" not in run.err, run.err
    assert run.code in (0, 1, 2), (run.code, run.err)  # never killed, never an unexpected error's code
    assert "unexpected error" not in run.err, run.err
    return run


def query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(f"file:{home / 'deskterm.db'}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def workspace(tmp_path: Path, config: str = "") -> Path:
    home = tmp_path / "ws"
    home.mkdir()
    (home / "config.toml").write_text(f'own_addresses = ["{SELLER}"]\n' + config)
    return home


def message(sender: str, subject: str, body: str, message_id: str, *, to: str = SELLER,
            extra: str = "") -> bytes:
    return (f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: {message_id}\nDate: {DATE}\n{extra}"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n").encode()


def relay_body(words: str) -> str:
    return f"------------- Begin message -------------\n\n{words}\n\n------------- End message -------------\n"


# -- 18. MIME bombs ---------------------------------------------------------------------------------
BOMB_SENDER = b"From: bomb@example.com\nTo: support@alpinekitchen.example\n"


def nested(depth: int, declare=lambda level: b'boundary="b%d"' % level) -> bytes:
    head = BOMB_SENDER + b"Subject: deep\nMessage-ID: <deep-%d@x>\nMIME-Version: 1.0\n" % depth
    return head + b"".join(b"Content-Type: multipart/mixed; %s\n\n--b%d\n" % (declare(level), level)
                           for level in range(depth)) + b"Content-Type: text/plain\n\nhi\n"


def many_parts(count: int, declare: bytes = b'boundary="p"', boundary: bytes = b"p", eol: bytes = b"\n") -> bytes:
    head = (BOMB_SENDER + b"Subject: parts\nMessage-ID: <parts@x>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
            + declare + b"\n\n").replace(b"\n", eol)
    part = b"--" + boundary + eol + b"Content-Type: text/plain" + eol + eol + b"x" + eol
    return head + part * count + b"--" + boundary + b"--" + eol


def encoded_words(count: int) -> bytes:
    subject = b" ".join(b"=?UTF-8?Q?w%d?=" % n for n in range(count))
    return BOMB_SENDER + b"Subject: " + subject + b"\nMessage-ID: <words@x>\n\nbody\n"


def write_big_base64(handle, megabytes: int,
                     head: bytes = BOMB_SENDER + b"Subject: big\nMessage-ID: <big@x>\n") -> None:
    """A message with a `megabytes` MB attachment, base64, streamed to `handle` (never held whole)."""
    handle.write(head + b'MIME-Version: 1.0\nContent-Type: multipart/mixed;'
                 b' boundary="z"\n\n--z\nContent-Type: text/plain\n\nsee attached\n--z\nContent-Type: '
                 b'application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; '
                 b'filename="big.bin"\n\n')
    block = base64.encodebytes(os.urandom(57 * 1024 * 16))  # 16 x 57 KB of data per write, 76-column lines
    for _ in range(megabytes * 1024 * 1024 // (57 * 1024 * 16)):
        handle.write(block)
    handle.write(b"--z--\n")


BOMBS = {  # name: (message, or a function writing it to a handle; what the refusal says)
    "nesting-1000": (lambda: nested(1000), "multiparts"),
    "nesting-5000": (lambda: nested(5000), "multiparts"),
    "parts-50000": (lambda: many_parts(50_000), "MIME parts"),
    "base64-100MB": (lambda handle: write_big_base64(handle, 100), "the limit is 52,428,800"),
    "encoded-words-100000": (lambda: encoded_words(100_000), "header block too large"),
    # ways around the pre-scan: boundaries it did not recognise, lines it did not count
    "nesting-1000-rfc2231-boundaries": (lambda: nested(1000, lambda level: b"boundary*=us-ascii''b%d" % level),
                                        "multiparts"),
    "parts-50000-rfc2231-boundary": (lambda: many_parts(50_000, b"boundary*=''p"), "MIME parts"),
    "parts-50000-continued-boundary": (lambda: many_parts(50_000, b'boundary*0="p"'), "MIME parts"),
    "parts-50000-300-character-boundary": (lambda: many_parts(50_000, b'boundary="' + b"q" * 300 + b'"', b"q" * 300),
                                           "MIME parts"),
    "parts-50000-cr-line-ends": (lambda: many_parts(50_000, eol=b"\r"), "MIME parts"),
    "parts-50000-crlf-line-ends": (lambda: many_parts(50_000, eol=b"\r\n"), "MIME parts"),
}


def mbox_around(path: Path, bomb) -> int:
    """An mbox: an ordinary message, the bomb, another ordinary message. Returns the bomb's line."""
    with open(path, "wb") as handle:
        first = SEPARATOR + message("ann@example.com", "fine 1", "ok", "<fine1@x>") + b"\n"
        handle.write(first)
        handle.write(SEPARATOR)
        if callable(bomb) and bomb.__code__.co_argcount == 1:
            bomb(handle)
        else:
            handle.write(bomb() if callable(bomb) else bomb)
        handle.write(b"\n\n" + SEPARATOR + message("bob@example.com", "fine 2", "ok", "<fine2@x>") + b"\n")
    return first.count(b"\n") + 1


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_mime_bomb_is_refused_within_the_ceilings_and_the_batch_goes_on(tmp_path: Path, name: str) -> None:
    make, reason = BOMBS[name]
    mbox = tmp_path / f"{name}.mbox"
    line = mbox_around(mbox, make)
    size = mbox.stat().st_size
    home = workspace(tmp_path)
    run = deskterm(home, "import", mbox, "--json")
    print(f"\n{name}: {size / 1e6:.1f} MB mbox, import cpu {run.cpu:.2f} s, peak rss {run.rss_mb:.0f} MB "
          f"(ru_maxrss {run.maxrss_mb:.0f} MB), wall {run.wall:.2f} s")
    mbox.unlink()  # the 100 MB one is not kept
    assert run.code == 1, run.err
    document = run.json()
    assert document["imported"] == {"messages": 2}
    [rejected] = document["rejected"]
    assert (rejected["file"], rejected["line"]) == (str(mbox), line)
    assert reason in rejected["reason"], rejected["reason"]
    assert run.cpu <= CPU_CEILING and max(run.rss_mb, run.maxrss_mb) <= RSS_CEILING_MB
    quarantined = deskterm(home, "quarantine", "--json").json()
    assert [(q["kind"], q["source"], q["line"]) for q in quarantined] == [("mail", str(mbox), line)]
    raw = quarantined[0]["raw"]
    assert raw.startswith("From: bomb@example.com")
    if size > 50 * 1024 * 1024:  # past the size limit only its head is kept, and where the whole one is
        assert len(raw) <= 1024 * 1024 and f"still in {mbox} at line {line}" in rejected["reason"]
    else:  # kept raw, whole: the mbox less the two ordinary messages
        assert len(raw.encode()) > size - 1000
    queue = deskterm(home, "queue", "--all", "--json").json()
    assert sorted(t["subject"] for t in queue) == ["fine 1", "fine 2"]


def test_limits_refuse_no_ordinary_mail(tmp_path: Path) -> None:
    """The pre-scan's counts must not catch ordinary mail: CRLF line ends with a 2 MB photo (the header
    block was measured to the end of the message), an RFC 2231 boundary, a 45 MB message, bare CR."""
    photo = os.urandom(2 * 1024 * 1024)
    crlf = (b"From: Jo <jo@example.com>\r\nTo: " + SELLER.encode() + b"\r\nSubject: photo\r\nMessage-ID: <crlf@x>\r\n"
            b"Date: " + DATE.encode() + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
            b"--q\r\nContent-Type: text/plain\r\n\r\nsee the photo, =?x?= marks\r\n--q\r\nContent-Type: image/jpeg\r\n"
            b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.jpg\"\r\n\r\n"
            + base64.encodebytes(photo).replace(b"\n", b"\r\n") + b"--q--\r\n")
    rfc2231 = (b"From: kim@example.com\nSubject: parts\nMessage-ID: <r2231@x>\nMIME-Version: 1.0\n"
               b"Content-Type: multipart/mixed; boundary*=us-ascii''%41b\n\n--Ab\nContent-Type: text/plain\n\nfirst\n"
               b"--Ab\nContent-Type: text/plain\n\nsecond\n--Ab--\n")
    bare_cr = b"From: cr@example.com\rSubject: old mac\rMessage-ID: <cr@x>\r\rline one\rline two\r"
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "crlf.eml").write_bytes(crlf)
    (folder / "rfc2231.eml").write_bytes(rfc2231)
    (folder / "cr.eml").write_bytes(bare_cr)
    with open(folder / "large.eml", "wb") as handle:  # 45 MB of base64: under the 50 MB limit
        write_big_base64(handle, 33, b"From: lee@example.com\nTo: " + SELLER.encode() + b"\nMessage-ID: <large@x>\n")
    home = workspace(tmp_path)
    run = deskterm(home, "import", folder, "--json")
    print(f"\nordinary mail incl. 45 MB: import cpu {run.cpu:.2f} s, peak rss {run.rss_mb:.0f} MB "
          f"(ru_maxrss {run.maxrss_mb:.0f} MB), wall {run.wall:.2f} s")
    assert run.code == 0 and run.json() == {"imported": {"messages": 4}, "duplicates": {}, "rejected": []}, run.out
    assert max(run.rss_mb, run.maxrss_mb) <= RSS_CEILING_MB
    bodies = dict(query(home, "SELECT message_id, body FROM messages"))
    assert bodies["<r2231@x>"] == "first\n\nsecond" and bodies["<crlf@x>"] == "see the photo, =?x?= marks"
    assert "line one" in bodies["<cr@x>"] and "line two" in bodies["<cr@x>"]
    sizes = sorted(size for (size,) in query(home, "SELECT size FROM attachments"))
    assert sizes[0] == len(photo) and sizes[1] > 30 * 1024 * 1024


# -- 19. charsets -----------------------------------------------------------------------------------
def part(content_type: str, charset: str | None, data: bytes, encoding: str = "8bit", extra: str = "") -> bytes:
    head = f"Content-Type: {content_type}" + (f'; charset="{charset}"' if charset else "")
    if encoding == "base64":
        data = base64.encodebytes(data)
    return f"{head}\nContent-Transfer-Encoding: {encoding}\n{extra}\n".encode() + data + b"\n"


def charset_mail(number: int, subject: bytes, parts: list[bytes], *, sender: bytes | None = None,
                 kind: bytes = b"mixed") -> bytes:
    head = (b"From: " + (sender or b"c%d@example.com" % number) + b"\nTo: " + SELLER.encode() + b"\nSubject: " + subject
            + b"\nMessage-ID: <cs-%d@x>\nDate: " % number + DATE.encode() + b"\nMIME-Version: 1.0\n")
    if len(parts) == 1:
        return head + parts[0]
    return (head + b'Content-Type: multipart/' + kind + b'; boundary="B"\n\n'
            + b"".join(b"--B\n" + p for p in parts) + b"--B--\n")


def b_word(charset: str, text: str) -> bytes:
    return f"=?{charset}?B?".encode() + base64.b64encode(text.encode(charset)) + b"?="


FFFD = "\ufffd"
# (subject, parts, extras) -> expected subject, pieces every one of which the shown body holds,
# pieces it must not hold
CHARSETS = [
    (b"=?x-no-such?Q?Caf=E9?=", [part("text/plain", "x-no-such", b"Caf\xe9 one"),
                                 part("text/html", "x-bogus", b"<p>Caf\xe9 <b>two</b></p>")],
     f"Caf{FFFD}", [f"Caf{FFFD} one", f"Caf{FFFD} two"], []),
    (b"=?idna?Q?Caf=E9?=", [part("text/plain", "idna", b"Caf\xe9 idna"),
                            part("text/plain", "undefined", b"und\xe9fined"),
                            part("text/plain", "utf\x00", b"nul name")],
     f"Caf{FFFD}", [f"Caf{FFFD} idna", f"und{FFFD}fined", "nul name"], []),
    (b"=?ISO-8859-1?Q?Caf=C3=A9?=", [part("text/plain", "iso-8859-1", "Café three".encode())],  # UTF-8 called latin-1
     "Café", ["Café three"], ["Ã"]),
    (b"=?UTF-8?Q?Caf=E9?=", [part("text/plain", "utf-8", "Café four".encode("latin-1"))],  # latin-1 called UTF-8
     f"Caf{FFFD}", [f"Caf{FFFD} four"], []),
    (b"=?ISO-8859-1?Q?Caf=E9?=", [part("text/plain", "iso-8859-1", "Café really latin-1".encode("latin-1"))],
     "Café", ["Café really latin-1"], []),
    (b"=?windows-1252?Q?=80_5?=", [part("text/plain", "windows-1252", "€ 5 “quoted”".encode("cp1252"))],
     "€ 5", ["€ 5 “quoted”"], []),
    (b"=?us-ascii?Q?Caf=C3=A9?=", [part("text/plain", "us-ascii", "Café ascii".encode())], "Café", ["Café ascii"],
     []),
    (b"=?UTF-8?B?" + base64.b64encode(b"bad \xff\xfe end") + b"?=",
     [part("text/plain", "utf-8", b"bad \xff\xfe five", "base64")], f"bad {FFFD}{FFFD} end", [f"bad {FFFD}{FFFD} five"],
     []),
    (b"=?UTF-7?Q?+AOk-t+AOk-?=", [part("text/plain", "utf-7", "été six".encode("utf-7"))], "été", ["été six"],
     []),
    (b_word("gb18030", "你好"), [part("text/plain", "gb18030", "你好 seven".encode("gb18030")),
                                part("text/html", "gb18030", "<b>中文</b> eight".encode("gb18030"), "base64")],
     "你好", ["你好 seven", "中文 eight"], []),
    (b_word("iso-2022-jp", "こんにちは"),
     [part("text/plain", "iso-2022-jp", "こんにちは nine".encode("iso-2022-jp"), "7bit")],
     "こんにちは", ["こんにちは nine"], ["\x1b"]),
    ("Grüße raw 8-bit".encode(), [part("text/plain", None, "ünlabelled ten".encode())], "Grüße raw 8-bit",
     ["ünlabelled ten"], []),
    ("Grüße =?UTF-8?Q?und_mehr?= =?UTF-8?Q?_Gr=C3?= =?UTF-8?Q?=BC=C3=9Fe?=".encode(),  # raw 8-bit beside words
     [part("text/plain", None, b"x")],
     "Grüße und mehr Grüße", [], []),
    (b"=?UTF-8?B?@@@?= kept", [part("text/plain", "utf-8", b"@@@@ thirteen", "base64")], "=?UTF-8?B?@@@?= kept",
     [], []),
    (b"text, photo, text", [part("text/plain", "utf-8", b"first eleven"), part("image/png", None, b"PNG", "base64"),
                            part("text/plain", "iso-8859-1", b"second tw\xe9lve")],
     "text, photo, text", ["first eleven", "second twélve"], []),
    (b"html only", [part("text/html", "iso-8859-1", b"<p>Gr\xfc&szlig;e &amp; <i>mehr</i></p>")], "html only",
     ["Grüße & mehr"], ["<p>"]),
    (b"\x1b$B$3$s$K$A$O\x1b(B raw iso-2022-jp", [part("text/plain", None, b"x")], None, [], ["\x1b"]),
]
ALTERNATIVE = [part("text/plain", "utf-8", "Plain version ✓".encode()),
               part("text/html", "utf-8", "<p>HTML version ✓</p>".encode())]


def test_every_part_is_shown_in_any_charset(tmp_path: Path) -> None:
    folder = tmp_path / "charsets"
    folder.mkdir()
    for number, (subject, parts, *_rest) in enumerate(CHARSETS):
        (folder / f"{number:02d}.eml").write_bytes(charset_mail(number, subject, parts))
    alternative = len(CHARSETS)
    (folder / "alt.eml").write_bytes(charset_mail(alternative, b"alternative", ALTERNATIVE, kind=b"alternative"))
    (folder / "name.eml").write_bytes(charset_mail(alternative + 1, b"names", [part("text/plain", None, b"hi")],
                                                   sender="Jürgen Müller <jm@example.de>".encode()))
    home = workspace(tmp_path)
    run = deskterm(home, "import", folder, "--json")
    assert run.code == 0 and run.json()["imported"] == {"messages": len(CHARSETS) + 2} and not run.json()["rejected"]
    shown = {}
    for (ticket,) in query(home, "SELECT id FROM tickets ORDER BY id"):
        document = deskterm(home, "show", str(ticket), "--json").json()
        assert deskterm(home, "show", str(ticket)).code == 0  # the human view too
        [shown_message] = document["messages"]
        shown[shown_message["message_id"]] = shown_message
    for number, (_subject, _parts, subject, pieces, absent) in enumerate(CHARSETS):
        got = shown[f"<cs-{number}@x>"]
        if subject is not None:
            assert got["subject"] == subject, (number, got["subject"])
        for piece in pieces:
            assert piece in got["body"], (number, piece, got["body"])
        for piece in absent:
            assert piece not in got["body"] and piece not in got["subject"], (number, piece)
    assert shown[f"<cs-{alternative}@x>"]["body"] == "Plain version ✓"  # one version of an alternative, not both
    assert shown[f"<cs-{alternative + 1}@x>"]["sender"] == "jm@example.de"
    assert "Jürgen Müller" in deskterm(home, "show", str(ticket_of(home, f"<cs-{alternative + 1}@x>"))).out
    photo = shown[f"<cs-{[c[2] for c in CHARSETS].index('text, photo, text')}@x>"]
    assert [a["content_type"] for a in photo["attachments"]] == ["image/png"]


# -- 20, 21. replies: header injection and address tricks, sent to a real SMTP server -----------------
@pytest.fixture
def mail_home(tmp_path: Path, dovecot, smtp_server) -> tuple[Path, str]:
    """A workspace whose e-mail channel reads a fresh Dovecot user and sends to aiosmtpd; and the user."""
    user = dovecot.new_user()
    home = workspace(tmp_path, f'undo_seconds = 0\n\n[channels.buyer-mail]\nkind = "imap"\nhost = "127.0.0.1"\n'
                               f'port = {dovecot.port}\nsecurity = "none"\nusername = "{user}"\n'
                               f'password_env = "DESKTERM_TEST_IMAP_PASSWORD"\nmailboxes = ["INBOX"]\n'
                               f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp_server.port}\nsmtp_security = "none"\n'
                               f'from = "{SELLER}"\n')
    return home, user


def sync(home: Path) -> dict:
    run = deskterm(home, "sync", "once", "--json")
    assert run.code == 0, run.out + run.err
    return run.json()["channels"]["buyer-mail"]


def reply(home: Path, ticket: int, text: str) -> Run:
    assert deskterm(home, "show", str(ticket)).code == 0  # what an agent does first (the collision check)
    return deskterm(home, "reply", str(ticket), "--body-file", "-", "--json", stdin=text)


def import_mails(home: Path, tmp_path: Path, mails: list[bytes]) -> None:
    folder = tmp_path / f"in-{len(list(tmp_path.glob('in-*')))}"
    folder.mkdir()
    for number, raw in enumerate(mails):
        (folder / f"{number:03d}.eml").write_bytes(raw)
    run = deskterm(home, "import", folder, "--json")
    assert run.code == 0 and not run.json()["rejected"], run.out


def ticket_of(home: Path, message_id: str) -> int:
    return query(home, "SELECT ticket_id FROM messages WHERE message_id = ?", (message_id,))[0][0]


EXPECTED_REPLY_HEADERS = sorted(["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                                 "MIME-Version", "Content-Type", "Content-Transfer-Encoding"])
INJECTED = "Bcc: evil@x.example"
# Subjects as they arrive (raw header bytes after `Subject: `)
SUBJECTS = {
    "encoded-lf": b"=?UTF-8?Q?Hi=0ABcc:_evil@x.example?=",
    "encoded-crlf": b"=?UTF-8?Q?Hi=0D=0ABcc:_evil@x.example=0D=0AX-Injected:_1?=",
    "encoded-blank-line": b_word("utf-8", "Hi\r\n\r\nBcc: evil@x.example\r\n\r\nbody injected"),
    "research-form": b"=?UTF-8?Q?=0A?=Bcc: evil@x.example",
    "folded": b"Where is it\n Bcc: evil@x.example\n\tX-Injected: 1",
    "bare-cr": b"Hi\rBcc: evil@x.example",
    "unicode-line-breaks": b"=?UTF-8?Q?Hi=E2=80=A8Bcc:_evil@x.example=C2=85X-Injected:_1=E2=80=A9=1C=1D=1E?=",
    "raw-8bit-line-breaks": "Hi\u2028Bcc: evil@x.example\x85X-Injected: 1".encode(),
    "long": b"=?UTF-8?Q?" + b"A" * 900 + b"=0ABcc:_evil@x.example_" + b"B" * 900 + b"?=",
    "nul-esc": b"=?UTF-8?Q?Hi=00=1B]0;x=07=0D=0ABcc:_evil@x.example?=",
}


def relay_message(key: str, subject: bytes, number: int, *, name: bytes = b"Jo") -> tuple[bytes, str, str]:
    order = f"111-{number:07d}-0000001"
    relay = f"buyer{number:03d}x@marketplace.amazon.com"
    raw = (b'From: "' + name + b' - Amazon Marketplace" <' + relay.encode() + b">\nTo: " + SELLER.encode()
           + b"\nSubject: " + subject + b"\nMessage-ID: <inj-" + key.encode() + b"@marketplace.amazon.com>\nDate: "
           + DATE.encode() + b"\nReferences: <a@b>\n\tBcc: evil@x.example\nContent-Type: text/plain; charset=utf-8\n\n"
           + relay_body(f"Where is my order {order}?").encode())
    return raw, order, relay


def test_reply_headers_carry_nothing_a_buyer_injected(mail_home, tmp_path: Path, dovecot, smtp_server) -> None:
    home, user = mail_home
    cases, mails = {}, []
    for number, (key, subject) in enumerate(SUBJECTS.items(), start=1):
        raw, order, relay = relay_message(key, subject, number)
        cases[key] = (order, relay)
        mails.append(raw)
    raw, order, relay = relay_message("display-name", b"Order question", 90,
                                      name=b"=?UTF-8?Q?Jo=0D=0ABcc:_evil@x.example=0D=0A?=")
    cases["display-name"] = (order, relay)
    mails.append(raw)
    eve = ("=?UTF-8?Q?Eve=0ABcc=3A_evil=40x.example?= <eve@customer.example>",
           "=?UTF-8?Q?Help=0D=0ABcc:_evil@x.example?=")
    mails.append(message(eve[0], eve[1], "Hello", "<inj-email@customer.example>"))
    # half of them over IMAP (the sync's own ingest), half imported from files
    dovecot.append(user, [m.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") for m in mails[::2]])
    pulled = sync(home)
    assert pulled["ok"] and pulled["fetched"]["messages"] == len(mails[::2]), pulled
    import_mails(home, tmp_path, mails[1::2])
    expected = {}
    for key, (order, relay) in cases.items():
        ticket = ticket_of(home, f"<inj-{key}@marketplace.amazon.com>")
        run = reply(home, ticket, f"Your order {order} left our warehouse today.")
        assert run.code == 0, (key, run.err)
        expected[run.json()["message_id"]] = (key, [relay])
    run = reply(home, ticket_of(home, "<inj-email@customer.example>"), "We are on it.")
    assert run.code == 0, run.err
    expected[run.json()["message_id"]] = ("email", ["eve@customer.example"])
    sent = sync(home)
    assert sent["sent"] == len(expected), sent
    assert len(smtp_server.received) == len(expected)
    for raw, (_sender, recipients) in zip(smtp_server.received, smtp_server.envelopes):
        received = email.message_from_bytes(raw, policy=policy.default)
        key, wanted = expected[received["Message-ID"]]
        assert recipients == wanted, key
        assert sorted(received.keys()) == EXPECTED_REPLY_HEADERS, (key, received.keys())
        assert received.defects == [] and all(not received[h].defects for h in received.keys()), key
        lines = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].split(b"\n")
        assert not [line for line in lines if line.lower().startswith((b"bcc", b"x-injected"))], key
        assert all(len(line) <= 998 and b"\r" not in line and b"\x00" not in line for line in lines), key
        subject = str(received["Subject"])
        assert subject.startswith("Re: ") and not any(c in subject for c in "\r\n\x00\x1b\x85\u2028\u2029"), key
        assert received["To"].addresses[0].addr_spec == wanted[0] and len(received["To"].addresses) == 1
        assert received["References"].split() == [t for t in received["References"].split() if t.startswith("<")]
    assert sync(home)["sent"] == 0 and len(smtp_server.received) == len(expected)  # each exactly once


RELAY = "ann7k2x@marketplace.amazon.com"
ORDER = "112-5555555-0000001"
# From headers of messages that answer the Amazon thread (In-Reply-To its first message): whatever they
# say, the ticket's replies go to the relay address it was opened with.
FOLLOW_UPS = [
    f'"{RELAY}" <mallory@decoy.example>',
    f"{RELAY}<mallory@decoy.example>",
    f"<mallory@decoy.example>{RELAY}",
    f"mallory@decoy.example, {RELAY}",
    f"mallory@decoy.example ({RELAY})",
    f"{RELAY})<mallory@decoy.example>",
]
# Messages of their own: the address an RFC 5322 reading gives (replies go there, at sender.example),
# or None where the header reads two ways (no reply may be queued: `decoy.example` must never get one).
FROMS = [
    ('"alice@decoy.example" <bob@sender.example>', "bob@sender.example"),
    ("alice@decoy.example<bob@sender.example>", None),
    ('"a@decoy.example"@sender.example', None),
    ("alice@decoy.example)<bob@sender.example>", None),
    ("bob@sender.example (alice <alice@decoy.example>)", "bob@sender.example"),
    ('"Alice <alice@decoy.example>" <bob@sender.example>', "bob@sender.example"),
    ("bob(x@decoy.example)@sender.example", "bob@sender.example"),
    ('"alice@decoy.example" bob@sender.example', None),
    ("<alice@decoy.example>bob@sender.example", None),
    ("bob@sender.example;alice@decoy.example", None),
    ("bob@sender.example <alice@decoy.example", None),
    ("@decoy.example:bob@sender.example", None),
    ("bob@sender.example\x00alice@decoy.example", None),
    ("=?utf-8?q?alice=40decoy.example?= <bob@sender.example>", "bob@sender.example"),
    ('"bob@sender.example>, <alice@decoy.example" <carol@sender.example>', "carol@sender.example"),
    ('"x@marketplace.amazon.com" <bob@sender.example>', "bob@sender.example"),
    ("x@marketplace.amazon.com<alice@decoy.example>", None),
    ("bob@sender.example\n (comment)", "bob@sender.example"),
    ("alice@[192.0.2.1]", None),
    ("=?UTF-8?Q?Bob=0ABcc:_alice@decoy.example?= <bob@sender.example>", None),  # `:` unencoded: a group to a parser
    ("=?UTF-8?Q?Bob=0ABcc=3A_alice=40decoy.example?= <bob@sender.example>", "bob@sender.example"),
]


def test_replies_reach_only_the_threads_own_address(mail_home, tmp_path: Path, smtp_server) -> None:
    home, _user = mail_home
    thread = [message(f'"Ann - Amazon Marketplace" <{RELAY}>', f"Inquiry from Amazon customer Ann (Order: {ORDER})",
                      relay_body(f"My order {ORDER} has not arrived."), "<ann-1@marketplace.amazon.com>")]
    for number, sender in enumerate(FOLLOW_UPS):
        thread.append(message(sender, f"Re: order {ORDER}", f"Send the refund to my other account. {ORDER}",
                              f"<follow-{number}@decoy.example>", to=f"{RELAY}, {SELLER}",
                              extra="In-Reply-To: <ann-1@marketplace.amazon.com>\n"))
    # someone else writing to the buyer's relay address, copying us: not our reply
    thread.append(message("mallory@decoy.example", f"Re: order {ORDER}", "Refund issued, case closed.",
                          "<fake-reply@decoy.example>", to=RELAY, extra=f"Cc: {SELLER}\n"))
    import_mails(home, tmp_path, thread)
    import_mails(home, tmp_path, [message(sender, f"Question {number}", "Hello, a question.",
                                          f"<from-{number}@sender.example>")
                                  for number, (sender, _) in enumerate(FROMS)])
    ticket = ticket_of(home, "<ann-1@marketplace.amazon.com>")
    shown = deskterm(home, "show", str(ticket), "--json").json()
    assert {m["direction"] for m in shown["messages"]} == {"inbound"}  # no outsider's mail counts as our reply
    assert ticket in [t["ticket_id"] for t in deskterm(home, "queue", "--json").json()]  # still waiting for us
    run = reply(home, ticket, f"Your order {ORDER} is on its way; we never refund to other accounts.")
    assert run.code == 0, run.err
    expected = {run.json()["message_id"]: RELAY}
    refused = []
    for number, (sender, address) in enumerate(FROMS):
        ticket = ticket_of(home, f"<from-{number}@sender.example>")
        channel = query(home, "SELECT channel FROM tickets WHERE id = ?", (ticket,))[0][0]
        assert channel == "email", sender  # a relay address in a display name or beside another is no buyer
        run = reply(home, ticket, "Thank you, we are looking into it.")
        if address is None:
            assert run.code == 2 and "address" in run.err, (sender, run.out, run.err)
            refused.append(sender)
        else:
            assert run.code == 0, (sender, run.err)
            expected[run.json()["message_id"]] = address
    sent = sync(home)
    assert sent["sent"] == len(expected), sent
    delivered = {}
    for raw, (_sender, recipients) in zip(smtp_server.received, smtp_server.envelopes):
        received = email.message_from_bytes(raw, policy=policy.default)
        delivered[received["Message-ID"]] = recipients
        assert [a.addr_spec for a in received["To"].addresses] == recipients
    assert delivered == {message_id: [address] for message_id, address in expected.items()}
    domains = {r.rpartition("@")[2] for recipients in delivered.values() for r in recipients}
    assert domains <= {"marketplace.amazon.com", "sender.example"}, domains
    print(f"\n{len(delivered)} replies delivered, {len(refused)} refused for an ambiguous address")


def test_bombs_over_imap_are_quarantined_and_the_sync_goes_on(mail_home, dovecot) -> None:
    home, user = mail_home
    crlf = [m.replace(b"\n", b"\r\n") for m in (
        message("ann@example.com", "fine 1", "ok", "<imap-fine1@x>"), nested(5000), many_parts(50_000),
        many_parts(50_000, b"boundary*=''p"), encoded_words(100_000), message("bob@example.com", "fine 2", "ok",
                                                                              "<imap-fine2@x>"))]
    dovecot.append(user, crlf)
    run = deskterm(home, "sync", "once", "--json")
    print(f"\nsync of 4 bombs + 2 messages: cpu {run.cpu:.2f} s, peak rss {run.rss_mb:.0f} MB "
          f"(ru_maxrss {run.maxrss_mb:.0f} MB), wall {run.wall:.2f} s")
    assert run.code == 0, run.err
    channel = run.json()["channels"]["buyer-mail"]
    assert channel["ok"] and channel["fetched"] == {"messages": 2, "quarantined": 4}, channel
    assert run.cpu <= 4 * CPU_CEILING and max(run.rss_mb, run.maxrss_mb) <= RSS_CEILING_MB
    quarantined = deskterm(home, "quarantine", "--json").json()
    assert [(q["source"], q["line"]) for q in quarantined] == [("buyer-mail/INBOX", uid) for uid in (2, 3, 4, 5)]
    assert all(q["raw"].startswith("From: bomb@example.com") for q in quarantined)
    again = deskterm(home, "sync", "once", "--json").json()["channels"]["buyer-mail"]
    assert again["fetched"] == {"messages": 0, "quarantined": 0} or again["fetched"] == {}, again


# -- 22, 23. attachment names and sizes in evidence folders and saved attachments --------------------
HOSTILE_NAMES = [
    "../../../outside.txt", "/etc/cron.d/evil", "..\\..\\win.ini", "invoice.pdf\x00.exe", "a" * 300 + ".pdf",
    "写真" * 150 + ".jpg", "😀" * 100 + ".png", "CON", "nul.txt", "COM1.jpg", "LPT\u00b9.pdf", "aux.tar.gz", ".", "..",
    "", "...", "report.pdf. . .", "trailing space ", "photo\u202egpj.exe", "\u2066invoice\u2069.pdf",
    "ＦＵＬＬ／ｗｉｄｔｈ.pdf", "\u2024\u2024\uff0foutside2.txt", "cafe\u0301.pdf", "caf\u00e9.pdf", "\ufb01le.pdf",
    "\x1b]52;c;cHduZWQ=\x07.txt", ".bashrc", "~/.ssh/authorized_keys", "%2e%2e%2foutside3", "x/../../y.txt",
    "name\r\nContent-Type: text/html.txt", "keep.txt", "linked.txt",
]
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)), *(f"LPT{n}" for n in range(10))}


def attachments_mail(names: list[str], message_id: str, *, big: bytes | None = None) -> bytes:
    parts = [part("text/plain", "utf-8", b"Photos of the damage attached.")]
    for number, name in enumerate(names):
        if number % 2 or any(ord(c) < 32 for c in name) or '"' in name:  # RFC 2231, any byte
            disposition = "attachment; filename*=UTF-8''" + urllib.parse.quote(name, safe="")
        else:  # a quoted name, raw UTF-8
            disposition = 'attachment; filename="' + name.replace("\\", "\\\\") + '"'
        parts.append(f"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
                     f"Content-Disposition: {disposition}\n\n".encode("utf-8")
                     + base64.encodebytes(b"attachment %d" % number) + b"\n")
    if big is not None:
        parts.append(b'Content-Type: image/jpeg\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; '
                     b'filename="huge.jpg"\n\n' + base64.encodebytes(big) + b"\n")
    return (b"From: Kim <kim@customer.example>\nTo: " + SELLER.encode() + b"\nSubject: damaged\nMessage-ID: "
            + message_id.encode() + b"\nDate: " + DATE.encode() + b'\nMIME-Version: 1.0\nContent-Type: multipart/mixed;'
            b' boundary="B"\n\n' + b"".join(b"--B\n" + p for p in parts) + b"--B--\n")


def snapshot(root: Path, skip: list[Path]) -> dict[str, tuple]:
    """Every entry under root (symlinks not followed): type, and content hash and mode, or link target."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            if any(path == s or s in path.parents for s in skip):
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[str(path.relative_to(root))] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[str(path.relative_to(root))] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                found[str(path.relative_to(root))] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(),
                                                      stat.S_IMODE(info.st_mode))
    return found


def check_written(folder: Path, files: list[Path]) -> None:
    """Each file: inside `folder`, a regular file (no symlink), mode 0600, a harmless name."""
    for path in files:
        info = os.lstat(path)
        assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600, path
        assert path.resolve().parent == folder.resolve(), path
        name = path.name
        assert len(name.encode()) <= 255 and not name.startswith(".") and name == name.strip(" ."), name
        assert not any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name), name
        assert name.split(".")[0].upper() not in WINDOWS_RESERVED, name
        assert unicodedata.normalize("NFKC", name) == name and "/" not in name and "\\" not in name, name


def plant(tmp_path: Path) -> tuple[Path, Path]:
    """An `outside` folder a symlink points at, and the folder things are saved to, with a file of the
    user's and symlinks named as deskterm would name its files."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not touch")
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "keep.txt").write_text("the user's own file")
    (folder / "linked.txt").symlink_to(outside / "secret.txt")
    (folder / "outside.txt").symlink_to(outside / "pwned.txt")      # dangling: would create a file outside
    (folder / "win.ini").symlink_to("../outside/pwned2.txt")
    (folder / "subdir-link").symlink_to(outside)
    (tmp_path / "sibling").mkdir()
    (tmp_path / "sibling" / "notes.txt").write_text("sibling")
    return outside, folder


def test_saved_attachments_stay_in_the_folder_and_overwrite_nothing(tmp_path: Path) -> None:
    home = workspace(tmp_path)
    import_mails(home, tmp_path, [attachments_mail(HOSTILE_NAMES, "<names@customer.example>")])
    outside, folder = plant(tmp_path)
    before = snapshot(tmp_path, [home])
    from deskterm.cli import Session  # the TUI's `S` key calls this; there is no CLI command for it
    from deskterm.clock import Clock

    saved = Session(home=str(home), clock=Clock.from_setting(NOW)).actions().save_attachments(
        ticket_of(home, "<names@customer.example>"), folder)
    after = snapshot(tmp_path, [home])
    new = {key: value for key, value in after.items() if key not in before}
    assert {key: value for key, value in after.items() if key in before} == before  # nothing changed or followed
    assert all(Path(key).parent == Path("saved") for key in new), sorted(new)  # nothing outside the folder
    assert len(new) == len(saved) == len(HOSTILE_NAMES)  # every attachment, none overwritten
    check_written(folder, saved)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert {p.read_bytes() for p in saved} == {b"attachment %d" % n for n in range(len(HOSTILE_NAMES))}


def test_evidence_folder_of_hostile_attachments(tmp_path: Path) -> None:
    home = workspace(tmp_path)
    import_mails(home, tmp_path, [attachments_mail(HOSTILE_NAMES, "<names@customer.example>")])
    ticket = ticket_of(home, "<names@customer.example>")
    outside, out = plant(tmp_path)
    name = f"ticket-{ticket}_conversation_no-order"
    (out / f"{name}.zip").symlink_to(outside / "secret.txt")  # the zip's place, planted
    before = snapshot(tmp_path, [home])
    run = deskterm(home, "evidence", "build", "--ticket", str(ticket), "--out", out, "--zip", "--json")
    assert run.code == 0, run.err
    folder = Path(run.json()["path"])
    assert folder == out / name and not folder.is_symlink()
    after = snapshot(tmp_path, [home, folder])
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    # the planted link was replaced by the zip, not followed; nothing else changed
    assert changed == {f"saved/{name}.zip"} and after[f"saved/{name}.zip"][0] == "file"
    assert (outside / "secret.txt").read_text() == "do not touch" and sorted(os.listdir(outside)) == ["secret.txt"]
    everything = [p for p in folder.rglob("*")]
    assert not [p for p in everything if p.is_symlink()]
    attachments = sorted((folder / f"conversation/ticket-{ticket}/attachments").iterdir())
    check_written(folder / f"conversation/ticket-{ticket}/attachments", attachments)
    check_written(folder, [p for p in folder.iterdir() if p.is_file()])
    assert len(attachments) == len(HOSTILE_NAMES)  # none lost, none overwritten
    assert {p.read_bytes() for p in attachments} == {b"attachment %d" % n for n in range(len(HOSTILE_NAMES))}
    assert deskterm(home, "evidence", "verify", folder).code == 0


def test_attachments_over_the_cap_are_named_not_copied(tmp_path: Path) -> None:
    home = workspace(tmp_path)
    big = os.urandom(11 * 1024 * 1024)  # over Amazon's 10 MB limit for a case attachment
    raw = attachments_mail(["small.jpg"], "<big@customer.example>", big=big)
    import_mails(home, tmp_path, [raw])
    ticket = ticket_of(home, "<big@customer.example>")
    run = deskterm(home, "evidence", "build", "--ticket", str(ticket), "--zip", "--json")
    assert run.code == 0, run.err
    folder = Path(run.json()["path"])
    assert run.json()["oversized"] == []
    assert run.json()["not_copied"] == [f"conversation/ticket-{ticket}/01.eml",
                                        f"conversation/ticket-{ticket}/attachments/01-huge.jpg"]
    files = {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    attachments = f"conversation/ticket-{ticket}/attachments"
    assert f"{attachments}/01-small.jpg" in files and not any("huge" in name for name in files)
    assert max(files.values()) < 1024 * 1024  # nor the original .eml, which carries it
    manifest = json.loads((folder / "manifest.json").read_text())
    reason = "over the 10 MB limit of a case attachment"
    assert manifest["not_copied"] == [
        {"path": f"conversation/ticket-{ticket}/01.eml", "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
         "reason": reason},
        {"path": f"{attachments}/01-huge.jpg", "size": len(big), "sha256": hashlib.sha256(big).hexdigest(),
         "reason": reason}]
    transcript = (folder / f"conversation/ticket-{ticket}/transcript.txt").read_text()
    assert f"attachment not copied: 01-huge.jpg, {len(big):,} bytes" in transcript
    assert f"original message not copied: 01.eml, {len(raw):,} bytes" in transcript
    assert deskterm(home, "evidence", "verify", folder).code == 0
