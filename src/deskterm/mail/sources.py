"""Raw messages out of mbox files, Maildir folders and `.eml` files, one at a time.

The mbox reader streams: it never holds more than one message, so a 10 GB archive imports
in constant memory (the stdlib `mailbox.mbox` builds a table of contents first). A message larger
than the parser's limit is never held whole either: only its first KEPT_HEAD bytes are kept (for the
quarantine) with its real size, whether it is in an mbox, a Maildir or a `.eml` file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deskterm.mail.parse import MAX_MESSAGE_BYTES

KEPT_HEAD = 1024 * 1024  # of a message over the size limit: enough for its headers and first lines
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_HEADER_START = re.compile(rb"^(From|Received|Return-Path|Delivered-To|Message-ID|Date|Subject|To|MIME-Version|X-[\w-]+|Authentication-Results|DKIM-Signature|ARC-[\w-]+):", re.I)


@dataclass
class RawMessage:
    source: str        # the file as the user named it
    line: int | None   # where the message starts (mbox), for `file:line` messages
    data: bytes
    size: int | None = None   # set when `data` is only the head of a message over the size limit

    @property
    def oversized(self) -> bool:
        return self.size is not None and self.size > len(self.data)


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new"))


def looks_like_mbox(head: bytes) -> bool:
    return head.startswith(b"From ")


def looks_like_message(head: bytes) -> bool:
    return bool(_HEADER_START.match(head.lstrip(b"\xef\xbb\xbf")))


def read_mbox(path: Path, display: str) -> Iterator[RawMessage]:
    """Split on `From ` lines that follow a blank line; undo `>From ` quoting (mboxrd/mboxo)."""
    lines: list[bytes] = []
    size = 0           # of the message being read; past MAX_MESSAGE_BYTES only its head is kept
    start = 0
    previous_blank = True
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith(b"From ") and previous_blank:
                if lines or size:
                    yield _message(display, start, lines, size)
                lines, size, start = [], 0, number
            else:
                if line.startswith(b">") and _ESCAPED_FROM.match(line):
                    line = line[1:]
                size += len(line)
                if size <= MAX_MESSAGE_BYTES:
                    lines.append(line)
                elif size - len(line) <= MAX_MESSAGE_BYTES:  # just went over: keep the head only
                    lines = [b"".join(lines)[:KEPT_HEAD]]
            previous_blank = line in (b"\n", b"\r\n")
    if lines or start:
        yield _message(display, start, lines, size)


def _message(display: str, start: int, lines: list[bytes], size: int) -> RawMessage:
    if size > MAX_MESSAGE_BYTES:
        return RawMessage(display, start, lines[0], size)
    return RawMessage(display, start, _finish(lines))


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
                yield read_message_file(file, f"{display}/{sub}/{file.name}")


def read_message_file(path: Path, display: str) -> RawMessage:
    """One message file; past the size limit, only its head (the parser refuses it anyway)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_MESSAGE_BYTES + 1)
        if len(data) <= MAX_MESSAGE_BYTES:
            return RawMessage(display, None, data)
        size = os.fstat(handle.fileno()).st_size
    return RawMessage(display, None, data[:KEPT_HEAD], max(size, len(data)))
