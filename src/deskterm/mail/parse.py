"""Parse one message with `email` (policy.compat32), behind cheap limits checked first.

research/reliability.md §3: deep MIME nesting makes the parser recurse until it fails, tens of
thousands of parts cost seconds of CPU, unknown charsets raise, decoded headers can hold
CR/LF, and attachment names can be paths. The pre-scan refuses the bombs before the parser
sees them; whatever still fails raises MailRejected, and the caller quarantines the raw bytes.

The MIME tree comes from the compat32 parser and headers are read raw and decoded once (RFC 2047
words, addresses): policy.default parses each header through its registry on every access, the
parser's own Content-Type lookups included, which cost 40% of an import (bench/import_bench.py).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from deskterm.mail.html_text import html_to_text
from deskterm.sanitize import one_line, safe_filename

MAX_MESSAGE_BYTES = 50 * 1024 * 1024
MAX_MULTIPARTS = 100         # multipart containers, counted before parsing
MAX_DEPTH = 20               # nesting depth, measured after parsing (the parser copes with 100)
MAX_PARTS = 500
MAX_ENCODED_WORDS = 5000
MAX_HEADER_BYTES = 256 * 1024

_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_PARSER = BytesParser(policy=policy.compat32)


class MailRejected(Exception):
    """The message cannot be read safely; the reason is shown to the user."""


@dataclass
class Attachment:
    filename: str            # sanitized display text, never used as a path
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    sender: str | None
    sender_name: str | None
    reply_to: str | None
    reply_to_name: str | None
    recipients: list[str]
    subject: str
    sent_at: dt.datetime | None
    body: str
    attachments: list[Attachment] = field(default_factory=list)


def prescan(raw: bytes) -> None:
    """Refuse, without parsing, what would make the parser slow or recurse without bound."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MailRejected(f"message is {len(raw):,} bytes; the limit is {MAX_MESSAGE_BYTES:,}")
    boundaries = {a or b for a, b in _BOUNDARY.findall(raw)}
    if len(boundaries) > MAX_MULTIPARTS:
        raise MailRejected(f"{len(boundaries)} nested or sibling multiparts; the limit is {MAX_MULTIPARTS}")
    parts = sum(raw.count(b"\n--" + boundary) for boundary in boundaries)
    if parts > MAX_PARTS + 2 * len(boundaries):
        raise MailRejected(f"about {parts} MIME parts; the limit is {MAX_PARTS}")
    if raw.lower().count(b"message/rfc822") > MAX_MULTIPARTS:
        raise MailRejected("too many nested messages")
    header_end = raw.find(b"\n\n")
    header = raw if header_end < 0 else raw[:header_end]
    if len(header) > MAX_HEADER_BYTES or header.count(b"=?") > MAX_ENCODED_WORDS:
        raise MailRejected("header block too large")


def parse_message(raw: bytes) -> ParsedMail:
    prescan(raw)
    try:
        message = _PARSER.parsebytes(raw)
        if not message.keys():
            raise MailRejected("no header fields: not an e-mail message")
        depth = _depth(message)
        if depth > MAX_DEPTH:
            raise MailRejected(f"MIME nesting {depth} deep; the limit is {MAX_DEPTH}")
        return _extract(message)
    except MailRejected:
        raise
    except RecursionError:
        raise MailRejected("MIME structure nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure quarantines, never stops a batch
        raise MailRejected(f"cannot parse: {type(exc).__name__}: {exc}"[:300]) from None


def _depth(message: Message) -> int:
    """How deep the MIME tree goes, walked without recursion."""
    deepest, stack = 0, [(message, 1)]
    while stack:
        part, level = stack.pop()
        deepest = max(deepest, level)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, level + 1) for child in payload)
    return deepest


def _extract(message: EmailMessage) -> ParsedMail:
    headers = _raw_headers(message)
    sender_name, sender = _first(_addresses(headers.get("from", "")))
    reply_name, reply_to = _first(_addresses(headers.get("reply-to", "")))
    recipients = [a for _, a in _addresses(headers.get("to", "")) + _addresses(headers.get("cc", ""))]
    message_id = _ids(headers.get("message-id", ""))
    body, attachments = _walk(message)
    return ParsedMail(
        message_id=message_id[0] if message_id else None,
        in_reply_to=_ids(headers.get("in-reply-to", "")),
        references=_ids(headers.get("references", "")),
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        reply_to_name=reply_name,
        recipients=recipients,
        subject=one_line(decode_words(headers.get("subject", ""))),
        sent_at=_date(headers.get("date", "")),
        body=body,
        attachments=attachments,
    )


