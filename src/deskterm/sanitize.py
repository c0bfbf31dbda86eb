"""Untrusted text made safe: for a terminal, for a header we reuse, for a file name.

Rich and Textual strip only BEL, BS, VT, FF and CR; ESC, the other C0 codes, DEL, C1 and the
bidi overrides reach the terminal (research/reliability.md §2.2). Everything from outside goes
through `for_terminal` before display, and is never passed as markup.
"""

from __future__ import annotations

import re
import unicodedata

# C0 except tab and newline, DEL, C1, Arabic letter mark, zero-width and bidi controls, BOM.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _placeholder(match: re.Match[str]) -> str:
    return "\u241b" if match.group() == "\x1b" else "\ufffd"


def for_terminal(text: str | None) -> str:
    """Replace every control or invisible-direction character with a visible placeholder.

    ESC becomes ␛ and the rest become U+FFFD, so hidden content is noticed rather than lost.
    CR LF and lone CR become LF.
    """
    if not text:
        return ""
    return _UNSAFE.sub(_placeholder, text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str | None) -> str:
    """A header value for display or reuse: no line breaks (no header injection), no controls."""
    if not text:
        return ""
    return for_terminal(" ".join(text.split()))


_NAME_UNSAFE = re.compile(r"[^\w.\- ]")
MAX_NAME = 120


def safe_filename(name: str | None, fallback: str = "attachment") -> str:
    """A file name that is one path segment of safe characters (research/reliability.md §3.2.5).

    NFKC first (a fullwidth solidus becomes `/`), keep the last segment, drop control, format
    and separator characters, replace anything outside `[\\w.\\- ]`, trim dots and spaces, and
    cap the length keeping the extension.
    """
    text = unicodedata.normalize("NFKC", name or "").replace("\\", "/").split("/")[-1]
    text = "".join(
        ch for ch in text
        if ch == " " or not unicodedata.category(ch).startswith(("C", "Z"))
    )
    text = _NAME_UNSAFE.sub("_", text).strip(" .")
    if not text or set(text) <= {"."}:
        return fallback
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:16] if dot else ""
        text = (stem if dot else text)[: MAX_NAME - len(ext) - 1].rstrip(" .") + ("." + ext if ext else "")
    return text
