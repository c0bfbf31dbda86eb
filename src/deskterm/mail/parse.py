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

import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from email import policy
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

# A boundary as `boundary=x`, `boundary="x"`, RFC 2231 `boundary*=charset'lang'x` or the first piece of a
# continuation `boundary*0=x` (the parser honours them all), of any length (a 300-character one too); and
# a multipart container however its boundary is given. Both match the lower-cased message: a
# case-insensitive scan of 50 MB is slow.
_BOUNDARY = re.compile(rb'boundary(\*0?\*?)?\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))')
_MULTIPART = re.compile(rb'content-type\s*:\s*"?multipart/')
_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")
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
    lower = raw.lower()  # the same length: values are sliced out of `raw` at the same offsets
    boundaries = {_boundary_value(m.group(1) or b"", raw[m.start(2):m.end(2)] if m.group(2) is not None
                                  else raw[m.start(3):m.end(3)]) for m in _BOUNDARY.finditer(lower)}
    boundaries.discard(b"")
    containers = max(len(boundaries), len(_MULTIPART.findall(lower)))
    if containers > MAX_MULTIPARTS:
        raise MailRejected(f"{containers} nested or sibling multiparts; the limit is {MAX_MULTIPARTS}")
    # A delimiter line starts after LF, CRLF or a lone CR (the parser splits lines on all three).
    parts = sum(raw.count(b"\n--" + boundary) + raw.count(b"\r--" + boundary) for boundary in boundaries)
    if parts > MAX_PARTS + 2 * len(boundaries):
        raise MailRejected(f"about {parts} MIME parts; the limit is {MAX_PARTS}")
    if lower.count(b"message/rfc822") > MAX_MULTIPARTS:
        raise MailRejected("too many nested messages")
    header_end = _HEADER_END.search(raw)
    header = raw if header_end is None else raw[:header_end.start()]
    if len(header) > MAX_HEADER_BYTES or header.count(b"=?") > MAX_ENCODED_WORDS:
        raise MailRejected("header block too large")


def _boundary_value(star: bytes, value: bytes) -> bytes:
    """The boundary as the parser will see it: RFC 2231 `charset'lang'` prefix and %XX escapes undone."""
    if star.endswith(b"*") and value.count(b"'") >= 2:
        value = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), value.split(b"'", 2)[2])
    return value


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
        text = str(value)
        if not text.isascii():  # raw 8-bit bytes, kept by the parser as surrogates: read them as UTF-8
            text = decode_text(text.encode("utf-8", "surrogateescape"), None)
        found.setdefault(name.lower(), _FOLD.sub(" ", text).strip())
    return found


_FOLD = re.compile(r"\r?\n[ \t]*")


_WORD = re.compile(r"=\?([^?\s]{1,75})\?([QqBb])\?([^?\s]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; an unknown charset or a broken word decodes with replacement.

    Adjacent words in one charset are joined before decoding (a character may be split across two),
    the white space between two words is dropped, and text outside the words is kept as it is (raw
    8-bit text beside encoded words, which `email.header.decode_header` turns into U+FFFD)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    charset: str | None = None
    position = 0
    for match in _WORD.finditer(value):
        gap = value[position:match.start()]
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:  # a broken word stays as it was written
            continue
        word_charset = match.group(1).split("*")[0].lower()
        if charset is None or gap.strip() or word_charset != charset:
            if charset is not None:
                out.append(decode_text(b"".join(pending), charset))
            if charset is None or gap.strip():
                out.append(gap)
            pending, charset = [], word_charset
        pending.append(data)
        position = match.end()
    if charset is not None:
        out.append(decode_text(b"".join(pending), charset))
    out.append(value[position:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes | None:
    try:
        if encoding in "Qq":
            return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.replace("_", " ").encode("utf-8"))
        data = text.encode("ascii")
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4), strict_mode=True)
    except (ValueError, binascii.Error):
        return None