def _raw_headers(part: Message) -> dict[str, str]:
    """The first occurrence of each header, unfolded, not yet decoded."""
    found: dict[str, str] = {}
    for name, value in part.raw_items():
        found.setdefault(name.lower(), _FOLD.sub(" ", str(value)).strip())
    return found


_FOLD = re.compile(r"\r?\n[ \t]*")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; an unknown charset or a broken word decodes with replacement."""
    if "=?" not in value:
        return value
    try:
        pieces = decode_header(value)
    except Exception:  # noqa: BLE001
        return value
    text = []
    for chunk, charset in pieces:
        if isinstance(chunk, str):
            text.append(chunk)
            continue
        try:
            text.append(chunk.decode(charset or "ascii", errors="replace"))
        except LookupError:
            text.append(chunk.decode("utf-8", errors="replace"))
    return "".join(text)


def _addresses(value: str) -> list[tuple[str | None, str]]:
    if not value:
        return []
    found = getaddresses([value])
    return [(one_line(decode_words(n)) or None, one_line(a).lower()) for n, a in found if a and "@" in a]


def _first(found: list[tuple[str | None, str]]) -> tuple[str | None, str | None]:
    return found[0] if found else (None, None)


_ID = re.compile(r"<([^<>\s]{1,500})>")


def _ids(value: str) -> list[str]:
    """Message-IDs in angle brackets; a bare token when the sender forgot them."""
    found = _ID.findall(value)
    if not found and value.strip() and len(value.split()) == 1:
        found = [value.strip()]
    return [f"<{one_line(i)}>" for i in found[:200]]


def _date(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


_CHARSET = re.compile(r'charset\s*=\s*"?([^";\s]+)', re.I)


def _content_type(headers: dict[str, str]) -> tuple[str, str | None]:
    raw = headers.get("content-type", "")
    kind = raw.split(";", 1)[0].strip().lower()
    if "/" not in kind:
        kind = "text/plain"
    charset = _CHARSET.search(raw)
    return kind, charset.group(1).strip("'") if charset else None


def _walk(message: Message) -> tuple[str, list[Attachment]]:
    """The body text (first plain part, else first HTML part) and every attachment, in order."""
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    stack = [message]
    while stack:
        part = stack.pop()
        headers = _raw_headers(part)
        kind, charset = _content_type(headers)
        disposition = headers.get("content-disposition", "").split(";", 1)[0].strip().lower()
        if kind.startswith("multipart/") and part.is_multipart():
            stack.extend(reversed(part.get_payload()))
            continue
        inline_text = kind in ("text/plain", "text/html") and disposition != "attachment"
        if inline_text and kind == "text/plain" and plain is None:
            plain = _decode(part, charset)
        elif inline_text and kind == "text/html" and html is None:
            html = _decode(part, charset)
        elif not inline_text:
            attachments.append(_attachment(part, kind))
    if plain is not None:
        body = plain
    elif html is not None:
        body = html_to_text(html)
    else:
        body = ""
    return body.replace("\r\n", "\n").strip(), attachments


def _decode(part: Message, charset: str | None) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    try:
        return payload.decode(charset or "utf-8", errors="replace")
    except LookupError:  # unknown charset
        return payload.decode("utf-8", errors="replace")


def _filename(part: Message) -> str | None:
    """The sender's file name: raw 8-bit header bytes read as UTF-8 (compat32 would turn them into
    U+FFFD), RFC 2231 (`filename*=`) decoded, and RFC 2047 words too (not standard, but common)."""
    headers = _raw_headers(part)
    probe = Message()
    for key in ("content-disposition", "content-type"):
        if headers.get(key):
            probe[key] = headers[key].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = probe.get_filename()
    return decode_words(name) if name and "=?" in name else name


def _attachment(part: Message, kind: str) -> Attachment:
    try:
        name = _filename(part)
    except Exception:  # noqa: BLE001 - a name we cannot read is no reason to lose the file
        name = None
    if kind == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        return Attachment(safe_filename(name, "message.eml"), kind, data)
    data = part.get_payload(decode=True)
    return Attachment(safe_filename(name, "attachment"), one_line(kind), data if isinstance(data, bytes) else b"")
