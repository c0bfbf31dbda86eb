"""Hypothesis: no byte string crashes the mail importer, and the sanitizers always hold."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deskterm.cli import main
from deskterm.mail.parse import MailRejected, parse_message
from deskterm.sanitize import for_terminal, one_line, safe_filename

HEADERS = st.sampled_from([
    b"From: a@example.com\n", b"Subject: =?UTF-8?Q?a=0Ab?=\n", b"Content-Type: multipart/mixed; boundary=x\n",
    b"Content-Type: text/plain; charset=x-unknown\n", b"Content-Transfer-Encoding: base64\n",
    b"Content-Disposition: attachment; filename*=UTF-8''..%2F..%2Fx\n", b"Message-ID: <a@b>\n", b"\n", b"--x\n",
    b"--x--\n", b"Date: not a date\n", b"From: \"=?utf-8?b?////?=\" <@>\n",
])
MAIL_BYTES = st.one_of(st.binary(max_size=1500), st.lists(st.one_of(HEADERS, st.binary(max_size=40)),
                                                           max_size=30).map(b"".join))


@settings(max_examples=300, deadline=None)
@given(MAIL_BYTES)
@example(b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n")
@example(b"From: a@b\nContent-Type: text/plain; charset=utf-7\n\n+AGEAYgBj-")
def test_parse_message_returns_or_rejects(raw: bytes) -> None:
    try:
        mail = parse_message(raw)
    except MailRejected as exc:
        assert str(exc)
        return
    assert "\n" not in mail.subject and "\r" not in mail.subject
    for attachment in mail.attachments:
        assert "/" not in attachment.filename and attachment.filename not in ("", ".", "..")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MAIL_BYTES, min_size=1, max_size=4), st.booleans())
def test_mail_import_never_crashes(messages: list[bytes], as_mbox: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if as_mbox:
            path = root / "in.mbox"
            path.write_bytes(b"".join(b"From x Thu Jan  1 00:00:00 2026\n" + m + b"\n" for m in messages))
        else:
            path = root / "mail"
            path.mkdir()
            for number, message in enumerate(messages):
                (path / f"{number}.eml").write_bytes(message)
        try:
            main(["--home", str(root / "ws"), "import", str(path), "--json"])
        except SystemExit as exc:
            assert exc.code in (0, 1)


_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@given(st.text())
def test_terminal_text_has_no_control_characters(text: str) -> None:
    assert not _FORBIDDEN.search(for_terminal(text))
    assert "\n" not in one_line(text) and not _FORBIDDEN.search(one_line(text))


@given(st.text())
@example("../../etc/passwd")
@example("\uff0e\uff0e\uff0fx")
def test_safe_filename_is_one_harmless_segment(name: str) -> None:
    safe = safe_filename(name)
    assert safe and "/" not in safe and "\\" not in safe and not safe.startswith(".")
    assert not _FORBIDDEN.search(safe) and len(safe) <= 120