_UTF8 = {"utf-8", "utf8", "utf_8"}
# Labels often put on text that is really UTF-8: valid UTF-8 with non-ASCII bytes is read as UTF-8.
_OFTEN_UTF8 = {"us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "windows-1252", "cp1252"}


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes as text in their declared charset; never raises. No charset, an unknown one, or one that is
    no text encoding (`idna`, `undefined`, `rot13`): UTF-8 with U+FFFD for what is not."""
    label = (charset or "").strip().strip("'\"").lower()
    if not label or label in _UTF8 or label in _OFTEN_UTF8:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if not label or label in _UTF8:
                return data.decode("utf-8", errors="replace")
    try:
        return data.decode(label, errors="replace")
    except Exception:  # noqa: BLE001 - LookupError, UnicodeError (idna, undefined), ValueError (NUL in name)
        return data.decode("utf-8", errors="replace")


def _addresses(value: str) -> list[tuple[str | None, str]]:
    if not value:
        return []
    found = strict_addresses(value)
    return [(one_line(decode_words(n)) or None, one_line(a).lower()) for n, a in found if a and "@" in a]


def strict_addresses(value: str) -> list[tuple[str, str]]:
    """`getaddresses`, refusing what it reads in more than one way (CVE-2023-27043; the checks of
    `strict=True` in Python 3.13, which 3.11 lacks): unbalanced parentheses outside quotes, a domain
    literal the parser gave up on, or more or fewer addresses than the commas outside quotes promise
    (`alice@example.org<bob@evil.example>` is one mailbox to a reader and two to the parser). An
    ambiguous header yields no address at all: no reply can go to the wrong one."""
    unquoted = _outside_quotes(value)
    depth = 0
    for char in _unescaped(unquoted):
        depth += (char == "(") - (char == ")")
        if depth < 0:
            return []
    if depth:
        return []
    found = getaddresses([value])
    if any("[" in address for _, address in found) or len(found) != 1 + unquoted.count(","):
        return []
    return found


def _unescaped(text: str) -> list[str]:
    """The characters of `text`, a backslash and the character it escapes taken as one."""
    chars, escape = [], False
    for char in text:
        if escape:
            chars.append("\\" + char)
            escape = False
        elif char == "\\":
            escape = True
        else:
            chars.append(char)
    if escape:
        chars.append("\\")
    return chars


def _outside_quotes(text: str) -> str:
    """`text` without its quoted strings (a display name may hold commas and parentheses)."""
    if '"' not in text:
        return text
    kept, quoted = [], False
    for char in _unescaped(text):
        if char == '"':
            quoted = not quoted
        elif not quoted:
            kept.append(char)
    return "".join(kept)


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
    """The body text and every attachment, in order. Every inline text part is shown: one of the
    versions of a multipart/alternative (plain text first), all the text parts of any other multipart
    (a mail client may put text, a photo, then more text); HTML becomes text."""
    attachments: list[Attachment] = []
    pieces = _texts(message, attachments)
    body = "\n\n".join(text for _kind, text in pieces if text)
    return body.replace("\r\n", "\n").strip(), attachments


def _texts(part: Message, attachments: list[Attachment]) -> list[tuple[str, str]]:
    """(`plain` or `html`, text) of each inline text part under `part`; attachments go to `attachments`.
    Recursive, but only as deep as MAX_DEPTH (checked before)."""
    headers = _raw_headers(part)
    kind, charset = _content_type(headers)
    disposition = headers.get("content-disposition", "").split(";", 1)[0].strip().lower()
    if kind.startswith("multipart/") and part.is_multipart():
        children = [_texts(child, attachments) for child in part.get_payload()]
        if kind == "multipart/alternative":
            chosen = next((c for c in children if c and all(k == "plain" for k, _ in c)),
                          next((c for c in children if c), []))
            return chosen
        return [piece for child in children for piece in child]
    if kind in ("text/plain", "text/html") and disposition != "attachment":
        text = _decode(part, charset)
        return [("plain", text)] if kind == "text/plain" else [("html", html_to_text(text))]
    attachments.append(_attachment(part, kind))
    return []


def _decode(part: Message, charset: str | None) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    return decode_text(payload, charset)


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
