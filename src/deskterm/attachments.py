"""Attachment files, stored once each by content (SHA-256), private to the user (mode 0600).

The file name on disk is the digest, never anything the sender chose; the sender's name is kept
only as sanitized display text in the database.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

# A file name is at most 255 bytes (NAME_MAX), not characters: 120 CJK characters are 360 bytes. Room
# is left for the `N-` of a name already taken.
MAX_NAME_BYTES = 200
# Names Windows reserves for devices, with or without an extension: an evidence folder or its zip is
# often opened there.
_WINDOWS_RESERVED = re.compile(r"(?i)(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|$)")


def attachment_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def store_blob(root: Path, data: bytes) -> str:
    """Write `data` if it is not there yet; return its SHA-256. Safe against a crash midway."""
    sha = hashlib.sha256(data).hexdigest()
    target = attachment_path(root, sha)
    if target.exists():
        return sha
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = target.with_name(f".{sha}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return sha


def export_file(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` into `folder` under the safe form of `name`, never following a symlink and never
    overwriting: `1-name`, `2-name`, ... when taken (research/reliability.md §3.2.5). Mode 0600."""
    from deskterm.sanitize import safe_filename

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    base = _fit(safe_filename(name))
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        temp = f".{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            for attempt in range(10_000):
                final = base if attempt == 0 else f"{attempt}-{base}"
                try:
                    os.link(temp, final, src_dir_fd=directory, dst_dir_fd=directory, follow_symlinks=False)
                    break
                except FileExistsError:
                    continue
            else:
                raise FileExistsError(f"{folder}: no free name for {base}")
        finally:
            os.unlink(temp, dir_fd=directory)
        os.fsync(directory)
    finally:
        os.close(directory)
    return folder / final


def _fit(name: str) -> str:
    """`name` (already one safe segment) within MAX_NAME_BYTES, keeping its extension, and never a
    name Windows reserves for a device."""
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 32:
        stem, ext = name, ""
    room = MAX_NAME_BYTES - (len(ext.encode("utf-8")) + 1 if ext else 0)
    stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(" .") or "attachment"
    return f"{stem}.{ext}" if ext else stem
