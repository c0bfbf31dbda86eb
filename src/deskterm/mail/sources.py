"""Raw messages out of mbox files, Maildir folders and `.eml` files, one at a time.

The mbox reader streams: it never holds more than one message, so a 10 GB archive imports
in constant memory (the stdlib `mailbox.mbox` builds a table of contents first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_HEADER_START = re.compile(rb"^(From|Received|Return-Path|Delivered-To|Message-ID|Date|Subject|To|MIME-Version|X-[\w-]+|Authentication-Results|DKIM-Signature|ARC-[\w-]+):", re.I)


@dataclass
class RawMessage:
    source: str        # the file as the user named it
    line: int | None   # where the message starts (mbox), for `file:line` messages
    data: bytes


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new"))


def looks_like_mbox(head: bytes) -> bool:
    return head.startswith(b"From ")


def looks_like_message(head: bytes) -> bool:
    return bool(_HEADER_START.match(head.lstrip(b"\xef\xbb\xbf")))


def read_mbox(path: Path, display: str) -> Iterator[RawMessage]:
    """Split on `From ` lines that follow a blank line; undo `>From ` quoting (mboxrd/mboxo)."""
    lines: list[bytes] = []
    start = 0
    previous_blank = True
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith(b"From ") and previous_blank:
                if lines:
                    yield RawMessage(display, start, _finish(lines))
                lines, start = [], number
            else:
                if line.startswith(b">") and _ESCAPED_FROM.match(line):
                    line = line[1:]
                lines.append(line)
            previous_blank = line in (b"\n", b"\r\n")
    if lines or start:
        yield RawMessage(display, start, _finish(lines))


def _finish(lines: list[bytes]) -> bytes:
    data = b"".join(lines)
    # The blank line before the next separator belongs to the mbox, not the message.
    if data.endswith(b"\r\n\r\n"):
        return data[:-2]
    if data.endswith(b"\n\n"):
        return data[:-1]
    return data


def read_maildir(path: Path, display: str) -> Iterator[RawMessage]:
    for sub in ("new", "cur"):
        for file in sorted((path / sub).iterdir()):
            if file.is_file() and not file.name.startswith("."):
                yield RawMessage(f"{display}/{sub}/{file.name}", None, file.read_bytes())
